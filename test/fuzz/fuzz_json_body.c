/*
 * fuzz_json_body: req_json_object and json_only_fields (bridge/routes.c),
 * the path every JSON route body takes: Content-Type check, strict parse
 * with duplicate keys refused, object-only, unknown fields refused.
 *
 * Input: "<Content-Type value>\n<body>". req_header() is wrapped.
 *
 * Properties: an accepted body is a JSON object whose re-serialisation parses
 * again with JSON_REJECT_DUPLICATES (so no duplicate key slipped through);
 * every refusal sets a 4xx status (never 5xx, never silence).
 */
#include "../../bridge/http_server.h"
#include "../../bridge/routes.h"
#include "fuzz_common.h"

#include <microhttpd.h>
#include <strings.h>

static const char *fuzz_content_type;

const char *__wrap_req_header(struct request *r, const char *name);

const char *
__wrap_req_header(struct request *r, const char *name)
{
	(void)r;
	if (strcasecmp(name, "Content-Type") == 0)
		return fuzz_content_type;
	return NULL;
}

static const char *const agent_fields[] = {"name", "owner", "capabilities", "description",
										   "metadata", NULL};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *ct, *body;
	size_t ctlen, blen;
	struct request r;
	json_t *obj;

	fuzz_split(data, len, '\n', &ct, &ctlen, &body, &blen);
	fuzz_content_type = strlen(ct) == ctlen ? ct : NULL;
	for (int allow_empty = 0; allow_empty < 2; allow_empty++) {
		memset(&r, 0, sizeof(r));
		r.body = body;
		r.body_len = blen;
		obj = req_json_object(&r, allow_empty);
		if (obj != NULL) {
			char *text = json_dumps(obj, JSON_COMPACT);
			json_t *again;

			if (!json_is_object(obj) || text == NULL)
				abort();
			again = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
			if (again == NULL || json_object_size(again) != json_object_size(obj))
				abort();
			json_decref(again);
			free(text);
			if (json_only_fields(&r, obj, agent_fields) != 0 && r.status != 400)
				abort();
			json_decref(obj);
		} else if (r.status < 400 || r.status > 499) {
			abort(); /* refusals are client errors */
		}
		if (r.resp)
			MHD_destroy_response(r.resp);
	}
	free(ct);
	free(body);
	return 0;
}
