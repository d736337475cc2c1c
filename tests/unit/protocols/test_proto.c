/* Unit tests for protocols/: the routing table and the built-in
 * responders (http, echo, silent) driven through the real stack. */
#include <string.h>

#include "protocols/proto.h"
#include "tests/unit/stack/tcp_lab.h"
#include "tests/unit/tap.h"

#define A STK_TH_ACK
#define F STK_TH_FIN
#define P STK_TH_PSH

/* The bytes the decky sent on a connection, and whether it sent FIN. */
struct stream {
	uint8_t buf[4096];
	unsigned len;
	bool fin;
};

static void collect(struct tl *l, struct stream *st)
{
	for (unsigned i = 0; i < l->n_tx; i++) {
		struct tl_out o;
		tl_parse(l, i, &o);
		if (o.proto != STK_IPPROTO_TCP)
			continue;
		if (o.len && st->len + o.len <= sizeof(st->buf)) {
			memcpy(st->buf + st->len, o.data, o.len);
			st->len += o.len;
		}
		st->fin |= (o.flags & F) != 0;
	}
}

/* Connect to port, send the chunks in order, then FIN when fin; returns
 * what came back. */
static void converse(const struct stk_service *svc, uint16_t port, const char *const *chunks, bool fin,
		     struct stream *st)
{
	struct tl l;
	tl_init(&l, NULL, NULL);
	stk_unlisten(&l.ctx, l.h->ip_raw, STK_IPPROTO_TCP, 80);
	CHECK_EQ(stk_listen(&l.ctx, l.h->ip_raw, STK_IPPROTO_TCP, port, svc, NULL), 0);
	memset(st, 0, sizeof(*st));
	uint32_t iss;
	uint16_t sport = 33000;
	CHECK(tl_connect(&l, sport, port, 100, &iss));
	uint32_t seq = 101;
	for (unsigned i = 0; chunks && chunks[i]; i++) {
		unsigned n = (unsigned)strlen(chunks[i]);
		struct tl_seg d = {.sport = sport, .dport = port, .flags = A | P, .seq = seq,
				   .ack = iss + 1 + st->len, .win = 502, .data = chunks[i], .len = n};
		tl_send(&l, &d);
		collect(&l, st);
		seq += n;
	}
	if (fin) {
		struct tl_seg f = {.sport = sport, .dport = port, .flags = A | F, .seq = seq,
				   .ack = iss + 1 + st->len, .win = 502};
		tl_send(&l, &f);
		collect(&l, st);
	}
	tl_free(&l);
}

static void test_routes(void)
{
	CHECK(proto_service_for("http", STK_IPPROTO_TCP, 80) == &proto_http_service);
	CHECK(proto_service_for("http", STK_IPPROTO_TCP, 443) == &proto_silent_service);
	CHECK(proto_service_for("echo", STK_IPPROTO_UDP, 7) == &proto_echo_service);
	CHECK(proto_service_for("echo", STK_IPPROTO_TCP, 9999) == &proto_echo_service);
	CHECK(proto_service_for("ssh", STK_IPPROTO_TCP, 22) == &proto_silent_service);
	CHECK(proto_service_for("snmp", STK_IPPROTO_UDP, 161) == &proto_silent_service);
}

static void test_http(void)
{
	struct stream st;
	/* The request head split across segments, CRLF CRLF across the cut. */
	static const char *const get[] = {"GET / HTTP/1.1\r\nHost: x\r", "\n\r", "\n", NULL};
	converse(&proto_http_service, 80, get, false, &st);
	CHECK(st.len > 45 && memcmp(st.buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(st.len > 45 && memcmp(st.buf + st.len - 45, "<html><body><h1>It works!</h1></body></html>\n", 45) == 0);
	CHECK(st.fin); /* Connection: close */
	/* HEAD: the same headers, no body. */
	static const char *const head[] = {"HEAD / HTTP/1.0\r\n\r\n", NULL};
	converse(&proto_http_service, 80, head, false, &st);
	CHECK(st.len && memmem(st.buf, st.len, "Content-Length: 45\r\n", 20) != NULL);
	CHECK(st.len && memcmp(st.buf + st.len - 4, "\r\n\r\n", 4) == 0);
	/* A head that never ends: 431 after 16 KiB. */
	char big[1001];
	memset(big, 'a', 1000);
	big[1000] = 0;
	const char *many[20];
	for (int i = 0; i < 19; i++)
		many[i] = big;
	many[19] = NULL;
	converse(&proto_http_service, 80, many, false, &st);
	CHECK(st.len > 12 && memcmp(st.buf, "HTTP/1.1 431", 12) == 0);
	CHECK(st.fin);
	/* No request at all, then FIN: nothing said, FIN back. */
	converse(&proto_http_service, 80, NULL, true, &st);
	CHECK(st.len == 0 && st.fin);
}

static void test_echo_silent(void)
{
	struct stream st;
	static const char *const msgs[] = {"hello ", "world", NULL};
	converse(&proto_echo_service, 7, msgs, true, &st);
	CHECK(st.len == 11 && memcmp(st.buf, "hello world", 11) == 0);
	CHECK(st.fin);
	converse(&proto_silent_service, 22, msgs, true, &st);
	CHECK_EQ(st.len, 0);
	CHECK(st.fin);
}

int main(void)
{
	test_routes();
	test_http();
	test_echo_silent();
	return tap_done();
}
