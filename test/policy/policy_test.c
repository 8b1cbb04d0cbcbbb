/*
 * policy_test.c - the decision table and the loader's refusals.
 *
 *   policy_test DATA.json CASES.json TMPDIR
 *
 * Every case of policies/cases.json must get its expected decision from the
 * native evaluator over policies/data.json, also with several threads
 * deciding at once; every broken data document must be refused with a
 * message naming what is wrong. Prints one "ok"/"not ok" line per check and
 * "policy_test: N passed, M failed" at the end.
 */
#define _POSIX_C_SOURCE 200809L

#include "policy.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One case of cases.json, decoded. */
struct tcase
{
	const char *name;
	const char *route;
	const char **scopes;
	size_t		nscopes;
	int			owner;
	int			allow;
};

static struct tcase *cases;
static size_t ncases;
static const policy *shared_policy;

/* Decode cases.json; the json_t stays alive for the strings. */
static json_t *
load_cases(const char *path)
{
	json_error_t jerr;
	json_t	   *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	json_t	   *arr;
	json_t	   *c;
	size_t		i;

	if (root == NULL)
	{
		fprintf(stderr, "%s: %s\n", path, jerr.text);
		exit(2);
	}
	arr = json_object_get(root, "cases");
	if (!json_is_array(arr) || json_array_size(arr) == 0)
	{
		fprintf(stderr, "%s: no \"cases\" array\n", path);
		exit(2);
	}
	ncases = json_array_size(arr);
	cases = calloc(ncases, sizeof(*cases));
	json_array_foreach(arr, i, c)
	{
		json_t	   *input = NULL;
		json_t	   *scopes = NULL;
		json_t	   *allow = NULL;
		json_t	   *owner = NULL;
		const char *name = NULL;
		const char *route = NULL;
		json_error_t uerr;
		size_t		j;
		json_t	   *s;

		if (json_unpack_ex(c, &uerr, JSON_STRICT, "{s:s, s:{s:s, s:o, s:o}, s:o}",
						   "name", &name, "input", "route", &route,
						   "scopes", &scopes, "subject_is_owner", &owner,
						   "allow", &allow) < 0 ||
			!json_is_array(scopes) || !json_is_boolean(owner) ||
			!json_is_boolean(allow))
		{
			fprintf(stderr, "%s: case %zu is malformed: %s\n", path, i, uerr.text);
			exit(2);
		}
		(void) input;
		cases[i].name = name;
		cases[i].route = route;
		cases[i].owner = json_is_true(owner);
		cases[i].allow = json_is_true(allow);
		cases[i].nscopes = json_array_size(scopes);
		cases[i].scopes = calloc(cases[i].nscopes + 1, sizeof(char *));
		json_array_foreach(scopes, j, s)
			cases[i].scopes[j] = json_string_value(s);
	}
	return root;
}

/* Decide every case; returns the number of wrong decisions. */
static size_t
run_cases(const policy *p, int report)
{
	size_t		wrong = 0;

	for (size_t i = 0; i < ncases; i++)
	{
		const char *reason = NULL;
		int			got = policy_allow(p, cases[i].route, cases[i].scopes,
									   cases[i].nscopes, cases[i].owner, &reason);
		int			ok = got == cases[i].allow && reason != NULL && reason[0] != '\0';

		if (!ok)
			wrong++;
		if (report)
		{
			char		detail[256];

			snprintf(detail, sizeof(detail), "%s (%s)",
					 got ? "allow" : "deny", reason != NULL ? reason : "no reason");
			check(ok, cases[i].name, detail);
		}
	}
	return wrong;
}

/* Decide the whole table repeatedly; returns non-NULL on a wrong decision. */
static void *
reader_thread(void *arg)
{
	static int	wrong_marker;
	size_t		wrong = 0;

	(void) arg;
	for (int round = 0; round < 200; round++)
		wrong += run_cases(shared_policy, 0);
	return wrong != 0 ? &wrong_marker : NULL;
}

/* Write text to dir/name and return the path (static buffer). */
static const char *
write_file(const char *dir, const char *name, const char *text)
{
	static char path[512];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
	{
		perror(path);
		exit(2);
	}
	return path;
}

/* Read a whole file into a malloc'd string. */
static char *
read_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		perror(path);
		exit(2);
	}
	buf = malloc((size_t) n + 1);
	if (fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		perror(path);
		exit(2);
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * Replace the first occurrence of from in text by to (malloc'd result), to
 * derive broken documents from the real one.
 */
static char *
replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t		tl = strlen(text), fl = strlen(from), nl = strlen(to);
	char	   *out;

	if (at == NULL)
	{
		fprintf(stderr, "test bug: \"%s\" not in data.json\n", from);
		exit(2);
	}
	out = malloc(tl - fl + nl + 1);
	memcpy(out, text, (size_t) (at - text));
	memcpy(out + (at - text), to, nl);
	strcpy(out + (at - text) + nl, at + fl);
	return out;
}

/* A broken document must be refused with a message containing expect. */
static void
expect_refused(const char *tmpdir, const char *what, const char *text,
			   const char *expect)
{
	char	   *err = NULL;
	const char *path = write_file(tmpdir, "broken.json", text);
	policy	   *p = policy_load(path, &err);
	char		detail[512];

	snprintf(detail, sizeof(detail), "%s", err != NULL ? err : "(no message)");
	check(p == NULL && err != NULL && strstr(err, expect) != NULL, what, detail);
	policy_free(p);
	free(err);
}

int
main(int argc, char **argv)
{
	char	   *err = NULL;
	policy	   *p;
	json_t	   *cases_doc;
	char	   *data;
	pthread_t	threads[4];
	int			threads_ok = 1;
	const char *tmpdir;

	if (argc != 4)
	{
		fprintf(stderr, "usage: policy_test DATA.json CASES.json TMPDIR\n");
		return 2;
	}
	tmpdir = argv[3];
	cases_doc = load_cases(argv[2]);

	p = policy_load(argv[1], &err);
	check(p != NULL, "policies/data.json loads", err);
	if (p == NULL)
	{
		printf("policy_test: %d passed, %d failed\n", passed, failed);
		return 1;
	}

	/* The table itself. */
	run_cases(p, 1);

	/* The same table from four threads at once: no shared mutable state. */
	shared_policy = p;
	for (int i = 0; i < 4; i++)
		if (pthread_create(&threads[i], NULL, reader_thread, NULL) != 0)
			threads_ok = 0;
	for (int i = 0; i < 4; i++)
	{
		void	   *res = NULL;

		pthread_join(threads[i], &res);
		if (res != NULL)
			threads_ok = 0;
	}
	check(threads_ok, "four threads deciding the whole table 200 times agree", NULL);

	/* Defensive inputs. */
	{
		const char *s[] = {"admin"};
		const char *reason = NULL;

		int			got;

		got = policy_allow(NULL, "agents.list", s, 1, 0, &reason);
		check(got == 0 && reason != NULL, "a NULL policy denies", reason);
		got = policy_allow(p, NULL, s, 1, 0, &reason);
		check(got == 0, "a NULL route denies", reason);
		got = policy_allow(p, "agents.list", NULL, 0, 0, &reason);
		check(got == 0, "a NULL scope array denies", reason);
		check(policy_allow(p, "agents.list", s, 1, 0, NULL) == 1,
			  "reason may be NULL", NULL);
	}

	/* Every route the evaluator knows is in data.json and vice versa. */
	{
		size_t		n = 0;

		while (policy_route_ids[n] != NULL)
			n++;
		check(n == 13, "the evaluator knows the 13 route ids of the bridge", NULL);
	}

	/* The loader's refusals, each derived from the real document. */
	data = read_file(argv[1]);
	{
		char	   *t;

		err = NULL;
		check(policy_load("/nonexistent/agentidp-policy.json", &err) == NULL &&
			  err != NULL && strstr(err, "/nonexistent/agentidp-policy.json") != NULL,
			  "a missing file is refused with its path", err);
		free(err);

		expect_refused(tmpdir, "an empty file is refused", "", "line");
		expect_refused(tmpdir, "invalid JSON is refused", "{\"agentidp\": ", "line");
		expect_refused(tmpdir, "a top-level array is refused", "[]", "must be a JSON object");
		expect_refused(tmpdir, "an unknown top-level key is refused",
					   "{\"agentidp\": {}, \"extra\": 1}", "unknown field \"extra\"");
		expect_refused(tmpdir, "a missing agentidp key is refused", "{}",
					   "missing field \"agentidp\"");

		t = replace(data, "\"implies_all\": [\"admin\"],",
					"\"implies_all\": [\"admin\"], \"implies_all\": [],");
		expect_refused(tmpdir, "a duplicate key is refused", t, "duplicate");
		free(t);

		t = replace(data, "\"implies_all\": [\"admin\"]", "\"implies_all\": \"admin\"");
		expect_refused(tmpdir, "implies_all as a string is refused", t,
					   "agentidp.implies_all: must be an array");
		free(t);

		t = replace(data, "\"implies_all\": [\"admin\"]", "\"implies_all\": [\"root\"]");
		expect_refused(tmpdir, "an unknown scope in implies_all is refused", t,
					   "unknown scope \"root\"");
		free(t);

		t = replace(data, "\"implies_all\": [\"admin\"]", "\"implies_all\": [1]");
		expect_refused(tmpdir, "a number as scope is refused", t, "must be a string");
		free(t);

		t = replace(data, "\"agents.list\":", "\"agents.purge\":");
		expect_refused(tmpdir, "an unknown route is refused", t,
					   "unknown route \"agents.purge\"");
		free(t);

		t = replace(data, "\"audit.get\":", "\"x-audit.get\":");
		expect_refused(tmpdir, "a misspelt route id is refused", t,
					   "unknown route \"x-audit.get\"");
		free(t);

		t = replace(data, "\"scopes\": [\"agents:read\"],",
					"\"scopes\": [\"agents:reed\"],");
		expect_refused(tmpdir, "an unknown scope in a route is refused", t,
					   "agentidp.routes.agents.list.scopes[0]: unknown scope \"agents:reed\"");
		free(t);

		t = replace(data, "\"scopes\": [\"agents:read\"],",
					"\"scopes\": [\"agents:read\", \"agents:read\"],");
		expect_refused(tmpdir, "a scope listed twice is refused", t, "listed twice");
		free(t);

		t = replace(data, "\"self_denied\": false", "\"self_denied\": 0");
		expect_refused(tmpdir, "self_denied as a number is refused", t,
					   "self_denied: must be true or false");
		free(t);

		t = replace(data, "\"self_scopes\": [],", "");
		expect_refused(tmpdir, "a route without self_scopes is refused", t,
					   "missing field \"self_scopes\"");
		free(t);

		t = replace(data, "\"self_denied\": false", "\"self_denied\": false, \"owner\": true");
		expect_refused(tmpdir, "an unknown field in a route is refused", t,
					   "unknown field \"owner\"");
		free(t);

		t = replace(data, "{ \"scopes\": [\"agents:read\"],",
					"[ \"scopes\", [\"agents:read\"],");
		expect_refused(tmpdir, "invalid JSON inside a route is refused", t, "line");
		free(t);

		t = replace(data, "\"routes\": {", "\"routes\": {\"token.introspect\": "
					"{\"scopes\": [], \"self_scopes\": [], \"self_denied\": false},");
		expect_refused(tmpdir, "a route listed twice is refused", t, "duplicate");
		free(t);

		expect_refused(tmpdir, "a document without any route is refused",
					   "{\"agentidp\": {\"implies_all\": [\"admin\"], \"routes\": {}}}",
					   "route \"agents.list\" is missing");
		expect_refused(tmpdir, "routes as an array is refused",
					   "{\"agentidp\": {\"implies_all\": [], \"routes\": []}}",
					   "agentidp.routes: must be an object");

		/* A refused reload must leave the loaded policy as it was. */
		check(run_cases(p, 0) == 0, "the loaded policy still decides the table after refused loads", NULL);

		/* An empty implies_all is allowed: admin then grants nothing extra. */
		t = replace(data, "\"implies_all\": [\"admin\"]", "\"implies_all\": []");
		{
			const char *path = write_file(tmpdir, "noadmin.json", t);
			policy	   *q;
			const char *s[] = {"admin"};

			err = NULL;
			q = policy_load(path, &err);
			check(q != NULL && policy_allow(q, "agents.list", s, 1, 0, NULL) == 0,
				  "without implies_all, admin grants only what routes list", err);
			policy_free(q);
			free(err);
		}
		free(t);
	}

	free(data);
	policy_free(p);
	for (size_t i = 0; i < ncases; i++)
		free(cases[i].scopes);
	free(cases);
	json_decref(cases_doc);
	printf("policy_test: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
