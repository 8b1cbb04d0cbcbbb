-- Agent life cycle: every transition, allowed or not, with its effects on
-- credentials, tokens, events and notices; decommission is final and soft.
SET client_min_messages = warning;
SET agentidp.bcrypt_cost = 4;
\i sql/include/err.sql

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

SELECT id AS ag FROM agentidp.register_agent('life-agent', 'team-life', '{agents:read}') \gset
SELECT credential_id AS c1, client_id AS cid1, client_secret AS sec1 FROM agentidp.create_credential(:'ag') \gset
SELECT credential_id AS c2, client_id AS cid2, client_secret AS sec2 FROM agentidp.create_credential(:'ag') \gset
SELECT agentidp.issue_token(:'cid1', :'sec1')->>'access_token' AS t1 \gset
SELECT agentidp.issue_token(:'cid2', :'sec2')->>'access_token' AS t2 \gset

-- active -> active is not a transition.
SELECT pg_temp.err(format('SELECT agentidp.reactivate_agent(%L)', :'ag'));
-- active -> suspended
SELECT status, updated_at > created_at AS touched FROM agentidp.suspend_agent(:'ag');
-- suspended -> suspended
SELECT pg_temp.err(format('SELECT agentidp.suspend_agent(%L)', :'ag'));
-- while suspended: no token, live tokens inactive, credentials untouched
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid1', :'sec1'));
SELECT agentidp.introspect_token(:'t1')->'active' AS t1, agentidp.introspect_token(:'t2')->'active' AS t2;
SELECT status, count(*) FROM agentidp.list_credentials(:'ag') GROUP BY status;
-- suspended -> active: the same tokens are active again
SELECT status FROM agentidp.reactivate_agent(:'ag');
SELECT agentidp.introspect_token(:'t1')->'active' AS t1, agentidp.introspect_token(:'t2')->'active' AS t2;
-- active -> decommissioned: credentials and live tokens revoked in the same transaction
BEGIN;
SELECT status FROM agentidp.decommission_agent(:'ag');
SELECT (SELECT count(*) FROM agentidp.credentials WHERE agent_id = :'ag' AND status = 'active') AS active_credentials,
	   (SELECT count(*) FROM agentidp.tokens WHERE agent_id = :'ag' AND revoked_at IS NULL) AS unrevoked_tokens;
COMMIT;
SELECT agentidp.introspect_token(:'t1') AS t1, agentidp.introspect_token(:'t2') AS t2;
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid1', :'sec1'));
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'cid2', :'sec2'));
-- decommissioned is final
SELECT pg_temp.err(format('SELECT agentidp.reactivate_agent(%L)', :'ag'));
SELECT pg_temp.err(format('SELECT agentidp.suspend_agent(%L)', :'ag'));
SELECT pg_temp.err(format('SELECT agentidp.decommission_agent(%L)', :'ag'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'ag', '{"description": "x"}'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'ag', '{"status": "active"}'));
-- ... and soft: the row stays for forensics, and its name is free again.
SELECT name, status FROM agentidp.get_agent(:'ag');
SELECT id <> :'ag' AS new_agent, status FROM agentidp.register_agent('life-agent', 'team-life');

-- suspended -> decommissioned is allowed too.
SELECT id AS ag2 FROM agentidp.register_agent('life-agent-2', 'team-life') \gset
SELECT status FROM agentidp.suspend_agent(:'ag2');
SELECT status FROM agentidp.decommission_agent(:'ag2');
SELECT pg_temp.err($$SELECT agentidp.suspend_agent('00000000-0000-0000-0000-000000000000')$$);

-- Every transition wrote its event.
SELECT action, outcome, metadata->>'reason' AS reason, metadata->'tokens_revoked' AS tokens_revoked
  FROM agentidp.audit_events WHERE agent_id = :'ag' ORDER BY id;
SELECT action FROM agentidp.audit_events WHERE agent_id = :'ag2' ORDER BY id;

-- And the bridge heard of each (delivered at commit).
SELECT extra::jsonb->>'kind' AS kind, extra::jsonb->>'status' AS status,
	   extra::jsonb->>'client_id' IN (:'cid1', :'cid2') AS client
  FROM pg_temp.notices(7);
SELECT dblink_disconnect('listener');

-- A rolled-back transition leaves nothing behind: no change, no event.
SELECT id AS ag3 FROM agentidp.register_agent('life-agent-3', 'team-life') \gset
BEGIN;
SELECT status FROM agentidp.suspend_agent(:'ag3');
ROLLBACK;
SELECT status FROM agentidp.get_agent(:'ag3');
SELECT count(*) AS suspension_events FROM agentidp.audit_events WHERE agent_id = :'ag3' AND action = 'agent.suspended';
