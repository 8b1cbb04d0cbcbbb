/*-------------------------------------------------------------------------
 *
 * agentidp.h
 *		Private declarations shared by the C files of the agentidp
 *		extension: settings, SQLSTATEs and cross-module helpers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AGENTIDP_H
#define AGENTIDP_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/elog.h"
#include "utils/uuid.h"

/*
 * SQLSTATEs of DESIGN.md §1; the bridge maps them to HTTP statuses, so every
 * user-facing error carries one of these (or a standard class 22/23/42 code).
 */
#define ERRCODE_AIDP_INVALID_CLIENT		MAKE_SQLSTATE('A','I','C','0','1')
#define ERRCODE_AIDP_INVALID_REQUEST	MAKE_SQLSTATE('A','I','R','0','1')
#define ERRCODE_AIDP_INVALID_SCOPE		MAKE_SQLSTATE('A','I','S','0','1')
#define ERRCODE_AIDP_UNAUTHORIZED		MAKE_SQLSTATE('A','I','U','0','1')
#define ERRCODE_AIDP_QUOTA				MAKE_SQLSTATE('A','I','Q','0','1')
#define ERRCODE_AIDP_AGENT_LIMIT		MAKE_SQLSTATE('A','I','Q','0','2')
#define ERRCODE_AIDP_NOT_FOUND			MAKE_SQLSTATE('A','I','N','0','1')
#define ERRCODE_AIDP_TRANSITION			MAKE_SQLSTATE('A','I','T','0','1')
#define ERRCODE_AIDP_INVALID_INPUT		MAKE_SQLSTATE('A','I','V','0','1')
#define ERRCODE_AIDP_KEY				MAKE_SQLSTATE('A','I','K','0','1')

/* bcrypt reads at most 72 bytes; longer secrets are refused, not cut. */
#define AIDP_BCRYPT_MAX_SECRET	72

/* Settings (agentidp.c). */
extern char *agentidp_issuer;
extern int	agentidp_token_ttl;
extern int	agentidp_max_agents;
extern int	agentidp_monthly_token_quota;
extern int	agentidp_bcrypt_cost;
extern int	agentidp_key_bits;
extern char *agentidp_key_encryption_key;
extern bool agentidp_audit_chain;

/* keys.c: open a private key sealed by _generate_key (AIK01 on failure). */
extern char *KeysOpenPrivatePem(const bytea *sealed, size_t *pemlen);

/* audit.c: register the transaction callbacks of the chain (from _PG_init). */
extern void AuditInit(void);

/*
 * audit.c: the request context of set_request_context() for the current
 * transaction.  Each returns NULL / false when the value is not set.
 */
extern char *AuditContextIp(void);
extern char *AuditContextUserAgent(void);
extern bool AuditContextActor(pg_uuid_t *actor);

/* Columns of agentidp.audit_events, canonical ones first, in their order. */
typedef enum AuditCol
{
	AC_ID,
	AC_OCCURRED_AT,
	AC_AGENT_ID,
	AC_ACTOR_AGENT_ID,
	AC_DB_USER,
	AC_ACTION,
	AC_OUTCOME,
	AC_IP_ADDRESS,
	AC_USER_AGENT,
	AC_METADATA,
	AC_CHAIN_STREAM,
	AC_CHAIN_SEQ,
	AC_PREV_HASH,				/* not part of the canonical encoding */
	AC_ROW_HASH,				/* not part of the canonical encoding */
	AC_COUNT
} AuditCol;

#define AUDIT_HASH_LEN		32

/* audit.c: the chain primitives, shared with audit_verify.c. */
extern void AuditColumns(TupleDesc desc, int attnums[AC_COUNT]);
extern void AuditComputeHash(const int attnums[AC_COUNT], const Datum *values,
							 const bool *nulls, const uint8 *prev, size_t prevlen,
							 uint8 out[AUDIT_HASH_LEN]);
extern void AuditGenesis(const pg_uuid_t *stream, uint8 out[AUDIT_HASH_LEN]);
extern bytea *AuditHashBytea(const uint8 *hash);
extern void AuditSetPurging(bool on);

/* audit_worker.c: background worker entry point (named in bgw_function_name). */
extern PGDLLEXPORT void agentidp_audit_worker_main(Datum arg);

#endif							/* AGENTIDP_H */
