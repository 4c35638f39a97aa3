-- Failure records of an axis that lists by date window (lgsp_rest, 011_cursor.sql) outlive the
-- window: a recorded local failure no longer holds the list cursor back, so the window moves on
-- and the package is no longer listed. Its record is then the only memory of it: the poller
-- fetches the due ones by doc id (gw_incoming_due) and the prune after a windowed list drops
-- nothing (gw_incoming_prune with p_windowed). A record goes when the package is stored or
-- refused (gw_incoming_store, gw_incoming_refused), or when an operator deletes it; an axis that
-- lists by pending state (vxp) keeps 003's rule. listed_at: when a list last named the doc id.

ALTER TABLE incoming_failure ADD COLUMN listed_at timestamptz;
UPDATE incoming_failure SET listed_at = updated_at;

CREATE INDEX incoming_failure_due ON incoming_failure (axis, kind, next_attempt_at);

-- The failing doc ids of (axis, kind) due for another attempt and not in p_listed (the ones the
-- current list names are tried as listed items), the longest waiting first, at most p_limit.
CREATE FUNCTION gw_incoming_due(p_axis text, p_kind text, p_listed text[], p_limit integer)
RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT f.axis_doc_id FROM incoming_failure f
     WHERE f.axis = p_axis AND f.kind = p_kind AND f.next_attempt_at <= now()
       AND NOT (f.axis_doc_id = ANY (p_listed))
     ORDER BY f.next_attempt_at, f.axis_doc_id
     LIMIT greatest(p_limit, 0);
$$;

-- After a listing of one kind: the failure records of the listed doc ids get listed_at; when
-- the list is not windowed (p_windowed false), the records of doc ids it no longer names are
-- dropped as in 003 (resolved on the axis); a windowed list drops none (a doc id it no longer
-- names only fell out of the window). Returns how many doc ids of the axis are failing.
DROP FUNCTION gw_incoming_prune(text, text, text[]); -- 003's: it would drop a windowed axis's records
CREATE FUNCTION gw_incoming_prune(p_axis text, p_kind text, p_listed text[], p_windowed boolean)
RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incoming_failure f SET listed_at = now()
     WHERE f.axis = p_axis AND f.kind = p_kind AND f.axis_doc_id = ANY (p_listed);
    IF NOT p_windowed THEN
        DELETE FROM incoming_failure f
         WHERE f.axis = p_axis AND f.kind = p_kind AND NOT (f.axis_doc_id = ANY (p_listed));
    END IF;
    RETURN (SELECT count(*) FROM incoming_failure f WHERE f.axis = p_axis);
END $$;

-- For operators: every package that keeps failing locally, the oldest first; listed_at older
-- than the last polls (or NULL) means the axis's list no longer names it and it is fetched by id.
CREATE VIEW v_incoming_failing AS
SELECT f.axis, f.axis_doc_id, f.kind, f.failures, f.last_error, f.first_seen, f.updated_at,
       f.next_attempt_at, f.listed_at
  FROM incoming_failure f
 ORDER BY f.first_seen, f.axis, f.axis_doc_id;
