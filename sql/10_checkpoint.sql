-- Signed audit checkpoints: the format, verification (also after key rotation
-- and retirement), and what they catch that the hash chain cannot: a full
-- rewrite with every hash recomputed, and the removal of a stream's newest
-- events.  Nothing may write an audit event in this session after the
-- rewrite below (the backend's stream no longer matches its memory).
SET client_min_messages = warning;
SET agentidp.bcrypt_cost = 4;
-- 'ok', or the SQLSTATE and message of the error the statement raised.
\i sql/include/err.sql
-- The decoded JSON of part i (1 = header, 2 = claims) of a compact JWS.
CREATE FUNCTION pg_temp.jws_part(tok text, i int) RETURNS jsonb LANGUAGE sql AS $$
	SELECT convert_from(decode(rpad(translate(split_part(tok, '.', i), '-_', '+/'),
		(length(split_part(tok, '.', i)) + 3) / 4 * 4, '='), 'base64'), 'UTF8')::jsonb
$$;
-- verify_audit_checkpoint with uuids, kids, times and hashes masked.
CREATE FUNCTION pg_temp.check(ckpt text)
RETURNS TABLE(valid_signature boolean, consistent boolean, all_streams boolean, detail text)
LANGUAGE sql AS $$
	SELECT v.valid_signature, v.consistent,
		   v.streams_checked = jsonb_array_length(pg_temp.jws_part(ckpt, 2)->'streams'),
		   regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(v.detail,
			   '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
			   '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', '<time>', 'g'),
			   '(key|kid) [A-Za-z0-9_-]{43}', '\1 <kid>', 'g'),
			   '[0-9a-f]{16}', '<hash>', 'g'),
			   '\d+', '<n>', 'g')
	  FROM agentidp.verify_audit_checkpoint(ckpt) AS v
$$;
-- Rewrite a stream from seq k on as a superuser would: every prev_hash and
-- row_hash recomputed, so that the hash chain alone shows nothing.
CREATE FUNCTION pg_temp.rechain(s uuid, k bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r		record;
	prev	bytea;
BEGIN
	FOR r IN SELECT id FROM agentidp.audit_events
			  WHERE chain_stream = s AND chain_seq >= k ORDER BY chain_seq LOOP
		IF prev IS NOT NULL THEN
			UPDATE agentidp.audit_events SET prev_hash = prev WHERE id = r.id;
		END IF;
		UPDATE agentidp.audit_events AS e SET row_hash = agentidp._audit_row_hash(e)
		 WHERE id = r.id RETURNING row_hash INTO prev;
	END LOOP;
END $$;

SELECT id AS ag FROM agentidp.register_agent('ckpt-agent', 'team-ckpt', '{agents:read}') \gset
SELECT id AS ev, chain_stream AS stream, chain_seq AS ev_seq FROM agentidp.audit_events
 WHERE agent_id = :'ag' AND action = 'agent.registered' \gset
SELECT client_id AS cid, client_secret AS sec FROM agentidp.create_credential(:'ag') \gset
SELECT agentidp.issue_token(:'cid', :'sec')->>'access_token' AS tok \gset
SELECT kid AS kid1 FROM agentidp.signing_keys WHERE status = 'active' \gset

-- The format: a compact RS256 JWS of its own type, signed by the active key.
SELECT agentidp.audit_checkpoint() AS ckpt1 \gset
SELECT h->>'alg' AS alg, h->>'typ' AS typ, h->>'kid' = :'kid1' AS active_kid,
	   (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(h) AS k) AS header_members
  FROM pg_temp.jws_part(:'ckpt1', 1) AS h;
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(c) AS k) AS claims,
	   c->>'iss' AS iss,
	   abs((c->>'iat')::bigint - extract(epoch FROM now())) < 60 AS iat_now,
	   (c->>'events')::bigint = (SELECT count(*) FROM agentidp.audit_events) AS events,
	   (c->>'max_event_id')::bigint = (SELECT max(id) FROM agentidp.audit_events) AS max_id,
	   jsonb_array_length(c->'streams') =
		   (SELECT count(DISTINCT s) FROM (SELECT chain_stream FROM agentidp.audit_events
										   WHERE chain_stream IS NOT NULL
										   UNION SELECT chain_stream FROM agentidp.audit_anchors) AS x(s)) AS one_head_per_stream,
	   (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(c->'streams'->0) AS k) AS head_members
  FROM pg_temp.jws_part(:'ckpt1', 2) AS c;
-- Each head is the stream's newest event; the digest is recomputable.
SELECT h->>'row_hash' = encode(e.row_hash, 'hex') AS my_head_matches
  FROM jsonb_array_elements(pg_temp.jws_part(:'ckpt1', 2)->'streams') AS h
  JOIN agentidp.audit_events AS e ON e.chain_stream = (h->>'stream')::uuid AND e.chain_seq = (h->>'seq')::bigint
 WHERE (h->>'stream')::uuid = :'stream'
   AND e.chain_seq = (SELECT max(chain_seq) FROM agentidp.audit_events WHERE chain_stream = :'stream');
SELECT encode(sha256(convert_to(string_agg(
		   (h->>'stream') || ':' || (h->>'seq') || ':' || (h->>'row_hash'), E'\n' ORDER BY h->>'stream' COLLATE "C"),
		   'UTF8')), 'hex') = pg_temp.jws_part(:'ckpt1', 2)->>'heads_digest' AS digest_recomputed
  FROM jsonb_array_elements(pg_temp.jws_part(:'ckpt1', 2)->'streams') AS h;

-- It verifies, and still does once newer events follow the heads.
SELECT * FROM pg_temp.check(:'ckpt1');
SELECT status FROM agentidp.suspend_agent(:'ag');
SELECT * FROM pg_temp.check(:'ckpt1');

-- A changed payload or signature does not verify.
SELECT split_part(:'ckpt1', '.', 1) || '.' ||
	   agentidp._b64url(convert_to(jsonb_set(pg_temp.jws_part(:'ckpt1', 2), '{events}', '1')::text, 'UTF8')) || '.' ||
	   split_part(:'ckpt1', '.', 3) AS forged \gset
SELECT * FROM pg_temp.check(:'forged');
SELECT * FROM pg_temp.check(left(:'ckpt1', length(:'ckpt1') - 2) ||
	   CASE WHEN right(:'ckpt1', 2) = 'AA' THEN 'BA' ELSE 'AA' END);

-- Not interchangeable with access tokens, in either direction.
SELECT pg_temp.err(format('SELECT * FROM agentidp.verify_audit_checkpoint(%L)', :'tok'));
SELECT pg_temp.err('SELECT * FROM agentidp.verify_audit_checkpoint(NULL)');
SELECT pg_temp.err($$SELECT * FROM agentidp.verify_audit_checkpoint('not.a.jws')$$);
SELECT agentidp.introspect_token(:'ckpt1') AS checkpoint_as_token;
SELECT agentidp._verify_jwt(:'ckpt1') IS NULL AS jwt_verifier_refuses;
SELECT agentidp._verify_jws(:'tok', 'agentidp-audit-checkpoint+jwt') IS NULL AS jws_verifier_refuses_token;
SELECT pg_temp.err(format('SELECT agentidp._verify_jws(%L, %L)', :'tok', 'at+jwt'));
SELECT pg_temp.err($$SELECT agentidp._sign_jws('k1', '\x00', 'AT+JWT', '{}')$$);
SELECT pg_temp.err($$SELECT agentidp._sign_jws('k1', '\x00', 'a"b', '{}')$$);
-- The roles: admin and auditor may checkpoint and verify, the bridge not.
SELECT has_function_privilege('agentidp_auditor', 'agentidp.audit_checkpoint()', 'EXECUTE') AS auditor_checkpoints,
	   has_function_privilege('agentidp_bridge', 'agentidp.verify_audit_checkpoint(text)', 'EXECUTE') AS bridge_verifies;

-- A checkpoint outlives its key: after rotation (old key retiring) and
-- retirement it still verifies, and says which key signed it.
SELECT count(*) AS rotated FROM agentidp.rotate_signing_key();
SELECT * FROM pg_temp.check(:'ckpt1');
SELECT agentidp.retire_signing_key(:'kid1') IS NOT NULL AS retired;
SELECT status FROM agentidp.signing_keys WHERE kid = :'kid1';
SELECT * FROM pg_temp.check(:'ckpt1');
-- ...while an access token of that key is dead.
SELECT agentidp.introspect_token(:'tok')->'active' AS old_token_active;
-- A new checkpoint is signed by the new active key.
SELECT pg_temp.jws_part(agentidp.audit_checkpoint(), 1)->>'kid' =
	   (SELECT kid FROM agentidp.signing_keys WHERE status = 'active') AS new_key_signs;

-- A superuser rewrites an old event and recomputes every later hash of the
-- stream: the chain verifies, the earlier checkpoint does not.
SELECT agentidp.audit_checkpoint() AS ckpt2 \gset
BEGIN;
ALTER TABLE agentidp.audit_events DISABLE TRIGGER audit_events_guard;
UPDATE agentidp.audit_events SET metadata = '{"rewritten": true}' WHERE id = :'ev';
SELECT pg_temp.rechain(:'stream', :'ev_seq');
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_guard;
COMMIT;
SELECT intact, first_bad_event FROM agentidp.verify_audit_chain();
SELECT * FROM pg_temp.check(:'ckpt2');
SELECT * FROM pg_temp.check(:'ckpt1');
-- A checkpoint taken after the rewrite is consistent with it...
SELECT agentidp.audit_checkpoint() AS ckpt3 \gset
SELECT * FROM pg_temp.check(:'ckpt3');
-- ...and catches the removal of the stream's newest events, which the chain
-- cannot see (nothing follows them).
BEGIN;
ALTER TABLE agentidp.audit_events DISABLE TRIGGER audit_events_guard;
DELETE FROM agentidp.audit_events
 WHERE chain_stream = :'stream'
   AND chain_seq > (SELECT max(chain_seq) - 2 FROM agentidp.audit_events WHERE chain_stream = :'stream');
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_guard;
COMMIT;
SELECT intact FROM agentidp.verify_audit_chain();
SELECT * FROM pg_temp.check(:'ckpt3');
