-- Delivery: peer health per axis, claims limited to the axes an instance serves (with a limit per
-- axis), deliveries held by a peer condition without spending an attempt, and lease renewal for
-- sends whose outcome is still being recorded.

-- The circuit breaker of each axis, as the instance that changed it last saw it: closed (normal),
-- open (the axis refuses or is unreachable: nothing is sent), half_open (probing).
CREATE TABLE peer_health (
    axis       text PRIMARY KEY,
    state      text NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
    since      timestamptz NOT NULL DEFAULT now(),
    reason     text,
    failures   integer NOT NULL DEFAULT 0,
    owner      text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX delivery_axis_due_idx ON delivery (axis, next_attempt_at)
    WHERE state IN ('QUEUED', 'SENDING');

-- Records a breaker state change (since moves only when the state does).
CREATE FUNCTION gw_peer_health_set(p_axis text, p_state text, p_reason text, p_failures integer,
                                   p_owner text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO peer_health AS h (axis, state, since, reason, failures, owner, updated_at)
        VALUES (p_axis, p_state, now(), left(p_reason, 1000), p_failures, p_owner, now())
    ON CONFLICT (axis) DO UPDATE
        SET since = CASE WHEN h.state = excluded.state THEN h.since ELSE now() END,
            state = excluded.state, reason = excluded.reason, failures = excluded.failures,
            owner = excluded.owner, updated_at = now();
$$;

-- gw_claim_deliveries restricted to the axes in p_axes, at most p_limits[i] rows for p_axes[i]
-- and p_limit in all. An axis this instance does not serve, or serves disabled, or whose breaker
-- is open, is simply not in the list: its deliveries wait, neither claimed nor given up.
CREATE FUNCTION gw_claim_deliveries_for(p_owner text, p_lease_ms integer, p_limit integer,
                                        p_max_bytes bigint, p_give_up_s integer, p_axes text[],
                                        p_limits integer[])
RETURNS TABLE (delivery_id bigint, package_id bigint, axis text, kind text, document_id text,
               attempts integer, bytes bytea)
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
            RETURNING d.id, d.package_id, d.axis, d.attempts
        )
        SELECT c.id, c.package_id, c.axis, p.kind, p.document_id, c.attempts, b.bytes
          FROM claimed c JOIN package p ON p.id = c.package_id
          JOIN package_body b ON b.package_id = c.package_id;
    END LOOP;
END $$;

-- A send failed because of its peer (refused credentials, the axis unreachable), not because of
-- the package: back to QUEUED after p_retry_ms with the attempt given back, never DEAD. Fenced
-- like gw_delivery_failed. Returns 'QUEUED', or NULL when fenced off.
CREATE FUNCTION gw_delivery_held(p_delivery bigint, p_owner text, p_attempt integer,
                                 p_error text, p_retry_ms integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d delivery;
BEGIN
    SELECT * INTO d FROM delivery WHERE id = p_delivery AND state = 'SENDING'
       AND lease_owner = p_owner AND attempts = p_attempt FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE delivery SET state = 'QUEUED', attempts = greatest(d.attempts - 1, 0),
           last_error = left(p_error, 1000), lease_owner = NULL, lease_until = NULL,
           updated_at = now(), next_attempt_at = now() + make_interval(secs => p_retry_ms / 1000.0)
     WHERE id = p_delivery;
    RETURN 'QUEUED';
END $$;

-- Renews the leases of sends still in flight or being recorded, fenced on owner and attempt: a
-- delivery claimed again meanwhile (its lease had passed) is not taken back. Returns the ids
-- whose lease now runs until now() + p_lease_ms.
CREATE FUNCTION gw_delivery_renew(p_ids bigint[], p_owner text, p_attempts integer[],
                                  p_lease_ms integer)
RETURNS TABLE (delivery_id bigint) LANGUAGE sql AS $$
    UPDATE delivery d SET lease_until = now() + make_interval(secs => p_lease_ms / 1000.0)
      FROM unnest(p_ids, p_attempts) AS u(id, attempt)
     WHERE d.id = u.id AND d.state = 'SENDING' AND d.lease_owner = p_owner
       AND d.attempts = u.attempt
    RETURNING d.id;
$$;
