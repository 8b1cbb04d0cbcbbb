-- Token issuance: the RFC 6749 body, the RFC 9068 JWT, scopes, audiences and
-- every refusal (with its failure event and SQLSTATE).
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

SELECT id AS ag FROM agentidp.register_agent('token-agent', 'team-tokens',
	'{agents:read,agents:write,audit:read}') \gset
SELECT credential_id AS cr, client_id AS cid, client_secret AS sec FROM agentidp.create_credential(:'ag') \gset

-- The first token creates the signing keys (active + next).
SELECT count(*) AS keys_before FROM agentidp.signing_keys;
SELECT agentidp.issue_token(:'cid', :'sec') AS r \gset
SELECT status, count(*) FROM agentidp.signing_keys GROUP BY status ORDER BY status;

-- Exactly the RFC 6749 section 5.1 body.
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(:'r'::jsonb) AS k) AS body_keys,
	   :'r'::jsonb->>'token_type' AS token_type, :'r'::jsonb->'expires_in' AS expires_in,
	   :'r'::jsonb->>'scope' AS scope;
SELECT :'r'::jsonb->>'access_token' AS tok \gset

-- RFC 9068 header and claims.
SELECT pg_temp.jwt_part(:'tok', 1) - 'kid' AS header,
	   pg_temp.jwt_part(:'tok', 1)->>'kid' = (SELECT kid FROM agentidp.signing_keys WHERE status = 'active') AS kid_is_active;
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(c) AS k) AS claim_names,
	   c->>'iss' AS iss, c->>'sub' = :'ag' AS sub_is_agent, c->>'client_id' = :'cid' AS client_id,
	   c->>'aud' AS aud, c->>'scope' AS scope,
	   jsonb_typeof(c->'iat') AS iat_type, (c->>'exp')::bigint - (c->>'iat')::bigint AS lifetime,
	   c->'nbf' = c->'iat' AS nbf_is_iat,
	   abs((c->>'iat')::bigint - extract(epoch FROM now())::bigint) < 60 AS iat_now
  FROM pg_temp.jwt_part(:'tok', 2) AS c;
SELECT split_part(:'tok', '.', 3) ~ '^[A-Za-z0-9_-]+$' AND length(split_part(:'tok', '.', 3)) = 342
	   AS rs256_2048_signature;

-- The tokens row and the token.issued event exist.
SELECT t.agent_id = :'ag' AS agent, t.credential_id = :'cr' AS credential, t.scope, t.audience,
	   t.expires_at - t.issued_at AS lifetime, t.revoked_at IS NULL AS live
  FROM agentidp.tokens AS t WHERE t.jti = (pg_temp.jwt_part(:'tok', 2)->>'jti')::uuid;
SELECT action, outcome, metadata->>'jti' = pg_temp.jwt_part(:'tok', 2)->>'jti' AS same_jti
  FROM agentidp.audit_events WHERE agent_id = :'ag' AND action = 'token.issued';

-- jti is a UUIDv7: version 7, variant 10, its first 48 bits the Unix time of
-- issue in milliseconds (within a second of iat), increasing from one
-- millisecond to the next; the other 74 bits random.
SELECT agentidp.issue_token(:'cid', :'sec')->>'access_token' AS tok_a \gset
SELECT pg_sleep(0.01);
SELECT agentidp.issue_token(:'cid', :'sec')->>'access_token' AS tok_b \gset
SELECT substr(j, 15, 1) AS version, substr(j, 20, 1) IN ('8', '9', 'a', 'b') AS variant_10,
	   abs(('x' || lpad(replace(substr(j, 1, 13), '-', ''), 16, '0'))::bit(64)::bigint
		   - 1000 * (pg_temp.jwt_part(:'tok_a', 2)->>'iat')::bigint) < 1000 AS millis_of_iat,
	   j < (pg_temp.jwt_part(:'tok_b', 2)->>'jti') AS later_sorts_after
  FROM (SELECT pg_temp.jwt_part(:'tok_a', 2)->>'jti' AS j) AS x;
SELECT count(DISTINCT agentidp._new_jti()) AS distinct_ids, count(*) AS of
  FROM generate_series(1, 10000);

-- The issuer comes from agentidp.issuer; aud defaults to it.
SET agentidp.issuer = 'https://idp.example.test';
SELECT c->>'iss' AS iss, c->>'aud' AS aud
  FROM pg_temp.jwt_part(agentidp.issue_token(:'cid', :'sec')->>'access_token', 2) AS c;
RESET agentidp.issuer;

-- Scopes: a subset, duplicates folded, order kept.
SELECT r->>'scope' AS scope, pg_temp.jwt_part(r->>'access_token', 2)->>'scope' AS claim
  FROM agentidp.issue_token(:'cid', :'sec', 'audit:read agents:read audit:read') AS r;
SELECT agentidp.issue_token(:'cid', :'sec', 'agents:write')->>'scope' AS scope;
-- An explicit audience.
SELECT pg_temp.jwt_part(agentidp.issue_token(:'cid', :'sec', NULL, 'https://api.example.test')->>'access_token', 2)->>'aud' AS aud;

-- Refusals: SQLSTATE and a message starting with the RFC 6749 code.
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L, %L)', :'cid', :'sec', 'agents:read admin'));
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L, %L)', :'cid', :'sec', 'agents:read  audit:read'));
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L, %L)', :'cid', :'sec', ' agents:read'));
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L, %L)', :'cid', :'sec', 'agents:"read"'));
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L, NULL, %L)', :'cid', :'sec', ''));
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid', 'aidp_sk_wrong'));
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', 'aidp_ci_nobody', :'sec'));
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid', NULL));
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid', :'sec' || repeat('x', 40)));
-- Refused requests issued nothing (still the 5 tokens issued above) but each
-- left a failure event, written in its own transaction.
SELECT count(*) AS tokens_of_agent FROM agentidp.tokens WHERE agent_id = :'ag';
SELECT action, metadata->>'reason' AS reason FROM agentidp.audit_events
 WHERE outcome = 'failure' AND metadata->>'client_id' IN (:'cid', 'aidp_ci_nobody')
 ORDER BY id;
-- Also when the caller rolls back its own transaction.
BEGIN;
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid', 'aidp_sk_wrong-again'));
ROLLBACK;
-- (3: the two invalid_secret events above and this one)
SELECT count(*) AS survived_rollback FROM agentidp.audit_events
 WHERE outcome = 'failure' AND metadata->>'client_id' = :'cid' AND metadata->>'reason' = 'invalid_secret';

-- Suspended agent, revoked credential: unauthorized_client.
SELECT (agentidp.suspend_agent(:'ag')).status AS suspended;
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid', :'sec'));
SELECT (agentidp.reactivate_agent(:'ag')).status AS reactivated;
SELECT agentidp.issue_token(:'cid', :'sec') ? 'access_token' AS issued_again;
SELECT agentidp.revoke_credential(:'cr');
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid', :'sec'));
SELECT action, metadata->>'reason' AS reason FROM agentidp.audit_events
 WHERE outcome = 'failure' AND action = 'token.refused' AND agent_id = :'ag' AND metadata ? 'reason'
   AND metadata->>'reason' IN ('agent_suspended', 'credential_revoked')
 ORDER BY id;

-- An agent without capabilities gets a token with an empty scope, and
-- nothing beyond it.
SELECT id AS bare FROM agentidp.register_agent('token-bare', 'team-tokens') \gset
SELECT client_id AS bcid, client_secret AS bsec FROM agentidp.create_credential(:'bare') \gset
SELECT agentidp.issue_token(:'bcid', :'bsec')->>'scope' = '' AS empty_scope;
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L, %L)', :'bcid', :'bsec', 'agents:read'));

-- An unknown client costs a bcrypt like a wrong secret (cost 10: tens of ms).
RESET agentidp.bcrypt_cost;
SELECT clock_timestamp() AS t0 \gset
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', 'aidp_ci_timing', 'aidp_sk_timing'));
SELECT clock_timestamp() - :'t0'::timestamptz > interval '15 ms' AS unknown_client_pays_bcrypt;
