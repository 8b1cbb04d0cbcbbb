/*-------------------------------------------------------------------------
 *
 * audit_verify.c
 *		Verification of the audit hash chain and retention (purge).
 *
 * Verification recomputes every event's hash with the very function the
 * chain trigger uses (audit.c) and checks each stream's linkage: sequence
 * numbers consecutive from 1, or from the anchor a purge left behind, and
 * each prev_hash equal to the row_hash before it.  What a chain cannot
 * show is the removal of the newest events of a stream (there is nothing
 * after them to break); everything else a superuser does with the triggers
 * disabled (edit, delete, insert, reorder) is reported.
 *
 *-------------------------------------------------------------------------
 */
#include "agentidp.h"

#include <openssl/crypto.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(agentidp_verify_audit_chain);
PG_FUNCTION_INFO_V1(agentidp_purge_audit);

/* ---------------------------------------------------------------------
 * Verification
 * ---------------------------------------------------------------------
 */

/* Verification state while scanning streams in (stream, seq) order. */
typedef struct VerifyState
{
	int64		checked;
	int64		problems;
	int64		streams;
	int64		anchored;
	int64		unchained;
	int64		firstBad;		/* lowest id of a bad event, or -1 */
	char	   *firstDetail;
	/* current stream */
	bool		inStream;
	pg_uuid_t	stream;
	int64		expectSeq;
	uint8		expectPrev[AUDIT_HASH_LEN];
	/* last anchor read, applies to the stream that follows it */
	bool		haveAnchor;
	pg_uuid_t	anchorStream;
	int64		anchorSeq;
	uint8		anchorHash[AUDIT_HASH_LEN];
	MemoryContext keepCxt;
} VerifyState;

/* Record a bad event; keep the detail of the lowest id. */
static void
VerifyBad(VerifyState *vs, int64 id, char *detail)
{
	vs->problems++;
	if (vs->firstBad < 0 || id < vs->firstBad)
	{
		vs->firstBad = id;
		vs->firstDetail = MemoryContextStrdup(vs->keepCxt, detail);
	}
}

/* uuid text for messages. */
static char *
VerifyUuidText(const pg_uuid_t *u)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(u)));
}

/* Is b (a bytea Datum) exactly the 32-byte hash h? */
static bool
VerifyHashEquals(Datum b, const uint8 *h)
{
	bytea	   *v = DatumGetByteaPP(b);

	return VARSIZE_ANY_EXHDR(v) == AUDIT_HASH_LEN &&
		CRYPTO_memcmp(VARDATA_ANY(v), h, AUDIT_HASH_LEN) == 0;
}

/* Check one event row (a whole audit_events record). */
static void
VerifyEvent(VerifyState *vs, HeapTupleHeader rec)
{
	TupleDesc	desc;
	HeapTupleData tuple;
	int			attnums[AC_COUNT];
	Datum	   *values;
	bool	   *nulls;
	int64		id;
	pg_uuid_t  *stream;
	int64		seq;
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

#define COLNULL(c) nulls[attnums[c] - 1]
#define COLVAL(c) values[attnums[c] - 1]

	vs->checked++;
	id = COLNULL(AC_ID) ? -1 : DatumGetInt64(COLVAL(AC_ID));
	if (COLNULL(AC_CHAIN_STREAM) || COLNULL(AC_CHAIN_SEQ) ||
		COLNULL(AC_PREV_HASH) || COLNULL(AC_ROW_HASH))
	{
		vs->unchained++;
		VerifyBad(vs, id, psprintf("Event %lld is not chained: its chain columns are empty (written with agentidp.audit_chain off or with triggers disabled).",
								   (long long) id));
		return;
	}
	stream = DatumGetUUIDP(COLVAL(AC_CHAIN_STREAM));
	seq = DatumGetInt64(COLVAL(AC_CHAIN_SEQ));

	if (!vs->inStream || memcmp(stream->data, vs->stream.data, UUID_LEN) != 0)
	{
		vs->inStream = true;
		vs->streams++;
		vs->stream = *stream;
		if (vs->haveAnchor && memcmp(vs->anchorStream.data, stream->data, UUID_LEN) == 0)
		{
			vs->expectSeq = vs->anchorSeq + 1;
			memcpy(vs->expectPrev, vs->anchorHash, AUDIT_HASH_LEN);
			vs->anchored++;
		}
		else
		{
			vs->expectSeq = 1;
			AuditGenesis(stream, vs->expectPrev);
		}
	}

	if (seq != vs->expectSeq)
		VerifyBad(vs, id, psprintf(seq > vs->expectSeq
								   ? "Event %lld has sequence %lld in stream %s where %lld was expected: events before it are missing."
								   : "Event %lld has sequence %lld in stream %s where %lld was expected: the sequence repeats.",
								   (long long) id, (long long) seq, VerifyUuidText(stream),
								   (long long) vs->expectSeq));
	else if (!VerifyHashEquals(COLVAL(AC_PREV_HASH), vs->expectPrev))
		VerifyBad(vs, id, psprintf("Event %lld (stream %s, sequence %lld) does not link to the event before it: prev_hash differs.",
								   (long long) id, VerifyUuidText(stream), (long long) seq));

	prev = DatumGetByteaPP(COLVAL(AC_PREV_HASH));
	AuditComputeHash(attnums, values, nulls, (const uint8 *) VARDATA_ANY(prev),
					 VARSIZE_ANY_EXHDR(prev), hash);
	if (!VerifyHashEquals(COLVAL(AC_ROW_HASH), hash))
		VerifyBad(vs, id, psprintf("Event %lld (stream %s, sequence %lld) was altered: its row_hash does not match its contents.",
								   (long long) id, VerifyUuidText(stream), (long long) seq));

	/* Continue from the stored hash so one tampering is reported once. */
	{
		bytea	   *stored = DatumGetByteaPP(COLVAL(AC_ROW_HASH));

		memset(vs->expectPrev, 0, AUDIT_HASH_LEN);
		if (VARSIZE_ANY_EXHDR(stored) == AUDIT_HASH_LEN)
			memcpy(vs->expectPrev, VARDATA_ANY(stored), AUDIT_HASH_LEN);
	}
	vs->expectSeq = seq + 1;
#undef COLNULL
#undef COLVAL
}

/*
 * Check every stream: consecutive sequence numbers from 1 (or from the
 * anchor left by a purge), each prev_hash the row_hash before it, each
 * row_hash recomputed.  One statement reads anchors and events, so a purge
 * committing meanwhile cannot make an intact log look broken.
 */
Datum
agentidp_verify_audit_chain(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Portal		portal;
	VerifyState vs;
	MemoryContext rowCxt;
	MemoryContext oldCxt;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int			rc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("verify_audit_chain must be declared to return a record")));
	tupdesc = BlessTupleDesc(tupdesc);

	memset(&vs, 0, sizeof(vs));
	vs.firstBad = -1;
	vs.keepCxt = CurrentMemoryContext;
	rowCxt = AllocSetContextCreate(CurrentMemoryContext, "agentidp verify",
								   ALLOCSET_DEFAULT_SIZES);

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT 0 AS kind, a.chain_stream, a.chain_seq, a.row_hash,"
									   "       NULL::agentidp.audit_events AS e"
									   "  FROM (SELECT DISTINCT ON (chain_stream) chain_stream, chain_seq, row_hash"
									   "          FROM agentidp.audit_anchors"
									   "         ORDER BY chain_stream, chain_seq DESC) a"
									   " UNION ALL "
									   "SELECT 1, e.chain_stream, e.chain_seq, e.row_hash, e"
									   "  FROM agentidp.audit_events e"
									   " ORDER BY 2 NULLS LAST, 1, 3",
									   0, NULL, NULL, NULL, true, 0);
	if (portal == NULL)
		elog(ERROR, "SPI_cursor_open failed: %s", SPI_result_code_string(SPI_result));

	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	row = SPI_tuptable->vals[i];
			TupleDesc	rdesc = SPI_tuptable->tupdesc;
			bool		isnull;
			int32		kind = DatumGetInt32(SPI_getbinval(row, rdesc, 1, &isnull));

			oldCxt = MemoryContextSwitchTo(rowCxt);
			if (kind == 0)
			{
				Datum		s = SPI_getbinval(row, rdesc, 2, &isnull);
				Datum		q,
							h;
				bool		qnull,
							hnull;

				q = SPI_getbinval(row, rdesc, 3, &qnull);
				h = SPI_getbinval(row, rdesc, 4, &hnull);
				vs.haveAnchor = false;
				if (!isnull && !qnull && !hnull &&
					VARSIZE_ANY_EXHDR(DatumGetByteaPP(h)) == AUDIT_HASH_LEN)
				{
					vs.haveAnchor = true;
					vs.anchorStream = *DatumGetUUIDP(s);
					vs.anchorSeq = DatumGetInt64(q);
					memcpy(vs.anchorHash, VARDATA_ANY(DatumGetByteaPP(h)), AUDIT_HASH_LEN);
				}
			}
			else
			{
				Datum		e = SPI_getbinval(row, rdesc, 5, &isnull);

				if (!isnull)
					VerifyEvent(&vs, DatumGetHeapTupleHeader(e));
			}
			MemoryContextSwitchTo(oldCxt);
			MemoryContextReset(rowCxt);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	if ((rc = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
	MemoryContextDelete(rowCxt);

	values[0] = BoolGetDatum(vs.problems == 0);
	values[1] = Int64GetDatum(vs.checked);
	if (vs.firstBad >= 0)
		values[2] = Int64GetDatum(vs.firstBad);
	else
		nulls[2] = true;
	if (vs.problems == 0)
		values[3] = CStringGetTextDatum(psprintf("All %lld events verify across %lld streams (%lld continuing from a purge anchor).",
												 (long long) vs.checked, (long long) vs.streams,
												 (long long) vs.anchored));
	else
		values[3] = CStringGetTextDatum(psprintf("%s %lld problem%s found in %lld events%s.",
												 vs.firstDetail, (long long) vs.problems,
												 vs.problems == 1 ? "" : "s",
												 (long long) vs.checked,
												 vs.unchained > 0 ? psprintf(", %lld of them unchained", (long long) vs.unchained) : ""));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---------------------------------------------------------------------
 * Retention
 * ---------------------------------------------------------------------
 */

/* Run a statement with arguments; check its result code. */
static void
AuditSpiExec(const char *sql, int nargs, Oid *types, Datum *args, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, args, NULL, false, 0);

	if (rc != expect)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
}

/*
 * Delete, per stream, the prefix of events older than older_than; record
 * the last deleted event of each stream as an anchor so the remaining
 * chain still verifies; write an audit.purged event.  Unchained events
 * older than the cutoff go too.  Returns the number of events deleted.
 */
Datum
agentidp_purge_audit(PG_FUNCTION_ARGS)
{
	Datum		interval = PG_GETARG_DATUM(0);
	Interval   *iv = PG_GETARG_INTERVAL_P(0);
	Oid			itype[1] = {INTERVALOID};
	int64		deleted = 0;
	int64		unchained = 0;
	int64		nstreams = 0;
	uint64		i;
	SPITupleTable *prefixes;
	uint64		nprefixes;
	int			rc;

	if (iv->month < 0 || iv->day < 0 || iv->time < 0)
		ereport(ERROR,
				(errcode(ERRCODE_AIDP_INVALID_INPUT),
				 errmsg("retention interval must not be negative"),
				 errdetail("A negative interval would purge events from the future.")));
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));

	/* One purge at a time; inserts into audit_events are not blocked. */
	AuditSpiExec("LOCK TABLE agentidp.audit_anchors IN SHARE ROW EXCLUSIVE MODE",
				 0, NULL, NULL, SPI_OK_UTILITY);

	AuditSpiExec("SELECT s.chain_stream, s.upto, e.row_hash"
				 "  FROM (SELECT chain_stream,"
				 "               COALESCE(min(chain_seq) FILTER (WHERE occurred_at >= now() - $1) - 1,"
				 "                        max(chain_seq)) AS upto"
				 "          FROM agentidp.audit_events"
				 "         WHERE chain_stream IS NOT NULL"
				 "         GROUP BY chain_stream) s"
				 "  JOIN agentidp.audit_events e"
				 "    ON e.chain_stream = s.chain_stream AND e.chain_seq = s.upto"
				 " WHERE s.upto >= 1",
				 1, itype, &interval, SPI_OK_SELECT);
	prefixes = SPI_tuptable;
	nprefixes = SPI_processed;

	PG_TRY();
	{
		AuditSetPurging(true);
		for (i = 0; i < nprefixes; i++)
		{
			HeapTuple	row = prefixes->vals[i];
			bool		isnull;
			Datum		args[3];
			Oid			types[3] = {UUIDOID, INT8OID, BYTEAOID};

			args[0] = SPI_getbinval(row, prefixes->tupdesc, 1, &isnull);
			args[1] = SPI_getbinval(row, prefixes->tupdesc, 2, &isnull);
			args[2] = SPI_getbinval(row, prefixes->tupdesc, 3, &isnull);
			if (isnull)
				continue;		/* an unchained row cannot anchor */
			AuditSpiExec("INSERT INTO agentidp.audit_anchors (chain_stream, chain_seq, row_hash, purged_at)"
						 " VALUES ($1, $2, $3, now())",
						 3, types, args, SPI_OK_INSERT);
			AuditSpiExec("DELETE FROM agentidp.audit_events"
						 " WHERE chain_stream = $1 AND chain_seq <= $2",
						 2, types, args, SPI_OK_DELETE);
			deleted += SPI_processed;
			nstreams++;
		}
		AuditSpiExec("DELETE FROM agentidp.audit_events"
					 " WHERE chain_stream IS NULL AND occurred_at < now() - $1",
					 1, itype, &interval, SPI_OK_DELETE);
		unchained = SPI_processed;
		deleted += unchained;
	}
	PG_FINALLY();
	{
		AuditSetPurging(false);
	}
	PG_END_TRY();

	{
		Oid			types[4] = {INT8OID, INTERVALOID, INT8OID, INT8OID};
		Datum		args[4];

		args[0] = Int64GetDatum(deleted);
		args[1] = interval;
		args[2] = Int64GetDatum(nstreams);
		args[3] = Int64GetDatum(unchained);
		AuditSpiExec("INSERT INTO agentidp.audit_events (action, outcome, metadata)"
					 " VALUES ('audit.purged', 'success',"
					 "         jsonb_build_object('deleted', $1, 'older_than', $2::text,"
					 "                            'streams', $3, 'unchained', $4))",
					 4, types, args, SPI_OK_INSERT);
	}
	if ((rc = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
	PG_RETURN_INT64(deleted);
}
