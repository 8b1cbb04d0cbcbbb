-- Signing keys: JWKS (RFC 7517), rotation next -> active -> retiring -> retired,
-- emergency retirement, key material never readable, kid = RFC 7638 thumbprint.
SET client_min_messages = warning;
SET agentidp.bcrypt_cost = 4;
\i sql/include/err.sql
-- The decoded JSON of part i (1 = header, 2 = claims) of a compact JWS.
CREATE FUNCTION pg_temp.jwt_part(tok text, i int) RETURNS jsonb LANGUAGE sql AS $$
	SELECT convert_from(decode(rpad(translate(split_part(tok, '.', i), '-_', '+/'),
		(length(split_part(tok, '.', i)) + 3) / 4 * 4, '='), 'base64'), 'UTF8')::jsonb
$$;
-- base64url of a text, without padding.
CREATE FUNCTION pg_temp.b64url(t text) RETURNS text LANGUAGE sql AS $$
	SELECT translate(encode(convert_to(t, 'UTF8'), 'base64'), E'+/=\n', '-_')
$$;

SELECT id AS ag FROM agentidp.register_agent('keys-agent', 'team-keys', '{agents:read}') \gset
SELECT client_id AS cid, client_secret AS sec FROM agentidp.create_credential(:'ag') \gset
-- (the first token of a fresh install creates the keys; earlier tests may have)
SELECT agentidp.issue_token(:'cid', :'sec')->>'access_token' AS tok1 \gset
SELECT status, count(*) FROM agentidp.signing_keys WHERE status IN ('active', 'next') GROUP BY status ORDER BY status;
SELECT kid AS k_active FROM agentidp.signing_keys WHERE status = 'active' \gset
SELECT kid AS k_next FROM agentidp.signing_keys WHERE status = 'next' \gset
SELECT pg_temp.jwt_part(:'tok1', 1)->>'kid' = :'k_active' AS signed_by_active;

-- Key material: RSA-2048, private key sealed (AIDP1 || nonce || tag || ciphertext).
SELECT algorithm, bits, public_pem LIKE '-----BEGIN PUBLIC KEY-----%' AS pem,
	   substr(private_enc, 1, 5) = 'AIDP1'::bytea AS sealed,
	   position('PRIVATE KEY'::bytea IN private_enc) = 0 AS not_plain_pem
  FROM agentidp.signing_keys WHERE kid = :'k_active';

-- JWKS: active first, then next; every member RFC 7517 asks for.
SELECT x->>'kid' = :'k_active' AS is_active, x->>'kty' AS kty, x->>'use' AS use, x->>'alg' AS alg,
	   x->>'e' AS e, length(x->>'n') AS n_chars, x->>'n' ~ '^[A-Za-z0-9_-]+$' AS n_base64url,
	   (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(x) AS k) AS members
  FROM jsonb_array_elements(agentidp.jwks()->'keys') AS x
 WHERE x->>'kid' IN (:'k_active', :'k_next');
SELECT jsonb_array_length(agentidp.jwks()->'keys') =
	   (SELECT count(*) FROM agentidp.signing_keys
		 WHERE status IN ('active', 'next') OR (status = 'retiring' AND publish_until > now())) AS jwks_complete;
-- kid is the RFC 7638 thumbprint of the published key.
SELECT bool_and(x->>'kid' = translate(encode(sha256(convert_to(
		   format('{"e":"%s","kty":"RSA","n":"%s"}', x->>'e', x->>'n'), 'UTF8')), 'base64'), '+/=', '-_'))
	   AS kid_is_thumbprint
  FROM jsonb_array_elements(agentidp.jwks()->'keys') AS x;
-- n is the modulus of the PEM: rebuild the DER of the SubjectPublicKeyInfo
-- from n and e and compare with the stored PEM.
SELECT decode(regexp_replace(k.public_pem, '-----[A-Z ]+-----|\s', '', 'g'), 'base64')
	   = '\x30820122300d06092a864886f70d01010105000382010f003082010a0282010100'::bytea
		 || decode(rpad(translate(x->>'n', '-_', '+/'), (length(x->>'n') + 3) / 4 * 4, '='), 'base64')
		 || '\x0203010001'::bytea AS n_and_e_match_pem
  FROM agentidp.signing_keys AS k
  JOIN jsonb_array_elements(agentidp.jwks()->'keys') AS x ON x->>'kid' = k.kid
 WHERE k.kid = :'k_active';

-- rotate_signing_key: the published next key signs, the active one retires
-- gracefully (still published, its tokens still valid), a new next appears.
SELECT r->>'active' = :'k_next' AS next_became_active, r->>'retiring' = :'k_active' AS active_retiring,
	   r->>'next' NOT IN (:'k_active', :'k_next') AS new_next
  FROM agentidp.rotate_signing_key() AS r;
SELECT kid AS k_next2 FROM agentidp.signing_keys WHERE status = 'next' \gset
SELECT kid = :'k_active' AS old, status, retiring_at IS NOT NULL AS retiring_at,
	   publish_until >= (SELECT max(expires_at) FROM agentidp.tokens WHERE kid = :'k_active') AS published_until_last_expiry
  FROM agentidp.signing_keys WHERE kid = :'k_active';
-- (JWKS order: active, next, retiring)
SELECT (SELECT array_agg(CASE x->>'kid' WHEN :'k_next' THEN 'active' WHEN :'k_next2' THEN 'next'
									  WHEN :'k_active' THEN 'retiring' END)
		  FROM jsonb_array_elements(agentidp.jwks()->'keys') AS x
		 WHERE x->>'kid' IN (:'k_active', :'k_next', :'k_next2')) AS published,
	   agentidp.introspect_token(:'tok1')->'active' AS old_token_active;
SELECT agentidp.issue_token(:'cid', :'sec')->>'access_token' AS tok2 \gset
SELECT pg_temp.jwt_part(:'tok2', 1)->>'kid' = :'k_next' AS new_tokens_use_new_key,
	   agentidp.introspect_token(:'tok2')->'active' AS new_token_active;
SELECT action, count(*) FROM agentidp.audit_events
 WHERE action LIKE 'key.%' AND metadata->>'kid' IN (:'k_active', :'k_next', :'k_next2')
 GROUP BY action ORDER BY action;

-- signing_keys_info: the life cycle, never key material.
SELECT kid = :'k_active' AS old, kid = :'k_next' AS cur, kid = :'k_next2' AS nxt, status,
	   activated_at IS NOT NULL AS activated, retiring_at IS NOT NULL AS retiring,
	   retired_at IS NOT NULL AS retired
  FROM agentidp.signing_keys_info() WHERE kid IN (:'k_active', :'k_next', :'k_next2')
 ORDER BY kid = :'k_active' DESC, kid = :'k_next' DESC;
SELECT proargnames AS info_columns FROM pg_proc WHERE oid = 'agentidp.signing_keys_info()'::regprocedure;

-- Emergency: retire_signing_key makes the key's tokens inactive at once and
-- removes it from the JWKS.
SELECT agentidp.retire_signing_key(:'k_active');
SELECT status, retired_at IS NOT NULL AS retired FROM agentidp.signing_keys WHERE kid = :'k_active';
SELECT agentidp.introspect_token(:'tok1') AS token_of_retired_key;
SELECT NOT agentidp.jwks()->'keys' @> jsonb_build_array(jsonb_build_object('kid', :'k_active')) AS unpublished;
SELECT agentidp.introspect_token(:'tok2')->'active' AS other_key_unaffected;
-- Its tokens were marked revoked too (the bridge's cache hears of them).
SELECT count(*) FILTER (WHERE revoked_at IS NULL AND expires_at > now()) AS live_tokens_of_retired_key
  FROM agentidp.tokens WHERE kid = :'k_active';
-- Key changes are in revocation_log, so the bridge drops a retired key and
-- reloads the JWKS (a new next key included) at once.
SELECT (SELECT status FROM agentidp.revocation_log WHERE kind = 'key' AND subject = :'k_active'
		 ORDER BY seq DESC LIMIT 1) AS logged_retired,
	   (SELECT array_agg(DISTINCT status ORDER BY status) FROM agentidp.revocation_log
		 WHERE kind = 'key') AS logged_key_statuses;
SELECT replace(pg_temp.err(format('SELECT agentidp.retire_signing_key(%L)', :'k_active')), :'k_active', '<kid>') AS err;
SELECT pg_temp.err($$SELECT agentidp.retire_signing_key('no-such-kid')$$);

-- Retiring the active key promotes the next one and prepares a new next:
-- issuance never stops.
SELECT agentidp.retire_signing_key(:'k_next');
SELECT kid = :'k_next2' AS promoted FROM agentidp.signing_keys WHERE status = 'active';
SELECT count(*) AS next_keys FROM agentidp.signing_keys WHERE status = 'next';
SELECT agentidp.introspect_token(:'tok2') AS token_of_retired_active_key;
SELECT pg_temp.jwt_part(agentidp.issue_token(:'cid', :'sec')->>'access_token', 1)->>'kid' = :'k_next2' AS issues_with_promoted;
-- Retiring the next key replaces it.
SELECT kid AS k_next3 FROM agentidp.signing_keys WHERE status = 'next' \gset
SELECT agentidp.retire_signing_key(:'k_next3');
SELECT count(*) AS next_keys, bool_and(kid <> :'k_next3') AS replaced FROM agentidp.signing_keys WHERE status = 'next';

-- A retiring key whose last token has expired is retired at the next rotation
-- (a superuser moves publish_until into the past rather than wait an hour).
SELECT agentidp.rotate_signing_key()->>'retiring' = :'k_next2' AS k2_retiring;
UPDATE agentidp.signing_keys SET publish_until = now() - interval '1 second' WHERE kid = :'k_next2';
SELECT NOT agentidp.jwks()->'keys' @> jsonb_build_array(jsonb_build_object('kid', :'k_next2')) AS unpublished_after_expiry;
SELECT agentidp.rotate_signing_key() ? 'active' AS rotated;
SELECT status FROM agentidp.signing_keys WHERE kid = :'k_next2';
-- A sealed key that no longer opens (corrupted, or a different KEK) is AIK01,
-- and the failed issuance leaves no token behind.
SELECT kid AS k_cur, private_enc AS penc_cur FROM agentidp.signing_keys WHERE status = 'active' \gset
SELECT count(*) AS tokens_before FROM agentidp.tokens \gset
UPDATE agentidp.signing_keys SET private_enc = overlay(private_enc PLACING '\xff'::bytea FROM 40 FOR 1)
 WHERE kid = :'k_cur';
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid', :'sec')) LIKE 'AIK01: %' AS aik01;
SELECT count(*) = :tokens_before AS no_token_left FROM agentidp.tokens;
UPDATE agentidp.signing_keys SET private_enc = :'penc_cur'::bytea WHERE kid = :'k_cur';
SELECT agentidp.issue_token(:'cid', :'sec') ? 'access_token' AS works_again;

-- Exactly one active and one next key at any time.
SELECT status, count(*) FROM agentidp.signing_keys WHERE status IN ('active', 'next') GROUP BY status ORDER BY status;
