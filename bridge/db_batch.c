/* db_batch.c: group commit for the token endpoints (see db_batch.h). */
#include "db_batch.h"

#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_SQL_LIMIT 64 /* agentidp._batch_start */

/* One request queued for, or riding in, a batch. */
struct pending {
	json_t *item; /* owned */
	db_batch_done done;
	void *ctx;
	struct pending *next;
};

#define MAX_WORKERS 1000 /* the settings' upper bound (config.c) */

struct batcher {
	pthread_mutex_t lock;
	pthread_cond_t queued;       /* a request arrived, or stopping */
	struct pending *head, *tail; /* FIFO of requests not yet taken */
	pthread_t workers[MAX_WORKERS];
	int started;  /* workers running: calls of this kind in the database at most */
	int stopping; /* db_batch_stop has begun: refuse new requests */
	enum db_stmt stmt;
	const char *answer_key; /* member of a success entry that is the answer, NULL: all of it */
	const char *name;
	atomic_ullong calls, requests;
	db_batch_hook hook;
};

static struct batcher batchers[BATCH_KINDS] = {
	[BATCH_ISSUE] = {.lock = PTHREAD_MUTEX_INITIALIZER,
					 .queued = PTHREAD_COND_INITIALIZER,
					 .stmt = STMT_ISSUE_TOKENS,
					 .answer_key = "token",
					 .name = "issue"},
	[BATCH_REVOKE] = {.lock = PTHREAD_MUTEX_INITIALIZER,
					  .queued = PTHREAD_COND_INITIALIZER,
					  .stmt = STMT_REVOKE_TOKENS,
					  .answer_key = NULL,
					  .name = "revoke"},
};

static int max_items = 32;

static void
set_field(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* An error of our own making (not one the database reported). */
static void
own_error(struct db_error *err, const char *sqlstate, const char *message)
{
	memset(err, 0, sizeof(*err));
	set_field(err->sqlstate, sizeof(err->sqlstate), sqlstate);
	set_field(err->message, sizeof(err->message), message);
}

/* Answer p from its entry of the answer array. */
static void
settle(const struct batcher *b, struct pending *p, json_t *entry)
{
	json_t *state = json_object_get(entry, "sqlstate");
	json_t *answer;
	struct db_error err;

	memset(&err, 0, sizeof(err));
	if (json_is_string(state)) {
		set_field(err.sqlstate, sizeof(err.sqlstate), json_string_value(state));
		set_field(err.message, sizeof(err.message),
				  json_string_value(json_object_get(entry, "message")));
		set_field(err.detail, sizeof(err.detail),
				  json_string_value(json_object_get(entry, "detail")));
		set_field(err.hint, sizeof(err.hint), json_string_value(json_object_get(entry, "hint")));
		p->done(p->ctx, -1, NULL, &err);
		return;
	}
	answer = b->answer_key != NULL ? json_object_get(entry, b->answer_key) : entry;
	if (!json_is_object(entry) || answer == NULL) {
		own_error(&err, "XX000", "unexpected database result");
		p->done(p->ctx, -1, NULL, &err);
		return;
	}
	p->done(p->ctx, 0, json_incref(answer), NULL);
}

/* One database call for the n requests of batch; answers and frees every one of them. */
static void
run_batch(struct batcher *b, struct pending **batch, int n)
{
	json_t *arr = json_array(), *answers = NULL;
	char *text;
	const char *args[1];
	struct db_result res = {0};
	struct db_error err;
	int i, rc;

	for (i = 0; i < n; i++)
		json_array_append(arr, batch[i]->item);
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (text == NULL) {
		own_error(&err, "53200", "out of memory");
		rc = -1;
	} else {
		args[0] = text;
		rc = db_call(b->stmt, NULL, args, 1, &res, &err);
		/* The text holds client secrets: do not leave it in freed memory. */
		explicit_bzero(text, strlen(text));
		free(text);
	}
	atomic_fetch_add_explicit(&b->calls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&b->requests, (unsigned long long)n, memory_order_relaxed);
	if (rc == 0) {
		if (res.nrows == 1 && res.rows[0] != NULL)
			answers = json_loads(res.rows[0], 0, NULL);
		db_result_free(&res);
		if (!json_is_array(answers) || json_array_size(answers) != (size_t)n) {
			log_error("%s batch: the database answered %s for %d requests", b->name,
					  answers ? "the wrong number of entries" : "no JSON array", n);
			own_error(&err, "XX000", "unexpected database result");
			rc = -1;
		}
	}
	/* Before anyone is answered: what the hook does holds for every answer. */
	if (rc == 0 && b->hook != NULL)
		b->hook(answers);
	for (i = 0; i < n; i++) {
		if (rc == 0)
			settle(b, batch[i], json_array_get(answers, (size_t)i));
		else
			batch[i]->done(batch[i]->ctx, -1, NULL, &err);
		json_decref(batch[i]->item);
		free(batch[i]);
	}
	json_decref(answers);
}

/*
 * A worker: take the oldest waiting requests (up to max_items) as soon as
 * there are any, make one call for them, answer them, repeat. Once stopping,
 * it exits when the queue is empty, so nothing queued is left unanswered.
 */
static void *
worker_main(void *arg)
{
	struct batcher *b = arg;
	struct pending *batch[BATCH_SQL_LIMIT];

	for (;;) {
		int n = 0;

		pthread_mutex_lock(&b->lock);
		while (b->head == NULL && !b->stopping)
			pthread_cond_wait(&b->queued, &b->lock);
		while (b->head != NULL && n < max_items) {
			batch[n++] = b->head;
			b->head = b->head->next;
		}
		if (b->head == NULL)
			b->tail = NULL;
		pthread_mutex_unlock(&b->lock);
		if (n == 0)
			return NULL; /* stopping, and nothing left */
		run_batch(b, batch, n);
	}
}

int
db_batch_start(int max, int issue_concurrency, int revoke_concurrency)
{
	max_items = max < 1 ? 1 : max > BATCH_SQL_LIMIT ? BATCH_SQL_LIMIT : max;
	for (int k = 0; k < BATCH_KINDS; k++) {
		struct batcher *b = &batchers[k];
		/* One worker per call allowed in the database at once. */
		int workers = k == BATCH_ISSUE ? issue_concurrency : revoke_concurrency;

		if (workers < 1)
			workers = 1;
		if (workers > MAX_WORKERS)
			workers = MAX_WORKERS;
		for (; b->started < workers; b->started++) {
			if (pthread_create(&b->workers[b->started], NULL, worker_main, b) != 0) {
				log_error("cannot start a %s batch worker", b->name);
				return -1;
			}
		}
	}
	return 0;
}

int
db_batch_submit(enum batch_kind kind, json_t *item, db_batch_done done, void *ctx)
{
	struct batcher *b = &batchers[kind];
	struct pending *p = malloc(sizeof(*p));

	if (p == NULL) {
		json_decref(item);
		return -1;
	}
	p->item = item;
	p->done = done;
	p->ctx = ctx;
	p->next = NULL;
	pthread_mutex_lock(&b->lock);
	if (b->stopping || b->started == 0) {
		pthread_mutex_unlock(&b->lock);
		json_decref(item);
		free(p);
		return -1;
	}
	if (b->tail != NULL)
		b->tail->next = p;
	else
		b->head = p;
	b->tail = p;
	/* One wake-up: an idle worker takes this and whatever else is waiting. */
	pthread_cond_signal(&b->queued);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

void
db_batch_stop(void)
{
	for (int k = 0; k < BATCH_KINDS; k++) {
		struct batcher *b = &batchers[k];

		pthread_mutex_lock(&b->lock);
		b->stopping = 1;
		pthread_cond_broadcast(&b->queued);
		pthread_mutex_unlock(&b->lock);
	}
	for (int k = 0; k < BATCH_KINDS; k++) {
		struct batcher *b = &batchers[k];

		for (int i = 0; i < b->started; i++)
			pthread_join(b->workers[i], NULL);
		b->started = 0;
	}
}

void
db_batch_set_hook(enum batch_kind kind, db_batch_hook hook)
{
	batchers[kind].hook = hook;
}

void
db_batch_stats(enum batch_kind kind, unsigned long long *calls, unsigned long long *requests)
{
	*calls = atomic_load_explicit(&batchers[kind].calls, memory_order_relaxed);
	*requests = atomic_load_explicit(&batchers[kind].requests, memory_order_relaxed);
}

const char *
db_batch_kind_name(enum batch_kind kind)
{
	return batchers[kind].name;
}
