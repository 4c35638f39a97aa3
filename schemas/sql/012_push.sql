-- Push of received packages and statuses to QLVBĐH's webhook (docs/internals/push.md).
-- One push row per inbox item, made by gw_push_enqueue behind a persisted cursor over the
-- commit-ordered package.inbox_seq; claimed with a lease like a delivery; a 2xx records the push
-- as sent and acknowledges the inbox item in one transaction.

-- The push cursor: the last inbox_seq looked at. No row until push is first configured; the first
-- enqueue creates it at 0, so the items still waiting in the inbox then are pushed too.
CREATE TABLE push_cursor (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_seq   bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE push (
    id              bigserial PRIMARY KEY,
    package_id      bigint NOT NULL UNIQUE REFERENCES package (id),
    event_id        uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    inbox_seq       bigint NOT NULL,
    -- dropped: the item left the inbox another way (acknowledged by pull) before it was pushed
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'dead', 'dropped')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_until     timestamptz,
    last_error      text,
    last_status     integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX push_due_idx ON push (next_attempt_at) WHERE state IN ('queued', 'sending');
-- The backlog read of every step (gw_push_stats) looks at the rows not finished only.
CREATE INDEX push_open_idx ON push (state, created_at) WHERE state IN ('queued', 'sending', 'dead');

-- Moves the cursor over at most p_limit inbox items and makes a push row for each one still
-- AVAILABLE and addressed to one of p_organs, in one transaction (the cursor row lock orders
-- concurrent gateways). inbox_seq is assigned under inbox_counter's row lock in the storing
-- transaction, so a seq is visible only once every smaller one is: the cursor never passes an
-- item that commits later. Returns the number of push rows made.
CREATE FUNCTION gw_push_enqueue(p_organs text[], p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_last bigint;
    v_max  bigint;
    v_n    integer;
BEGIN
    INSERT INTO push_cursor (last_seq) VALUES (0) ON CONFLICT DO NOTHING;
    SELECT last_seq INTO v_last FROM push_cursor FOR UPDATE;
    SELECT max(s.inbox_seq) INTO v_max
      FROM (SELECT inbox_seq FROM package WHERE inbox_seq > v_last
             ORDER BY inbox_seq LIMIT p_limit) s;
    IF v_max IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO push (package_id, inbox_seq)
    SELECT p.id, p.inbox_seq FROM package p
     WHERE p.inbox_seq > v_last AND p.inbox_seq <= v_max AND p.direction = 'in'
       AND p.state = 'AVAILABLE' AND p.recipients && p_organs
     ORDER BY p.inbox_seq
    ON CONFLICT (package_id) DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    UPDATE push_cursor SET last_seq = v_max, updated_at = now();
    RETURN v_n;
END $$;

-- The facts of one pushed item, as the JSON object of the event without event_id and content_url
-- (docs/internals/push.md lists every member).
CREATE FUNCTION gw_push_facts(p_package bigint) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'kind', p.kind, 'package_id', p.id, 'document_id', p.document_id, 'sender', p.sender,
        'recipients', to_json(p.recipients), 'status_code', p.status_code, 'axis', p.axis,
        'axis_doc_id', p.axis_doc_id, 'sha256', encode(p.sha256, 'hex'), 'size', p.size,
        'received_at', p.created_at, 'inbox_seq', p.inbox_seq,
        'signature_summary', c.summary, 'signature_sub', c.summary_sub,
        'signature_flagged', coalesce(c.flagged, false),
        'paper_required', pc.required, 'paper_tracked', pc.tracked, 'paper_clauses', pc.clauses,
        'paper_declared', pc.declared, 'paper_mismatch', pc.mismatch, 'paper_due_on', pc.due_on)
      FROM package p LEFT JOIN package_check c ON c.package_id = p.id
      LEFT JOIN paper_check pc ON pc.package_id = p.id
     WHERE p.id = p_package;
$$;

-- Claims due pushes for p_owner: queued ones whose time has come and sending ones whose lease
-- expired (their sender died), SKIP LOCKED. A push whose item is no longer AVAILABLE (QLVBĐH
-- acknowledged it by pull) is dropped, not sent; an expired lease past the give-up age ends it
-- as dead. The returned attempt fences the outcome (gw_push_failed).
CREATE FUNCTION gw_push_claim(p_owner text, p_lease_ms integer, p_limit integer,
                              p_give_up_s integer)
RETURNS TABLE (push_id bigint, package_id bigint, event_id uuid, attempts integer, facts json)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT q.id, q.state, q.created_at, q.package_id, p.state AS pstate
               FROM push q JOIN package p ON p.id = q.package_id
              WHERE (q.state = 'queued' AND q.next_attempt_at <= now())
                 OR (q.state = 'sending' AND q.lease_until < now())
              ORDER BY q.next_attempt_at
              LIMIT p_limit
              FOR UPDATE OF q SKIP LOCKED
    LOOP
        IF r.pstate <> 'AVAILABLE' THEN
            UPDATE push q SET state = 'dropped', lease_owner = NULL, lease_until = NULL,
                   updated_at = now() WHERE q.id = r.id;
            PERFORM gw_event(r.package_id, 'push_dropped', p_owner,
                             jsonb_build_object('push', r.id, 'package_state', r.pstate));
            CONTINUE;
        END IF;
        IF r.state = 'sending' AND now() - r.created_at > make_interval(secs => p_give_up_s) THEN
            UPDATE push q SET state = 'dead', lease_owner = NULL, lease_until = NULL,
                   last_error = 'lease expired after the give-up age', updated_at = now()
             WHERE q.id = r.id;
            PERFORM gw_event(r.package_id, 'push_dead', p_owner,
                             jsonb_build_object('push', r.id, 'error', 'lease expired'));
            CONTINUE;
        END IF;
        RETURN QUERY
        UPDATE push q SET state = 'sending', lease_owner = p_owner,
               lease_until = now() + make_interval(secs => p_lease_ms / 1000.0),
               attempts = q.attempts + 1, updated_at = now()
         WHERE q.id = r.id
        RETURNING q.id, q.package_id, q.event_id, q.attempts, gw_push_facts(q.package_id);
    END LOOP;
END $$;

-- QLVBĐH answered 2xx: the push is sent and the inbox item acknowledged (DELIVERED, audit event
-- 'delivered' with actor 'push', as an API ack) in one transaction. A success is the truth
-- whatever attempt it came from; recording it twice is harmless. Returns false when the push
-- does not exist.
CREATE FUNCTION gw_push_sent(p_push bigint, p_owner text, p_status integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    q push;
BEGIN
    SELECT * INTO q FROM push WHERE id = p_push FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF q.state = 'sent' THEN
        RETURN true;
    END IF;
    UPDATE push SET state = 'sent', lease_owner = NULL, lease_until = NULL, last_error = NULL,
           last_status = p_status, sent_at = now(), updated_at = now()
     WHERE id = p_push;
    PERFORM gw_event(q.package_id, 'pushed', p_owner,
                     jsonb_build_object('push', p_push, 'event_id', q.event_id,
                                        'attempt', q.attempts, 'status', p_status));
    UPDATE package SET state = 'DELIVERED', updated_at = now()
     WHERE id = q.package_id AND direction = 'in' AND state = 'AVAILABLE';
    IF FOUND THEN
        PERFORM gw_event(q.package_id, 'delivered', 'push',
                         jsonb_build_object('event_id', q.event_id, 'by', p_owner));
    END IF;
    RETURN true;
END $$;

-- An attempt failed. p_held (the webhook's breaker is open): back to queued after p_retry_ms
-- without spending the attempt. Otherwise exponential backoff with jitter, or dead once the push
-- is older than p_give_up_s; a dead push leaves the item in the pull inbox. Fenced on (owner,
-- attempt). Returns the new state, NULL when fenced off.
CREATE FUNCTION gw_push_failed(p_push bigint, p_owner text, p_attempt integer, p_error text,
                               p_status integer, p_held boolean, p_retry_ms integer,
                               p_base_ms integer, p_max_ms integer, p_give_up_s integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    q       push;
    v_delay double precision;
    v_state text;
BEGIN
    SELECT * INTO q FROM push WHERE id = p_push AND state = 'sending'
       AND lease_owner = p_owner AND attempts = p_attempt FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_held THEN
        UPDATE push SET state = 'queued', attempts = attempts - 1, lease_owner = NULL,
               lease_until = NULL, last_error = left(p_error, 1000), last_status = p_status,
               next_attempt_at = now() + make_interval(secs => p_retry_ms / 1000.0),
               updated_at = now()
         WHERE id = p_push;
        RETURN 'queued';
    END IF;
    v_delay := least(p_max_ms::double precision, p_base_ms * power(2, least(q.attempts - 1, 30)));
    v_delay := v_delay / 2 + random() * v_delay / 2;
    v_state := CASE WHEN now() - q.created_at > make_interval(secs => p_give_up_s)
                    THEN 'dead' ELSE 'queued' END;
    UPDATE push SET state = v_state, last_error = left(p_error, 1000), last_status = p_status,
           lease_owner = NULL, lease_until = NULL, updated_at = now(),
           next_attempt_at = now() + make_interval(secs => v_delay / 1000.0)
     WHERE id = p_push;
    PERFORM gw_event(q.package_id, CASE WHEN v_state = 'dead' THEN 'push_dead'
                                        ELSE 'push_failed' END,
                     p_owner, jsonb_build_object('push', p_push, 'attempt', q.attempts,
                                                 'error', left(p_error, 1000)));
    RETURN v_state;
END $$;

-- Backlog for dashboards (v_push_backlog) and /metrics (gw_push_stats): pushes waiting (queued or
-- sending), the age of the oldest one, and the dead ones.
CREATE VIEW v_push_backlog AS
    SELECT state, count(*) AS pushes, min(created_at) AS oldest, max(attempts) AS max_attempts
      FROM push WHERE state <> 'sent' GROUP BY state;

CREATE FUNCTION gw_push_stats(OUT waiting bigint, OUT oldest_s double precision,
                              OUT dead bigint)
LANGUAGE sql STABLE AS $$
    SELECT count(*) FILTER (WHERE state IN ('queued', 'sending')),
           coalesce(extract(epoch FROM now() - min(created_at)
                                       FILTER (WHERE state IN ('queued', 'sending'))), 0)::float8,
           count(*) FILTER (WHERE state = 'dead')
      FROM push WHERE state IN ('queued', 'sending', 'dead');
$$;
