/* Loss recovery regressions, table-driven: each row scripts what the
 * service queues, what the peer acknowledges (duplicates included) and
 * how time passes, with the frames expected after each step, then checks
 * the recovery counters. Found with tests/lab/impair (5 % loss, 30 ms):
 *  - a partial ACK reset the duplicate count, and three more duplicates
 *    halved ssthresh again inside one recovery (RFC 6582 3.2 forbids it);
 *  - duplicates of the go-back-N after a timeout started a fast
 *    retransmit (RFC 6582 4.1: recover = SND.MAX at the timeout);
 *  - the duplicate counter was a uint8_t that wrapped, so the 259th
 *    duplicate was "the third" again;
 *  - no limited transmit (RFC 3042): a window of two segments never got
 *    three duplicates, every loss waited for the RTO;
 *  - a deadlock at 15 % loss: after a timeout our ACKs carried the
 *    rewound snd_nxt (below what the peer had received: refused as old),
 *    and the peer's ACKs, sent at our window's right edge, failed our
 *    acceptability test: both sides resent old data until nc gave up
 *    (test_go_back_n_acks, test_ack_at_window_edge);
 *  - at 15 % loss again: our window closed by our own full send queue
 *    (an echo), the peer's ACKs came only in its window probes (old
 *    SEQ), which we did not read: RFC 9293's "special allowance" for
 *    valid ACKs while RCV.WND is zero (test_closed_window_probe_ack). */
#include <string.h>

#include "stack/stk_tcp_policy.h"
#include "tests/unit/stack/tcp_lab.h"
#include "tests/unit/tap.h"

#define PEER_ISN 7000u
#define MSS 1448u /* 1460 - 12 (timestamps) */

enum op { OP_END = 0, OP_QUEUE, OP_ACK, OP_TIME };

struct step {
	uint8_t op;
	uint32_t arg;        /* QUEUE: bytes; ACK: ack - (iss + 1); TIME: ms */
	unsigned repeat;     /* ACK: how many identical ACKs (0 = 1) */
	int frames;          /* frames expected after each one; -1: any */
	int32_t first_seq;   /* first frame's seq - (iss + 1), -1: not checked */
};

struct rcase {
	const char *name;
	uint32_t init_cwnd;  /* 0: the policy's */
	struct step s[12];
	uint64_t fast_rexmits, rtos;
	uint32_t ssthresh;   /* after the script, 0: not checked */
};

static const struct rcase cases[] = {
	{"one loss: three duplicates, one fast retransmit",
	 0,
	 {{OP_QUEUE, 10 * MSS, 0, 10, 0},
	  {OP_ACK, 0, 2, 0, -1},
	  {OP_ACK, 0, 1, 1, 0},
	  {OP_ACK, 10 * MSS, 1, -1, -1}},
	 1, 0, 5 * MSS},
	{"partial ACK, then three duplicates: no second halving",
	 0,
	 {{OP_QUEUE, 10 * MSS, 0, 10, 0},
	  {OP_ACK, 0, 3, -1, -1},                  /* fast retransmit of [0] */
	  {OP_ACK, 4 * MSS, 1, -1, 4 * MSS},      /* partial: [4] resent at once */
	  {OP_ACK, 4 * MSS, 6, -1, -1},           /* more duplicates: inflation only */
	  {OP_ACK, 10 * MSS, 1, -1, -1}},
	 1, 0, 5 * MSS},
	{"duplicates of the go-back-N after a timeout: no fast retransmit",
	 0,
	 {{OP_QUEUE, 5 * MSS, 0, 5, 0},
	  {OP_TIME, 1000, 0, 1, 0},               /* RTO: [0] again, cwnd 1 */
	  {OP_ACK, 0, 4, 0, -1}}, /* old duplicates (the peer had [1..4]) */
	 0, 1, 0},
	{"a window of two: limited transmit brings the third duplicate",
	 2,
	 {{OP_QUEUE, 6 * MSS, 0, 2, 0},
	  {OP_ACK, 0, 1, 1, 2 * MSS},             /* first duplicate: [2] goes out */
	  {OP_ACK, 0, 1, 1, 3 * MSS},             /* second: [3] */
	  {OP_ACK, 0, 1, 2, 0},                   /* third: fast retransmit, and [4] (cwnd 2 + 3) */
	  {OP_ACK, 4 * MSS, 1, -1, -1}},
	 1, 0, 2 * MSS},
	{"300 duplicates in one recovery: still one fast retransmit",
	 0,
	 {{OP_QUEUE, 10 * MSS, 0, 10, 0},
	  {OP_ACK, 0, 300, -1, -1},
	  {OP_ACK, 10 * MSS, 1, -1, -1}},
	 1, 0, 5 * MSS},
};

/* One connection from port 4000 to 80, the Linux family's policy without
 * delayed ACKs; init_cwnd 0: the policy's. */
static void lab_open(struct tl *l, uint32_t *iss, uint32_t sndbuf, bool echo, uint32_t init_cwnd)
{
	/* The lab's host keeps a pointer to its policy: it must outlive this
	 * call (static: one lab at a time). */
	static struct stk_tcp_policy pol;
	pol = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	pol.delack_ms = 0;
	if (init_cwnd)
		pol.init_cwnd_segs = init_cwnd;
	struct stk_tcp_cfg cfg;
	stk_tcp_cfg_default(&cfg);
	cfg.max_flows = 64;
	cfg.secret_seed = 42;
	cfg.sndbuf_per_flow = sndbuf;
	tl_init(l, &pol, &cfg);
	l->rec.echo = echo;
	CHECK(tl_connect(l, 4000, 80, PEER_ISN, iss));
}

static void run(const struct rcase *c)
{
	static struct tl l;
	uint32_t iss;
	lab_open(&l, &iss, 1u << 20, false, c->init_cwnd);
	static uint8_t data[16 * MSS];
	memset(data, 'r', sizeof(data));
	bool ok = true;
	for (unsigned i = 0; i < 12 && c->s[i].op != OP_END; i++) {
		const struct step *s = &c->s[i];
		unsigned reps = s->op == OP_ACK && s->repeat ? s->repeat : 1;
		for (unsigned r = 0; r < reps; r++) {
			unsigned n;
			if (s->op == OP_QUEUE) {
				CHECK_EQ(stk_tcp_send(&l.ctx, l.rec.sock, data, s->arg), s->arg);
				n = tl_advance(&l, 0);
			} else if (s->op == OP_TIME) {
				n = tl_advance(&l, s->arg);
			} else {
				struct tl_seg a = {.sport = 4000, .dport = 80, .flags = STK_TH_ACK, .seq = PEER_ISN + 1,
						   .ack = iss + 1 + s->arg, .win = 502}; /* as tl_connect's */
				n = tl_send(&l, &a);
			}
			if (s->frames >= 0 && n != (unsigned)s->frames) {
				fprintf(stderr, "# %s: step %u: %u frames, expected %d\n", c->name, i, n, s->frames);
				ok = false;
			}
			struct tl_out o;
			if (s->first_seq >= 0 && (!n || !tl_parse(&l, 0, &o) || o.seq != iss + 1 + (uint32_t)s->first_seq)) {
				fprintf(stderr, "# %s: step %u: first frame not at %d\n", c->name, i, s->first_seq);
				ok = false;
			}
		}
	}
	CHECK(ok);
	struct stk_tcp_flow *f = tl_flow(&l, 4000, 80);
	if (l.ctx.cnt.tcp_fast_retransmits != c->fast_rexmits || l.ctx.cnt.tcp_rto_timeouts != c->rtos ||
	    (c->ssthresh && (!f || f->ssthresh != c->ssthresh)))
		fprintf(stderr, "# %s: fast %llu rto %llu ssthresh %u\n", c->name,
			(unsigned long long)l.ctx.cnt.tcp_fast_retransmits,
			(unsigned long long)l.ctx.cnt.tcp_rto_timeouts, f ? f->ssthresh : 0);
	CHECK_EQ(l.ctx.cnt.tcp_fast_retransmits, c->fast_rexmits);
	CHECK_EQ(l.ctx.cnt.tcp_rto_timeouts, c->rtos);
	if (c->ssthresh)
		CHECK(f && f->ssthresh == c->ssthresh);
	tl_free(&l);
}

/* After a timeout rewound snd_nxt, what carries no data says SND.MAX. */
static void test_go_back_n_acks(void)
{
	static struct tl l;
	uint32_t iss;
	static uint8_t data[5 * MSS];
	lab_open(&l, &iss, 1u << 20, false, 0);
	CHECK_EQ(stk_tcp_send(&l.ctx, l.rec.sock, data, sizeof(data)), sizeof(data));
	CHECK_EQ(tl_advance(&l, 0), 5);
	CHECK_EQ(tl_advance(&l, 1000), 1); /* RTO: [0] again, snd_nxt = [1] */
	struct tl_out o;
	CHECK(tl_parse(&l, 0, &o) && o.seq == iss + 1 && o.len == MSS);
	struct tl_seg d = {.sport = 4000, .dport = 80, .flags = STK_TH_ACK | STK_TH_PSH, .seq = PEER_ISN + 1,
			   .ack = iss + 1, .win = 502, .data = "hello", .len = 5};
	CHECK_EQ(tl_send(&l, &d), 1); /* its ACK: cwnd 1 is full, no data */
	CHECK(tl_parse(&l, 0, &o));
	CHECK_EQ(o.len, 0);
	CHECK_EQ(o.ack, PEER_ISN + 6);
	CHECK_EQ(o.seq, iss + 1 + 5 * MSS);
	/* An abort now: the RST at SND.MAX too, where the peer's window is. */
	stk_tcp_abort(&l.ctx, l.rec.sock);
	CHECK_EQ(tl_advance(&l, 0), 1);
	CHECK(tl_parse(&l, 0, &o));
	CHECK(o.flags & STK_TH_RST);
	CHECK_EQ(o.seq, iss + 1 + 5 * MSS);
	tl_free(&l);
}

/* A peer that sent up to our right window edge ACKs from there. */
static void test_ack_at_window_edge(void)
{
	static struct tl l;
	uint32_t iss;
	static uint8_t data[2 * MSS];
	lab_open(&l, &iss, 1u << 20, false, 0);
	CHECK_EQ(stk_tcp_send(&l.ctx, l.rec.sock, data, sizeof(data)), sizeof(data));
	CHECK_EQ(tl_advance(&l, 0), 2);
	struct stk_tcp_flow *f = tl_flow(&l, 4000, 80);
	CHECK(f != NULL);
	uint32_t edge = f->rcv_adv;
	CHECK(edge != PEER_ISN + 1);
	/* A RST there is outside the window: dropped without a word. */
	struct tl_seg r = {.sport = 4000, .dport = 80, .flags = STK_TH_RST, .seq = edge, .win = 502};
	CHECK_EQ(tl_send(&l, &r), 0);
	CHECK(tl_flow(&l, 4000, 80) == f);
	/* Its ACK is read: the send queue empties. */
	struct tl_seg a = {.sport = 4000, .dport = 80, .flags = STK_TH_ACK, .seq = edge,
			   .ack = iss + 1 + 2 * MSS, .win = 502};
	tl_send(&l, &a);
	CHECK_EQ(f->snd_una, iss + 1 + 2 * MSS);
	CHECK_EQ(f->sq_len, 0);
	/* One past the edge is still refused (answered with an ACK). */
	a.seq = edge + 1;
	a.ack = iss + 1 + 2 * MSS;
	uint64_t drops = l.ctx.cnt.drop_tcp_out_of_window;
	CHECK_EQ(tl_send(&l, &a), 1);
	CHECK_EQ(l.ctx.cnt.drop_tcp_out_of_window, drops + 1);
	tl_free(&l);
}

/* Our window closed by our own full send queue (an echo): the ACKs in the
 * peer's window probes are read, or the queue never drains. */
static void test_closed_window_probe_ack(uint32_t short_of_edge)
{
	static struct tl l;
	uint32_t iss;
	static uint8_t b[1000];
	lab_open(&l, &iss, 64u << 10, true, 0);
	struct stk_tcp_flow *f = tl_flow(&l, 4000, 80);
	CHECK(f != NULL);
	struct tl_seg d = {.sport = 4000, .dport = 80, .flags = STK_TH_ACK | STK_TH_PSH, .ack = iss + 1,
			   .win = 502, .data = b, .len = sizeof(b)};
	for (int i = 0; i < 200 && f->rcv_adv - f->rcv_nxt > short_of_edge; i++) {
		d.seq = f->rcv_nxt; /* as a peer does: never past the window */
		uint32_t room = f->rcv_adv - f->rcv_nxt - short_of_edge;
		d.len = room < sizeof(b) ? room : sizeof(b);
		tl_send(&l, &d);
	}
	CHECK_EQ(l.ctx.cnt.drop_tcp_rcv_unread, 0);
	/* Closed: no byte left, or fewer than the scaled field can say. */
	CHECK_EQ(f->rcv_adv - f->rcv_nxt, short_of_edge);
	CHECK(short_of_edge < (1u << f->rcv_ws));
	CHECK(f->sq_len > 60000);
	CHECK(f->snd_max - f->snd_una >= 5 * MSS); /* echoed data in flight */
	/* Linux's probe: SEQ = RCV.NXT - 1, the ACK of five segments. */
	struct tl_seg p = {.sport = 4000, .dport = 80, .flags = STK_TH_ACK, .seq = f->rcv_nxt - 1,
			   .ack = iss + 1 + 5 * MSS, .win = 502};
	unsigned n = tl_send(&l, &p);
	CHECK_EQ(f->snd_una, iss + 1 + 5 * MSS);
	CHECK_EQ(l.ctx.cnt.tcp_closed_window_acks, 1);
	CHECK(n >= 1);
	struct tl_out o;
	CHECK(tl_parse(&l, n - 1, &o));
	CHECK(o.win > 0); /* the room it made is offered at once */
	CHECK_EQ(o.ack, f->rcv_nxt);
	/* The same probe again: nothing new, no duplicate ACK counted. */
	tl_send(&l, &p);
	CHECK_EQ(l.ctx.cnt.tcp_closed_window_acks, 1);
	CHECK_EQ(f->dupacks, 0);
	/* With the window open, an old segment's ACK stays unread (RFC 9293). */
	p.ack = iss + 1 + 6 * MSS;
	tl_send(&l, &p);
	CHECK_EQ(f->snd_una, iss + 1 + 5 * MSS);
	tl_free(&l);
}

int main(void)
{
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(&cases[i]);
	test_go_back_n_acks();
	test_ack_at_window_edge();
	test_closed_window_probe_ack(0);
	test_closed_window_probe_ack(24); /* 24 bytes: a field of 0 at scale 7 */
	return tap_done();
}
