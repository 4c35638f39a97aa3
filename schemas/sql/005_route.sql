-- Routing by the axes' agency directories (domain.md §2 "Relaying across two axes", §4, §5),
-- recipients without electronic means (seed regulation Art. 10.3a), and one status timeline per
-- (original DocumentId, recipient) with the business statuses 01..16 and recall/update/replace.
-- docs/internals/axes.md ("Directories and routing") describes the rules.
--
-- 1. directory_sync: the axes the gateway routes over (registered from the configuration at
--    start: role, order, whether the adapter has a directory call) and each one's last sync.
-- 2. agency: the directory rows of each axis, from getAgenciesList (list 'qcvn102') and
--    getAgenciesListQD20 (list 'qd20', which pairs the QĐ 20 code with the QCVN 102 one).
-- 3. package_route: the route chosen for every recipient of every outgoing package: an axis by
--    its directory, the default axis (directories not all synced yet), or no electronic means.
-- 4. recipient_status + recipient_status_event: the timelines.
-- gw_submit and gw_incoming_store (004/003) are replaced by versions that call gw_route_package
-- and gw_timeline_note; their signatures do not change.

-- Identifier forms ------------------------------------------------------------------------------

-- The lenient routing form of an organisation id (edxml_orgid.h gw_orgid_lenient): surrounding
-- white space trimmed, ASCII letters upper-cased; NULL for an empty id or the text "null".
CREATE FUNCTION gw_orgid_key(p_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN k = '' OR k = 'NULL' THEN NULL ELSE k END
      FROM (SELECT translate(btrim(p_id, E' \t\r\n'), 'abcdefghijklmnopqrstuvwxyz',
                             'ABCDEFGHIJKLMNOPQRSTUVWXYZ') AS k) s;
$$;

-- A DocumentId with the dates inside written yyyy-MM-dd normalised to yyyy/MM/dd (some senders
-- write ResponseFor/DocumentId that way), surrounding white space trimmed. Timelines are keyed on
-- this form.
CREATE FUNCTION gw_docid_norm(p_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(btrim(p_id, E' \t\r\n'), '(^|[^0-9])([0-9]{4})-([0-9]{2})-([0-9]{2})(?![0-9])',
                          '\1\2/\3/\4', 'g');
$$;

-- Directories -----------------------------------------------------------------------------------

CREATE TABLE directory_sync (
    axis            text PRIMARY KEY,
    role            text NOT NULL CHECK (role IN ('national', 'provincial')),
    ord             integer NOT NULL,          -- configuration order (ties between same roles)
    configured      boolean NOT NULL,          -- in the current configuration: routed over
    enabled         boolean NOT NULL,          -- enabled there: synced (a disabled axis keeps
                                               -- its directory and holds its deliveries)
    has_directory   boolean NOT NULL,          -- the adapter has a directory call
    last_attempt_at timestamptz,
    last_success_at timestamptz,               -- NULL: never synced (routing uses the default)
    last_error      text,                      -- of the last failed attempt (cleared on success)
    qd20_error      text,                      -- the QĐ 20 list failed while the QCVN 102 one did not
    failures        integer NOT NULL DEFAULT 0, -- failed attempts since the last success
    agencies        integer NOT NULL DEFAULT 0, -- rows of the QCVN 102 list
    agencies_qd20   integer NOT NULL DEFAULT 0, -- rows of the QĐ 20 list
    pairs           integer NOT NULL DEFAULT 0, -- QĐ 20 codes paired with a QCVN 102 code
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agency (
    axis          text NOT NULL,
    list          text NOT NULL CHECK (list IN ('qcvn102', 'qd20')),
    code_key      text NOT NULL,               -- gw_orgid_key(code)
    code          text NOT NULL,               -- as listed: QCVN 102 (list qcvn102) or QĐ 20 form
    code102       text,                        -- qd20 list: the QCVN 102 code of the same agency
    code102_key   text,
    agency_id     text,                        -- the axis's own row id
    name          text,
    parent        text,                        -- pid
    mail          text,
    old_code      text,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    seen_at       timestamptz NOT NULL DEFAULT now(), -- last sync that listed it
    PRIMARY KEY (axis, list, code_key)
);
CREATE INDEX agency_code_idx ON agency (code_key, axis);
CREATE INDEX agency_code102_idx ON agency (code102_key, axis) WHERE code102_key IS NOT NULL;

-- QĐ 20 ↔ QCVN 102 pairs learned from the QĐ 20 lists.
CREATE VIEW v_agency_pair AS
    SELECT DISTINCT axis, code AS qd20, code102 AS qcvn102, name
      FROM agency WHERE list = 'qd20' AND code102_key IS NOT NULL;

-- Registers the axes to route over: every configured axis, in configuration order (p_roles
-- 'national'|'provincial', p_has_dir whether the adapter can list agencies, p_enabled whether it
-- is enabled). Axes no longer configured are no longer routed over; their rows and directories
-- are kept.
CREATE FUNCTION gw_directory_axes_set(p_axes text[], p_roles text[], p_has_dir boolean[],
                                      p_enabled boolean[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_sync SET configured = false, enabled = false, updated_at = now()
     WHERE NOT (axis = ANY (p_axes)) AND configured;
    INSERT INTO directory_sync AS s (axis, role, ord, configured, enabled, has_directory)
        SELECT a.axis, a.role, a.n, true, a.enabled, a.has_dir
          FROM unnest(p_axes, p_roles, p_has_dir, p_enabled) WITH ORDINALITY
               AS a(axis, role, has_dir, enabled, n)
    ON CONFLICT (axis) DO UPDATE
        SET role = excluded.role, ord = excluded.ord, configured = true,
            enabled = excluded.enabled, has_directory = excluded.has_directory,
            updated_at = now();
END $$;

-- Replaces the lists p_lists ('qcvn102', 'qd20') of an axis's directory with p_rows in one
-- transaction and records the success. p_rows is a JSON array of {list, code, code102, id, name,
-- pid, mail, oldCode}; rows without a usable code are skipped, a code listed twice keeps its
-- first row. Lists not in p_lists are kept as they were (p_qd20_error says why the QĐ 20 list
-- was not replaced, NULL when it was). Returns the counts now stored.
CREATE FUNCTION gw_directory_replace(p_axis text, p_lists text[], p_rows jsonb, p_qd20_error text,
                                     OUT agencies integer, OUT agencies_qd20 integer,
                                     OUT pairs integer)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM directory_sync WHERE axis = p_axis) THEN
        RAISE EXCEPTION 'gw_directory_replace: axis % is not registered', p_axis
            USING ERRCODE = '22023';
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS gw_agency_in (LIKE agency INCLUDING DEFAULTS) ON COMMIT DROP;
    DELETE FROM gw_agency_in;
    INSERT INTO gw_agency_in (axis, list, code_key, code, code102, code102_key, agency_id, name,
                              parent, mail, old_code)
        SELECT DISTINCT ON (r.list, gw_orgid_key(r.code))
               p_axis, r.list, gw_orgid_key(r.code), btrim(r.code), nullif(btrim(r.code102), ''),
               gw_orgid_key(r.code102), r.id, r.name, r.pid, r.mail, nullif(btrim(r."oldCode"), '')
          FROM ROWS FROM (jsonb_to_recordset(p_rows)
                          AS (list text, code text, code102 text, id text, name text, pid text,
                              mail text, "oldCode" text)) WITH ORDINALITY
               AS r(list, code, code102, id, name, pid, mail, "oldCode", n)
         WHERE r.list = ANY (p_lists) AND gw_orgid_key(r.code) IS NOT NULL
         ORDER BY r.list, gw_orgid_key(r.code), n;
    DELETE FROM agency g
     WHERE g.axis = p_axis AND g.list = ANY (p_lists)
       AND NOT EXISTS (SELECT 1 FROM gw_agency_in i
                        WHERE i.list = g.list AND i.code_key = g.code_key);
    INSERT INTO agency AS g (axis, list, code_key, code, code102, code102_key, agency_id, name,
                             parent, mail, old_code)
        SELECT axis, list, code_key, code, code102, code102_key, agency_id, name, parent, mail,
               old_code FROM gw_agency_in
    ON CONFLICT (axis, list, code_key) DO UPDATE
        SET code = excluded.code, code102 = excluded.code102, code102_key = excluded.code102_key,
            agency_id = excluded.agency_id, name = excluded.name, parent = excluded.parent,
            mail = excluded.mail, old_code = excluded.old_code, seen_at = now();
    DROP TABLE gw_agency_in;
    SELECT count(*) FILTER (WHERE list = 'qcvn102'), count(*) FILTER (WHERE list = 'qd20'),
           count(*) FILTER (WHERE list = 'qd20' AND code102_key IS NOT NULL)
      INTO agencies, agencies_qd20, pairs
      FROM agency WHERE axis = p_axis;
    UPDATE directory_sync s
       SET last_attempt_at = now(), last_success_at = now(), last_error = NULL,
           qd20_error = left(p_qd20_error, 1000), failures = 0, agencies = gw_directory_replace.agencies,
           agencies_qd20 = gw_directory_replace.agencies_qd20, pairs = gw_directory_replace.pairs,
           updated_at = now()
     WHERE s.axis = p_axis;
END $$;

-- A failed sync attempt: the directory in place stays (and still counts as synced if it ever
-- was). Returns the failures since the last success.
CREATE FUNCTION gw_directory_failed(p_axis text, p_error text) RETURNS integer
LANGUAGE sql AS $$
    UPDATE directory_sync SET last_attempt_at = now(), last_error = left(p_error, 1000),
           failures = least(failures, 2147483646) + 1, updated_at = now()
     WHERE axis = p_axis
    RETURNING failures;
$$;

-- Sync state of the registered axes (for the engine's gauges and /readyz).
CREATE VIEW v_directory AS
    SELECT axis, role, ord, configured, enabled, has_directory, last_attempt_at, last_success_at,
           CASE WHEN last_success_at IS NULL THEN NULL
                ELSE floor(extract(epoch FROM now() - last_success_at))::bigint END AS age_s,
           agencies, agencies_qd20, pairs, failures, last_error, qd20_error
      FROM directory_sync;

-- Routes ----------------------------------------------------------------------------------------

-- The route of each recipient of each outgoing package. route: 'directory' (an axis's
-- directory lists it), 'default' (not listed, and some directory has not been synced yet: the
-- default axis), 'none' (listed by no directory once all were synced: no electronic means, no
-- delivery, state NO_ELECTRONIC_MEANS until an operator sees to a paper copy).
CREATE TABLE package_route (
    package_id    bigint NOT NULL REFERENCES package (id),
    recipient     text NOT NULL,               -- as in To (or ResponseFor/OrganId)
    recipient_key text NOT NULL,               -- gw_orgid_key(recipient)
    ord           integer NOT NULL,
    route         text NOT NULL CHECK (route IN ('directory', 'default', 'none')),
    axis          text,                        -- NULL exactly for route 'none'
    state         text NOT NULL CHECK (state IN ('ROUTED', 'NO_ELECTRONIC_MEANS')),
    routed_at     timestamptz NOT NULL DEFAULT now(),
    unchanged_reason text,                     -- why the package went out unchanged (not editable)
    PRIMARY KEY (package_id, recipient_key),
    CHECK ((route = 'none') = (axis IS NULL))
);
CREATE INDEX package_route_nem_idx ON package_route (routed_at) WHERE state = 'NO_ELECTRONIC_MEANS';

-- Timelines -------------------------------------------------------------------------------------

-- One timeline per (original DocumentId, recipient): for an outgoing document the route chosen
-- when it was routed, then every status and business event about it, in both directions.
CREATE TABLE recipient_status (
    id            bigserial PRIMARY KEY,
    document_id   text NOT NULL,               -- gw_docid_norm of the original DocumentId
    recipient     text NOT NULL,               -- gw_orgid_key
    package_id    bigint REFERENCES package (id), -- the original package, when the gateway has it
    route         text CHECK (route IN ('directory', 'default', 'none')),
    axis          text,
    route_state   text CHECK (route_state IN ('ROUTED', 'NO_ELECTRONIC_MEANS')),
    routed_at     timestamptz,
    last_code     text,                        -- last status code (01..16) seen
    last_event    text,                        -- kind of the last event
    last_event_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, recipient)
);

CREATE TABLE recipient_status_event (
    id          bigserial PRIMARY KEY,
    timeline_id bigint NOT NULL REFERENCES recipient_status (id),
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CHECK (kind IN ('status', 'revoke', 'update', 'replace')),
    code        text,                          -- status code; NULL for business events
    package_id  bigint NOT NULL REFERENCES package (id),
    direction   text NOT NULL CHECK (direction IN ('out', 'in')),
    description text,                          -- status Description or BussinessDocReason
    UNIQUE (timeline_id, package_id, kind)
);
CREATE INDEX recipient_status_event_timeline_idx ON recipient_status_event (timeline_id, id);

-- The timeline row of (document, recipient), created when missing; returns its id.
CREATE FUNCTION gw_timeline_get(p_document_id text, p_recipient text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO recipient_status (document_id, recipient) VALUES (p_document_id, p_recipient)
        ON CONFLICT (document_id, recipient) DO NOTHING RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        SELECT id INTO v_id FROM recipient_status
         WHERE document_id = p_document_id AND recipient = p_recipient;
    END IF;
    RETURN v_id;
END $$;

-- Splits an outgoing package's recipients over the axes p_axes (configuration order, roles in
-- p_roles): a recipient listed in a provincial axis's directory (QCVN 102 or QĐ 20 code, lenient
-- form) goes to that axis even when a national directory lists it too; else to a national axis
-- that lists it; else, once every axis in p_axes has been synced at least once (a disabled axis
-- too: its directory still routes, its deliveries wait), it has no electronic means (no
-- delivery); before that, to p_default. One QUEUED delivery per axis with only its recipients. A
-- status package is routed the same way to its one recipient (ResponseFor/OrganId). An original
-- edoc (BussinessDocType 0) also gets its timelines with the route chosen. A package that cannot
-- be edited (package.header's relay landmarks, 006) goes out unchanged, to the national axis alone
-- when its recipients span more than one axis (reason in package_route.unchanged_reason and an
-- event `routed_unchanged`). Returns the number of deliveries created. Sets the package to
-- NO_ELECTRONIC_MEANS when no recipient has a delivery.
CREATE FUNCTION gw_route_package(p_package bigint, p_axes text[], p_roles text[], p_default text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    p          package;
    r          record;
    v_synced   boolean;
    v_axis     text;
    v_route    text;
    v_n        integer;
    v_doc      text;
    v_timeline bigint;
    v_reason   text;
    v_national text;
BEGIN
    SELECT * INTO p FROM package WHERE id = p_package FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'gw_route_package: no package %', p_package USING ERRCODE = '22023';
    END IF;
    IF coalesce(array_length(p_axes, 1), 0) <> coalesce(array_length(p_roles, 1), 0) THEN
        RAISE EXCEPTION 'gw_route_package: p_axes and p_roles differ in length'
            USING ERRCODE = '22023';
    END IF;
    v_synced := coalesce(array_length(p_axes, 1), 0) > 0
                AND NOT EXISTS (SELECT 1 FROM unnest(p_axes) a(axis)
                                 WHERE NOT EXISTS (SELECT 1 FROM directory_sync s
                                                    WHERE s.axis = a.axis
                                                      AND s.last_success_at IS NOT NULL));
    FOR r IN SELECT DISTINCT ON (gw_orgid_key(x.rcpt)) x.rcpt, gw_orgid_key(x.rcpt) AS k, x.n
               FROM unnest(p.recipients) WITH ORDINALITY AS x(rcpt, n)
              WHERE gw_orgid_key(x.rcpt) IS NOT NULL
              ORDER BY gw_orgid_key(x.rcpt), x.n
    LOOP
        SELECT a.axis INTO v_axis
          FROM unnest(p_axes, p_roles) WITH ORDINALITY AS a(axis, role, n)
         WHERE EXISTS (SELECT 1 FROM agency g WHERE g.axis = a.axis AND g.code_key = r.k)
            OR EXISTS (SELECT 1 FROM agency g WHERE g.axis = a.axis AND g.code102_key = r.k)
         ORDER BY (a.role = 'provincial') DESC, a.n
         LIMIT 1;
        IF v_axis IS NOT NULL THEN
            v_route := 'directory';
        ELSIF v_synced THEN
            v_route := 'none';
        ELSIF p_default IS NOT NULL THEN
            v_route := 'default';
            v_axis := p_default;
        ELSE
            RAISE EXCEPTION 'gw_route_package: no default axis for %', r.rcpt
                USING ERRCODE = '22004';
        END IF;
        INSERT INTO package_route (package_id, recipient, recipient_key, ord, route, axis, state)
            VALUES (p_package, r.rcpt, r.k, r.n, v_route, v_axis,
                    CASE WHEN v_route = 'none' THEN 'NO_ELECTRONIC_MEANS' ELSE 'ROUTED' END)
        ON CONFLICT (package_id, recipient_key) DO NOTHING;
    END LOOP;

    -- A package that cannot be edited (a real XML-DSig, a non-UTF-8 encoding, no landmarks)
    -- goes out unchanged: no per-axis copy can leave a To out, so when its recipients span more
    -- than one axis it goes to the national axis alone with every recipient.
    -- (package.header comes with 006: read through to_jsonb(p), as gw_timeline_note does.)
    v_reason := CASE WHEN to_jsonb(p)->'header'->'relay'->>'editable' = 'false'
                     THEN coalesce(to_jsonb(p)->'header'->'relay'->>'not_editable', 'other') END;
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

    INSERT INTO delivery (package_id, axis, recipients, state)
        SELECT p_package, pr.axis, array_agg(pr.recipient ORDER BY pr.ord), 'QUEUED'
          FROM package_route pr WHERE pr.package_id = p_package AND pr.axis IS NOT NULL
         GROUP BY pr.axis
    ON CONFLICT (package_id, axis) DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;

    -- An original document: its timelines start with the route chosen for each recipient.
    IF p.kind = 'edoc' AND p.business_doc_type = 0 THEN
        v_doc := gw_docid_norm(p.document_id);
        FOR r IN SELECT * FROM package_route WHERE package_id = p_package ORDER BY ord LOOP
            v_timeline := gw_timeline_get(v_doc, r.recipient_key);
            UPDATE recipient_status
               SET package_id = coalesce(package_id, p_package), route = r.route, axis = r.axis,
                   route_state = r.state, routed_at = r.routed_at, updated_at = now()
             WHERE id = v_timeline AND (package_id IS NULL OR package_id = p_package);
        END LOOP;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM delivery WHERE package_id = p_package) THEN
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
                         'no_electronic_means', coalesce((SELECT jsonb_agg(pr.recipient ORDER BY pr.ord)
                                      FROM package_route pr
                                     WHERE pr.package_id = p_package AND pr.route = 'none'), '[]'),
                         'default', coalesce((SELECT jsonb_agg(pr.recipient ORDER BY pr.ord)
                                      FROM package_route pr
                                     WHERE pr.package_id = p_package AND pr.route = 'default'), '[]')));
    RETURN v_n;
END $$;

-- Adds a package's events to the timelines of the original document, in either direction:
--   status 01..06, 15, 16: timeline of (ResponseFor/DocumentId, From);
--   status 13:             timeline of (ResponseFor/DocumentId, ResponseFor/OrganId);
--   edoc BussinessDocType 1 (revoke): (MessageHeader/DocumentId, each To);
--                         2 (update): (Bussiness/DocumentId, each To);
--                         3 (replace): (each ReplacementInfo/DocumentId, its OrganIds or each To).
-- A type 1/2/3 edoc never starts a timeline of its own DocumentId. The parsed header, when the
-- package row carries one (a jsonb column `header` in the shape of edxml_json.h), supplies the
-- Bussiness ids, the reason and the status Description; without it an update or replace adds
-- nothing (its original is unknown). Idempotent; returns the number of events added.
CREATE FUNCTION gw_timeline_note(p_package bigint) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    p        package;
    v_hdr    jsonb;
    v_bus    jsonb;
    v_kind   text;
    v_desc   text;
    v_n      integer := 0;
    v_c      integer;
    v_tl     bigint;
    v_docs   text[];
    v_rcpts  text[];
    t        record;
BEGIN
    SELECT * INTO p FROM package WHERE id = p_package;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    v_hdr := to_jsonb(p) -> 'header';   -- present once the ingest migration stores it
    IF jsonb_typeof(v_hdr) IS DISTINCT FROM 'object' THEN
        v_hdr := NULL;
    END IF;
    v_bus := v_hdr -> 'business';
    IF jsonb_typeof(v_bus) IS DISTINCT FROM 'object' THEN
        v_bus := NULL;
    END IF;

    IF p.kind = 'status' THEN
        IF p.status_code IS NULL THEN
            RETURN 0;
        END IF;
        v_kind := 'status';
        v_desc := coalesce(v_hdr -> 'header' ->> 'status_description',
                           v_hdr -> 'header' ->> 'description', v_hdr ->> 'status_description');
        v_docs := ARRAY[gw_docid_norm(p.document_id)];
        v_rcpts := ARRAY[gw_orgid_key(CASE WHEN p.status_code = '13' THEN p.recipients[1]
                                           ELSE p.sender END)];
    ELSIF p.business_doc_type IN (1, 2, 3) THEN
        v_kind := CASE p.business_doc_type WHEN 1 THEN 'revoke' WHEN 2 THEN 'update'
                                           ELSE 'replace' END;
        v_desc := coalesce(v_bus ->> 'reason', v_bus ->> 'bussiness_doc_reason');
        IF p.business_doc_type = 3 AND jsonb_typeof(v_bus -> 'replacements') = 'array' THEN
            SELECT array_agg(gw_docid_norm(x.value ->> 'document_id')), array_agg(gw_orgid_key(o.id))
                  FROM jsonb_array_elements(v_bus -> 'replacements') x
                 CROSS JOIN LATERAL (
                     SELECT jsonb_array_elements_text(x.value -> 'organ_ids') AS id
                      WHERE jsonb_typeof(x.value -> 'organ_ids') = 'array'
                        AND jsonb_array_length(x.value -> 'organ_ids') > 0
                     UNION ALL
                     SELECT unnest(p.recipients)
                      WHERE jsonb_typeof(x.value -> 'organ_ids') IS DISTINCT FROM 'array'
                         OR jsonb_array_length(x.value -> 'organ_ids') = 0) o
                 WHERE nullif(btrim(x.value ->> 'document_id'), '') IS NOT NULL
                  INTO v_docs, v_rcpts;
        ELSIF p.business_doc_type = 1
              OR (p.business_doc_type = 2 AND nullif(btrim(v_bus ->> 'document_id'), '') IS NOT NULL) THEN
            SELECT array_agg(gw_docid_norm(CASE WHEN p.business_doc_type = 2
                                               THEN v_bus ->> 'document_id'
                                               ELSE p.document_id END)),
                   array_agg(gw_orgid_key(x)) INTO v_docs, v_rcpts FROM unnest(p.recipients) x;
        END IF;
        -- An update or replace whose original is not known (no parsed header, or no
        -- Bussiness/DocumentId or ReplacementInfo in it) adds nothing: it must not start
        -- timelines of its own DocumentId.
    ELSE
        RETURN 0;
    END IF;

    FOR t IN SELECT DISTINCT u.document_id, u.recipient
               FROM unnest(coalesce(v_docs, '{}'), coalesce(v_rcpts, '{}')) AS u(document_id, recipient)
              WHERE document_id IS NOT NULL AND document_id <> '' AND recipient IS NOT NULL
    LOOP
        v_tl := gw_timeline_get(t.document_id, t.recipient);
        INSERT INTO recipient_status_event (timeline_id, kind, code, package_id, direction,
                                            description)
            VALUES (v_tl, v_kind, CASE WHEN v_kind = 'status' THEN p.status_code END, p_package,
                    p.direction, left(v_desc, 2000))
        ON CONFLICT (timeline_id, package_id, kind) DO NOTHING;
        GET DIAGNOSTICS v_c = ROW_COUNT;
        IF v_c > 0 THEN
            v_n := v_n + 1;
            UPDATE recipient_status
               SET last_code = CASE WHEN v_kind = 'status' THEN p.status_code ELSE last_code END,
                   last_event = v_kind, last_event_at = now(), updated_at = now()
             WHERE id = v_tl;
        END IF;
    END LOOP;
    IF v_n > 0 THEN
        PERFORM gw_event(p_package, 'timeline', 'gateway',
                         jsonb_build_object('kind', v_kind, 'code', p.status_code, 'events', v_n));
    END IF;
    RETURN v_n;
END $$;

-- The timelines a package belongs to, as JSON for the API: those of its original document
-- (ResponseFor/DocumentId for a status, Bussiness ids for update/replace), limited to the
-- package's own recipients and sender. Each: recipient, route {route, axis, state, routed_at},
-- last_code, events [{at, kind, code, meaning, package_id, direction, description}].
CREATE FUNCTION gw_package_timelines(p_package bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    WITH p AS (SELECT * FROM package WHERE id = p_package),
    docs AS (
        SELECT gw_docid_norm(p.document_id) AS d FROM p
        UNION
        SELECT DISTINCT rs.document_id FROM recipient_status rs
          JOIN recipient_status_event e ON e.timeline_id = rs.id
         WHERE e.package_id = p_package
    ),
    who AS (
        SELECT gw_orgid_key(x) AS k FROM p, unnest(p.recipients) x
        UNION SELECT gw_orgid_key(p.sender) FROM p
    ),
    tl AS (
        SELECT rs.* FROM recipient_status rs
         WHERE rs.document_id IN (SELECT d FROM docs) AND rs.recipient IN (SELECT k FROM who)
    )
    SELECT coalesce(json_agg(json_build_object(
               'document_id', tl.document_id, 'recipient', tl.recipient,
               'package_id', tl.package_id,
               'route', CASE WHEN tl.route IS NULL THEN NULL
                             ELSE json_build_object('route', tl.route, 'axis', tl.axis,
                                                    'state', tl.route_state,
                                                    'routed_at', tl.routed_at) END,
               'last_code', tl.last_code,
               'events', coalesce((SELECT json_agg(json_build_object(
                              'at', e.at, 'kind', e.kind, 'code', e.code,
                              'package_id', e.package_id, 'direction', e.direction,
                              'description', e.description) ORDER BY e.id)
                             FROM recipient_status_event e WHERE e.timeline_id = tl.id), '[]'))
               ORDER BY tl.document_id, tl.id), '[]'::json)
      FROM tl;
$$;

-- The routing summary of a package for the API: routes per recipient and those without
-- electronic means.
CREATE FUNCTION gw_package_routes(p_package bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object('recipient', pr.recipient, 'route', pr.route,
                                               'axis', pr.axis, 'state', pr.state,
                                               'routed_at', pr.routed_at,
                                               'unchanged_reason', pr.unchanged_reason)
                             ORDER BY pr.ord),
                    '[]'::json)
      FROM package_route pr WHERE pr.package_id = p_package;
$$;

-- Dashboards ------------------------------------------------------------------------------------

CREATE VIEW v_recipient_status AS
    SELECT rs.id AS timeline_id, rs.document_id, rs.recipient, rs.package_id, rs.route, rs.axis,
           rs.route_state, rs.routed_at, rs.last_code, rs.last_event, rs.last_event_at,
           (SELECT count(*) FROM recipient_status_event e WHERE e.timeline_id = rs.id) AS events,
           rs.created_at, rs.updated_at
      FROM recipient_status rs;

CREATE VIEW v_no_electronic_means AS
    SELECT pr.package_id, p.document_id, p.kind, p.business_doc_type, p.sender, pr.recipient,
           pr.routed_at, p.state AS package_state
      FROM package_route pr JOIN package p ON p.id = pr.package_id
     WHERE pr.state = 'NO_ELECTRONIC_MEANS';

-- Submission and poll-store, now routed and noted --------------------------------------------
-- Same signatures and answers as 004/003. The changes are marked "005:"; the rest is 004's text.

CREATE OR REPLACE FUNCTION gw_submit(p_source text, p_kind text, p_document_id text,
                                     p_sender text, p_recipients text[], p_status_code text,
                                     p_bdt smallint, p_sha256 bytea, p_bytes bytea, p_axis text,
                                     OUT package_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_sha bytea;
    v_axes text[];  -- 005
    v_roles text[]; -- 005
BEGIN
    IF p_sender IS NULL THEN
        RAISE EXCEPTION 'gw_submit: sender is required' USING ERRCODE = '22004';
    END IF;
    INSERT INTO package (direction, kind, document_id, sender, recipients, status_code,
                         business_doc_type, source, sha256, size, state)
        VALUES ('out', p_kind, p_document_id, p_sender, p_recipients, p_status_code, p_bdt,
                p_source, p_sha256, octet_length(p_bytes), 'ROUTED')
        ON CONFLICT DO NOTHING
        RETURNING id INTO package_id;
    IF package_id IS NULL THEN
        SELECT p.id, p.sha256 INTO package_id, v_sha FROM package p
         WHERE p.direction = 'out' AND p.kind = p_kind AND p.sender = p_sender
           AND p.document_id = p_document_id
           AND (CASE WHEN p_kind = 'edoc' THEN p.business_doc_type = p_bdt
                     ELSE p.sha256 = p_sha256 END);
        outcome := CASE WHEN v_sha = p_sha256 THEN 'duplicate' ELSE 'conflict' END;
        RETURN;
    END IF;
    INSERT INTO package_body VALUES (package_id, p_bytes);
    PERFORM gw_event(package_id, 'received', p_source,
                     jsonb_build_object('document_id', p_document_id, 'kind', p_kind,
                                        'sender', p_sender, 'size', octet_length(p_bytes),
                                        'sha256', encode(p_sha256, 'hex')));
    -- 005: one delivery per axis by the agency directories (p_axis is the default axis), then
    -- the package's events on the original document's timelines.
    SELECT coalesce(array_agg(s.axis ORDER BY s.ord), '{}'), coalesce(array_agg(s.role ORDER BY s.ord), '{}')
      INTO v_axes, v_roles FROM directory_sync s WHERE s.configured;
    PERFORM gw_route_package(package_id, v_axes, v_roles, p_axis);
    PERFORM gw_timeline_note(package_id);
    outcome := 'created';
END $$;

CREATE OR REPLACE FUNCTION gw_incoming_store(p_axis text, p_axis_doc_id text, p_kind text,
                                             p_document_id text, p_sender text,
                                             p_recipients text[], p_status_code text,
                                             p_bdt smallint, p_sha256 bytea, p_bytes bytea,
                                             OUT package_id bigint, OUT created boolean)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.package_id, s.created INTO package_id, created
      FROM gw_store_incoming(p_axis, p_axis_doc_id, p_kind, p_document_id, p_sender,
                             p_recipients, p_status_code, p_bdt, p_sha256, p_bytes) s;
    DELETE FROM incoming_failure f WHERE f.axis = p_axis AND f.axis_doc_id = p_axis_doc_id;
    -- 005: a received status or recall/update/replace edoc joins the original's timelines.
    IF created THEN
        PERFORM gw_timeline_note(package_id);
    END IF;
END $$;
