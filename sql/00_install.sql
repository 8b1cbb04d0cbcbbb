-- Installation: the extension installs (and reinstalls) cleanly, every object
-- follows the house rules, and the privileges are exactly those of DESIGN.md.
SET client_min_messages = warning;

CREATE EXTENSION agentidp CASCADE;
-- A second install after a drop finds the roles already there.
DROP EXTENSION agentidp;
CREATE EXTENSION agentidp;

SELECT extname, extversion, n.nspname AS schema, extrelocatable
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname IN ('agentidp', 'pgcrypto') ORDER BY 1;

-- Roles exist and cannot log in.
SELECT rolname, rolcanlogin, rolsuper FROM pg_roles
 WHERE rolname IN ('agentidp_admin', 'agentidp_bridge', 'agentidp_auditor') ORDER BY 1;

-- Tables of the schema.
SELECT c.relname, c.relkind FROM pg_class c
 WHERE c.relnamespace = 'agentidp'::regnamespace AND c.relkind IN ('r', 'v')
 ORDER BY 1;

-- Every function: volatility, strictness, parallel safety, SECURITY DEFINER.
SELECT p.oid::regprocedure AS function, p.provolatile AS vol, p.proisstrict AS strict,
	   p.proparallel AS par, p.prosecdef AS definer
  FROM pg_proc p
 WHERE p.pronamespace = 'agentidp'::regnamespace
 ORDER BY p.proname, p.oid::regprocedure::text;

-- Every SECURITY DEFINER function pins search_path.
SELECT p.oid::regprocedure AS unpinned
  FROM pg_proc p
 WHERE p.pronamespace = 'agentidp'::regnamespace AND p.prosecdef
   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false);

-- Every public function and view is documented.
SELECT p.oid::regprocedure AS undocumented
  FROM pg_proc p
 WHERE p.pronamespace = 'agentidp'::regnamespace AND p.proname !~ '^_'
   AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT c.relname AS undocumented_view FROM pg_class c
 WHERE c.relnamespace = 'agentidp'::regnamespace AND c.relkind = 'v'
   AND obj_description(c.oid, 'pg_class') IS NULL;

-- Nothing is executable by PUBLIC.
SELECT p.oid::regprocedure AS public_executable
  FROM pg_proc p
 WHERE p.pronamespace = 'agentidp'::regnamespace
   AND has_function_privilege('public', p.oid, 'EXECUTE');

-- Who may execute what: the three roles.
SELECT p.proname,
	   has_function_privilege('agentidp_admin', p.oid, 'EXECUTE') AS admin,
	   has_function_privilege('agentidp_bridge', p.oid, 'EXECUTE') AS bridge,
	   has_function_privilege('agentidp_auditor', p.oid, 'EXECUTE') AS auditor
  FROM pg_proc p
 WHERE p.pronamespace = 'agentidp'::regnamespace
 ORDER BY p.proname;

-- Tables and views: only the views are readable, by admin and auditor.
SELECT c.relname,
	   has_table_privilege('agentidp_admin', c.oid, 'SELECT') AS admin,
	   has_table_privilege('agentidp_bridge', c.oid, 'SELECT') AS bridge,
	   has_table_privilege('agentidp_auditor', c.oid, 'SELECT') AS auditor,
	   (SELECT array_agg(DISTINCT a.grantee::regrole::text ORDER BY a.grantee::regrole::text)
		  FROM aclexplode(c.relacl) AS a WHERE a.grantee <> c.relowner) AS grantees
  FROM pg_class c
 WHERE c.relnamespace = 'agentidp'::regnamespace AND c.relkind IN ('r', 'v')
 ORDER BY 1;

-- The audit triggers fire ALWAYS (even with session_replication_role = replica).
SELECT tgrelid::regclass AS tbl, tgname, tgenabled
  FROM pg_trigger
 WHERE tgrelid IN ('agentidp.audit_events'::regclass, 'agentidp.audit_anchors'::regclass)
   AND NOT tgisinternal
 ORDER BY 1, 2;

-- Settings and their defaults.
SELECT name, setting, context FROM pg_settings
 WHERE name LIKE 'agentidp.%' AND name <> 'agentidp.key_encryption_key'
 ORDER BY 1;

-- The prefix is reserved: a misspelt setting is refused.
\set VERBOSITY terse
SET agentidp.no_such_setting = 1;
\set VERBOSITY default

-- Nothing exists yet.
SELECT (SELECT count(*) FROM agentidp.agents) AS agents,
	   (SELECT count(*) FROM agentidp.signing_keys) AS keys,
	   (SELECT count(*) FROM agentidp.audit_events) AS events;
