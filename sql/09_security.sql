-- Security: what each role may do, private keys unreadable, internal functions
-- unreachable, a hostile search_path has no effect, bootstrap_admin, no secret
-- in any table.
SET client_min_messages = warning;
SET agentidp.bcrypt_cost = 4;
\i sql/include/err.sql

-- bootstrap_admin: the first admin holds every scope and can get a token.
SELECT agent_id AS adm, credential_id AS adm_cred, client_id AS adm_cid, client_secret AS adm_sec
  FROM agentidp.bootstrap_admin('root-admin') \gset
SELECT name, capabilities, description FROM agentidp.get_agent(:'adm');
SELECT agentidp.issue_token(:'adm_cid', :'adm_sec')->>'scope' AS admin_scope;
SELECT count(*) AS bootstrap_events FROM agentidp.audit_events WHERE agent_id = :'adm' AND action = 'admin.bootstrapped';
-- Only once while a live admin exists.
SELECT pg_temp.err($$SELECT agentidp.bootstrap_admin('second-admin')$$);
SELECT count(*) AS second_admin FROM agentidp.agents WHERE name = 'second-admin';

-- The bridge role: the whole API, no table.
SET ROLE agentidp_bridge;
SELECT id AS br FROM agentidp.register_agent('bridge-made', 'team-security', '{agents:read}') \gset
SELECT client_id AS bcid, client_secret AS bsec FROM agentidp.create_credential(:'br') \gset
SELECT agentidp.issue_token(:'bcid', :'bsec')->>'access_token' AS btok \gset
SELECT agentidp.introspect_token(:'btok')->'active' AS bridge_introspects;
SELECT jsonb_array_length(agentidp.jwks()->'keys') > 0 AS bridge_reads_jwks;
SELECT jsonb_typeof(agentidp.revocation_snapshot()) AS bridge_snapshot;
SELECT agentidp.set_request_context('198.51.100.1', 'bridge', NULL);
SELECT pg_temp.err('SELECT * FROM agentidp.agents');
SELECT pg_temp.err('SELECT * FROM agentidp.credentials');
SELECT pg_temp.err('SELECT * FROM agentidp.tokens');
SELECT pg_temp.err('SELECT * FROM agentidp.signing_keys');
SELECT pg_temp.err('SELECT * FROM agentidp.audit_events');
SELECT pg_temp.err('SELECT * FROM agentidp.audit_log');
SELECT pg_temp.err($$INSERT INTO agentidp.audit_events (action, outcome) VALUES ('agent.updated', 'success')$$);
SELECT pg_temp.err($$UPDATE agentidp.agents SET status = 'active'$$);
-- Internal functions are not callable: no signing with someone else's key,
-- no hashing oracle, no forged failure events.
SELECT pg_temp.err($$SELECT agentidp._sign_jwt('k', '\x00', '{}')$$);
SELECT pg_temp.err($$SELECT agentidp._verify_jwt('x')$$);
SELECT pg_temp.err($$SELECT agentidp._check_secret(NULL, NULL, NULL, 'x')$$);
SELECT pg_temp.err($$SELECT agentidp._hash_secret('x')$$);
SELECT pg_temp.err($$SELECT agentidp._generate_key(2048)$$);
SELECT pg_temp.err($$SELECT agentidp._audit_failure('token.refused', NULL, '{}')$$);
SELECT pg_temp.err($$SELECT agentidp._audit('agent.updated', NULL)$$);
SELECT pg_temp.err($$SELECT agentidp._transition(gen_random_uuid(), 'active')$$);
RESET ROLE;

-- The auditor: the views and verify_audit_chain, nothing else.
SET ROLE agentidp_auditor;
SELECT count(*) > 0 AS auditor_reads_log FROM agentidp.audit_log;
SELECT count(*) > 0 AS auditor_reads_summary FROM agentidp.audit_daily_summary;
SELECT intact AS auditor_verifies FROM agentidp.verify_audit_chain();
SELECT pg_temp.err('SELECT * FROM agentidp.audit_events');
SELECT pg_temp.err('SELECT * FROM agentidp.signing_keys');
SELECT pg_temp.err($$SELECT agentidp.register_agent('auditor-made', 'x')$$);
SELECT pg_temp.err($$SELECT agentidp.list_agents()$$);
SELECT pg_temp.err($$SELECT agentidp.purge_audit('0 seconds')$$);
RESET ROLE;

-- The admin role: the API and the views, but never the key table.
SET ROLE agentidp_admin;
SELECT name FROM agentidp.get_agent(:'br');
SELECT count(*) > 0 AS admin_reads_log FROM agentidp.audit_log;
SELECT count(*) AS admin_sees_keys_info FROM agentidp.signing_keys_info() WHERE status = 'active';
SELECT pg_temp.err('SELECT private_enc FROM agentidp.signing_keys');
SELECT pg_temp.err('SELECT secret_hash FROM agentidp.credentials');
RESET ROLE;

-- Any other role: nothing at all.
DROP ROLE IF EXISTS agentidp_test_nobody;
CREATE ROLE agentidp_test_nobody NOLOGIN;
SET ROLE agentidp_test_nobody;
SELECT pg_temp.err($$SELECT agentidp.jwks()$$);
SELECT pg_temp.err($$SELECT agentidp.introspect_token('x')$$);
SELECT pg_temp.err($$SELECT agentidp.set_request_context(NULL, NULL, NULL)$$);
SELECT pg_temp.err('SELECT * FROM agentidp.audit_log');
RESET ROLE;
DROP ROLE agentidp_test_nobody;

-- A hostile search_path: objects that shadow built-ins and the extension's
-- tables are never used by the SECURITY DEFINER functions.
CREATE SCHEMA evil;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '2000-01-01'::timestamptz $$;
CREATE FUNCTION evil.gen_random_uuid() RETURNS uuid LANGUAGE sql AS $$ SELECT '00000000-0000-0000-0000-000000000000'::uuid $$;
CREATE TABLE evil.agents (id uuid, name text);
CREATE FUNCTION evil.pg_notify(text, text) RETURNS void LANGUAGE sql AS $$ SELECT NULL::void $$;
SET search_path = evil, pg_catalog, public;
SELECT id <> '00000000-0000-0000-0000-000000000000' AS real_uuid, created_at > '2001-01-01' AS real_clock
  FROM agentidp.register_agent('shadowed', 'team-security');
SELECT count(*) AS evil_rows FROM evil.agents;
RESET search_path;
DROP SCHEMA evil CASCADE;

-- No secret is stored in clear anywhere: every issued secret was returned
-- once and only its bcrypt hash is kept.
SELECT count(*) AS tables_with_secrets FROM (
	SELECT t::text FROM agentidp.agents AS t UNION ALL
	SELECT t::text FROM agentidp.credentials AS t UNION ALL
	SELECT t::text FROM agentidp.tokens AS t UNION ALL
	SELECT t::text FROM agentidp.audit_events AS t) AS x(t)
 WHERE strpos(x.t, 'aidp_sk_') > 0;
SELECT count(*) AS hashes_not_bcrypt FROM agentidp.credentials WHERE secret_hash !~ '^\$2a\$[0-9]{2}\$.{53}$';
-- Nor does any audit event carry a token.
SELECT count(*) AS events_with_tokens FROM agentidp.audit_events WHERE metadata::text ~ 'eyJ[A-Za-z0-9_-]+\.eyJ';
-- Nor PostgreSQL's log: the bridge turns off the logging of its bind
-- parameters (client secrets, tokens) in each of its sessions, with a
-- setting that only a superuser or a role granted it may change.
SET ROLE agentidp_bridge;
SET log_parameter_max_length = 0;
SHOW log_parameter_max_length;
RESET log_parameter_max_length;
RESET ROLE;
SET ROLE agentidp_auditor;
SET log_parameter_max_length = 0;
RESET ROLE;
-- The chain is intact at the end of the suite.
SELECT intact FROM agentidp.verify_audit_chain();
