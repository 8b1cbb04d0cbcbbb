-- Credentials: create, list, rotate, revoke, expiry, authenticate_client;
-- secrets shown once, bcrypt-hashed, and a rotated secret failing in every backend.
SET client_min_messages = warning;
SET agentidp.bcrypt_cost = 4;
\i sql/include/err.sql

SELECT id AS ag FROM agentidp.register_agent('cred-agent', 'team-cred', '{agents:read}') \gset

-- create_credential: the secret is shown once and only its hash is stored.
SELECT credential_id AS c1, client_id AS id1, client_secret AS s1, created_at IS NOT NULL AS has_created
  FROM agentidp.create_credential(:'ag') \gset
SELECT :'id1' ~ '^aidp_ci_[A-Za-z0-9_-]{22}$' AS client_id_format,
	   :'s1' ~ '^aidp_sk_[A-Za-z0-9_-]{43}$' AS secret_format, :'has_created' AS has_created;
SELECT secret_hash ~ '^\$2a\$04\$' AS bcrypt_2a_cost4, secret_hash <> :'s1' AS not_plain,
	   secret_version, status, agent_id = :'ag' AS owned
  FROM agentidp.credentials WHERE id = :'c1';
-- The secret appears nowhere in the database.
SELECT count(*) AS rows_with_secret FROM (
	SELECT t::text FROM agentidp.credentials AS t UNION ALL
	SELECT t::text FROM agentidp.audit_events AS t) AS x(t)
 WHERE strpos(x.t, :'s1') > 0;
SELECT action, metadata->>'client_id' = :'id1' AS same_client FROM agentidp.audit_events
 WHERE agent_id = :'ag' AND action LIKE 'credential.%' ORDER BY id;

-- The default cost is 10.
RESET agentidp.bcrypt_cost;
SELECT credential_id AS c10, client_id AS id10, client_secret AS s10 FROM agentidp.create_credential(:'ag') \gset
SELECT secret_hash ~ '^\$2a\$10\$' AS bcrypt_2a_cost10 FROM agentidp.credentials WHERE id = :'c10';
SELECT count(*) AS ok FROM agentidp.authenticate_client(:'id10', :'s10');
SET agentidp.bcrypt_cost = 4;

-- Two secrets are never equal; client ids are unique.
SELECT :'s1' <> :'s10' AS distinct_secrets, :'id1' <> :'id10' AS distinct_ids;

-- list_credentials: every credential of the agent, never the hash.
SELECT client_id = :'id1' AS first, status, rotated_at IS NULL AS never_rotated, expires_at
  FROM agentidp.list_credentials(:'ag');
SELECT (SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute
		 WHERE attrelid = 'agentidp.credential_info'::regclass AND attnum > 0) AS columns;
SELECT pg_temp.err($$SELECT agentidp.list_credentials('00000000-0000-0000-0000-000000000000')$$);

-- The bridge creates and lists in one statement: the new credential is seen.
-- (the bridge's own statement shape: the listing reads c, so it runs after it)
WITH c AS MATERIALIZED (SELECT agentidp.create_credential(:'ag') AS r)
SELECT (SELECT l.client_id = (c.r).client_id FROM agentidp.list_credentials(:'ag') AS l
		 WHERE l.id = (c.r).credential_id) AS listed_in_same_statement
  FROM c;

-- authenticate_client: success, then every refusal.
SELECT agent_id = :'ag' AS agent, credential_id = :'c1' AS credential, capabilities
  FROM agentidp.authenticate_client(:'id1', :'s1');
SELECT pg_temp.err(format('SELECT agentidp.authenticate_client(%L, %L)', :'id1', :'s1' || 'x'));
SELECT pg_temp.err(format('SELECT agentidp.authenticate_client(%L, %L)', 'aidp_ci_unknown', :'s1'));
SELECT pg_temp.err(format('SELECT agentidp.authenticate_client(%L, %L)', :'id1', ''));
SELECT pg_temp.err(format('SELECT agentidp.authenticate_client(%L, %L)', NULL, :'s1'));
-- Over bcrypt's 72 bytes: refused, never truncated (the first 72 bytes would match).
SELECT pg_temp.err(format('SELECT agentidp.authenticate_client(%L, %L)', :'id1', :'s1' || repeat('z', 30)));
-- Each refusal left a failure event, written by the background worker even
-- though the statement failed.
SELECT action, outcome, metadata->>'reason' AS reason
  FROM agentidp.audit_events
 WHERE outcome = 'failure' AND metadata->>'client_id' IN (:'id1', 'aidp_ci_unknown', '')
 ORDER BY id;
SELECT count(*) AS failure_events_for_null_client FROM agentidp.audit_events
 WHERE outcome = 'failure' AND metadata->'client_id' = 'null' AND metadata->>'reason' = 'missing_credentials';

-- rotate_credential: same client id, new secret, version bumped; the old
-- secret fails at once.
SELECT credential_id = :'c1' AS same_credential, client_id = :'id1' AS same_client,
	   client_secret <> :'s1' AS new_secret, client_secret AS s1b
  FROM agentidp.rotate_credential(:'c1') \gset
SELECT :'same_credential', :'same_client', :'new_secret';
SELECT secret_version, rotated_at IS NOT NULL AS rotated FROM agentidp.credentials WHERE id = :'c1';
SELECT pg_temp.err(format('SELECT agentidp.authenticate_client(%L, %L)', :'id1', :'s1'));
SELECT count(*) AS new_secret_ok FROM agentidp.authenticate_client(:'id1', :'s1b');
SELECT metadata->>'secret_version' AS version FROM agentidp.audit_events
 WHERE agent_id = :'ag' AND action = 'credential.rotated';

-- In another backend: this backend has just verified s1b (its cache holds
-- it); a second session rotates; here s1b must fail immediately.
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=%s',
	split_part(current_setting('unix_socket_directories'), ',', 1),
	current_setting('port'), current_database(), current_user));
SELECT count(*) AS cached_ok FROM agentidp.authenticate_client(:'id1', :'s1b');
SELECT s AS s1c FROM dblink('other', format(
	'SET agentidp.bcrypt_cost = 4; SELECT client_secret FROM agentidp.rotate_credential(%L)', :'c1'))
	AS t(s text) \gset
SELECT pg_temp.err(format('SELECT agentidp.authenticate_client(%L, %L)', :'id1', :'s1b'));
SELECT count(*) AS rotated_elsewhere_ok FROM agentidp.authenticate_client(:'id1', :'s1c');
-- And the other way round: the other backend verified s1c, we rotate.
SELECT n AS other_ok FROM dblink('other', format(
	'SELECT count(*) FROM agentidp.authenticate_client(%L, %L)', :'id1', :'s1c')) AS t(n bigint);
SELECT client_secret AS s1d FROM agentidp.rotate_credential(:'c1') \gset
SELECT count(*) AS other_rows_after_rotation FROM dblink('other', format(
	'SELECT count(*) FROM agentidp.authenticate_client(%L, %L)', :'id1', :'s1c'), false) AS t(n bigint);
SELECT dblink_error_message('other') LIKE '%invalid_client: client authentication failed%' AS other_refused;

-- revoke_credential: no more authentication, here or in a backend that has
-- just verified the secret; a second revoke is AIT01.
SELECT n AS other_verified_s1d FROM dblink('other', format(
	'SELECT count(*) FROM agentidp.authenticate_client(%L, %L)', :'id1', :'s1d')) AS t(n bigint);
SELECT agentidp.revoke_credential(:'c1');
SELECT count(*) AS other_rows_after_revoke FROM dblink('other', format(
	'SELECT count(*) FROM agentidp.authenticate_client(%L, %L)', :'id1', :'s1d'), false) AS t(n bigint);
SELECT dblink_error_message('other') LIKE '%unauthorized_client: credential is revoked%' AS other_refused_revoked;
SELECT status, revoked_at IS NOT NULL AS revoked FROM agentidp.credentials WHERE id = :'c1';
SELECT pg_temp.err(format('SELECT agentidp.authenticate_client(%L, %L)', :'id1', :'s1d'));
SELECT pg_temp.err(format('SELECT agentidp.revoke_credential(%L)', :'c1'));
SELECT pg_temp.err(format('SELECT agentidp.rotate_credential(%L)', :'c1'));
SELECT pg_temp.err($$SELECT agentidp.revoke_credential('00000000-0000-0000-0000-000000000000')$$);
SELECT pg_temp.err($$SELECT agentidp.rotate_credential('00000000-0000-0000-0000-000000000000')$$);
SELECT dblink_disconnect('other');

-- Expiry: in the past is refused; an expired credential authenticates no more.
SELECT pg_temp.err(format('SELECT agentidp.create_credential(%L, now() - interval %L)', :'ag', '1 second'));
SELECT credential_id AS ce, client_id AS ide, client_secret AS se
  FROM agentidp.create_credential(:'ag', now() + interval '1 hour') \gset
SELECT count(*) AS before_expiry FROM agentidp.authenticate_client(:'ide', :'se');
-- (as superuser, move the expiry into the past rather than wait an hour)
UPDATE agentidp.credentials SET expires_at = now() - interval '1 second' WHERE id = :'ce';
SELECT pg_temp.err(format('SELECT agentidp.authenticate_client(%L, %L)', :'ide', :'se'));

-- Credentials need a live agent.
SELECT pg_temp.err($$SELECT agentidp.create_credential('00000000-0000-0000-0000-000000000000')$$);
SELECT (agentidp.suspend_agent(:'ag')).status AS suspended;
SELECT count(*) AS suspended_agent_gets_credential FROM agentidp.create_credential(:'ag');
SELECT pg_temp.err(format('SELECT agentidp.authenticate_client(%L, %L)', :'id10', :'s10'));
SELECT (agentidp.decommission_agent(:'ag')).status AS decommissioned;
SELECT pg_temp.err(format('SELECT agentidp.create_credential(%L)', :'ag'));
SELECT pg_temp.err(format('SELECT agentidp.rotate_credential(%L)', :'c10'));
SELECT status, count(*) FROM agentidp.list_credentials(:'ag') GROUP BY status;
