-- Package bytes stored once, streamed in chunks as they arrive (design.md §4, "Storage of package
-- bytes"), and the package model expanded into rows.
-- 1. A staged body (`body`) is a sequence of `body_chunk` rows, each INSERTed on its own
--    (autocommit) while the package is still arriving. The package row that references the body
--    is the commit marker: gw_submit / gw_incoming_store check the chunks (contiguous, the
--    announced size), mark the body complete and attach it in the same transaction that stores
--    the package. A staged body no package ever took (a refused, aborted or duplicate upload, a
--    crash) is deleted by the submit function on a duplicate and by gw_body_janitor after an age.
-- 2. The former package_body rows are moved into chunks; package_body becomes a view over them
--    (with an INSTEAD OF INSERT trigger), so the bytea store functions of 001/003/004 and the
--    dispatcher's claim keep working until their callers move to the chunked calls.
-- 3. `attachment` and `package_finding` rows and `package.header` (the gw_edxml_doc_json form,
--    edxml_json.h) are expanded from the parsed package's JSON in SQL (jsonb_to_record).

CREATE TABLE body (
    id         bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    size       bigint,                         -- set when complete
    chunks     integer,                        -- set when complete
    complete   boolean NOT NULL DEFAULT false  -- true once a package references it
);
CREATE INDEX body_staged_idx ON body (created_at) WHERE NOT complete;

CREATE TABLE body_chunk (
    body_id bigint NOT NULL REFERENCES body (id) ON DELETE CASCADE,
    seq     integer NOT NULL CHECK (seq >= 0),
    bytes   bytea NOT NULL,
    PRIMARY KEY (body_id, seq)
);
-- Chunks are incompressible base64 or already compressed: no TOAST compression attempt.
ALTER TABLE body_chunk ALTER COLUMN bytes SET STORAGE EXTERNAL;

ALTER TABLE package ADD COLUMN body_id bigint UNIQUE REFERENCES body (id);
ALTER TABLE package ADD COLUMN header jsonb;

CREATE TABLE attachment (
    package_id       bigint NOT NULL REFERENCES package (id),
    idx              integer NOT NULL,            -- 0-based, document order
    content_id       text,
    name             text,
    description      text,
    content_type     text,                        -- the Attachment's declared ContentType
    manifest_type    text,                        -- the ContentType of its manifest Reference
    detected_type    text,                        -- from the decoded bytes' magic
    b64_offset       bigint NOT NULL,             -- slice of the stored bytes: the base64 text
    b64_len          bigint NOT NULL,
    size             bigint NOT NULL,             -- decoded, as sent
    sha256           bytea CHECK (octet_length(sha256) = 32),
    unwrapped        boolean NOT NULL DEFAULT false,
    entry_name       text,
    unwrapped_size   bigint,
    unwrapped_sha256 bytea CHECK (octet_length(unwrapped_sha256) = 32),
    unwrapped_type   text,
    unwrap_error     text,
    PRIMARY KEY (package_id, idx)
);

CREATE TABLE package_finding (
    package_id bigint NOT NULL REFERENCES package (id),
    idx        integer NOT NULL,
    code       text NOT NULL,
    severity   text NOT NULL CHECK (severity IN ('note', 'strict', 'refuse')),
    xpath      text,
    message    text,
    PRIMARY KEY (package_id, idx)
);

-- Chunk size used when bytes already in the database are cut into chunks.
CREATE FUNCTION gw_body_chunk_bytes() RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT 262144;
$$;

-- A complete body made of bytes held in the database (migration, the bytea store functions).
CREATE FUNCTION gw_body_from_bytea(p_bytes bytea) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_body bigint;
    v_len  bigint := octet_length(p_bytes);
    v_n    integer := ((v_len + gw_body_chunk_bytes() - 1) / gw_body_chunk_bytes())::integer;
BEGIN
    INSERT INTO body (size, chunks, complete) VALUES (v_len, v_n, true) RETURNING id INTO v_body;
    INSERT INTO body_chunk (body_id, seq, bytes)
        SELECT v_body, g, substring(p_bytes FROM g * gw_body_chunk_bytes() + 1
                                    FOR gw_body_chunk_bytes())
          FROM generate_series(0, v_n - 1) g;
    RETURN v_body;
END $$;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT b.package_id, b.bytes FROM package_body b ORDER BY b.package_id LOOP
        UPDATE package SET body_id = gw_body_from_bytea(r.bytes) WHERE id = r.package_id;
    END LOOP;
END $$;
DROP TABLE package_body;

-- The whole bytes of a package, for the callers that still read or write one bytea.
CREATE VIEW package_body AS
    SELECT p.id AS package_id,
           coalesce((SELECT string_agg(c.bytes, ''::bytea ORDER BY c.seq)
                       FROM body_chunk c WHERE c.body_id = p.body_id), ''::bytea) AS bytes
      FROM package p WHERE p.body_id IS NOT NULL;

CREATE FUNCTION gw_package_body_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE package SET body_id = gw_body_from_bytea(NEW.bytes) WHERE id = NEW.package_id;
    RETURN NEW;
END $$;
CREATE TRIGGER package_body_insert INSTEAD OF INSERT ON package_body
    FOR EACH ROW EXECUTE FUNCTION gw_package_body_insert();

-- ---- staged bodies ----

-- A staged body with its first chunk, in one statement (one round trip less per package).
CREATE FUNCTION gw_body_start(p_bytes bytea) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_body bigint;
BEGIN
    INSERT INTO body DEFAULT VALUES RETURNING id INTO v_body;
    INSERT INTO body_chunk (body_id, seq, bytes) VALUES (v_body, 0, p_bytes);
    RETURN v_body;
END $$;

-- One chunk of a staged body. Idempotent (a retry after an unknown outcome stores nothing twice).
-- Returns false when the body is no longer staged (taken by a package, or deleted).
CREATE FUNCTION gw_body_put(p_body bigint, p_seq integer, p_bytes bytea) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM body b WHERE b.id = p_body AND NOT b.complete FOR SHARE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO body_chunk (body_id, seq, bytes) VALUES (p_body, p_seq, p_bytes)
        ON CONFLICT (body_id, seq) DO NOTHING;
    RETURN true;
END $$;

-- Deletes a staged body (an aborted or refused upload). A complete body is never deleted here.
CREATE FUNCTION gw_body_discard(p_body bigint) RETURNS boolean LANGUAGE sql AS $$
    WITH d AS (DELETE FROM body b WHERE b.id = p_body AND NOT b.complete RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM d);
$$;

-- Staged bodies older than p_age_ms that no package took, at most p_limit a call; returns how
-- many were deleted. Called periodically by the engine (gateway/engine/janitor.c).
CREATE FUNCTION gw_body_janitor(p_age_ms integer, p_limit integer) RETURNS integer
LANGUAGE sql AS $$
    WITH old AS (
        SELECT b.id FROM body b
         WHERE NOT b.complete AND b.created_at < now() - make_interval(secs => p_age_ms / 1000.0)
           AND NOT EXISTS (SELECT 1 FROM package p WHERE p.body_id = b.id)
         ORDER BY b.created_at LIMIT greatest(p_limit, 0)
         FOR UPDATE SKIP LOCKED),
    d AS (DELETE FROM body b USING old WHERE b.id = old.id RETURNING 1)
    SELECT count(*)::integer FROM d;
$$;

-- Inside a storing transaction: checks that the staged body p_body holds exactly p_size bytes
-- in contiguous chunks 0..n-1 and marks it complete. Raises (nothing is stored) otherwise.
CREATE FUNCTION gw_body_seal(p_body bigint, p_size bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_n    bigint;
    v_max  integer;
    v_size bigint;
BEGIN
    PERFORM 1 FROM body b WHERE b.id = p_body AND NOT b.complete FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'body %: not a staged body', p_body USING ERRCODE = '22023';
    END IF;
    SELECT count(*), max(c.seq), coalesce(sum(octet_length(c.bytes)), 0)
      INTO v_n, v_max, v_size FROM body_chunk c WHERE c.body_id = p_body;
    IF v_size <> p_size OR (v_n > 0 AND v_max <> v_n - 1) THEN
        RAISE EXCEPTION 'body %: % bytes in % chunks, % announced', p_body, v_size, v_n, p_size
            USING ERRCODE = '22023';
    END IF;
    UPDATE body SET complete = true, size = v_size, chunks = v_n::integer WHERE id = p_body;
END $$;

-- Attachment and finding rows of a package, from the gw_edxml_doc_json form.
CREATE FUNCTION gw_package_detail(p_package bigint, p_doc jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO attachment (package_id, idx, content_id, name, description, content_type,
                            manifest_type, detected_type, b64_offset, b64_len, size, sha256,
                            unwrapped, entry_name, unwrapped_size, unwrapped_sha256,
                            unwrapped_type, unwrap_error)
        SELECT p_package, (e.ord - 1)::integer, a.content_id, a.name, a.description,
               a.content_type, a.manifest_type, a.detected_type, coalesce(a.b64_offset, 0),
               coalesce(a.b64_len, 0), coalesce(a.size, 0), decode(a.sha256, 'hex'),
               coalesce(a.unwrapped, false), a.entry_name, a.unwrapped_size,
               decode(a.unwrapped_sha256, 'hex'), a.unwrapped_type, a.unwrap_error
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_doc -> 'attachments') = 'array'
                                         THEN p_doc -> 'attachments' ELSE '[]' END)
               WITH ORDINALITY AS e(v, ord),
               jsonb_to_record(e.v) AS a(content_id text, name text, description text,
                                         content_type text, manifest_type text,
                                         detected_type text, b64_offset bigint, b64_len bigint,
                                         size bigint, sha256 text, unwrapped boolean,
                                         entry_name text, unwrapped_size bigint,
                                         unwrapped_sha256 text, unwrapped_type text,
                                         unwrap_error text);
    INSERT INTO package_finding (package_id, idx, code, severity, xpath, message)
        SELECT p_package, (e.ord - 1)::integer, f.code, f.severity, f.xpath, f.message
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_doc -> 'findings') = 'array'
                                         THEN p_doc -> 'findings' ELSE '[]' END)
               WITH ORDINALITY AS e(v, ord),
               jsonb_to_record(e.v) AS f(code text, severity text, xpath text, message text);
END $$;

-- ---- storing a package whose bytes are a staged body ----

-- Outgoing submission from a QLVBĐH client (004's gw_submit with the bytes replaced by a staged
-- body, its size, and the parsed package's JSON form). Same identity and answers: 'created',
-- 'duplicate' or 'conflict'; on a duplicate or a conflict the staged body is deleted in the same
-- transaction.
CREATE FUNCTION gw_submit(p_source text, p_kind text, p_document_id text, p_sender text,
                          p_recipients text[], p_status_code text, p_bdt smallint,
                          p_sha256 bytea, p_body bigint, p_size bigint, p_doc jsonb, p_axis text,
                          OUT package_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_sha bytea;
    v_axes text[];
    v_roles text[];
BEGIN
    IF p_sender IS NULL THEN
        RAISE EXCEPTION 'gw_submit: sender is required' USING ERRCODE = '22004';
    END IF;
    INSERT INTO package (direction, kind, document_id, sender, recipients, status_code,
                         business_doc_type, source, sha256, size, state, header)
        VALUES ('out', p_kind, p_document_id, p_sender, p_recipients, p_status_code, p_bdt,
                p_source, p_sha256, p_size, 'ROUTED', p_doc)
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
    UPDATE package SET body_id = p_body WHERE id = package_id;
    PERFORM gw_package_detail(package_id, p_doc);
    PERFORM gw_event(package_id, 'received', p_source,
                     jsonb_build_object('document_id', p_document_id, 'kind', p_kind,
                                        'sender', p_sender, 'size', p_size,
                                        'sha256', encode(p_sha256, 'hex')));
    -- One delivery per axis by the agency directories (p_axis is the default axis), then the
    -- package's events on the original document's timelines (005_route.sql).
    SELECT coalesce(array_agg(s.axis ORDER BY s.ord), '{}'), coalesce(array_agg(s.role ORDER BY s.ord), '{}')
      INTO v_axes, v_roles FROM directory_sync s WHERE s.configured;
    PERFORM gw_route_package(package_id, v_axes, v_roles, p_axis);
    PERFORM gw_timeline_note(package_id);
    outcome := 'created';
END $$;

-- 001's gw_store_incoming with a staged body: the same two idempotencies; when the package is
-- already stored (same axis doc id, or same DocumentId and sha256) the staged body is deleted.
CREATE FUNCTION gw_store_incoming(p_axis text, p_axis_doc_id text, p_kind text,
                                  p_document_id text, p_sender text, p_recipients text[],
                                  p_status_code text, p_bdt smallint, p_sha256 bytea,
                                  p_body bigint, p_size bigint, p_doc jsonb,
                                  OUT package_id bigint, OUT created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
BEGIN
    SELECT last INTO v_seq FROM inbox_counter FOR UPDATE;
    created := false;
    SELECT r.package_id INTO package_id FROM axis_receipt r
     WHERE r.axis = p_axis AND r.axis_doc_id = p_axis_doc_id;
    IF FOUND THEN
        PERFORM gw_body_discard(p_body);
        RETURN;
    END IF;
    SELECT p.id INTO package_id FROM package p
     WHERE p.direction = 'in' AND p.document_id = p_document_id AND p.sha256 = p_sha256;
    IF FOUND THEN
        PERFORM gw_body_discard(p_body);
        INSERT INTO axis_receipt (axis, axis_doc_id, package_id)
            VALUES (p_axis, p_axis_doc_id, package_id);
        PERFORM gw_event(package_id, 'fetched_again', p_axis,
                         jsonb_build_object('axis_doc_id', p_axis_doc_id));
        RETURN;
    END IF;
    PERFORM gw_body_seal(p_body, p_size);
    UPDATE inbox_counter SET last = v_seq + 1;
    INSERT INTO package (direction, kind, document_id, sender, recipients, status_code,
                         business_doc_type, source, axis, axis_doc_id, sha256, size, state,
                         inbox_seq, body_id, header)
        VALUES ('in', p_kind, p_document_id, p_sender, p_recipients, p_status_code, p_bdt,
                p_axis, p_axis, p_axis_doc_id, p_sha256, p_size, 'AVAILABLE', v_seq + 1, p_body,
                p_doc)
        RETURNING id INTO package_id;
    PERFORM gw_package_detail(package_id, p_doc);
    INSERT INTO axis_receipt (axis, axis_doc_id, package_id)
        VALUES (p_axis, p_axis_doc_id, package_id);
    PERFORM gw_event(package_id, 'fetched', p_axis,
                     jsonb_build_object('axis_doc_id', p_axis_doc_id, 'document_id', p_document_id,
                                        'kind', p_kind, 'size', p_size,
                                        'sha256', encode(p_sha256, 'hex')));
    created := true;
END $$;

-- 003's gw_incoming_store with a staged body: the doc id's failure record is cleared too.
CREATE FUNCTION gw_incoming_store(p_axis text, p_axis_doc_id text, p_kind text,
                                  p_document_id text, p_sender text, p_recipients text[],
                                  p_status_code text, p_bdt smallint, p_sha256 bytea,
                                  p_body bigint, p_size bigint, p_doc jsonb,
                                  OUT package_id bigint, OUT created boolean)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.package_id, s.created INTO package_id, created
      FROM gw_store_incoming(p_axis, p_axis_doc_id, p_kind, p_document_id, p_sender,
                             p_recipients, p_status_code, p_bdt, p_sha256, p_body, p_size,
                             p_doc) s;
    DELETE FROM incoming_failure f WHERE f.axis = p_axis AND f.axis_doc_id = p_axis_doc_id;
    -- A received status or recall/update/replace edoc joins the original's timelines (005).
    IF created THEN
        PERFORM gw_timeline_note(package_id);
    END IF;
END $$;

