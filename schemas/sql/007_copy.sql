-- Per-axis copies at send time (domain.md §2 "Relaying across two axes"); docs/internals/delivery.md
-- ("Per-axis copies") describes the path.
-- 1. gw_claim_copies: gw_claim_deliveries_for (002) without the bytes: each claimed delivery
--    carries its package's body (id, size, chunks), sha256, kind, the relay landmarks stored in
--    package.header->'relay', the delivery's recipients and the attachments' SHA-256 (as stored in
--    `attachment`), so the dispatcher streams the stored chunks and builds the copy itself.
-- 2. delivery.copy_sha256 / copy_len: the SHA-256 and length of the copy sent (gw_deliveries_sent_copy
--    records them with the success; GET /v1/packages/{id} shows them).
-- A package whose landmarks say it is not editable goes out unchanged, to the national axis alone
-- when its recipients span more than one axis: that rule is gw_route_package's (005).

ALTER TABLE delivery ADD COLUMN copy_sha256 bytea CHECK (octet_length(copy_sha256) = 32);
ALTER TABLE delivery ADD COLUMN copy_len bigint;

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

