-- A failure record whose doc id has been stored and acked done, or refused and answered fail,
-- is stale: a store or refusal deletes its record, but one written after them (the store's
-- answer lost, so the poller recorded a failure of a store that had committed) stayed for ever.
-- It was never due later (nothing advanced its next_attempt_at), so gw_incoming_due returned it
-- first after every list: the poller fetched it by id, found it known and acked it again, and
-- 100 such records crowded every failing package that only a fetch by id still reaches out of
-- the list for good. gw_incoming_due (016) now drops the stale records of the axis and kind first;
-- a stored package not yet acked, or a refusal not yet answered, keeps its record, so the fetch
-- by id sends the ack again.

CREATE OR REPLACE FUNCTION gw_incoming_due(p_axis text, p_kind text, p_listed text[], p_limit integer)
RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM incoming_failure f
     WHERE f.axis = p_axis AND f.kind = p_kind
       AND (EXISTS (SELECT 1 FROM axis_receipt r JOIN package p ON p.id = r.package_id
                     WHERE r.axis = f.axis AND r.axis_doc_id = f.axis_doc_id
                       AND p.axis_acked_at IS NOT NULL)
            OR EXISTS (SELECT 1 FROM incoming_refusal x
                        WHERE x.axis = f.axis AND x.axis_doc_id = f.axis_doc_id
                          AND x.fail_acked_at IS NOT NULL));
    RETURN QUERY
    SELECT f.axis_doc_id FROM incoming_failure f
     WHERE f.axis = p_axis AND f.kind = p_kind AND f.next_attempt_at <= now()
       AND NOT (f.axis_doc_id = ANY (p_listed))
     ORDER BY f.next_attempt_at, f.axis_doc_id
     LIMIT greatest(p_limit, 0);
END $$;
