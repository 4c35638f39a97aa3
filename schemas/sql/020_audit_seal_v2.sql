-- Seal format 2 (docs/internals/database.md "Audit trail"). 013's digests join the text of the
-- fields with '|' and write times as text without an era, so two different rows could hash the
-- same: text moved across a field boundary together with a '|' it contains (kind 'a|b', actor
-- 'c' against kind 'a', actor 'b|c'), a time moved to the same date BC. Format 2 frames every
-- field with its length and writes times as microseconds since 1970 UTC; the seal's own fields
-- are framed the same way, after a format tag. Seals made before this migration keep format 1
-- and verify as before; every new seal is format 2, chained to the last one as before. The
-- format is part of what a seal's hash covers (the tag), so a seal's version changed is a seal
-- that no longer verifies.

ALTER TABLE event_seal ADD COLUMN version smallint NOT NULL DEFAULT 1 CHECK (version IN (1, 2));

-- One field of format 2 (its text given as UTF-8 bytes): its length as a 4-byte big-endian
-- integer, then its bytes; NULL is the length -1 alone. Callers pass convert_to(text, 'UTF8')
-- itself: the call is then inlined (tests/bench/audit_seal.sh, 30 000 events: sealed in 0.18 s,
-- against 0.49 s through a text argument or a wrapper; format 1: 0.09 s).
CREATE FUNCTION gw_seal_field(b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN b IS NULL THEN int4send(-1) ELSE int4send(length(b)) || b END;
$$;

-- A time in format 2: microseconds since 1970-01-01 00:00 UTC, signed decimal; 'infinity' and
-- '-infinity' as those words (one such row must not stop the sealer).
CREATE FUNCTION gw_seal_time(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN isfinite(t) THEN (extract(epoch FROM t) * 1000000)::bigint::text
                ELSE t::text END;
$$;

-- The digest of one event in format 2: the fields of 013's gw_event_hash, framed.
CREATE FUNCTION gw_event_hash2(e event) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(gw_seal_field(convert_to(e.id::text, 'UTF8'))
                  || gw_seal_field(convert_to(e.package_id::text, 'UTF8'))
                  || gw_seal_field(convert_to(e.kind, 'UTF8'))
                  || gw_seal_field(convert_to(e.actor, 'UTF8'))
                  || gw_seal_field(convert_to(e.detail::text, 'UTF8'))
                  || gw_seal_field(convert_to(gw_seal_time(e.at), 'UTF8'))
                  || gw_seal_field(convert_to(e.xid::text, 'UTF8')));
$$;

-- The hash of a seal in format 2: the previous hash, the tag, every field of the seal but its
-- hash and version (framed), then the digests of its events in (xid, id) order.
CREATE FUNCTION gw_event_seal_hash2(s event_seal, p_digests bytea) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT sha256(s.prev_hash
                  || gw_seal_field(convert_to('gw-event-seal/2', 'UTF8'))
                  || gw_seal_field(convert_to(s.seq::text, 'UTF8'))
                  || gw_seal_field(convert_to(s.first_pos::text, 'UTF8'))
                  || gw_seal_field(convert_to(s.from_xid::text, 'UTF8'))
                  || gw_seal_field(convert_to(s.from_id::text, 'UTF8'))
                  || gw_seal_field(convert_to(s.to_xid::text, 'UTF8'))
                  || gw_seal_field(convert_to(s.to_id::text, 'UTF8'))
                  || gw_seal_field(convert_to(s.events::text, 'UTF8'))
                  || gw_seal_field(convert_to(gw_seal_time(s.sealed_at), 'UTF8'))
                  || p_digests);
$$;

-- The count and digests of the events a seal covers, in its format.
CREATE FUNCTION gw_event_seal_covered(s event_seal, OUT n bigint, OUT digests bytea)
LANGUAGE sql STABLE AS $$
    SELECT count(*),
           string_agg(CASE WHEN s.version = 2 THEN gw_event_hash2(x) ELSE gw_event_hash(x) END,
                      ''::bytea ORDER BY x.xid, x.id)
      FROM event x
     WHERE x.seq IS NULL AND (x.xid, x.id) >= (s.from_xid, s.from_id)
       AND (x.xid, x.id) < (s.to_xid, s.to_id);
$$;

-- A seal's hash in its format.
CREATE FUNCTION gw_event_seal_hash_of(s event_seal, p_digests bytea) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN s.version = 2 THEN gw_event_seal_hash2(s, p_digests)
                ELSE gw_event_seal_hash(s, p_digests) END;
$$;

-- 013's sealer, sealing in format 2.
CREATE OR REPLACE FUNCTION gw_event_seal(p_limit integer) RETURNS integer LANGUAGE plpgsql
SET enable_seqscan = off SET enable_bitmapscan = off SET jit = off AS $$
DECLARE
    h      event_head;
    s      event_seal;
    c      record;
    v_xmin xid8;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7216001) THEN
        RETURN 0;
    END IF;
    v_xmin := pg_snapshot_xmin(pg_current_snapshot());
    SELECT * INTO s FROM event_seal ORDER BY seq DESC LIMIT 1;
    s.from_xid := coalesce(s.to_xid, '0');
    s.from_id := coalesce(s.to_id, 0);
    s.seq := coalesce(s.seq, 0) + 1;
    s.version := 2;
    IF v_xmin < s.from_xid THEN
        RAISE EXCEPTION 'gw_event_seal: the transaction id counter (%) is behind the last seal (%)',
            v_xmin, s.from_xid;
    END IF;
    SELECT e.xid, e.id INTO s.to_xid, s.to_id FROM event e
     WHERE e.seq IS NULL AND (e.xid, e.id) >= (s.from_xid, s.from_id) AND e.xid < v_xmin
     ORDER BY e.xid, e.id OFFSET p_limit LIMIT 1;
    IF NOT FOUND THEN
        s.to_xid := v_xmin;
        s.to_id := 0;
    END IF;
    SELECT * INTO c FROM gw_event_seal_covered(s);
    IF c.n = 0 THEN
        RETURN 0;
    END IF;
    SELECT * INTO h FROM event_head FOR UPDATE;
    s.first_pos := h.seq + 1;
    s.events := c.n;
    s.prev_hash := h.hash;
    s.sealed_at := clock_timestamp();
    s.hash := gw_event_seal_hash2(s, c.digests);
    INSERT INTO event_seal VALUES (s.*);
    UPDATE event_head SET seq = h.seq + c.n, hash = s.hash;
    RETURN c.n;
END $$;

-- 019's check, each seal in its format.
CREATE OR REPLACE FUNCTION gw_event_verify() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    h        event_head;
    e        event;
    s        event_seal;
    c        record;
    v_last_seq  bigint;
    v_last_end  bigint;
    v_last_hash bytea;
    v_prev   bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    v_seq    bigint := 0;
    v_seal   bigint := 0;
    v_from_x xid8 := '0';
    v_from_i bigint := 0;
BEGIN
    SELECT eh.seq, eh.hash, ls.seq, ls.first_pos + ls.events - 1, ls.hash
      INTO h.seq, h.hash, v_last_seq, v_last_end, v_last_hash
      FROM event_head eh
      LEFT JOIN LATERAL (SELECT * FROM event_seal ORDER BY seq DESC LIMIT 1) ls ON true;
    IF EXISTS (SELECT 1 FROM event x WHERE x.seq IS NULL AND (x.xid, x.id) < ('0'::xid8, 0)) THEN
        RETURN 1;
    END IF;
    FOR e IN SELECT * FROM event WHERE seq IS NOT NULL ORDER BY seq LOOP
        v_seq := v_seq + 1;
        IF e.seq IS DISTINCT FROM v_seq OR e.prev_hash IS DISTINCT FROM v_prev
           OR e.hash IS DISTINCT FROM gw_event_digest(v_prev, e) THEN
            RETURN e.seq;
        END IF;
        v_prev := e.hash;
    END LOOP;
    v_seq := v_seq + 1;
    FOR s IN SELECT * FROM event_seal ORDER BY seq LOOP
        EXIT WHEN v_seq > h.seq;
        v_seal := v_seal + 1;
        IF s.seq <> v_seal OR s.first_pos <> v_seq OR s.prev_hash <> v_prev
           OR s.from_xid <> v_from_x OR s.from_id <> v_from_i
           OR (s.to_xid, s.to_id) <= (s.from_xid, s.from_id) THEN
            RETURN v_seq;
        END IF;
        SELECT * INTO c FROM gw_event_seal_covered(s);
        IF c.n <> s.events OR gw_event_seal_hash_of(s, c.digests) <> s.hash THEN
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
    IF v_last_seq IS NOT NULL AND (v_last_hash <> h.hash OR v_last_end <> h.seq) THEN
        RETURN h.seq + 1;
    END IF;
    RETURN NULL;
END $$;

-- The committed events no seal covers yet, and the age in seconds of the oldest of them (0 when
-- there is none): /metrics's gateway_audit_unsealed_events and _oldest_seconds. They are what can
-- be removed unseen; while a long write transaction anywhere in the cluster holds xmin back, or
-- the sealer fails, they grow. The bound is read first and compared as a value, so that the
-- count is a range of event_seal_key_idx (a bound joined in would read every event sealed so
-- far: 275 ms for 2 million events against 1.5 ms). Times beyond the range of an interval
-- (infinity) are left out of the age, and an event stamped after this statement began (at is
-- clock_timestamp()) has age 0.
CREATE FUNCTION gw_event_unsealed_stats(OUT events bigint, OUT oldest_s bigint)
LANGUAGE plpgsql STABLE SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
    v_x xid8 := '0';
    v_i bigint := 0;
BEGIN
    SELECT to_xid, to_id INTO v_x, v_i FROM event_seal ORDER BY seq DESC LIMIT 1;
    SELECT count(*),
           greatest(coalesce(floor(extract(epoch FROM now()
                                            - min(e.at) FILTER (WHERE isfinite(e.at)))), 0), 0)
      INTO events, oldest_s
      FROM event e
     WHERE e.seq IS NULL AND (e.xid, e.id) >= (coalesce(v_x, '0'), coalesce(v_i, 0));
END $$;
