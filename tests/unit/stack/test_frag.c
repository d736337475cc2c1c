/* Unit tests for stack/stk_frag.c: IPv4 reassembly, table-driven (in
 * order, reverse, duplicates, each overlap policy, missing piece and
 * timeout, bad fragments, oversize), memcap and slot eviction, and the
 * whole path: a 3000-byte ping in three fragments gets a reply in
 * fragments that reassemble to the right echo reply. Prints what
 * reassembly costs next to a plain copy of the same bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/stk.h"
#include "stack/stk_frag.h"
#include "stack/stk_proto.h"
#include "stack/stk_tcp.h"
#include "stack/stk_tcp_policy.h"
#include "stack/stk_wire.h"
#include "tests/unit/tap.h"

static const uint8_t SCANNER_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t DECKY_MAC[6] = {0x00, 0x25, 0x90, 0x12, 0x34, 0x56};
#define DECKY_IP "10.77.0.10"
#define SCANNER_IP "10.77.0.2"

static uint32_t ip_raw(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

struct lab {
	struct stk_hosts hosts;
	struct stk_pool pool;
	struct stk_ctx ctx;
	struct stk_host *h;
	uint8_t frame[2048];
	struct stk_pkt pkt;
	struct stk_pkt *tx[64];
	unsigned n_tx;
};

static void lab_init(struct lab *l, uint8_t policy, const struct stk_frag_cfg *cfg)
{
	memset(l, 0, sizeof(*l));
	CHECK_EQ(stk_hosts_init(&l->hosts, 16), 0);
	CHECK_EQ(stk_pool_init(&l->pool, 64), 0);
	struct stk_host_policy pol = {.ttl = 64, .frag_overlap = policy};
	int idx = stk_hosts_add(&l->hosts, ip_raw(DECKY_IP), DECKY_MAC, &pol, NULL);
	CHECK(idx >= 0);
	l->h = &l->hosts.hosts[idx];
	l->ctx.hosts = &l->hosts;
	l->ctx.tx_pool = &l->pool;
	l->ctx.now_ns = 1000000000ull;
	CHECK_EQ(stk_frag_init(&l->ctx, cfg), 0);
	l->pkt.data = l->frame;
	l->pkt.cap = sizeof(l->frame);
}

static void lab_drain(struct lab *l)
{
	for (unsigned i = 0; i < l->n_tx; i++)
		stk_pool_put(&l->pool, l->tx[i]);
	l->n_tx = 0;
}

static void lab_free(struct lab *l)
{
	lab_drain(l);
	CHECK_EQ(l->pool.n_free, l->pool.size);
	stk_frag_destroy(&l->ctx);
	stk_pool_destroy(&l->pool);
	stk_hosts_destroy(&l->hosts);
}

/* Byte i of a reference datagram's payload. */
static uint8_t pattern(unsigned i)
{
	return (uint8_t)(i * 7 + 3);
}

/* An IPv4 fragment (header + payload) in buf: proto 17, given ID. */
static unsigned make_frag(uint8_t *ip, uint16_t id, unsigned off, unsigned len, bool mf, uint8_t fill)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	stk_put_be16(ip + 2, (uint16_t)(20 + len));
	stk_put_be16(ip + 4, id);
	stk_put_be16(ip + 6, (uint16_t)((mf ? STK_IP4_MF : 0) | (off / 8)));
	ip[8] = 64;
	ip[9] = 17;
	uint32_t s = ip_raw(SCANNER_IP), d = ip_raw(DECKY_IP);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	for (unsigned i = 0; i < len; i++)
		ip[20 + i] = fill ? fill : pattern(off + i);
	return 20 + len;
}

/* ---- the table ----------------------------------------------------------- */

struct piece {
	uint16_t off, len;
	bool mf;
	uint8_t fill;            /* 0: the reference pattern, else this byte */
};

enum outcome { HELD = 0, DONE, DROPPED };

struct frag_case {
	const char *name;
	struct piece p[8];
	unsigned n;
	uint8_t policy;
	enum outcome last;       /* after the last piece */
	unsigned total;          /* DONE: payload length */
	uint64_t then_ms;        /* then let this much time pass */
	/* counters afterwards */
	uint64_t dup, overlap, resolved, timeout, too_big, bad;
};

#define P(...) .p = {__VA_ARGS__}, .n = sizeof((struct piece[]){__VA_ARGS__}) / sizeof(struct piece)
static const struct frag_case cases[] = {
	{"in order", P({0, 16, 1, 0}, {16, 16, 1, 0}, {32, 5, 0, 0}), .last = DONE, .total = 37},
	{"reverse order", P({32, 5, 0, 0}, {16, 16, 1, 0}, {0, 16, 1, 0}), .last = DONE, .total = 37},
	{"middle first", P({16, 16, 1, 0}, {32, 8, 0, 0}, {0, 16, 1, 0}), .last = DONE, .total = 40},
	{"exact duplicate ignored", P({0, 16, 1, 0}, {0, 16, 1, 0}, {16, 8, 0, 0}), .last = DONE, .total = 24,
	 .dup = 1},
	{"duplicate inside a larger piece", P({0, 32, 1, 0}, {8, 8, 1, 0}, {32, 1, 0, 0}), .last = DONE,
	 .total = 33, .dup = 1},
	{"overlap, policy drop", P({0, 16, 1, 0}, {8, 16, 1, 0xaa}), .overlap = 1},
	{"overlap same bytes partly new, policy drop", P({0, 16, 1, 0}, {8, 16, 1, 0}), .overlap = 1},
	{"overlap, first wins", P({0, 16, 1, 0}, {8, 16, 1, 0xaa}, {24, 8, 0, 0}), .policy = STK_FRAG_OVERLAP_FIRST,
	 .last = DONE, .total = 32, .resolved = 1},
	{"overlap, last wins", P({0, 16, 1, 0}, {8, 16, 1, 0xaa}, {24, 8, 0, 0}), .policy = STK_FRAG_OVERLAP_LAST,
	 .last = DONE, .total = 32, .resolved = 1},
	{"missing piece, then timeout", P({0, 16, 1, 0}, {32, 8, 0, 0}), .then_ms = 30000, .timeout = 1},
	{"missing first piece, then timeout", P({16, 16, 1, 0}, {32, 8, 0, 0}), .then_ms = 30000, .timeout = 1},
	{"not yet timed out", P({0, 16, 1, 0}), .then_ms = 29999},
	{"past 65535 (ping of death)", P({0, 16, 1, 0}, {65528, 16, 0, 0}), .too_big = 1},
	{"non-last piece not a multiple of 8", P({0, 12, 1, 0}), .bad = 1},
	{"empty piece", P({0, 0, 1, 0}), .bad = 1},
	{"a second, different end", P({16, 8, 0, 0}, {16, 16, 0, 0}), .bad = 1},
	{"piece past the end", P({16, 8, 0, 0}, {24, 8, 1, 0}), .bad = 1},
	{"end before data already held", P({16, 16, 1, 0}, {0, 8, 0, 0}), .bad = 1},
};
#undef P

/* What the payload must be: pieces applied in order under the policy. */
static void model(const struct frag_case *c, uint8_t *out)
{
	uint8_t seen[128] = {0};
	for (unsigned k = 0; k < c->n; k++)
		for (unsigned i = c->p[k].off; i < (unsigned)c->p[k].off + c->p[k].len && i < sizeof(seen); i++) {
			if (seen[i] && c->policy == STK_FRAG_OVERLAP_FIRST)
				continue;
			out[i] = c->p[k].fill ? c->p[k].fill : pattern(i);
			seen[i] = 1;
		}
}

static void run_case(const struct frag_case *c)
{
	struct lab l;
	lab_init(&l, c->policy, NULL);
	uint8_t ip[2048];
	const uint8_t *got = NULL;
	unsigned got_len = 0, done_at = c->n;
	for (unsigned k = 0; k < c->n && !got; k++) {
		unsigned len = make_frag(ip, 0x4242, c->p[k].off, c->p[k].len, c->p[k].mf, c->p[k].fill);
		got = stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &got_len);
		if (got)
			done_at = k + 1;
	}
	if (c->last == DONE) {
		if (!got)
			fprintf(stderr, "# case '%s': not reassembled\n", c->name);
		CHECK(got != NULL);
		CHECK_EQ(got_len, 20 + c->total);
		uint8_t want[128];
		model(c, want);
		if (got) {
			CHECK_EQ(stk_csum(got, 20), 0);
			CHECK_EQ(stk_be16(got + 2), 20 + c->total);
			CHECK_EQ(stk_be16(got + 6), 0);
			if (memcmp(got + 20, want, c->total) != 0)
				fprintf(stderr, "# case '%s': payload differs from the model\n", c->name);
			CHECK(memcmp(got + 20, want, c->total) == 0);
		}
		CHECK_EQ(l.ctx.cnt.frag_reassembled, 1);
		CHECK_EQ(stk_frag_pending(&l.ctx), 0);
		CHECK_EQ(stk_frag_bytes_held(&l.ctx), 0);
		CHECK(done_at <= c->n);
	} else {
		if (got)
			fprintf(stderr, "# case '%s': reassembled unexpectedly\n", c->name);
		CHECK(got == NULL);
		CHECK_EQ(l.ctx.cnt.frag_reassembled, 0);
	}
	if (c->then_ms) {
		/* Through the stack's timer entry point, as the engine drives it
		 * (no TCP context needed). */
		unsigned n = 0;
		stk_timers_advance(&l.ctx, l.ctx.now_ns + c->then_ms * 1000000ull, l.tx, 64, &n);
		CHECK_EQ(n, 0);
		if (c->timeout)
			CHECK_EQ(stk_frag_pending(&l.ctx), 0);
	}
	const struct stk_counters *k = &l.ctx.cnt;
	bool ok = k->frag_duplicate == c->dup && k->drop_frag_overlap == c->overlap &&
		  k->frag_overlap_resolved == c->resolved && k->drop_frag_timeout == c->timeout &&
		  k->drop_frag_too_big == c->too_big && k->drop_frag_bad == c->bad;
	if (!ok)
		fprintf(stderr,
			"# case '%s': dup %llu overlap %llu resolved %llu timeout %llu too_big %llu bad %llu\n",
			c->name, (unsigned long long)k->frag_duplicate, (unsigned long long)k->drop_frag_overlap,
			(unsigned long long)k->frag_overlap_resolved, (unsigned long long)k->drop_frag_timeout,
			(unsigned long long)k->drop_frag_too_big, (unsigned long long)k->drop_frag_bad);
	CHECK(ok);
	/* Whatever happened, nothing is held that a finished or dropped
	 * datagram should have released. */
	if (c->last == DROPPED || c->overlap || c->too_big)
		CHECK_EQ(stk_frag_pending(&l.ctx), 0);
	lab_free(&l);
}

static void test_table(void)
{
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* ---- limits ---------------------------------------------------------------- */

static void test_memcap(void)
{
	struct stk_frag_cfg cfg;
	stk_frag_cfg_default(&cfg);
	cfg.memcap_bytes = 4096;
	cfg.max_datagrams = 8;
	struct lab l;
	lab_init(&l, 0, &cfg);
	uint8_t ip[2048];
	unsigned out;
	/* Two half-datagrams of 1600 bytes, then a third: the oldest goes. */
	for (uint16_t id = 1; id <= 3; id++) {
		unsigned len = make_frag(ip, id, 0, 1600, true, 0);
		CHECK(stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out) == NULL);
	}
	CHECK_EQ(l.ctx.cnt.drop_frag_memcap, 1);
	CHECK_EQ(stk_frag_pending(&l.ctx), 2);
	CHECK_EQ(stk_frag_bytes_held(&l.ctx), 3200);
	/* Datagram 1's end now starts a new, incomplete datagram. */
	unsigned len = make_frag(ip, 1, 1600, 8, false, 0);
	CHECK(stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out) == NULL);
	/* Datagram 3 still completes. */
	len = make_frag(ip, 3, 1600, 8, false, 0);
	const uint8_t *d = stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out);
	CHECK(d != NULL);
	CHECK_EQ(out, 20 + 1608);
	/* One datagram larger than the whole cap is refused, nothing else lost. */
	for (unsigned off = 0; off < 4800; off += 1600) {
		len = make_frag(ip, 9, off, 1600, true, 0);
		stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out);
	}
	CHECK(stk_frag_bytes_held(&l.ctx) <= cfg.memcap_bytes);
	CHECK(l.ctx.cnt.drop_frag_memcap >= 3);
	lab_free(&l);

	/* Slots: the oldest datagram makes room for a new one. */
	cfg.memcap_bytes = 1 << 20;
	cfg.max_datagrams = 2;
	lab_init(&l, 0, &cfg);
	for (uint16_t id = 1; id <= 3; id++) {
		len = make_frag(ip, id, 0, 8, true, 0);
		CHECK(stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out) == NULL);
	}
	CHECK_EQ(l.ctx.cnt.drop_frag_slots, 1);
	CHECK_EQ(stk_frag_pending(&l.ctx), 2);
	len = make_frag(ip, 1, 8, 8, false, 0); /* 1 was evicted: held anew */
	CHECK(stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out) == NULL);
	len = make_frag(ip, 3, 8, 8, false, 0);
	CHECK(stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out) != NULL);
	/* Different keys never mix: same ID, other protocol. */
	len = make_frag(ip, 7, 0, 8, true, 0);
	stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out);
	len = make_frag(ip, 7, 8, 8, false, 0);
	ip[9] = 6;
	stk_put_be16(ip + 10, 0);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	CHECK(stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out) == NULL);
	lab_free(&l);

	/* A first fragment with 40 bytes of options makes a datagram whose
	 * later fragments (20-byte headers) each fit, too big as a whole. */
	cfg.max_datagrams = 4;
	lab_init(&l, 0, &cfg);
	len = make_frag(ip, 77, 65488, 8, false, 0); /* 20 + 65496: fits alone */
	CHECK(stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out) == NULL);
	for (unsigned off = 1472; off < 65488; off += 1472) {
		unsigned n = 65488 - off < 1472 ? 65488 - off : 1472;
		len = make_frag(ip, 77, off, n, true, 0);
		CHECK(stk_frag_input(&l.ctx, l.h, NULL, ip, 20, len, &out) == NULL);
	}
	len = make_frag(ip, 77, 0, 1472, true, 0); /* now with options: hlen 60 */
	memmove(ip + 60, ip + 20, 1472);
	memset(ip + 20, 1, 40); /* NOPs */
	ip[0] = 0x4f;
	stk_put_be16(ip + 2, 60 + 1472);
	CHECK(stk_frag_input(&l.ctx, l.h, NULL, ip, 60, 60 + 1472, &out) == NULL);
	CHECK_EQ(l.ctx.cnt.drop_frag_too_big, 1);
	CHECK_EQ(l.ctx.cnt.frag_reassembled, 0);
	CHECK_EQ(stk_frag_pending(&l.ctx), 0);
	lab_free(&l);

	CHECK_EQ(stk_frag_init(&(struct stk_ctx){0}, &(struct stk_frag_cfg){0}), -EINVAL);
}

/* ---- the whole path: a big ping ------------------------------------------- */

static unsigned echo_fragment(uint8_t *f, const uint8_t *icmp, unsigned icmp_len, unsigned off, unsigned len,
			      bool mf)
{
	memcpy(f, DECKY_MAC, 6);
	memcpy(f + 6, SCANNER_MAC, 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_IPV4);
	uint8_t *ip = f + 14;
	make_frag(ip, 0x777, off, len, mf, 0);
	ip[9] = STK_IPPROTO_ICMP;
	stk_put_be16(ip + 10, 0);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	memcpy(ip + 20, icmp + off, len);
	(void)icmp_len;
	return 14 + 20 + len;
}

static void test_big_ping(void)
{
	struct lab l;
	lab_init(&l, 0, NULL);
	enum { PAYLOAD = 3000 - 28 };
	uint8_t icmp[8 + PAYLOAD];
	icmp[0] = 8;
	icmp[1] = 0;
	icmp[2] = icmp[3] = 0;
	stk_put_be16(icmp + 4, 0xbeef);
	stk_put_be16(icmp + 6, 1);
	for (unsigned i = 0; i < PAYLOAD; i++)
		icmp[8 + i] = pattern(i);
	stk_put_be16(icmp + 2, stk_csum(icmp, sizeof(icmp)));
	/* As Linux sends it: 1480 + 1480 + 20 bytes of ICMP. */
	const unsigned offs[] = {0, 1480, 2960}, lens[] = {1480, 1480, sizeof(icmp) - 2960};
	struct stk_pkt *rx = &l.pkt;
	for (unsigned k = 0; k < 3; k++) {
		l.pkt.len = echo_fragment(l.frame, icmp, sizeof(icmp), offs[k], lens[k], k < 2);
		stk_input_burst(&l.ctx, &rx, 1, l.tx, 64, &l.n_tx);
		CHECK_EQ(l.n_tx, k < 2 ? 0 : 3);
	}
	CHECK_EQ(l.ctx.cnt.frag_reassembled, 1);
	CHECK_EQ(l.ctx.cnt.icmp_echo_replies, 1);
	CHECK_EQ(l.ctx.cnt.frag_tx, 3);
	CHECK_EQ(l.ctx.cnt.drop_icmp_too_big, 0);
	/* The reply's fragments: valid headers, one ID, no DF, each within the
	 * MTU; reassembled by a second context they are the echo reply. */
	struct lab r;
	lab_init(&r, 0, NULL);
	const uint8_t *d = NULL;
	unsigned dlen = 0;
	for (unsigned k = 0; k < l.n_tx; k++) {
		const uint8_t *ip = l.tx[k]->data + 14;
		CHECK(l.tx[k]->len <= 14 + 1500);
		CHECK(memcmp(l.tx[k]->data, SCANNER_MAC, 6) == 0);
		CHECK_EQ(stk_csum(ip, 20), 0);
		CHECK_EQ(stk_be16(ip + 4), stk_be16(l.tx[0]->data + 14 + 4));
		CHECK_EQ(stk_be16(ip + 6) & STK_IP4_DF, 0);
		CHECK_EQ(ip[8], 64);
		CHECK_EQ(!!(stk_be16(ip + 6) & STK_IP4_MF), k + 1 < l.n_tx);
		d = stk_frag_input(&r.ctx, r.h, NULL, ip, 20, stk_be16(ip + 2), &dlen);
	}
	CHECK(d != NULL);
	if (d) {
		CHECK_EQ(dlen, 20 + sizeof(icmp));
		CHECK_EQ(d[20], 0); /* echo reply */
		CHECK_EQ(stk_csum(d + 20, dlen - 20), 0);
		CHECK(memcmp(d + 24, icmp + 4, sizeof(icmp) - 4) == 0);
		uint32_t src;
		memcpy(&src, d + 12, 4);
		CHECK_EQ(src, ip_raw(DECKY_IP));
	}
	lab_free(&r);
	lab_drain(&l);
	/* A corrupted reassembled request: counted, no answer. */
	icmp[100] ^= 1;
	for (unsigned k = 0; k < 3; k++) {
		l.pkt.len = echo_fragment(l.frame, icmp, sizeof(icmp), offs[k], lens[k], k < 2);
		stk_input_burst(&l.ctx, &rx, 1, l.tx, 64, &l.n_tx);
	}
	CHECK_EQ(l.n_tx, 0);
	CHECK_EQ(l.ctx.cnt.drop_icmp_csum, 1);
	/* Not enough transmit room for every fragment: none is sent. */
	icmp[100] ^= 1;
	for (unsigned k = 0; k < 3; k++) {
		l.pkt.len = echo_fragment(l.frame, icmp, sizeof(icmp), offs[k], lens[k], k < 2);
		stk_input_burst(&l.ctx, &rx, 1, l.tx, 2, &l.n_tx);
	}
	CHECK_EQ(l.n_tx, 0);
	CHECK_EQ(l.ctx.cnt.drop_tx_full, 1);
	lab_free(&l);

	/* Without a reassembly context fragments are dropped as before. */
	lab_init(&l, 0, NULL);
	stk_frag_destroy(&l.ctx);
	l.pkt.len = echo_fragment(l.frame, icmp, sizeof(icmp), 0, 1480, true);
	stk_input_burst(&l.ctx, &rx, 1, l.tx, 64, &l.n_tx);
	CHECK_EQ(l.ctx.cnt.drop_ip_fragment, 1);
	CHECK_EQ(l.ctx.cnt.frag_rx, 0);
	lab_free(&l);
}

/* ---- time exceeded --------------------------------------------------------- */

/* A datagram whose first fragment came and that times out gets an ICMP
 * time exceeded (reassembly) when the persona sends one, quoting the
 * first fragment; none without the first fragment, none from a persona
 * that stays silent (bsd), and no more than its ICMP rate allows. */
static void test_time_exceeded(void)
{
	static const struct {
		const char *name;
		enum fp_family fam;
		bool first;      /* the offset-0 fragment came */
		unsigned datagrams;
		unsigned sent, limited;
	} rows[] = {
		{"linux, first fragment came", FP_FAMILY_LINUX, true, 1, 1, 0},
		{"linux, only a later fragment", FP_FAMILY_LINUX, false, 1, 0, 0},
		{"bsd stays silent", FP_FAMILY_BSD, true, 1, 0, 0},
		{"windows", FP_FAMILY_WINDOWS, true, 1, 1, 0},
		{"linux, 8 at once: its ICMP burst of 6", FP_FAMILY_LINUX, true, 8, 6, 2},
	};
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct lab l;
		lab_init(&l, 0, NULL);
		l.h->policy.tcp = stk_tcp_policy_family(rows[i].fam);
		l.h->policy.ttl = 77;
		uint8_t icmp[64];
		memset(icmp, 0x5a, sizeof(icmp));
		struct stk_pkt *rx = &l.pkt;
		for (unsigned d = 0; d < rows[i].datagrams; d++) {
			l.pkt.len = echo_fragment(l.frame, icmp, sizeof(icmp), rows[i].first ? 0 : 16, 16, true);
			stk_put_be16(l.frame + 14 + 4, (uint16_t)(0x900 + d));
			stk_put_be16(l.frame + 14 + 10, 0);
			stk_put_be16(l.frame + 14 + 10, stk_csum(l.frame + 14, 20));
			stk_input_burst(&l.ctx, &rx, 1, l.tx, 64, &l.n_tx);
		}
		CHECK_EQ(l.n_tx, 0);
		stk_timers_advance(&l.ctx, l.ctx.now_ns + 29999ull * 1000000u, l.tx, 64, &l.n_tx);
		CHECK_EQ(l.n_tx, 0);
		stk_timers_advance(&l.ctx, l.ctx.now_ns + 1000000u, l.tx, 64, &l.n_tx);
		bool ok = l.n_tx == rows[i].sent && l.ctx.cnt.frag_time_exceeded == rows[i].sent &&
			  l.ctx.cnt.drop_frag_icmp_ratelimit == rows[i].limited &&
			  l.ctx.cnt.drop_frag_timeout == rows[i].datagrams;
		if (!ok)
			fprintf(stderr, "# %s: %u sent, %llu limited\n", rows[i].name, l.n_tx,
				(unsigned long long)l.ctx.cnt.drop_frag_icmp_ratelimit);
		CHECK(ok);
		if (l.n_tx) {
			const uint8_t *o = l.tx[0]->data, *ip = o + 14, *ic = ip + 20;
			unsigned tot = stk_be16(ip + 2);
			CHECK(memcmp(o, SCANNER_MAC, 6) == 0);
			CHECK_EQ(l.tx[0]->len, 14 + tot);
			CHECK_EQ(stk_csum(ip, 20), 0);
			CHECK_EQ(ip[9], STK_IPPROTO_ICMP);
			CHECK_EQ(ip[8], 77);
			uint32_t src, dst;
			memcpy(&src, ip + 12, 4);
			memcpy(&dst, ip + 16, 4);
			CHECK_EQ(src, ip_raw(DECKY_IP));
			CHECK_EQ(dst, ip_raw(SCANNER_IP));
			CHECK_EQ(ic[0], 11);
			CHECK_EQ(ic[1], 1);
			CHECK_EQ(stk_csum(ic, tot - 20), 0);
			/* The first fragment's header (its ID) and data are quoted. */
			CHECK_EQ(stk_be16(ic + 8 + 4), 0x900);
			CHECK(tot - 20 - 8 >= 28 && tot - 20 - 8 <= 20 + 16);
			CHECK(memcmp(ic + 8 + 20, icmp, 8) == 0);
		}
		lab_free(&l);
	}
}

/* ---- cost ------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reassembling 3-fragment (3000 B) and 45-fragment (64 KiB) datagrams,
 * against copying the same payload bytes once (the floor any reassembly
 * pays). Informational: no pass/fail on timing. */
static void test_cost(void)
{
	struct lab l;
	lab_init(&l, 0, NULL);
	static uint8_t frags[45][1500];
	static uint8_t sink[65536];
	const unsigned sizes[] = {3000 - 20, 65000};
	for (unsigned s = 0; s < 2; s++) {
		unsigned total = sizes[s], n = (total + 1479) / 1480, lens[45];
		for (unsigned k = 0; k < n; k++) {
			unsigned len = total - k * 1480 < 1480 ? total - k * 1480 : 1480;
			lens[k] = make_frag(frags[k], 1, k * 1480, len, k + 1 < n, 0);
		}
		unsigned iters = s ? 2000 : 40000, ok = 0, out;
		double t0 = now_s();
		for (unsigned it = 0; it < iters; it++)
			for (unsigned k = 0; k < n; k++) {
				stk_put_be16(frags[k] + 4, (uint16_t)it); /* IP ID: the checksum is not checked here */
				ok += stk_frag_input(&l.ctx, l.h, NULL, frags[k], 20, lens[k], &out) != NULL;
			}
		double t1 = now_s();
		for (unsigned it = 0; it < iters; it++) {
			for (unsigned k = 0; k < n; k++)
				memcpy(sink + k * 1480, frags[k] + 20, lens[k] - 20);
			__asm__ volatile("" : : "r"(sink) : "memory");
		}
		double t2 = now_s();
		CHECK_EQ(ok, iters);
		double per = (t1 - t0) / ((double)iters * n) * 1e9, base = (t2 - t1) / ((double)iters * n) * 1e9;
		printf("# reassembly of %u-byte datagrams (%u fragments): %.0f ns per fragment, %.1fx a plain copy "
		       "(%.0f ns)\n",
		       total + 20, n, per, base > 0 ? per / base : 0.0, base);
	}
	lab_free(&l);
}

int main(void)
{
	test_table();
	test_memcap();
	test_big_ping();
	test_time_exceeded();
	test_cost();
	return tap_done();
}
