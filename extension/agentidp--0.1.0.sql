/*
 * agentidp--0.1.0.sql
 *		Install script of the agentidp extension: an identity provider for
 *		AI agents (registry, credentials, RS256 tokens, introspection,
 *		revocation, lifecycle, free-tier limits, tamper-evident audit).
 *
 * The contract this script implements is DESIGN.md section 1; the C
 * functions it binds are listed in DESIGN.md section 3.
 *
 * Conventions: every object lives in schema agentidp and is schema-qualified;
 * built-ins are called as pg_catalog.*; every SECURITY DEFINER function pins
 * search_path to pg_catalog, pg_temp so that no caller-controlled schema can
 * shadow anything; EXECUTE is revoked from PUBLIC and granted to the three
 * roles at the end of the file.
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION agentidp" to load this file. \quit

-- roles --------------------------------------------------------------------

-- Roles are cluster-wide and outlive the extension (DROP EXTENSION does not
-- drop them), so create them only when a previous install did not.
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'agentidp_admin') THEN
		CREATE ROLE agentidp_admin NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'agentidp_bridge') THEN
		CREATE ROLE agentidp_bridge NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'agentidp_auditor') THEN
		CREATE ROLE agentidp_auditor NOLOGIN;
	END IF;
END
$roles$;

-- tables -------------------------------------------------------------------

CREATE TABLE agentidp.agents (
	id				uuid		PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
	name			text		NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
	description		text		CHECK (pg_catalog.length(description) <= 2000),
	owner			text		NOT NULL CHECK (pg_catalog.length(owner) BETWEEN 1 AND 200),
	capabilities	text[]		NOT NULL DEFAULT '{}',
	metadata		jsonb		NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
	status			text		NOT NULL DEFAULT 'active'
					CHECK (status IN ('active', 'suspended', 'decommissioned')),
	created_at		timestamptz	NOT NULL DEFAULT pg_catalog.now(),
	updated_at		timestamptz	NOT NULL DEFAULT pg_catalog.now()
);
-- Decommissioned agents stay for forensics; their names become free again.
CREATE UNIQUE INDEX agents_name_live_key ON agentidp.agents (name)
	WHERE status <> 'decommissioned';
-- list_agents pages newest first with a (created_at, id) keyset.
CREATE INDEX agents_created_idx ON agentidp.agents (created_at DESC, id DESC);

CREATE TABLE agentidp.credentials (
	id				uuid		PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
	agent_id		uuid		NOT NULL REFERENCES agentidp.agents (id),
	client_id		text		NOT NULL UNIQUE,
	secret_hash		text		NOT NULL CHECK (secret_hash LIKE '$2a$%'),
	secret_version	integer		NOT NULL DEFAULT 1,
	status			text		NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
	created_at		timestamptz	NOT NULL DEFAULT pg_catalog.now(),
	rotated_at		timestamptz,
	revoked_at		timestamptz,
	expires_at		timestamptz
);
CREATE INDEX credentials_agent_idx ON agentidp.credentials (agent_id);

-- No foreign keys here on purpose: agents and credentials are never deleted
-- (soft lifecycle), and an FK would take a KEY SHARE lock on the agent and
-- credential rows for every issued token, turning concurrent issuance for one
-- agent into multixact traffic.
CREATE TABLE agentidp.tokens (
	jti				uuid		PRIMARY KEY,
	agent_id		uuid		NOT NULL,
	credential_id	uuid		NOT NULL,
	kid				text		NOT NULL,
	scope			text		NOT NULL,
	audience		text		NOT NULL,
	issued_at		timestamptz	NOT NULL,
	expires_at		timestamptz	NOT NULL,
	revoked_at		timestamptz,
	-- SHA-256 of the token as issued: revocation matches it (_token_matches)
	-- instead of verifying the signature again.
	token_digest	bytea		NOT NULL
) WITH (fillfactor = 85);
-- fillfactor: room on each page so that setting revoked_at (no indexed
-- column changes) is a HOT update, which writes no index entry.
CREATE INDEX tokens_agent_idx ON agentidp.tokens (agent_id);
CREATE INDEX tokens_expires_idx ON agentidp.tokens (expires_at);
CREATE INDEX tokens_credential_idx ON agentidp.tokens (credential_id);
CREATE INDEX tokens_kid_idx ON agentidp.tokens (kid);

-- The monthly quota counter, one row per (agent, month, backend shard): two
-- backends issuing for the same agent rarely touch the same row, so the
-- counter never serialises issuance.  The sum check may overshoot the quota
-- by at most the number of concurrently issuing backends.
CREATE TABLE agentidp.token_usage (
	agent_id		uuid		NOT NULL,
	month			date		NOT NULL,
	shard			integer		NOT NULL CHECK (shard BETWEEN 0 AND 15),
	issued			bigint		NOT NULL DEFAULT 0,
	PRIMARY KEY (agent_id, month, shard)
);

-- Private keys are sealed with AES-256-GCM under the server's key-encryption
-- key and this table carries no grant at all: only the SECURITY DEFINER
-- functions below (owned by the extension owner) ever read it.
CREATE TABLE agentidp.signing_keys (
	kid				text		PRIMARY KEY,
	algorithm		text		NOT NULL DEFAULT 'RS256' CHECK (algorithm = 'RS256'),
	bits			integer		NOT NULL,
	public_pem		text		NOT NULL,
	private_enc		bytea		NOT NULL,
	status			text		NOT NULL CHECK (status IN ('next', 'active', 'retiring', 'retired')),
	created_at		timestamptz	NOT NULL DEFAULT pg_catalog.now(),
	activated_at	timestamptz,
	retiring_at		timestamptz,
	retired_at		timestamptz,
	publish_until	timestamptz
);
-- At most one key signs, and at most one waits to sign.
CREATE UNIQUE INDEX signing_keys_one_active ON agentidp.signing_keys (status)
	WHERE status IN ('active', 'next');

CREATE TABLE agentidp.audit_events (
	id				bigint		GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	occurred_at		timestamptz	NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	agent_id		uuid,
	actor_agent_id	uuid,
	db_user			text		DEFAULT SESSION_USER,
	-- The actions of DESIGN.md section 1, and no others.
	action			text		NOT NULL CHECK (action IN (
		'agent.registered', 'agent.updated', 'agent.suspended', 'agent.reactivated',
		'agent.decommissioned', 'credential.created', 'credential.rotated',
		'credential.revoked', 'token.issued', 'token.refused', 'client.auth_failed',
		'token.revoked', 'key.created', 'key.activated', 'key.retiring', 'key.retired',
		'audit.purged', 'admin.bootstrapped')),
	outcome			text		NOT NULL CHECK (outcome IN ('success', 'failure')),
	ip_address		inet,
	user_agent		text,
	metadata		jsonb		NOT NULL DEFAULT '{}',
	chain_stream	uuid,
	chain_seq		bigint,
	prev_hash		bytea,
	row_hash		bytea
);
CREATE INDEX audit_events_agent_idx ON agentidp.audit_events (agent_id, id);
CREATE INDEX audit_events_occurred_idx ON agentidp.audit_events (occurred_at);
CREATE UNIQUE INDEX audit_events_chain_key ON agentidp.audit_events (chain_stream, chain_seq);

-- One row per purge and stream: the last purged event, so that the first
-- surviving event of the stream still links to something.  Insert-only (the
-- same guard as audit_events), hence keyed by (stream, seq): the anchor of a
-- stream is its row with the highest chain_seq.
CREATE TABLE agentidp.audit_anchors (
	chain_stream	uuid		NOT NULL,
	chain_seq		bigint		NOT NULL,
	row_hash		bytea		NOT NULL,
	purged_at		timestamptz	NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (chain_stream, chain_seq)
);

-- What the bridge's revocation cache must learn, in commit-independent seq
-- order: NOTIFY payloads are unauthenticated (any role may pg_notify on the
-- channel), so the bridge treats a notification only as a hint to read the
-- rows after its cursor through revocations_since().  Written by _notify in
-- the transaction of the change; rows older than a token lifetime describe
-- only expired tokens and are purged there.  No grants.
CREATE TABLE agentidp.revocation_log (
	seq			bigint		GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind		text		NOT NULL CHECK (kind IN ('token', 'agent', 'client', 'key')),
	subject		text		NOT NULL,
	status		text,
	expires_at	timestamptz,
	logged_at	timestamptz	NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
CREATE INDEX revocation_log_logged_at ON agentidp.revocation_log (logged_at);

-- pg_dump keeps the data of extension tables only when told to.  The audit
-- tables are left out: restoring them would re-run the chain trigger.
SELECT pg_catalog.pg_extension_config_dump('agentidp.agents', '');
SELECT pg_catalog.pg_extension_config_dump('agentidp.credentials', '');
SELECT pg_catalog.pg_extension_config_dump('agentidp.tokens', '');
SELECT pg_catalog.pg_extension_config_dump('agentidp.token_usage', '');
SELECT pg_catalog.pg_extension_config_dump('agentidp.signing_keys', '');

-- C functions (DESIGN.md section 3) ------------------------------------------

CREATE FUNCTION agentidp._new_client_id()
RETURNS text
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp__new_client_id';

CREATE FUNCTION agentidp._new_client_secret()
RETURNS text
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp__new_client_secret';

CREATE FUNCTION agentidp._hash_secret(secret text)
RETURNS text
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp__hash_secret';

CREATE FUNCTION agentidp._check_secret(credential_id uuid, secret_version integer,
									   secret_hash text, presented text)
RETURNS boolean
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp__check_secret';

CREATE FUNCTION agentidp._generate_key(bits integer,
									   OUT public_pem text, OUT private_enc bytea)
RETURNS SETOF record
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp__generate_key';

CREATE FUNCTION agentidp._sign_jwt(kid text, private_enc bytea, claims jsonb)
RETURNS text
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp__sign_jwt';

CREATE FUNCTION agentidp._verify_jwt(token text)
RETURNS jsonb
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'agentidp__verify_jwt';

-- A token id: UUIDv7, time-ordered (see jwt.c).
CREATE FUNCTION agentidp._new_jti()
RETURNS uuid
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'agentidp__new_jti';

-- Revocation's token match (see jwt.c): digest at issuance, unverified jti
-- and a constant-time digest comparison at revocation.
CREATE FUNCTION agentidp._token_digest(token text)
RETURNS bytea
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'agentidp__token_digest';

CREATE FUNCTION agentidp._token_jti(token text)
RETURNS uuid
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'agentidp__token_jti';

CREATE FUNCTION agentidp._token_matches(token text, digest bytea)
RETURNS boolean
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'agentidp__token_matches';

CREATE FUNCTION agentidp._audit_chain()
RETURNS trigger
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp__audit_chain';

CREATE FUNCTION agentidp._audit_guard()
RETURNS trigger
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp__audit_guard';

CREATE FUNCTION agentidp._audit_row_hash(e agentidp.audit_events)
RETURNS bytea
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'agentidp__audit_row_hash';

CREATE FUNCTION agentidp._audit_failure(action text, agent_id uuid, metadata jsonb)
RETURNS void
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp__audit_failure';

CREATE FUNCTION agentidp.set_request_context(ip inet, user_agent text, actor uuid)
RETURNS void
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp_set_request_context';
COMMENT ON FUNCTION agentidp.set_request_context(inet, text, uuid) IS
	'Remember the caller''s IP address, user agent and acting agent until the end of the transaction; audit events written meanwhile carry them';

CREATE FUNCTION agentidp.verify_audit_chain(OUT intact boolean, OUT events_checked bigint,
											OUT first_bad_event bigint, OUT detail text)
RETURNS SETOF record
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'agentidp_verify_audit_chain';
COMMENT ON FUNCTION agentidp.verify_audit_chain() IS
	'Recompute every audit event''s hash and check each stream''s linkage; reports the first event that does not verify';

CREATE FUNCTION agentidp.purge_audit(older_than interval DEFAULT '90 days')
RETURNS bigint
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'agentidp_purge_audit';
COMMENT ON FUNCTION agentidp.purge_audit(interval) IS
	'Delete audit events older than the given age (the only way events leave), anchoring each stream so the chain still verifies; returns the number deleted';

-- audit triggers -----------------------------------------------------------

CREATE TRIGGER audit_events_chain
	BEFORE INSERT ON agentidp.audit_events
	FOR EACH ROW EXECUTE FUNCTION agentidp._audit_chain();
CREATE TRIGGER audit_events_guard
	BEFORE UPDATE OR DELETE ON agentidp.audit_events
	FOR EACH ROW EXECUTE FUNCTION agentidp._audit_guard();
CREATE TRIGGER audit_events_no_truncate
	BEFORE TRUNCATE ON agentidp.audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION agentidp._audit_guard();
CREATE TRIGGER audit_anchors_guard
	BEFORE UPDATE OR DELETE ON agentidp.audit_anchors
	FOR EACH ROW EXECUTE FUNCTION agentidp._audit_guard();
CREATE TRIGGER audit_anchors_no_truncate
	BEFORE TRUNCATE ON agentidp.audit_anchors
	FOR EACH STATEMENT EXECUTE FUNCTION agentidp._audit_guard();

-- ALWAYS: session_replication_role = replica must not skip them.
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_chain;
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_guard;
ALTER TABLE agentidp.audit_events ENABLE ALWAYS TRIGGER audit_events_no_truncate;
ALTER TABLE agentidp.audit_anchors ENABLE ALWAYS TRIGGER audit_anchors_guard;
ALTER TABLE agentidp.audit_anchors ENABLE ALWAYS TRIGGER audit_anchors_no_truncate;

-- internal helpers ---------------------------------------------------------

-- Read an integer setting.  The C module defines the settings when it loads;
-- before that a SET leaves a placeholder holding the same text, and with
-- neither the documented default applies.  Not STRICT on purpose: the
-- planner inlines a non-strict one-expression SQL function into its caller's
-- cached plan, while a STRICT one (its body is not strict) is parsed and
-- planned again on every call of issue_token.
CREATE FUNCTION agentidp._setting_int(name text, fallback integer)
RETURNS integer
LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
AS $$
	SELECT COALESCE(NULLIF(pg_catalog.current_setting($1, true), '')::integer, $2)
$$;

-- A duration setting in seconds.  Read through interval input so that the
-- value is right whether the setting is a bare number of seconds or carries
-- a unit (current_setting() would then show "1h" or "90s").  Not STRICT, so
-- that it is inlined (see _setting_int).
CREATE FUNCTION agentidp._setting_seconds(name text, fallback integer)
RETURNS integer
LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
AS $$
	SELECT COALESCE(pg_catalog.date_part('epoch',
						NULLIF(pg_catalog.current_setting($1, true), '')::interval)::integer, $2)
$$;

CREATE FUNCTION agentidp._issuer()
RETURNS text
LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
AS $$
	SELECT COALESCE(NULLIF(pg_catalog.current_setting('agentidp.issuer', true), ''),
					'http://127.0.0.1:8080')
$$;

-- base64url without padding (RFC 7515 section 2).
CREATE FUNCTION agentidp._b64url(data bytea)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT pg_catalog.translate(pg_catalog.encode($1, 'base64'), E'+/=\n', '-_')
$$;

-- Raise a user-facing error with its SQLSTATE (never XX000).
CREATE FUNCTION agentidp._raise(code text, msg text, detail text DEFAULT NULL,
								hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL SAFE
AS $$
BEGIN
	-- An empty DETAIL or HINT would still be sent: leave absent ones out.
	IF detail IS NULL AND hint IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
	ELSIF hint IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = detail;
	ELSIF detail IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, HINT = hint;
	ELSE
		RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = detail, HINT = hint;
	END IF;
END
$$;

-- An error as the answer to one request of a batch: what a single call
-- would have raised.
CREATE FUNCTION agentidp._error_answer(sqlstate text, message text, detail text DEFAULT NULL,
									   hint text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
AS $$
	SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
		'sqlstate', $1, 'message', $2, 'detail', NULLIF($3, ''), 'hint', NULLIF($4, '')))
$$;

-- Record a refused request in its own transaction (it must survive a
-- rollback of the caller's), and answer with the error it gets.
CREATE FUNCTION agentidp._refusal(code text, msg text, action text,
								  agent_id uuid, metadata jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
BEGIN
	PERFORM agentidp._audit_failure(action, agent_id, metadata);
	RETURN agentidp._error_answer(code, msg);
END
$$;

-- Record a refused request (see _refusal), then raise the error.
CREATE FUNCTION agentidp._refuse(code text, msg text, action text,
								 agent_id uuid, metadata jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
BEGIN
	PERFORM agentidp._refusal(code, msg, action, agent_id, metadata);
	RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
END
$$;

-- Write a success event in the caller's transaction: the change and its
-- audit row commit or vanish together.  PL/pgSQL rather than SQL: it keeps
-- the INSERT's plan for the session, where a SQL function that cannot be
-- inlined is parsed and planned on every call (on the token path).
CREATE FUNCTION agentidp._audit(action text, agent_id uuid, metadata jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
BEGIN
	INSERT INTO agentidp.audit_events (agent_id, action, outcome, metadata)
	VALUES ($2, $1, 'success', COALESCE($3, '{}'));
END
$$;

-- Log a revocation-relevant change in revocation_log and send the notice
-- (delivered on commit only).  The notice is only a wake-up hint for the
-- bridge, which reads the log (DESIGN.md section 2); its payload stays for
-- people watching the channel.  PL/pgSQL for a plan kept across calls.
CREATE FUNCTION agentidp._notify(payload jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
BEGIN
	INSERT INTO agentidp.revocation_log (kind, subject, status, expires_at)
	VALUES ($1->>'kind',
			COALESCE($1->>'jti', $1->>'id', $1->>'client_id', $1->>'kid'),
			$1->>'status',
			pg_catalog.to_timestamp(($1->>'exp')::double precision));
	PERFORM agentidp._purge_revocation_log();
	PERFORM pg_catalog.pg_notify('agentidp_revocation', $1::text);
END
$$;

-- Rows older than a token lifetime (plus a margin) matter to no live token;
-- every writer of revocation_log drops up to 100 of them.  The scan walks
-- the logged_at index from its oldest end and stops at the cutoff (now() is
-- stable, so it can bound the index scan; ordering by seq instead read
-- every young row on every call), and SKIP LOCKED keeps concurrent
-- revocations from queueing on the purge.
-- enable_seqscan off: a backend keeps this plan until the table's
-- statistics change, and planned while the log was near empty (a fresh
-- install, a quiet hour purged), it was a sequential scan, evaluating the
-- cutoff on every row: a burst of revocations then made each of its calls
-- read the whole growing log until autovacuum analysed it (the slow first
-- revocation run of bench/run, bench/RESULTS.md).  The index scan is right
-- at every size.
CREATE FUNCTION agentidp._purge_revocation_log()
RETURNS void
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET enable_seqscan = off
AS $$
BEGIN
	DELETE FROM agentidp.revocation_log AS l
	 WHERE l.seq IN (SELECT o.seq FROM agentidp.revocation_log AS o
					  WHERE o.logged_at < pg_catalog.now()
						  - (agentidp._setting_seconds('agentidp.token_ttl', 3600) + 600) * '1 second'::interval
					  ORDER BY o.logged_at LIMIT 100 FOR UPDATE SKIP LOCKED);
END
$$;

-- A scope-token per RFC 6749 section 3.3: printable ASCII without space,
-- double quote or backslash.
CREATE FUNCTION agentidp._valid_scope_token(tok text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT $1 ~ '^[\x21\x23-\x5B\x5D-\x7E]{1,128}$'
$$;

-- Check a capability list; AIV01 names the first bad entry.
CREATE FUNCTION agentidp._check_capabilities(caps text[])
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
AS $$
DECLARE
	c		text;
BEGIN
	IF caps IS NULL THEN
		RETURN '{}';
	END IF;
	IF pg_catalog.array_ndims(caps) > 1 THEN
		PERFORM agentidp._raise('AIV01', 'capabilities must be a one-dimensional array');
	END IF;
	FOREACH c IN ARRAY caps LOOP
		IF c IS NULL OR NOT agentidp._valid_scope_token(c) THEN
			PERFORM agentidp._raise('AIV01', pg_catalog.format('invalid capability %L', c),
									'A capability is a scope token: 1 to 128 printable ASCII characters without space, quote or backslash.');
		END IF;
	END LOOP;
	-- Keep the first occurrence of each, in order.
	RETURN ARRAY(SELECT u.c FROM pg_catalog.unnest(caps) WITH ORDINALITY AS u(c, n)
				 GROUP BY u.c ORDER BY pg_catalog.min(u.n));
END
$$;

-- Page size of the list functions.
CREATE FUNCTION agentidp._check_limit(lim integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
AS $$
BEGIN
	IF lim IS NULL OR lim < 1 OR lim > 100 THEN
		PERFORM agentidp._raise('AIV01', pg_catalog.format('lim must be between 1 and 100, got %s',
														   COALESCE(lim::text, 'NULL')));
	END IF;
	RETURN lim;
END
$$;

-- Read one DER element at byte offset pos: its tag, the offset of its
-- contents and their length.  Only definite lengths up to 4 bytes.
CREATE FUNCTION agentidp._der_element(der bytea, pos integer,
									  OUT tag integer, OUT body integer, OUT len integer)
RETURNS record
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
	first	integer;
	i		integer;
BEGIN
	IF pos + 2 > pg_catalog.length(der) THEN
		PERFORM agentidp._raise('AIK01', 'signing key problem: truncated public key');
	END IF;
	tag := pg_catalog.get_byte(der, pos);
	first := pg_catalog.get_byte(der, pos + 1);
	IF first < 128 THEN
		len := first;
		body := pos + 2;
	ELSE
		IF first - 128 NOT BETWEEN 1 AND 3 THEN
			PERFORM agentidp._raise('AIK01', 'signing key problem: unsupported DER length');
		END IF;
		len := 0;
		FOR i IN 1 .. first - 128 LOOP
			len := len * 256 + pg_catalog.get_byte(der, pos + 1 + i);
		END LOOP;
		body := pos + 2 + (first - 128);
	END IF;
	IF body + len > pg_catalog.length(der) THEN
		PERFORM agentidp._raise('AIK01', 'signing key problem: truncated public key');
	END IF;
END
$$;

-- The RFC 7517 JWK of an RSA public key in PEM (SubjectPublicKeyInfo, or a
-- bare PKCS#1 RSAPublicKey), without kid/use/alg.  Member order follows RFC
-- 7638 so the text is also the thumbprint input.
CREATE FUNCTION agentidp._rsa_jwk(pem text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
	der		bytea;
	outer_e	record;
	e1		record;
	bits	record;
	rsa		record;
	n_e		record;
	e_e		record;
	n		bytea;
	e		bytea;
BEGIN
	der := pg_catalog.decode(pg_catalog.regexp_replace(pem, '-----[A-Z ]+-----|\s', '', 'g'), 'base64');
	outer_e := agentidp._der_element(der, 0);
	IF outer_e.tag <> 48 THEN
		PERFORM agentidp._raise('AIK01', 'signing key problem: public key is not a DER SEQUENCE');
	END IF;
	e1 := agentidp._der_element(der, outer_e.body);
	IF e1.tag = 2 THEN
		-- PKCS#1 RSAPublicKey: SEQUENCE { n INTEGER, e INTEGER }
		rsa := outer_e;
	ELSIF e1.tag = 48 THEN
		-- SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING }
		IF e1.len < 11 OR pg_catalog.substr(der, e1.body + 1, 11) <> '\x06092a864886f70d010101'::bytea THEN
			PERFORM agentidp._raise('AIK01', 'signing key problem: public key is not rsaEncryption');
		END IF;
		bits := agentidp._der_element(der, e1.body + e1.len);
		IF bits.tag <> 3 OR pg_catalog.get_byte(der, bits.body) <> 0 THEN
			PERFORM agentidp._raise('AIK01', 'signing key problem: malformed subjectPublicKey');
		END IF;
		rsa := agentidp._der_element(der, bits.body + 1);
	ELSE
		PERFORM agentidp._raise('AIK01', 'signing key problem: unrecognised public key encoding');
	END IF;
	n_e := agentidp._der_element(der, rsa.body);
	e_e := agentidp._der_element(der, n_e.body + n_e.len);
	IF n_e.tag <> 2 OR e_e.tag <> 2 THEN
		PERFORM agentidp._raise('AIK01', 'signing key problem: malformed RSA public key');
	END IF;
	n := pg_catalog.substr(der, n_e.body + 1, n_e.len);
	e := pg_catalog.substr(der, e_e.body + 1, e_e.len);
	-- DER integers carry a leading zero when the top bit is set; JWK does not.
	WHILE pg_catalog.length(n) > 1 AND pg_catalog.get_byte(n, 0) = 0 LOOP
		n := pg_catalog.substr(n, 2);
	END LOOP;
	WHILE pg_catalog.length(e) > 1 AND pg_catalog.get_byte(e, 0) = 0 LOOP
		e := pg_catalog.substr(e, 2);
	END LOOP;
	RETURN pg_catalog.jsonb_build_object('e', agentidp._b64url(e), 'kty', 'RSA',
										 'n', agentidp._b64url(n));
END
$$;

-- Generate a key pair with the given status; its kid is the RFC 7638
-- thumbprint of the public key.  Needs the key-encryption key (AIK01).
CREATE FUNCTION agentidp._create_signing_key(new_status text)
RETURNS text
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
DECLARE
	k		record;
	jwk		jsonb;
	v_kid	text;
	v_bits	integer := agentidp._setting_int('agentidp.key_bits', 2048);
BEGIN
	SELECT g.public_pem, g.private_enc INTO k FROM agentidp._generate_key(v_bits) AS g;
	IF NOT FOUND THEN
		PERFORM agentidp._raise('AIK01', 'signing key problem: key generation returned nothing');
	END IF;
	jwk := agentidp._rsa_jwk(k.public_pem);
	-- jsonb text output of {"e","kty","n"} has spaces after ':' and ','; the
	-- thumbprint input is the compact form.
	v_kid := agentidp._b64url(pg_catalog.sha256(pg_catalog.convert_to(
		pg_catalog.format('{"e":"%s","kty":"RSA","n":"%s"}', jwk->>'e', jwk->>'n'), 'UTF8')));
	INSERT INTO agentidp.signing_keys (kid, bits, public_pem, private_enc, status, activated_at)
	VALUES (v_kid, v_bits, k.public_pem, k.private_enc, new_status,
			CASE WHEN new_status = 'active' THEN pg_catalog.now() END);
	-- The bridge reloads its key set, so a next key is known before it signs.
	PERFORM agentidp._notify(pg_catalog.jsonb_build_object('kind', 'key', 'kid', v_kid,
														   'status', new_status));
	PERFORM agentidp._audit('key.created', NULL,
							pg_catalog.jsonb_build_object('kid', v_kid, 'bits', v_bits, 'status', new_status));
	IF new_status = 'active' THEN
		PERFORM agentidp._audit('key.activated', NULL, pg_catalog.jsonb_build_object('kid', v_kid));
	END IF;
	RETURN v_kid;
END
$$;

-- Serialise key management (rotation, retirement, lazy creation) across
-- backends; issuance itself never takes this lock once a key exists.
CREATE FUNCTION agentidp._lock_keys()
RETURNS void
LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
	SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('agentidp.signing_keys'))
$$;

-- Promote the waiting key (or a fresh one) to active and prepare a new next.
CREATE FUNCTION agentidp._activate_next_key()
RETURNS text
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
DECLARE
	v_kid	text;
BEGIN
	UPDATE agentidp.signing_keys SET status = 'active', activated_at = pg_catalog.now()
	 WHERE status = 'next'
	RETURNING kid INTO v_kid;
	IF v_kid IS NULL THEN
		v_kid := agentidp._create_signing_key('active');
	ELSE
		PERFORM agentidp._notify(pg_catalog.jsonb_build_object('kind', 'key', 'kid', v_kid,
															   'status', 'active'));
		PERFORM agentidp._audit('key.activated', NULL, pg_catalog.jsonb_build_object('kid', v_kid));
	END IF;
	PERFORM agentidp._create_signing_key('next');
	RETURN v_kid;
END
$$;

-- The key that signs now, created on first use (active and next together,
-- so the next key is published before it ever signs).
CREATE FUNCTION agentidp._active_key(OUT kid text, OUT private_enc bytea)
RETURNS record
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
BEGIN
	SELECT k.kid, k.private_enc INTO kid, private_enc
	  FROM agentidp.signing_keys AS k WHERE k.status = 'active';
	IF FOUND THEN
		RETURN;
	END IF;
	PERFORM agentidp._lock_keys();
	-- Another backend may have created it while we waited for the lock; a
	-- new snapshot (READ COMMITTED) sees it.
	SELECT k.kid, k.private_enc INTO kid, private_enc
	  FROM agentidp.signing_keys AS k WHERE k.status = 'active';
	IF NOT FOUND THEN
		PERFORM agentidp._activate_next_key();
		SELECT k.kid, k.private_enc INTO kid, private_enc
		  FROM agentidp.signing_keys AS k WHERE k.status = 'active';
	END IF;
END
$$;

-- Authenticate a client: verify the secret (an unknown client pays the same
-- bcrypt as a wrong secret), then the credential and agent status.  Every
-- refusal is audited in its own transaction before the error is raised.
-- refused_action names the event of a status refusal (token.refused when
-- issuing a token, client.auth_failed otherwise).
CREATE FUNCTION agentidp._authenticate(p_client_id text, p_secret text, refused_action text,
									   OUT agent_id uuid, OUT credential_id uuid,
									   OUT capabilities text[])
RETURNS record
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
DECLARE
	c		record;
	meta	jsonb;
BEGIN
	-- Attacker-supplied text goes into the audit row: bound its size.
	meta := pg_catalog.jsonb_build_object('client_id', pg_catalog.left(p_client_id, 128));
	IF p_client_id IS NULL OR p_client_id = '' OR p_secret IS NULL OR p_secret = '' THEN
		PERFORM agentidp._refuse('AIR01', 'invalid_request: client_id and client_secret are required',
								 'client.auth_failed', NULL, meta || '{"reason": "missing_credentials"}');
	END IF;

	SELECT cr.id, cr.agent_id, cr.secret_version, cr.secret_hash, cr.status,
		   cr.expires_at, a.status AS agent_status, a.capabilities
	  INTO c
	  FROM agentidp.credentials AS cr
	  JOIN agentidp.agents AS a ON a.id = cr.agent_id
	 WHERE cr.client_id = p_client_id;

	-- With no row, c's fields are NULL: _check_secret then burns a dummy
	-- bcrypt of the same cost and answers false.
	IF NOT agentidp._check_secret(c.id, c.secret_version, c.secret_hash, p_secret) THEN
		PERFORM agentidp._refuse('AIC01', 'invalid_client: client authentication failed',
								 'client.auth_failed', c.agent_id,
								 meta || pg_catalog.jsonb_build_object('reason',
									CASE WHEN c.id IS NULL THEN 'unknown_client' ELSE 'invalid_secret' END));
	END IF;

	IF c.status <> 'active' THEN
		PERFORM agentidp._refuse('AIU01', 'unauthorized_client: credential is revoked',
								 refused_action, c.agent_id, meta || '{"reason": "credential_revoked"}');
	END IF;
	IF c.expires_at IS NOT NULL AND c.expires_at <= pg_catalog.now() THEN
		PERFORM agentidp._refuse('AIU01', 'unauthorized_client: credential has expired',
								 refused_action, c.agent_id, meta || '{"reason": "credential_expired"}');
	END IF;
	IF c.agent_status <> 'active' THEN
		PERFORM agentidp._refuse('AIU01', pg_catalog.format('unauthorized_client: agent is %s', c.agent_status),
								 refused_action, c.agent_id,
								 meta || pg_catalog.jsonb_build_object('reason', 'agent_' || c.agent_status));
	END IF;

	agent_id := c.agent_id;
	credential_id := c.id;
	capabilities := c.capabilities;
END
$$;

-- Move an agent to a new status, enforcing the life cycle:
--   active -> suspended -> active; active|suspended -> decommissioned (final).
CREATE FUNCTION agentidp._transition(p_agent_id uuid, new_status text)
RETURNS agentidp.agents
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
DECLARE
	a		agentidp.agents;
	cr		record;
	n_tok	bigint;
BEGIN
	SELECT * INTO a FROM agentidp.agents WHERE id = p_agent_id FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM agentidp._raise('AIN01', pg_catalog.format('agent %s not found', p_agent_id));
	END IF;
	IF NOT ((a.status = 'active' AND new_status IN ('suspended', 'decommissioned'))
			OR (a.status = 'suspended' AND new_status IN ('active', 'decommissioned'))) THEN
		PERFORM agentidp._raise('AIT01',
			pg_catalog.format('invalid lifecycle transition: agent is %s, cannot become %s', a.status, new_status),
			CASE WHEN a.status = 'decommissioned' THEN 'Decommissioning is final.' END);
	END IF;

	UPDATE agentidp.agents SET status = new_status, updated_at = pg_catalog.now()
	 WHERE id = p_agent_id
	RETURNING * INTO a;

	IF new_status = 'decommissioned' THEN
		-- Every credential and live token goes in the same transaction.
		FOR cr IN
			UPDATE agentidp.credentials SET status = 'revoked', revoked_at = pg_catalog.now()
			 WHERE agent_id = p_agent_id AND status = 'active'
			RETURNING id, client_id
		LOOP
			PERFORM agentidp._audit('credential.revoked', p_agent_id,
				pg_catalog.jsonb_build_object('credential_id', cr.id, 'client_id', cr.client_id,
											  'reason', 'agent_decommissioned'));
			PERFORM agentidp._notify(pg_catalog.jsonb_build_object('kind', 'client', 'client_id', cr.client_id));
		END LOOP;
		UPDATE agentidp.tokens SET revoked_at = pg_catalog.now()
		 WHERE agent_id = p_agent_id AND revoked_at IS NULL AND expires_at > pg_catalog.now();
		GET DIAGNOSTICS n_tok = ROW_COUNT;
		PERFORM agentidp._audit('agent.decommissioned', p_agent_id,
								pg_catalog.jsonb_build_object('tokens_revoked', n_tok));
	ELSIF new_status = 'suspended' THEN
		PERFORM agentidp._audit('agent.suspended', p_agent_id);
	ELSE
		PERFORM agentidp._audit('agent.reactivated', p_agent_id);
	END IF;
	PERFORM agentidp._notify(pg_catalog.jsonb_build_object('kind', 'agent', 'id', p_agent_id,
														   'status', new_status));
	RETURN a;
END
$$;

-- Opaque keyset cursors: base64url of "<microseconds since epoch>|<uuid>" or
-- of "<id>".  Anything that does not decode is AIV01.
CREATE FUNCTION agentidp._decode_cursor(cursor_text text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
	b64		text := pg_catalog.translate(cursor_text, '-_', '+/');
BEGIN
	b64 := b64 || pg_catalog.repeat('=', (4 - pg_catalog.length(b64) % 4) % 4);
	RETURN pg_catalog.convert_from(pg_catalog.decode(b64, 'base64'), 'UTF8');
EXCEPTION WHEN data_exception OR invalid_parameter_value OR character_not_in_repertoire THEN
	PERFORM agentidp._raise('AIV01', 'invalid cursor');
	RETURN NULL;
END
$$;

-- result types -----------------------------------------------------------

-- Composite types rather than RETURNS TABLE: PostgreSQL refuses an input
-- parameter and an output column with the same name, and the API wants
-- rotate_credential(credential_id) to return a credential_id column.
CREATE TYPE agentidp.credential_secret AS (
	credential_id	uuid,
	client_id		text,
	client_secret	text,
	created_at		timestamptz
);

CREATE TYPE agentidp.credential_info AS (
	id				uuid,
	agent_id		uuid,
	client_id		text,
	status			text,
	created_at		timestamptz,
	rotated_at		timestamptz,
	revoked_at		timestamptz,
	expires_at		timestamptz
);

-- agents API ---------------------------------------------------------------

CREATE FUNCTION agentidp.register_agent(name text, owner text, capabilities text[] DEFAULT '{}',
										description text DEFAULT NULL, metadata jsonb DEFAULT '{}')
RETURNS agentidp.agents
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_name	ALIAS FOR $1;
	p_owner	ALIAS FOR $2;
	p_caps	ALIAS FOR $3;
	p_desc	ALIAS FOR $4;
	p_meta	ALIAS FOR $5;
	v_max	integer := agentidp._setting_int('agentidp.max_agents', 100);
	v_live	bigint;
	a		agentidp.agents;
BEGIN
	IF p_name IS NULL OR pg_catalog.btrim(p_name) = '' THEN
		PERFORM agentidp._raise('AIV01', 'name is required');
	END IF;
	IF p_owner IS NULL OR pg_catalog.btrim(p_owner) = '' THEN
		PERFORM agentidp._raise('AIV01', 'owner is required');
	END IF;
	IF pg_catalog.length(p_name) > 200 OR pg_catalog.length(p_owner) > 200
	   OR pg_catalog.length(p_desc) > 2000 THEN
		PERFORM agentidp._raise('AIV01', 'name or owner longer than 200 characters, or description longer than 2000');
	END IF;
	IF p_meta IS NOT NULL AND pg_catalog.jsonb_typeof(p_meta) <> 'object' THEN
		PERFORM agentidp._raise('AIV01', 'metadata must be a JSON object');
	END IF;

	IF v_max > 0 THEN
		-- Registration is rare: serialise it so the limit is exact.
		PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('agentidp.max_agents'));
		SELECT pg_catalog.count(*) INTO v_live FROM agentidp.agents WHERE status <> 'decommissioned';
		IF v_live >= v_max THEN
			PERFORM agentidp._raise('AIQ02',
				pg_catalog.format('agent limit reached: agentidp.max_agents is %s', v_max),
				pg_catalog.format('%s agents are registered and not decommissioned.', v_live),
				'Decommission an agent or raise agentidp.max_agents (0 = unlimited).');
		END IF;
	END IF;

	INSERT INTO agentidp.agents (name, owner, capabilities, description, metadata)
	VALUES (p_name, p_owner, agentidp._check_capabilities(p_caps), p_desc,
			COALESCE(p_meta, '{}'))
	RETURNING * INTO a;
	PERFORM agentidp._audit('agent.registered', a.id,
							pg_catalog.jsonb_build_object('name', a.name, 'owner', a.owner,
														  'capabilities', a.capabilities));
	RETURN a;
END
$$;
COMMENT ON FUNCTION agentidp.register_agent(text, text, text[], text, jsonb) IS
	'Register an agent (status active); AIQ02 when agentidp.max_agents live agents exist, 23505 when the name is taken';

CREATE FUNCTION agentidp.get_agent(agent_id uuid)
RETURNS agentidp.agents
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a		agentidp.agents;
BEGIN
	SELECT * INTO a FROM agentidp.agents AS g WHERE g.id = $1;
	IF NOT FOUND THEN
		PERFORM agentidp._raise('AIN01', pg_catalog.format('agent %s not found', $1));
	END IF;
	RETURN a;
END
$$;
COMMENT ON FUNCTION agentidp.get_agent(uuid) IS
	'One agent by id; AIN01 when absent';

CREATE FUNCTION agentidp.list_agents(status text DEFAULT NULL, owner text DEFAULT NULL,
									 search text DEFAULT NULL, lim integer DEFAULT 50,
									 cursor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_status	ALIAS FOR $1;
	p_owner		ALIAS FOR $2;
	p_search	ALIAS FOR $3;
	p_lim		ALIAS FOR $4;
	p_cursor	ALIAS FOR $5;
	c_ts		timestamptz;
	c_id		uuid;
	cur			text;
	page		agentidp.agents[];
	rows		jsonb;
BEGIN
	PERFORM agentidp._check_limit(p_lim);
	IF p_status IS NOT NULL AND p_status NOT IN ('active', 'suspended', 'decommissioned') THEN
		PERFORM agentidp._raise('AIV01', pg_catalog.format('invalid status filter %L', p_status));
	END IF;
	IF p_cursor IS NOT NULL THEN
		cur := agentidp._decode_cursor(p_cursor);
		IF cur !~ '^-?[0-9]{1,18}\|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
			PERFORM agentidp._raise('AIV01', 'invalid cursor');
		END IF;
		c_ts := 'epoch'::timestamptz
			+ pg_catalog.split_part(cur, '|', 1)::bigint * '1 microsecond'::interval;
		c_id := pg_catalog.split_part(cur, '|', 2)::uuid;
	END IF;

	-- One more row than asked tells whether a next page exists.
	page := ARRAY(
		SELECT g FROM agentidp.agents AS g
		 WHERE (p_status IS NULL OR g.status = p_status)
		   AND (p_owner IS NULL OR g.owner = p_owner)
		   AND (p_search IS NULL
				OR pg_catalog.strpos(pg_catalog.lower(g.name), pg_catalog.lower(p_search)) > 0)
		   AND (p_cursor IS NULL OR (g.created_at, g.id) < (c_ts, c_id))
		 ORDER BY g.created_at DESC, g.id DESC
		 LIMIT p_lim + 1);

	SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(page[i]) ORDER BY i), '[]')
	  INTO rows
	  FROM pg_catalog.generate_series(1, LEAST(pg_catalog.cardinality(page), p_lim)) AS i;

	cur := NULL;
	IF pg_catalog.cardinality(page) > p_lim THEN
		cur := agentidp._b64url(pg_catalog.convert_to(
			(pg_catalog.extract('epoch', (page[p_lim]).created_at) * 1000000)::bigint::text
			|| '|' || (page[p_lim]).id::text, 'UTF8'));
	END IF;
	RETURN pg_catalog.jsonb_build_object('data', rows, 'next_cursor', cur);
END
$$;
COMMENT ON FUNCTION agentidp.list_agents(text, text, text, integer, text) IS
	'Page of agents, newest first: {"data": [...], "next_cursor": text|null}; filters by status, owner and a case-insensitive name substring; lim 1..100';

CREATE FUNCTION agentidp.suspend_agent(agent_id uuid)
RETURNS agentidp.agents
LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT agentidp._transition($1, 'suspended') $$;
COMMENT ON FUNCTION agentidp.suspend_agent(uuid) IS
	'active -> suspended: no new tokens, live tokens introspect inactive; AIT01 otherwise';

CREATE FUNCTION agentidp.reactivate_agent(agent_id uuid)
RETURNS agentidp.agents
LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT agentidp._transition($1, 'active') $$;
COMMENT ON FUNCTION agentidp.reactivate_agent(uuid) IS
	'suspended -> active: live tokens become active again; AIT01 otherwise';

CREATE FUNCTION agentidp.decommission_agent(agent_id uuid)
RETURNS agentidp.agents
LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT agentidp._transition($1, 'decommissioned') $$;
COMMENT ON FUNCTION agentidp.decommission_agent(uuid) IS
	'active|suspended -> decommissioned (final, the row stays): revokes every credential and live token in the same transaction';

CREATE FUNCTION agentidp.update_agent(agent_id uuid, patch jsonb)
RETURNS agentidp.agents
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_id	ALIAS FOR $1;
	p_patch	ALIAS FOR $2;
	a		agentidp.agents;
	k		text;
	v		jsonb;
	fields	text[] := '{}';
BEGIN
	IF p_patch IS NULL OR pg_catalog.jsonb_typeof(p_patch) <> 'object' THEN
		PERFORM agentidp._raise('AIV01', 'patch must be a JSON object');
	END IF;
	SELECT * INTO a FROM agentidp.agents AS g WHERE g.id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM agentidp._raise('AIN01', pg_catalog.format('agent %s not found', p_id));
	END IF;
	IF a.status = 'decommissioned' THEN
		PERFORM agentidp._raise('AIT01', 'invalid lifecycle transition: agent is decommissioned',
								'Decommissioned agents cannot be modified.');
	END IF;

	-- Validate every key before changing anything.
	FOR k, v IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(p_patch) AS e LOOP
		IF k IN ('name', 'owner') THEN
			IF pg_catalog.jsonb_typeof(v) <> 'string' OR pg_catalog.btrim(v #>> '{}') = ''
			   OR pg_catalog.length(v #>> '{}') > 200 THEN
				PERFORM agentidp._raise('AIV01',
					pg_catalog.format('patch field %s must be a non-empty string of at most 200 characters', k));
			END IF;
		ELSIF k = 'description' THEN
			IF pg_catalog.jsonb_typeof(v) NOT IN ('string', 'null') OR pg_catalog.length(v #>> '{}') > 2000 THEN
				PERFORM agentidp._raise('AIV01', 'patch field description must be a string of at most 2000 characters, or null');
			END IF;
		ELSIF k = 'capabilities' THEN
			IF pg_catalog.jsonb_typeof(v) <> 'array'
			   OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(v) AS x(e)
						   WHERE pg_catalog.jsonb_typeof(x.e) <> 'string') THEN
				PERFORM agentidp._raise('AIV01', 'patch field capabilities must be an array of strings');
			END IF;
		ELSIF k = 'metadata' THEN
			IF pg_catalog.jsonb_typeof(v) <> 'object' THEN
				PERFORM agentidp._raise('AIV01', 'patch field metadata must be a JSON object');
			END IF;
		ELSIF k = 'status' THEN
			IF pg_catalog.jsonb_typeof(v) <> 'string' OR (v #>> '{}') NOT IN ('active', 'suspended') THEN
				PERFORM agentidp._raise('AIV01', 'patch field status must be "active" or "suspended"',
										'Use decommission_agent() to decommission.');
			END IF;
		ELSE
			PERFORM agentidp._raise('AIV01', pg_catalog.format('unknown patch field %L', k),
				NULL, 'Fields: name, description, owner, capabilities, metadata, status.');
		END IF;
		fields := fields || k;
	END LOOP;

	UPDATE agentidp.agents AS g SET
		name = CASE WHEN p_patch ? 'name' THEN p_patch->>'name' ELSE g.name END,
		owner = CASE WHEN p_patch ? 'owner' THEN p_patch->>'owner' ELSE g.owner END,
		description = CASE WHEN p_patch ? 'description' THEN p_patch->>'description' ELSE g.description END,
		capabilities = CASE WHEN p_patch ? 'capabilities'
			THEN agentidp._check_capabilities(ARRAY(SELECT pg_catalog.jsonb_array_elements_text(p_patch->'capabilities')))
			ELSE g.capabilities END,
		metadata = CASE WHEN p_patch ? 'metadata' THEN p_patch->'metadata' ELSE g.metadata END,
		updated_at = pg_catalog.now()
	 WHERE g.id = p_id
	RETURNING * INTO a;
	IF fields <> '{status}' THEN
		PERFORM agentidp._audit('agent.updated', p_id,
			pg_catalog.jsonb_build_object('fields', pg_catalog.array_remove(fields, 'status')));
	END IF;

	-- A status change is a lifecycle transition with its own event and notice.
	IF p_patch ? 'status' AND (p_patch->>'status') <> a.status THEN
		a := agentidp._transition(p_id, p_patch->>'status');
	END IF;
	RETURN a;
END
$$;
COMMENT ON FUNCTION agentidp.update_agent(uuid, jsonb) IS
	'Patch name, description, owner, capabilities, metadata and/or status (active|suspended); AIV01 on an unknown field or wrong type';

-- credentials API ----------------------------------------------------------

CREATE FUNCTION agentidp.create_credential(agent_id uuid, expires_at timestamptz DEFAULT NULL)
RETURNS SETOF agentidp.credential_secret
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_agent		ALIAS FOR $1;
	p_expires	ALIAS FOR $2;
	a_status	text;
	v_secret	text;
	cr			agentidp.credentials;
BEGIN
	SELECT a.status INTO a_status FROM agentidp.agents AS a WHERE a.id = p_agent FOR SHARE;
	IF NOT FOUND THEN
		PERFORM agentidp._raise('AIN01', pg_catalog.format('agent %s not found', p_agent));
	END IF;
	IF a_status = 'decommissioned' THEN
		PERFORM agentidp._raise('AIT01', 'invalid lifecycle transition: agent is decommissioned',
								'Decommissioned agents get no credentials.');
	END IF;
	IF p_expires IS NOT NULL AND p_expires <= pg_catalog.now() THEN
		PERFORM agentidp._raise('AIV01', 'expires_at must be in the future');
	END IF;

	v_secret := agentidp._new_client_secret();
	INSERT INTO agentidp.credentials (agent_id, client_id, secret_hash, expires_at)
	VALUES (p_agent, agentidp._new_client_id(), agentidp._hash_secret(v_secret), p_expires)
	RETURNING * INTO cr;
	PERFORM agentidp._audit('credential.created', p_agent,
		pg_catalog.jsonb_build_object('credential_id', cr.id, 'client_id', cr.client_id,
									  'expires_at', cr.expires_at));

	RETURN QUERY SELECT cr.id, cr.client_id, v_secret, cr.created_at;
END
$$;
COMMENT ON FUNCTION agentidp.create_credential(uuid, timestamptz) IS
	'New client_id and secret for an agent; the only moment the secret is visible (only its bcrypt hash is stored)';

CREATE FUNCTION agentidp.rotate_credential(credential_id uuid)
RETURNS SETOF agentidp.credential_secret
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_cred		ALIAS FOR $1;
	cr			agentidp.credentials;
	a_status	text;
	v_secret	text;
BEGIN
	SELECT * INTO cr FROM agentidp.credentials AS c WHERE c.id = p_cred FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM agentidp._raise('AIN01', pg_catalog.format('credential %s not found', p_cred));
	END IF;
	IF cr.status <> 'active' THEN
		PERFORM agentidp._raise('AIT01', 'invalid lifecycle transition: credential is revoked');
	END IF;
	SELECT a.status INTO a_status FROM agentidp.agents AS a WHERE a.id = cr.agent_id;
	IF a_status = 'decommissioned' THEN
		PERFORM agentidp._raise('AIT01', 'invalid lifecycle transition: agent is decommissioned');
	END IF;

	-- The new hash and the bumped version land in one row update: from the
	-- commit on, every backend sees a version its secret cache has never
	-- verified, so the old secret fails everywhere at once.
	v_secret := agentidp._new_client_secret();
	UPDATE agentidp.credentials AS c
	   SET secret_hash = agentidp._hash_secret(v_secret),
		   secret_version = c.secret_version + 1,
		   rotated_at = pg_catalog.clock_timestamp()
	 WHERE c.id = p_cred
	RETURNING * INTO cr;
	PERFORM agentidp._audit('credential.rotated', cr.agent_id,
		pg_catalog.jsonb_build_object('credential_id', cr.id, 'client_id', cr.client_id,
									  'secret_version', cr.secret_version));

	RETURN QUERY SELECT cr.id, cr.client_id, v_secret, cr.rotated_at;
END
$$;
COMMENT ON FUNCTION agentidp.rotate_credential(uuid) IS
	'Replace a credential''s secret (same client_id); the old secret stops working at commit; created_at is the new secret''s creation time';

CREATE FUNCTION agentidp.revoke_credential(credential_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_cred	ALIAS FOR $1;
	cr		agentidp.credentials;
BEGIN
	SELECT * INTO cr FROM agentidp.credentials AS c WHERE c.id = p_cred FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM agentidp._raise('AIN01', pg_catalog.format('credential %s not found', p_cred));
	END IF;
	IF cr.status = 'revoked' THEN
		PERFORM agentidp._raise('AIT01', 'invalid lifecycle transition: credential is already revoked');
	END IF;
	UPDATE agentidp.credentials AS c SET status = 'revoked', revoked_at = pg_catalog.now()
	 WHERE c.id = p_cred;
	PERFORM agentidp._audit('credential.revoked', cr.agent_id,
		pg_catalog.jsonb_build_object('credential_id', cr.id, 'client_id', cr.client_id));
	-- Tokens of a revoked credential introspect inactive (the join checks
	-- the credential); the notice lets the bridge's cache say so too.
	PERFORM agentidp._notify(pg_catalog.jsonb_build_object('kind', 'client', 'client_id', cr.client_id));
END
$$;
COMMENT ON FUNCTION agentidp.revoke_credential(uuid) IS
	'Revoke a credential: no new tokens, its live tokens introspect inactive; AIT01 when already revoked';

-- VOLATILE although it only reads: the bridge lists, in the same statement,
-- a credential that create_credential or rotate_credential has just written,
-- and only a volatile function takes a snapshot that sees those rows (a
-- stable one keeps the statement's starting snapshot).
CREATE FUNCTION agentidp.list_credentials(agent_id uuid)
RETURNS SETOF agentidp.credential_info
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM agentidp.agents AS a WHERE a.id = $1) THEN
		PERFORM agentidp._raise('AIN01', pg_catalog.format('agent %s not found', $1));
	END IF;
	RETURN QUERY
	SELECT c.id, c.agent_id, c.client_id, c.status, c.created_at, c.rotated_at,
		   c.revoked_at, c.expires_at
	  FROM agentidp.credentials AS c
	 WHERE c.agent_id = $1
	 ORDER BY c.created_at, c.id;
END
$$;
COMMENT ON FUNCTION agentidp.list_credentials(uuid) IS
	'An agent''s credentials, oldest first, never the secret hash; AIN01 when the agent is absent';

CREATE FUNCTION agentidp.bootstrap_admin(name text)
RETURNS TABLE(agent_id uuid, credential_id uuid, client_id text, client_secret text)
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	p_name	ALIAS FOR $1;
	a		agentidp.agents;
	cr		record;
BEGIN
	-- Only for a fresh install: once a live admin exists, admins are
	-- registered through the API like any other agent.
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('agentidp.bootstrap_admin'));
	IF EXISTS (SELECT 1 FROM agentidp.agents AS g
				WHERE g.status <> 'decommissioned' AND 'admin' = ANY (g.capabilities)) THEN
		PERFORM agentidp._raise('AIT01', 'an admin agent already exists',
								'bootstrap_admin() is meant for a fresh install.');
	END IF;
	a := agentidp.register_agent(p_name, SESSION_USER::text,
		ARRAY['agents:read', 'agents:write', 'credentials:write', 'tokens:introspect',
			  'audit:read', 'admin'],
		'bootstrap administrator', '{}');
	SELECT * INTO cr FROM agentidp.create_credential(a.id) AS c;
	PERFORM agentidp._audit('admin.bootstrapped', a.id,
		pg_catalog.jsonb_build_object('credential_id', cr.credential_id, 'client_id', cr.client_id));

	agent_id := a.id;
	credential_id := cr.credential_id;
	client_id := cr.client_id;
	client_secret := cr.client_secret;
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION agentidp.bootstrap_admin(text) IS
	'First admin agent with every scope and its credential, for a fresh install; AIT01 when a live admin exists';

-- tokens API ---------------------------------------------------------------

CREATE FUNCTION agentidp.authenticate_client(client_id text, client_secret text)
RETURNS TABLE(agent_id uuid, credential_id uuid, capabilities text[])
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN QUERY SELECT r.agent_id, r.credential_id, r.capabilities
				   FROM agentidp._authenticate($1, $2, 'client.auth_failed') AS r;
END
$$;
COMMENT ON FUNCTION agentidp.authenticate_client(text, text) IS
	'Check a client_id and secret; the agent, credential and capabilities, or AIC01/AIU01 (audited)';

-- What authenticating a batch's clients gives: one per request.
CREATE TYPE agentidp._client AS (
	agent_id		uuid,
	credential_id	uuid,
	capabilities	text[]
);

-- The common start of issue_tokens and revoke_tokens: the batch's shape
-- (22023 for the whole call, before anything runs), then each request's ip.
-- A bad ip fails its own request only: answers holds that error at its
-- index and NULL elsewhere.  The ips are cast in one statement; only when
-- that fails are they cast one by one to find the bad ones.
CREATE FUNCTION agentidp._batch_start(requests jsonb, OUT ips inet[], OUT answers jsonb[])
RETURNS record
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
DECLARE
	n	integer;
	st	text;
	msg	text;
BEGIN
	IF $1 IS NULL OR pg_catalog.jsonb_typeof($1) <> 'array' THEN
		RAISE EXCEPTION 'requests must be a JSON array' USING ERRCODE = '22023';
	END IF;
	n := pg_catalog.jsonb_array_length($1);
	IF n NOT BETWEEN 1 AND 64 THEN
		RAISE EXCEPTION 'a batch holds 1 to 64 requests, not %', n USING ERRCODE = '22023';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements($1) AS e
				WHERE pg_catalog.jsonb_typeof(e) <> 'object') THEN
		RAISE EXCEPTION 'every request of a batch must be a JSON object' USING ERRCODE = '22023';
	END IF;
	answers := pg_catalog.array_fill(NULL::jsonb, ARRAY[n]);
	BEGIN
		ips := ARRAY(SELECT (e->>'ip')::inet
					   FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS a(e, i) ORDER BY i);
	EXCEPTION WHEN OTHERS THEN
		ips := pg_catalog.array_fill(NULL::inet, ARRAY[n]);
		FOR i IN 1 .. n LOOP
			BEGIN
				ips[i] := ($1->(i - 1)->>'ip')::inet;
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
				answers[i] := agentidp._error_answer(st, msg);
			END;
		END LOOP;
	END;
END
$$;

-- Authenticate the client of every request that has no answer yet; a
-- refusal (audited by _authenticate with that request's ip and user agent)
-- becomes its answer.  A batch usually comes from few clients, so each
-- distinct client_id and secret is checked once for all its requests (the
-- requests are grouped by the secret's SHA-256, which says nothing about
-- the secret, not by comparing secrets).  A refusal is never shared: each
-- refused request is checked and audited on its own.
-- batch: each request carries its own ip (in ips) and user_agent, which
-- become the request context of its refusal; otherwise the caller's stays.
CREATE FUNCTION agentidp._authenticate_all(requests jsonb, ips inet[], INOUT answers jsonb[],
										   refused_action text, batch boolean,
										   OUT clients agentidp._client[])
RETURNS record
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
DECLARE
	grp		record;
	i		integer;
	auth	agentidp._client;
	ok		boolean;
	st		text;
	msg		text;
	det		text;
	hnt		text;
BEGIN
	clients := pg_catalog.array_fill(NULL::agentidp._client, ARRAY[pg_catalog.jsonb_array_length($1)]);
	FOR grp IN
		SELECT a.e->>'client_id' AS client_id, (pg_catalog.array_agg(a.e->>'client_secret'))[1] AS secret,
			   pg_catalog.array_agg(a.i::integer ORDER BY a.i) AS idx
		  FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS a(e, i)
		 WHERE answers[a.i] IS NULL
		 GROUP BY a.e->>'client_id',
				  pg_catalog.sha256(pg_catalog.convert_to(COALESCE(a.e->>'client_secret', ''), 'UTF8')),
				  a.e->>'client_secret' IS NULL
		 ORDER BY pg_catalog.min(a.i)
	LOOP
		ok := false;
		FOREACH i IN ARRAY grp.idx LOOP
			IF NOT ok THEN
				IF batch THEN
					PERFORM agentidp.set_request_context(ips[i], $1->(i - 1)->>'user_agent', NULL);
				END IF;
				BEGIN
					auth := agentidp._authenticate(grp.client_id, grp.secret, refused_action);
					ok := true;
				EXCEPTION WHEN OTHERS THEN
					GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
											det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
					answers[i] := agentidp._error_answer(st, msg, det, hnt);
					CONTINUE;
				END;
			END IF;
			clients[i] := auth;
		END LOOP;
	END LOOP;
END
$$;

-- A request that passed its checks, waiting for its token.
CREATE TYPE agentidp._grant AS (
	i				integer,	-- its index in the batch
	jti				uuid,
	agent_id		uuid,
	credential_id	uuid,
	client_id		text,
	scope			text,
	audience		text,
	ip				inet,
	user_agent		text
);

-- Write and sign the tokens of accepted requests, in one statement for all
-- of them (token rows, their audit events, the signatures): a statement's
-- fixed cost (executor start-up, constraint checks) is paid once per call,
-- not once per token.  The quota comes first: this
-- backend's shard is bumped by the agent's requests, then the sum is
-- checked; the requests past the quota (the last ones, as one by one would
-- have it) are refused and audited, and their share of the bump taken back.
-- tokens[k] is the token of grants[k], or NULL where refusals[k] says why.
CREATE FUNCTION agentidp._issue_write(grants agentidp._grant[], batch boolean,
									  OUT tokens text[], OUT refusals jsonb[])
RETURNS record
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
DECLARE
	v_quota		integer := agentidp._setting_int('agentidp.monthly_token_quota', 10000);
	v_ttl		integer := agentidp._setting_seconds('agentidp.token_ttl', 3600);
	g			agentidp._grant[] := $1;
	v_month		date;
	v_agent		uuid;
	v_count		bigint;
	v_used		numeric;
	v_over		integer;
	k			record;
	v_iat		bigint;
BEGIN
	refusals := pg_catalog.array_fill(NULL::jsonb, ARRAY[pg_catalog.cardinality(g)]);
	IF v_quota > 0 THEN
		v_month := pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', pg_catalog.now()))::date;
		FOR v_agent, v_count IN
			SELECT x.agent_id, pg_catalog.count(*) FROM pg_catalog.unnest(g) AS x GROUP BY x.agent_id
		LOOP
			INSERT INTO agentidp.token_usage AS u (agent_id, month, shard, issued)
			VALUES (v_agent, v_month, pg_catalog.pg_backend_pid() % 16, v_count)
			ON CONFLICT (agent_id, month, shard) DO UPDATE SET issued = u.issued + v_count;
			SELECT pg_catalog.sum(u.issued) INTO v_used FROM agentidp.token_usage AS u
			 WHERE u.agent_id = v_agent AND u.month = v_month;
			CONTINUE WHEN v_used <= v_quota;
			v_over := LEAST(v_count, v_used - v_quota);
			UPDATE agentidp.token_usage AS u SET issued = u.issued - v_over
			 WHERE u.agent_id = v_agent AND u.month = v_month AND u.shard = pg_catalog.pg_backend_pid() % 16;
			FOR m IN REVERSE pg_catalog.cardinality(g) .. 1 LOOP
				EXIT WHEN v_over = 0;
				CONTINUE WHEN (g[m]).agent_id <> v_agent;
				IF batch THEN
					PERFORM agentidp.set_request_context((g[m]).ip, (g[m]).user_agent, NULL);
				END IF;
				refusals[m] := agentidp._refusal('AIQ01',
					pg_catalog.format('monthly token quota exceeded: agentidp.monthly_token_quota is %s', v_quota),
					'token.refused', v_agent,
					pg_catalog.jsonb_build_object('client_id', (g[m]).client_id, 'reason', 'quota_exceeded',
												  'quota', v_quota));
				g[m].jti := NULL;	-- no token for it
				v_over := v_over - 1;
			END LOOP;
		END LOOP;
	END IF;
	IF batch THEN
		-- The rows below carry each request's own ip and user agent.
		PERFORM agentidp.set_request_context(NULL, NULL, NULL);
	END IF;

	-- The common case in one indexed read; _active_key() creates the key on
	-- first use.
	SELECT sk.kid, sk.private_enc INTO k FROM agentidp.signing_keys AS sk WHERE sk.status = 'active';
	IF NOT FOUND THEN
		SELECT * INTO k FROM agentidp._active_key();
	END IF;
	v_iat := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()))::bigint;

	-- No token without its row and its audit event: all commit together.
	-- MATERIALIZED: each token is signed once, before its row (which keeps
	-- its digest) is written.
	WITH x AS MATERIALIZED (
		SELECT x.*, x.jti IS NOT NULL AS live,
			   CASE WHEN x.jti IS NOT NULL THEN
				   agentidp._sign_jwt(k.kid, k.private_enc, pg_catalog.jsonb_build_object(
					   'iss', agentidp._issuer(), 'sub', x.agent_id, 'client_id', x.client_id,
					   'aud', x.audience, 'scope', x.scope, 'iat', v_iat, 'nbf', v_iat,
					   'exp', v_iat + v_ttl, 'jti', x.jti)) END AS token
		  FROM pg_catalog.unnest(g) WITH ORDINALITY AS x(i, jti, agent_id, credential_id, client_id, scope,
														 audience, ip, user_agent, n)),
	t AS (
		INSERT INTO agentidp.tokens (jti, agent_id, credential_id, kid, scope, audience,
									 issued_at, expires_at, token_digest)
		SELECT x.jti, x.agent_id, x.credential_id, k.kid, x.scope, x.audience,
			   pg_catalog.to_timestamp(v_iat), pg_catalog.to_timestamp(v_iat + v_ttl),
			   agentidp._token_digest(x.token)
		  FROM x WHERE x.live),
	a AS (
		INSERT INTO agentidp.audit_events (agent_id, action, outcome, ip_address, user_agent, metadata)
		SELECT x.agent_id, 'token.issued', 'success', x.ip, x.user_agent,
			   pg_catalog.jsonb_build_object('client_id', x.client_id, 'jti', x.jti, 'scope', x.scope,
											 'aud', x.audience, 'kid', k.kid, 'exp', v_iat + v_ttl)
		  FROM x WHERE x.live)
	SELECT pg_catalog.array_agg(x.token ORDER BY x.n)
	  INTO tokens
	  FROM x;
END
$$;

-- The client credentials grant for one request (issue_token) or many
-- (issue_tokens).  Requests are authenticated and checked one by one, and
-- a refusal is audited in its own transaction and becomes the answer at
-- its index; the accepted ones are issued together by _issue_write.  In a
-- batch, if that fails (no key-encryption key, say), every accepted request
-- gets the error and nothing of the write stays; a single request just
-- raises it.  answers: pre-filled errors (from _batch_start), NULL elsewhere.
CREATE FUNCTION agentidp._issue(requests jsonb, ips inet[], answers jsonb[], batch boolean)
RETURNS jsonb[]
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
DECLARE
	v_ttl		integer := agentidp._setting_seconds('agentidp.token_ttl', 3600);
	answer		jsonb[] := $3;
	clients		agentidp._client[];
	auth		agentidp._client;
	g			agentidp._grant[] := '{}';
	w			record;
	s			record;
	r			jsonb;
	v_scope		text;
	v_aud		text;
	req			text[];
	extra		text[];
	v_code		text;
	v_msg		text;
	v_reason	jsonb;
	st			text;
	msg			text;
	det			text;
	hnt			text;
BEGIN
	IF batch THEN
		-- An assignment, not SELECT ... FROM: no function scan and tuplestore.
		s := agentidp._authenticate_all($1, $2, $3, 'token.refused', true);
		answer := s.answers;
		clients := s.clients;
	ELSE
		-- One request: its refusal is simply raised.
		auth := agentidp._authenticate($1->0->>'client_id', $1->0->>'client_secret', 'token.refused');
		clients := ARRAY[auth];
	END IF;
	FOR i IN 1 .. pg_catalog.jsonb_array_length($1) LOOP
		CONTINUE WHEN answer[i] IS NOT NULL;
		r := $1->(i - 1);
		auth := clients[i];
		v_scope := r->>'scope';
		v_aud := r->>'audience';
		v_code := NULL;
		-- Scope: space-separated tokens (RFC 6749 section 3.3), each one among
		-- the agent's capabilities; none requested means all of them.
		IF v_scope IS NULL OR v_scope = '' THEN
			req := auth.capabilities;
		ELSIF pg_catalog.length(v_scope) > 4096
			  OR v_scope !~ '^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$' THEN
			v_code := 'AIS01';
			v_msg := 'invalid_scope: malformed scope';
			v_reason := '{"reason": "malformed_scope"}';
		ELSE
			req := ARRAY(SELECT u.s FROM pg_catalog.regexp_split_to_table(v_scope, ' ') WITH ORDINALITY AS u(s, n)
						 GROUP BY u.s ORDER BY pg_catalog.min(u.n));
			extra := ARRAY(SELECT e FROM pg_catalog.unnest(req) AS e WHERE e <> ALL (auth.capabilities));
			IF pg_catalog.cardinality(extra) > 0 THEN
				v_code := 'AIS01';
				v_msg := pg_catalog.format('invalid_scope: scope %s exceeds the agent''s capabilities',
										   pg_catalog.array_to_string(extra, ' '));
				v_reason := pg_catalog.jsonb_build_object('reason', 'scope_exceeds_capabilities',
														  'scope', pg_catalog.left(v_scope, 512));
			END IF;
		END IF;
		IF v_code IS NULL THEN
			IF v_aud IS NULL THEN
				v_aud := agentidp._issuer();
			ELSIF v_aud = '' OR pg_catalog.length(v_aud) > 512 OR v_aud ~ '[[:cntrl:]]' THEN
				v_code := 'AIR01';
				v_msg := 'invalid_request: invalid audience';
				v_reason := '{"reason": "invalid_audience"}';
			END IF;
		END IF;
		IF v_code IS NOT NULL THEN
			IF batch THEN
				PERFORM agentidp.set_request_context($2[i], r->>'user_agent', NULL);
			END IF;
			answer[i] := agentidp._refusal(v_code, v_msg, 'token.refused', auth.agent_id,
				pg_catalog.jsonb_build_object('client_id', r->>'client_id') || v_reason);
			CONTINUE;
		END IF;
		g := g || ROW(i, agentidp._new_jti(), auth.agent_id, auth.credential_id, r->>'client_id',
					  pg_catalog.array_to_string(req, ' '), v_aud, $2[i],
					  CASE WHEN batch THEN r->>'user_agent' END)::agentidp._grant;
	END LOOP;
	IF pg_catalog.cardinality(g) = 0 THEN
		RETURN answer;
	END IF;

	IF batch THEN
		BEGIN
			w := agentidp._issue_write(g, true);
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
									det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
			FOR m IN 1 .. pg_catalog.cardinality(g) LOOP
				answer[(g[m]).i] := agentidp._error_answer(st, msg, det, hnt);
			END LOOP;
			RETURN answer;
		END;
	ELSE
		w := agentidp._issue_write(g, false);
	END IF;
	FOR m IN 1 .. pg_catalog.cardinality(g) LOOP
		answer[(g[m]).i] := COALESCE(w.refusals[m], pg_catalog.jsonb_build_object('token', pg_catalog.jsonb_build_object(
			'access_token', w.tokens[m],
			'token_type', 'Bearer',
			'expires_in', v_ttl,
			'scope', (g[m]).scope)));
	END LOOP;
	RETURN answer;
END
$$;

CREATE FUNCTION agentidp.issue_token(client_id text, client_secret text, scope text DEFAULT NULL,
									 audience text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a	jsonb;
BEGIN
	a := (agentidp._issue(pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
			'client_id', $1, 'client_secret', $2, 'scope', $3, 'audience', $4)),
		  '{NULL}', '{NULL}', false))[1];
	IF a ? 'token' THEN
		RETURN a->'token';
	END IF;
	PERFORM agentidp._raise(a->>'sqlstate', a->>'message', a->>'detail', a->>'hint');
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION agentidp.issue_token(text, text, text, text) IS
	'OAuth client credentials grant: an RS256 JWT access token as the RFC 6749 section 5.1 body; errors AIC01/AIR01/AIS01/AIU01/AIQ01 start with the RFC 6749 error code';

-- Batches: many requests in one call, one transaction and one commit (one
-- WAL flush instead of one per request; DESIGN.md section 5).  A refused
-- request is audited and answered at its own index without touching the
-- others: {"token": <issue_token body>} on success, {"sqlstate", "message",
-- "detail", "hint"} on failure.  At most 64 requests, a bound on the work
-- (and the locks) of one call.
CREATE FUNCTION agentidp.issue_tokens(requests jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s	record;
BEGIN
	s := agentidp._batch_start($1);
	RETURN pg_catalog.to_jsonb(agentidp._issue($1, s.ips, s.answers, true));
END
$$;
COMMENT ON FUNCTION agentidp.issue_tokens(jsonb) IS
	'issue_token for up to 64 requests {client_id, client_secret, scope, audience, ip, user_agent} in one transaction; answer i is {"token": ...} or {"sqlstate", "message", ...}';

-- The live token row behind verified claims, or nothing: signature, time
-- window, revocation, agent and credential status in one place.
CREATE FUNCTION agentidp._live_claims(token text)
RETURNS jsonb
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL RESTRICTED
AS $$
DECLARE
	claims	jsonb := agentidp._verify_jwt(token);
	v_now	numeric := pg_catalog.date_part('epoch', pg_catalog.clock_timestamp());
BEGIN
	-- COALESCE: jsonb_typeof of a missing claim is NULL, which would make the
	-- whole OR chain NULL and skip the refusal.
	IF claims IS NULL
	   OR COALESCE(pg_catalog.jsonb_typeof(claims->'exp'), '') <> 'number'
	   OR COALESCE(pg_catalog.jsonb_typeof(claims->'nbf'), '') <> 'number'
	   OR COALESCE(pg_catalog.jsonb_typeof(claims->'jti'), '') <> 'string'
	   OR (claims->>'exp')::numeric <= v_now
	   OR (claims->>'nbf')::numeric > v_now
	   OR (claims->>'iss') IS DISTINCT FROM agentidp._issuer()
	   OR (claims->>'jti') !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
		RETURN NULL;
	END IF;
	PERFORM 1
	  FROM agentidp.tokens AS t
	  JOIN agentidp.agents AS a ON a.id = t.agent_id
	  JOIN agentidp.credentials AS c ON c.id = t.credential_id
	 WHERE t.jti = (claims->>'jti')::uuid
	   AND t.agent_id::text = claims->>'sub'
	   AND t.revoked_at IS NULL
	   AND t.expires_at > pg_catalog.now()
	   AND a.status = 'active'
	   AND c.status = 'active'
	   AND (c.expires_at IS NULL OR c.expires_at > pg_catalog.now());
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN claims;
END
$$;

CREATE FUNCTION agentidp.introspect_token(token text)
RETURNS jsonb
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL RESTRICTED
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	claims	jsonb;
BEGIN
	IF $1 IS NULL THEN
		RETURN '{"active": false}';
	END IF;
	claims := agentidp._live_claims($1);
	IF claims IS NULL THEN
		RETURN '{"active": false}';
	END IF;
	RETURN pg_catalog.jsonb_build_object(
		'active', true,
		'scope', claims->'scope',
		'client_id', claims->'client_id',
		'sub', claims->'sub',
		'aud', claims->'aud',
		'iss', claims->'iss',
		'exp', claims->'exp',
		'iat', claims->'iat',
		'nbf', claims->'nbf',
		'jti', claims->'jti',
		'token_type', 'Bearer');
END
$$;
COMMENT ON FUNCTION agentidp.introspect_token(text) IS
	'RFC 7662 introspection: {"active": false} for a bad signature, retired key, expiry, revocation, inactive agent or revoked credential';

-- Revoke tokens, each on behalf of the agent beside it (NULL: any agent),
-- with one statement for all: the token rows, their audit events and their
-- revocation_log rows.  ips and uas NULL take the request context.
-- RFC 7009: a token that is not, byte for byte, one we issued (malformed,
-- forged, altered), is another agent's or is already revoked is left
-- alone, and that is not an error.  Answers
-- which ones this call revoked: {"<index>": {"jti", "exp"}} (index from 1),
-- for the bridge to put in its cache before it answers.
-- announce: send a NOTIFY per revoked token.  The bridge's batches do not
-- (revoke_tokens): a notifying transaction holds a database-wide lock from
-- its commit until the commit is flushed, so every revoking call waited for
-- the previous one's disk flush; the revoking bridge writes its own
-- revocations to the shared Redis before it answers, and every bridge reads
-- revocation_log at least once a second anyway (DESIGN.md section 2).
CREATE FUNCTION agentidp._revoke(tokens text[], agents uuid[], ips inet[], uas text[],
								 announce boolean)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
AS $$
DECLARE
	revoked	jsonb;
BEGIN
	-- A token is the row its (unverified) jti names only if it is, byte for
	-- byte, the token that row was issued as (_token_matches): a forged or
	-- altered token revokes nothing, and no RSA verification is needed.
	-- MATERIALIZED: each token is parsed once.
	WITH x AS MATERIALIZED (
		SELECT agentidp._token_jti(x.token) AS jti, x.token, x.agent, x.ip, x.ua, x.n
		  FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),
						  pg_catalog.unnest($4)) WITH ORDINALITY AS x(token, agent, ip, ua, n)),
	u AS (
		-- A token twice in the list is updated (and audited) once.
		UPDATE agentidp.tokens AS k SET revoked_at = pg_catalog.now()
		  FROM x
		 WHERE k.jti = x.jti
		   AND agentidp._token_matches(x.token, k.token_digest)
		   AND k.revoked_at IS NULL
		   AND (x.agent IS NULL OR k.agent_id = x.agent)
		RETURNING k.jti, k.agent_id, k.expires_at, x.agent AS requesting, x.ip, x.ua, x.n),
	a AS (
		INSERT INTO agentidp.audit_events (agent_id, action, outcome, ip_address, user_agent, metadata)
		SELECT u.agent_id, 'token.revoked', 'success', u.ip, u.ua,
			   pg_catalog.jsonb_build_object('jti', u.jti, 'requesting_agent', u.requesting)
		  FROM u ORDER BY u.n),
	l AS (
		-- What _notify writes, for all of them at once.
		INSERT INTO agentidp.revocation_log (kind, subject, expires_at)
		SELECT 'token', u.jti::text, u.expires_at FROM u ORDER BY u.n)
	SELECT pg_catalog.jsonb_object_agg(u.n::text, pg_catalog.jsonb_build_object('jti', u.jti,
			   'exp', pg_catalog.date_part('epoch', u.expires_at)::bigint))
	  INTO revoked
	  FROM u;
	IF revoked IS NOT NULL THEN
		IF announce THEN
			PERFORM pg_catalog.pg_notify('agentidp_revocation', (r.value || '{"kind": "token"}')::text)
			   FROM pg_catalog.jsonb_each(revoked) AS r;
		END IF;
		PERFORM agentidp._purge_revocation_log();
	END IF;
	RETURN COALESCE(revoked, '{}');
END
$$;

CREATE FUNCTION agentidp.revoke_token(token text, requesting_agent uuid DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM agentidp._revoke(ARRAY[$1], ARRAY[$2], '{NULL}', '{NULL}', true);
END
$$;
COMMENT ON FUNCTION agentidp.revoke_token(text, uuid) IS
	'RFC 7009 revocation, idempotent; with requesting_agent only that agent''s own tokens are revoked, others silently ignored';

-- A batch of revocations (see issue_tokens): each request's client is
-- authenticated and may revoke only its agent's own tokens; then all of
-- them are revoked with one statement.  Answer i is {"agent_id"}, plus
-- "jti" and "exp" of the token when this very request revoked it.
CREATE FUNCTION agentidp.revoke_tokens(requests jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b		record;
	s		record;
	answer	jsonb[];
	clients	agentidp._client[];
	x_tok	text[];
	x_agent	uuid[];
	x_ua	text[];
	rv		jsonb;
	st		text;
	msg		text;
	det		text;
	hnt		text;
BEGIN
	b := agentidp._batch_start($1);
	s := agentidp._authenticate_all($1, b.ips, b.answers, 'client.auth_failed', true);
	answer := s.answers;
	clients := s.clients;
	-- Index by index: the token of each authenticated request (NULL for a
	-- refused one, which thus revokes nothing), its agent, its user agent.
	SELECT pg_catalog.array_agg(CASE WHEN answer[a.i] IS NULL THEN a.e->>'token' END ORDER BY a.i),
		   pg_catalog.array_agg((clients[a.i]).agent_id ORDER BY a.i),
		   pg_catalog.array_agg(a.e->>'user_agent' ORDER BY a.i)
	  INTO x_tok, x_agent, x_ua
	  FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS a(e, i);
	-- The rows carry each request's own ip and user agent.
	PERFORM agentidp.set_request_context(NULL, NULL, NULL);
	BEGIN
		rv := agentidp._revoke(x_tok, x_agent, b.ips, x_ua, false);
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
								det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
		RETURN pg_catalog.to_jsonb(ARRAY(
			SELECT COALESCE(answer[i], agentidp._error_answer(st, msg, det, hnt))
			  FROM pg_catalog.generate_subscripts(answer, 1) AS i ORDER BY i));
	END;
	RETURN pg_catalog.to_jsonb(ARRAY(
		SELECT COALESCE(answer[i], pg_catalog.jsonb_build_object('agent_id', (clients[i]).agent_id)
								   || COALESCE(rv->(i::text), '{}'))
		  FROM pg_catalog.generate_subscripts(answer, 1) AS i ORDER BY i));
END
$$;
COMMENT ON FUNCTION agentidp.revoke_tokens(jsonb) IS
	'RFC 7009 revocation for up to 64 requests {token, client_id, client_secret, ip, user_agent} in one transaction, each client authenticated and limited to its own tokens; logged in revocation_log but not announced by NOTIFY (the caller writes its cache itself); answer i is {"agent_id", and "jti", "exp" when it revoked the token} or {"sqlstate", "message", ...}';

CREATE FUNCTION agentidp.revocation_snapshot()
RETURNS jsonb
LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
	-- Only what can still matter: tokens, agents and clients with a token
	-- that has not expired yet.
	SELECT pg_catalog.jsonb_build_object(
		'tokens', COALESCE((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
					   'jti', t.jti, 'exp', pg_catalog.date_part('epoch', t.expires_at)::bigint)
				   ORDER BY t.expires_at)
			  FROM agentidp.tokens AS t
			 WHERE t.revoked_at IS NOT NULL AND t.expires_at > pg_catalog.now()), '[]'),
		'agents', COALESCE((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', a.id, 'status', a.status)
				   ORDER BY a.id)
			  FROM agentidp.agents AS a
			 WHERE a.status <> 'active'
			   AND EXISTS (SELECT 1 FROM agentidp.tokens AS t
							WHERE t.agent_id = a.id AND t.expires_at > pg_catalog.now())), '[]'),
		'clients', COALESCE((
			SELECT pg_catalog.jsonb_agg(c.client_id ORDER BY c.client_id)
			  FROM agentidp.credentials AS c
			 WHERE (c.status = 'revoked' OR c.expires_at <= pg_catalog.now())
			   AND EXISTS (SELECT 1 FROM agentidp.tokens AS t
							WHERE t.credential_id = c.id AND t.expires_at > pg_catalog.now())), '[]'),
		'max_ttl', agentidp._setting_seconds('agentidp.token_ttl', 3600),
		-- The bridge's revocations_since cursor.  seq values are taken at
		-- insert, not commit, so a lower seq may still be in flight: start a
		-- minute back (replaying a row twice is harmless, missing one is not).
		'seq', COALESCE((SELECT pg_catalog.max(l.seq) FROM agentidp.revocation_log AS l
						  WHERE l.logged_at < pg_catalog.clock_timestamp() - '60 seconds'::interval), 0))
$$;
COMMENT ON FUNCTION agentidp.revocation_snapshot() IS
	'Revoked tokens, inactive agents and revoked or expired clients that still have unexpired tokens, for the bridge''s cache warm-up';

-- revocation_log rows after a cursor, oldest first, at most 500.  "next" is
-- the cursor for the following call: it stops before a gap in seq that may
-- be a transaction still in flight (a row after the gap logged less than a
-- minute ago), so that row is read when it commits; older gaps are rolled
-- back transactions.  Rows past the gap are returned anyway (and again next
-- time): applying one twice changes nothing.
-- PL/pgSQL around one query so that its plan is kept for the session: the
-- bridge calls this on every notification, and a SQL function was parsed
-- and planned on every call.  enable_seqscan off for the reason given at
-- _purge_revocation_log: the primary-key range scan is right at every size.
CREATE FUNCTION agentidp.revocations_since(after_seq bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET enable_seqscan = off
AS $$
BEGIN
	RETURN (WITH r AS (
		SELECT l.seq, l.kind, l.subject, l.status, l.expires_at, l.logged_at,
			   pg_catalog.lag(l.seq) OVER (ORDER BY l.seq) AS prev
		  FROM agentidp.revocation_log AS l
		 WHERE l.seq > COALESCE($1, 0)
		 ORDER BY l.seq
		 LIMIT 500),
	gap AS (
		SELECT pg_catalog.min(r.seq) AS seq FROM r
		 WHERE COALESCE(r.prev, COALESCE($1, 0)) <> r.seq - 1
		   AND r.logged_at > pg_catalog.clock_timestamp() - '60 seconds'::interval)
	SELECT pg_catalog.jsonb_build_object(
		'entries', COALESCE((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
					   'seq', r.seq, 'kind', r.kind, 'subject', r.subject, 'status', r.status,
					   'exp', pg_catalog.date_part('epoch', r.expires_at)::bigint)
				   ORDER BY r.seq)
			  FROM r), '[]'),
		'next', COALESCE((SELECT pg_catalog.max(r.seq) FROM r, gap
						   WHERE gap.seq IS NULL OR r.seq < gap.seq), COALESCE($1, 0)),
		'more', (SELECT pg_catalog.count(*) FROM r) = 500));
END
$$;
COMMENT ON FUNCTION agentidp.revocations_since(bigint) IS
	'Revocation-relevant changes after a cursor, for the bridge: notifications on agentidp_revocation are only hints, this is what the bridge applies';

-- signing keys API ---------------------------------------------------------

CREATE FUNCTION agentidp.jwks()
RETURNS jsonb
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- The next key is published before it signs; a retiring key until its
	-- last token has expired.
	RETURN pg_catalog.jsonb_build_object('keys', COALESCE((
		SELECT pg_catalog.jsonb_agg(
				   agentidp._rsa_jwk(k.public_pem)
				   || pg_catalog.jsonb_build_object('kid', k.kid, 'use', 'sig', 'alg', 'RS256')
				   ORDER BY CASE k.status WHEN 'active' THEN 0 WHEN 'next' THEN 1 ELSE 2 END,
							k.created_at DESC)
		  FROM agentidp.signing_keys AS k
		 WHERE k.status IN ('active', 'next')
			OR (k.status = 'retiring' AND k.publish_until > pg_catalog.now())), '[]'));
END
$$;
COMMENT ON FUNCTION agentidp.jwks() IS
	'RFC 7517 JWK set of every public key a live token may carry (active, next, retiring until its tokens expire)';

CREATE FUNCTION agentidp.rotate_signing_key()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	old_kid		text;
	new_kid		text;
	next_kid	text;
	v_until		timestamptz;
	r			record;
BEGIN
	PERFORM agentidp._lock_keys();

	-- Retiring keys whose last token has expired are no longer published.
	FOR r IN
		UPDATE agentidp.signing_keys AS k SET status = 'retired', retired_at = pg_catalog.now()
		 WHERE k.status = 'retiring' AND k.publish_until <= pg_catalog.now()
		RETURNING k.kid
	LOOP
		PERFORM agentidp._notify(pg_catalog.jsonb_build_object('kind', 'key', 'kid', r.kid,
															   'status', 'retired'));
		PERFORM agentidp._audit('key.retired', NULL, pg_catalog.jsonb_build_object('kid', r.kid));
	END LOOP;

	SELECT k.kid INTO old_kid FROM agentidp.signing_keys AS k WHERE k.status = 'active';
	IF old_kid IS NOT NULL THEN
		-- Keep publishing the old key until the last token it signed expires.
		-- A transaction that read the old key before this rotation commits
		-- may still sign with it: a full token lifetime from now covers it.
		SELECT GREATEST(pg_catalog.max(t.expires_at),
						pg_catalog.now() + agentidp._setting_seconds('agentidp.token_ttl', 3600)
										   * '1 second'::interval) INTO v_until
		  FROM agentidp.tokens AS t WHERE t.kid = old_kid;
		UPDATE agentidp.signing_keys AS k
		   SET status = 'retiring', retiring_at = pg_catalog.now(),
			   publish_until = COALESCE(v_until, pg_catalog.now())
		 WHERE k.kid = old_kid;
		PERFORM agentidp._audit('key.retiring', NULL,
			pg_catalog.jsonb_build_object('kid', old_kid, 'publish_until', COALESCE(v_until, pg_catalog.now())));
	END IF;

	new_kid := agentidp._activate_next_key();
	SELECT k.kid INTO next_kid FROM agentidp.signing_keys AS k WHERE k.status = 'next';
	RETURN pg_catalog.jsonb_build_object('active', new_kid, 'next', next_kid, 'retiring', old_kid);
END
$$;
COMMENT ON FUNCTION agentidp.rotate_signing_key() IS
	'The already published next key starts signing, the active key is retiring (still published and verifying) until its last token expires, a new next key is published';

CREATE FUNCTION agentidp.retire_signing_key(kid text)
RETURNS void
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_kid		ALIAS FOR $1;
	old_status	text;
	t			record;
	n			bigint := 0;
BEGIN
	PERFORM agentidp._lock_keys();
	SELECT k.status INTO old_status FROM agentidp.signing_keys AS k WHERE k.kid = p_kid FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM agentidp._raise('AIN01', pg_catalog.format('signing key %s not found', p_kid));
	END IF;
	IF old_status = 'retired' THEN
		PERFORM agentidp._raise('AIT01', pg_catalog.format('invalid lifecycle transition: signing key %s is already retired', p_kid));
	END IF;

	UPDATE agentidp.signing_keys AS k
	   SET status = 'retired', retired_at = pg_catalog.now(), publish_until = pg_catalog.now()
	 WHERE k.kid = p_kid;
	-- The bridge drops the key at once: tokens minted with a stolen key
	-- (fresh jti, no tokens row) must not verify there either.
	PERFORM agentidp._notify(pg_catalog.jsonb_build_object('kind', 'key', 'kid', p_kid,
														   'status', 'retired'));

	-- Its tokens stop verifying now (_verify_jwt ignores retired keys); mark
	-- them revoked too so the bridge's cache drops them at once.
	FOR t IN
		UPDATE agentidp.tokens AS k SET revoked_at = pg_catalog.now()
		 WHERE k.kid = p_kid AND k.revoked_at IS NULL AND k.expires_at > pg_catalog.now()
		RETURNING k.jti, k.expires_at
	LOOP
		n := n + 1;
		PERFORM agentidp._notify(pg_catalog.jsonb_build_object('kind', 'token', 'jti', t.jti,
			'exp', pg_catalog.date_part('epoch', t.expires_at)::bigint));
	END LOOP;
	PERFORM agentidp._audit('key.retired', NULL,
		pg_catalog.jsonb_build_object('kid', p_kid, 'previous_status', old_status,
									  'emergency', true, 'tokens_revoked', n));

	-- Never leave the service without a signing key or a published successor.
	IF old_status = 'active' THEN
		PERFORM agentidp._activate_next_key();
	ELSIF old_status = 'next' THEN
		PERFORM agentidp._create_signing_key('next');
	END IF;
END
$$;
COMMENT ON FUNCTION agentidp.retire_signing_key(text) IS
	'Emergency retirement: the key stops being published and its tokens become inactive now; an active or next key is replaced';

CREATE FUNCTION agentidp.signing_keys_info()
RETURNS TABLE(kid text, status text, created_at timestamptz, activated_at timestamptz,
			  retiring_at timestamptz, retired_at timestamptz, publish_until timestamptz)
LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
	SELECT k.kid, k.status, k.created_at, k.activated_at, k.retiring_at, k.retired_at, k.publish_until
	  FROM agentidp.signing_keys AS k
	 ORDER BY k.created_at, k.kid
$$;
COMMENT ON FUNCTION agentidp.signing_keys_info() IS
	'Life cycle of every signing key (next, active, retiring, retired); never key material';

-- audit API ----------------------------------------------------------------

CREATE VIEW agentidp.audit_log AS
SELECT e.id,
	   e.occurred_at,
	   e.agent_id,
	   a.name AS agent_name,
	   e.actor_agent_id,
	   e.db_user,
	   e.action,
	   e.outcome,
	   e.ip_address,
	   e.user_agent,
	   e.metadata,
	   e.chain_stream,
	   e.chain_seq,
	   pg_catalog.encode(e.row_hash, 'hex') AS row_hash
  FROM agentidp.audit_events AS e
  LEFT JOIN agentidp.agents AS a ON a.id = e.agent_id;
COMMENT ON VIEW agentidp.audit_log IS
	'One readable row per audit event, with the agent''s name';

CREATE VIEW agentidp.audit_daily_summary AS
SELECT pg_catalog.timezone('UTC', e.occurred_at)::date AS day,
	   e.agent_id,
	   e.action,
	   e.outcome,
	   pg_catalog.count(*) AS events
  FROM agentidp.audit_events AS e
 GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW agentidp.audit_daily_summary IS
	'Audit events per UTC day, agent, action and outcome';

CREATE FUNCTION agentidp.list_audit(agent_id uuid DEFAULT NULL, action text DEFAULT NULL,
									outcome text DEFAULT NULL, from_ts timestamptz DEFAULT NULL,
									to_ts timestamptz DEFAULT NULL, lim integer DEFAULT 50,
									cursor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_agent		ALIAS FOR $1;
	p_action	ALIAS FOR $2;
	p_outcome	ALIAS FOR $3;
	p_from		ALIAS FOR $4;
	p_to		ALIAS FOR $5;
	p_lim		ALIAS FOR $6;
	p_cursor	ALIAS FOR $7;
	c_id		bigint;
	cur			text;
	ids			bigint[];
	rows		jsonb;
BEGIN
	PERFORM agentidp._check_limit(p_lim);
	IF p_outcome IS NOT NULL AND p_outcome NOT IN ('success', 'failure') THEN
		PERFORM agentidp._raise('AIV01', pg_catalog.format('invalid outcome filter %L', p_outcome));
	END IF;
	IF p_cursor IS NOT NULL THEN
		cur := agentidp._decode_cursor(p_cursor);
		IF cur !~ '^[0-9]{1,18}$' THEN
			PERFORM agentidp._raise('AIV01', 'invalid cursor');
		END IF;
		c_id := cur::bigint;
	END IF;

	ids := ARRAY(
		SELECT e.id FROM agentidp.audit_events AS e
		 WHERE (p_agent IS NULL OR e.agent_id = p_agent)
		   AND (p_action IS NULL OR e.action = p_action)
		   AND (p_outcome IS NULL OR e.outcome = p_outcome)
		   AND (p_from IS NULL OR e.occurred_at >= p_from)
		   AND (p_to IS NULL OR e.occurred_at < p_to)
		   AND (c_id IS NULL OR e.id < c_id)
		 ORDER BY e.id DESC
		 LIMIT p_lim + 1);

	SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(l.*) ORDER BY l.id DESC), '[]')
	  INTO rows
	  FROM agentidp.audit_log AS l
	 WHERE l.id = ANY (ids[1:p_lim]);

	cur := NULL;
	IF pg_catalog.cardinality(ids) > p_lim THEN
		cur := agentidp._b64url(pg_catalog.convert_to(ids[p_lim]::text, 'UTF8'));
	END IF;
	RETURN pg_catalog.jsonb_build_object('data', rows, 'next_cursor', cur);
END
$$;
COMMENT ON FUNCTION agentidp.list_audit(uuid, text, text, timestamptz, timestamptz, integer, text) IS
	'Page of audit events, newest first: {"data": [...], "next_cursor": text|null}; filters by agent, action, outcome and [from_ts, to_ts); lim 1..100';

CREATE FUNCTION agentidp.get_audit_event(id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ev		jsonb;
BEGIN
	SELECT pg_catalog.to_jsonb(l.*) INTO ev FROM agentidp.audit_log AS l WHERE l.id = $1;
	IF ev IS NULL THEN
		PERFORM agentidp._raise('AIN01', pg_catalog.format('audit event %s not found', $1));
	END IF;
	RETURN ev;
END
$$;
COMMENT ON FUNCTION agentidp.get_audit_event(bigint) IS
	'One audit event as JSON (the audit_log row); AIN01 when absent';

CREATE FUNCTION agentidp.record_failure(action text, client_id text, reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_action	ALIAS FOR $1;
	p_client	ALIAS FOR $2;
	p_reason	ALIAS FOR $3;
	v_agent		uuid;
BEGIN
	IF p_action IS NULL OR p_action NOT IN ('token.refused', 'client.auth_failed') THEN
		PERFORM agentidp._raise('AIV01', pg_catalog.format('invalid failure action %L', p_action),
								NULL, 'Use token.refused or client.auth_failed.');
	END IF;
	IF p_client IS NOT NULL THEN
		SELECT c.agent_id INTO v_agent FROM agentidp.credentials AS c WHERE c.client_id = p_client;
	END IF;
	-- The caller's statement succeeds, so the event commits with it; no
	-- background worker is needed here.  Bound what the client sent.
	INSERT INTO agentidp.audit_events (agent_id, action, outcome, metadata)
	VALUES (v_agent, p_action, 'failure',
			pg_catalog.jsonb_build_object('client_id', pg_catalog.left(p_client, 128),
										  'reason', pg_catalog.left(p_reason, 256)));
END
$$;
COMMENT ON FUNCTION agentidp.record_failure(text, text, text) IS
	'Audit a failure the bridge detected before calling SQL (bad grant_type, malformed request)';

-- privileges ---------------------------------------------------------------

-- Nothing is callable or readable by default; the roles get exactly their
-- share.  Tables (signing_keys above all) carry no grant: the SECURITY
-- DEFINER functions are the only way in.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agentidp FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA agentidp FROM PUBLIC;

GRANT USAGE ON SCHEMA agentidp TO agentidp_admin, agentidp_bridge, agentidp_auditor;

GRANT EXECUTE ON FUNCTION
	agentidp.set_request_context(inet, text, uuid),
	agentidp.register_agent(text, text, text[], text, jsonb),
	agentidp.get_agent(uuid),
	agentidp.list_agents(text, text, text, integer, text),
	agentidp.update_agent(uuid, jsonb),
	agentidp.suspend_agent(uuid),
	agentidp.reactivate_agent(uuid),
	agentidp.decommission_agent(uuid),
	agentidp.create_credential(uuid, timestamptz),
	agentidp.rotate_credential(uuid),
	agentidp.revoke_credential(uuid),
	agentidp.list_credentials(uuid),
	agentidp.bootstrap_admin(text),
	agentidp.authenticate_client(text, text),
	agentidp.issue_token(text, text, text, text),
	agentidp.introspect_token(text),
	agentidp.revoke_token(text, uuid),
	agentidp.issue_tokens(jsonb),
	agentidp.revoke_tokens(jsonb),
	agentidp.revocation_snapshot(),
	agentidp.revocations_since(bigint),
	agentidp.jwks(),
	agentidp.rotate_signing_key(),
	agentidp.retire_signing_key(text),
	agentidp.signing_keys_info(),
	agentidp.list_audit(uuid, text, text, timestamptz, timestamptz, integer, text),
	agentidp.get_audit_event(bigint),
	agentidp.record_failure(text, text, text),
	agentidp.verify_audit_chain(),
	agentidp.purge_audit(interval)
TO agentidp_admin, agentidp_bridge;

-- The bridge's bind parameters carry client secrets and tokens: it turns
-- their logging off in each of its sessions (a statement logged by
-- log_min_duration_statement or log_statement would show them in full),
-- which this superuser-only setting needs a grant for.
GRANT SET ON PARAMETER log_parameter_max_length TO agentidp_bridge;

GRANT SELECT ON agentidp.audit_log, agentidp.audit_daily_summary TO agentidp_admin, agentidp_auditor;
GRANT EXECUTE ON FUNCTION agentidp.verify_audit_chain() TO agentidp_auditor;

-- audit checkpoints ---------------------------------------------------------

-- A superuser can rewrite the whole audit table and recompute every hash, and
-- verify_audit_chain() would then find nothing.  A checkpoint is the chain
-- heads of every stream, signed with the IdP's key and kept elsewhere: any
-- later rewrite of an event at or before a checkpointed head changes that
-- head's row_hash (each hash covers the previous one), and removing a
-- stream's newest events removes the head itself.  Its JWS type differs from
-- access tokens' (at+jwt), so neither can pass for the other.

CREATE FUNCTION agentidp._sign_jws(kid text, private_enc bytea, typ text, claims jsonb)
RETURNS text
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'agentidp__sign_jws';

-- Accepts a key of any status, retired included (a checkpoint outlives its
-- key), but never the access-token type.
CREATE FUNCTION agentidp._verify_jws(token text, typ text)
RETURNS jsonb
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'agentidp__verify_jws';

-- The JWS type of a checkpoint.
CREATE FUNCTION agentidp._checkpoint_typ()
RETURNS text
LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
AS $$
	SELECT 'agentidp-audit-checkpoint+jwt'::text
$$;

-- The digest over a checkpoint's heads: SHA-256 (hex) of the lines
-- "<stream uuid>:<seq>:<row_hash hex>" sorted by stream, joined by "\n".
-- Written out in README.md so anyone can recompute it from the table.
CREATE FUNCTION agentidp._checkpoint_digest(streams jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(COALESCE(
		pg_catalog.string_agg((h->>'stream') || ':' || (h->>'seq') || ':' || (h->>'row_hash'),
							  E'\n' ORDER BY (h->>'stream') COLLATE "C"), ''), 'UTF8')), 'hex')
	  FROM pg_catalog.jsonb_array_elements($1) AS h
$$;

-- The decoded JOSE header of a compact JWS, or NULL when it does not decode
-- (the token is untrusted input; the signature is checked elsewhere).
CREATE FUNCTION agentidp._jws_header(token text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
	b64		text := pg_catalog.translate(pg_catalog.split_part(token, '.', 1), '-_', '+/');
	hdr		jsonb;
BEGIN
	b64 := b64 || pg_catalog.repeat('=', (4 - pg_catalog.length(b64) % 4) % 4);
	hdr := pg_catalog.convert_from(pg_catalog.decode(b64, 'base64'), 'UTF8')::jsonb;
	RETURN CASE WHEN pg_catalog.jsonb_typeof(hdr) = 'object' THEN hdr END;
EXCEPTION WHEN data_exception OR invalid_parameter_value OR character_not_in_repertoire
			   OR invalid_text_representation THEN
	RETURN NULL;
END
$$;

CREATE FUNCTION agentidp.audit_checkpoint()
RETURNS text
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k		record;
	claims	jsonb;
BEGIN
	k := agentidp._active_key();
	-- One statement, one snapshot: the heads, the count and the highest id
	-- describe the same state of the table.  A stream whose events were all
	-- purged keeps its head in audit_anchors.
	WITH heads AS (
		SELECT DISTINCT ON (s.chain_stream) s.chain_stream, s.chain_seq, s.row_hash
		  FROM (SELECT e.chain_stream, e.chain_seq, e.row_hash
				  FROM agentidp.audit_events AS e WHERE e.chain_stream IS NOT NULL
				UNION ALL
				SELECT a.chain_stream, a.chain_seq, a.row_hash
				  FROM agentidp.audit_anchors AS a) AS s
		 ORDER BY s.chain_stream, s.chain_seq DESC
	), streams AS (
		SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
					'stream', h.chain_stream, 'seq', h.chain_seq,
					'row_hash', pg_catalog.encode(h.row_hash, 'hex'))
				ORDER BY h.chain_stream::text COLLATE "C"), '[]') AS list
		  FROM heads AS h
	)
	SELECT pg_catalog.jsonb_build_object(
			'iss', agentidp._issuer(),
			'iat', pg_catalog.floor(EXTRACT(epoch FROM pg_catalog.now()))::bigint,
			'max_event_id', COALESCE((SELECT pg_catalog.max(e.id) FROM agentidp.audit_events AS e), 0),
			'events', (SELECT pg_catalog.count(*) FROM agentidp.audit_events AS e),
			'streams', st.list,
			'heads_digest', agentidp._checkpoint_digest(st.list))
	  INTO claims
	  FROM streams AS st;
	RETURN agentidp._sign_jws(k.kid, k.private_enc, agentidp._checkpoint_typ(), claims);
END
$$;
COMMENT ON FUNCTION agentidp.audit_checkpoint() IS
	'Signed checkpoint of the audit log (JWS, typ agentidp-audit-checkpoint+jwt): every stream''s head, the event count and the highest id; keep it outside the database and check it later with verify_audit_checkpoint';

CREATE FUNCTION agentidp.verify_audit_checkpoint(checkpoint text)
RETURNS TABLE(valid_signature boolean, consistent boolean, streams_checked integer, detail text)
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	hdr			jsonb;
	claims		jsonb;
	v_kid		text;
	v_status	text;
	h			record;
	ev			record;
	v_anchor	bigint;
	v_anchor_hash bytea;
	v_now		bigint;
	chain		record;
	problems	text[] := '{}';
	checked		integer := 0;
BEGIN
	hdr := agentidp._jws_header(checkpoint);
	IF hdr IS NULL OR hdr->>'typ' IS DISTINCT FROM agentidp._checkpoint_typ() THEN
		PERFORM agentidp._raise('AIV01', 'not an audit checkpoint',
			pg_catalog.format('The JWS type is %s.', COALESCE(pg_catalog.left(hdr->>'typ', 64), 'absent')),
			'Pass the text agentidp.audit_checkpoint() returned.');
	END IF;
	v_kid := pg_catalog.left(hdr->>'kid', 64);
	claims := agentidp._verify_jws(checkpoint, agentidp._checkpoint_typ());
	IF claims IS NULL THEN
		valid_signature := false;
		consistent := false;
		streams_checked := 0;
		detail := pg_catalog.format('signature does not verify with any key in signing_keys (kid %s)',
									COALESCE(v_kid, 'absent'));
		RETURN NEXT;
		RETURN;
	END IF;
	SELECT k.status INTO v_status FROM agentidp.signing_keys AS k WHERE k.kid = v_kid;
	valid_signature := true;

	-- Signed by us, so the shape is ours; still, never trust it blindly.
	IF pg_catalog.jsonb_typeof(claims->'streams') IS DISTINCT FROM 'array'
	   OR agentidp._checkpoint_digest(claims->'streams') IS DISTINCT FROM claims->>'heads_digest' THEN
		consistent := false;
		streams_checked := 0;
		detail := 'checkpoint payload is malformed: heads_digest does not match its streams';
		RETURN NEXT;
		RETURN;
	END IF;

	FOR h IN SELECT (x->>'stream')::uuid AS stream, (x->>'seq')::bigint AS seq,
					x->>'row_hash' AS hash_hex
			   FROM pg_catalog.jsonb_array_elements(claims->'streams') AS x
			  ORDER BY x->>'stream' COLLATE "C"
	LOOP
		checked := checked + 1;
		SELECT e.id, e.row_hash INTO ev FROM agentidp.audit_events AS e
		 WHERE e.chain_stream = h.stream AND e.chain_seq = h.seq;
		IF FOUND THEN
			IF pg_catalog.encode(ev.row_hash, 'hex') IS DISTINCT FROM h.hash_hex THEN
				problems := problems || pg_catalog.format(
					'stream %s: event %s (seq %s) has row_hash %s, the checkpoint says %s: the event or one before it was rewritten',
					h.stream, ev.id, h.seq, pg_catalog.left(pg_catalog.encode(ev.row_hash, 'hex'), 16),
					pg_catalog.left(h.hash_hex, 16));
			END IF;
			CONTINUE;
		END IF;
		-- Not in the table: purged (an anchor at or above the head) or deleted.
		SELECT a.chain_seq, a.row_hash INTO v_anchor, v_anchor_hash FROM agentidp.audit_anchors AS a
		 WHERE a.chain_stream = h.stream ORDER BY a.chain_seq DESC LIMIT 1;
		IF v_anchor IS NOT NULL AND v_anchor >= h.seq THEN
			IF v_anchor = h.seq AND pg_catalog.encode(v_anchor_hash, 'hex') IS DISTINCT FROM h.hash_hex THEN
				problems := problems || pg_catalog.format(
					'stream %s: the purge anchor at seq %s has row_hash %s, the checkpoint says %s',
					h.stream, h.seq, pg_catalog.left(pg_catalog.encode(v_anchor_hash, 'hex'), 16),
					pg_catalog.left(h.hash_hex, 16));
			END IF;
			CONTINUE;
		END IF;
		SELECT pg_catalog.max(e.chain_seq) INTO v_now FROM agentidp.audit_events AS e
		 WHERE e.chain_stream = h.stream;
		problems := problems || pg_catalog.format(
			'stream %s: the checkpointed head (seq %s) is missing and no purge covers it; the stream now ends at %s: events were deleted',
			h.stream, h.seq, COALESCE('seq ' || v_now, 'nothing'));
	END LOOP;

	SELECT * INTO chain FROM agentidp.verify_audit_chain();
	IF NOT chain.intact THEN
		problems := problems || ('chain: ' || chain.detail);
	END IF;

	streams_checked := checked;
	consistent := pg_catalog.cardinality(problems) = 0;
	IF consistent THEN
		detail := pg_catalog.format(
			'checkpoint of %s (%s events, highest id %s) signed by key %s (%s): all %s stream heads match and the chain is intact',
			pg_catalog.to_char(pg_catalog.to_timestamp((claims->>'iat')::double precision) AT TIME ZONE 'UTC',
							   'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
			claims->>'events', claims->>'max_event_id', v_kid, v_status, checked);
	ELSE
		detail := problems[1] || CASE WHEN pg_catalog.cardinality(problems) > 1
			THEN pg_catalog.format(' (and %s more problems)', pg_catalog.cardinality(problems) - 1) ELSE '' END;
	END IF;
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION agentidp.verify_audit_checkpoint(text) IS
	'Check a checkpoint from audit_checkpoint: its signature (any key ever published, retired ones included), every stream head still in the table with the same hash or covered by a purge, and the chain intact';

REVOKE ALL ON FUNCTION
	agentidp._sign_jws(text, bytea, text, jsonb),
	agentidp._verify_jws(text, text),
	agentidp._checkpoint_typ(),
	agentidp._checkpoint_digest(jsonb),
	agentidp._jws_header(text),
	agentidp.audit_checkpoint(),
	agentidp.verify_audit_checkpoint(text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	agentidp.audit_checkpoint(),
	agentidp.verify_audit_checkpoint(text)
TO agentidp_admin, agentidp_auditor;
