/* ctl_request: turning one control-socket line into a request, and a
 * request's outcome into one reply line. Pure functions (no sockets, no
 * server state) so the fuzz harness and the unit tests can drive them
 * directly; ctl_server.c is their only production caller.
 *
 * Two request forms share one result (struct ctl_request):
 *  - JSON, a line starting with '{':  {"id":..,"cmd":"decky.add","args":{..}}
 *    id may be a number, a string, null or absent and is echoed verbatim
 *    (a number keeps its original spelling, so 64-bit ids survive the
 *    trip through cJSON's doubles). Unknown top-level keys are ignored.
 *  - plain text for socat users:  decky add name=web01 ip=10.0.0.5
 *    Leading bare words name the command (joined with '.'; the longest
 *    run the caller's matcher accepts wins, else the first word); the
 *    rest are key=value pairs (string values) or positional words, which
 *    go to args._ as an array of strings. Double quotes group a value
 *    with spaces: note="two words"; inside quotes \" and \\ escape.
 *
 * Lines must be valid UTF-8 without NUL or control bytes (tab excepted),
 * so everything echoed back is valid JSON text.
 */
#ifndef CTL_REQUEST_H
#define CTL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "control/ctl_server.h"

/* Longest accepted line, without its '\n' (the header's 64 KiB). */
#define CTL_LINE_MAX (64u * 1024u)
/* Longest command name including the terminating NUL. */
#define CTL_CMD_MAX 64
/* Plain text: how many leading words may form a command name. */
#define CTL_CMD_WORDS_MAX 4

struct ctl_request {
	char cmd[CTL_CMD_MAX];
	cJSON *id;      /* owned; NULL when the request had none */
	cJSON *args;    /* owned; always an object after a successful parse */
	bool plain;     /* came in as plain text */
};

/* Plain-text command matching: returns true when name is a command the
 * caller knows. NULL matcher: the first word is the command. */
typedef bool (*ctl_cmd_match_fn)(void *ctx, const char *name);

/* Parses line[0..len) (no '\n'; a trailing '\r' is tolerated). Returns 0
 * and fills *out, or -EINVAL with err->code "bad_request" (err->message
 * says why). On failure *out may still hold the id (so the error reply
 * can echo it) and must be released either way. */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *out,
		      struct ctl_error *err);
int ctl_request_parse_match(const char *line, size_t len, ctl_cmd_match_fn match,
			    void *match_ctx, struct ctl_request *out, struct ctl_error *err);
/* Frees id and args; safe on a zeroed or already released request. */
void ctl_request_release(struct ctl_request *req);

/* Builds one reply line: {"id":..,"ok":true,"result":..}\n, or with err
 * non-NULL {"id":..,"ok":false,"error":{"code":..,"message":..}}\n.
 * Consumes id and result (either may be NULL: id prints as null, result
 * as null). Returns a malloc'd NUL-terminated line (the caller frees) and
 * its length without the NUL in *len_out, or NULL on ENOMEM. */
char *ctl_reply_print(cJSON *id, cJSON *result, const struct ctl_error *err, size_t *len_out);

/* Fills err and returns -1, so handlers can write
 * `return ctl_error_set(err, "not_found", "no decky %s", name);`. */
int ctl_error_set(struct ctl_error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Argument helpers for handlers: plain-text requests carry every value as
 * a string, JSON requests may carry numbers, so both are accepted.
 * Return 0, -ENOENT when key is absent (out untouched), -EINVAL when the
 * value has the wrong type or is out of range. */
int ctl_args_string(const cJSON *args, const char *key, const char **out);
int ctl_args_uint(const cJSON *args, const char *key, uint64_t max, uint64_t *out);
int ctl_args_bool(const cJSON *args, const char *key, bool *out);

/* True when buf[0..len) is well-formed UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF). */
bool ctl_utf8_valid(const char *buf, size_t len);

#endif
