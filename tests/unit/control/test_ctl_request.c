/* Unit tests for control/ctl_request.c: the request-line parser (JSON and
 * plain text), reply printing and the argument helpers. Table-driven: one
 * row per line, with the command, id and args it must produce. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_request.h"
#include "tests/unit/tap.h"

/* The commands the plain-text matcher knows in these tests. */
static bool known(void *ctx, const char *name)
{
	static const char *const names[] = { "stats", "decky", "decky.list", "decky.add",
					     "events.subscribe", "a.b.c.d" };
	(void)ctx;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

struct parse_case {
	const char *line;
	int rc;             /* 0 or -EINVAL */
	const char *cmd;    /* expected command (rc == 0) */
	const char *id;     /* printed id, NULL: none */
	const char *args;   /* expected args as JSON (rc == 0) */
	bool plain;
	bool no_match;      /* parse without the matcher */
};

static const struct parse_case cases[] = {
	/* JSON, good */
	{ "{\"id\":1,\"cmd\":\"stats\"}", 0, "stats", "1", "{}", false, false },
	{ "{\"id\":\"abc\",\"cmd\":\"decky.add\",\"args\":{\"name\":\"x\"}}", 0, "decky.add",
	  "\"abc\"", "{\"name\":\"x\"}", false, false },
	{ "{\"cmd\":\"stats\"}", 0, "stats", NULL, "{}", false, false },
	{ "{\"id\":null,\"cmd\":\"stats\",\"args\":null}", 0, "stats", NULL, "{}", false, false },
	{ "{\"id\":12345678901234567890,\"cmd\":\"stats\"}", 0, "stats", "12345678901234567890",
	  "{}", false, false },
	{ "{\"id\":1.50,\"cmd\":\"stats\"}", 0, "stats", "1.50", "{}", false, false },
	{ "{\"id\":-0,\"cmd\":\"stats\"}", 0, "stats", "-0", "{}", false, false },
	{ "{\"id\":1e400,\"cmd\":\"stats\"}", 0, "stats", "1e400", "{}", false, false },
	{ "{\"id\":01,\"cmd\":\"stats\"}", 0, "stats", "1", "{}", false, false },
	{ "  {\"cmd\":\"stats\",\"x\":[1,{\"a\":\"}\\\"\"}],\"id\" : 7 }  ", 0, "stats", "7", "{}",
	  false, false },
	{ "{\"\\u0069d\":5,\"id\":6,\"cmd\":\"stats\"}", 0, "stats", "5", "{}", false, false },
	{ "{\"c\\u006dd\":\"stats\"}", 0, "stats", NULL, "{}", false, false },
	{ "{\"id\":\"\\u00e9\",\"cmd\":\"stats\"}\r", 0, "stats", "\"\xc3\xa9\"", "{}", false,
	  false },
	{ "{\"id\":1,\"cmd\":\"stats\",\"args\":{\"n\":[1,2],\"o\":{\"k\":true}}}", 0, "stats", "1",
	  "{\"n\":[1,2],\"o\":{\"k\":true}}", false, false },
	/* JSON, bad: the id is still echoed when it could be read */
	{ "{\"id\":1,\"cmd\":\"stats\"", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"id\":1,\"cmd\":\"stats\"} x", -EINVAL, NULL, "1", NULL, false, false },
	{ "{\"cmd\":\"stats\"}{\"cmd\":\"stats\"}", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"id\":1}", -EINVAL, NULL, "1", NULL, false, false },
	{ "{}", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"id\":2,\"cmd\":5}", -EINVAL, NULL, "2", NULL, false, false },
	{ "{\"id\":3,\"cmd\":\"a b\"}", -EINVAL, NULL, "3", NULL, false, false },
	{ "{\"id\":3,\"cmd\":\"\"}", -EINVAL, NULL, "3", NULL, false, false },
	{ "{\"id\":4,\"cmd\":\"stats\",\"args\":[1]}", -EINVAL, NULL, "4", NULL, false, false },
	{ "{\"id\":4,\"cmd\":\"stats\",\"args\":\"x\"}", -EINVAL, NULL, "4", NULL, false, false },
	{ "{\"id\":[1],\"cmd\":\"stats\"}", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"id\":true,\"cmd\":\"stats\"}", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"id\":{},\"cmd\":\"stats\"}", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"id\":+1,\"cmd\":\"stats\"}", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"cmd\":\"\xff\"}", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"cmd\":\"\xc0\xaf\"}", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"cmd\":\"\xed\xa0\x80\"}", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"cmd\":\"stats\x01\"}", -EINVAL, NULL, NULL, NULL, false, false },
	{ "{\"cmd\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", -EINVAL,
	  NULL, NULL, NULL, false, false },
	/* plain text, good */
	{ "stats", 0, "stats", NULL, "{}", true, false },
	{ "decky list", 0, "decky.list", NULL, "{}", true, false },
	{ "decky.list", 0, "decky.list", NULL, "{}", true, false },
	{ "decky.add name=x ip=1.2.3.4", 0, "decky.add", NULL,
	  "{\"name\":\"x\",\"ip\":\"1.2.3.4\"}", true, false },
	{ "decky add name=x ip=1.2.3.4", 0, "decky.add", NULL,
	  "{\"name\":\"x\",\"ip\":\"1.2.3.4\"}", true, false },
	{ "decky show web01", 0, "decky", NULL, "{\"_\":[\"show\",\"web01\"]}", true, false },
	{ "a b c d", 0, "a.b.c.d", NULL, "{}", true, false },
	{ "a b c d e", 0, "a.b.c.d", NULL, "{\"_\":[\"e\"]}", true, false },
	{ "nosuch thing", 0, "nosuch", NULL, "{\"_\":[\"thing\"]}", true, false },
	{ "decky list", 0, "decky", NULL, "{\"_\":[\"list\"]}", true, true },
	{ "decky.add note=\"two words\" x", 0, "decky.add", NULL,
	  "{\"note\":\"two words\",\"_\":[\"x\"]}", true, false },
	{ "decky.add \"q \\\"x\\\" \\\\ b\"", 0, "decky.add", NULL,
	  "{\"_\":[\"q \\\"x\\\" \\\\ b\"]}", true, false },
	{ "decky.add \"a=b\" c\\d", 0, "decky.add", NULL, "{\"_\":[\"a=b\",\"c\\\\d\"]}", true,
	  false },
	{ "  stats \t ", 0, "stats", NULL, "{}", true, false },
	{ "stats\r", 0, "stats", NULL, "{}", true, false },
	{ "stats a= b==c", 0, "stats", NULL, "{\"a\":\"\",\"b\":\"=c\"}", true, false },
	{ "stats \"\"", 0, "stats", NULL, "{\"_\":[\"\"]}", true, false },
	{ "stats n=\xc3\xa9t\xc3\xa9", 0, "stats", NULL, "{\"n\":\"\xc3\xa9t\xc3\xa9\"}", true,
	  false },
	/* plain text, bad */
	{ "decky.add a=1 a=2", -EINVAL, NULL, NULL, NULL, true, false },
	{ "decky.add =x", -EINVAL, NULL, NULL, NULL, true, false },
	{ "decky.add _=x", -EINVAL, NULL, NULL, NULL, true, false },
	{ "decky.add k!=x", -EINVAL, NULL, NULL, NULL, true, false },
	{ "decky.add note=\"open", -EINVAL, NULL, NULL, NULL, true, false },
	{ "\"stats\"", -EINVAL, NULL, NULL, NULL, true, false },
	{ "x=1", -EINVAL, NULL, NULL, NULL, true, false },
	{ "", -EINVAL, NULL, NULL, NULL, true, false },
	{ "   ", -EINVAL, NULL, NULL, NULL, true, false },
	{ "st\xff", -EINVAL, NULL, NULL, NULL, false, false },
	{ "stats\x1b[0m", -EINVAL, NULL, NULL, NULL, false, false },
};

static char *print_or_null(const cJSON *item)
{
	return item ? cJSON_PrintUnformatted(item) : NULL;
}

static void test_parse_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *tc = &cases[i];
		struct ctl_request req;
		struct ctl_error err;
		int rc = ctl_request_parse_match(tc->line, strlen(tc->line),
						 tc->no_match ? NULL : known, NULL, &req, &err);
		char *id = print_or_null(req.id);

		if (rc != tc->rc)
			fprintf(stderr, "    case %zu: \"%s\" rc %d (%s: %s)\n", i, tc->line, rc,
				err.code ? err.code : "-", err.message);
		CHECK_EQ(rc, tc->rc);
		if (tc->id == NULL ? id != NULL : (id == NULL || strcmp(id, tc->id) != 0))
			fprintf(stderr, "    case %zu: \"%s\" id %s want %s\n", i, tc->line,
				id ? id : "(none)", tc->id ? tc->id : "(none)");
		CHECK(tc->id == NULL ? id == NULL : (id && strcmp(id, tc->id) == 0));
		if (rc == 0) {
			cJSON *want = cJSON_Parse(tc->args);
			char *got = print_or_null(req.args);
			CHECK(strcmp(req.cmd, tc->cmd) == 0);
			CHECK_EQ(req.plain, tc->plain);
			if (!cJSON_Compare(want, req.args, true))
				fprintf(stderr, "    case %zu: \"%s\" args %s want %s\n", i,
					tc->line, got ? got : "(none)", tc->args);
			CHECK(cJSON_Compare(want, req.args, true));
			cJSON_Delete(want);
			free(got);
		} else {
			CHECK(err.code && strcmp(err.code, "bad_request") == 0);
			CHECK(err.message[0] != '\0');
			CHECK(req.args == NULL);
			if (tc->line[0] == '{')
				CHECK(!req.plain);
		}
		free(id);
		ctl_request_release(&req);
		ctl_request_release(&req); /* released twice: must be harmless */
	}
}

/* Lines at and past the 64 KiB limit; the server closes the connection on
 * the latter, the parser just refuses it. */
static void test_parse_long_lines(void)
{
	size_t n = CTL_LINE_MAX + 1;
	char *line = malloc(n + 1);
	struct ctl_request req;
	struct ctl_error err;

	if (!line) {
		CHECK(0);
		return;
	}
	memcpy(line, "stats x=", 8);
	memset(line + 8, 'a', n - 8);
	CHECK_EQ(ctl_request_parse(line, CTL_LINE_MAX, &req, &err), 0);
	CHECK(strcmp(req.cmd, "stats") == 0);
	ctl_request_release(&req);
	line[CTL_LINE_MAX] = '\r'; /* a CR does not count */
	CHECK_EQ(ctl_request_parse(line, CTL_LINE_MAX + 1, &req, &err), 0);
	ctl_request_release(&req);
	line[CTL_LINE_MAX] = 'a';
	CHECK_EQ(ctl_request_parse(line, n, &req, &err), -EINVAL);
	CHECK(strstr(err.message, "too long") != NULL);
	ctl_request_release(&req);

	/* JSON nesting past cJSON's limit is an error, not a stack overflow. */
	size_t depth = 5000, k = 0;
	char *deep = malloc(2 * depth + 64);
	if (!deep) {
		free(line);
		CHECK(0);
		return;
	}
	k += (size_t)snprintf(deep, 64, "{\"cmd\":\"x\",\"args\":{\"a\":");
	for (size_t i = 0; i < depth; i++)
		deep[k++] = '[';
	for (size_t i = 0; i < depth; i++)
		deep[k++] = ']';
	deep[k++] = '}';
	deep[k++] = '}';
	CHECK_EQ(ctl_request_parse(deep, k, &req, &err), -EINVAL);
	ctl_request_release(&req);
	free(deep);
	free(line);
}

static void test_reply_print(void)
{
	struct ctl_error err;
	size_t len = 0;
	char *line;

	line = ctl_reply_print(cJSON_CreateRaw("12345678901234567890"), cJSON_CreateString("x"),
			       NULL, &len);
	CHECK(line && strcmp(line, "{\"id\":12345678901234567890,\"ok\":true,\"result\":\"x\"}\n") ==
		      0);
	CHECK_EQ(len, line ? strlen(line) : 0);
	free(line);

	line = ctl_reply_print(NULL, NULL, NULL, &len);
	CHECK(line && strcmp(line, "{\"id\":null,\"ok\":true,\"result\":null}\n") == 0);
	free(line);

	ctl_error_set(&err, "not_found", "no decky %s", "web01");
	line = ctl_reply_print(cJSON_CreateString("a"), cJSON_CreateNumber(1), &err, &len);
	CHECK(line && strcmp(line, "{\"id\":\"a\",\"ok\":false,\"error\":{\"code\":\"not_found\","
			     "\"message\":\"no decky web01\"}}\n") == 0);
	free(line);

	/* A message cut inside a UTF-8 sequence is trimmed to stay valid. */
	memset(err.message, 'a', sizeof(err.message));
	err.message[sizeof(err.message) - 3] = '\xc3';
	err.message[sizeof(err.message) - 2] = '\xa9';
	err.message[sizeof(err.message) - 1] = '\0';
	err.message[sizeof(err.message) - 2] = '\0'; /* only the lead byte survives */
	err.code = NULL;
	line = ctl_reply_print(NULL, NULL, &err, &len);
	CHECK(line && ctl_utf8_valid(line, len));
	CHECK(line && strstr(line, "\"code\":\"internal\"") != NULL);
	free(line);
}

static void test_args(void)
{
	cJSON *a = cJSON_Parse("{\"s\":\"x\",\"n\":42,\"ns\":\"42\",\"neg\":-1,\"frac\":1.5,"
			       "\"big\":\"18446744073709551616\",\"b\":true,\"bs\":\"no\","
			       "\"e\":\"\",\"sp\":\" 1\"}");
	const char *s = NULL;
	uint64_t u = 0;
	bool b = false;

	CHECK_EQ(ctl_args_string(a, "s", &s), 0);
	CHECK(s && strcmp(s, "x") == 0);
	CHECK_EQ(ctl_args_string(a, "n", &s), -EINVAL);
	CHECK_EQ(ctl_args_string(a, "missing", &s), -ENOENT);
	CHECK_EQ(ctl_args_uint(a, "n", 100, &u), 0);
	CHECK_EQ(u, 42);
	CHECK_EQ(ctl_args_uint(a, "ns", 100, &u), 0);
	CHECK_EQ(u, 42);
	CHECK_EQ(ctl_args_uint(a, "n", 41, &u), -EINVAL);
	CHECK_EQ(ctl_args_uint(a, "neg", 100, &u), -EINVAL);
	CHECK_EQ(ctl_args_uint(a, "frac", 100, &u), -EINVAL);
	CHECK_EQ(ctl_args_uint(a, "big", UINT64_MAX, &u), -EINVAL);
	CHECK_EQ(ctl_args_uint(a, "e", 100, &u), -EINVAL);
	CHECK_EQ(ctl_args_uint(a, "sp", 100, &u), -EINVAL);
	CHECK_EQ(ctl_args_uint(a, "missing", 100, &u), -ENOENT);
	CHECK_EQ(ctl_args_bool(a, "b", &b), 0);
	CHECK(b);
	CHECK_EQ(ctl_args_bool(a, "bs", &b), 0);
	CHECK(!b);
	CHECK_EQ(ctl_args_bool(a, "s", &b), -EINVAL);
	CHECK_EQ(ctl_args_bool(a, "n", &b), -EINVAL);
	cJSON_Delete(a);
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		bool ok;
	} t[] = {
		{ "plain", true },         { "\xc3\xa9", true },     { "\xe2\x82\xac", true },
		{ "\xf0\x9f\x98\x80", true }, { "\xc3", false },      { "\xc0\x80", false },
		{ "\xe0\x80\xaf", false },  { "\xed\xa0\x80", false }, { "\xf4\x90\x80\x80", false },
		{ "\x80", false },          { "\xff", false },         { "\xf0\x9f\x98", false },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_EQ(ctl_utf8_valid(t[i].s, strlen(t[i].s)), t[i].ok);
}

int main(void)
{
	test_parse_table();
	test_parse_long_lines();
	test_reply_print();
	test_args();
	test_utf8();
	return tap_done();
}
