/* INI tokenizer: turns DECNET's config format into a stream of section
 * headers and key/value pairs, each with its line number. It allocates
 * nothing and never reads past the buffer's end; every token is a slice of
 * the caller's buffer.
 *
 * Accepted: "[section]", "key = value", full-line comments starting with
 * '#' or ';', inline comments (" # ..." or " ; ..." after a value or a
 * section header, as the spec's examples use), blank lines, CRLF endings,
 * a UTF-8 BOM, no newline at the end. Refused with an error naming the
 * line: NUL and other control bytes, lines over FLEET_INI_LINE_MAX, a key
 * line without '=', malformed headers. A '#' without whitespace before it
 * belongs to the value ("pass#1"), so only " #" starts an inline comment.
 */
#include "fleet/fleet_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

void fleet_ini_init(struct fleet_ini_cursor *c, const char *buf, size_t len)
{
	c->pos = buf;
	c->end = buf + len;
	c->line = 1;
	/* A BOM from a Windows editor is not part of the first section name. */
	if (len >= 3 && (unsigned char)buf[0] == 0xef && (unsigned char)buf[1] == 0xbb &&
	    (unsigned char)buf[2] == 0xbf)
		c->pos += 3;
}

/* Cut [*s, *e) down to its non-blank middle. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && is_ws(**s))
		(*s)++;
	while (*e > *s && is_ws((*e)[-1]))
		(*e)--;
}

/* End of the meaningful part of [s, e): the first '#' or ';' that follows
 * whitespace starts a comment. */
static const char *comment_start(const char *s, const char *e)
{
	for (const char *p = s + 1; p < e; p++)
		if ((*p == '#' || *p == ';') && is_ws(p[-1]))
			return p;
	return e;
}

static int fail(char *msg, size_t msglen, const char *what)
{
	snprintf(msg, msglen, "%s", what);
	return -EINVAL;
}

static int parse_section(const char *s, const char *e, struct fleet_ini_token *tok, char *msg,
			 size_t msglen)
{
	const char *close = memchr(s, ']', (size_t)(e - s));
	if (!close)
		return fail(msg, msglen, "section header without ']'");
	const char *ns = s + 1, *ne = close;
	trim(&ns, &ne);
	if (ns == ne)
		return fail(msg, msglen, "empty section name");
	for (const char *p = ns; p < ne; p++)
		if (!is_name_char(*p))
			return fail(msg, msglen,
				    "bad section name (allowed: letters, digits, '_', '-', '.')");
	/* Only a comment may follow the header. */
	const char *rest = close + 1, *rest_end = e;
	trim(&rest, &rest_end);
	if (rest != rest_end && *rest != '#' && *rest != ';')
		return fail(msg, msglen, "text after section header");
	tok->kind = FLEET_INI_SECTION;
	tok->name = ns;
	tok->name_len = (size_t)(ne - ns);
	tok->value = NULL;
	tok->value_len = 0;
	return 0;
}

static int parse_key(const char *s, const char *e, struct fleet_ini_token *tok, char *msg,
		     size_t msglen)
{
	const char *eq = memchr(s, '=', (size_t)(e - s));
	if (!eq)
		return fail(msg, msglen, "expected 'key = value' or '[section]'");
	const char *ks = s, *ke = eq;
	trim(&ks, &ke);
	if (ks == ke)
		return fail(msg, msglen, "empty key");
	for (const char *p = ks; p < ke; p++)
		if (!is_name_char(*p))
			return fail(msg, msglen,
				    "bad key (allowed: letters, digits, '_', '-', '.')");
	/* "key = # note" is an empty value: the blank after '=' counts. */
	const char *vs = eq + 1;
	const char *ve = vs < e ? comment_start(vs, e) : e;
	trim(&vs, &ve);
	tok->kind = FLEET_INI_KEY;
	tok->name = ks;
	tok->name_len = (size_t)(ke - ks);
	tok->value = vs;
	tok->value_len = (size_t)(ve - vs);
	return 0;
}

/* Bytes that have no business in a config and would end up in logs, JSON
 * and container environments: NUL and C0 controls but tab, and DEL.
 * Returns the first one, or -1. */
static int line_control_char(const char *s, const char *e)
{
	for (const char *p = s; p < e; p++) {
		unsigned char ch = (unsigned char)*p;
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return ch;
	}
	return -1;
}

int fleet_ini_next(struct fleet_ini_cursor *c, struct fleet_ini_token *tok, char *msg,
		   size_t msglen)
{
	for (;;) {
		if (c->pos >= c->end) {
			tok->kind = FLEET_INI_EOF;
			tok->line = c->line;
			return 0;
		}
		size_t avail = (size_t)(c->end - c->pos);
		/* Look one byte past the limit so a line of exactly the limit
		 * still finds its newline. */
		size_t scan = avail < FLEET_INI_LINE_MAX + 1 ? avail : FLEET_INI_LINE_MAX + 1;
		const char *nl = memchr(c->pos, '\n', scan);
		const char *s = c->pos, *e;
		tok->line = c->line;
		if (nl) {
			e = nl;
			c->pos = nl + 1;
		} else if (avail <= FLEET_INI_LINE_MAX) {
			e = c->end; /* last line without a newline */
			c->pos = c->end;
		} else {
			snprintf(msg, msglen, "line longer than %d bytes", FLEET_INI_LINE_MAX);
			return -EINVAL;
		}
		c->line++;
		if (e > s && e[-1] == '\r')
			e--;
		int ctl = line_control_char(s, e);
		if (ctl >= 0) {
			snprintf(msg, msglen, ctl ? "control character 0x%02x in line"
						  : "NUL byte in line", (unsigned)ctl);
			return -EINVAL;
		}
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[')
			return parse_section(s, e, tok, msg, msglen);
		return parse_key(s, e, tok, msg, msglen);
	}
}
