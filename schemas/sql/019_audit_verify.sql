-- gw_event_verify (013) made stricter; the trail's rows and hashes are unchanged.
-- 1. event_head and the last seal are read in one snapshot and must agree (the seal row and the
--    head are written by one transaction): a head set back to an earlier seal's end and hash made
--    013's check stop there, so every later seal, and the events it covers, went unchecked.
--    Once the trail up to the head verifies, the answer is then the first position beyond it.
-- 2. An event whose key comes before (0, 0), where the first seal's range starts (an id below 1
--    with xid 0), is covered by no seal and was invisible to the check: it now fails at 1.

CREATE OR REPLACE FUNCTION gw_event_verify() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    h        event_head;
    e        event;
    s        event_seal;
    v_last_seq  bigint;
    v_last_end  bigint;
    v_last_hash bytea;
    v_prev   bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    v_seq    bigint := 0;
    v_seal   bigint := 0;
    v_from_x xid8 := '0';
    v_from_i bigint := 0;
    v_n      bigint;
    v_dig    bytea;
BEGIN
    -- The head and the last seal in one snapshot: a seal and the head move in one transaction,
    -- so they must agree; a head moved back behind later seals would hide them.
    SELECT eh.seq, eh.hash, ls.seq, ls.first_pos + ls.events - 1, ls.hash
      INTO h.seq, h.hash, v_last_seq, v_last_end, v_last_hash
      FROM event_head eh
      LEFT JOIN LATERAL (SELECT * FROM event_seal ORDER BY seq DESC LIMIT 1) ls ON true;
    -- No event can come before the first seal's range, which starts at (0, 0).
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
    -- Everything up to the head verified; the seals beyond it (none, unless it was set back)
    -- must not exist in the snapshot the head was read in.
    IF v_last_seq IS NOT NULL AND (v_last_hash <> h.hash OR v_last_end <> h.seq) THEN
        RETURN h.seq + 1;
    END IF;
    RETURN NULL;
END $$;
