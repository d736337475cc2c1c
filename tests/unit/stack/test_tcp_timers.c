/* Unit tests for delayed ACKs, keepalive and urgent data: one table row per
 * family policy, the behaviour read from its stk_tcp_policy fields (data,
 * not OS branches) and checked against a scripted peer:
 *  - the first delack_quick data segments are acknowledged at once, then an
 *    ACK waits delack_ms (not one ms less) unless delack_segs segments are
 *    owed; out-of-order data, a FIN and data we send ACK at once;
 *  - keepalive (off by default) probes a quiet connection after
 *    keepalive_idle_ms with seq SND.UNA - 1 (and one zero byte when the
 *    persona sends one), every keepalive_intvl_ms, is satisfied by any
 *    answer, and resets after keepalive_probes unanswered probes;
 *  - URG data is delivered inline, counted. */
#include <string.h>

#include "stack/stk_tcp_policy.h"
#include "tests/unit/stack/tcp_lab.h"
#include "tests/unit/tap.h"

#define PEER_ISN 5000u
#define A STK_TH_ACK
#define P STK_TH_PSH
#define F STK_TH_FIN

struct family_row {
	enum fp_family fam;
	const char *name;
	/* what the policy must say (the table is checked against it, so a
	 * change of a family's numbers is a visible decision) */
	uint16_t delack_ms;
	uint8_t delack_segs, delack_quick;
	uint32_t ka_idle_ms, ka_intvl_ms;
	uint8_t ka_probes;
	bool ka_byte;
};

static const struct family_row rows[] = {
	{FP_FAMILY_LINUX, "linux", 40, 2, 16, 7200000, 75000, 9, false},
	{FP_FAMILY_WINDOWS, "windows", 200, 2, 0, 7200000, 1000, 10, true},
	{FP_FAMILY_BSD, "bsd", 100, 2, 0, 7200000, 75000, 8, false},
	{FP_FAMILY_EMBEDDED, "embedded", 250, 2, 0, 7200000, 75000, 9, false},
	{FP_FAMILY_CISCO, "cisco", 200, 2, 0, 7200000, 75000, 8, false},
};

static char payload[1448];

/* One in-order data segment from the peer; returns the frames answered. */
static unsigned data_seg(struct tl *l, uint32_t *peer_seq, uint32_t iss, unsigned len, uint8_t extra)
{
	struct tl_seg d = {.sport = 4000, .dport = 80, .flags = A | P | extra, .seq = *peer_seq, .ack = iss + 1,
			   .win = 502, .data = payload, .len = len};
	unsigned n = tl_send(l, &d);
	*peer_seq += len + ((extra & F) ? 1 : 0);
	return n;
}

static void check_ack(struct tl *l, uint32_t want_ack, const char *what)
{
	struct tl_out o;
	bool ok = l->n_tx == 1 && tl_parse(l, 0, &o) && o.flags == A && o.ack == want_ack && o.len == 0;
	if (!ok)
		fprintf(stderr, "# %s: expected one pure ACK of %u\n", what, want_ack);
	CHECK(ok);
}

static void test_delack(const struct family_row *r)
{
	const struct stk_tcp_policy *p = stk_tcp_policy_family(r->fam);
	CHECK_EQ(p->delack_ms, r->delack_ms);
	CHECK_EQ(p->delack_segs, r->delack_segs);
	CHECK_EQ(p->delack_quick, r->delack_quick);
	CHECK_EQ(stk_tcp_policy_check(p), 0);
	struct tl l;
	uint32_t iss;
	tl_init(&l, p, NULL);
	CHECK(tl_connect(&l, 4000, 80, PEER_ISN, &iss));
	uint32_t seq = PEER_ISN + 1;
	/* Quick ACKs at the start. */
	for (unsigned i = 0; i < r->delack_quick; i++) {
		CHECK_EQ(data_seg(&l, &seq, iss, 100, 0), 1);
		check_ack(&l, seq, "quickack");
	}
	/* Then the ACK waits, to the millisecond. */
	CHECK_EQ(data_seg(&l, &seq, iss, 100, 0), 0);
	CHECK_EQ(tl_advance(&l, r->delack_ms - 1), 0);
	CHECK_EQ(tl_advance(&l, 1), 1);
	check_ack(&l, seq, "delayed ACK");
	CHECK_EQ(l.ctx.cnt.tcp_delayed_acks, 1);
	CHECK_EQ(tl_advance(&l, 1000), 0); /* once */
	/* Every delack_segs-th segment is acknowledged at once. */
	for (unsigned i = 1; i < r->delack_segs; i++)
		CHECK_EQ(data_seg(&l, &seq, iss, 1448, 0), 0);
	CHECK_EQ(data_seg(&l, &seq, iss, 1448, 0), 1);
	check_ack(&l, seq, "second segment");
	CHECK_EQ(tl_advance(&l, 1000), 0); /* nothing owed any more */
	/* Out of order: a duplicate ACK at once (with SACK). */
	uint32_t hole = seq;
	seq += 100;
	CHECK_EQ(data_seg(&l, &seq, iss, 100, 0), 1);
	struct tl_out o;
	CHECK(tl_parse(&l, 0, &o) && o.ack == hole);
	/* The hole filled: at once. */
	CHECK_EQ(data_seg(&l, &hole, iss, 100, 0), 1);
	CHECK(tl_parse(&l, 0, &o) && o.ack == seq);
	/* Owed ACK rides on data the service sends. */
	CHECK_EQ(data_seg(&l, &seq, iss, 100, 0), 0);
	CHECK_EQ(stk_tcp_send(&l.ctx, l.rec.sock, "hello", 5), 5);
	CHECK_EQ(tl_advance(&l, 0), 1);
	CHECK(tl_parse(&l, 0, &o) && o.len == 5 && o.ack == seq);
	struct tl_seg ack = {.sport = 4000, .dport = 80, .flags = A, .seq = seq, .ack = iss + 6, .win = 502};
	CHECK_EQ(tl_send(&l, &ack), 0);
	CHECK_EQ(tl_advance(&l, 1000), 0); /* no separate delayed ACK */
	CHECK_EQ(l.ctx.cnt.tcp_delayed_acks, 1);
	/* A FIN: at once. */
	CHECK_EQ(data_seg(&l, &seq, iss, 100, F), 1);
	CHECK(tl_parse(&l, 0, &o) && o.ack == seq);
	tl_free(&l);
}

static void test_keepalive(const struct family_row *r)
{
	const struct stk_tcp_policy *p = stk_tcp_policy_family(r->fam);
	CHECK_EQ(p->keepalive_idle_ms, r->ka_idle_ms);
	CHECK_EQ(p->keepalive_intvl_ms, r->ka_intvl_ms);
	CHECK_EQ(p->keepalive_probes, r->ka_probes);
	CHECK_EQ(p->keepalive_byte, r->ka_byte);
	/* Keep the engine's idle timeout out of the way. */
	struct stk_tcp_cfg cfg;
	stk_tcp_cfg_default(&cfg);
	cfg.max_flows = 64;
	cfg.secret_seed = 42;
	cfg.idle_timeout_ms = 1u << 30; /* ticks are 32-bit: ~12 days is the most */
	struct tl l;
	uint32_t iss;
	tl_init(&l, p, &cfg);
	CHECK(tl_connect(&l, 4000, 80, PEER_ISN, &iss));
	/* Off by default: hours of silence, no probe. */
	CHECK_EQ(tl_advance(&l, r->ka_idle_ms + 10), 0);
	stk_tcp_keepalive(&l.ctx, l.rec.sock, true);
	CHECK_EQ(tl_advance(&l, r->ka_idle_ms - 1), 0);
	CHECK_EQ(tl_advance(&l, 1), 1);
	struct tl_out o;
	CHECK(tl_parse(&l, 0, &o) && o.flags == A && o.seq == iss && o.len == (r->ka_byte ? 1u : 0u));
	if (r->ka_byte && o.len == 1)
		CHECK_EQ(o.data[0], 0);
	CHECK_EQ(l.ctx.cnt.tcp_keepalive_probes, 1);
	CHECK_EQ(l.ctx.cnt.tcp_retransmits, 0);
	/* The peer answers (an ACK of what it has): quiet again for idle_ms. */
	struct tl_seg ack = {.sport = 4000, .dport = 80, .flags = A, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 502};
	CHECK_EQ(tl_send(&l, &ack), 0);
	CHECK_EQ(tl_advance(&l, r->ka_intvl_ms), 0);
	CHECK_EQ(tl_advance(&l, r->ka_idle_ms - r->ka_intvl_ms), 1);
	CHECK_EQ(l.ctx.cnt.tcp_keepalive_probes, 2);
	/* Then silence: probes every intvl_ms, a reset after the last. */
	for (unsigned i = 1; i < r->ka_probes; i++)
		CHECK_EQ(tl_advance(&l, r->ka_intvl_ms), 1);
	CHECK_EQ(l.ctx.cnt.tcp_keepalive_probes, 1 + r->ka_probes);
	CHECK_EQ(tl_advance(&l, r->ka_intvl_ms), 1);
	CHECK(tl_parse(&l, 0, &o) && (o.flags & STK_TH_RST));
	CHECK_EQ(l.ctx.cnt.tcp_keepalive_timeouts, 1);
	CHECK_EQ(l.rec.closed, 1);
	CHECK_EQ(l.rec.why, STK_CLOSE_TIMEOUT);
	CHECK(tl_flow(&l, 4000, 80) == NULL);
	/* Turned off again: nothing. */
	CHECK(tl_connect(&l, 4001, 80, PEER_ISN, &iss));
	stk_tcp_keepalive(&l.ctx, l.rec.sock, true);
	stk_tcp_keepalive(&l.ctx, l.rec.sock, false);
	CHECK_EQ(tl_advance(&l, r->ka_idle_ms + 10), 0);
	tl_free(&l);
}

static void test_urgent(void)
{
	struct tl l;
	uint32_t iss;
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 4000, 80, PEER_ISN, &iss));
	/* "ab" then URG "cd" (pointer past the 'd'): all four bytes, in order. */
	struct tl_seg d = {.sport = 4000, .dport = 80, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1,
			   .win = 502, .data = "ab", .len = 2};
	tl_send(&l, &d);
	d.flags = A | P | STK_TH_URG;
	d.seq += 2;
	d.data = "cd";
	tl_send(&l, &d); /* tl_frame_tcp leaves the pointer 0: any value is taken inline */
	CHECK_EQ(l.rec.n_data, 4);
	CHECK(memcmp(l.rec.data, "abcd", 4) == 0);
	CHECK_EQ(l.ctx.cnt.tcp_urgent_rx, 1);
	tl_free(&l);
}

int main(void)
{
	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (char)('a' + i % 26);
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_delack(&rows[i]);
		test_keepalive(&rows[i]);
	}
	test_urgent();
	/* A policy without delayed ACKs acknowledges every segment. */
	struct stk_tcp_policy p = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	p.delack_ms = 0;
	struct tl l;
	uint32_t iss, seq = PEER_ISN + 1;
	tl_init(&l, &p, NULL);
	CHECK(tl_connect(&l, 4000, 80, PEER_ISN, &iss));
	for (unsigned i = 0; i < 40; i++)
		CHECK_EQ(data_seg(&l, &seq, iss, 100, 0), 1);
	tl_free(&l);
	p.delack_segs = 0;
	CHECK_EQ(stk_tcp_policy_check(&p), 0);
	p.delack_ms = 40;
	CHECK(stk_tcp_policy_check(&p) < 0);
	return tap_done();
}
