-- Signature checks (issue: signatures). Every edoc is checked after it is stored and before it
-- goes anywhere: its deliveries wait (next_attempt_at = 'infinity') and an incoming one stays out
-- of the inbox (state CHECKING) until the verifier records a verdict and the policy's action:
-- deliver, deliver flagged, hold (an operator releases or rejects it) or reject. A verdict that
-- needs revocation data the gateway cannot get now (TRY_LATER) is re-checked on a schedule until
-- a deadline, after which the configured fallback applies. Status packages carry no signature
-- and are not gated.
--
-- Also the signature report (one row per signature, one per PDF) and the certificate inventory
-- (every signer and TSA certificate seen, first and last seen, by agency; TT 41/2017 Art. 9, seed
-- regulation Art. 14.3 / 18.2).

CREATE TABLE package_check (
    package_id     bigint PRIMARY KEY REFERENCES package (id),
    direction      text NOT NULL CHECK (direction IN ('out', 'in')),
    state          text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'CHECKING', 'DONE')),
    gate           text NOT NULL DEFAULT 'closed'
                   CHECK (gate IN ('closed', 'open', 'held', 'rejected')),
    attempts       integer NOT NULL DEFAULT 0,
    next_check_at  timestamptz NOT NULL DEFAULT now(),
    deadline_at    timestamptz,          -- set by the first TRY_LATER: when the fallback applies
    lease_owner    text,
    lease_until    timestamptz,
    summary        text,                 -- TOTAL-PASSED, INDETERMINATE, TOTAL-FAILED, NO_SIGNATURE
    summary_sub    text,
    reason_vi      text,
    reason_en      text,
    action         text CHECK (action IN ('deliver', 'deliver_flagged', 'hold', 'reject')),
    flagged        boolean NOT NULL DEFAULT false,
    decided_by     text,                 -- 'policy', 'fallback' or the operator who released/rejected
    report         jsonb,                -- summary and package findings (files, signatures: rows)
    checked_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX package_check_due_idx ON package_check (next_check_at) WHERE state = 'PENDING';
CREATE INDEX package_check_lease_idx ON package_check (lease_until) WHERE state = 'CHECKING';

CREATE TABLE certificate (
    sha256     bytea PRIMARY KEY CHECK (octet_length(sha256) = 32),
    subject    text NOT NULL,
    issuer     text NOT NULL,
    serial     text NOT NULL,
    not_before timestamptz,
    not_after  timestamptz,
    der        bytea NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    seen       bigint NOT NULL DEFAULT 1
);

-- Which agency (the sender of the package) used which certificate, as signer or TSA.
CREATE TABLE certificate_use (
    cert_sha256 bytea NOT NULL REFERENCES certificate (sha256),
    agency      text NOT NULL,
    usage       text NOT NULL CHECK (usage IN ('signer', 'tsa')),
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    seen        bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (cert_sha256, agency, usage)
);

-- One row per signature: attachment_idx is the attachment (attachment.idx), -1 for the edXML
-- envelope's XML-DSig; idx the signature's order in that file (first signed first).
CREATE TABLE signature (
    package_id      bigint NOT NULL REFERENCES package (id),
    attachment_idx  integer NOT NULL,
    idx             integer NOT NULL,
    format          text NOT NULL CHECK (format IN ('pades', 'doc_timestamp', 'xmldsig')),
    subfilter       text,
    signer_sha256   bytea REFERENCES certificate (sha256),
    tsa_sha256      bytea REFERENCES certificate (sha256),
    signer_subject  text,
    role            text CHECK (role IN ('person', 'organisation', 'unknown')),
    role_rule       text,
    claimed_time    timestamptz,
    ts_time         timestamptz,
    validation_time timestamptz,
    indication      text NOT NULL,
    sub_indication  text,
    reason_vi       text,
    reason_en       text,
    details         jsonb,
    checked_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (package_id, attachment_idx, idx)
);
CREATE INDEX signature_signer_idx ON signature (signer_sha256);

-- One row per checked file (a PDF attachment, or the envelope): its summary.
CREATE TABLE document_check (
    package_id     bigint NOT NULL REFERENCES package (id),
    attachment_idx integer NOT NULL,
    name           text,
    summary        text NOT NULL,
    summary_sub    text,
    signatures     integer NOT NULL,
    reason_vi      text,
    reason_en      text,
    PRIMARY KEY (package_id, attachment_idx)
);

-- ---- the gate ----

-- Closes the gate of a package just stored: an edoc waits for its check. Deliveries already
-- created by routing stay QUEUED but never due; an incoming edoc leaves the inbox until released.
CREATE FUNCTION gw_verify_gate(p_package bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p package;
BEGIN
    SELECT * INTO p FROM package WHERE id = p_package;
    IF NOT FOUND OR p.kind <> 'edoc' THEN
        RETURN;
    END IF;
    INSERT INTO package_check (package_id, direction) VALUES (p_package, p.direction)
        ON CONFLICT DO NOTHING;
    UPDATE delivery SET next_attempt_at = 'infinity'
     WHERE package_id = p_package AND state = 'QUEUED';
    IF p.direction = 'in' AND p.state = 'AVAILABLE' THEN
        UPDATE package SET state = 'CHECKING', inbox_seq = NULL, updated_at = now()
         WHERE id = p_package;
    END IF;
END $$;

-- Everything that happens to a package in the transaction that stores it, after it is stored
-- (the signature gate; later migrations add their stages here).
CREATE FUNCTION gw_package_stages(p_package bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gw_verify_gate(p_package);
END $$;

-- gw_submit (006) and its stages, in one transaction.
CREATE FUNCTION gw_submit_staged(p_source text, p_kind text, p_document_id text, p_sender text,
                                 p_recipients text[], p_status_code text, p_bdt smallint,
                                 p_sha256 bytea, p_body bigint, p_size bigint, p_doc jsonb,
                                 p_axis text, OUT package_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.package_id, s.outcome INTO package_id, outcome
      FROM gw_submit(p_source, p_kind, p_document_id, p_sender, p_recipients, p_status_code,
                     p_bdt, p_sha256, p_body, p_size, p_doc, p_axis) s;
    IF outcome = 'created' THEN
        PERFORM gw_package_stages(package_id);
    END IF;
END $$;

-- gw_incoming_store (006) and its stages, in one transaction.
CREATE FUNCTION gw_incoming_store_staged(p_axis text, p_axis_doc_id text, p_kind text,
                                         p_document_id text, p_sender text, p_recipients text[],
                                         p_status_code text, p_bdt smallint, p_sha256 bytea,
                                         p_body bigint, p_size bigint, p_doc jsonb,
                                         OUT package_id bigint, OUT created boolean)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.package_id, s.created INTO package_id, created
      FROM gw_incoming_store(p_axis, p_axis_doc_id, p_kind, p_document_id, p_sender,
                             p_recipients, p_status_code, p_bdt, p_sha256, p_body, p_size,
                             p_doc) s;
    IF created THEN
        PERFORM gw_package_stages(package_id);
    END IF;
END $$;

-- ---- the verifier's claims and outcomes ----

-- Up to p_limit packages due for a check (new, due for a re-check, or whose checker's lease
-- expired), leased to p_owner. attachments: every attachment whose bytes (as sent or unwrapped)
-- are a PDF, with the slice of the stored bytes that holds its base64 text.
CREATE FUNCTION gw_check_claim(p_owner text, p_lease_ms integer, p_limit integer)
RETURNS TABLE (package_id bigint, direction text, sender text, document_id text, attempts integer,
               deadline_at timestamptz, body_id bigint, size bigint, chunks integer,
               xmldsig boolean, attachments json, first_recipient text)
LANGUAGE sql AS $$
    WITH due AS (
        SELECT c.package_id FROM package_check c
         WHERE (c.state = 'PENDING' AND c.next_check_at <= now())
            OR (c.state = 'CHECKING' AND c.lease_until < now())
         ORDER BY c.next_check_at
         LIMIT greatest(p_limit, 0)
         FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE package_check c SET state = 'CHECKING', lease_owner = p_owner,
               lease_until = now() + make_interval(secs => p_lease_ms / 1000.0),
               attempts = c.attempts + 1, updated_at = now()
          FROM due WHERE c.package_id = due.package_id
        RETURNING c.package_id, c.direction, c.attempts, c.deadline_at
    )
    SELECT c.package_id, c.direction, p.sender, p.document_id, c.attempts, c.deadline_at, b.id,
           b.size, b.chunks, coalesce((p.header -> 'relay' ->> 'xmldsig')::boolean, false),
           coalesce((SELECT json_agg(json_build_object(
                              'idx', t.idx, 'name', t.name, 'b64_offset', t.b64_offset,
                              'b64_len', t.b64_len, 'size', t.size,
                              'unwrapped', t.unwrapped, 'unwrapped_size', t.unwrapped_size)
                             ORDER BY t.idx)
                       FROM attachment t
                      WHERE t.package_id = p.id
                        AND (CASE WHEN t.unwrapped THEN t.unwrapped_type
                                  ELSE t.detected_type END) = 'application/pdf'),
                    '[]'::json),
           p.recipients[1]
      FROM claimed c JOIN package p ON p.id = c.package_id
      LEFT JOIN body b ON b.id = p.body_id;
$$;

-- Extends the leases p_owner holds on checks still running; returns the packages whose lease
-- is no longer p_owner's (their result will not be recorded).
CREATE FUNCTION gw_check_renew(p_owner text, p_packages bigint[], p_lease_ms integer)
RETURNS TABLE (package_id bigint) LANGUAGE sql AS $$
    WITH renewed AS (
        UPDATE package_check c
           SET lease_until = now() + make_interval(secs => p_lease_ms / 1000.0)
         WHERE c.package_id = ANY (p_packages) AND c.state = 'CHECKING'
           AND c.lease_owner = p_owner
        RETURNING c.package_id
    )
    SELECT x FROM unnest(p_packages) x WHERE x NOT IN (SELECT r.package_id FROM renewed r);
$$;

-- Puts a certificate in the inventory (or counts one more sighting) and its use by an agency.
CREATE FUNCTION gw_certificate_seen(p_cert jsonb, p_agency text, p_usage text)
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    v_sha bytea := decode(p_cert ->> 'sha256', 'hex');
BEGIN
    INSERT INTO certificate (sha256, subject, issuer, serial, not_before, not_after, der)
        VALUES (v_sha, p_cert ->> 'subject', p_cert ->> 'issuer', p_cert ->> 'serial',
                (p_cert ->> 'not_before')::timestamptz, (p_cert ->> 'not_after')::timestamptz,
                decode(p_cert ->> 'der', 'base64'))
        ON CONFLICT (sha256) DO UPDATE SET last_seen = now(), seen = certificate.seen + 1;
    IF p_agency IS NOT NULL THEN
        INSERT INTO certificate_use (cert_sha256, agency, usage) VALUES (v_sha, p_agency, p_usage)
            ON CONFLICT (cert_sha256, agency, usage)
            DO UPDATE SET last_seen = now(), seen = certificate_use.seen + 1;
    END IF;
    RETURN v_sha;
END $$;

-- Opens the gate: the deliveries become due now; an incoming package joins the inbox at its end.
CREATE FUNCTION gw_check_open(p_package bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    p     package;
BEGIN
    SELECT * INTO p FROM package WHERE id = p_package FOR UPDATE;
    UPDATE package_check SET gate = 'open', updated_at = now() WHERE package_id = p_package;
    UPDATE delivery SET next_attempt_at = now(), updated_at = now()
     WHERE package_id = p_package AND state = 'QUEUED' AND next_attempt_at = 'infinity';
    IF p.direction = 'out' AND p.state = 'HELD' THEN
        UPDATE package SET state = 'ROUTED', updated_at = now() WHERE id = p_package;
    ELSIF p.direction = 'in' AND p.state IN ('CHECKING', 'HELD') THEN
        SELECT last INTO v_seq FROM inbox_counter FOR UPDATE;
        UPDATE inbox_counter SET last = v_seq + 1;
        UPDATE package SET state = 'AVAILABLE', inbox_seq = v_seq + 1, updated_at = now()
         WHERE id = p_package;
    END IF;
END $$;

-- Final refusal of a package by the gateway: nothing more is sent; the reason is its state.
CREATE FUNCTION gw_check_refuse(p_package bigint, p_reason text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE package_check SET gate = 'rejected', updated_at = now() WHERE package_id = p_package;
    UPDATE delivery SET state = 'DEAD', last_error = 'rejected: ' || p_reason,
           lease_owner = NULL, lease_until = NULL, updated_at = now()
     WHERE package_id = p_package AND state = 'QUEUED';
    UPDATE package SET state = 'REJECTED', updated_at = now() WHERE id = p_package;
END $$;

-- Records the verifier's result for a package it holds the lease of, and carries out the action:
-- 'deliver' / 'deliver_flagged' open the gate, 'hold' keeps it closed for an operator, 'reject'
-- refuses the package. p_retry_ms not NULL: the verdict is waiting for revocation data; the
-- action is the interim one and the package is checked again after p_retry_ms (the first
-- TRY_LATER sets the deadline p_deadline_s ahead). p_report: {"documents": [...], "signatures":
-- [...], "certificates": [...]} as made by the daemon (pipeline/verify_report.c).
-- Returns 'recorded', or 'lost' when the lease is no longer p_owner's (nothing is changed).
CREATE FUNCTION gw_check_done(p_package bigint, p_owner text, p_summary text, p_sub text,
                              p_reason_vi text, p_reason_en text, p_action text,
                              p_decided_by text, p_retry_ms integer, p_deadline_s integer,
                              p_report jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    c       package_check;
    v_agent text;
    s       jsonb;
BEGIN
    SELECT * INTO c FROM package_check WHERE package_id = p_package FOR UPDATE;
    IF NOT FOUND OR c.state <> 'CHECKING' OR c.lease_owner IS DISTINCT FROM p_owner THEN
        RETURN 'lost';
    END IF;
    SELECT sender INTO v_agent FROM package WHERE id = p_package;
    -- the report, replacing an earlier check's
    DELETE FROM signature WHERE package_id = p_package;
    DELETE FROM document_check WHERE package_id = p_package;
    FOR s IN SELECT * FROM jsonb_array_elements(coalesce(p_report -> 'certificates', '[]'))
    LOOP
        PERFORM gw_certificate_seen(s, v_agent, coalesce(s ->> 'usage', 'signer'));
    END LOOP;
    INSERT INTO signature (package_id, attachment_idx, idx, format, subfilter, signer_sha256,
                           tsa_sha256, signer_subject, role, role_rule, claimed_time, ts_time,
                           validation_time, indication, sub_indication, reason_vi, reason_en,
                           details)
        SELECT p_package, (e ->> 'attachment')::integer, (e ->> 'idx')::integer, e ->> 'format',
               e ->> 'subfilter', decode(e ->> 'signer_sha256', 'hex'),
               decode(e ->> 'tsa_sha256', 'hex'), e ->> 'signer', e ->> 'role',
               e ->> 'role_rule', (e ->> 'claimed_time')::timestamptz,
               (e ->> 'ts_time')::timestamptz, (e ->> 'validation_time')::timestamptz,
               e ->> 'indication', nullif(e ->> 'sub_indication', ''), e ->> 'reason_vi',
               e ->> 'reason_en',
               jsonb_build_object('checks', e -> 'checks', 'revocation', e -> 'revocation',
                                  'rule', e -> 'rule', 'field', e -> 'field',
                                  'weak_accepted', e -> 'weak_accepted')
          FROM jsonb_array_elements(coalesce(p_report -> 'signatures', '[]')) e;
    INSERT INTO document_check (package_id, attachment_idx, name, summary, summary_sub,
                                signatures, reason_vi, reason_en)
        SELECT p_package, (e ->> 'attachment')::integer, e ->> 'name', e ->> 'summary',
               nullif(e ->> 'summary_sub', ''), coalesce((e ->> 'signatures')::integer, 0),
               e ->> 'reason_vi', e ->> 'reason_en'
          FROM jsonb_array_elements(coalesce(p_report -> 'documents', '[]')) e;
    UPDATE package_check
       SET state = CASE WHEN p_retry_ms IS NULL THEN 'DONE' ELSE 'PENDING' END,
           next_check_at = CASE WHEN p_retry_ms IS NULL THEN now()
                                ELSE now() + make_interval(secs => p_retry_ms / 1000.0) END,
           deadline_at = CASE WHEN p_retry_ms IS NULL THEN deadline_at
                              ELSE coalesce(deadline_at,
                                            now() + make_interval(secs => p_deadline_s)) END,
           lease_owner = NULL, lease_until = NULL, summary = p_summary, summary_sub = p_sub,
           reason_vi = p_reason_vi, reason_en = p_reason_en, action = p_action,
           flagged = p_action = 'deliver_flagged' OR flagged AND c.gate = 'open',
           decided_by = p_decided_by, checked_at = now(), updated_at = now(),
           -- the certificates are in the inventory; the rows above hold the rest
           report = jsonb_build_object('summary', p_report -> 'summary',
                                       'summary_sub', p_report -> 'summary_sub',
                                       'findings', p_report -> 'findings')
     WHERE package_id = p_package;
    IF p_action IN ('deliver', 'deliver_flagged') THEN
        IF c.gate <> 'open' THEN
            PERFORM gw_check_open(p_package);
        END IF;
    ELSIF p_action = 'hold' THEN
        IF c.gate = 'closed' THEN
            UPDATE package_check SET gate = 'held' WHERE package_id = p_package;
            UPDATE package SET state = 'HELD', updated_at = now()
             WHERE id = p_package AND state IN ('ROUTED', 'CHECKING');
        END IF;
    ELSIF p_action = 'reject' THEN
        IF c.gate IN ('closed', 'held') THEN
            PERFORM gw_check_refuse(p_package, coalesce(p_reason_en, p_summary));
        END IF;
    END IF;
    PERFORM gw_event(p_package,
                     CASE WHEN p_retry_ms IS NULL THEN 'verified' ELSE 'verify_later' END,
                     p_owner,
                     jsonb_build_object('summary', p_summary, 'sub_indication', p_sub,
                                        'action', p_action, 'decided_by', p_decided_by,
                                        'reason', p_reason_en));
    RETURN 'recorded';
END $$;

-- An operator's decision on a held package: release (deliver) or reject. Returns false when the
-- package is not held.
CREATE FUNCTION gw_check_decide(p_package bigint, p_actor text, p_release boolean, p_reason text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    c package_check;
BEGIN
    SELECT * INTO c FROM package_check WHERE package_id = p_package FOR UPDATE;
    IF NOT FOUND OR c.gate <> 'held' THEN
        RETURN false;
    END IF;
    IF p_release THEN
        PERFORM gw_check_open(p_package);
    ELSE
        PERFORM gw_check_refuse(p_package, coalesce(p_reason, 'rejected by an operator'));
    END IF;
    UPDATE package_check SET decided_by = p_actor, state = 'DONE', updated_at = now()
     WHERE package_id = p_package;
    PERFORM gw_event(p_package, CASE WHEN p_release THEN 'released' ELSE 'rejected' END, p_actor,
                     jsonb_build_object('reason', p_reason));
    RETURN true;
END $$;

-- ---- views ----

CREATE VIEW v_package_check AS
    SELECT c.package_id, p.direction, p.document_id, p.sender, c.state, c.gate, c.summary,
           c.summary_sub, c.action, c.flagged, c.decided_by, c.attempts, c.next_check_at,
           c.deadline_at, c.deadline_at IS NOT NULL AND c.deadline_at < now() AS deadline_passed,
           c.reason_vi, c.reason_en, c.checked_at, c.created_at
      FROM package_check c JOIN package p ON p.id = c.package_id;

-- Packages still waiting for a verdict (never checked, or waiting for revocation data) and held
-- ones: what on-call watches (seed Art. 9.3: nothing waits without an alert).
CREATE VIEW v_verify_waiting AS
    SELECT c.package_id, c.direction, c.state, c.gate, c.summary, c.summary_sub, c.attempts,
           c.created_at, c.next_check_at, c.deadline_at,
           extract(epoch FROM now() - c.created_at) AS waiting_s
      FROM package_check c
     WHERE c.state <> 'DONE' OR c.gate = 'held';

CREATE VIEW v_signature AS
    SELECT s.package_id, p.direction, p.document_id, p.sender, s.attachment_idx, a.name AS file,
           s.idx, s.format, s.subfilter, s.signer_subject, s.role, s.claimed_time, s.ts_time,
           s.validation_time, s.indication, s.sub_indication, s.reason_vi, s.reason_en,
           encode(s.signer_sha256, 'hex') AS signer_sha256, s.checked_at
      FROM signature s JOIN package p ON p.id = s.package_id
      LEFT JOIN attachment a ON a.package_id = s.package_id AND a.idx = s.attachment_idx;

CREATE VIEW v_certificate AS
    SELECT encode(c.sha256, 'hex') AS sha256, c.subject, c.issuer, c.serial, c.not_before,
           c.not_after, c.first_seen, c.last_seen, c.seen,
           (SELECT coalesce(array_agg(DISTINCT u.agency), '{}') FROM certificate_use u
             WHERE u.cert_sha256 = c.sha256) AS agencies
      FROM certificate c;

-- The signature report of one package, as the API returns it: the check's state and summary,
-- each checked file and each signature (NULL check: not an edoc, nothing to check).
CREATE FUNCTION gw_package_signatures(p_package bigint) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'state', c.state, 'gate', c.gate, 'summary', c.summary, 'summary_sub', c.summary_sub,
        'action', c.action, 'flagged', c.flagged, 'decided_by', c.decided_by,
        'reason_vi', c.reason_vi, 'reason_en', c.reason_en, 'attempts', c.attempts,
        'checked_at', c.checked_at, 'next_check_at', CASE WHEN c.state <> 'DONE'
                                                          THEN c.next_check_at END,
        'deadline_at', c.deadline_at, 'findings', coalesce(c.report -> 'findings', '[]'),
        'documents', coalesce((SELECT json_agg(json_build_object(
                'attachment', d.attachment_idx, 'name', d.name, 'summary', d.summary,
                'summary_sub', d.summary_sub, 'signatures', d.signatures,
                'reason_vi', d.reason_vi, 'reason_en', d.reason_en) ORDER BY d.attachment_idx)
              FROM document_check d WHERE d.package_id = c.package_id), '[]'),
        'signatures', coalesce((SELECT json_agg(json_build_object(
                'attachment', s.attachment_idx, 'idx', s.idx, 'format', s.format,
                'subfilter', s.subfilter, 'signer', s.signer_subject, 'role', s.role,
                'role_rule', s.role_rule, 'claimed_time', s.claimed_time, 'ts_time', s.ts_time,
                'validation_time', s.validation_time, 'indication', s.indication,
                'sub_indication', s.sub_indication, 'reason_vi', s.reason_vi,
                'reason_en', s.reason_en, 'signer_sha256', encode(s.signer_sha256, 'hex'),
                'checks', s.details -> 'checks', 'revocation', s.details -> 'revocation')
                ORDER BY s.attachment_idx, s.idx)
              FROM signature s WHERE s.package_id = c.package_id), '[]'))
      FROM package_check c WHERE c.package_id = p_package;
$$;
