-- Audit trail sealed by appending: one event_seal row per batch of events holds the chained
-- SHA-256 over the batch; no event row is written again after its insert (001's sealer updated
-- every event to set seq, prev_hash and hash: three row rewrites per document, in WAL too).
--
-- Which events a seal covers, without marking them. Each event records the id of the top-level
-- transaction that inserted it (xid, xid8 DEFAULT pg_current_xact_id(): inside a subtransaction,
-- such as a plpgsql EXCEPTION block, pg_current_xact_id() still answers the top-level id). A seal
-- covers the events whose key (xid, id) lies in [from, to): from is the previous seal's to, and to
-- is (pg_snapshot_xmin(pg_current_snapshot()), 0) taken by the sealing transaction, or the key of
-- the first event left out when the range holds more than the batch limit. Why that is exact:
-- - every transaction id below a snapshot's xmin belongs to a transaction that has ended,
--   committed (its rows visible to this and every later snapshot) or rolled back (its rows never
--   visible); a transaction id is assigned from a counter that only grows, at or above the
--   snapshot's xmax, so no transaction below xmin can start or insert later. The committed events
--   below xmin are therefore all visible to the sealer and final: none can appear in a range once
--   it is sealed, so every event is covered by exactly one seal, and a late commit (a bigserial id
--   taken long before its commit) is simply covered by the seal whose xid range holds it;
-- - a prepared transaction (PREPARE TRANSACTION) keeps its id in the snapshot until COMMIT or
--   ROLLBACK PREPARED, so it holds xmin back like a running one: sealing waits, it is not wrong;
-- - xmin is computed over every database of the cluster: a long write transaction anywhere, or an
--   orphaned prepared transaction, delays sealing (the events stay unsealed, nothing is lost).
--   Read-only transactions have no id and do not count;
-- - xmin never goes back within one cluster, and xid8 values carry the epoch, so they never wrap.
--   A logical dump restored into a new cluster does start the counter again lower: the sealer then
--   refuses to run (error "transaction id counter ... behind the last seal") instead of sealing
--   events into ranges already sealed; pg_upgrade and physical replicas keep the counter.
-- Within a batch, events are hashed in (xid, id) order.
--
-- Existing databases: rows inserted before this migration read xid = 0 (a default stored in the
-- catalogue, no table rewrite). Those 001 sealed keep seq/prev_hash/hash and verify as before;
-- those still unsealed have the keys (0, id), below every real transaction id, so the first new
-- seals cover them, exactly once. The new chain starts from event_head (its seq: the events sealed
-- so far, its hash: the last hash), and event_head keeps holding the end of the whole trail.

ALTER TABLE event ADD COLUMN xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE event ALTER COLUMN xid SET DEFAULT pg_current_xact_id();

-- The sealer's walk: unsealed-by-001 events in key order (001's sealed events are left out).
DROP INDEX event_unsealed_idx;
CREATE INDEX event_seal_key_idx ON event (xid, id) WHERE seq IS NULL;

CREATE TABLE event_seal (
    seq       bigint PRIMARY KEY,              -- 1, 2, ... in chain order
    first_pos bigint NOT NULL,                 -- trail position of its first event (after 001's seqs)
    from_xid  xid8 NOT NULL,                   -- covers the events with (xid, id) >= (from_xid, from_id)
    from_id   bigint NOT NULL,
    to_xid    xid8 NOT NULL,                   -- and (xid, id) < (to_xid, to_id)
    to_id     bigint NOT NULL,
    events    integer NOT NULL CHECK (events > 0),
    prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash      bytea NOT NULL CHECK (octet_length(hash) = 32),
    sealed_at timestamptz NOT NULL
);

-- The digest of one event (its fields, as 001's gw_event_digest, and its transaction id).
CREATE FUNCTION gw_event_hash(e event) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT sha256(convert_to(concat_ws('|', e.id::text, coalesce(e.package_id::text, ''),
                  e.kind, e.actor, e.detail::text,
                  to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), e.xid::text), 'UTF8'));
$$;

-- The hash of a seal: the previous hash, every field of the seal but its hash, then the digests
-- of its events in (xid, id) order.
CREATE FUNCTION gw_event_seal_hash(s event_seal, p_digests bytea) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT sha256(s.prev_hash || convert_to(concat_ws('|', s.seq::text, s.first_pos::text,
                  s.from_xid::text, s.from_id::text, s.to_xid::text, s.to_id::text,
                  s.events::text, to_char(s.sealed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')),
                  'UTF8') || p_digests);
$$;

-- Seals up to p_limit committed events not yet covered into one seal row; returns how many.
-- Only one sealer runs at a time (transaction advisory lock); a concurrent call returns 0 at once.
-- A call with nothing to seal writes nothing (no transaction id, no WAL). The walk to the batch's
-- end must be the index in order, stopping after p_limit entries, whatever the statistics say (with
-- those of a small table the planner would rather bitmap-scan and sort the whole backlog): hence
-- no sequential or bitmap scans inside the function, and no JIT, which the penalty cost of the
-- one-row event_head's sequential scan would otherwise set off.
CREATE OR REPLACE FUNCTION gw_event_seal(p_limit integer) RETURNS integer LANGUAGE plpgsql
SET enable_seqscan = off SET enable_bitmapscan = off SET jit = off AS $$
DECLARE
    h      event_head;
    s      event_seal;
    v_xmin xid8;
    v_dig  bytea;
    v_n    bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7216001) THEN
        RETURN 0;
    END IF;
    -- Taken once the previous sealer has ended (it held the lock until then), so never below its
    -- bound unless the counter went back (see the header).
    v_xmin := pg_snapshot_xmin(pg_current_snapshot());
    SELECT * INTO s FROM event_seal ORDER BY seq DESC LIMIT 1;
    s.from_xid := coalesce(s.to_xid, '0');
    s.from_id := coalesce(s.to_id, 0);
    s.seq := coalesce(s.seq, 0) + 1;
    IF v_xmin < s.from_xid THEN
        RAISE EXCEPTION 'gw_event_seal: the transaction id counter (%) is behind the last seal (%)',
            v_xmin, s.from_xid;
    END IF;
    -- More than p_limit: stop before the first event left out.
    SELECT e.xid, e.id INTO s.to_xid, s.to_id FROM event e
     WHERE e.seq IS NULL AND (e.xid, e.id) >= (s.from_xid, s.from_id) AND e.xid < v_xmin
     ORDER BY e.xid, e.id OFFSET p_limit LIMIT 1;
    IF NOT FOUND THEN
        s.to_xid := v_xmin;
        s.to_id := 0;
    END IF;
    SELECT count(*), string_agg(gw_event_hash(e), ''::bytea ORDER BY e.xid, e.id) INTO v_n, v_dig
      FROM event e
     WHERE e.seq IS NULL AND (e.xid, e.id) >= (s.from_xid, s.from_id)
       AND (e.xid, e.id) < (s.to_xid, s.to_id);
    IF v_n = 0 THEN
        RETURN 0;
    END IF;
    SELECT * INTO h FROM event_head FOR UPDATE;
    s.first_pos := h.seq + 1;
    s.events := v_n;
    s.prev_hash := h.hash;
    s.sealed_at := clock_timestamp();
    s.hash := gw_event_seal_hash(s, v_dig);
    INSERT INTO event_seal VALUES (s.*);
    UPDATE event_head SET seq = h.seq + v_n, hash = s.hash;
    RETURN v_n;
END $$;

-- Recomputes the trail: 001's chain of sealed events, then the seals, up to event_head as read at
-- the start (a seal committed meanwhile is left for the next check). Returns the position of the
-- first event whose check fails (001's seq, or the first position of a seal that does not match:
-- everything before it verified), or NULL when the whole trail matches event_head.
CREATE OR REPLACE FUNCTION gw_event_verify() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    h        event_head;
    e        event;
    s        event_seal;
    v_prev   bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    v_seq    bigint := 0;
    v_seal   bigint := 0;
    v_from_x xid8 := '0';
    v_from_i bigint := 0;
    v_n      bigint;
    v_dig    bytea;
BEGIN
    SELECT * INTO h FROM event_head;
    FOR e IN SELECT * FROM event WHERE seq IS NOT NULL ORDER BY seq LOOP
        v_seq := v_seq + 1;
        IF e.seq IS DISTINCT FROM v_seq OR e.prev_hash IS DISTINCT FROM v_prev
           OR e.hash IS DISTINCT FROM gw_event_digest(v_prev, e) THEN
            RETURN e.seq;
        END IF;
        v_prev := e.hash;
    END LOOP;
    v_seq := v_seq + 1; -- from here: the position of the next event
    FOR s IN SELECT * FROM event_seal ORDER BY seq LOOP
        EXIT WHEN v_seq > h.seq;
        v_seal := v_seal + 1;
        IF s.seq <> v_seal OR s.first_pos <> v_seq OR s.prev_hash <> v_prev
           OR s.from_xid <> v_from_x OR s.from_id <> v_from_i
           OR (s.to_xid, s.to_id) <= (s.from_xid, s.from_id) THEN
            RETURN v_seq;
        END IF;
        SELECT count(*), string_agg(gw_event_hash(x), ''::bytea ORDER BY x.xid, x.id)
          INTO v_n, v_dig
          FROM event x
         WHERE x.seq IS NULL AND (x.xid, x.id) >= (s.from_xid, s.from_id)
           AND (x.xid, x.id) < (s.to_xid, s.to_id);
        IF v_n <> s.events OR gw_event_seal_hash(s, v_dig) <> s.hash THEN
            RETURN v_seq;
        END IF;
        v_prev := s.hash;
        v_seq := v_seq + s.events;
        v_from_x := s.to_xid;
        v_from_i := s.to_id;
    END LOOP;
    IF v_prev IS DISTINCT FROM h.hash OR v_seq - 1 IS DISTINCT FROM h.seq THEN
        RETURN v_seq;
    END IF;
    RETURN NULL;
END $$;

-- The committed events no seal covers yet (what the sealer has still to do).
CREATE FUNCTION gw_event_unsealed() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_x xid8 := '0';
    v_i bigint := 0;
BEGIN
    SELECT to_xid, to_id INTO v_x, v_i FROM event_seal ORDER BY seq DESC LIMIT 1;
    RETURN (SELECT count(*) FROM event e
             WHERE e.seq IS NULL AND (e.xid, e.id) >= (coalesce(v_x, '0'), coalesce(v_i, 0)));
END $$;
