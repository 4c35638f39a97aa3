-- Fewer statements, row versions and index entries in the transaction that stores an outgoing
-- package (docs/internals/database.md "Submit cost"). Answers are unchanged: same functions,
-- arguments, rows, events and trail.
-- 1. gw_event (001) in plpgsql: an SQL-language function that is not inlined (an INSERT) is
--    parsed and planned again on every call; a plpgsql one keeps its plan per connection.
-- 2. The routing (005's gw_route_package) works from values instead of reading the package row
--    back (no to_jsonb of the whole row, no row lock on a row the transaction has just
--    inserted), chooses every recipient's route in one statement, and writes the timelines of an
--    original document in one upsert. The deliveries of a package behind a closed signature
--    gate are inserted not due (next_attempt_at 'infinity') instead of being inserted due and
--    updated by gw_verify_gate (one row version and five index entries less per delivery).
-- 3. gw_submit_staged does the submission and its stages in one function: the gate row, the
--    paper classification from values (gw_paper_rows), and gw_timeline_note only for the
--    packages it concerns (a status, an edoc of BussinessDocType 1..3).
-- 4. event.seq (001's chain, set only on events sealed before 013) keeps its uniqueness through
--    a partial index: the events 013 seals by appending no longer get an index entry for it.
-- 5. The functions gatewayd calls once or more per document run with generic plans
--    (plan_cache_mode = force_generic_plan, a SET clause, so the statements nested in them too).
--    Under the default a plpgsql statement whose generic plan looks dearer than a custom one is
--    planned again on every call: about a sixth of PostgreSQL's CPU per document under load
--    (perf). Every query there is an index lookup by key, or an index walk the claims already pin
--    with their enable_seqscan/enable_bitmapscan clauses. One lookup compares a parameter where a
--    partial index predicate names a constant (a duplicate submission's row, by kind): its generic
--    plan takes the document_id index instead, still one key. A later migration that replaces
--    one of these functions repeats the clause.

-- 1.
CREATE OR REPLACE FUNCTION gw_event(p_package bigint, p_kind text, p_actor text, p_detail jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event (package_id, kind, actor, detail)
        VALUES (p_package, p_kind, p_actor, p_detail);
END $$;

-- 2. The routing of 005 from the package's values. p_gated: the deliveries are created not due
-- (the package waits for its signature check). Same rules, rows, state and event as 005.
CREATE FUNCTION gw_route_rows(p_package bigint, p_kind text, p_bdt smallint, p_document_id text,
                              p_recipients text[], p_header jsonb, p_axes text[],
                              p_roles text[], p_default text, p_gated boolean)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_synced   boolean;
    v_n        integer;
    v_reason   text;
    v_national text;
    v_missing  text;
BEGIN
    IF coalesce(array_length(p_axes, 1), 0) <> coalesce(array_length(p_roles, 1), 0) THEN
        RAISE EXCEPTION 'gw_route_package: p_axes and p_roles differ in length'
            USING ERRCODE = '22023';
    END IF;
    v_synced := coalesce(array_length(p_axes, 1), 0) > 0
                AND NOT EXISTS (SELECT 1 FROM unnest(p_axes) a(axis)
                                 WHERE NOT EXISTS (SELECT 1 FROM directory_sync s
                                                    WHERE s.axis = a.axis
                                                      AND s.last_success_at IS NOT NULL));
    -- Before every directory is known a recipient no directory lists needs the default axis.
    IF NOT v_synced AND p_default IS NULL THEN
        SELECT x.rcpt INTO v_missing
          FROM unnest(p_recipients) WITH ORDINALITY AS x(rcpt, n)
         WHERE gw_orgid_key(x.rcpt) IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM unnest(p_axes) a(axis)
                            WHERE EXISTS (SELECT 1 FROM agency g
                                           WHERE g.axis = a.axis
                                             AND g.code_key = gw_orgid_key(x.rcpt))
                               OR EXISTS (SELECT 1 FROM agency g
                                           WHERE g.axis = a.axis
                                             AND g.code102_key = gw_orgid_key(x.rcpt)))
         ORDER BY gw_orgid_key(x.rcpt), x.n
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'gw_route_package: no default axis for %', v_missing
                USING ERRCODE = '22004';
        END IF;
    END IF;
    -- Each distinct recipient (first spelling of its key): the first provincial axis whose
    -- directory lists it, else the first national one, else none or the default.
    INSERT INTO package_route (package_id, recipient, recipient_key, ord, route, axis, state)
        SELECT p_package, r.rcpt, r.k, r.n,
               CASE WHEN d.axis IS NOT NULL THEN 'directory'
                    WHEN v_synced THEN 'none' ELSE 'default' END,
               CASE WHEN d.axis IS NOT NULL THEN d.axis
                    WHEN v_synced THEN NULL ELSE p_default END,
               CASE WHEN d.axis IS NULL AND v_synced THEN 'NO_ELECTRONIC_MEANS'
                    ELSE 'ROUTED' END
          FROM (SELECT DISTINCT ON (x.k) x.rcpt, x.k, x.n
                  FROM (SELECT u.rcpt, gw_orgid_key(u.rcpt) AS k, u.n
                          FROM unnest(p_recipients) WITH ORDINALITY AS u(rcpt, n)) x
                 WHERE x.k IS NOT NULL
                 ORDER BY x.k, x.n) r
          LEFT JOIN LATERAL (
              SELECT a.axis
                FROM unnest(p_axes, p_roles) WITH ORDINALITY AS a(axis, role, n)
               WHERE EXISTS (SELECT 1 FROM agency g WHERE g.axis = a.axis AND g.code_key = r.k)
                  OR EXISTS (SELECT 1 FROM agency g
                              WHERE g.axis = a.axis AND g.code102_key = r.k)
               ORDER BY (a.role = 'provincial') DESC, a.n
               LIMIT 1) d ON true
        ON CONFLICT (package_id, recipient_key) DO NOTHING;

    -- A package that cannot be edited goes out unchanged (005).
    v_reason := CASE WHEN p_header -> 'relay' ->> 'editable' = 'false'
                     THEN coalesce(p_header -> 'relay' ->> 'not_editable', 'other') END;
    IF v_reason IS NOT NULL THEN
        SELECT a.axis INTO v_national
          FROM unnest(p_axes, p_roles) WITH ORDINALITY AS a(axis, role, n)
         WHERE a.role = 'national' ORDER BY a.n LIMIT 1;
        IF v_national IS NOT NULL
           AND (SELECT count(DISTINCT pr.axis) FROM package_route pr
                 WHERE pr.package_id = p_package AND pr.axis IS NOT NULL) > 1 THEN
            UPDATE package_route pr SET axis = v_national, unchanged_reason = v_reason
             WHERE pr.package_id = p_package AND pr.axis IS NOT NULL;
            PERFORM gw_event(p_package, 'routed_unchanged', 'gateway',
                             jsonb_build_object('reason', v_reason, 'axis', v_national));
        END IF;
    END IF;

    INSERT INTO delivery (package_id, axis, recipients, state, next_attempt_at)
        SELECT p_package, pr.axis, array_agg(pr.recipient ORDER BY pr.ord), 'QUEUED',
               CASE WHEN p_gated THEN 'infinity'::timestamptz ELSE now() END
          FROM package_route pr WHERE pr.package_id = p_package AND pr.axis IS NOT NULL
         GROUP BY pr.axis
    ON CONFLICT (package_id, axis) DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;

    -- An original document: its timelines start with the route chosen for each recipient (the
    -- row is created when missing; one already bound to another package is left alone).
    IF p_kind = 'edoc' AND p_bdt = 0 THEN
        INSERT INTO recipient_status AS rs (document_id, recipient, package_id, route, axis,
                                            route_state, routed_at)
            SELECT gw_docid_norm(p_document_id), pr.recipient_key, p_package, pr.route, pr.axis,
                   pr.state, pr.routed_at
              FROM package_route pr WHERE pr.package_id = p_package
        ON CONFLICT (document_id, recipient) DO UPDATE
           SET package_id = coalesce(rs.package_id, p_package), route = excluded.route,
               axis = excluded.axis, route_state = excluded.route_state,
               routed_at = excluded.routed_at, updated_at = now()
         WHERE rs.package_id IS NULL OR rs.package_id = p_package;
    END IF;

    IF v_n = 0 AND NOT EXISTS (SELECT 1 FROM delivery WHERE package_id = p_package) THEN
        UPDATE package SET state = 'NO_ELECTRONIC_MEANS', updated_at = now() WHERE id = p_package;
    END IF;
    PERFORM gw_event(p_package, 'routed', 'gateway',
                     jsonb_build_object(
                         'directories_synced', v_synced,
                         'unchanged', v_reason,
                         'deliveries', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                           'axis', d.axis, 'recipients', to_jsonb(d.recipients))
                                           ORDER BY d.id)
                                      FROM delivery d WHERE d.package_id = p_package), '[]'),
                         'no_electronic_means', r.nem, 'default', r.dflt))
      FROM (SELECT coalesce(jsonb_agg(pr.recipient ORDER BY pr.ord)
                                FILTER (WHERE pr.route = 'none'), '[]') AS nem,
                   coalesce(jsonb_agg(pr.recipient ORDER BY pr.ord)
                                FILTER (WHERE pr.route = 'default'), '[]') AS dflt
              FROM package_route pr WHERE pr.package_id = p_package) r;
    RETURN v_n;
END $$;

-- 005's entry point, for a package already stored: its row locked and read, then the above. Its
-- deliveries are not due while its signature check has not opened the gate.
CREATE OR REPLACE FUNCTION gw_route_package(p_package bigint, p_axes text[], p_roles text[],
                                            p_default text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    SELECT kind, business_doc_type, document_id, recipients, header INTO p
      FROM package WHERE id = p_package FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'gw_route_package: no package %', p_package USING ERRCODE = '22023';
    END IF;
    RETURN gw_route_rows(p_package, p.kind, p.business_doc_type, p.document_id, p.recipients,
                         p.header, p_axes, p_roles, p_default,
                         EXISTS (SELECT 1 FROM package_check c
                                  WHERE c.package_id = p_package AND c.gate <> 'open'));
END $$;

-- 3. The paper classification c (010) of a package of kind p_kind to p_recipients.
CREATE FUNCTION gw_paper_rows(p_package bigint, p_kind text, p_recipients text[], c jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_due      date;
    v_means    date;
    v_required boolean;
    v_tracked  boolean;
    v_copies   bigint;
BEGIN
    IF p_kind <> 'edoc' OR c IS NULL OR jsonb_typeof(c) <> 'object' THEN
        RETURN;
    END IF;
    v_due := (c ->> 'due_on')::date;
    v_means := (c ->> 'due_no_means')::date;
    v_required := (c ->> 'required')::boolean;
    v_tracked := (c ->> 'tracked')::boolean;
    INSERT INTO paper_check (package_id, judged_on, catalogue_digest, catalogue_version, required,
                             tracked, clauses, declared, internal, declaration, mismatch, hits,
                             due_on)
        VALUES (p_package, (c ->> 'date')::date, c -> 'catalogue' ->> 'digest',
                c -> 'catalogue' ->> 'version', v_required, v_tracked,
                ARRAY(SELECT x::smallint FROM jsonb_array_elements_text(c -> 'clauses') x),
                (c -> 'paper' ->> 'declared')::smallint, (c -> 'paper' ->> 'internal')::boolean,
                (c -> 'paper' ->> 'declaration')::boolean, (c -> 'paper' ->> 'mismatch')::boolean,
                coalesce(c -> 'hits', '[]'), v_due);
    -- Clause 1 concerns the recipients that are the Government; the other clauses, and a
    -- declaration, every recipient.
    IF v_tracked THEN
        INSERT INTO paper_copy (package_id, recipient, reason, clauses, due_on)
            SELECT p_package, r.rcpt, CASE WHEN v_required THEN 'required' ELSE 'declared' END,
                   ARRAY(SELECT DISTINCT (h ->> 'clause')::smallint
                           FROM jsonb_array_elements(c -> 'hits') h
                          WHERE (h ->> 'clause')::smallint <> 1
                             OR gw_orgid_key(h ->> 'organ_id') = gw_orgid_key(r.rcpt)
                          ORDER BY 1),
                   v_due
              FROM unnest(p_recipients) AS r(rcpt)
             WHERE r.rcpt IS NOT NULL
               AND (NOT v_required
                    OR EXISTS (SELECT 1 FROM jsonb_array_elements(c -> 'hits') h
                                WHERE (h ->> 'clause')::smallint <> 1
                                   OR gw_orgid_key(h ->> 'organ_id') = gw_orgid_key(r.rcpt)))
            ON CONFLICT (package_id, recipient) DO NOTHING;
    END IF;
    -- Art. 10.3a: a recipient no axis serves gets its document on paper only.
    INSERT INTO paper_copy (package_id, recipient, reason, paper_only, due_on)
        SELECT p_package, pr.recipient, 'no_electronic_means', true,
               coalesce(v_means, v_due, gw_vn_today())
          FROM package_route pr
         WHERE pr.package_id = p_package AND pr.state = 'NO_ELECTRONIC_MEANS'
        ON CONFLICT (package_id, recipient) DO UPDATE SET paper_only = true,
            due_on = least(paper_copy.due_on, excluded.due_on);
    -- The trail names the documents that expect paper (every classification is in paper_check).
    SELECT count(*) INTO v_copies FROM paper_copy pc WHERE pc.package_id = p_package;
    IF NOT v_tracked AND NOT (c -> 'paper' ->> 'mismatch')::boolean AND v_copies = 0 THEN
        RETURN;
    END IF;
    PERFORM gw_event(p_package, 'paper_classified', 'gateway',
                     jsonb_build_object('required', v_required, 'tracked', v_tracked,
                                        'clauses', c -> 'clauses',
                                        'rules', (SELECT coalesce(jsonb_agg(DISTINCT h ->> 'rule'),
                                                                  '[]')
                                                    FROM jsonb_array_elements(c -> 'hits') h),
                                        'catalogue', c -> 'catalogue' ->> 'digest',
                                        'due_on', v_due,
                                        'mismatch', (c -> 'paper' ->> 'mismatch')::boolean,
                                        'copies', v_copies));
END $$;

-- 010's entry point for a stored package (the incoming store): its kind and recipients read.
CREATE OR REPLACE FUNCTION gw_paper_stage(p_package bigint, c jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    SELECT kind, recipients INTO p FROM package WHERE id = p_package;
    IF FOUND THEN
        PERFORM gw_paper_rows(p_package, p.kind, p.recipients, c);
    END IF;
END $$;

-- gw_submit (014) with the stages of gw_submit_staged (010) in one function. The stages of an
-- outgoing package are those of gw_package_stages (008): a stage added there is added here too.
CREATE OR REPLACE FUNCTION gw_submit_staged(p_source text, p_kind text, p_document_id text,
                                            p_sender text, p_recipients text[],
                                            p_status_code text, p_bdt smallint, p_sha256 bytea,
                                            p_body bigint, p_size bigint, p_doc jsonb,
                                            p_axis text, OUT package_id bigint,
                                            OUT outcome text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_doc   jsonb := p_doc - 'paper_check';
    v_sha   bytea;
    v_axes  text[];
    v_roles text[];
BEGIN
    IF p_sender IS NULL THEN
        RAISE EXCEPTION 'gw_submit: sender is required' USING ERRCODE = '22004';
    END IF;
    INSERT INTO package (direction, kind, document_id, sender, recipients, status_code,
                         business_doc_type, source, sha256, size, state, header, body_id)
        VALUES ('out', p_kind, p_document_id, p_sender, p_recipients, p_status_code, p_bdt,
                p_source, p_sha256, p_size, 'ROUTED', v_doc,
                (SELECT b.id FROM body b WHERE b.id = p_body AND NOT b.complete))
        ON CONFLICT DO NOTHING
        RETURNING id INTO package_id;
    IF package_id IS NULL THEN
        SELECT p.id, p.sha256 INTO package_id, v_sha FROM package p
         WHERE p.direction = 'out' AND p.kind = p_kind AND p.sender = p_sender
           AND p.document_id = p_document_id
           AND (CASE WHEN p_kind = 'edoc' THEN p.business_doc_type = p_bdt
                     ELSE p.sha256 = p_sha256 END);
        outcome := CASE WHEN v_sha = p_sha256 THEN 'duplicate' ELSE 'conflict' END;
        PERFORM gw_body_discard(p_body);
        RETURN;
    END IF;
    PERFORM gw_body_seal(p_body, p_size);
    PERFORM gw_package_detail(package_id, v_doc);
    PERFORM gw_event(package_id, 'received', p_source,
                     jsonb_build_object('document_id', p_document_id, 'kind', p_kind,
                                        'sender', p_sender, 'size', p_size,
                                        'sha256', encode(p_sha256, 'hex')));
    SELECT coalesce(array_agg(s.axis ORDER BY s.ord), '{}'),
           coalesce(array_agg(s.role ORDER BY s.ord), '{}')
      INTO v_axes, v_roles FROM directory_sync s WHERE s.configured;
    -- An edoc waits for its signature check: its deliveries are made not due and its gate row
    -- is added (gw_verify_gate for an outgoing package).
    PERFORM gw_route_rows(package_id, p_kind, p_bdt, p_document_id, p_recipients, v_doc, v_axes,
                          v_roles, p_axis, p_kind = 'edoc');
    IF p_kind = 'status' OR p_bdt IN (1, 2, 3) THEN
        PERFORM gw_timeline_note(package_id);
    END IF;
    IF p_kind = 'edoc' THEN
        INSERT INTO package_check (package_id, direction) VALUES (package_id, 'out')
            ON CONFLICT DO NOTHING;
    END IF;
    PERFORM gw_paper_rows(package_id, p_kind, p_recipients, p_doc -> 'paper_check');
    outcome := 'created';
END $$;

-- 4.
CREATE UNIQUE INDEX event_seq_sealed_key ON event (seq) WHERE seq IS NOT NULL;
ALTER TABLE event DROP CONSTRAINT event_seq_key;

-- 5. (gw_submit_staged above has the clause in its definition.)
ALTER FUNCTION gw_incoming_store_staged SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION gw_check_claim SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION gw_check_done SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION gw_claim_copies SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION gw_deliveries_sent_copy SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION gw_delivery_failed SET plan_cache_mode = force_generic_plan;
