-- Authorisation scope of the northbound API (docs/internals/api.md, "Who may do what").
-- 1. The identity of a submission includes its sender (From/OrganId): two organisations may use
--    the same DocumentId, and one client can no longer take another organisation's DocumentId
--    first. gw_submit is replaced by a version whose duplicate lookup matches the sender too.
-- 2. Inbox acknowledgements are scoped to the organisations the client acts for
--    (gw_inbox_ack_for); reads are scoped in the statements of gateway/store/.

DROP INDEX package_out_edoc_key;
DROP INDEX package_out_status_key;
CREATE UNIQUE INDEX package_out_edoc_sender_key ON package (sender, document_id, business_doc_type)
    WHERE direction = 'out' AND kind = 'edoc';
CREATE UNIQUE INDEX package_out_status_sender_key ON package (sender, document_id, sha256)
    WHERE direction = 'out' AND kind = 'status';
-- Inbox reads filter on the recipients of the waiting packages.
CREATE INDEX package_inbox_recipients_idx ON package USING gin (recipients)
    WHERE direction = 'in' AND state = 'AVAILABLE';

-- Outgoing submission from a QLVBĐH client; same arguments and answers as before, but the
-- identity is (sender, DocumentId, BussinessDocType) for an edoc and (sender, ResponseFor
-- DocumentId, sha256) for a status. The sender is required (a NULL would never conflict).
CREATE OR REPLACE FUNCTION gw_submit(p_source text, p_kind text, p_document_id text,
                                     p_sender text, p_recipients text[], p_status_code text,
                                     p_bdt smallint, p_sha256 bytea, p_bytes bytea, p_axis text,
                                     OUT package_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_sha bytea;
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
    INSERT INTO delivery (package_id, axis, recipients, state)
        VALUES (package_id, p_axis, p_recipients, 'QUEUED');
    PERFORM gw_event(package_id, 'received', p_source,
                     jsonb_build_object('document_id', p_document_id, 'kind', p_kind,
                                        'sender', p_sender, 'size', octet_length(p_bytes),
                                        'sha256', encode(p_sha256, 'hex')));
    PERFORM gw_event(package_id, 'routed', 'gateway',
                     jsonb_build_object('axis', p_axis, 'recipients', to_jsonb(p_recipients)));
    outcome := 'created';
END $$;

-- QLVBĐH confirms it took a package from the inbox, on behalf of the organisations p_organs.
-- Returns false when no inbox package of that id is addressed to one of them (whether or not it
-- exists), true when it is now or already was DELIVERED.
CREATE FUNCTION gw_inbox_ack_for(p_package bigint, p_client text, p_organs text[])
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE package SET state = 'DELIVERED', updated_at = now()
     WHERE id = p_package AND direction = 'in' AND state = 'AVAILABLE'
       AND recipients && p_organs;
    IF FOUND THEN
        PERFORM gw_event(p_package, 'delivered', p_client,
                         jsonb_build_object('organs', to_jsonb(p_organs)));
        RETURN true;
    END IF;
    RETURN EXISTS (SELECT 1 FROM package WHERE id = p_package AND direction = 'in'
                                            AND state = 'DELIVERED' AND recipients && p_organs);
END $$;
