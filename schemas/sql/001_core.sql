-- Core state of the gateway: packages and their exact bytes, deliveries to the axes, the
-- QLVBĐH inbox sequence, poller leases and the hash-chained audit trail.
-- Every state change the daemon makes is one call of a function below, so it is one transaction.

CREATE TABLE package (
    id               bigserial PRIMARY KEY,
    direction        text NOT NULL CHECK (direction IN ('out', 'in')),
    kind             text NOT NULL CHECK (kind IN ('edoc', 'status')),
    document_id      text NOT NULL,
    sender           text,
    recipients       text[] NOT NULL DEFAULT '{}',
    status_code      text,
    business_doc_type smallint NOT NULL DEFAULT 0,
    source           text NOT NULL,          -- client name (out) or axis name (in)
    axis             text,                   -- in: the axis it came from
    axis_doc_id      text,                   -- in: the axis's id for it
    sha256           bytea NOT NULL CHECK (octet_length(sha256) = 32),
    size             bigint NOT NULL,
    state            text NOT NULL,
    inbox_seq        bigint UNIQUE,          -- in: position in the QLVBĐH inbox (commit order)
    axis_acked_at    timestamptz,            -- in: when updateStatus done succeeded
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- Business idempotency of submissions: one outgoing edoc per DocumentId and business type;
-- status packages are identified by their bytes.
CREATE UNIQUE INDEX package_out_edoc_key ON package (document_id, business_doc_type)
    WHERE direction = 'out' AND kind = 'edoc';
CREATE UNIQUE INDEX package_out_status_key ON package (document_id, sha256)
    WHERE direction = 'out' AND kind = 'status';
-- Transport idempotency of received packages is axis_receipt's primary key; package.axis_doc_id
-- keeps the first id the package arrived under.
-- Business idempotency of received packages: the same document delivered again.
CREATE INDEX package_in_content_idx ON package (document_id, sha256) WHERE direction = 'in';
CREATE INDEX package_document_idx ON package (document_id);
CREATE INDEX package_inbox_idx ON package (inbox_seq) WHERE state = 'AVAILABLE';

CREATE TABLE package_body (
    package_id bigint PRIMARY KEY REFERENCES package (id),
    bytes      bytea NOT NULL
);
ALTER TABLE package_body ALTER COLUMN bytes SET STORAGE EXTERNAL;

-- Every (axis, axis doc id) received, and the package it is (several ids can be one package).
CREATE TABLE axis_receipt (
    axis        text NOT NULL,
    axis_doc_id text NOT NULL,
    package_id  bigint NOT NULL REFERENCES package (id),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (axis, axis_doc_id)
);

-- One delivery per package and axis: the axis fans the package out to every To/OrganId itself.
CREATE TABLE delivery (
    id              bigserial PRIMARY KEY,
    package_id      bigint NOT NULL REFERENCES package (id),
    axis            text NOT NULL,
    recipients      text[] NOT NULL,
    state           text NOT NULL CHECK (state IN ('QUEUED', 'SENDING', 'SENT', 'DEAD')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_until     timestamptz,
    axis_doc_id     text,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (package_id, axis)
);
CREATE INDEX delivery_due_idx ON delivery (next_attempt_at) WHERE state IN ('QUEUED', 'SENDING');
CREATE INDEX delivery_open_idx ON delivery (state, created_at) WHERE state <> 'SENT';

-- Single-row counters whose row lock orders concurrent writers (see gw_next_inbox_seq).
CREATE TABLE inbox_counter (one boolean PRIMARY KEY DEFAULT true CHECK (one), last bigint NOT NULL);
INSERT INTO inbox_counter VALUES (true, 0);

-- Which instance polls which axis, and until when (instead of session advisory locks, which a
-- connection pool cannot hold reliably).
CREATE TABLE poller_lease (
    axis        text PRIMARY KEY,
    owner       text NOT NULL,
    lease_until timestamptz NOT NULL
);

-- Append-only audit trail. Writers only insert (no lock, so the hot path never serialises on
-- the chain); gw_event_seal() then links committed rows into a SHA-256 chain in seal order
-- (seq), shortly after they commit. A row that commits late is sealed in a later round.
CREATE TABLE event (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    package_id bigint REFERENCES package (id),
    kind       text NOT NULL,
    actor      text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}',
    seq        bigint UNIQUE,
    prev_hash  bytea,
    hash       bytea,
    CHECK ((seq IS NULL) = (hash IS NULL) AND (seq IS NULL) = (prev_hash IS NULL))
);
CREATE INDEX event_package_idx ON event (package_id);
CREATE INDEX event_unsealed_idx ON event (id) WHERE seq IS NULL;
CREATE TABLE event_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO event_head VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION gw_event(p_package bigint, p_kind text, p_actor text, p_detail jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO event (package_id, kind, actor, detail) VALUES (p_package, p_kind, p_actor, p_detail);
$$;

CREATE FUNCTION gw_event_digest(p_prev bytea, e event) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(p_prev || convert_to(concat_ws('|', e.id::text, coalesce(e.package_id::text, ''),
                  e.kind, e.actor, e.detail::text,
                  to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')), 'UTF8'));
$$;

-- Seals up to p_limit committed, unsealed events; returns how many. Only one sealer runs at a time
-- (transaction advisory lock); a concurrent call returns 0 at once.
CREATE FUNCTION gw_event_seal(p_limit integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    h   event_head;
    e   event;
    n   integer := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7216001) THEN
        RETURN 0;
    END IF;
    SELECT * INTO h FROM event_head FOR UPDATE;
    FOR e IN SELECT * FROM event WHERE seq IS NULL ORDER BY id LIMIT p_limit LOOP
        h.seq := h.seq + 1;
        UPDATE event SET seq = h.seq, prev_hash = h.hash, hash = gw_event_digest(h.hash, e)
         WHERE id = e.id RETURNING hash INTO h.hash;
        n := n + 1;
    END LOOP;
    UPDATE event_head SET seq = h.seq, hash = h.hash;
    RETURN n;
END $$;

-- Recomputes the chain; returns the seq of the first sealed event that does not match, or NULL.
CREATE FUNCTION gw_event_verify() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    e      event;
    v_prev bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    v_seq  bigint := 0;
BEGIN
    FOR e IN SELECT * FROM event WHERE seq IS NOT NULL ORDER BY seq LOOP
        v_seq := v_seq + 1;
        IF e.seq IS DISTINCT FROM v_seq OR e.prev_hash IS DISTINCT FROM v_prev
           OR e.hash IS DISTINCT FROM gw_event_digest(v_prev, e) THEN
            RETURN e.seq;
        END IF;
        v_prev := e.hash;
    END LOOP;
    IF v_prev IS DISTINCT FROM (SELECT hash FROM event_head)
       OR v_seq IS DISTINCT FROM (SELECT seq FROM event_head) THEN
        RETURN v_seq + 1;
    END IF;
    RETURN NULL;
END $$;

-- Outgoing submission from a QLVBĐH client. Returns the package id and what happened:
-- 'created', 'duplicate' (same identity and bytes) or 'conflict' (same identity, other bytes).
CREATE FUNCTION gw_submit(p_source text, p_kind text, p_document_id text, p_sender text,
                          p_recipients text[], p_status_code text, p_bdt smallint,
                          p_sha256 bytea, p_bytes bytea, p_axis text,
                          OUT package_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_sha bytea;
BEGIN
    INSERT INTO package (direction, kind, document_id, sender, recipients, status_code,
                         business_doc_type, source, sha256, size, state)
        VALUES ('out', p_kind, p_document_id, p_sender, p_recipients, p_status_code, p_bdt,
                p_source, p_sha256, octet_length(p_bytes), 'ROUTED')
        ON CONFLICT DO NOTHING
        RETURNING id INTO package_id;
    IF package_id IS NULL THEN
        SELECT p.id, p.sha256 INTO package_id, v_sha FROM package p
         WHERE p.direction = 'out' AND p.kind = p_kind AND p.document_id = p_document_id
           AND (CASE WHEN p_kind = 'edoc' THEN p.business_doc_type = p_bdt
                     ELSE p.sha256 = p_sha256 END);
        outcome := CASE WHEN v_sha = p_sha256 THEN 'duplicate' ELSE 'conflict' END;
        RETURN;
    END IF;
    INSERT INTO package_body VALUES (package_id, p_bytes);
    INSERT INTO delivery (package_id, axis, recipients, state)
        VALUES (package_id, p_axis, p_recipients, 'QUEUED');
    PERFORM gw_event(package_id, 'received', p_source,
                     jsonb_build_object('document_id', p_document_id, 'kind', p_kind,
                                        'size', octet_length(p_bytes),
                                        'sha256', encode(p_sha256, 'hex')));
    PERFORM gw_event(package_id, 'routed', 'gateway',
                     jsonb_build_object('axis', p_axis, 'recipients', to_jsonb(p_recipients)));
    outcome := 'created';
END $$;

-- Claims due deliveries for p_owner: queued ones whose time has come and sending ones whose lease
-- expired (their sender died). SKIP LOCKED keeps instances off each other's rows. At most p_limit
-- rows and, beyond the first, at most p_max_bytes of package bodies, so one claim's memory is
-- bounded. An expired lease on a delivery older than p_give_up_s ends it as DEAD instead.
-- The returned attempt number fences the outcome of this claim (gw_delivery_failed).
CREATE FUNCTION gw_claim_deliveries(p_owner text, p_lease_ms integer, p_limit integer,
                                    p_max_bytes bigint, p_give_up_s integer)
RETURNS TABLE (delivery_id bigint, package_id bigint, axis text, kind text, document_id text,
               attempts integer, bytes bytea)
LANGUAGE plpgsql AS $$
DECLARE
    r       record;
    v_bytes bigint := 0;
    v_n     integer := 0;
BEGIN
    FOR r IN SELECT d.id, d.state, d.created_at, d.package_id, p.size
               FROM delivery d JOIN package p ON p.id = d.package_id
              WHERE (d.state = 'QUEUED' AND d.next_attempt_at <= now())
                 OR (d.state = 'SENDING' AND d.lease_until < now())
              ORDER BY d.next_attempt_at
              LIMIT p_limit
              FOR UPDATE OF d SKIP LOCKED
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
        EXIT WHEN v_n > 0 AND v_bytes + r.size > p_max_bytes;
        v_bytes := v_bytes + r.size;
        v_n := v_n + 1;
        RETURN QUERY
        WITH claimed AS (
            UPDATE delivery d SET state = 'SENDING', lease_owner = p_owner,
                   lease_until = now() + make_interval(secs => p_lease_ms / 1000.0),
                   attempts = d.attempts + 1, updated_at = now()
             WHERE d.id = r.id
            RETURNING d.id, d.package_id, d.axis, d.attempts
        )
        SELECT c.id, c.package_id, c.axis, p.kind, p.document_id, c.attempts, b.bytes
          FROM claimed c JOIN package p ON p.id = c.package_id
          JOIN package_body b ON b.package_id = c.package_id;
    END LOOP;
END $$;

-- The axis acknowledged a send. A success is the truth whatever attempt it came from (even one
-- whose lease had passed on): it is recorded unless the delivery is already SENT. Recording the
-- same success twice (a retry after an unknown commit) returns true. Returns false only when the
-- delivery was already SENT under another axis DocId.
CREATE FUNCTION gw_delivery_sent(p_delivery bigint, p_owner text, p_axis_doc_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    d delivery;
BEGIN
    SELECT * INTO d FROM delivery WHERE id = p_delivery FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF d.state = 'SENT' THEN
        RETURN d.axis_doc_id IS NOT DISTINCT FROM p_axis_doc_id;
    END IF;
    UPDATE delivery SET state = 'SENT', axis_doc_id = p_axis_doc_id, lease_owner = NULL,
           lease_until = NULL, last_error = NULL, sent_at = now(), updated_at = now()
     WHERE id = p_delivery;
    PERFORM gw_event(d.package_id, 'sent', p_owner,
                     jsonb_build_object('delivery', p_delivery, 'axis_doc_id', p_axis_doc_id));
    UPDATE package SET state = 'SENT', updated_at = now()
     WHERE id = d.package_id AND NOT EXISTS (SELECT 1 FROM delivery
                                              WHERE package_id = d.package_id AND state <> 'SENT');
    RETURN true;
END $$;

-- A send attempt failed: schedule the next one with exponential backoff and jitter, or give up
-- (DEAD) once the delivery is older than p_give_up_s. Fenced on the claim (owner and attempt
-- number): the failure of an attempt that was superseded changes nothing. Returns the new state,
-- NULL when fenced off.
CREATE FUNCTION gw_delivery_failed(p_delivery bigint, p_owner text, p_attempt integer,
                                   p_error text, p_base_ms integer, p_max_ms integer,
                                   p_give_up_s integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d       delivery;
    v_delay double precision;
    v_state text;
BEGIN
    SELECT * INTO d FROM delivery WHERE id = p_delivery AND state = 'SENDING'
       AND lease_owner = p_owner AND attempts = p_attempt FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    v_delay := least(p_max_ms::double precision,
                     p_base_ms * power(2, least(d.attempts - 1, 30)));
    v_delay := v_delay / 2 + random() * v_delay / 2;
    v_state := CASE WHEN now() - d.created_at > make_interval(secs => p_give_up_s)
                    THEN 'DEAD' ELSE 'QUEUED' END;
    UPDATE delivery SET state = v_state, last_error = left(p_error, 1000), lease_owner = NULL,
           lease_until = NULL, updated_at = now(),
           next_attempt_at = now() + make_interval(secs => v_delay / 1000.0)
     WHERE id = p_delivery;
    PERFORM gw_event(d.package_id, CASE WHEN v_state = 'DEAD' THEN 'dead' ELSE 'send_failed' END,
                     p_owner, jsonb_build_object('delivery', p_delivery, 'attempt', d.attempts,
                                                 'error', left(p_error, 1000)));
    IF v_state = 'DEAD' THEN
        UPDATE package SET state = 'DEAD', updated_at = now() WHERE id = d.package_id;
    END IF;
    RETURN v_state;
END $$;

-- Takes or renews the poll lease of an axis; true when p_owner holds it afterwards.
CREATE FUNCTION gw_poller_lease(p_axis text, p_owner text, p_lease_ms integer)
RETURNS boolean LANGUAGE sql AS $$
    INSERT INTO poller_lease AS l (axis, owner, lease_until)
        VALUES (p_axis, p_owner, now() + make_interval(secs => p_lease_ms / 1000.0))
    ON CONFLICT (axis) DO UPDATE
        SET owner = excluded.owner, lease_until = excluded.lease_until
        WHERE l.owner = excluded.owner OR l.lease_until < now()
    RETURNING true;
$$;

-- A package fetched from an axis, stored before the axis is acked. Idempotent twice over:
-- on (axis, axis doc id), for a package listed again after a lost ack; and on (DocumentId,
-- sha256), for the same document delivered again under a new axis doc id (a sender's resend after
-- a lost answer), which is recorded as a receipt of the existing package, not a second inbox item.
-- Returns the package id and created = false in both cases.
CREATE FUNCTION gw_store_incoming(p_axis text, p_axis_doc_id text, p_kind text,
                                  p_document_id text, p_sender text, p_recipients text[],
                                  p_status_code text, p_bdt smallint, p_sha256 bytea,
                                  p_bytes bytea, OUT package_id bigint, OUT created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
BEGIN
    -- The counter row lock serialises incoming stores: inbox_seq follows commit order (a reader's
    -- cursor never skips a row committed late) and the duplicate checks below cannot race.
    SELECT last INTO v_seq FROM inbox_counter FOR UPDATE;
    created := false;
    SELECT r.package_id INTO package_id FROM axis_receipt r
     WHERE r.axis = p_axis AND r.axis_doc_id = p_axis_doc_id;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT p.id INTO package_id FROM package p
     WHERE p.direction = 'in' AND p.document_id = p_document_id AND p.sha256 = p_sha256;
    IF FOUND THEN
        INSERT INTO axis_receipt (axis, axis_doc_id, package_id)
            VALUES (p_axis, p_axis_doc_id, package_id);
        PERFORM gw_event(package_id, 'fetched_again', p_axis,
                         jsonb_build_object('axis_doc_id', p_axis_doc_id));
        RETURN;
    END IF;
    UPDATE inbox_counter SET last = v_seq + 1;
    INSERT INTO package (direction, kind, document_id, sender, recipients, status_code,
                         business_doc_type, source, axis, axis_doc_id, sha256, size, state,
                         inbox_seq)
        VALUES ('in', p_kind, p_document_id, p_sender, p_recipients, p_status_code, p_bdt,
                p_axis, p_axis, p_axis_doc_id, p_sha256, octet_length(p_bytes), 'AVAILABLE',
                v_seq + 1)
        RETURNING id INTO package_id;
    INSERT INTO package_body VALUES (package_id, p_bytes);
    INSERT INTO axis_receipt (axis, axis_doc_id, package_id)
        VALUES (p_axis, p_axis_doc_id, package_id);
    PERFORM gw_event(package_id, 'fetched', p_axis,
                     jsonb_build_object('axis_doc_id', p_axis_doc_id, 'document_id', p_document_id,
                                        'kind', p_kind, 'size', octet_length(p_bytes),
                                        'sha256', encode(p_sha256, 'hex')));
    created := true;
END $$;

CREATE FUNCTION gw_incoming_acked(p_package bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE package SET axis_acked_at = now(), updated_at = now()
     WHERE id = p_package AND axis_acked_at IS NULL;
    IF FOUND THEN
        PERFORM gw_event(p_package, 'axis_acked', 'gateway', '{}');
    END IF;
END $$;

-- QLVBĐH confirms it took a package from the inbox. Returns false if no such inbox package.
CREATE FUNCTION gw_inbox_ack(p_package bigint, p_client text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE package SET state = 'DELIVERED', updated_at = now()
     WHERE id = p_package AND direction = 'in' AND state = 'AVAILABLE';
    IF FOUND THEN
        PERFORM gw_event(p_package, 'delivered', p_client, '{}');
        RETURN true;
    END IF;
    RETURN EXISTS (SELECT 1 FROM package WHERE id = p_package AND direction = 'in'
                                            AND state = 'DELIVERED');
END $$;

-- Dashboards read these views only.
CREATE VIEW v_package_state AS
    SELECT direction, kind, state, count(*) AS packages, max(updated_at) AS last_change
      FROM package GROUP BY direction, kind, state;

CREATE VIEW v_delivery_backlog AS
    SELECT axis, state, count(*) AS deliveries, min(created_at) AS oldest,
           max(attempts) AS max_attempts
      FROM delivery WHERE state <> 'SENT' GROUP BY axis, state;

-- Records a batch of acknowledged sends in one transaction (group commit from the dispatcher).
-- Rows come back in the order of p_ids.
CREATE FUNCTION gw_deliveries_sent(p_ids bigint[], p_owner text, p_axis_doc_ids text[])
RETURNS TABLE (delivery_id bigint, recorded boolean) LANGUAGE sql AS $$
    SELECT u.id, gw_delivery_sent(u.id, p_owner, u.doc)
      FROM unnest(p_ids, p_axis_doc_ids) WITH ORDINALITY AS u(id, doc, n)
     ORDER BY u.n;
$$;
