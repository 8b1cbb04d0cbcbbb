/* db_batch.c: group commit for the token endpoints (see db_batch.h). */
#include "db_batch.h"

#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_SQL_LIMIT 64 /* agentidp._batch_start */

/*
 * One request waiting for, or riding in, a batch. Lives on its caller's
 * stack. Each has its own condition variable so that the end of a batch
 * wakes exactly the requests it answered and the one that leads next, not
 * every waiting thread.
 */
struct pending {
	json_t *item;
	json_t *answer;
	struct db_error err;
	int rc;
	int done;
	int lead; /* leads a batch (then it is not in the queue) */
	pthread_cond_t cond;
	struct pending *next;
};

struct batcher {
	pthread_mutex_t lock;
	struct pending *head, *tail; /* FIFO of requests not yet taken */
	int active;                  /* calls of this kind in the database */
	int concurrency;             /* at most that many */
	enum db_stmt stmt;
	const char *answer_key; /* member of a success entry that is the answer, NULL: all of it */
	const char *name;
	atomic_ullong calls, requests;
	db_batch_hook hook;
};

static struct batcher batchers[BATCH_KINDS] = {
	[BATCH_ISSUE] = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 1, STMT_ISSUE_TOKENS, "token",
					 "issue", 0, 0, NULL},
	[BATCH_REVOKE] = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 1, STMT_REVOKE_TOKENS, NULL,
					  "revoke", 0, 0, NULL},
};

static int max_items = 32;

void
db_batch_init(int max, int issue_concurrency, int revoke_concurrency)
{
	max_items = max < 1 ? 1 : max > BATCH_SQL_LIMIT ? BATCH_SQL_LIMIT : max;
	batchers[BATCH_ISSUE].concurrency = issue_concurrency < 1 ? 1 : issue_concurrency;
	batchers[BATCH_REVOKE].concurrency = revoke_concurrency < 1 ? 1 : revoke_concurrency;
}

static void
set_field(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* Fill p from its entry of the answer array. */
static void
settle(const struct batcher *b, struct pending *p, json_t *entry)
{
	json_t *state = json_object_get(entry, "sqlstate");

	if (json_is_string(state)) {
		p->rc = -1;
		set_field(p->err.sqlstate, sizeof(p->err.sqlstate), json_string_value(state));
		set_field(p->err.message, sizeof(p->err.message),
				  json_string_value(json_object_get(entry, "message")));
		set_field(p->err.detail, sizeof(p->err.detail),
				  json_string_value(json_object_get(entry, "detail")));
		set_field(p->err.hint, sizeof(p->err.hint),
				  json_string_value(json_object_get(entry, "hint")));
		return;
	}
	p->answer = b->answer_key != NULL ? json_object_get(entry, b->answer_key) : entry;
	if (!json_is_object(entry) || p->answer == NULL) {
		p->rc = -1;
		strcpy(p->err.sqlstate, "XX000");
		set_field(p->err.message, sizeof(p->err.message), "unexpected database result");
		return;
	}
	json_incref(p->answer);
	p->rc = 0;
}

/* One database call for the n requests of batch; fills every one of them. */
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
		memset(&err, 0, sizeof(err));
		strcpy(err.sqlstate, "53200");
		set_field(err.message, sizeof(err.message), "out of memory");
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
			memset(&err, 0, sizeof(err));
			strcpy(err.sqlstate, "XX000");
			set_field(err.message, sizeof(err.message), "unexpected database result");
			rc = -1;
		}
	}
	/* Before anyone is answered: what the hook does holds for every answer. */
	if (rc == 0 && b->hook != NULL)
		b->hook(answers);
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			settle(b, batch[i], json_array_get(answers, (size_t)i));
		} else {
			batch[i]->rc = -1;
			batch[i]->err = err;
		}
	}
	json_decref(answers);
}

int
db_batch_call(enum batch_kind kind, json_t *item, json_t **answer, struct db_error *err)
{
	struct batcher *b = &batchers[kind];
	struct pending me = {.item = item};
	struct pending *batch[BATCH_SQL_LIMIT];
	int n = 0;

	pthread_cond_init(&me.cond, NULL);
	pthread_mutex_lock(&b->lock);
	/*
	 * The queue holds only requests waiting for a leader; a leader is never
	 * in it. With a free slot we lead at once, else we wait to be answered
	 * or handed a slot by a leader that finished.
	 */
	if (b->active < b->concurrency) {
		b->active++;
		me.lead = 1;
	} else {
		if (b->tail != NULL)
			b->tail->next = &me;
		else
			b->head = &me;
		b->tail = &me;
		while (!me.done && !me.lead)
			pthread_cond_wait(&me.cond, &b->lock);
	}
	if (me.lead) {
		/* Ourselves and the oldest waiting requests. */
		batch[n++] = &me;
		while (b->head != NULL && n < max_items) {
			batch[n++] = b->head;
			b->head = b->head->next;
		}
		if (b->head == NULL)
			b->tail = NULL;
		pthread_mutex_unlock(&b->lock);

		run_batch(b, batch, n);

		pthread_mutex_lock(&b->lock);
		for (int i = 1; i < n; i++) {
			batch[i]->done = 1;
			pthread_cond_signal(&batch[i]->cond);
		}
		/* Hand the slot to the oldest waiting request, if any. */
		if (b->head != NULL) {
			struct pending *next = b->head;

			b->head = next->next;
			if (b->head == NULL)
				b->tail = NULL;
			next->lead = 1;
			pthread_cond_signal(&next->cond);
		} else {
			b->active--;
		}
	}
	pthread_mutex_unlock(&b->lock);
	pthread_cond_destroy(&me.cond);
	*answer = me.answer;
	if (me.rc != 0)
		*err = me.err;
	return me.rc;
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
