-- Audit: request context, list/get, views, record_failure, append-only for every
-- role and replication mode, tampering detected by the hash chain, retention.
SET client_min_messages = warning;
SET agentidp.bcrypt_cost = 4;
\i sql/include/err.sql

SELECT id AS ag FROM agentidp.register_agent('audit-agent', 'team-audit', '{agents:read}') \gset
SELECT id AS actor FROM agentidp.register_agent('audit-actor', 'team-audit') \gset

-- The request context (set by the bridge in the same statement) lands in
-- every event of the transaction, and only that transaction.
BEGIN;
SELECT agentidp.set_request_context('203.0.113.7', 'agentidp-test/1.0', :'actor');
SELECT status FROM agentidp.suspend_agent(:'ag');
COMMIT;
SELECT status FROM agentidp.reactivate_agent(:'ag');
SELECT action, host(ip_address) AS ip, user_agent, actor_agent_id = :'actor' AS actor, db_user
  FROM agentidp.audit_events WHERE agent_id = :'ag' ORDER BY id;
-- Failure events, written by a background worker in its own transaction,
-- carry the context too, and survive the caller's rollback.
SELECT client_id AS ctx_cid FROM agentidp.create_credential(:'ag') \gset
BEGIN;
SELECT agentidp.set_request_context('2001:db8::5', 'curl/8', NULL);
SELECT pg_temp.err(format('SELECT agentidp.issue_token(%L, %L)', :'ctx_cid', 'aidp_sk_wrong'));
ROLLBACK;
SELECT action, outcome, host(ip_address) AS ip, user_agent, metadata->>'reason' AS reason
  FROM agentidp.audit_events WHERE metadata->>'client_id' = :'ctx_cid' AND outcome = 'failure';
-- (set_request_context accepts NULLs: an unknown address is not an error)
SELECT agentidp.set_request_context(NULL, NULL, NULL);

-- get_audit_event: the audit_log row as JSON.
SELECT id AS ev FROM agentidp.audit_events WHERE agent_id = :'ag' AND action = 'agent.suspended' \gset
SELECT e->>'action' AS action, e->>'agent_name' AS agent_name, e->>'ip_address' AS ip,
	   length(e->>'row_hash') AS hash_hex_chars,
	   (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(e) AS k) AS members
  FROM agentidp.get_audit_event(:'ev') AS e;
SELECT pg_temp.err('SELECT agentidp.get_audit_event(-1)');

-- list_audit: newest first, filters, keyset pages.
SELECT (SELECT array_agg(x->>'action') FROM jsonb_array_elements(r->'data') AS x) AS actions, r->'next_cursor' AS next
  FROM agentidp.list_audit(agent_id => :'ag') AS r;
SELECT (SELECT array_agg(x->>'action') FROM jsonb_array_elements(r->'data') AS x) AS suspended_only
  FROM agentidp.list_audit(agent_id => :'ag', action => 'agent.suspended') AS r;
SELECT jsonb_array_length(r->'data') AS failures
  FROM agentidp.list_audit(agent_id => :'ag', outcome => 'failure') AS r;
SELECT jsonb_array_length(r->'data') AS in_future
  FROM agentidp.list_audit(agent_id => :'ag', from_ts => now() + interval '1 day') AS r;
SELECT jsonb_array_length(r->'data') AS before_epoch
  FROM agentidp.list_audit(agent_id => :'ag', to_ts => '2000-01-01') AS r;
SELECT r->>'next_cursor' AS cur, (SELECT array_agg(x->>'action') FROM jsonb_array_elements(r->'data') AS x) AS page1
  FROM agentidp.list_audit(agent_id => :'ag', lim => 2) AS r \gset
SELECT :'page1' AS page1;
SELECT r->>'next_cursor' AS cur2, (SELECT array_agg(x->>'action') FROM jsonb_array_elements(r->'data') AS x) AS page2
  FROM agentidp.list_audit(agent_id => :'ag', lim => 2, cursor => :'cur') AS r \gset
SELECT :'page2' AS page2;
SELECT (SELECT array_agg(x->>'action') FROM jsonb_array_elements(r->'data') AS x) AS page3, r->'next_cursor' AS next
  FROM agentidp.list_audit(agent_id => :'ag', lim => 2, cursor => :'cur2') AS r;
SELECT pg_temp.err('SELECT agentidp.list_audit(lim => 0)');
SELECT pg_temp.err('SELECT agentidp.list_audit(lim => 1000)');
SELECT pg_temp.err($$SELECT agentidp.list_audit(outcome => 'maybe')$$);
SELECT pg_temp.err($$SELECT agentidp.list_audit(cursor => '%%%')$$);
SELECT pg_temp.err($$SELECT agentidp.list_audit(cursor => 'YWJj')$$);

-- Views.
SELECT action, outcome, agent_name FROM agentidp.audit_log WHERE agent_id = :'ag' ORDER BY id;
SELECT day = (now() AT TIME ZONE 'UTC')::date AS today, action, outcome, events
  FROM agentidp.audit_daily_summary WHERE agent_id = :'ag' ORDER BY action;

-- record_failure: what the bridge refuses before calling SQL.
SELECT client_id AS cid FROM agentidp.create_credential(:'ag') \gset
SELECT agentidp.record_failure('token.refused', :'cid', 'unsupported_grant_type');
SELECT agentidp.record_failure('client.auth_failed', NULL, 'malformed_request');
SELECT agent_id = :'ag' AS agent, action, outcome, metadata->>'reason' AS reason
  FROM agentidp.audit_events WHERE action IN ('token.refused', 'client.auth_failed')
   AND metadata->>'reason' IN ('unsupported_grant_type', 'malformed_request') ORDER BY id;
SELECT pg_temp.err($$SELECT agentidp.record_failure('agent.registered', NULL, 'x')$$);

-- The chain verifies.
SELECT intact, events_checked = (SELECT count(*) FROM agentidp.audit_events) AS all_checked,
	   first_bad_event FROM agentidp.verify_audit_chain();
SELECT bool_and(chain_stream IS NOT NULL AND chain_seq > 0 AND length(row_hash) = 32 AND length(prev_hash) = 32)
	   AS every_event_chained FROM agentidp.audit_events;

-- Append-only: UPDATE, DELETE and TRUNCATE refused, even for the owner (a
-- superuser here), even with session_replication_role = replica.
SELECT pg_temp.err(format('UPDATE agentidp.audit_events SET outcome = %L WHERE id = %s', 'failure', :'ev'));
SELECT pg_temp.err(format('DELETE FROM agentidp.audit_events WHERE id = %s', :'ev'));
SELECT pg_temp.err('TRUNCATE agentidp.audit_events');
SELECT pg_temp.err('TRUNCATE agentidp.audit_anchors');
SET session_replication_role = replica;
SELECT pg_temp.err(format('UPDATE agentidp.audit_events SET outcome = %L WHERE id = %s', 'failure', :'ev'));
SELECT pg_temp.err(format('DELETE FROM agentidp.audit_events WHERE id = %s', :'ev'));
SELECT pg_temp.err('TRUNCATE agentidp.audit_events');
RESET session_replication_role;
-- An insert cannot forge the chain columns either: the trigger overwrites them.
INSERT INTO agentidp.audit_events (action, outcome, chain_stream, chain_seq, prev_hash, row_hash)
VALUES ('agent.updated', 'success', '00000000-0000-0000-0000-000000000000', 1, '\x00', '\x00');
SELECT chain_stream <> '00000000-0000-0000-0000-000000000000' AS stream_set, length(row_hash) AS hash_len
  FROM agentidp.audit_events WHERE action = 'agent.updated' AND agent_id IS NULL;
SELECT pg_temp.err($$INSERT INTO agentidp.audit_events (action, outcome) VALUES ('made.up', 'success')$$);
SELECT intact FROM agentidp.verify_audit_chain();

-- A superuser who disables the guard and edits an event is caught.
CREATE TEMP TABLE saved AS SELECT * FROM agentidp.audit_events WHERE id = :'ev';
BEGIN;
ALTER TABLE agentidp.audit_events DISABLE TRIGGER audit_events_guard;
UPDATE agentidp.audit_events SET metadata = '{"innocent": true}' WHERE id = :'ev';
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_guard;
COMMIT;
SELECT intact, first_bad_event = :'ev' AS found_it, detail LIKE '%was altered%' AS altered
  FROM agentidp.verify_audit_chain();
-- (put it back: the chain verifies again)
BEGIN;
ALTER TABLE agentidp.audit_events DISABLE TRIGGER audit_events_guard;
UPDATE agentidp.audit_events AS e SET metadata = s.metadata FROM saved AS s WHERE e.id = s.id;
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_guard;
COMMIT;
SELECT intact FROM agentidp.verify_audit_chain();

-- Deleting an event from the middle of a stream breaks the linkage.
SELECT id AS mid FROM agentidp.audit_events WHERE agent_id = :'ag' AND action = 'agent.reactivated' \gset
TRUNCATE saved;
INSERT INTO saved SELECT * FROM agentidp.audit_events WHERE id = :'mid';
BEGIN;
ALTER TABLE agentidp.audit_events DISABLE TRIGGER audit_events_guard;
DELETE FROM agentidp.audit_events WHERE id = :'mid';
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_guard;
COMMIT;
SELECT intact, first_bad_event > :'mid' AS found_after_gap,
	   (SELECT chain_stream FROM saved) = (SELECT chain_stream FROM agentidp.audit_events WHERE id = first_bad_event) AS same_stream
  FROM agentidp.verify_audit_chain();
BEGIN;
ALTER TABLE agentidp.audit_events DISABLE TRIGGER audit_events_chain;
INSERT INTO agentidp.audit_events OVERRIDING SYSTEM VALUE SELECT * FROM saved;
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_chain;
COMMIT;
SELECT intact FROM agentidp.verify_audit_chain();

-- Moving an event by one microsecond is caught too.
BEGIN;
ALTER TABLE agentidp.audit_events DISABLE TRIGGER audit_events_guard;
UPDATE agentidp.audit_events SET occurred_at = occurred_at + interval '1 microsecond' WHERE id = :'mid';
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_guard;
COMMIT;
SELECT intact, first_bad_event = :'mid' AS found_it FROM agentidp.verify_audit_chain();
BEGIN;
ALTER TABLE agentidp.audit_events DISABLE TRIGGER audit_events_guard;
UPDATE agentidp.audit_events SET occurred_at = occurred_at - interval '1 microsecond' WHERE id = :'mid';
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_guard;
COMMIT;

-- The hashes do not depend on session settings.
SET TimeZone = 'Asia/Tokyo';
SET DateStyle = 'German';
SET extra_float_digits = -3;
SELECT intact FROM agentidp.verify_audit_chain();
RESET TimeZone;
RESET DateStyle;
RESET extra_float_digits;

-- Retention: purge_audit deletes old events, anchors each stream, records
-- itself, and the chain still verifies.
SELECT pg_temp.err($$SELECT agentidp.purge_audit('-1 day')$$);
SELECT agentidp.purge_audit('1000 years') AS nothing_that_old;
SELECT count(*) AS events_before FROM agentidp.audit_events \gset
SELECT agentidp.purge_audit('0 seconds') = :events_before AS purged_everything_committed;
SELECT action, outcome, (metadata->>'deleted')::bigint = :events_before AS counted
  FROM agentidp.audit_events WHERE action = 'audit.purged';
SELECT count(*) > 0 AS anchors FROM agentidp.audit_anchors;
-- Anchors are append-only as well.
SELECT pg_temp.err('UPDATE agentidp.audit_anchors SET chain_seq = 0');
SELECT pg_temp.err('DELETE FROM agentidp.audit_anchors');
SELECT pg_temp.err('TRUNCATE agentidp.audit_anchors');
SELECT intact FROM agentidp.verify_audit_chain();
-- New events keep chaining after the purge.
SELECT status FROM agentidp.suspend_agent(:'ag');
SELECT status FROM agentidp.reactivate_agent(:'ag');
SELECT intact, events_checked FROM agentidp.verify_audit_chain();
