-- Introspection (RFC 7662) and revocation (RFC 7009): active tokens, every way
-- a token is inactive, idempotent revocation, NOTIFY payloads, the snapshot.
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

SELECT id AS ag FROM agentidp.register_agent('intro-agent', 'team-intro', '{agents:read,audit:read}') \gset
SELECT credential_id AS cr, client_id AS cid, client_secret AS sec FROM agentidp.create_credential(:'ag') \gset
SELECT id AS other FROM agentidp.register_agent('intro-other', 'team-intro', '{agents:read}') \gset
SELECT client_id AS ocid, client_secret AS osec FROM agentidp.create_credential(:'other') \gset
SELECT agentidp.issue_token(:'cid', :'sec', 'agents:read', 'https://rs.example.test')->>'access_token' AS tok \gset

-- Active: the RFC 7662 members, matching the token's claims.
SELECT i->'active' AS active, i->>'scope' AS scope, i->>'client_id' = :'cid' AS client_id,
	   i->>'sub' = :'ag' AS sub, i->>'aud' AS aud, i->>'iss' AS iss, i->>'token_type' AS token_type,
	   i->'exp' = c->'exp' AND i->'iat' = c->'iat' AND i->'nbf' = c->'nbf' AND i->'jti' = c->'jti' AS times_and_jti,
	   (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(i) AS k) AS members
  FROM agentidp.introspect_token(:'tok') AS i, pg_temp.jwt_part(:'tok', 2) AS c;

-- Garbage, NULL, empty: inactive, never an error.
SELECT agentidp.introspect_token('garbage') AS garbage, agentidp.introspect_token(NULL) AS null_token,
	   agentidp.introspect_token('') AS empty, agentidp.introspect_token('a.b.c') AS three_parts;

-- Tampered: a claim changed (signature no longer matches), a signature bit
-- flipped, the header swapped for alg none / HS256.
SELECT agentidp.introspect_token(split_part(:'tok', '.', 1) || '.' ||
	   pg_temp.b64url((pg_temp.jwt_part(:'tok', 2) || '{"scope": "admin"}')::text) || '.' ||
	   split_part(:'tok', '.', 3)) AS claims_changed;
SELECT agentidp.introspect_token(split_part(:'tok', '.', 1) || '.' || split_part(:'tok', '.', 2) || '.' ||
	   translate(left(split_part(:'tok', '.', 3), 1), 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
				 'BCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_A')
	   || substr(split_part(:'tok', '.', 3), 2)) AS signature_changed;
SELECT agentidp.introspect_token(pg_temp.b64url('{"alg":"none","typ":"at+jwt","kid":"' ||
	   (pg_temp.jwt_part(:'tok', 1)->>'kid') || '"}') || '.' || split_part(:'tok', '.', 2) || '.') AS alg_none;
SELECT agentidp.introspect_token(pg_temp.b64url('{"alg":"HS256","typ":"at+jwt","kid":"' ||
	   (pg_temp.jwt_part(:'tok', 1)->>'kid') || '"}') || '.' || split_part(:'tok', '.', 2) || '.' ||
	   split_part(:'tok', '.', 3)) AS alg_hs256;
SELECT agentidp.introspect_token(:'tok' || 'A') AS appended;

-- Validly signed but out of its time window, or from another issuer: a
-- superuser re-signs the same jti with other claims (its tokens row exists,
-- so only the claim decides).
SELECT kid AS kid, private_enc AS penc FROM agentidp.signing_keys WHERE status = 'active' \gset
SELECT agentidp.introspect_token(agentidp._sign_jwt(:'kid', :'penc',
	   pg_temp.jwt_part(:'tok', 2)))->'active' AS resigned_same_claims;
SELECT agentidp.introspect_token(agentidp._sign_jwt(:'kid', :'penc', pg_temp.jwt_part(:'tok', 2)
	   || jsonb_build_object('exp', extract(epoch FROM now())::bigint - 1))) AS expired;
SELECT agentidp.introspect_token(agentidp._sign_jwt(:'kid', :'penc', pg_temp.jwt_part(:'tok', 2)
	   || jsonb_build_object('nbf', extract(epoch FROM now())::bigint + 600))) AS not_yet_valid;
SELECT agentidp.introspect_token(agentidp._sign_jwt(:'kid', :'penc', pg_temp.jwt_part(:'tok', 2)
	   || '{"iss": "https://evil.example.test"}')) AS other_issuer;
SELECT agentidp.introspect_token(agentidp._sign_jwt(:'kid', :'penc', pg_temp.jwt_part(:'tok', 2)
	   || jsonb_build_object('jti', gen_random_uuid()))) AS unknown_jti;
SELECT agentidp.introspect_token(agentidp._sign_jwt(:'kid', :'penc', pg_temp.jwt_part(:'tok', 2)
	   || jsonb_build_object('sub', :'other'))) AS other_subject;
-- A missing or non-number exp/nbf is inactive (a NULL jsonb_typeof once
-- slipped through the check).
SELECT agentidp.introspect_token(agentidp._sign_jwt(:'kid', :'penc', pg_temp.jwt_part(:'tok', 2)
	   - 'exp')) AS exp_missing;
SELECT agentidp.introspect_token(agentidp._sign_jwt(:'kid', :'penc', pg_temp.jwt_part(:'tok', 2)
	   - 'nbf')) AS nbf_missing;
SELECT agentidp.introspect_token(agentidp._sign_jwt(:'kid', :'penc', pg_temp.jwt_part(:'tok', 2)
	   || '{"exp": "9999999999"}')) AS exp_string;

-- Really expired: a 5-second token, then wait.
SET agentidp.token_ttl = 5;
SELECT agentidp.issue_token(:'cid', :'sec') AS short \gset
SELECT :'short'::jsonb->'expires_in' AS expires_in,
	   (agentidp.introspect_token(:'short'::jsonb->>'access_token'))->'active' AS active_now;
SELECT pg_sleep(6);
SELECT agentidp.introspect_token(:'short'::jsonb->>'access_token') AS after_expiry;
RESET agentidp.token_ttl;

-- Revocation notices go to a listener in another session.
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('listener', format('host=%s port=%s dbname=%s user=%s',
	split_part(current_setting('unix_socket_directories'), ',', 1),
	current_setting('port'), current_database(), current_user));
SELECT dblink_exec('listener', 'LISTEN agentidp_revocation');
-- The listener's notices, waiting (up to 10 s) until the expected number has
-- arrived: delivery to another session is asynchronous.
CREATE TEMP TABLE got (n serial, notify_name text, extra text);
CREATE FUNCTION pg_temp.notices(expected int)
RETURNS TABLE(notify_name text, extra text) LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1 .. 200 LOOP
		INSERT INTO pg_temp.got (notify_name, extra)
		SELECT d.notify_name, d.extra FROM dblink_get_notify('listener') AS d;
		EXIT WHEN (SELECT count(*) FROM pg_temp.got) >= expected;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN QUERY SELECT g.notify_name, g.extra FROM pg_temp.got AS g ORDER BY g.n;
	DELETE FROM pg_temp.got;
END $$;

-- Revocation takes a token as the row its jti names only when it is that
-- row's token byte for byte (tokens.token_digest, _token_matches): the
-- jti of a live token with another signature, or the same claims re-signed
-- with other scopes by the active key, revoke nothing.
SELECT agentidp.issue_token(:'cid', :'sec')->>'access_token' AS tok3 \gset
SELECT split_part(:'tok', '.', 1) || '.' || split_part(:'tok', '.', 2) || '.' || split_part(:'tok3', '.', 3) AS forged \gset
SELECT agentidp._sign_jwt(k.kid, k.private_enc, pg_temp.jwt_part(:'tok', 2) || '{"scope": "agents:read audit:read"}') AS resigned
  FROM agentidp.signing_keys AS k WHERE k.status = 'active' \gset
SELECT agentidp._token_jti(:'forged') = agentidp._token_jti(:'tok') AS forged_same_jti,
	   agentidp._token_jti(:'resigned') = agentidp._token_jti(:'tok') AS resigned_same_jti,
	   agentidp._verify_jwt(:'forged') IS NULL AS forged_fails_verification,
	   agentidp._verify_jwt(:'resigned') IS NOT NULL AS resigned_verifies;
SELECT agentidp.revoke_token(:'forged') AS forged, agentidp.revoke_token(:'resigned') AS resigned;
SELECT agentidp.introspect_token(:'tok')->'active' AS active_after_forgeries,
	   (SELECT count(*) FROM agentidp.audit_events WHERE action = 'token.revoked'
		   AND metadata->>'jti' = pg_temp.jwt_part(:'tok', 2)->>'jti') AS revoked_events;
-- The digest is SHA-256 of the token as issued, and the match is exact.
SELECT t.token_digest = sha256(convert_to(:'tok', 'UTF8')) AS digest_is_sha256,
	   agentidp._token_digest(:'tok') = t.token_digest AS same_as_token_digest,
	   agentidp._token_matches(:'tok', t.token_digest) AS token_matches,
	   agentidp._token_matches(:'forged', t.token_digest) AS forged_matches,
	   agentidp._token_matches(:'resigned', t.token_digest) AS resigned_matches,
	   agentidp._token_matches(:'tok', substr(t.token_digest, 1, 31)) AS short_digest_matches
  FROM agentidp.tokens AS t WHERE t.jti = (pg_temp.jwt_part(:'tok', 2)->>'jti')::uuid;
-- _token_jti reads the jti of a well-formed token only, and only a lowercase UUID.
SELECT agentidp._token_jti(:'tok')::text = pg_temp.jwt_part(:'tok', 2)->>'jti' AS jti_of_token,
	   agentidp._token_jti('garbage') IS NULL AS garbage,
	   agentidp._token_jti('') IS NULL AS empty,
	   agentidp._token_jti(split_part(:'tok', '.', 2)) IS NULL AS payload_alone,
	   agentidp._token_jti(split_part(:'tok', '.', 1) || '.' || pg_temp.b64url('{"sub": "x"}') || '.'
						   || split_part(:'tok', '.', 3)) IS NULL AS no_jti,
	   agentidp._token_jti(split_part(:'tok', '.', 1) || '.'
						   || pg_temp.b64url('{"jti": "' || (pg_temp.jwt_part(:'tok', 2)->>'jti') || '"}')
						   || '.' || split_part(:'tok', '.', 3))::text = pg_temp.jwt_part(:'tok', 2)->>'jti' AS handmade_jti,
	   agentidp._token_jti(split_part(:'tok', '.', 1) || '.'
						   || pg_temp.b64url('{"jti": "' || upper(pg_temp.jwt_part(:'tok', 2)->>'jti') || '"}')
						   || '.' || split_part(:'tok', '.', 3)) IS NULL AS uppercase_jti,
	   agentidp._token_jti(split_part(:'tok', '.', 1) || '.' || pg_temp.b64url('{"jti": 12}') || '.'
						   || split_part(:'tok', '.', 3)) IS NULL AS numeric_jti,
	   agentidp._token_jti(split_part(:'tok', '.', 1) || '.'
						   || pg_temp.b64url('{"jti": "' || (pg_temp.jwt_part(:'tok', 2)->>'jti') || '", "jti": "x"}')
						   || '.' || split_part(:'tok', '.', 3)) IS NULL AS duplicate_jti;

-- revoke_token with requesting_agent: another agent's token is left alone, silently.
SELECT agentidp.revoke_token(:'tok', :'other');
SELECT agentidp.introspect_token(:'tok')->'active' AS still_active;
-- Its own agent may revoke it; then it is inactive.
SELECT agentidp.revoke_token(:'tok', :'ag');
SELECT agentidp.introspect_token(:'tok') AS after_revoke;
SELECT revoked_at IS NOT NULL AS revoked FROM agentidp.tokens
 WHERE jti = (pg_temp.jwt_part(:'tok', 2)->>'jti')::uuid;
-- Idempotent, and nothing for garbage.
SELECT agentidp.revoke_token(:'tok');
SELECT agentidp.revoke_token('garbage');
SELECT agentidp.revoke_token(NULL);
SELECT count(*) AS revoked_events FROM agentidp.audit_events
 WHERE action = 'token.revoked' AND metadata->>'jti' = pg_temp.jwt_part(:'tok', 2)->>'jti';
-- Without requesting_agent (an administrator) any token goes.
SELECT agentidp.issue_token(:'ocid', :'osec')->>'access_token' AS otok \gset
SELECT agentidp.revoke_token(:'otok');
SELECT agentidp.introspect_token(:'otok') AS other_revoked;

-- Exactly one notice per revocation, with the token's jti and exp.
SELECT notify_name,
	   extra::jsonb->>'kind' AS kind,
	   extra::jsonb->>'jti' IN (pg_temp.jwt_part(:'tok', 2)->>'jti', pg_temp.jwt_part(:'otok', 2)->>'jti') AS jti_known,
	   extra::jsonb->'exp' IN (pg_temp.jwt_part(:'tok', 2)->'exp', pg_temp.jwt_part(:'otok', 2)->'exp') AS exp_matches
  FROM pg_temp.notices(2) ORDER BY extra::jsonb->>'jti' = pg_temp.jwt_part(:'tok', 2)->>'jti' DESC;

-- Suspension, revoked credential: live tokens turn inactive, and back.
SELECT agentidp.issue_token(:'cid', :'sec')->>'access_token' AS tok2 \gset
SELECT agentidp.introspect_token(:'tok2')->'active' AS active;
SELECT status FROM agentidp.suspend_agent(:'ag');
SELECT agentidp.introspect_token(:'tok2') AS while_suspended;
SELECT status FROM agentidp.reactivate_agent(:'ag');
SELECT agentidp.introspect_token(:'tok2')->'active' AS after_reactivation;
SELECT extra::jsonb->>'kind' AS kind, extra::jsonb->>'id' = :'ag' AS agent, extra::jsonb->>'status' AS status
  FROM pg_temp.notices(2);

-- revocation_snapshot: what the bridge needs to warm its cache.
SELECT (agentidp.suspend_agent(:'ag')).status AS suspended;
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(s) AS k) AS members,
	   s->'tokens' @> jsonb_build_array(jsonb_build_object('jti', pg_temp.jwt_part(:'tok', 2)->>'jti',
			'exp', pg_temp.jwt_part(:'tok', 2)->'exp')) AS has_revoked_token,
	   s->'agents' @> jsonb_build_array(jsonb_build_object('id', :'ag', 'status', 'suspended')) AS has_suspended_agent,
	   NOT s->'agents' @> jsonb_build_array(jsonb_build_object('id', :'other')) AS active_agent_absent,
	   s->'max_ttl' AS max_ttl
  FROM agentidp.revocation_snapshot() AS s;
SELECT (agentidp.reactivate_agent(:'ag')).status AS reactivated;
SELECT agentidp.revoke_credential(:'cr');
SELECT agentidp.introspect_token(:'tok2') AS credential_revoked;
SELECT agentidp.revocation_snapshot()->'clients' ? :'cid' AS snapshot_has_client;
SELECT extra::jsonb->>'kind' AS kind, extra::jsonb->>'client_id' = :'cid' AS client
  FROM pg_temp.notices(3) WHERE extra::jsonb->>'kind' = 'client';
SELECT dblink_disconnect('listener');

-- A credential past its expires_at: its tokens are inactive, and the snapshot
-- lists its client (a superuser moves the expiry into the past).
SELECT credential_id AS ecr, client_id AS ecid, client_secret AS esec
  FROM agentidp.create_credential(:'ag', now() + interval '1 hour') \gset
SELECT agentidp.issue_token(:'ecid', :'esec')->>'access_token' AS etok \gset
SELECT agentidp.introspect_token(:'etok')->'active' AS before_expiry;
UPDATE agentidp.credentials SET expires_at = now() - interval '1 second' WHERE id = :'ecr';
SELECT agentidp.introspect_token(:'etok') AS credential_expired;
SELECT agentidp.revocation_snapshot()->'clients' ? :'ecid' AS snapshot_has_expired_client;

-- revocation_log: every revocation-relevant change is logged in its own
-- transaction, and revocations_since() is what the bridge applies: a forged
-- pg_notify on the channel (any role may send one) adds nothing.
SELECT max(seq) AS seq0 FROM agentidp.revocation_log \gset
SELECT agentidp.issue_token(:'ocid', :'osec')->>'access_token' AS otok \gset
SELECT agentidp.revoke_token(:'otok');
SELECT (agentidp.suspend_agent(:'other')).status AS suspended_other;
BEGIN;
SELECT (agentidp.reactivate_agent(:'other')).status AS rolled_back;
ROLLBACK;
SELECT pg_notify('agentidp_revocation', json_build_object('kind', 'agent', 'id', :'other', 'status', 'active')::text);
SELECT e->>'kind' AS kind,
	   e->>'subject' IN (:'other', pg_temp.jwt_part(:'otok', 2)->>'jti') AS subject_ok,
	   e->>'status' AS status,
	   e->'exp' = pg_temp.jwt_part(:'otok', 2)->'exp' AS exp_is_token_exp
  FROM jsonb_array_elements(agentidp.revocations_since(:seq0)->'entries') AS e;
SELECT r->'next' = (SELECT to_jsonb(max(seq)) FROM agentidp.revocation_log) AS next_is_last,
	   r->'more' AS more,
	   jsonb_array_length(agentidp.revocations_since((r->>'next')::bigint)->'entries') AS nothing_after
  FROM agentidp.revocations_since(:seq0) AS r;
SELECT (agentidp.revocations_since(NULL)->'entries') @> (agentidp.revocations_since(:seq0)->'entries') AS null_is_start;
SELECT (agentidp.reactivate_agent(:'other')).status AS reactivated_other;
-- The rolled-back reactivation left a gap in seq that is less than a minute
-- old (it could be a transaction still in flight): the row after it is
-- returned, but the cursor stays before the gap so that it is read again.
SELECT (SELECT array_agg(e->>'status' ORDER BY (e->>'seq')::bigint)
		  FROM jsonb_array_elements(r->'entries') AS e) AS statuses,
	   (r->>'next')::bigint = (SELECT max(seq) FROM agentidp.revocation_log WHERE status = 'suspended')
		   AS next_before_gap
  FROM agentidp.revocations_since(:seq0) AS r;
