/*-------------------------------------------------------------------------
 *
 * audit.c
 *		Tamper-evident audit log: the hash chain trigger, the append-only
 *		guard, the canonical row hash and the request context.
 *		(Verification and purge: audit_verify.c; failure events written
 *		outside the caller's transaction: audit_worker.c.)
 *
 * A single global chain would serialise every writer on its head row.
 * Instead each backend writes its own *stream*: a random uuid chosen at its
 * first event, with sequence numbers 1, 2, 3... and
 *   row_hash = SHA-256(prev_hash || canonical(event))
 * where the first prev_hash is SHA-256('agentidp-audit-genesis:' || stream).
 * The head (last sequence number and hash) lives in backend memory and
 * advances for good only when the transaction commits: transaction and
 * subtransaction callbacks put it back on abort, so a committed stream never
 * has a gap and verification can demand consecutive sequence numbers.  A
 * prepared transaction could commit in another backend after this one has
 * moved on, so PREPARE with pending audit events is refused.
 *
 * The canonical encoding (fields in a fixed order, each as a 4-byte
 * big-endian length and its bytes, 0xFFFFFFFF for NULL) uses only
 * setting-independent text forms: the timestamp is its int64 microseconds
 * since 2000-01-01 UTC, never timestamptz text (TimeZone, DateStyle).
 *
 *-------------------------------------------------------------------------
 */
#include "agentidp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inet.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#define AUDIT_GENESIS		"agentidp-audit-genesis:"
#define AC_CANONICAL_COUNT	(AC_CHAIN_SEQ + 1)

/* Name and type of each audit_events column, indexed by AuditCol. */
static const struct
{
	const char *name;
	Oid			type;
}			auditCols[AC_COUNT] = {
	{"id", INT8OID},
	{"occurred_at", TIMESTAMPTZOID},
	{"agent_id", UUIDOID},
	{"actor_agent_id", UUIDOID},
	{"db_user", TEXTOID},
	{"action", TEXTOID},
	{"outcome", TEXTOID},
	{"ip_address", INETOID},
	{"user_agent", TEXTOID},
	{"metadata", JSONBOID},
	{"chain_stream", UUIDOID},
	{"chain_seq", INT8OID},
	{"prev_hash", BYTEAOID},
	{"row_hash", BYTEAOID},
};

/* This backend's stream and its heads. */
static bool streamReady = false;
static pg_uuid_t streamId;
static int64 headSeq;			/* including this transaction's events */
static uint8 headHash[AUDIT_HASH_LEN];
static int64 committedSeq;		/* as of the last commit */
static uint8 committedHash[AUDIT_HASH_LEN];
static bool xactHasEvents = false;

/* Heads saved on entry to subtransactions that wrote events (lazy stack). */
typedef struct SavedHead
{
	SubTransactionId subid;
	int64		seq;
	uint8		hash[AUDIT_HASH_LEN];
} SavedHead;

static SavedHead *savedHeads = NULL;
static int	nSavedHeads = 0;
static int	maxSavedHeads = 0;

/* Set only while purge_audit() deletes a prefix: the guard lets it pass. */
static bool auditPurging = false;

/* Request context of set_request_context(), for the current transaction. */
static char *ctxIp = NULL;
static char *ctxUserAgent = NULL;
static bool ctxHasActor = false;
static pg_uuid_t ctxActor;

PG_FUNCTION_INFO_V1(agentidp__audit_chain);
PG_FUNCTION_INFO_V1(agentidp__audit_guard);
PG_FUNCTION_INFO_V1(agentidp__audit_row_hash);
PG_FUNCTION_INFO_V1(agentidp_set_request_context);

/* ---------------------------------------------------------------------
 * Request context
 * ---------------------------------------------------------------------
 */

/* Forget the request context (end of transaction). */
static void
AuditClearContext(void)
{
	if (ctxIp)
		pfree(ctxIp);
	if (ctxUserAgent)
		pfree(ctxUserAgent);
	ctxIp = NULL;
	ctxUserAgent = NULL;
	ctxHasActor = false;
}

/* The request's client address as inet text, or NULL. */
char *
AuditContextIp(void)
{
	return ctxIp;
}

/* The request's User-Agent, or NULL. */
char *
AuditContextUserAgent(void)
{
	return ctxUserAgent;
}

/* The acting agent of the request, if any. */
bool
AuditContextActor(pg_uuid_t *actor)
{
	if (ctxHasActor)
		*actor = ctxActor;
	return ctxHasActor;
}

/*
 * Remember client address, User-Agent and acting agent until the end of
 * the transaction; the audit trigger fills them into events that leave
 * those columns NULL.
 */
Datum
agentidp_set_request_context(PG_FUNCTION_ARGS)
{
	AuditClearContext();
	if (!PG_ARGISNULL(0))
		ctxIp = MemoryContextStrdup(TopMemoryContext,
									DatumGetCString(DirectFunctionCall1(inet_out,
																		PG_GETARG_DATUM(0))));
	if (!PG_ARGISNULL(1))
		ctxUserAgent = MemoryContextStrdup(TopMemoryContext,
										   text_to_cstring(PG_GETARG_TEXT_PP(1)));
	if (!PG_ARGISNULL(2))
	{
		ctxActor = *PG_GETARG_UUID_P(2);
		ctxHasActor = true;
	}
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * Stream head and transaction callbacks
 * ---------------------------------------------------------------------
 */

/* SHA-256 of the genesis string of a stream. */
void
AuditGenesis(const pg_uuid_t *stream, uint8 out[AUDIT_HASH_LEN])
{
	char	   *text = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(stream)));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, AUDIT_GENESIS);
	appendStringInfoString(&buf, text);
	if (EVP_Digest(buf.data, buf.len, out, NULL, EVP_sha256(), NULL) != 1)
		elog(ERROR, "SHA-256 failed");
	pfree(buf.data);
	pfree(text);
}

/* Choose this backend's stream: a random (version 4) uuid. */
static void
AuditStartStream(void)
{
	if (!pg_strong_random(streamId.data, UUID_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not generate random bytes")));
	streamId.data[6] = (streamId.data[6] & 0x0f) | 0x40;
	streamId.data[8] = (streamId.data[8] & 0x3f) | 0x80;
	AuditGenesis(&streamId, headHash);
	headSeq = 0;
	memcpy(committedHash, headHash, AUDIT_HASH_LEN);
	committedSeq = 0;
	streamReady = true;
}

/*
 * Before the head moves inside a subtransaction, save it once for that
 * subtransaction so its abort can put it back.
 */
static void
AuditSaveHeadForSubxact(void)
{
	SubTransactionId cur = GetCurrentSubTransactionId();

	if (cur == TopSubTransactionId)
		return;
	if (nSavedHeads > 0 && savedHeads[nSavedHeads - 1].subid == cur)
		return;
	if (nSavedHeads == maxSavedHeads)
	{
		int			newmax = maxSavedHeads == 0 ? 8 : maxSavedHeads * 2;

		if (savedHeads == NULL)
			savedHeads = MemoryContextAlloc(TopMemoryContext, newmax * sizeof(SavedHead));
		else
			savedHeads = repalloc(savedHeads, newmax * sizeof(SavedHead));
		maxSavedHeads = newmax;
	}
	savedHeads[nSavedHeads].subid = cur;
	savedHeads[nSavedHeads].seq = headSeq;
	memcpy(savedHeads[nSavedHeads].hash, headHash, AUDIT_HASH_LEN);
	nSavedHeads++;
}

/* Commit or roll back the head with the top-level transaction. */
static void
AuditXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (xactHasEvents)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot prepare a transaction that wrote audit events"),
						 errdetail("The audit chain of this session advances only when its own transaction commits."),
						 errhint("Commit audit-writing transactions directly.")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			committedSeq = headSeq;
			memcpy(committedHash, headHash, AUDIT_HASH_LEN);
			nSavedHeads = 0;
			xactHasEvents = false;
			auditPurging = false;
			AuditClearContext();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			headSeq = committedSeq;
			memcpy(headHash, committedHash, AUDIT_HASH_LEN);
			nSavedHeads = 0;
			xactHasEvents = false;
			auditPurging = false;
			AuditClearContext();
			break;
		case XACT_EVENT_PREPARE:
			nSavedHeads = 0;
			auditPurging = false;
			AuditClearContext();
			break;
		default:
			break;
	}
}

/* Roll the head back with an aborted subtransaction, or hand it up. */
static void
AuditSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	SavedHead  *top;

	if (nSavedHeads == 0 || savedHeads[nSavedHeads - 1].subid != mySubid)
		return;
	top = &savedHeads[nSavedHeads - 1];
	switch (event)
	{
		case SUBXACT_EVENT_ABORT_SUB:
			headSeq = top->seq;
			memcpy(headHash, top->hash, AUDIT_HASH_LEN);
			nSavedHeads--;
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			/* The saved head now belongs to the parent, unless it has its own. */
			if (nSavedHeads >= 2 && savedHeads[nSavedHeads - 2].subid == parentSubid)
				nSavedHeads--;
			else if (parentSubid == TopSubTransactionId)
				nSavedHeads--;
			else
				top->subid = parentSubid;
			break;
		default:
			break;
	}
}

/* Register the callbacks; called once from _PG_init. */
void
AuditInit(void)
{
	RegisterXactCallback(AuditXactCallback, NULL);
	RegisterSubXactCallback(AuditSubXactCallback, NULL);
}

/* ---------------------------------------------------------------------
 * Canonical encoding and row hash
 * ---------------------------------------------------------------------
 */

/* Attribute numbers of the audit columns in desc, checking their types. */
void
AuditColumns(TupleDesc desc, int attnums[AC_COUNT])
{
	int			i;

	for (i = 0; i < AC_COUNT; i++)
	{
		int			attno = SPI_fnumber(desc, auditCols[i].name);

		if (attno <= 0 || TupleDescAttr(desc, attno - 1)->atttypid != auditCols[i].type)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
					 errmsg("audit events row has no column \"%s\" of type %s",
							auditCols[i].name, format_type_be(auditCols[i].type))));
		attnums[i] = attno;
	}
}

/* Append one length-prefixed field (NULL when data is NULL). */
static bool
AuditHashField(EVP_MD_CTX *ctx, const char *data, size_t len)
{
	uint8		be[4];
	uint32		n = data ? (uint32) len : 0xFFFFFFFF;

	be[0] = (uint8) (n >> 24);
	be[1] = (uint8) (n >> 16);
	be[2] = (uint8) (n >> 8);
	be[3] = (uint8) n;
	if (EVP_DigestUpdate(ctx, be, 4) != 1)
		return false;
	return data == NULL || EVP_DigestUpdate(ctx, data, len) == 1;
}

/* Setting-independent text of one canonical field (palloc'd). */
static char *
AuditFieldText(AuditCol col, Datum value, size_t *len)
{
	char	   *s;

	switch (auditCols[col].type)
	{
		case INT8OID:
			s = psprintf(INT64_FORMAT, DatumGetInt64(value));
			break;
		case TIMESTAMPTZOID:
			/* int64 microseconds since 2000-01-01 UTC: no TimeZone, no DateStyle */
			s = psprintf(INT64_FORMAT, (int64) DatumGetTimestampTz(value));
			break;
		case UUIDOID:
			s = DatumGetCString(DirectFunctionCall1(uuid_out, value));
			break;
		case INETOID:
			s = DatumGetCString(DirectFunctionCall1(inet_out, value));
			break;
		case JSONBOID:
			/* jsonb's text output is deterministic (normalised key order) */
			s = DatumGetCString(DirectFunctionCall1(jsonb_out, value));
			break;
		case TEXTOID:
			{
				text	   *t = DatumGetTextPP(value);

				*len = VARSIZE_ANY_EXHDR(t);
				return VARDATA_ANY(t);
			}
		default:
			elog(ERROR, "unexpected audit column type %u", auditCols[col].type);
	}
	*len = strlen(s);
	return s;
}

/*
 * row_hash = SHA-256(prev || canonical(row)) for the row in values/nulls
 * (indexed by attribute number - 1).
 */
void
AuditComputeHash(const int attnums[AC_COUNT], const Datum *values, const bool *nulls,
				 const uint8 *prev, size_t prevlen, uint8 out[AUDIT_HASH_LEN])
{
	char	   *texts[AC_CANONICAL_COUNT];
	size_t		lens[AC_CANONICAL_COUNT];
	EVP_MD_CTX *ctx;
	unsigned int outlen = 0;
	bool		ok;
	int			i;

	/* Render every field first: nothing may raise while ctx is allocated. */
	for (i = 0; i < AC_CANONICAL_COUNT; i++)
	{
		int			a = attnums[i] - 1;

		lens[i] = 0;
		texts[i] = nulls[a] ? NULL : AuditFieldText((AuditCol) i, values[a], &lens[i]);
	}
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL &&
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		EVP_DigestUpdate(ctx, prev, prevlen) == 1;
	for (i = 0; ok && i < AC_CANONICAL_COUNT; i++)
		ok = AuditHashField(ctx, texts[i], lens[i]);
	ok = ok && EVP_DigestFinal_ex(ctx, out, &outlen) == 1 && outlen == AUDIT_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		elog(ERROR, "SHA-256 failed");
}

/* bytea of a hash. */
bytea *
AuditHashBytea(const uint8 *hash)
{
	bytea	   *b = palloc(VARHDRSZ + AUDIT_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + AUDIT_HASH_LEN);
	memcpy(VARDATA(b), hash, AUDIT_HASH_LEN);
	return b;
}

/*
 * The canonical hash of an audit_events row: SHA-256 of its stored
 * prev_hash followed by its canonical encoding; NULL for an unchained row.
 */
Datum
agentidp__audit_row_hash(PG_FUNCTION_ARGS)
{
	HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(0);
	TupleDesc	desc;
	HeapTupleData tuple;
	int			attnums[AC_COUNT];
	Datum	   *values;
	bool	   *nulls;
	bytea	   *prev;
	uint8		hash[AUDIT_HASH_LEN];

	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(rec),
								  HeapTupleHeaderGetTypMod(rec));
	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	AuditColumns(desc, attnums);
	values = palloc(desc->natts * sizeof(Datum));
	nulls = palloc(desc->natts * sizeof(bool));
	heap_deform_tuple(&tuple, desc, values, nulls);
	ReleaseTupleDesc(desc);
	if (nulls[attnums[AC_PREV_HASH] - 1])
		PG_RETURN_NULL();
	prev = DatumGetByteaPP(values[attnums[AC_PREV_HASH] - 1]);
	AuditComputeHash(attnums, values, nulls, (const uint8 *) VARDATA_ANY(prev),
					 VARSIZE_ANY_EXHDR(prev), hash);
	PG_RETURN_BYTEA_P(AuditHashBytea(hash));
}

/* ---------------------------------------------------------------------
 * Triggers
 * ---------------------------------------------------------------------
 */

/* Refuse a trigger function used with the wrong trigger definition. */
static void
AuditTriggerMisuse(const char *fn, const char *how)
{
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("%s must be fired %s", fn, how)));
}

/*
 * BEFORE INSERT FOR EACH ROW on audit_events: fill the request context and
 * the chain columns, overriding whatever the INSERT supplied for them.
 */
Datum
agentidp__audit_chain(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	int			attnums[AC_COUNT];
	Datum	   *values;
	bool	   *nulls;
	bool	   *replace;
	HeapTuple	result;
	int64		seq;
	uint8		hash[AUDIT_HASH_LEN];
	pg_uuid_t  *stream;

	if (!CALLED_AS_TRIGGER(fcinfo))
		AuditTriggerMisuse("_audit_chain()", "as a trigger");
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		AuditTriggerMisuse("_audit_chain()", "BEFORE INSERT FOR EACH ROW");

	desc = RelationGetDescr(trigdata->tg_relation);
	tuple = trigdata->tg_trigtuple;
	AuditColumns(desc, attnums);
	values = palloc(desc->natts * sizeof(Datum));
	nulls = palloc(desc->natts * sizeof(bool));
	replace = palloc0(desc->natts * sizeof(bool));
	heap_deform_tuple(tuple, desc, values, nulls);

#define SET_COL(col, datum, isnull) \
	do { \
		int a_ = attnums[col] - 1; \
		values[a_] = (datum); \
		nulls[a_] = (isnull); \
		replace[a_] = true; \
	} while (0)

	/* Request context fills only what the row leaves NULL. */
	if (ctxIp != NULL && nulls[attnums[AC_IP_ADDRESS] - 1])
		SET_COL(AC_IP_ADDRESS, DirectFunctionCall1(inet_in, CStringGetDatum(ctxIp)), false);
	if (ctxUserAgent != NULL && nulls[attnums[AC_USER_AGENT] - 1])
		SET_COL(AC_USER_AGENT, CStringGetTextDatum(ctxUserAgent), false);
	if (ctxHasActor && nulls[attnums[AC_ACTOR_AGENT_ID] - 1])
	{
		pg_uuid_t  *actor = palloc(sizeof(pg_uuid_t));

		*actor = ctxActor;
		SET_COL(AC_ACTOR_AGENT_ID, UUIDPGetDatum(actor), false);
	}

	if (!agentidp_audit_chain)
	{
		/* Unchained on purpose (cost measurement): verification reports it. */
		SET_COL(AC_CHAIN_STREAM, (Datum) 0, true);
		SET_COL(AC_CHAIN_SEQ, (Datum) 0, true);
		SET_COL(AC_PREV_HASH, (Datum) 0, true);
		SET_COL(AC_ROW_HASH, (Datum) 0, true);
		result = heap_modify_tuple(tuple, desc, values, nulls, replace);
		return PointerGetDatum(result);
	}

	if (!streamReady)
		AuditStartStream();
	seq = headSeq + 1;
	stream = palloc(sizeof(pg_uuid_t));
	*stream = streamId;
	SET_COL(AC_CHAIN_STREAM, UUIDPGetDatum(stream), false);
	SET_COL(AC_CHAIN_SEQ, Int64GetDatum(seq), false);
	SET_COL(AC_PREV_HASH, PointerGetDatum(AuditHashBytea(headHash)), false);
	AuditComputeHash(attnums, values, nulls, headHash, AUDIT_HASH_LEN, hash);
	SET_COL(AC_ROW_HASH, PointerGetDatum(AuditHashBytea(hash)), false);
	result = heap_modify_tuple(tuple, desc, values, nulls, replace);

#undef SET_COL

	/* Nothing can fail past this point: move the head. */
	AuditSaveHeadForSubxact();
	headSeq = seq;
	memcpy(headHash, hash, AUDIT_HASH_LEN);
	xactHasEvents = true;
	return PointerGetDatum(result);
}

/*
 * BEFORE UPDATE OR DELETE (row) and BEFORE TRUNCATE (statement) on
 * audit_events and audit_anchors: refuse, except the DELETE that
 * purge_audit() itself performs on audit_events.
 */
Datum
agentidp__audit_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *relname;
	const char *op;

	if (!CALLED_AS_TRIGGER(fcinfo))
		AuditTriggerMisuse("_audit_guard()", "as a trigger");
	relname = RelationGetRelationName(trigdata->tg_relation);
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) &&
		TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
		auditPurging && strcmp(relname, "audit_events") == 0)
		return PointerGetDatum(trigdata->tg_trigtuple);

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		op = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		op = "DELETE";
	else if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		op = "TRUNCATE";
	else
		op = "INSERT";
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("audit log is append-only"),
			 errdetail("%s on agentidp.%s is refused for every role, including its owner.",
					   op, relname),
			 errhint("Old events leave only through agentidp.purge_audit().")));
	PG_RETURN_NULL();			/* not reached */
}

/* Let the guard pass purge_audit()'s own DELETE (true) or not (false). */
void
AuditSetPurging(bool on)
{
	auditPurging = on;
}
