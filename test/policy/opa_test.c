/*
 * opa_test.c - the OPA client against a server playing OPA (fake_opa.py).
 *
 *   opa_test served PORT CASES.json    decisions, faults, URL parsing
 *   opa_test refused PORT              nothing listens on PORT any more
 *
 * The decision table must come back from OPA exactly as cases.json says
 * (which also proves the input is encoded as OPA expects: the server refuses
 * any other shape), and every misbehaving server must produce a denial
 * within the deadline. Prints "ok"/"not ok" lines and a summary line.
 */
#define _POSIX_C_SOURCE 200809L

#include "policy.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int	passed;
static int	failed;

/* Count and print one check in TAP style. */
static void
check(int ok, const char *what, const char *detail)
{
	if (ok)
		passed++;
	else
		failed++;
	printf("%s - %s%s%s\n", ok ? "ok" : "not ok", what,
		   detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Build a client or die: the URLs here are the test's own. */
static policy_opa *
client(const char *url, int timeout_ms)
{
	char	   *err = NULL;
	policy_opa *o = policy_opa_new(url, timeout_ms, &err);

	if (o == NULL)
	{
		fprintf(stderr, "policy_opa_new(%s): %s\n", url, err);
		exit(2);
	}
	return o;
}

/* Replay every case of cases.json through OPA; returns wrong decisions. */
static int
replay_cases(const policy_opa *o, const json_t *cases, int report)
{
	size_t		i;
	json_t	   *c;
	int			wrong = 0;

	json_array_foreach((json_t *) cases, i, c)
	{
		json_t	   *input = json_object_get(c, "input");
		json_t	   *arr = json_object_get(input, "scopes");
		const char *scopes[16];
		size_t		n = json_array_size(arr);
		const char *reason = NULL;
		int			got;
		int			want = json_is_true(json_object_get(c, "allow"));

		if (n > 16)
			n = 16;
		for (size_t j = 0; j < n; j++)
			scopes[j] = json_string_value(json_array_get(arr, j));
		got = policy_opa_allow(o, json_string_value(json_object_get(input, "route")),
							   scopes, n,
							   json_is_true(json_object_get(input, "subject_is_owner")),
							   &reason);
		if (got != want)
			wrong++;
		if (report)
		{
			char		what[300];

			snprintf(what, sizeof(what), "via OPA: %s",
					 json_string_value(json_object_get(c, "name")));
			check(got == want, what, got != want ? reason : NULL);
		}
	}
	return wrong;
}

struct replay_arg
{
	const policy_opa *o;
	const json_t *cases;
	int			wrong;
};

static void *
replay_thread(void *p)
{
	struct replay_arg *a = p;

	a->wrong = replay_cases(a->o, a->cases, 0);
	return NULL;
}

/* One decision with a fault scope: must deny, quickly, with a reason. */
static void
expect_fault(const policy_opa *o, const char *fault, int want, const char *reason_part,
			 long long max_ms)
{
	char		scope[64];
	const char *scopes[2];
	const char *reason = NULL;
	long long	start = now_ms();
	int			got;
	long long	took;
	char		what[128];
	char		detail[256];

	snprintf(scope, sizeof(scope), "x-fault:%s", fault);
	scopes[0] = "admin";
	scopes[1] = scope;
	got = policy_opa_allow(o, "agents.list", scopes, 2, 0, &reason);
	took = now_ms() - start;
	snprintf(what, sizeof(what), "OPA fault \"%s\" %s", fault,
			 want ? "still allows" : "denies (fails closed)");
	snprintf(detail, sizeof(detail), "%s after %lld ms", reason ? reason : "no reason", took);
	check(got == want && reason != NULL && strstr(reason, reason_part) != NULL &&
		  took <= max_ms, what, detail);
}

/* URL forms the client must refuse. */
static void
check_urls(void)
{
	static const char *const bad[] = {
		"https://127.0.0.1:8181", "ftp://127.0.0.1", "http://", "http://:8181",
		"http://127.0.0.1:0", "http://127.0.0.1:65536", "http://127.0.0.1:81x",
		"http://127.0.0.1:", "http://user:pw@127.0.0.1:8181", "http://127.0.0.1/?x=1",
		"http://127.0.0.1/#frag", "http://[::1", "http://[::1]x", "127.0.0.1:8181",
		NULL
	};
	static const char *const good[] = {
		"http://127.0.0.1:8181", "http://127.0.0.1:8181/", "HTTP://opa.internal",
		"http://[::1]:8181/opa/", NULL
	};
	char	   *err;

	for (int i = 0; bad[i] != NULL; i++)
	{
		char		what[160];
		policy_opa *o;

		err = NULL;
		o = policy_opa_new(bad[i], 1000, &err);
		snprintf(what, sizeof(what), "OPA URL \"%s\" is refused", bad[i]);
		check(o == NULL && err != NULL, what, err);
		policy_opa_free(o);
		free(err);
	}
	for (int i = 0; good[i] != NULL; i++)
	{
		char		what[160];
		policy_opa *o;

		err = NULL;
		o = policy_opa_new(good[i], 1000, &err);
		snprintf(what, sizeof(what), "OPA URL \"%s\" is accepted", good[i]);
		check(o != NULL, what, err);
		policy_opa_free(o);
		free(err);
	}
	err = NULL;
	check(policy_opa_new("http://127.0.0.1", 0, &err) == NULL && err != NULL,
		  "a zero timeout is refused", err);
	free(err);
	check(policy_opa_allow(NULL, "agents.list", NULL, 0, 0, NULL) == 0,
		  "a NULL client denies", NULL);
}

int
main(int argc, char **argv)
{
	char		url[128];

	if (argc >= 3 && strcmp(argv[1], "refused") == 0)
	{
		policy_opa *o;
		const char *scopes[] = {"admin"};
		const char *reason = NULL;
		long long	start = now_ms();
		int			got;

		snprintf(url, sizeof(url), "http://127.0.0.1:%s", argv[2]);
		o = client(url, 1000);
		got = policy_opa_allow(o, "agents.list", scopes, 1, 0, &reason);
		check(got == 0 && reason != NULL && strstr(reason, "unreachable") != NULL &&
			  now_ms() - start < 1000, "an unreachable OPA denies at once", reason);
		policy_opa_free(o);
	}
	else if (argc == 4 && strcmp(argv[1], "served") == 0)
	{
		json_error_t jerr;
		json_t	   *doc = json_load_file(argv[3], JSON_REJECT_DUPLICATES, &jerr);
		json_t	   *cases = json_object_get(doc, "cases");
		policy_opa *o;
		policy_opa *slow;
		pthread_t	th[4];
		struct replay_arg args[4];
		int			threads_ok = 1;

		if (!json_is_array(cases))
		{
			fprintf(stderr, "%s: no cases\n", argv[3]);
			return 2;
		}
		check_urls();

		snprintf(url, sizeof(url), "http://127.0.0.1:%s", argv[2]);
		o = client(url, 2000);
		replay_cases(o, cases, 1);

		for (int i = 0; i < 4; i++)
		{
			args[i] = (struct replay_arg) {.o = o,.cases = cases};
			if (pthread_create(&th[i], NULL, replay_thread, &args[i]) != 0)
				threads_ok = 0;
		}
		for (int i = 0; i < 4; i++)
		{
			pthread_join(th[i], NULL);
			if (args[i].wrong != 0)
				threads_ok = 0;
		}
		check(threads_ok, "four threads replaying the table through OPA at once agree", NULL);

		/* A path prefix (OPA behind a proxy) is kept before /v1/data/... */
		{
			policy_opa *pre;
			char		purl[160];
			const char *s[] = {"agents:read"};
			const char *reason = NULL;
			int			got;

			snprintf(purl, sizeof(purl), "http://127.0.0.1:%s/opa/", argv[2]);
			pre = client(purl, 2000);
			got = policy_opa_allow(pre, "agents.list", s, 1, 0, &reason);
			check(got == 1, "a URL with a path prefix reaches OPA under that prefix", reason);
			policy_opa_free(pre);
			snprintf(purl, sizeof(purl), "http://127.0.0.1:%s/elsewhere", argv[2]);
			pre = client(purl, 2000);
			got = policy_opa_allow(pre, "agents.list", s, 1, 0, &reason);
			check(got == 0 && strstr(reason, "error status") != NULL,
				  "a wrong path prefix (404) denies", reason);
			policy_opa_free(pre);
		}

		expect_fault(o, "status500", 0, "error status", 1000);
		expect_fault(o, "badjson", 0, "not a JSON object", 1000);
		expect_fault(o, "undefined", 0, "no decision", 1000);
		expect_fault(o, "string", 0, "not a boolean", 1000);
		expect_fault(o, "dupkey", 0, "not a JSON object", 1000);
		expect_fault(o, "close-early", 0, "malformed", 1000);
		expect_fault(o, "huge", 0, "too large", 1000);
		expect_fault(o, "garbage", 0, "malformed", 1000);
		expect_fault(o, "chunked-true", 1, "allowed by OPA", 1500);
		expect_fault(o, "nolength-true", 1, "allowed by OPA", 1000);

		/* The deadline bounds a slow or silent OPA. */
		slow = client(url, 400);
		expect_fault(slow, "slow", 0, "in time", 900);
		expect_fault(slow, "silent", 0, "in time", 900);
		policy_opa_free(slow);

		policy_opa_free(o);
		json_decref(doc);
	}
	else
	{
		fprintf(stderr, "usage: opa_test served PORT CASES.json | opa_test refused PORT\n");
		return 2;
	}
	printf("opa_test: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
