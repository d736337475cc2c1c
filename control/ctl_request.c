/* Request-line parsing and reply printing for the control socket; see
 * ctl_request.h for the two request forms. Everything here is bounded by
 * the line length it is handed and keeps no state between calls. */
#include "control/ctl_request.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- byte-level checks ---------------------------------------------- */

/* Length of the longest well-formed UTF-8 prefix of buf[0..len). */
static size_t utf8_valid_prefix(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t need;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			break;
		}
		if (len - i <= need)
			break;
		size_t k;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				break;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (k <= need || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			break;
		i += need + 1;
	}
	return i;
}

bool ctl_utf8_valid(const char *buf, size_t len)
{
	return utf8_valid_prefix(buf, len) == len;
}

static bool is_cmd_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool is_cmd_name(const char *s, size_t len)
{
	if (len == 0 || len >= CTL_CMD_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_cmd_char(s[i]))
			return false;
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

int ctl_error_set(struct ctl_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int bad_request(struct ctl_error *err, const char *msg)
{
	ctl_error_set(err, "bad_request", "%s", msg);
	return -EINVAL;
}

void ctl_request_release(struct ctl_request *req)
{
	cJSON_Delete(req->id);
	cJSON_Delete(req->args);
	req->id = NULL;
	req->args = NULL;
}

/* ---- JSON form -------------------------------------------------------- */

/* A tiny skipper over text cJSON has already accepted, used only to find
 * the spelling of the top-level "id" so a number is echoed exactly as it
 * came (cJSON keeps numbers as doubles). Any surprise returns -1 and the
 * caller falls back to cJSON's value. */
static size_t json_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* s[i] == '"'; returns the index after the closing quote or 0. */
static size_t json_skip_string(const char *s, size_t len, size_t i, bool *escaped)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\') {
			*escaped = true;
			i++;
		} else if (s[i] == '"') {
			return i + 1;
		}
	}
	return 0;
}

static size_t json_skip_value(const char *s, size_t len, size_t i)
{
	bool esc = false;
	size_t depth = 0;

	if (i < len && s[i] == '"')
		return json_skip_string(s, len, i, &esc);
	while (i < len) {
		char c = s[i];
		if (c == '"') {
			i = json_skip_string(s, len, i, &esc);
			if (!i)
				return 0;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\r' ||
					  c == '\n')) {
			return i;
		}
		i++;
	}
	return depth == 0 ? i : 0;
}

static int json_find_top_member(const char *s, size_t len, const char *key, size_t *vstart,
				size_t *vlen)
{
	size_t klen = strlen(key), i = json_ws(s, len, 0);

	if (i >= len || s[i] != '{')
		return -1;
	for (i = json_ws(s, len, i + 1); i < len && s[i] == '"';) {
		bool esc = false;
		size_t kstart = i + 1, kend = json_skip_string(s, len, i, &esc);
		if (!kend || esc)
			return -1; /* an escaped key could alias "id": let cJSON decide */
		i = json_ws(s, len, kend);
		if (i >= len || s[i] != ':')
			return -1;
		i = json_ws(s, len, i + 1);
		size_t v = i, vend = json_skip_value(s, len, i);
		if (!vend || vend == v)
			return -1;
		if (kend - 1 - kstart == klen && memcmp(s + kstart, key, klen) == 0) {
			*vstart = v;
			*vlen = vend - v;
			return 0;
		}
		i = json_ws(s, len, vend);
		if (i >= len || s[i] != ',')
			return -1;
		i = json_ws(s, len, i + 1);
	}
	return -1;
}

/* RFC 8259 number grammar: cJSON (via strtod) also takes "+1", "01", ".5",
 * which must not be echoed back as if they were JSON. */
static bool json_number_strict(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0') {
		i++;
	} else if (i < len && s[i] >= '1' && s[i] <= '9') {
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return false;
	}
	if (i < len && s[i] == '.') {
		size_t d = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	return i == len;
}

/* Takes the id out of doc into out->id. Returns 0 or -EINVAL for an id of
 * a type no client can match a reply against. */
static int take_id(cJSON *doc, const char *text, size_t len, struct ctl_request *out,
		   struct ctl_error *err)
{
	cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
	size_t vs, vl;

	if (!id || cJSON_IsNull(id))
		return 0;
	if (cJSON_IsString(id)) {
		out->id = cJSON_DetachItemViaPointer(doc, id);
		return 0;
	}
	if (!cJSON_IsNumber(id))
		return bad_request(err, "\"id\" must be a number, a string or null");
	if (json_find_top_member(text, len, "id", &vs, &vl) == 0 &&
	    json_number_strict(text + vs, vl)) {
		char *raw = strndup(text + vs, vl);
		if (raw) {
			out->id = cJSON_CreateRaw(raw);
			free(raw);
			if (out->id)
				return 0;
		}
	}
	out->id = cJSON_DetachItemViaPointer(doc, id);
	return 0;
}

static int parse_json(const char *line, size_t len, struct ctl_request *out,
		      struct ctl_error *err)
{
	const char *end = NULL;
	cJSON *doc, *cmd, *args;
	char *text;
	int rc;

	/* cJSON is handed a NUL-terminated private copy: the line has no NUL
	 * (checked by the caller), so no parser path can read past it. */
	text = malloc(len + 1);
	if (!text) {
		ctl_error_set(err, "internal", "out of memory");
		return -ENOMEM;
	}
	memcpy(text, line, len);
	text[len] = '\0';

	doc = cJSON_ParseWithOpts(text, &end, 0);
	if (!doc) {
		size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		ctl_error_set(err, "bad_request", "malformed JSON near byte %zu", at);
		rc = -EINVAL;
		goto out_text;
	}
	if (!cJSON_IsObject(doc)) {
		rc = bad_request(err, "request must be a JSON object");
		goto out_doc;
	}
	/* The id first, so every later complaint can be matched by it. */
	rc = take_id(doc, text, len, out, err);
	if (rc)
		goto out_doc;
	if (json_ws(text, len, (size_t)(end - text)) != len) {
		rc = bad_request(err, "trailing data after the JSON object");
		goto out_doc;
	}

	cmd = cJSON_GetObjectItemCaseSensitive(doc, "cmd");
	if (!cJSON_IsString(cmd) || !cmd->valuestring) {
		rc = bad_request(err, "\"cmd\" must be a string");
		goto out_doc;
	}
	if (!is_cmd_name(cmd->valuestring, strlen(cmd->valuestring))) {
		rc = bad_request(err, "\"cmd\" is not a command name");
		goto out_doc;
	}
	memcpy(out->cmd, cmd->valuestring, strlen(cmd->valuestring) + 1);

	args = cJSON_GetObjectItemCaseSensitive(doc, "args");
	if (!args || cJSON_IsNull(args)) {
		out->args = cJSON_CreateObject();
	} else if (cJSON_IsObject(args)) {
		out->args = cJSON_DetachItemViaPointer(doc, args);
	} else {
		rc = bad_request(err, "\"args\" must be an object");
		goto out_doc;
	}
	if (!out->args) {
		ctl_error_set(err, "internal", "out of memory");
		rc = -ENOMEM;
	}
out_doc:
	cJSON_Delete(doc);
out_text:
	free(text);
	return rc;
}

/* ---- plain-text form -------------------------------------------------- */

/* One word after quote removal, stored NUL-terminated in the arena. */
struct pt_word {
	char *text;
	size_t len;
	ssize_t eq;     /* offset of the first unquoted '=', -1 if none */
	bool quoted;
};

struct pt_cursor {
	const char *p, *end;
	char *arena;    /* len + 1 bytes: words and their NULs never need more */
	size_t used;
};

/* Returns 1 with *w filled, 0 at the end of the line, -EINVAL on an
 * unterminated quote. */
static int pt_next_word(struct pt_cursor *c, struct pt_word *w)
{
	bool in_quote = false;

	while (c->p < c->end && is_space(*c->p))
		c->p++;
	if (c->p == c->end)
		return 0;
	w->text = c->arena + c->used;
	w->len = 0;
	w->eq = -1;
	w->quoted = false;
	while (c->p < c->end && (in_quote || !is_space(*c->p))) {
		char ch = *c->p++;
		if (ch == '"') {
			in_quote = !in_quote;
			w->quoted = true;
			continue;
		}
		if (in_quote && ch == '\\' && c->p < c->end && (*c->p == '"' || *c->p == '\\'))
			ch = *c->p++;
		else if (!in_quote && ch == '=' && w->eq < 0)
			w->eq = (ssize_t)w->len;
		w->text[w->len++] = ch;
	}
	if (in_quote)
		return -EINVAL;
	w->text[w->len] = '\0';
	c->used += w->len + 1;
	return 1;
}

static bool pt_is_name_word(const struct pt_word *w)
{
	return !w->quoted && w->eq < 0 && is_cmd_name(w->text, w->len);
}

/* Chooses how many of the n leading name words form the command. */
static size_t pt_pick_command(struct pt_word *words, size_t n, ctl_cmd_match_fn match,
			      void *match_ctx, char *cmd)
{
	for (size_t j = match ? n : 1; j >= 1; j--) {
		size_t len = 0;
		bool fits = true;

		for (size_t k = 0; k < j && fits; k++) {
			size_t need = words[k].len + (k ? 1 : 0);
			if (len + need >= CTL_CMD_MAX) {
				fits = false;
				break;
			}
			if (k)
				cmd[len++] = '.';
			memcpy(cmd + len, words[k].text, words[k].len);
			len += words[k].len;
		}
		if (!fits)
			continue;
		cmd[len] = '\0';
		if (j == 1 || match(match_ctx, cmd))
			return j;
	}
	return 1; /* not reached: j == 1 always returns */
}

static int pt_add_positional(cJSON *args, const struct pt_word *w, struct ctl_error *err)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(args, "_");
	cJSON *s;

	if (!arr) {
		arr = cJSON_AddArrayToObject(args, "_");
		if (!arr)
			goto nomem;
	}
	s = cJSON_CreateString(w->text);
	if (!s)
		goto nomem;
	if (!cJSON_AddItemToArray(arr, s)) {
		cJSON_Delete(s);
		goto nomem;
	}
	return 0;
nomem:
	ctl_error_set(err, "internal", "out of memory");
	return -ENOMEM;
}

static int pt_add_pair(cJSON *args, struct pt_word *w, struct ctl_error *err)
{
	char *key = w->text, *value = w->text + w->eq + 1;

	w->text[w->eq] = '\0';
	if (!is_cmd_name(key, (size_t)w->eq))
		return bad_request(err, "argument key must be letters, digits, '.', '_' or '-'");
	if (strcmp(key, "_") == 0)
		return bad_request(err, "argument key \"_\" is reserved for positional words");
	if (cJSON_GetObjectItemCaseSensitive(args, key))
		return bad_request(err, "duplicate argument key");
	if (!cJSON_AddStringToObject(args, key, value)) {
		ctl_error_set(err, "internal", "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int pt_add_word(cJSON *args, struct pt_word *w, struct ctl_error *err)
{
	return w->eq >= 0 ? pt_add_pair(args, w, err) : pt_add_positional(args, w, err);
}

static int parse_plain(const char *line, size_t len, ctl_cmd_match_fn match, void *match_ctx,
		       struct ctl_request *out, struct ctl_error *err)
{
	struct pt_word lead[CTL_CMD_WORDS_MAX], w;
	struct pt_cursor c = { .p = line, .end = line + len };
	size_t nlead = 0, used;
	bool pending = false; /* w ended the lead scan and is still unused */
	int rc = 0, more = 0;

	out->plain = true;
	c.arena = malloc(len + 1);
	if (!c.arena) {
		ctl_error_set(err, "internal", "out of memory");
		return -ENOMEM;
	}

	/* Gather the leading name words: any of them may belong to the
	 * command, which is decided once their count is known. */
	while (nlead < CTL_CMD_WORDS_MAX && (more = pt_next_word(&c, &w)) == 1) {
		if (!pt_is_name_word(&w)) {
			pending = true;
			break;
		}
		lead[nlead++] = w;
	}
	if (more < 0) {
		rc = bad_request(err, "unterminated quote");
		goto out;
	}
	if (nlead == 0) {
		rc = bad_request(err, pending ? "plain text must start with a command name" :
				 "empty request");
		goto out;
	}
	used = pt_pick_command(lead, nlead, match, match_ctx, out->cmd);
	out->args = cJSON_CreateObject();
	if (!out->args) {
		ctl_error_set(err, "internal", "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (size_t k = used; k < nlead && !rc; k++)
		rc = pt_add_positional(out->args, &lead[k], err);
	if (!rc && pending)
		rc = pt_add_word(out->args, &w, err);
	while (!rc && (more = pt_next_word(&c, &w)) == 1)
		rc = pt_add_word(out->args, &w, err);
	if (!rc && more < 0)
		rc = bad_request(err, "unterminated quote");
out:
	free(c.arena);
	return rc;
}

/* ---- entry points ------------------------------------------------------ */

int ctl_request_parse_match(const char *line, size_t len, ctl_cmd_match_fn match,
			    void *match_ctx, struct ctl_request *out, struct ctl_error *err)
{
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	err->code = NULL;
	err->message[0] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CTL_LINE_MAX)
		return bad_request(err, "line too long");
	/* Control bytes (tab aside) are never part of a valid request and
	 * NUL would end cJSON's view of the line early. */
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			return bad_request(err, "control character in request");
	if (!ctl_utf8_valid(line, len))
		return bad_request(err, "request is not valid UTF-8");
	for (i = 0; i < len && is_space(line[i]); i++)
		;
	rc = i < len && line[i] == '{' ? parse_json(line, len, out, err)
				       : parse_plain(line, len, match, match_ctx, out, err);
	if (rc) { /* half-built args are of no use; the id is kept for the reply */
		cJSON_Delete(out->args);
		out->args = NULL;
	}
	return rc;
}

int ctl_request_parse(const char *line, size_t len, struct ctl_request *out,
		      struct ctl_error *err)
{
	return ctl_request_parse_match(line, len, NULL, NULL, out, err);
}

/* ---- replies ------------------------------------------------------------ */

static bool add_owned(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

char *ctl_reply_print(cJSON *id, cJSON *result, const struct ctl_error *err, size_t *len_out)
{
	cJSON *obj = cJSON_CreateObject(), *e;
	char *text = NULL, *line = NULL;
	size_t n;

	if (!obj)
		goto out;
	if (!add_owned(obj, "id", id ? id : cJSON_CreateNull()))
		goto out_obj;
	id = NULL;
	if (!add_owned(obj, "ok", cJSON_CreateBool(err == NULL)))
		goto out_obj;
	if (err) {
		char msg[sizeof(err->message)];
		size_t mlen = strnlen(err->message, sizeof(err->message) - 1);

		/* Handlers snprintf into message: a cut may split a UTF-8
		 * sequence, and the reply must stay valid JSON text. */
		mlen = utf8_valid_prefix(err->message, mlen);
		memcpy(msg, err->message, mlen);
		msg[mlen] = '\0';
		e = cJSON_AddObjectToObject(obj, "error");
		if (!e || !cJSON_AddStringToObject(e, "code", err->code ? err->code : "internal") ||
		    !cJSON_AddStringToObject(e, "message", msg))
			goto out_obj;
	} else {
		if (!add_owned(obj, "result", result ? result : cJSON_CreateNull())) {
			result = NULL;
			goto out_obj;
		}
		result = NULL;
	}
	text = cJSON_PrintUnformatted(obj);
	if (!text)
		goto out_obj;
	n = strlen(text);
	line = realloc(text, n + 2);
	if (!line) {
		free(text);
		goto out_obj;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len_out = n + 1;
out_obj:
	cJSON_Delete(obj);
out:
	cJSON_Delete(id);
	cJSON_Delete(result);
	return line;
}

/* ---- argument helpers ------------------------------------------------- */

int ctl_args_string(const cJSON *args, const char *key, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	if (!v)
		return -ENOENT;
	if (!cJSON_IsString(v) || !v->valuestring)
		return -EINVAL;
	*out = v->valuestring;
	return 0;
}

int ctl_args_uint(const cJSON *args, const char *key, uint64_t max, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
	uint64_t val = 0;

	if (!v)
		return -ENOENT;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		/* Above 2^53 a double no longer names one integer. */
		if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d)
			return -EINVAL;
		val = (uint64_t)d;
	} else if (cJSON_IsString(v) && v->valuestring && v->valuestring[0]) {
		for (const char *p = v->valuestring; *p; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			if (val > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
				return -EINVAL;
			val = val * 10 + (uint64_t)(*p - '0');
		}
	} else {
		return -EINVAL;
	}
	if (val > max)
		return -EINVAL;
	*out = val;
	return 0;
}

int ctl_args_bool(const cJSON *args, const char *key, bool *out)
{
	static const struct { const char *word; bool value; } words[] = {
		{ "true", true }, { "yes", true }, { "on", true }, { "1", true },
		{ "false", false }, { "no", false }, { "off", false }, { "0", false },
	};
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	if (!v)
		return -ENOENT;
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v);
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(v->valuestring, words[i].word) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	return -EINVAL;
}
