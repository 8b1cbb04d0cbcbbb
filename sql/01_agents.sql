-- Agent registry: register, get, list (filters, keyset pages), update.
SET client_min_messages = warning;
SET agentidp.bcrypt_cost = 4;
\i sql/include/err.sql

-- register_agent: defaults, then every argument.
SELECT id AS a1, status, capabilities, metadata, description IS NULL AS no_description,
	   created_at = updated_at AS fresh
  FROM agentidp.register_agent('alpha', 'team-agents') \gset
SELECT :'a1'::uuid IS NOT NULL AS has_id, :'status' AS status, :'capabilities' AS caps,
	   :'metadata' AS metadata, :'no_description' AS no_description, :'fresh' AS fresh;
SELECT id AS a2 FROM agentidp.register_agent('Beta-Bot', 'team-agents',
	ARRAY['agents:read', 'audit:read', 'agents:read'], 'reads things', '{"tier": "gold"}') \gset
SELECT name, owner, capabilities, description, metadata, status
  FROM agentidp.get_agent(:'a2');
SELECT id AS a3 FROM agentidp.register_agent('gamma', 'team-other', '{tokens:introspect}') \gset
SELECT id AS a4 FROM agentidp.register_agent('delta', 'team-agents') \gset
SELECT id AS a5 FROM agentidp.register_agent('beta-two', 'team-agents') \gset

-- Every registration is audited in the same transaction.
SELECT action, outcome, metadata->>'name' AS name FROM agentidp.audit_events
 WHERE agent_id = :'a2' ORDER BY id;

-- Invalid input.
SELECT pg_temp.err($$SELECT agentidp.register_agent('', 'o')$$);
SELECT pg_temp.err($$SELECT agentidp.register_agent('x', '  ')$$);
SELECT pg_temp.err($$SELECT agentidp.register_agent(NULL, 'o')$$);
SELECT pg_temp.err($$SELECT agentidp.register_agent('x', 'o', '{"has space"}')$$);
SELECT pg_temp.err($$SELECT agentidp.register_agent('x', 'o', '{"quote\""}')$$);
SELECT pg_temp.err($$SELECT agentidp.register_agent('x', 'o', '{{a,b},{c,d}}')$$);
SELECT pg_temp.err($$SELECT agentidp.register_agent('x', 'o', '{}', NULL, '[1]')$$);
SELECT pg_temp.err($$SELECT agentidp.register_agent(repeat('n', 201), 'o')$$);
SELECT pg_temp.err($$SELECT agentidp.register_agent('x', repeat('o', 201))$$);
SELECT pg_temp.err($$SELECT agentidp.register_agent('x', 'o', '{}', repeat('d', 2001))$$);
-- A live name is unique (23505, the bridge answers 409).
SELECT pg_temp.err($$SELECT agentidp.register_agent('alpha', 'someone')$$);

-- get_agent.
SELECT name FROM agentidp.get_agent(:'a1');
SELECT pg_temp.err($$SELECT agentidp.get_agent('00000000-0000-0000-0000-000000000000')$$);
SELECT pg_temp.err($$SELECT agentidp.get_agent('not-a-uuid')$$);

-- list_agents: newest first, filters.
SELECT jsonb_array_length(r->'data') AS n, r->'next_cursor' AS next_cursor,
	   (SELECT array_agg(x->>'name') FROM jsonb_array_elements(r->'data') AS x) AS names
  FROM agentidp.list_agents(owner => 'team-agents') AS r;
SELECT (SELECT array_agg(x->>'name') FROM jsonb_array_elements(r->'data') AS x) AS search_beta
  FROM agentidp.list_agents(search => 'BETA', owner => 'team-agents') AS r;
SELECT (SELECT array_agg(x->>'name') FROM jsonb_array_elements(r->'data') AS x) AS other
  FROM agentidp.list_agents(owner => 'team-other', status => 'active') AS r;
SELECT jsonb_array_length(r->'data') AS suspended
  FROM agentidp.list_agents(status => 'suspended', owner => 'team-agents') AS r;
-- Rows carry every column of the agent.
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(r->'data'->0) AS k) AS keys
  FROM agentidp.list_agents(owner => 'team-other') AS r;

-- Keyset pages of 2 cover the 4 agents of team-agents once each, in order.
SELECT r->'next_cursor' IS NOT NULL AND jsonb_typeof(r->'next_cursor') = 'string' AS has_next,
	   r->>'next_cursor' AS c1
  FROM agentidp.list_agents(owner => 'team-agents', lim => 2) AS r \gset
SELECT :'has_next' AS page1_has_next;
SELECT r->>'next_cursor' IS NULL AS last_page,
	   (SELECT array_agg(x->>'name') FROM jsonb_array_elements(r->'data') AS x) AS page2
  FROM agentidp.list_agents(owner => 'team-agents', lim => 2, cursor => :'c1') AS r;
WITH p1 AS (SELECT r FROM agentidp.list_agents(owner => 'team-agents', lim => 2) AS r),
	 p2 AS (SELECT q AS r FROM p1, agentidp.list_agents(owner => 'team-agents', lim => 2,
														 cursor => p1.r->>'next_cursor') AS q),
	 pages AS (SELECT x->>'name' AS name FROM p1, jsonb_array_elements(p1.r->'data') AS x
			   UNION ALL
			   SELECT x->>'name' FROM p2, jsonb_array_elements(p2.r->'data') AS x),
	 full_list AS (SELECT x->>'name' AS name
					 FROM agentidp.list_agents(owner => 'team-agents') AS r,
						  jsonb_array_elements(r->'data') AS x)
SELECT (SELECT array_agg(name) FROM pages) = (SELECT array_agg(name) FROM full_list) AS pages_match,
	   (SELECT count(DISTINCT name) FROM pages) AS distinct_names;
-- A page of exactly the remaining rows has no next cursor.
SELECT r->'next_cursor' AS none
  FROM agentidp.list_agents(owner => 'team-agents', lim => 4) AS r;

-- Bad arguments.
SELECT pg_temp.err($$SELECT agentidp.list_agents(lim => 0)$$);
SELECT pg_temp.err($$SELECT agentidp.list_agents(lim => 101)$$);
SELECT pg_temp.err($$SELECT agentidp.list_agents(status => 'sleeping')$$);
SELECT pg_temp.err($$SELECT agentidp.list_agents(cursor => 'garbage!')$$);
SELECT pg_temp.err($$SELECT agentidp.list_agents(cursor => 'Zm9v')$$);

-- update_agent: each field.
SELECT name, description, owner, capabilities, metadata, status, updated_at > created_at AS touched
  FROM agentidp.update_agent(:'a1', '{"name": "alpha-2", "description": "renamed",
	"capabilities": ["agents:read", "tokens:introspect"], "metadata": {"k": [1, 2]}}');
SELECT owner, description FROM agentidp.update_agent(:'a1', '{"owner": "team-x", "description": null}');
SELECT metadata->'fields' AS fields FROM agentidp.audit_events
 WHERE agent_id = :'a1' AND action = 'agent.updated' ORDER BY id;
-- status in a patch is a lifecycle transition with its own event.
SELECT status FROM agentidp.update_agent(:'a1', '{"status": "suspended"}');
SELECT status FROM agentidp.update_agent(:'a1', '{"status": "suspended"}');
SELECT status, name FROM agentidp.update_agent(:'a1', '{"status": "active", "name": "alpha"}');
SELECT action FROM agentidp.audit_events WHERE agent_id = :'a1' ORDER BY id;

-- Bad patches change nothing.
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '{"colour": "red"}'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '{"name": 5}'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '{"name": ""}'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', jsonb_build_object('owner', repeat('o', 201))));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '{"description": 1}'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '{"capabilities": "admin"}'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '{"capabilities": [1]}'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '{"capabilities": ["a b"]}'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '{"metadata": []}'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '{"status": "decommissioned"}'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '[]'));
SELECT pg_temp.err(format('SELECT agentidp.update_agent(%L, %L)', :'a1', '{"name": "Beta-Bot"}'));
SELECT pg_temp.err($$SELECT agentidp.update_agent('00000000-0000-0000-0000-000000000000', '{}')$$);
SELECT name, owner, status FROM agentidp.get_agent(:'a1');
