-- Incoming packages handled one by one: a listed package that fails locally (a configured size or
-- recipient limit, a store error, a fetch that keeps failing) is counted per axis doc id and
-- retried with backoff, without blocking the rest of the list; a refusal answered
-- `updateStatus fail` is recorded with its stable code, since the axis cannot undo it.

CREATE TABLE incoming_failure (
    axis            text NOT NULL,
    axis_doc_id     text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('edoc', 'status')),
    failures        integer NOT NULL,
    last_error      text NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    first_seen      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (axis, axis_doc_id)
);

CREATE TABLE incoming_refusal (
    axis        text NOT NULL,
    axis_doc_id text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('edoc', 'status')),
    code        text NOT NULL,
    detail      text NOT NULL,
    sha256      bytea CHECK (octet_length(sha256) = 32),
    size        bigint NOT NULL,
    refused_at  timestamptz NOT NULL DEFAULT now(),
    fail_acked_at timestamptz,               -- when the axis took the `fail` answer
    PRIMARY KEY (axis, axis_doc_id)
);

-- What the poller knows of a listed doc id before fetching it: the package it was stored as
-- (NULL if none), how long a failing one still waits (NULL if not failing, 0 if due) and its
-- failure count, whether it was refused and whether that `fail` reached the axis.
CREATE FUNCTION gw_incoming_check(p_axis text, p_axis_doc_id text, OUT package_id bigint,
                                  OUT wait_ms bigint, OUT failures integer, OUT refused boolean,
                                  OUT fail_acked boolean)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT r.package_id FROM axis_receipt r
             WHERE r.axis = p_axis AND r.axis_doc_id = p_axis_doc_id),
           (SELECT greatest(0, ceil(extract(epoch FROM f.next_attempt_at - now()) * 1000))::bigint
              FROM incoming_failure f WHERE f.axis = p_axis AND f.axis_doc_id = p_axis_doc_id),
           (SELECT f.failures FROM incoming_failure f
             WHERE f.axis = p_axis AND f.axis_doc_id = p_axis_doc_id),
           EXISTS (SELECT 1 FROM incoming_refusal x
                    WHERE x.axis = p_axis AND x.axis_doc_id = p_axis_doc_id),
           EXISTS (SELECT 1 FROM incoming_refusal x
                    WHERE x.axis = p_axis AND x.axis_doc_id = p_axis_doc_id
                      AND x.fail_acked_at IS NOT NULL);
$$;

-- gw_store_incoming, and the doc id's failure record (if any) is cleared in the same transaction.
CREATE FUNCTION gw_incoming_store(p_axis text, p_axis_doc_id text, p_kind text,
                                  p_document_id text, p_sender text, p_recipients text[],
                                  p_status_code text, p_bdt smallint, p_sha256 bytea,
                                  p_bytes bytea, OUT package_id bigint, OUT created boolean)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.package_id, s.created INTO package_id, created
      FROM gw_store_incoming(p_axis, p_axis_doc_id, p_kind, p_document_id, p_sender,
                             p_recipients, p_status_code, p_bdt, p_sha256, p_bytes) s;
    DELETE FROM incoming_failure f WHERE f.axis = p_axis AND f.axis_doc_id = p_axis_doc_id;
END $$;

-- One more local failure of a doc id: the next attempt waits p_base_ms * 2^(failures - 1), at
-- most p_max_ms. Returns the failure count and the wait.
CREATE FUNCTION gw_incoming_failed(p_axis text, p_axis_doc_id text, p_kind text, p_error text,
                                   p_base_ms integer, p_max_ms integer, OUT failures integer,
                                   OUT wait_ms integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
    v_wait double precision;
BEGIN
    SELECT f.failures INTO v_n FROM incoming_failure f
     WHERE f.axis = p_axis AND f.axis_doc_id = p_axis_doc_id FOR UPDATE;
    v_n := coalesce(v_n, 0);
    v_wait := least(p_max_ms::double precision,
                    p_base_ms::double precision * power(2::double precision, least(v_n, 40)));
    INSERT INTO incoming_failure AS f (axis, axis_doc_id, kind, failures, last_error,
                                       next_attempt_at)
        VALUES (p_axis, p_axis_doc_id, p_kind, 1, left(p_error, 1000),
                now() + make_interval(secs => v_wait / 1000.0))
    ON CONFLICT (axis, axis_doc_id) DO UPDATE
        SET failures = least(f.failures, 2147483646) + 1, last_error = excluded.last_error,
            next_attempt_at = excluded.next_attempt_at, updated_at = now();
    failures := least(v_n, 2147483646) + 1;
    wait_ms := v_wait::integer;
END $$;

-- A verdict on a fetched package (answered `updateStatus fail`), kept for the operator.
CREATE FUNCTION gw_incoming_refused(p_axis text, p_axis_doc_id text, p_kind text, p_code text,
                                    p_detail text, p_sha256 bytea, p_size bigint)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO incoming_refusal (axis, axis_doc_id, kind, code, detail, sha256, size)
        VALUES (p_axis, p_axis_doc_id, p_kind, p_code, left(p_detail, 1000), p_sha256, p_size)
    ON CONFLICT (axis, axis_doc_id) DO NOTHING;
    DELETE FROM incoming_failure f WHERE f.axis = p_axis AND f.axis_doc_id = p_axis_doc_id;
$$;

-- The axis took the `fail` answer to a refused package: it is not answered again.
CREATE FUNCTION gw_incoming_fail_acked(p_axis text, p_axis_doc_id text) RETURNS void
LANGUAGE sql AS $$
    UPDATE incoming_refusal SET fail_acked_at = now()
     WHERE axis = p_axis AND axis_doc_id = p_axis_doc_id AND fail_acked_at IS NULL;
$$;

-- After a listing of one kind: failure records of doc ids the axis no longer lists are dropped
-- (resolved on the axis). Returns how many doc ids of the axis are failing.
CREATE FUNCTION gw_incoming_prune(p_axis text, p_kind text, p_listed text[]) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM incoming_failure f
     WHERE f.axis = p_axis AND f.kind = p_kind AND NOT (f.axis_doc_id = ANY (p_listed));
    RETURN (SELECT count(*) FROM incoming_failure f WHERE f.axis = p_axis);
END $$;
