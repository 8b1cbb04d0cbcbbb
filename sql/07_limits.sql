-- Free-tier limits: agentidp.max_agents (AIQ02), agentidp.monthly_token_quota
-- (AIQ01, sharded counter), agentidp.token_ttl, and the bounds of every setting.
SET client_min_messages = warning;
SET agentidp.bcrypt_cost = 4;
\i sql/include/err.sql

-- max_agents counts agents that are not decommissioned.  Earlier tests left
-- agents behind: allow two more, and mask the number in the messages.
CREATE FUNCTION pg_temp.limit_err(q text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(pg_temp.err(q), 'max_agents is [0-9]+$', 'max_agents is <live + 2>')
$$;
SELECT set_config('agentidp.max_agents',
	((SELECT count(*) FROM agentidp.agents WHERE status <> 'decommissioned') + 2)::text, false) IS NOT NULL AS set;
SELECT id AS l1 FROM agentidp.register_agent('limit-1', 'team-limits', '{agents:read}') \gset
SELECT id AS l2 FROM agentidp.register_agent('limit-2', 'team-limits') \gset
SELECT pg_temp.limit_err($$SELECT agentidp.register_agent('limit-3', 'team-limits')$$);
-- bootstrap_admin registers an agent too, and is refused the same way.
SELECT pg_temp.limit_err($$SELECT agentidp.bootstrap_admin('limit-admin')$$);
-- A suspended agent still counts; a decommissioned one frees its slot.
SELECT status FROM agentidp.suspend_agent(:'l2');
SELECT pg_temp.limit_err($$SELECT agentidp.register_agent('limit-3', 'team-limits')$$);
SELECT status FROM agentidp.decommission_agent(:'l2');
SELECT name FROM agentidp.register_agent('limit-3', 'team-limits');
SELECT pg_temp.limit_err($$SELECT agentidp.register_agent('limit-4', 'team-limits')$$);
-- 0 = unlimited.
SET agentidp.max_agents = 0;
SELECT name FROM agentidp.register_agent('limit-4', 'team-limits');
RESET agentidp.max_agents;
SHOW agentidp.max_agents;

-- monthly_token_quota: per agent and calendar month (UTC).
SELECT client_id AS cid, client_secret AS sec FROM agentidp.create_credential(:'l1') \gset
SET agentidp.monthly_token_quota = 3;
SELECT agentidp.issue_token(:'cid', :'sec') ? 'access_token' AS first,
	   agentidp.issue_token(:'cid', :'sec') ? 'access_token' AS second,
	   agentidp.issue_token(:'cid', :'sec') ? 'access_token' AS third;
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid', :'sec'));
-- The refused request did not count, and was audited.
SELECT sum(issued) AS used, count(*) AS shards,
	   bool_and(shard = pg_backend_pid() % 16) AS this_backends_shard,
	   bool_and(month = date_trunc('month', now() AT TIME ZONE 'UTC')::date) AS this_month
  FROM agentidp.token_usage WHERE agent_id = :'l1';
SELECT action, metadata->>'reason' AS reason, metadata->'quota' AS quota FROM agentidp.audit_events
 WHERE agent_id = :'l1' AND outcome = 'failure';
-- Another backend writes its own shard; the sum still binds.
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=%s',
	split_part(current_setting('unix_socket_directories'), ',', 1),
	current_setting('port'), current_database(), current_user));
SET agentidp.monthly_token_quota = 5;
SELECT r ? 'access_token' AS other_backend_issued FROM dblink('other', format(
	'SET agentidp.monthly_token_quota = 5; SELECT agentidp.issue_token(%L, %L)', :'cid', :'sec')) AS t(r jsonb);
-- (two shards, unless both backend pids fall on the same one)
SELECT count(*) BETWEEN 1 AND 2 AS shards, sum(issued) AS used FROM agentidp.token_usage WHERE agent_id = :'l1';
SELECT agentidp.issue_token(:'cid', :'sec') ? 'access_token' AS fifth;
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid', :'sec'));
SELECT count(*) AS other_refused FROM dblink('other', format(
	'SELECT agentidp.issue_token(%L, %L)', :'cid', :'sec'), false) AS t(r jsonb);
SELECT dblink_error_message('other') LIKE '%monthly token quota exceeded: agentidp.monthly_token_quota is 5%' AS other_message;
SELECT dblink_disconnect('other');
-- Last month's usage does not count (a superuser moves it back a month).
UPDATE agentidp.token_usage SET month = (month - interval '1 month')::date WHERE agent_id = :'l1';
SELECT agentidp.issue_token(:'cid', :'sec') ? 'access_token' AS new_month;
-- 0 = unlimited.
SET agentidp.monthly_token_quota = 0;
SELECT agentidp.issue_token(:'cid', :'sec') ? 'access_token' AS unlimited;
RESET agentidp.monthly_token_quota;
SHOW agentidp.monthly_token_quota;

-- token_ttl sets exp and expires_in.
SET agentidp.token_ttl = 60;
SELECT r->'expires_in' AS expires_in FROM agentidp.issue_token(:'cid', :'sec') AS r;
RESET agentidp.token_ttl;
SELECT agentidp.revocation_snapshot()->'max_ttl' AS max_ttl;

-- Settings refuse values out of range, and only superusers may change them.
SELECT pg_temp.err($$SET agentidp.token_ttl = 4$$);
SELECT pg_temp.err($$SET agentidp.token_ttl = 86401$$);
SELECT pg_temp.err($$SET agentidp.bcrypt_cost = 3$$);
SELECT pg_temp.err($$SET agentidp.bcrypt_cost = 16$$);
SELECT pg_temp.err($$SET agentidp.key_bits = 1024$$);
SELECT pg_temp.err($$SET agentidp.max_agents = -1$$);
SELECT pg_temp.err($$SET agentidp.monthly_token_quota = -1$$);
SELECT pg_temp.err($$SET agentidp.key_encryption_key = 'x'$$);
SET ROLE agentidp_admin;
SELECT pg_temp.err($$SET agentidp.max_agents = 0$$);
SELECT pg_temp.err($$SET agentidp.monthly_token_quota = 0$$);
SELECT pg_temp.err($$SET agentidp.token_ttl = 86400$$);
SELECT pg_temp.err($$SET agentidp.audit_chain = off$$);
RESET ROLE;
