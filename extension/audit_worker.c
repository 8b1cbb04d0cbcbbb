/*-------------------------------------------------------------------------
 *
 * audit_worker.c
 *		Failure events that survive the caller's rollback.
 *
 * A refused request (wrong secret, unknown client...) ends with an error,
 * which rolls back everything its transaction wrote, including an audit
 * event written the ordinary way.  So _audit_failure() hands the event to a
 * short-lived dynamic background worker that inserts it in a transaction of
 * its own, and waits (at most AUDIT_FAILURE_WAIT_MS) for the worker to
 * finish before the caller raises its error.  The event travels in a DSM
 * segment.  When every worker slot is taken, it retries until one frees up.
 * When none does, or the worker does not finish, within that one bound, the
 * failure goes to the server log instead (never the secret, which is not
 * part of the event) and the caller continues: refusing a request must not
 * depend on the audit worker.
 *
 *-------------------------------------------------------------------------
 */
#include "agentidp.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#define AUDIT_FAILURE_WAIT_MS	5000
/* Sleep between attempts to get a background-worker slot. */
#define AUDIT_SLOT_RETRY_MS		10

/* Field offsets into AuditFailureMsg.data; -1 = NULL. */
typedef enum AuditMsgField
{
	AMF_ACTION,
	AMF_METADATA,
	AMF_IP,
	AMF_USER_AGENT,
	AMF_DB_USER,
	AMF_COUNT
} AuditMsgField;

/* The event, as it travels to the worker in DSM. */
typedef struct AuditFailureMsg
{
	pg_atomic_uint32 state;		/* 0 pending, 1 written */
	Oid			dboid;
	Oid			userid;
	bool		hasAgent;
	pg_uuid_t	agent;
	bool		hasActor;
	pg_uuid_t	actor;
	int32		offsets[AMF_COUNT];
	char		data[FLEXIBLE_ARRAY_MEMBER];
} AuditFailureMsg;

#define AUDIT_MSG_PENDING	0
#define AUDIT_MSG_WRITTEN	1

PG_FUNCTION_INFO_V1(agentidp__audit_failure);

/*
 * Log a failure event the worker did not confirm (the event holds no
 * secret, only its action).  "lost" when no worker could be started.
 */
static void
AuditFailureUnconfirmed(const char *action, bool lost)
{
	if (lost)
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("audit failure event \"%s\" was not recorded", action),
				 errdetail("No background worker slot became free within %d ms to write it.",
						   AUDIT_FAILURE_WAIT_MS),
				 errhint("Raise max_worker_processes.")));
	else
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("audit failure event \"%s\" was not confirmed", action),
				 errdetail("The audit writer did not commit it within %d ms; it may still be written, or it failed (see the writer's own log entry).",
						   AUDIT_FAILURE_WAIT_MS)));
}

/*
 * Write a failure event in a transaction of its own (dynamic background
 * worker), with the current request context, and wait for it.
 */
Datum
agentidp__audit_failure(PG_FUNCTION_ARGS)
{
	const char *fields[AMF_COUNT];
	Size		lens[AMF_COUNT];
	Size		total = offsetof(AuditFailureMsg, data);
	dsm_segment *seg;
	AuditFailureMsg *msg;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	TimestampTz deadline;
	Size		pos = 0;
	int			i;
	bool		written = false;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("audit action must not be null")));
	fields[AMF_ACTION] = text_to_cstring(PG_GETARG_TEXT_PP(0));
	fields[AMF_METADATA] = PG_ARGISNULL(2) ? "{}" :
		DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(2)));
	fields[AMF_IP] = AuditContextIp();
	fields[AMF_USER_AGENT] = AuditContextUserAgent();
	/* The event names the caller's session user, not the worker's. */
	fields[AMF_DB_USER] = GetUserNameFromId(GetSessionUserId(), false);
	for (i = 0; i < AMF_COUNT; i++)
	{
		lens[i] = fields[i] ? strlen(fields[i]) + 1 : 0;
		total += lens[i];
	}

	seg = dsm_create(total, 0);
	msg = dsm_segment_address(seg);
	pg_atomic_init_u32(&msg->state, AUDIT_MSG_PENDING);
	msg->dboid = MyDatabaseId;
	msg->userid = GetUserId();
	msg->hasAgent = !PG_ARGISNULL(1);
	if (msg->hasAgent)
		msg->agent = *PG_GETARG_UUID_P(1);
	msg->hasActor = AuditContextActor(&msg->actor);
	for (i = 0; i < AMF_COUNT; i++)
	{
		if (fields[i] == NULL)
		{
			msg->offsets[i] = -1;
			continue;
		}
		msg->offsets[i] = (int32) pos;
		memcpy(msg->data + pos, fields[i], lens[i]);
		pos += lens[i];
	}

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "agentidp");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "agentidp_audit_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "agentidp audit writer for PID %d", MyProcPid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "agentidp audit writer");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	/* The postmaster sets our latch when the worker starts and stops. */
	worker.bgw_notify_pid = MyProcPid;

	/*
	 * Under a burst of refusals (brute force) every slot may be taken by
	 * other writers, each of which lives only milliseconds: wait for one to
	 * free up rather than lose the event, within the same bound as the wait
	 * for the write.  Nobody signals a freed slot, hence the short sleeps.
	 */
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), AUDIT_FAILURE_WAIT_MS);
	while (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		long		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

		if (remaining <= 0)
		{
			dsm_detach(seg);
			AuditFailureUnconfirmed(fields[AMF_ACTION], true);
			PG_RETURN_VOID();
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(remaining, AUDIT_SLOT_RETRY_MS), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	for (;;)
	{
		pid_t		pid;
		BgwHandleStatus status;
		long		remaining;

		if (pg_atomic_read_u32(&msg->state) == AUDIT_MSG_WRITTEN)
		{
			written = true;
			break;
		}
		status = GetBackgroundWorkerPid(handle, &pid);
		if (status == BGWH_STOPPED || status == BGWH_POSTMASTER_DIED)
		{
			written = pg_atomic_read_u32(&msg->state) == AUDIT_MSG_WRITTEN;
			break;
		}
		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(remaining, 100), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	dsm_detach(seg);
	if (!written)
		AuditFailureUnconfirmed(fields[AMF_ACTION], false);
	PG_RETURN_VOID();
}

/* Text field of the message, or NULL Datum flag. */
static Datum
AuditMsgText(const AuditFailureMsg *msg, AuditMsgField f, char *isnull)
{
	if (msg->offsets[f] < 0)
	{
		*isnull = 'n';
		return (Datum) 0;
	}
	*isnull = ' ';
	return CStringGetTextDatum(msg->data + msg->offsets[f]);
}

/*
 * Background worker: attach to the message, connect to the caller's
 * database as the caller's current user, insert the event, commit, flag it.
 */
void
agentidp_audit_worker_main(Datum arg)
{
	dsm_segment *seg;
	AuditFailureMsg *msg;
	Oid			types[7] = {UUIDOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7];
	int			rc;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	CurrentResourceOwner = ResourceOwnerCreate(NULL, "agentidp audit writer");
	seg = dsm_attach(DatumGetUInt32(arg));
	if (seg == NULL)
	{
		/* The caller gave up waiting and logged the event itself. */
		proc_exit(0);
	}
	dsm_pin_mapping(seg);
	msg = dsm_segment_address(seg);

	BackgroundWorkerInitializeConnectionByOid(msg->dboid, msg->userid, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "agentidp: writing a failure audit event");

	values[0] = msg->hasAgent ? UUIDPGetDatum(&msg->agent) : (Datum) 0;
	nulls[0] = msg->hasAgent ? ' ' : 'n';
	values[1] = msg->hasActor ? UUIDPGetDatum(&msg->actor) : (Datum) 0;
	nulls[1] = msg->hasActor ? ' ' : 'n';
	values[2] = AuditMsgText(msg, AMF_DB_USER, &nulls[2]);
	values[3] = AuditMsgText(msg, AMF_ACTION, &nulls[3]);
	values[4] = AuditMsgText(msg, AMF_IP, &nulls[4]);
	values[5] = AuditMsgText(msg, AMF_USER_AGENT, &nulls[5]);
	values[6] = AuditMsgText(msg, AMF_METADATA, &nulls[6]);

	rc = SPI_execute_with_args("INSERT INTO agentidp.audit_events"
							   " (agent_id, actor_agent_id, db_user, action, outcome,"
							   "  ip_address, user_agent, metadata)"
							   " VALUES ($1, $2, $3, $4, 'failure',"
							   "         $5::pg_catalog.inet, $6, $7::pg_catalog.jsonb)",
							   7, types, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));

	if ((rc = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	/* Committed: the caller may stop waiting. */
	pg_atomic_write_u32(&msg->state, AUDIT_MSG_WRITTEN);
	proc_exit(0);
}
