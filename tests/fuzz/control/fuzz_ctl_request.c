/* Fuzz harness for the control socket's request-line parser: every input
 * is one line (as the server hands it over, without '\n'). Beyond "no
 * crash, no leak" it checks the promise the server relies on: whatever
 * the line, the reply built from what the parser returned is one valid
 * JSON object on one line, with the id echoed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_match(void *ctx, const char *name)
{
	static const char *const names[] = { "stats", "decky", "decky.list", "decky.add",
					     "events.subscribe", "help" };
	(void)ctx;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct ctl_request req;
	struct ctl_error err;
	const char *s;
	uint64_t u;
	bool b;
	size_t len = 0;
	char *reply;
	cJSON *parsed;
	int rc;

	if (size > CTL_LINE_MAX + 2)
		return 0;
	rc = ctl_request_parse_match(line, size, fuzz_match, NULL, &req, &err);
	if (rc == 0) {
		if (!cJSON_IsObject(req.args) || !req.cmd[0])
			abort();
		/* Handlers' view of the args must not crash either. */
		ctl_args_string(req.args, "name", &s);
		ctl_args_uint(req.args, "n", UINT64_MAX, &u);
		ctl_args_bool(req.args, "on", &b);
	} else if (!err.code || !err.message[0] || req.args) {
		abort();
	}
	reply = ctl_reply_print(req.id, rc == 0 ? cJSON_Duplicate(req.args, true) : NULL,
				rc == 0 ? NULL : &err, &len);
	req.id = NULL; /* consumed */
	if (reply) {
		if (len == 0 || reply[len - 1] != '\n' || memchr(reply, '\n', len - 1) ||
		    !ctl_utf8_valid(reply, len))
			abort();
		parsed = cJSON_ParseWithLength(reply, len);
		if (!cJSON_IsObject(parsed) || !cJSON_GetObjectItemCaseSensitive(parsed, "id"))
			abort();
		cJSON_Delete(parsed);
		free(reply);
	}
	ctl_request_release(&req);
	return 0;
}
