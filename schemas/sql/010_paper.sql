-- Paper copies (seed regulation Art. 10.3; domain.md §7; docs/internals/paper.md).
-- 1. paper_check: the classification of one edoc as the gateway made it when the package arrived
--    (rules/classify.c on the ingest's worker), under the catalogue named by its digest: every
--    clause that fired with its rule, field and text, and the sender's Paper declaration.
-- 2. paper_copy: each paper copy expected, per recipient, with its due date in working days:
--    'required' (a clause of Art. 10.3b fired: clause 1 for the recipients that are the
--    Government, clauses 2-4 for every recipient), 'declared' (Paper = 1 between different
--    agencies: the sender says paper follows), 'no_electronic_means' (Art. 10.3a: the routing
--    found no axis that serves the recipient, so paper is the only way). Dispatch (or, for an
--    incoming document, receipt) is recorded by QLVBĐH through POST /v1/packages/{id}/paper-copy.
-- 3. The classification travels in the package's JSON form as "paper_check"; the staged store
--    functions take it out before the form is stored as the package's header and record it in
--    the transaction that stores the package, so a package is never stored without its
--    classification.
-- 4. v_paper_copy_pending: copies not yet dispatched, with their lateness in Vietnam days.

CREATE FUNCTION gw_vn_today() RETURNS date LANGUAGE sql STABLE AS $$
    SELECT ((now() AT TIME ZONE 'UTC') + interval '7 hours')::date;
$$;

CREATE TABLE paper_check (
    package_id        bigint PRIMARY KEY REFERENCES package (id),
    judged_on         date NOT NULL,               -- the Vietnam date the rules were judged on
    catalogue_digest  text NOT NULL,
    catalogue_version text NOT NULL,
    required          boolean NOT NULL,
    tracked           boolean NOT NULL,
    clauses           smallint[] NOT NULL,
    declared          smallint CHECK (declared IN (0, 1)), -- NULL: Paper not declared
    internal          boolean NOT NULL,
    declaration       boolean NOT NULL,
    mismatch          boolean NOT NULL,
    hits              jsonb NOT NULL,
    due_on            date,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX paper_check_required_idx ON paper_check (created_at) WHERE required;

CREATE TABLE paper_copy (
    id            bigserial PRIMARY KEY,
    package_id    bigint NOT NULL REFERENCES package (id),
    recipient     text NOT NULL,
    reason        text NOT NULL CHECK (reason IN ('required', 'declared', 'no_electronic_means')),
    clauses       smallint[] NOT NULL DEFAULT '{}',
    paper_only    boolean NOT NULL DEFAULT false,  -- Art. 10.3a: no electronic means
    due_on        date NOT NULL,
    state         text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'DISPATCHED')),
    dispatched_at timestamptz,
    dispatched_by text,
    reference     text,
    recorded_by   text,
    recorded_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (package_id, recipient),
    CHECK ((state = 'DISPATCHED') = (dispatched_at IS NOT NULL))
);
CREATE INDEX paper_copy_pending_idx ON paper_copy (due_on) WHERE state = 'PENDING';

-- Records the classification c of a package just stored (and routed) in the rows above.
CREATE FUNCTION gw_paper_stage(p_package bigint, c jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p       package;
    v_due   date;
    v_means date;
BEGIN
    SELECT * INTO p FROM package WHERE id = p_package;
    IF NOT FOUND OR p.kind <> 'edoc' OR c IS NULL OR jsonb_typeof(c) <> 'object' THEN
        RETURN;
    END IF;
    v_due := (c ->> 'due_on')::date;
    v_means := (c ->> 'due_no_means')::date;
    INSERT INTO paper_check (package_id, judged_on, catalogue_digest, catalogue_version, required,
                             tracked, clauses, declared, internal, declaration, mismatch, hits,
                             due_on)
        VALUES (p_package, (c ->> 'date')::date, c -> 'catalogue' ->> 'digest',
                c -> 'catalogue' ->> 'version', (c ->> 'required')::boolean,
                (c ->> 'tracked')::boolean,
                ARRAY(SELECT x::smallint FROM jsonb_array_elements_text(c -> 'clauses') x),
                (c -> 'paper' ->> 'declared')::smallint, (c -> 'paper' ->> 'internal')::boolean,
                (c -> 'paper' ->> 'declaration')::boolean, (c -> 'paper' ->> 'mismatch')::boolean,
                coalesce(c -> 'hits', '[]'), v_due);
    -- Clause 1 concerns the recipients that are the Government; the other clauses, and a
    -- declaration, every recipient.
    IF (c ->> 'tracked')::boolean THEN
        INSERT INTO paper_copy (package_id, recipient, reason, clauses, due_on)
            SELECT p_package, r.rcpt,
                   CASE WHEN (c ->> 'required')::boolean THEN 'required' ELSE 'declared' END,
                   ARRAY(SELECT DISTINCT (h ->> 'clause')::smallint
                           FROM jsonb_array_elements(c -> 'hits') h
                          WHERE (h ->> 'clause')::smallint <> 1
                             OR gw_orgid_key(h ->> 'organ_id') = gw_orgid_key(r.rcpt)
                          ORDER BY 1),
                   v_due
              FROM unnest(p.recipients) AS r(rcpt)
             WHERE r.rcpt IS NOT NULL
               AND (NOT (c ->> 'required')::boolean
                    OR EXISTS (SELECT 1 FROM jsonb_array_elements(c -> 'hits') h
                                WHERE (h ->> 'clause')::smallint <> 1
                                   OR gw_orgid_key(h ->> 'organ_id') = gw_orgid_key(r.rcpt)))
            ON CONFLICT (package_id, recipient) DO NOTHING;
    END IF;
    -- Art. 10.3a: a recipient no axis serves gets its document on paper only.
    INSERT INTO paper_copy (package_id, recipient, reason, paper_only, due_on)
        SELECT p_package, pr.recipient, 'no_electronic_means', true, coalesce(v_means, v_due,
                                                                              gw_vn_today())
          FROM package_route pr
         WHERE pr.package_id = p_package AND pr.state = 'NO_ELECTRONIC_MEANS'
        ON CONFLICT (package_id, recipient) DO UPDATE SET paper_only = true,
            due_on = least(paper_copy.due_on, excluded.due_on);
    -- The trail names the documents that expect paper (every classification is in paper_check).
    IF NOT (c ->> 'tracked')::boolean AND NOT (c -> 'paper' ->> 'mismatch')::boolean
       AND NOT EXISTS (SELECT 1 FROM paper_copy pc WHERE pc.package_id = p_package) THEN
        RETURN;
    END IF;
    PERFORM gw_event(p_package, 'paper_classified', 'gateway',
                     jsonb_build_object('required', (c ->> 'required')::boolean,
                                        'tracked', (c ->> 'tracked')::boolean,
                                        'clauses', c -> 'clauses',
                                        'rules', (SELECT coalesce(jsonb_agg(DISTINCT h ->> 'rule'),
                                                                  '[]')
                                                    FROM jsonb_array_elements(c -> 'hits') h),
                                        'catalogue', c -> 'catalogue' ->> 'digest',
                                        'due_on', v_due,
                                        'mismatch', (c -> 'paper' ->> 'mismatch')::boolean,
                                        'copies', (SELECT count(*) FROM paper_copy pc
                                                    WHERE pc.package_id = p_package)));
END $$;

-- 008's staged store functions, now taking the classification out of the form first.
CREATE OR REPLACE FUNCTION gw_submit_staged(p_source text, p_kind text, p_document_id text,
                                            p_sender text, p_recipients text[],
                                            p_status_code text, p_bdt smallint, p_sha256 bytea,
                                            p_body bigint, p_size bigint, p_doc jsonb,
                                            p_axis text, OUT package_id bigint,
                                            OUT outcome text)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.package_id, s.outcome INTO package_id, outcome
      FROM gw_submit(p_source, p_kind, p_document_id, p_sender, p_recipients, p_status_code,
                     p_bdt, p_sha256, p_body, p_size, p_doc - 'paper_check', p_axis) s;
    IF outcome = 'created' THEN
        PERFORM gw_package_stages(package_id);
        PERFORM gw_paper_stage(package_id, p_doc -> 'paper_check');
    END IF;
END $$;

CREATE OR REPLACE FUNCTION gw_incoming_store_staged(p_axis text, p_axis_doc_id text,
                                                    p_kind text, p_document_id text,
                                                    p_sender text, p_recipients text[],
                                                    p_status_code text, p_bdt smallint,
                                                    p_sha256 bytea, p_body bigint,
                                                    p_size bigint, p_doc jsonb,
                                                    OUT package_id bigint, OUT created boolean)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.package_id, s.created INTO package_id, created
      FROM gw_incoming_store(p_axis, p_axis_doc_id, p_kind, p_document_id, p_sender,
                             p_recipients, p_status_code, p_bdt, p_sha256, p_body, p_size,
                             p_doc - 'paper_check') s;
    IF created THEN
        PERFORM gw_package_stages(package_id);
        PERFORM gw_paper_stage(package_id, p_doc -> 'paper_check');
    END IF;
END $$;

-- Records that the paper copy of p_package for p_recipient (NULL: every copy still pending) was
-- dispatched (received, for an incoming document) at p_at by p_by under p_reference; p_actor is
-- the API client, which acts for the organisations p_scope (the sender of an outgoing package,
-- a recipient of an incoming one, as the API's reads). A copy already recorded is left as it
-- is. Returns how many were recorded now; -1 when the package (or that recipient) has no paper
-- copy; -2 when there is no such package in the scope.
CREATE FUNCTION gw_paper_dispatch(p_package bigint, p_scope text[], p_recipient text,
                                  p_at timestamptz, p_by text, p_reference text, p_actor text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
    v_ids bigint[];
BEGIN
    PERFORM 1 FROM package p
      WHERE p.id = p_package AND (CASE WHEN p.direction = 'in' THEN p.recipients && p_scope
                                       ELSE p.sender = ANY (p_scope) END)
      FOR UPDATE;
    IF NOT FOUND THEN
        RETURN -2;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM paper_copy WHERE package_id = p_package
                      AND (p_recipient IS NULL
                           OR gw_orgid_key(recipient) = gw_orgid_key(p_recipient))) THEN
        RETURN -1;
    END IF;
    WITH u AS (
        UPDATE paper_copy SET state = 'DISPATCHED', dispatched_at = coalesce(p_at, now()),
               dispatched_by = p_by, reference = p_reference, recorded_by = p_actor,
               recorded_at = now()
         WHERE package_id = p_package AND state = 'PENDING'
           AND (p_recipient IS NULL OR gw_orgid_key(recipient) = gw_orgid_key(p_recipient))
        RETURNING id)
    SELECT count(*), array_agg(id) INTO v_n, v_ids FROM u;
    IF v_n > 0 THEN
        PERFORM gw_event(p_package, 'paper_dispatched', p_actor,
                         jsonb_build_object('recipient', p_recipient, 'at', coalesce(p_at, now()),
                                            'by', p_by, 'reference', p_reference,
                                            'copies', v_n));
    END IF;
    RETURN v_n;
END $$;

-- The API's view of a package's paper copies; NULL for a package never classified.
CREATE FUNCTION gw_package_paper(p_package bigint) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'required', c.required, 'tracked', c.tracked, 'clauses', c.clauses,
        'hits', c.hits, 'declared', c.declared, 'internal', c.internal,
        'declaration', c.declaration, 'mismatch', c.mismatch, 'judged_on', c.judged_on,
        'catalogue', json_build_object('digest', c.catalogue_digest,
                                       'version', c.catalogue_version),
        'due_on', c.due_on,
        'copies', coalesce((SELECT json_agg(json_build_object(
                'recipient', pc.recipient, 'reason', pc.reason, 'clauses', pc.clauses,
                'paper_only', pc.paper_only, 'due_on', pc.due_on, 'state', pc.state,
                'overdue', pc.state = 'PENDING' AND pc.due_on < gw_vn_today(),
                'dispatched_at', pc.dispatched_at, 'dispatched_by', pc.dispatched_by,
                'reference', pc.reference, 'recorded_by', pc.recorded_by) ORDER BY pc.id)
              FROM paper_copy pc WHERE pc.package_id = c.package_id), '[]'))
      FROM paper_check c WHERE c.package_id = p_package;
$$;

CREATE VIEW v_paper_copy_pending AS
    SELECT pc.id AS copy_id, pc.package_id, p.direction, p.document_id, p.sender, pc.recipient,
           pc.reason, pc.clauses, pc.paper_only, pc.due_on,
           pc.due_on < gw_vn_today() AS overdue,
           greatest(gw_vn_today() - pc.due_on, 0) AS days_overdue, pc.created_at
      FROM paper_copy pc JOIN package p ON p.id = pc.package_id
     WHERE pc.state = 'PENDING';

-- Counts for /metrics: copies pending and overdue.
CREATE FUNCTION gw_paper_counts(OUT pending bigint, OUT overdue bigint) LANGUAGE sql STABLE AS $$
    SELECT count(*), count(*) FILTER (WHERE due_on < gw_vn_today())
      FROM paper_copy WHERE state = 'PENDING';
$$;
