-- Claims whose cost does not grow with the backlog, and fewer rows read per document on the hot
-- path (docs/internals/delivery.md "Claim cost", docs/internals/database.md "Plans").
-- 1. The dispatcher's claim (gw_claim_copies, 007) and the verifier's (gw_check_claim, 008) walk
--    one partial index per kind of due row in its order and stop after the batch: due QUEUED
--    deliveries of an axis by next_attempt_at, expired SENDING leases of an axis by lease_until
--    (pending checks and expired check leases likewise, on 008's indexes). The former form, one
--    scan with an OR of the two conditions, could not stop early: it read every queued row not
--    yet due (deliveries behind a closed signature gate, retries later) looking for expired
--    leases, and sorted them.
-- 2. The claimed rows are updated by one statement, not one per row, and both claims are plpgsql
--    with seqscan and bitmapscan disabled for their own statements: their plans are cached per
--    connection, and an index scan in key order is the plan whatever the statistics said when the
--    plan was made (an empty table at start-up, a table autovacuum has not analysed yet).
-- 3. The signature gate (gw_verify_gate) and its opening (gw_check_open) find a package's
--    deliveries by their unique (package_id, axis) key instead of letting the planner combine it
--    with the index of open deliveries by state, which read every open delivery.
-- 4. gw_orgid_key (005) becomes a single expression, so the planner inlines it into the routing
--    and paper-stage queries instead of running an SQL function per recipient.
-- 5. gw_submit (006, staged body) inserts the package row with its body instead of updating it.
-- Answers are unchanged: same functions, arguments, rows and row order.

-- 1. Indexes of the delivery claim: replace the QUEUED-or-SENDING ones of 001/002.
CREATE INDEX delivery_queued_due_idx ON delivery (axis, next_attempt_at) WHERE state = 'QUEUED';
CREATE INDEX delivery_lease_idx ON delivery (axis, lease_until) WHERE state = 'SENDING';
DROP INDEX delivery_axis_due_idx;
DROP INDEX delivery_due_idx;

-- gw_claim_copies (007): same arguments, rows and order. Per axis at most p_limits[i]
-- candidates: the oldest due QUEUED deliveries and the SENDING ones whose lease expired, in
-- next_attempt_at order; an expired lease past the give-up age ends its delivery as DEAD (not
-- counted); then at most p_limit rows and, beyond the first, p_max_bytes of bodies.
CREATE OR REPLACE FUNCTION gw_claim_copies(p_owner text, p_lease_ms integer, p_limit integer,
                                           p_max_bytes bigint, p_give_up_s integer,
                                           p_axes text[], p_limits integer[])
RETURNS TABLE (delivery_id bigint, package_id bigint, axis text, kind text, document_id text,
               attempts integer, body_id bigint, size bigint, chunks integer, sha256 bytea,
               relay jsonb, recipients text[], attachments json)
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
#variable_conflict use_column
DECLARE
    r       record;
    v_bytes bigint := 0;
    v_ids   bigint[] := '{}';
BEGIN
    FOR r IN SELECT x.id, x.state, x.created_at, x.package_id, p.size
               FROM unnest(p_axes, p_limits) AS a(axis, lim)
               CROSS JOIN LATERAL (
                   SELECT y.* FROM (
                       SELECT * FROM (
                           SELECT d.id, d.state, d.created_at, d.package_id, d.next_attempt_at
                             FROM delivery d
                            WHERE d.axis = a.axis AND d.state = 'QUEUED'
                              AND d.next_attempt_at <= now()
                            ORDER BY d.next_attempt_at
                            LIMIT greatest(a.lim, 0)
                            FOR UPDATE SKIP LOCKED) q
                       UNION ALL
                       SELECT * FROM (
                           SELECT d.id, d.state, d.created_at, d.package_id, d.next_attempt_at
                             FROM delivery d
                            WHERE d.axis = a.axis AND d.state = 'SENDING'
                              AND d.lease_until < now()
                            ORDER BY d.lease_until
                            LIMIT greatest(a.lim, 0)
                            FOR UPDATE SKIP LOCKED) s) y
                    ORDER BY y.next_attempt_at
                    LIMIT greatest(a.lim, 0)) x
               JOIN package p ON p.id = x.package_id
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
        EXIT WHEN cardinality(v_ids) >= p_limit;
        EXIT WHEN cardinality(v_ids) > 0 AND v_bytes + r.size > p_max_bytes;
        v_bytes := v_bytes + r.size;
        v_ids := v_ids || r.id;
    END LOOP;
    IF cardinality(v_ids) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH claimed AS (
        UPDATE delivery d SET state = 'SENDING', lease_owner = p_owner,
               lease_until = now() + make_interval(secs => p_lease_ms / 1000.0),
               attempts = d.attempts + 1, updated_at = now()
         WHERE d.id = ANY (v_ids)
        RETURNING d.id, d.package_id, d.axis, d.attempts, d.recipients
    )
    SELECT c.id, c.package_id, c.axis, p.kind, p.document_id, c.attempts, b.id, b.size,
           b.chunks, p.sha256, p.header->'relay', c.recipients,
           coalesce((SELECT json_agg(encode(t.sha256, 'hex') ORDER BY t.idx)
                       FROM attachment t WHERE t.package_id = p.id), '[]'::json)
      FROM claimed c JOIN package p ON p.id = c.package_id
      JOIN body b ON b.id = p.body_id
     ORDER BY array_position(v_ids, c.id);
END $$;

-- gw_check_claim (008): same arguments and rows. Pending checks due by next_check_at and expired
-- check leases by lease_until, each from its partial index (008), then the p_limit oldest by
-- next_check_at.
CREATE OR REPLACE FUNCTION gw_check_claim(p_owner text, p_lease_ms integer, p_limit integer)
RETURNS TABLE (package_id bigint, direction text, sender text, document_id text, attempts integer,
               deadline_at timestamptz, body_id bigint, size bigint, chunks integer,
               xmldsig boolean, attachments json, first_recipient text)
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT y.package_id FROM (
            SELECT * FROM (
                SELECT c.package_id, c.next_check_at FROM package_check c
                 WHERE c.state = 'PENDING' AND c.next_check_at <= now()
                 ORDER BY c.next_check_at
                 LIMIT greatest(p_limit, 0)
                 FOR UPDATE SKIP LOCKED) q
            UNION ALL
            SELECT * FROM (
                SELECT c.package_id, c.next_check_at FROM package_check c
                 WHERE c.state = 'CHECKING' AND c.lease_until < now()
                 ORDER BY c.lease_until
                 LIMIT greatest(p_limit, 0)
                 FOR UPDATE SKIP LOCKED) s) y
         ORDER BY y.next_check_at
         LIMIT greatest(p_limit, 0)
    ), claimed AS (
        UPDATE package_check c SET state = 'CHECKING', lease_owner = p_owner,
               lease_until = now() + make_interval(secs => p_lease_ms / 1000.0),
               attempts = c.attempts + 1, updated_at = now()
          FROM due WHERE c.package_id = due.package_id
        RETURNING c.package_id, c.direction, c.attempts, c.deadline_at
    )
    SELECT c.package_id, c.direction, p.sender, p.document_id, c.attempts, c.deadline_at, b.id,
           b.size, b.chunks, coalesce((p.header -> 'relay' ->> 'xmldsig')::boolean, false),
           coalesce((SELECT json_agg(json_build_object(
                              'idx', t.idx, 'name', t.name, 'b64_offset', t.b64_offset,
                              'b64_len', t.b64_len, 'size', t.size,
                              'unwrapped', t.unwrapped, 'unwrapped_size', t.unwrapped_size)
                             ORDER BY t.idx)
                       FROM attachment t
                      WHERE t.package_id = p.id
                        AND (CASE WHEN t.unwrapped THEN t.unwrapped_type
                                  ELSE t.detected_type END) = 'application/pdf'),
                    '[]'::json),
           p.recipients[1]
      FROM claimed c JOIN package p ON p.id = c.package_id
      LEFT JOIN body b ON b.id = p.body_id;
END $$;

-- 3. gw_verify_gate and gw_check_open (008) with the deliveries found by their key: the ids of the
-- package's deliveries (unique (package_id, axis) index), then those rows by primary key.
CREATE OR REPLACE FUNCTION gw_verify_gate(p_package bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p package;
BEGIN
    SELECT * INTO p FROM package WHERE id = p_package;
    IF NOT FOUND OR p.kind <> 'edoc' THEN
        RETURN;
    END IF;
    INSERT INTO package_check (package_id, direction) VALUES (p_package, p.direction)
        ON CONFLICT DO NOTHING;
    UPDATE delivery d SET next_attempt_at = 'infinity'
     WHERE d.id = ANY (ARRAY(SELECT k.id FROM delivery k WHERE k.package_id = p_package))
       AND d.state = 'QUEUED';
    IF p.direction = 'in' AND p.state = 'AVAILABLE' THEN
        UPDATE package SET state = 'CHECKING', inbox_seq = NULL, updated_at = now()
         WHERE id = p_package;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION gw_check_open(p_package bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    p     package;
BEGIN
    SELECT * INTO p FROM package WHERE id = p_package FOR UPDATE;
    UPDATE package_check SET gate = 'open', updated_at = now() WHERE package_id = p_package;
    UPDATE delivery d SET next_attempt_at = now(), updated_at = now()
     WHERE d.id = ANY (ARRAY(SELECT k.id FROM delivery k WHERE k.package_id = p_package))
       AND d.state = 'QUEUED' AND d.next_attempt_at = 'infinity';
    IF p.direction = 'out' AND p.state = 'HELD' THEN
        UPDATE package SET state = 'ROUTED', updated_at = now() WHERE id = p_package;
    ELSIF p.direction = 'in' AND p.state IN ('CHECKING', 'HELD') THEN
        SELECT last INTO v_seq FROM inbox_counter FOR UPDATE;
        UPDATE inbox_counter SET last = v_seq + 1;
        UPDATE package SET state = 'AVAILABLE', inbox_seq = v_seq + 1, updated_at = now()
         WHERE id = p_package;
    END IF;
END $$;

-- 4. gw_orgid_key (005) as one inlinable expression: the same value for every input ('' and
-- 'NULL' after trimming and upper-casing give NULL).
CREATE OR REPLACE FUNCTION gw_orgid_key(p_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(nullif(translate(btrim(p_id, E' \t\r\n'), 'abcdefghijklmnopqrstuvwxyz',
                                   'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), ''), 'NULL');
$$;

-- 5. gw_submit with a staged body (006): the package row is inserted with its body_id instead of
-- being updated with it after the seal (one version of the row less, with its index entries).
-- A p_body that is not a staged body is inserted without it and gw_body_seal then raises as
-- before; on a duplicate or a conflict nothing is inserted, as before.
CREATE OR REPLACE FUNCTION gw_submit(p_source text, p_kind text, p_document_id text,
                                     p_sender text, p_recipients text[], p_status_code text,
                                     p_bdt smallint, p_sha256 bytea, p_body bigint, p_size bigint,
                                     p_doc jsonb, p_axis text,
                                     OUT package_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_sha bytea;
    v_axes text[];
    v_roles text[];
    v_staged boolean;
BEGIN
    IF p_sender IS NULL THEN
        RAISE EXCEPTION 'gw_submit: sender is required' USING ERRCODE = '22004';
    END IF;
    v_staged := EXISTS (SELECT 1 FROM body b WHERE b.id = p_body AND NOT b.complete);
    INSERT INTO package (direction, kind, document_id, sender, recipients, status_code,
                         business_doc_type, source, sha256, size, state, header, body_id)
        VALUES ('out', p_kind, p_document_id, p_sender, p_recipients, p_status_code, p_bdt,
                p_source, p_sha256, p_size, 'ROUTED', p_doc,
                CASE WHEN v_staged THEN p_body END)
        ON CONFLICT DO NOTHING
        RETURNING id INTO package_id;
    IF package_id IS NULL THEN
        SELECT p.id, p.sha256 INTO package_id, v_sha FROM package p
         WHERE p.direction = 'out' AND p.kind = p_kind AND p.sender = p_sender
           AND p.document_id = p_document_id
           AND (CASE WHEN p_kind = 'edoc' THEN p.business_doc_type = p_bdt
                     ELSE p.sha256 = p_sha256 END);
        outcome := CASE WHEN v_sha = p_sha256 THEN 'duplicate' ELSE 'conflict' END;
        PERFORM gw_body_discard(p_body);
        RETURN;
    END IF;
    PERFORM gw_body_seal(p_body, p_size);
    PERFORM gw_package_detail(package_id, p_doc);
    PERFORM gw_event(package_id, 'received', p_source,
                     jsonb_build_object('document_id', p_document_id, 'kind', p_kind,
                                        'sender', p_sender, 'size', p_size,
                                        'sha256', encode(p_sha256, 'hex')));
    -- One delivery per axis by the agency directories (p_axis is the default axis), then the
    -- package's events on the original document's timelines (005_route.sql).
    SELECT coalesce(array_agg(s.axis ORDER BY s.ord), '{}'), coalesce(array_agg(s.role ORDER BY s.ord), '{}')
      INTO v_axes, v_roles FROM directory_sync s WHERE s.configured;
    PERFORM gw_route_package(package_id, v_axes, v_roles, p_axis);
    PERFORM gw_timeline_note(package_id);
    outcome := 'created';
END $$;
