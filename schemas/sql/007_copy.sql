-- Per-axis copies at send time (domain.md §2 "Relaying across two axes"); docs/internals/delivery.md
-- ("Per-axis copies") describes the path.
-- 1. gw_claim_copies: gw_claim_deliveries_for (002) without the bytes: each claimed delivery
--    carries its package's body (id, size, chunks), sha256, kind, the relay landmarks stored in
--    package.header->'relay', the delivery's recipients and the attachments' SHA-256 (as stored in
--    `attachment`), so the dispatcher streams the stored chunks and builds the copy itself.
-- 2. delivery.copy_sha256 / copy_len: the SHA-256 and length of the copy sent (gw_deliveries_sent_copy
--    records them with the success; GET /v1/packages/{id} shows them).
-- 3. gw_route_package (005) with one more rule: a package whose landmarks say it is not editable
--    goes out unchanged, to the national axis alone when its recipients span more than one axis;
--    the reason is kept in package_route.unchanged_reason and an event `routed_unchanged`.

ALTER TABLE delivery ADD COLUMN copy_sha256 bytea CHECK (octet_length(copy_sha256) = 32);
ALTER TABLE delivery ADD COLUMN copy_len bigint;
ALTER TABLE package_route ADD COLUMN unchanged_reason text;

-- Claims ----------------------------------------------------------------------------------------

-- gw_claim_deliveries_for with the body's whereabouts instead of its bytes. relay is NULL for a
-- package stored without a parsed header (it is sent unchanged). attachments: a JSON array of the
-- attachments' SHA-256 (hex, NULL when unknown) in document order.
CREATE FUNCTION gw_claim_copies(p_owner text, p_lease_ms integer, p_limit integer,
                                p_max_bytes bigint, p_give_up_s integer, p_axes text[],
                                p_limits integer[])
RETURNS TABLE (delivery_id bigint, package_id bigint, axis text, kind text, document_id text,
               attempts integer, body_id bigint, size bigint, chunks integer, sha256 bytea,
               relay jsonb, recipients text[], attachments json)
LANGUAGE plpgsql AS $$
DECLARE
    r       record;
    v_bytes bigint := 0;
    v_n     integer := 0;
BEGIN
    FOR r IN SELECT x.id, x.state, x.created_at, x.package_id, x.size
               FROM unnest(p_axes, p_limits) AS a(axis, lim)
               CROSS JOIN LATERAL (
                   SELECT d.id, d.state, d.created_at, d.package_id, d.next_attempt_at, p.size
                     FROM delivery d JOIN package p ON p.id = d.package_id
                    WHERE d.axis = a.axis
                      AND ((d.state = 'QUEUED' AND d.next_attempt_at <= now())
                           OR (d.state = 'SENDING' AND d.lease_until < now()))
                    ORDER BY d.next_attempt_at
                    LIMIT greatest(a.lim, 0)
                    FOR UPDATE OF d SKIP LOCKED) x
              ORDER BY x.next_attempt_at
    LOOP
        IF r.state = 'SENDING' AND now() - r.created_at > make_interval(secs => p_give_up_s) THEN
            UPDATE delivery d SET state = 'DEAD', lease_owner = NULL, lease_until = NULL,
                   last_error = 'lease expired after the give-up age', updated_at = now()
             WHERE d.id = r.id;
            UPDATE package p SET state = 'DEAD', updated_at = now() WHERE p.id = r.package_id;
            PERFORM gw_event(r.package_id, 'dead', p_owner,
                             jsonb_build_object('delivery', r.id, 'error', 'lease expired'));
            CONTINUE;
        END IF;
        EXIT WHEN v_n >= p_limit;
        EXIT WHEN v_n > 0 AND v_bytes + r.size > p_max_bytes;
        v_bytes := v_bytes + r.size;
        v_n := v_n + 1;
        RETURN QUERY
        WITH claimed AS (
            UPDATE delivery d SET state = 'SENDING', lease_owner = p_owner,
                   lease_until = now() + make_interval(secs => p_lease_ms / 1000.0),
                   attempts = d.attempts + 1, updated_at = now()
             WHERE d.id = r.id
            RETURNING d.id, d.package_id, d.axis, d.attempts, d.recipients
        )
        SELECT c.id, c.package_id, c.axis, p.kind, p.document_id, c.attempts, b.id, b.size,
               b.chunks, p.sha256, p.header->'relay', c.recipients,
               coalesce((SELECT json_agg(encode(t.sha256, 'hex') ORDER BY t.idx)
                           FROM attachment t WHERE t.package_id = p.id), '[]'::json)
          FROM claimed c JOIN package p ON p.id = c.package_id
          JOIN body b ON b.id = p.body_id;
    END LOOP;
END $$;

-- gw_deliveries_sent (001) that also records the SHA-256 and length of each copy sent. Rows come
-- back in the order of p_ids.
CREATE FUNCTION gw_deliveries_sent_copy(p_ids bigint[], p_owner text, p_axis_doc_ids text[],
                                        p_sha256 bytea[], p_len bigint[])
RETURNS TABLE (delivery_id bigint, recorded boolean) LANGUAGE plpgsql AS $$
DECLARE
    u record;
BEGIN
    FOR u IN SELECT * FROM unnest(p_ids, p_axis_doc_ids, p_sha256, p_len) WITH ORDINALITY
                          AS x(id, doc, sha, len, n) ORDER BY x.n LOOP
        delivery_id := u.id;
        recorded := gw_delivery_sent(u.id, p_owner, u.doc);
        IF recorded THEN
            UPDATE delivery d SET copy_sha256 = u.sha, copy_len = u.len
             WHERE d.id = u.id AND d.axis_doc_id = u.doc;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

-- Routing ---------------------------------------------------------------------------------------

-- 005's gw_route_package, with the rule for packages that cannot be edited (see 3. above).
CREATE OR REPLACE FUNCTION gw_route_package(p_package bigint, p_axes text[], p_roles text[], p_default text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    p          package;
    r          record;
    v_synced   boolean;
    v_axis     text;
    v_route    text;
    v_n        integer;
    v_doc      text;
    v_timeline bigint;
    v_reason   text;
    v_national text;
BEGIN
    SELECT * INTO p FROM package WHERE id = p_package FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'gw_route_package: no package %', p_package USING ERRCODE = '22023';
    END IF;
    IF coalesce(array_length(p_axes, 1), 0) <> coalesce(array_length(p_roles, 1), 0) THEN
        RAISE EXCEPTION 'gw_route_package: p_axes and p_roles differ in length'
            USING ERRCODE = '22023';
    END IF;
    v_synced := coalesce(array_length(p_axes, 1), 0) > 0
                AND NOT EXISTS (SELECT 1 FROM unnest(p_axes) a(axis)
                                 WHERE NOT EXISTS (SELECT 1 FROM directory_sync s
                                                    WHERE s.axis = a.axis
                                                      AND s.last_success_at IS NOT NULL));
    FOR r IN SELECT DISTINCT ON (gw_orgid_key(x.rcpt)) x.rcpt, gw_orgid_key(x.rcpt) AS k, x.n
               FROM unnest(p.recipients) WITH ORDINALITY AS x(rcpt, n)
              WHERE gw_orgid_key(x.rcpt) IS NOT NULL
              ORDER BY gw_orgid_key(x.rcpt), x.n
    LOOP
        SELECT a.axis INTO v_axis
          FROM unnest(p_axes, p_roles) WITH ORDINALITY AS a(axis, role, n)
         WHERE EXISTS (SELECT 1 FROM agency g WHERE g.axis = a.axis AND g.code_key = r.k)
            OR EXISTS (SELECT 1 FROM agency g WHERE g.axis = a.axis AND g.code102_key = r.k)
         ORDER BY (a.role = 'provincial') DESC, a.n
         LIMIT 1;
        IF v_axis IS NOT NULL THEN
            v_route := 'directory';
        ELSIF v_synced THEN
            v_route := 'none';
        ELSIF p_default IS NOT NULL THEN
            v_route := 'default';
            v_axis := p_default;
        ELSE
            RAISE EXCEPTION 'gw_route_package: no default axis for %', r.rcpt
                USING ERRCODE = '22004';
        END IF;
        INSERT INTO package_route (package_id, recipient, recipient_key, ord, route, axis, state)
            VALUES (p_package, r.rcpt, r.k, r.n, v_route, v_axis,
                    CASE WHEN v_route = 'none' THEN 'NO_ELECTRONIC_MEANS' ELSE 'ROUTED' END)
        ON CONFLICT (package_id, recipient_key) DO NOTHING;
    END LOOP;

    -- A package that cannot be edited (a real XML-DSig, a non-UTF-8 encoding, no landmarks)
    -- goes out unchanged: no per-axis copy can leave a To out, so when its recipients span more
    -- than one axis it goes to the national axis alone with every recipient.
    v_reason := CASE WHEN p.header IS NULL THEN NULL
                     WHEN p.header->'relay'->>'editable' = 'false'
                         THEN coalesce(p.header->'relay'->>'not_editable', 'other') END;
    IF v_reason IS NOT NULL THEN
        SELECT a.axis INTO v_national
          FROM unnest(p_axes, p_roles) WITH ORDINALITY AS a(axis, role, n)
         WHERE a.role = 'national' ORDER BY a.n LIMIT 1;
        IF v_national IS NOT NULL
           AND (SELECT count(DISTINCT pr.axis) FROM package_route pr
                 WHERE pr.package_id = p_package AND pr.axis IS NOT NULL) > 1 THEN
            UPDATE package_route pr SET axis = v_national, unchanged_reason = v_reason
             WHERE pr.package_id = p_package AND pr.axis IS NOT NULL;
            PERFORM gw_event(p_package, 'routed_unchanged', 'gateway',
                             jsonb_build_object('reason', v_reason, 'axis', v_national));
        END IF;
    END IF;

    INSERT INTO delivery (package_id, axis, recipients, state)
        SELECT p_package, pr.axis, array_agg(pr.recipient ORDER BY pr.ord), 'QUEUED'
          FROM package_route pr WHERE pr.package_id = p_package AND pr.axis IS NOT NULL
         GROUP BY pr.axis
    ON CONFLICT (package_id, axis) DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;

    -- An original document: its timelines start with the route chosen for each recipient.
    IF p.kind = 'edoc' AND p.business_doc_type = 0 THEN
        v_doc := gw_docid_norm(p.document_id);
        FOR r IN SELECT * FROM package_route WHERE package_id = p_package ORDER BY ord LOOP
            v_timeline := gw_timeline_get(v_doc, r.recipient_key);
            UPDATE recipient_status
               SET package_id = coalesce(package_id, p_package), route = r.route, axis = r.axis,
                   route_state = r.state, routed_at = r.routed_at, updated_at = now()
             WHERE id = v_timeline AND (package_id IS NULL OR package_id = p_package);
        END LOOP;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM delivery WHERE package_id = p_package) THEN
        UPDATE package SET state = 'NO_ELECTRONIC_MEANS', updated_at = now() WHERE id = p_package;
    END IF;
    PERFORM gw_event(p_package, 'routed', 'gateway',
                     jsonb_build_object(
                         'directories_synced', v_synced,
                         'unchanged', v_reason,
                         'deliveries', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                           'axis', d.axis, 'recipients', to_jsonb(d.recipients))
                                           ORDER BY d.id)
                                      FROM delivery d WHERE d.package_id = p_package), '[]'),
                         'no_electronic_means', coalesce((SELECT jsonb_agg(pr.recipient ORDER BY pr.ord)
                                      FROM package_route pr
                                     WHERE pr.package_id = p_package AND pr.route = 'none'), '[]'),
                         'default', coalesce((SELECT jsonb_agg(pr.recipient ORDER BY pr.ord)
                                      FROM package_route pr
                                     WHERE pr.package_id = p_package AND pr.route = 'default'), '[]')));
    RETURN v_n;
END $$;

-- 005's gw_package_routes with the reason a package went out unchanged.
CREATE OR REPLACE FUNCTION gw_package_routes(p_package bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object('recipient', pr.recipient, 'route', pr.route,
                                               'axis', pr.axis, 'state', pr.state,
                                               'routed_at', pr.routed_at,
                                               'unchanged_reason', pr.unchanged_reason)
                             ORDER BY pr.ord),
                    '[]'::json)
      FROM package_route pr WHERE pr.package_id = p_package;
$$;
