-- Batches: issue_tokens and revoke_tokens run many requests in one
-- transaction and answer them index by index: refusals one by one, the
-- accepted requests written together.
SET client_min_messages = warning;
SET agentidp.bcrypt_cost = 4;
\i sql/include/err.sql
CREATE FUNCTION pg_temp.claims(tok text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT convert_from(decode(rpad(translate(split_part(tok, '.', 2), '-_', '+/'),
		(length(split_part(tok, '.', 2)) + 3) / 4 * 4, '='), 'base64'), 'UTF8')::jsonb
$$;
-- An answer with uuids and tokens masked, for deterministic output.
CREATE FUNCTION pg_temp.shape(a jsonb) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(a::text,
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
		'"access_token": "[^"]+"', '"access_token": "<jwt>"', 'g')
$$;

SELECT id AS ag FROM agentidp.register_agent('batch-agent', 'team-batch', '{agents:read,audit:read}') \gset
SELECT client_id AS cid, client_secret AS sec FROM agentidp.create_credential(:'ag') \gset
SELECT id AS other FROM agentidp.register_agent('batch-other', 'team-batch', '{agents:read}') \gset
SELECT client_id AS ocid, client_secret AS osec FROM agentidp.create_credential(:'other') \gset

-- Four requests: two good ones (one with a scope and an audience), a wrong
-- secret and a scope beyond the agent's capabilities.  The two refusals are
-- answered at their own index; the good ones are issued all the same.
SELECT agentidp.issue_tokens(jsonb_build_array(
	jsonb_build_object('client_id', :'cid', 'client_secret', :'sec', 'ip', '192.0.2.1', 'user_agent', 'ua-one'),
	jsonb_build_object('client_id', :'cid', 'client_secret', 'aidp_sk_wrong', 'ip', '192.0.2.2'),
	jsonb_build_object('client_id', :'cid', 'client_secret', :'sec', 'scope', 'agents:write'),
	jsonb_build_object('client_id', :'cid', 'client_secret', :'sec', 'scope', 'audit:read',
					   'audience', 'https://rs.example.test', 'ip', '2001:db8::9', 'user_agent', 'ua-four')
)) AS batch \gset
SELECT i, pg_temp.shape(e) AS answer
  FROM jsonb_array_elements(:'batch'::jsonb) WITH ORDINALITY AS a(e, i) ORDER BY i;
-- The issued tokens are real: their claims, their rows, their audit events
-- with each request's own address and user agent.
SELECT i, c->>'scope' AS scope, c->>'aud' = 'https://rs.example.test' AS custom_aud, c->>'sub' = :'ag' AS sub_ok
  FROM jsonb_array_elements(:'batch'::jsonb) WITH ORDINALITY AS a(e, i),
	   LATERAL pg_temp.claims(e->'token'->>'access_token') AS c
 WHERE e ? 'token' ORDER BY i;
SELECT count(*) AS token_rows FROM agentidp.tokens WHERE agent_id = :'ag';
SELECT action, outcome, host(ip_address) AS ip, user_agent, metadata->>'scope' AS scope,
	   metadata->>'reason' AS reason
  FROM agentidp.audit_events WHERE metadata->>'client_id' = :'cid' ORDER BY id;
SELECT (SELECT count(*) FROM agentidp.tokens AS t WHERE t.agent_id = :'ag'
		   AND NOT EXISTS (SELECT 1 FROM agentidp.audit_events AS e
						   WHERE e.action = 'token.issued' AND e.metadata->>'jti' = t.jti::text))
	   AS tokens_without_audit_row;

-- The batch's shape is checked before anything runs.
SELECT pg_temp.err('SELECT agentidp.issue_tokens(NULL)');
SELECT pg_temp.err('SELECT agentidp.issue_tokens(''{}'')');
SELECT pg_temp.err('SELECT agentidp.issue_tokens(''[]'')');
SELECT pg_temp.err('SELECT agentidp.issue_tokens(''[1]'')');
SELECT pg_temp.err(format('SELECT agentidp.issue_tokens(%L)',
	(SELECT jsonb_agg(jsonb_build_object('client_id', 'x')) FROM generate_series(1, 65))));
SELECT pg_temp.err('SELECT agentidp.revoke_tokens(''"x"'')');
-- A request field of the wrong type fails that request only.
SELECT pg_temp.shape(agentidp.issue_tokens(jsonb_build_array(
	jsonb_build_object('client_id', :'cid', 'client_secret', :'sec', 'ip', 'not-an-address'),
	jsonb_build_object('client_id', :'cid', 'client_secret', :'sec')))) AS answer;
-- 64 requests are one batch.
SELECT count(*) FILTER (WHERE e ? 'token') AS issued_of_64
  FROM jsonb_array_elements(agentidp.issue_tokens((SELECT jsonb_agg(jsonb_build_object(
	'client_id', :'cid', 'client_secret', :'sec')) FROM generate_series(1, 64)))) AS e;

-- The quota holds inside a batch as it would one request after another: with
-- 2 tokens left this month, the first two of four are issued and the last
-- two refused (and audited), and the counter ends at the quota.
SELECT id AS qag FROM agentidp.register_agent('batch-quota', 'team-batch', '{agents:read}') \gset
SELECT client_id AS qcid, client_secret AS qsec FROM agentidp.create_credential(:'qag') \gset
SET agentidp.monthly_token_quota = 3;
SELECT agentidp.issue_token(:'qcid', :'qsec') ? 'access_token' AS first_of_three;
SELECT i, coalesce(e->>'sqlstate', 'token') AS answer, e->>'message' AS message
  FROM jsonb_array_elements(agentidp.issue_tokens((SELECT jsonb_agg(jsonb_build_object(
	'client_id', :'qcid', 'client_secret', :'qsec')) FROM generate_series(1, 4)))) WITH ORDINALITY AS a(e, i)
 ORDER BY i;
SELECT sum(issued) AS counted FROM agentidp.token_usage WHERE agent_id = :'qag';
SELECT count(*) AS token_rows FROM agentidp.tokens WHERE agent_id = :'qag';
SELECT count(*) FILTER (WHERE action = 'token.issued') AS issued_events,
	   count(*) FILTER (WHERE action = 'token.refused' AND metadata->>'reason' = 'quota_exceeded') AS refused_events
  FROM agentidp.audit_events WHERE agent_id = :'qag';
RESET agentidp.monthly_token_quota;

-- One client authenticated is not thereby trusted with another secret: a
-- wrong secret after a right one, for the same client, is refused.
SELECT i, coalesce(e->>'sqlstate', 'token') AS answer
  FROM jsonb_array_elements(agentidp.issue_tokens(jsonb_build_array(
	jsonb_build_object('client_id', :'cid', 'client_secret', :'sec'),
	jsonb_build_object('client_id', :'cid', 'client_secret', :'sec' || 'x'),
	jsonb_build_object('client_id', :'cid'),
	jsonb_build_object('client_id', :'ocid', 'client_secret', :'sec'),
	jsonb_build_object('client_id', :'cid', 'client_secret', :'sec')))) WITH ORDINALITY AS a(e, i)
 ORDER BY i;

-- When writing and signing fails (here a sealed key that no longer opens),
-- every accepted request gets that error and nothing of them stays; the
-- refused one keeps its own answer.
BEGIN;
SELECT count(*) AS tokens_before FROM agentidp.tokens \gset
UPDATE agentidp.signing_keys SET private_enc = overlay(private_enc PLACING '\xff'::bytea FROM 40 FOR 1)
 WHERE status = 'active';
SELECT i, e->>'sqlstate' AS sqlstate
  FROM jsonb_array_elements(agentidp.issue_tokens(jsonb_build_array(
	jsonb_build_object('client_id', :'cid', 'client_secret', :'sec'),
	jsonb_build_object('client_id', :'cid', 'client_secret', 'aidp_sk_wrong'),
	jsonb_build_object('client_id', :'ocid', 'client_secret', :'osec')))) WITH ORDINALITY AS a(e, i)
 ORDER BY i;
SELECT count(*) = :tokens_before AS no_token_left FROM agentidp.tokens;
ROLLBACK;

-- revoke_tokens: each client authenticated, each limited to its own tokens.
-- It sends no NOTIFY (see agentidp._revoke): psql would print any notice
-- on the channel, with its payload and our PID, after the statement that
-- sent it, until the UNLISTEN below.
LISTEN agentidp_revocation;
SELECT agentidp.issue_token(:'cid', :'sec')->>'access_token' AS t1 \gset
SELECT agentidp.issue_token(:'cid', :'sec')->>'access_token' AS t2 \gset
SELECT agentidp.issue_token(:'ocid', :'osec')->>'access_token' AS t3 \gset
SELECT agentidp.revoke_tokens(jsonb_build_array(
	jsonb_build_object('token', :'t1', 'client_id', :'cid', 'client_secret', :'sec', 'ip', '198.51.100.1'),
	-- the other agent's token: accepted (RFC 7009) but left alone
	jsonb_build_object('token', :'t3', 'client_id', :'cid', 'client_secret', :'sec'),
	jsonb_build_object('token', :'t2', 'client_id', :'cid', 'client_secret', 'aidp_sk_wrong'),
	-- not a token at all: accepted, nothing happens
	jsonb_build_object('token', 'garbage', 'client_id', :'ocid', 'client_secret', :'osec')
)) AS rb \gset
-- jti and exp come with the answer of the request that revoked the token.
SELECT i, e->>'agent_id' = :'ag' AS own_agent, e->>'agent_id' = :'other' AS other_agent,
	   e->>'jti' = (pg_temp.claims(:'t1')->>'jti') AND e->'exp' = pg_temp.claims(:'t1')->'exp' AS revoked_t1,
	   e->>'sqlstate' AS sqlstate, e->>'message' AS message
  FROM jsonb_array_elements(:'rb'::jsonb) WITH ORDINALITY AS a(e, i) ORDER BY i;
SELECT c->>'jti' AS j1 FROM pg_temp.claims(:'t1') AS c \gset
SELECT c->>'jti' AS j2 FROM pg_temp.claims(:'t2') AS c \gset
SELECT c->>'jti' AS j3 FROM pg_temp.claims(:'t3') AS c \gset
SELECT jti::text = :'j1' AS is_t1, jti::text = :'j2' AS is_t2, jti::text = :'j3' AS is_t3,
	   revoked_at IS NOT NULL AS revoked
  FROM agentidp.tokens WHERE jti IN (:'j1', :'j2', :'j3') ORDER BY is_t1 DESC, is_t2 DESC;
SELECT action, host(ip_address) AS ip FROM agentidp.audit_events
 WHERE action = 'token.revoked' AND metadata->>'jti' IN (:'j1', :'j2', :'j3');
SELECT kind, subject = :'j1' AS is_t1 FROM agentidp.revocation_log WHERE subject IN (:'j1', :'j2', :'j3');
SELECT agentidp.introspect_token(:'t1')->'active' AS t1_active,
	   agentidp.introspect_token(:'t2')->'active' AS t2_active,
	   agentidp.introspect_token(:'t3')->'active' AS t3_active;

-- The same token twice in one batch is revoked, audited and logged once.
SELECT agentidp.issue_token(:'cid', :'sec')->>'access_token' AS t4 \gset
SELECT c->>'jti' AS j4 FROM pg_temp.claims(:'t4') AS c \gset
SELECT count(*) FILTER (WHERE e->>'agent_id' = :'ag') AS own_agent,
	   count(*) FILTER (WHERE e->>'jti' = :'j4') AS revoked_here,
	   count(*) FILTER (WHERE e ? 'jti' AND i = 3) AS revoked_by_no_token
  FROM jsonb_array_elements(agentidp.revoke_tokens(jsonb_build_array(
	jsonb_build_object('token', :'t4', 'client_id', :'cid', 'client_secret', :'sec'),
	jsonb_build_object('token', :'t4', 'client_id', :'cid', 'client_secret', :'sec'),
	jsonb_build_object('client_id', :'cid', 'client_secret', :'sec')))) WITH ORDINALITY AS a(e, i);
SELECT (SELECT count(*) FROM agentidp.audit_events WHERE action = 'token.revoked' AND metadata->>'jti' = :'j4') AS events,
	   (SELECT count(*) FROM agentidp.revocation_log WHERE subject = :'j4') AS log_rows,
	   (SELECT revoked_at IS NOT NULL FROM agentidp.tokens WHERE jti = :'j4') AS revoked;
UNLISTEN agentidp_revocation;

-- Only the bridge's and the admins' roles may call them.
SELECT has_function_privilege('agentidp_bridge', 'agentidp.issue_tokens(jsonb)', 'EXECUTE') AS bridge_issue,
	   has_function_privilege('agentidp_bridge', 'agentidp.revoke_tokens(jsonb)', 'EXECUTE') AS bridge_revoke,
	   has_function_privilege('agentidp_auditor', 'agentidp.issue_tokens(jsonb)', 'EXECUTE') AS auditor_issue,
	   has_function_privilege('public', 'agentidp.revoke_tokens(jsonb)', 'EXECUTE') AS public_revoke;
-- The audit chain still verifies after all of the above.
SELECT intact FROM agentidp.verify_audit_chain();

-- revocation_log keeps a row for a token lifetime plus ten minutes: the next
-- revocation purges older rows and keeps younger ones.
INSERT INTO agentidp.revocation_log (kind, subject, logged_at) VALUES
	('token', 'purge-me', now() - interval '2 hours'),
	('token', 'keep-me', now() - interval '30 minutes');
SELECT agentidp.revoke_token(:'t2');
SELECT subject FROM agentidp.revocation_log WHERE subject IN ('purge-me', 'keep-me');
-- A backend keeps the plans of the purge and of revocations_since until the
-- log's statistics change.  Planned on a near-empty log (as here, just
-- analysed), they must still scan an index: a sequential scan would read
-- the whole log on every revocation of a later burst.
-- (The counters also hold this backend's scans not yet reported, hence the
-- differences.)
ANALYZE agentidp.revocation_log;
BEGIN;
SELECT seq_scan AS seq0, idx_scan AS idx0
  FROM pg_stat_xact_user_tables WHERE relid = 'agentidp.revocation_log'::regclass \gset
SELECT agentidp._purge_revocation_log();
SELECT agentidp.revocations_since(0) ? 'entries' AS read_the_log;
SELECT seq_scan - :seq0 AS sequential_scans, idx_scan - :idx0 >= 2 AS index_scans
  FROM pg_stat_xact_user_tables WHERE relid = 'agentidp.revocation_log'::regclass;
ROLLBACK;
