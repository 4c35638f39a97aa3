-- Revocation data (domain.md §6; docs/internals/revocation.md): the OCSP responses and CRLs the
-- gateway fetched, kept until their nextUpdate so that a check needs no network while they are
-- fresh, and the local block list (seed regulation Art. 15.4: a lost key device is blocked from
-- a given time, before the CA revokes the certificate).
-- 1. ocsp_response: one response per CertID (SHA-1 hashes of the issuer's name and key, serial,
--    hash algorithm); a newer response (by thisUpdate) replaces an older one, never the reverse.
-- 2. crl: one CRL per distribution point URL, same rule.
-- 3. cert_block: matched by the certificate's SHA-256 or by issuer (SHA-256 of its DER name) and
--    serial; the earliest blocked_from of the rows that match is the answer.
-- 4. v_revocation_freshness: age and nextUpdate of every cached item.
-- The C side checks every response again before using it (the cache is not trusted).

CREATE TABLE ocsp_response (
    name_hash   bytea NOT NULL CHECK (octet_length(name_hash) BETWEEN 16 AND 64),
    key_hash    bytea NOT NULL CHECK (octet_length(key_hash) BETWEEN 16 AND 64),
    serial      text NOT NULL CHECK (serial ~ '^[0-9A-F]{1,128}$'),
    hash_alg    text NOT NULL CHECK (hash_alg IN ('sha1', 'sha256')),
    der         bytea NOT NULL CHECK (octet_length(der) BETWEEN 1 AND 1048576),
    this_update timestamptz NOT NULL,
    next_update timestamptz NOT NULL,
    produced_at timestamptz,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name_hash, key_hash, serial, hash_alg)
);
CREATE INDEX ocsp_response_next ON ocsp_response (next_update);

CREATE TABLE crl (
    url         text PRIMARY KEY CHECK (url ~ '^https?://' AND length(url) <= 2048),
    der         bytea NOT NULL CHECK (octet_length(der) BETWEEN 1 AND 67108864),
    issuer      text NOT NULL,
    this_update timestamptz NOT NULL,
    next_update timestamptz NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cert_block (
    id           bigserial PRIMARY KEY,
    cert_sha256  bytea CHECK (octet_length(cert_sha256) = 32),
    issuer_hash  bytea CHECK (octet_length(issuer_hash) = 32),
    serial       text CHECK (serial ~ '^[0-9A-F]{1,128}$'),
    issuer_name  text,                           -- for people: the issuer's DN as shown
    blocked_from timestamptz NOT NULL,
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1024),
    created_by   text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 256),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (cert_sha256 IS NOT NULL OR (issuer_hash IS NOT NULL AND serial IS NOT NULL))
);
CREATE INDEX cert_block_sha ON cert_block (cert_sha256) WHERE cert_sha256 IS NOT NULL;
CREATE INDEX cert_block_serial ON cert_block (issuer_hash, serial) WHERE serial IS NOT NULL;

-- OCSP ------------------------------------------------------------------------------------------

-- Stores a response unless the one in place is newer. true when stored.
CREATE FUNCTION gw_ocsp_put(p_name_hash bytea, p_key_hash bytea, p_serial text, p_alg text,
                            p_der bytea, p_this timestamptz, p_next timestamptz,
                            p_produced timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    INSERT INTO ocsp_response AS o (name_hash, key_hash, serial, hash_alg, der, this_update,
                                    next_update, produced_at)
    VALUES (p_name_hash, p_key_hash, p_serial, p_alg, p_der, p_this, p_next, p_produced)
    ON CONFLICT (name_hash, key_hash, serial, hash_alg) DO UPDATE
       SET der = EXCLUDED.der, this_update = EXCLUDED.this_update,
           next_update = EXCLUDED.next_update, produced_at = EXCLUDED.produced_at,
           fetched_at = now()
     WHERE o.this_update <= EXCLUDED.this_update;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n > 0;
END $$;

-- The cached response for a CertID while its nextUpdate is after p_at (no row otherwise).
CREATE FUNCTION gw_ocsp_get(p_name_hash bytea, p_key_hash bytea, p_serial text, p_alg text,
                            p_at timestamptz)
RETURNS TABLE (der bytea, this_update timestamptz, next_update timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT o.der, o.this_update, o.next_update FROM ocsp_response o
     WHERE o.name_hash = p_name_hash AND o.key_hash = p_key_hash AND o.serial = p_serial
       AND o.hash_alg = p_alg AND o.next_update > p_at;
$$;

-- CRL -------------------------------------------------------------------------------------------

CREATE FUNCTION gw_crl_put(p_url text, p_der bytea, p_issuer text, p_this timestamptz,
                           p_next timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    INSERT INTO crl AS c (url, der, issuer, this_update, next_update)
    VALUES (p_url, p_der, p_issuer, p_this, p_next)
    ON CONFLICT (url) DO UPDATE
       SET der = EXCLUDED.der, issuer = EXCLUDED.issuer, this_update = EXCLUDED.this_update,
           next_update = EXCLUDED.next_update, fetched_at = now()
     WHERE c.this_update <= EXCLUDED.this_update;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n > 0;
END $$;

-- The cached CRL of a URL, fresh or not (the caller decides: a stale one is refetched).
CREATE FUNCTION gw_crl_get(p_url text)
RETURNS TABLE (der bytea, this_update timestamptz, next_update timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT c.der, c.this_update, c.next_update FROM crl c WHERE c.url = p_url;
$$;

-- Block list ------------------------------------------------------------------------------------

CREATE FUNCTION gw_cert_block_add(p_cert_sha256 bytea, p_issuer_hash bytea, p_serial text,
                                  p_issuer_name text, p_blocked_from timestamptz, p_reason text,
                                  p_created_by text)
RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO cert_block (cert_sha256, issuer_hash, serial, issuer_name, blocked_from, reason,
                            created_by)
    VALUES (p_cert_sha256, p_issuer_hash, p_serial, p_issuer_name, p_blocked_from, p_reason,
            p_created_by)
    RETURNING id;
$$;

CREATE FUNCTION gw_cert_block_remove(p_id bigint) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    DELETE FROM cert_block WHERE id = p_id;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;

-- The earliest block matching the certificate (by SHA-256, or issuer and serial); no row when
-- none.
CREATE FUNCTION gw_cert_block_find(p_cert_sha256 bytea, p_issuer_hash bytea, p_serial text)
RETURNS TABLE (id bigint, blocked_from timestamptz, reason text)
LANGUAGE sql STABLE AS $$
    SELECT b.id, b.blocked_from, b.reason FROM cert_block b
     WHERE b.cert_sha256 = p_cert_sha256
        OR (b.issuer_hash = p_issuer_hash AND b.serial = p_serial)
     ORDER BY b.blocked_from, b.id
     LIMIT 1;
$$;

-- Freshness -------------------------------------------------------------------------------------

CREATE VIEW v_revocation_freshness AS
    SELECT 'ocsp'::text AS source, encode(o.key_hash, 'hex') || ':' || o.serial AS item,
           o.fetched_at, extract(epoch FROM now() - o.fetched_at)::bigint AS age_s,
           o.this_update, o.next_update, o.next_update <= now() AS expired
      FROM ocsp_response o
    UNION ALL
    SELECT 'crl'::text, c.url, c.fetched_at, extract(epoch FROM now() - c.fetched_at)::bigint,
           c.this_update, c.next_update, c.next_update <= now()
      FROM crl c;
