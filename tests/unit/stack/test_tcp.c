/* Unit tests for the TCP state machine (RFC 9293, RFC 5961 challenge ACKs,
 * RFC 7323 PAWS), retransmission and zero-window probes, SYN cookies, the
 * flow memcap, the timer wheel and the listen table. Persona-shaped
 * answers are in test_tcp_persona.c. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/stack/tcp_lab.h"
#include "tests/unit/tap.h"

#define PEER_ISN 1000u
#define NOCHK INT32_MIN
#define GONE STK_TCP_FREE
#define ANY 0xff

enum op { END = 0, PEER, APP_CLOSE, APP_ABORT, APP_SEND, WAIT };

struct step {
	uint8_t op;
	uint8_t flags;  /* PEER: flags of the segment */
	int32_t dseq;   /* PEER: seq = PEER_ISN + 1 + dseq */
	int32_t dack;   /* PEER: ack = iss + 1 + dack */
	uint32_t len;   /* PEER: payload; APP_SEND: bytes; WAIT: ms */
	int n_tx;       /* answers expected (-1: any) */
	uint8_t tx_flags; /* flags of the first answer (0: any) */
	int32_t tx_ack; /* its ack = PEER_ISN + 1 + tx_ack (NOCHK: any) */
	uint8_t state;  /* flow state afterwards (ANY: any) */
};

#define A STK_TH_ACK
#define F STK_TH_FIN
#define S STK_TH_SYN
#define R STK_TH_RST
#define P STK_TH_PSH

struct scenario {
	const char *name;
	struct step steps[10];
};

static const struct scenario scenarios[] = {
	{"passive close: FIN, CLOSE-WAIT, app close, LAST-ACK, gone",
	 {{PEER, F | A, 0, 0, 0, 1, A, 1, STK_TCP_CLOSE_WAIT},
	  {APP_CLOSE, 0, 0, 0, 0, 1, F | A, 1, STK_TCP_LAST_ACK},
	  {PEER, A, 1, 1, 0, 0, 0, NOCHK, GONE}}},
	{"active close: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, 2 MSL, gone",
	 {{APP_CLOSE, 0, 0, 0, 0, 1, F | A, 0, STK_TCP_FIN_WAIT_1},
	  {PEER, A, 0, 1, 0, 0, 0, NOCHK, STK_TCP_FIN_WAIT_2},
	  {PEER, F | A, 0, 1, 0, 1, A, 1, STK_TCP_TIME_WAIT},
	  {WAIT, 0, 0, 0, 59000, 0, 0, NOCHK, STK_TCP_TIME_WAIT},
	  {WAIT, 0, 0, 0, 2000, 0, 0, NOCHK, GONE}}},
	{"simultaneous close: FIN-WAIT-1, FIN crosses, CLOSING, TIME-WAIT",
	 {{APP_CLOSE, 0, 0, 0, 0, 1, F | A, 0, STK_TCP_FIN_WAIT_1},
	  {PEER, F | A, 0, 0, 0, 1, A, 1, STK_TCP_CLOSING},
	  {PEER, A, 1, 1, 0, 0, 0, NOCHK, STK_TCP_TIME_WAIT}}},
	{"FIN+ACK of our FIN in FIN-WAIT-1: straight to TIME-WAIT",
	 {{APP_CLOSE, 0, 0, 0, 0, 1, F | A, 0, STK_TCP_FIN_WAIT_1},
	  {PEER, F | A, 0, 1, 0, 1, A, 1, STK_TCP_TIME_WAIT}}},
	{"TIME-WAIT: a retransmitted FIN is ACKed again",
	 {{APP_CLOSE, 0, 0, 0, 0, 1, F | A, 0, STK_TCP_FIN_WAIT_1},
	  {PEER, F | A, 0, 1, 0, 1, A, 1, STK_TCP_TIME_WAIT},
	  {PEER, F | A, 0, 1, 0, 1, A, 1, STK_TCP_TIME_WAIT}}},
	{"TIME-WAIT: a new SYN above rcv_nxt opens a new connection",
	 {{APP_CLOSE, 0, 0, 0, 0, 1, F | A, 0, STK_TCP_FIN_WAIT_1},
	  {PEER, F | A, 0, 1, 0, 1, A, 1, STK_TCP_TIME_WAIT},
	  {PEER, S, 100000, 0, 0, 1, S | A, 100001, STK_TCP_SYN_RCVD}}},
	{"RST at rcv_nxt resets",
	 {{PEER, R, 0, 0, 0, 0, 0, NOCHK, GONE}}},
	{"RST in the window but not at rcv_nxt: challenge ACK (RFC 5961 3.2)",
	 {{PEER, R, 100, 0, 0, 1, A, 0, STK_TCP_ESTABLISHED}}},
	{"RST outside the window: dropped silently",
	 {{PEER, R, 10000000, 0, 0, 0, 0, NOCHK, STK_TCP_ESTABLISHED}}},
	{"SYN on an established connection: challenge ACK (RFC 5961 4), one per 500 ms",
	 {{PEER, S, 0, 0, 0, 1, A, 0, STK_TCP_ESTABLISHED},
	  {PEER, S, -5000, 0, 0, 0, 0, NOCHK, STK_TCP_ESTABLISHED},
	  {WAIT, 0, 0, 0, 499, 0, 0, NOCHK, STK_TCP_ESTABLISHED},
	  {PEER, S, -5000, 0, 0, 0, 0, NOCHK, STK_TCP_ESTABLISHED},
	  {WAIT, 0, 0, 0, 1, 0, 0, NOCHK, STK_TCP_ESTABLISHED},
	  {PEER, S, -5000, 0, 0, 1, A, 0, STK_TCP_ESTABLISHED}}},
	{"invalid segments: the 500 ms limit is per connection, data is always ACKed",
	 {{PEER, A, 10000000, 0, 0, 1, A, 0, STK_TCP_ESTABLISHED},
	  {PEER, A, 10000000, 0, 0, 0, 0, NOCHK, STK_TCP_ESTABLISHED},
	  {PEER, R, 100, 0, 0, 0, 0, NOCHK, STK_TCP_ESTABLISHED},
	  {PEER, A | P, 10000000, 0, 10, 1, A, 0, STK_TCP_ESTABLISHED},
	  {PEER, A | P, 0, 0, 10, 1, A, 10, STK_TCP_ESTABLISHED}}},
	{"ACK for data never sent: challenge ACK (RFC 5961 5.2)",
	 {{PEER, A, 0, 5000, 0, 1, A, 0, STK_TCP_ESTABLISHED}}},
	{"data in order is ACKed, then data with FIN",
	 {{PEER, A | P, 0, 0, 100, 1, A, 100, STK_TCP_ESTABLISHED},
	  {PEER, A | P | F, 100, 0, 10, 1, A, 111, STK_TCP_CLOSE_WAIT}}},
	{"data after the peer's FIN: ignored, ACKed",
	 {{PEER, F | A, 0, 0, 0, 1, A, 1, STK_TCP_CLOSE_WAIT},
	  {PEER, A | P, 1, 0, 10, 1, A, 1, STK_TCP_CLOSE_WAIT}}},
	{"out-of-order data: queued, duplicate ACK",
	 {{PEER, A | P, 100, 0, 10, 1, A, 0, STK_TCP_ESTABLISHED}}},
	{"data outside the window: ACK only",
	 {{PEER, A | P, 10000000, 0, 10, 1, A, 0, STK_TCP_ESTABLISHED}}},
	{"partly old data: the new part is taken",
	 {{PEER, A | P, 0, 0, 10, 1, A, 10, ANY},
	  {PEER, A | P, 5, 0, 10, 1, A, 15, STK_TCP_ESTABLISHED}}},
	{"segment without ACK: dropped",
	 {{PEER, P, 0, 0, 5, 0, 0, NOCHK, STK_TCP_ESTABLISHED}}},
	{"app abort: RST, gone",
	 {{APP_ABORT, 0, 0, 0, 0, 1, R | A, NOCHK, GONE}}},
	{"app data goes out with PSH",
	 {{APP_SEND, 0, 0, 0, 100, 1, A | P, 0, STK_TCP_ESTABLISHED},
	  {PEER, A, 0, 100, 0, 0, 0, NOCHK, STK_TCP_ESTABLISHED}}},
};

static void run_scenario(const struct scenario *sc, unsigned k)
{
	struct tl l;
	tl_init(&l, NULL, NULL);
	uint16_t sport = (uint16_t)(40000 + k);
	uint32_t iss;
	if (!tl_connect(&l, sport, 80, PEER_ISN, &iss)) {
		tl_free(&l);
		return;
	}
	for (unsigned i = 0; i < 10 && sc->steps[i].op != END; i++) {
		const struct step *st = &sc->steps[i];
		unsigned n = 0;
		switch (st->op) {
		case PEER: {
			uint8_t payload[256];
			memset(payload, 'a' + (int)i, sizeof(payload));
			struct tl_seg s = {.sport = sport, .flags = st->flags,
					   .seq = PEER_ISN + 1 + (uint32_t)st->dseq,
					   .ack = (st->flags & A) ? iss + 1 + (uint32_t)st->dack : 0,
					   .win = 502, .data = payload, .len = st->len};
			n = tl_send(&l, &s);
			break;
		}
		case APP_CLOSE:
			stk_tcp_close(&l.ctx, l.rec.sock);
			n = tl_advance(&l, 0);
			break;
		case APP_ABORT:
			stk_tcp_abort(&l.ctx, l.rec.sock);
			n = tl_advance(&l, 0);
			break;
		case APP_SEND: {
			uint8_t b[4096];
			memset(b, 'z', sizeof(b));
			stk_tcp_send(&l.ctx, l.rec.sock, b, st->len);
			n = tl_advance(&l, 0);
			break;
		}
		case WAIT:
			n = tl_advance(&l, st->len);
			break;
		}
		struct tl_out o = {0};
		bool ok = st->n_tx < 0 || (int)n == st->n_tx;
		if (ok && n && st->n_tx > 0) {
			tl_parse(&l, 0, &o);
			ok = (!st->tx_flags || o.flags == st->tx_flags) &&
			     (st->tx_ack == NOCHK || o.ack == PEER_ISN + 1 + (uint32_t)st->tx_ack);
		}
		uint8_t state = tl_state(&l, sport, 80);
		ok = ok && (st->state == ANY || state == st->state);
		if (!ok)
			fprintf(stderr, "  '%s' step %u: %u answers (flags %#x ack %+d), state %u; want %d (%#x, %+d), state %u\n",
				sc->name, i, n, o.flags, (int)(o.ack - PEER_ISN - 1), state, st->n_tx,
				st->tx_flags, st->tx_ack, st->state);
		CHECK(ok);
	}
	tl_free(&l);
}

static void test_state_machine(void)
{
	for (unsigned k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++)
		run_scenario(&scenarios[k], k);
}

/* Callbacks and close reasons around a whole connection. */
static void test_service_lifecycle(void)
{
	struct tl l;
	uint32_t iss;
	tl_init(&l, NULL, NULL);
	l.rec.close_on_peer_close = true;
	CHECK(tl_connect(&l, 1234, 80, PEER_ISN, &iss));
	CHECK_EQ(l.rec.accepts, 1);
	struct tl_seg d = {.sport = 1234, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 502,
			   .data = "GET / HTTP/1.0\r\n\r\n", .len = 18};
	CHECK_EQ(tl_send(&l, &d), 1);
	CHECK_EQ(l.rec.n_data, 18);
	CHECK(memcmp(l.rec.data, "GET / HTTP/1.0\r\n\r\n", 18) == 0);
	/* What flow.list shows: a second connection is the most recent. */
	uint32_t iss2;
	CHECK(tl_connect(&l, 1235, 80, PEER_ISN, &iss2));
	struct stk_tcp_flow_info fi[4];
	CHECK_EQ(stk_tcp_flows(&l.ctx, fi, 4), 2);
	CHECK_EQ(fi[0].rport, 1235);
	CHECK_EQ(fi[1].rport, 1234);
	CHECK_EQ(fi[1].lport, 80);
	CHECK(strcmp(fi[1].state, "ESTABLISHED") == 0);
	CHECK(fi[1].service && strcmp(fi[1].service, tl_service.name) == 0);
	CHECK_EQ(fi[1].in_flight, 0);
	CHECK_EQ(fi[1].rto_in_ms, -1);
	CHECK(fi[1].rcv_wnd > 0);
	CHECK_EQ(stk_tcp_flows(&l.ctx, fi, 1), 1); /* the limit holds */
	CHECK_EQ(fi[0].rport, 1235);
	/* FIN: peer_closed, the service closes at once: ACK and FIN leave in
	 * one segment. */
	struct tl_seg fin = {.sport = 1234, .flags = F | A, .seq = PEER_ISN + 19, .ack = iss + 1, .win = 502};
	CHECK_EQ(tl_send(&l, &fin), 1);
	struct tl_out o;
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.flags, F | A);
	CHECK_EQ(o.ack, PEER_ISN + 20);
	CHECK_EQ(l.rec.peer_closed, 1);
	CHECK_EQ(stk_tcp_flows(&l.ctx, fi, 4), 2);
	CHECK_EQ(fi[0].rport, 1234); /* now the most recently active */
	CHECK(strcmp(fi[0].state, "LAST-ACK") == 0);
	CHECK(fi[0].peer_fin && fi[0].fin_sent);
	CHECK_EQ(fi[0].in_flight, 1); /* the FIN */
	CHECK(fi[0].rto_in_ms > 0);
	struct tl_seg last = {.sport = 1234, .flags = A, .seq = PEER_ISN + 20, .ack = iss + 2, .win = 502};
	CHECK_EQ(tl_send(&l, &last), 0);
	CHECK_EQ(l.rec.closed, 1);
	CHECK_EQ(l.rec.why, STK_CLOSE_NORMAL);
	CHECK(tl_flow(&l, 1234, 80) == NULL);
	CHECK_EQ(stk_tcp_flows(&l.ctx, fi, 4), 1);
	CHECK_EQ(fi[0].rport, 1235);
	tl_free(&l);

	/* accept() refusing: RST, and closed() follows. */
	tl_init(&l, NULL, NULL);
	l.rec.accept_rc = -1;
	struct tl_seg syn = {.sport = 999, .flags = S, .seq = 5, .win = 1000};
	tl_send(&l, &syn);
	tl_parse(&l, 0, &o);
	struct tl_seg ack = {.sport = 999, .flags = A, .seq = 6, .ack = o.seq + 1, .win = 1000};
	CHECK_EQ(tl_send(&l, &ack), 1);
	tl_parse(&l, 0, &o);
	CHECK(o.flags & R);
	CHECK_EQ(l.rec.closed, 1);
	CHECK_EQ(l.rec.why, STK_CLOSE_ABORT);
	CHECK(tl_flow(&l, 999, 80) == NULL);
	tl_free(&l);
}

static void test_syn_rcvd(void)
{
	struct tl l;
	struct tl_out o, o2;
	tl_init(&l, NULL, NULL);
	struct tl_seg syn = {.sport = 2000, .flags = S, .seq = 77, .win = 1000};
	CHECK_EQ(tl_send(&l, &syn), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(tl_half_open(&l), 1);
	CHECK(tl_syn_ent(&l, 2000, 80) != NULL); /* half-open in the SYN cache, no flow */
	CHECK(tl_flow(&l, 2000, 80) == NULL);
	/* The same SYN again: the same SYN-ACK. */
	CHECK_EQ(tl_send(&l, &syn), 1);
	tl_parse(&l, 0, &o2);
	CHECK_EQ(o2.seq, o.seq);
	CHECK_EQ(o2.flags, S | A);
	/* An ACK for something else: RST <SEQ=SEG.ACK>, still half-open. */
	struct tl_seg bad = {.sport = 2000, .flags = A, .seq = 78, .ack = o.seq + 50, .win = 1000};
	CHECK_EQ(tl_send(&l, &bad), 1);
	tl_parse(&l, 0, &o2);
	CHECK_EQ(o2.flags, R);
	CHECK_EQ(o2.seq, o.seq + 50);
	CHECK(tl_flow(&l, 2000, 80) && tl_flow(&l, 2000, 80)->state == STK_TCP_SYN_RCVD);
	/* No ACK at all: SYN-ACK retransmitted at 1, 3, 7, 15, 31 s (linux: 5
	 * retries, RTO 1 s doubling), then the half-open flow is gone. */
	unsigned retrans = 0;
	uint64_t t;
	for (t = 1; t <= 70000 && tl_flow(&l, 2000, 80); t += 10)
		retrans += tl_at(&l, t);
	CHECK_EQ(retrans, 5);
	CHECK(t > 63000); /* 1+2+4+8+16+32 s */
	CHECK(tl_flow(&l, 2000, 80) == NULL);
	CHECK_EQ(tl_half_open(&l), 0);
	CHECK_EQ(l.rec.accepts, 0);
	tl_free(&l);
}

/* Out-of-order segments wait for the hole; our duplicate ACKs carry SACK
 * blocks for them, the latest range first. */
static void test_reassembly(void)
{
	struct tl l;
	uint32_t iss;
	struct tl_out o;
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 3100, 80, PEER_ISN, &iss));
	char b[4000];
	for (int i = 0; i < 4000; i++)
		b[i] = (char)('A' + i % 26);
	struct tl_seg d = {.sport = 3100, .flags = A | P, .ack = iss + 1, .win = 502, .len = 1000};
	/* Segments 2 and 4 (of 0..3, 1000 bytes each) arrive first. */
	d.seq = PEER_ISN + 1 + 1000;
	d.data = b + 1000;
	CHECK_EQ(tl_send(&l, &d), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.ack, PEER_ISN + 1);
	/* NOP NOP TS, NOP NOP SACK 10 [1000,2000) */
	CHECK(o.optlen == 24 && o.opts[14] == 5 && o.opts[15] == 10);
	CHECK_EQ(stk_be32(o.opts + 16), PEER_ISN + 1 + 1000);
	CHECK_EQ(stk_be32(o.opts + 20), PEER_ISN + 1 + 2000);
	d.seq = PEER_ISN + 1 + 3000;
	d.data = b + 3000;
	d.flags = A | P | F;
	CHECK_EQ(tl_send(&l, &d), 1);
	tl_parse(&l, 0, &o);
	CHECK(o.optlen == 32 && o.opts[15] == 18); /* two blocks, the newest first */
	CHECK_EQ(stk_be32(o.opts + 16), PEER_ISN + 1 + 3000);
	CHECK_EQ(stk_be32(o.opts + 24), PEER_ISN + 1 + 1000);
	CHECK_EQ(l.rec.n_data, 0);
	CHECK_EQ(l.ctx.cnt.tcp_ooo_queued, 2);
	/* The first fills the first hole: 0..1999 delivered. */
	d.seq = PEER_ISN + 1;
	d.data = b;
	d.flags = A | P;
	CHECK_EQ(tl_send(&l, &d), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.ack, PEER_ISN + 1 + 2000);
	CHECK_EQ(l.rec.n_data, 2000);
	/* The last hole: everything, and the queued FIN. */
	d.seq = PEER_ISN + 1 + 2000;
	d.data = b + 2000;
	CHECK_EQ(tl_send(&l, &d), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.ack, PEER_ISN + 1 + 4001);
	CHECK(o.optlen == 12); /* the timestamp only: the queue is empty */
	CHECK_EQ(l.rec.n_data, 4000);
	CHECK(memcmp(l.rec.data, b, 4000) == 0);
	CHECK_EQ(l.rec.peer_closed, 1);
	CHECK(tl_flow(&l, 3100, 80) && tl_flow(&l, 3100, 80)->state == STK_TCP_CLOSE_WAIT);
	CHECK_EQ(l.ctx.tcp->chunks_used, 0);
	tl_free(&l);
}

static void test_paws(void)
{
	struct tl l;
	uint32_t iss;
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 3000, 80, PEER_ISN, &iss)); /* SYN TSval 1000 */
	uint8_t ts[12] = {1, 1, 8, 10, 0, 0, 0x07, 0xd0, 0, 0, 0, 0};  /* TSval 2000 */
	struct tl_seg d = {.sport = 3000, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 502,
			   .opts = ts, .optlen = 12, .data = "x", .len = 1};
	CHECK_EQ(tl_send(&l, &d), 1);
	CHECK_EQ(l.rec.n_data, 1);
	/* An old timestamp (1500 < 2000) is a wrapped or replayed segment. */
	ts[6] = 0x05;
	ts[7] = 0xdc;
	d.seq = PEER_ISN + 2;
	CHECK_EQ(tl_send(&l, &d), 1);
	CHECK_EQ(l.rec.n_data, 1);
	CHECK_EQ(l.ctx.cnt.drop_tcp_paws, 1);
	/* Our answers carry timestamps: TSecr is the peer's latest. */
	struct tl_out o;
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.optlen, 12);
	CHECK_EQ(stk_be32(o.opts + 8), 2000);
	tl_free(&l);
}

static uint32_t synack_tsecr(const struct tl_out *o);

/* Segments RFC 5961 answers with a challenge ACK and drops (an in-window
 * SYN, a RST off RCV.NXT, an ACK of data never sent) leave TS.Recent
 * alone: the challenge echoes the last genuine TSval, and the next genuine
 * segment passes PAWS (a forged TSval taken in would fail every one). */
static void test_ts_recent_challenged(void)
{
	static const struct {
		uint8_t flags;
		uint32_t seq_off, ack_off; /* from RCV.NXT, from SND.NXT */
		unsigned len;
	} cases[] = {
		{S, 0, 0, 0},      /* SYN at RCV.NXT */
		{R | A, 0, 0, 4},  /* RST with data, starting before RCV.NXT */
		{A, 0, 100, 0},    /* ACK past SND.NXT */
	};
	for (unsigned c = 0; c < 3; c++) {
		struct tl l;
		uint32_t iss;
		uint16_t sp = (uint16_t)(3300 + c);
		tl_init(&l, NULL, NULL);
		CHECK(tl_connect(&l, sp, 80, PEER_ISN, &iss)); /* SYN TSval 1000 */
		uint8_t ts[12] = {1, 1, 8, 10, 0, 0, 0x07, 0xd0, 0, 0, 0, 0}; /* TSval 2000 */
		struct tl_seg d = {.sport = sp, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 502,
				   .opts = ts, .optlen = 12, .data = "abcd", .len = 4};
		CHECK_EQ(tl_send(&l, &d), 1);
		CHECK_EQ(l.rec.n_data, 4);
		uint32_t rcv_nxt = PEER_ISN + 5;
		/* the forged segment: TSval 0x70000000 */
		uint8_t bad_ts[12] = {1, 1, 8, 10, 0x70, 0, 0, 0, 0, 0, 0, 0};
		struct tl_seg b = {.sport = sp, .flags = cases[c].flags, .seq = rcv_nxt + cases[c].seq_off,
				   .ack = iss + 1 + cases[c].ack_off, .win = 502, .opts = bad_ts, .optlen = 12,
				   .data = "wxyz", .len = cases[c].len};
		if (cases[c].flags & R)
			b.seq = rcv_nxt - 2; /* in the window's reach, not RCV.NXT: a challenge */
		CHECK_EQ(tl_send(&l, &b), 1);
		struct tl_out o;
		if (tl_parse(&l, 0, &o)) {
			CHECK_EQ(o.flags, A);
			CHECK_EQ(synack_tsecr(&o), 2000);
		}
		CHECK_EQ(l.ctx.cnt.tcp_challenge_acks, 1);
		/* the next genuine segment (TSval 2001) is taken */
		ts[7] = 0xd1;
		d.seq = rcv_nxt;
		d.data = "efgh";
		CHECK_EQ(tl_send(&l, &d), 1);
		CHECK_EQ(l.rec.n_data, 8);
		CHECK_EQ(l.ctx.cnt.drop_tcp_paws, 0);
		tl_free(&l);
	}
}

/* Challenge ACKs are limited per connection (500 ms), not by one counter
 * shared by all (CVE-2016-5696: a shared limit exhausted by spoofed RSTs on
 * one connection tells an off-path attacker they hit another's window). The
 * RFC 5961 host-wide limit stays available as a setting. */
static void test_challenge_per_connection(void)
{
	for (unsigned global = 0; global < 2; global++) {
		struct stk_tcp_cfg c;
		stk_tcp_cfg_default(&c);
		c.secret_seed = 7;
		c.max_flows = 64;
		if (global)
			c.challenge_ack_per_s = 2;
		struct tl l;
		uint32_t iss_a, iss_b, iss_c;
		tl_init(&l, NULL, &c);
		CHECK(tl_connect(&l, 3400, 80, PEER_ISN, &iss_a));
		CHECK(tl_connect(&l, 3401, 80, PEER_ISN, &iss_b));
		CHECK(tl_connect(&l, 3402, 80, PEER_ISN, &iss_c));
		struct tl_seg rst = {.sport = 3400, .flags = R, .seq = PEER_ISN + 1 + 100};
		unsigned answers = 0;
		for (unsigned i = 0; i < 1000; i++)
			answers += tl_send(&l, &rst);
		CHECK_EQ(answers, 1);
		CHECK_EQ(l.ctx.cnt.drop_tcp_oow_ratelimit, 999);
		rst.sport = 3401;
		CHECK_EQ(tl_send(&l, &rst), 1); /* B's own first: answered */
		rst.sport = 3402;
		/* C: answered without a host-wide limit; with one of 2 per second
		 * (A's and B's spent it), suppressed */
		CHECK_EQ(tl_send(&l, &rst), global ? 0u : 1u);
		CHECK_EQ(l.ctx.cnt.drop_tcp_challenge_ratelimit, global);
		tl_free(&l);
	}
}

/* A SYN in TIME-WAIT. Linux (RFC 6191 with timestamps): it reopens when
 * its TSval is newer (whatever its sequence number) or, PAWS passing, its
 * sequence number is above RCV.NXT; PAWS refusing it, or neither, it is an
 * old duplicate: ACKed, TIME-WAIT stays; the new ISN is the old SND.NXT +
 * 65537 (a tell if it were the generator's). BSD: by sequence number
 * alone, the generator's ISN. */
static void test_time_wait_reuse(void)
{
	static const struct {
		int32_t dseq;      /* from the old RCV.NXT */
		int tsval;         /* -1: no timestamp option */
		bool reopens[2];   /* linux, bsd */
	} cases[] = {
		{-1000, 9000, {true, false}},  /* below RCV.NXT, newer TSval */
		{100000, 100, {false, true}},  /* above RCV.NXT, PAWS refuses */
		{100000, 9000, {true, true}},  /* above, newer */
		{100000, -1, {true, true}},    /* above, no timestamps */
		{-1000, -1, {false, false}},   /* below, no timestamps: old duplicate */
		{-1000, 5000, {false, false}}, /* below, the same TSval: not newer */
	};
	for (unsigned fam = 0; fam < 2; fam++) {
		const struct stk_tcp_policy *pol = stk_tcp_policy_family(fam ? FP_FAMILY_BSD : FP_FAMILY_LINUX);
		for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			struct tl l;
			uint32_t iss;
			uint16_t sp = (uint16_t)(3500 + c);
			tl_init(&l, pol, NULL);
			CHECK(tl_connect(&l, sp, 80, PEER_ISN, &iss));
			stk_tcp_close(&l.ctx, l.rec.sock);
			tl_advance(&l, 0); /* our FIN: SND.NXT = iss + 2 */
			uint8_t ts[12] = {1, 1, 8, 10, 0, 0, 0x13, 0x88, 0, 0, 0, 0}; /* TSval 5000 */
			struct tl_seg fin = {.sport = sp, .flags = F | A, .seq = PEER_ISN + 1, .ack = iss + 2, .win = 502,
					     .opts = ts, .optlen = 12};
			tl_send(&l, &fin);
			CHECK_EQ(tl_state(&l, sp, 80), STK_TCP_TIME_WAIT);
			uint32_t rcv_nxt = PEER_ISN + 2;
			struct tl_seg syn = {.sport = sp, .flags = S, .seq = rcv_nxt + (uint32_t)cases[c].dseq, .win = 64240};
			if (cases[c].tsval >= 0) {
				stk_put_be32(ts + 4, (uint32_t)cases[c].tsval);
				syn.opts = ts;
				syn.optlen = 12;
			}
			unsigned before = tap_fail;
			unsigned n = tl_send(&l, &syn);
			struct tl_out o = {0};
			bool got = n == 1 && tl_parse(&l, 0, &o);
			if (cases[c].reopens[fam]) {
				CHECK(got && o.flags == (S | A));
				CHECK_EQ(tl_state(&l, sp, 80), STK_TCP_SYN_RCVD);
				if (!fam)
					CHECK_EQ(o.seq, iss + 2 + 65537);
				else
					CHECK(o.seq != iss + 2 + 65537);
			} else {
				CHECK(got && o.flags == A);
				CHECK_EQ(tl_state(&l, sp, 80), STK_TCP_TIME_WAIT);
			}
			if (tap_fail != before)
				fprintf(stderr, "  TIME-WAIT case %u (%s)\n", c, pol->name);
			tl_free(&l);
		}
	}
}

/* The peer ACKs part of the data and shrinks its window to zero over the
 * rest (RFC 9293 3.8.6: a sender MUST be robust against it and probe,
 * SHOULD NOT time out): every RTO the first unacknowledged segment goes
 * anyway, as Linux's retransmission timer sends it, and the connection
 * outlives data_retries; when the window opens the data flows. */
static void test_shrunk_zero_window(void)
{
	struct tl l;
	uint32_t iss;
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 64;
	c.secret_seed = 42;
	c.idle_timeout_ms = 3600000;
	tl_init(&l, NULL, &c);
	CHECK(tl_connect(&l, 4100, 80, PEER_ISN, &iss));
	static uint8_t b[3000];
	memset(b, 'x', sizeof(b));
	CHECK_EQ(stk_tcp_send(&l.ctx, l.rec.sock, b, 3000), 3000);
	CHECK_EQ(tl_advance(&l, 0), 3);
	struct tl_seg zw = {.sport = 4100, .flags = A, .seq = PEER_ISN + 1, .ack = iss + 1 + 1448, .win = 0};
	CHECK_EQ(tl_send(&l, &zw), 0);
	/* 40 minutes of RTOs (past 15 retries), each answered with the
	 * same zero window */
	unsigned probes = 0, bad = 0;
	for (int i = 0; i < 2400 && tl_flow(&l, 4100, 80); i++) {
		unsigned n = tl_advance(&l, 1000);
		for (unsigned k = 0; k < n; k++) {
			struct tl_out o;
			if (tl_parse(&l, k, &o) && o.seq == iss + 1 + 1448 && o.len == 1448)
				probes++;
			else
				bad++;
		}
		if (n)
			tl_send(&l, &zw);
	}
	CHECK(probes >= 16);
	CHECK_EQ(bad, 0);
	CHECK(tl_flow(&l, 4100, 80) != NULL);
	/* the window opens: the data flows again (one segment: the
	 * timeouts left cwnd at one), then the rest once it is ACKed */
	zw.win = 502;
	struct tl_out o;
	CHECK(tl_send(&l, &zw) >= 1 && tl_parse(&l, 0, &o) && o.seq == iss + 1 + 1448 && o.len == 1448);
	zw.ack = iss + 1 + 2896;
	CHECK(tl_send(&l, &zw) >= 1 && tl_parse(&l, 0, &o) && o.seq == iss + 1 + 2896 && o.len == 104);
	tl_free(&l);
}

static void test_retransmission(void)
{
	struct tl l;
	uint32_t iss;
	struct tl_out o;
	struct stk_tcp_policy pol = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	pol.data_retries = 3;
	tl_init(&l, &pol, NULL);
	CHECK(tl_connect(&l, 4000, 80, PEER_ISN, &iss));
	uint8_t b[3000];
	memset(b, 'q', sizeof(b));
	CHECK_EQ(stk_tcp_send(&l.ctx, l.rec.sock, b, 3000), 3000);
	CHECK_EQ(tl_advance(&l, 0), 3); /* 1448 + 1448 + 104 (MSS 1460 - 12 for TS) */
	tl_parse(&l, 2, &o);
	CHECK_EQ(o.len, 104);
	/* No RTT sample yet: RTO 1 s (RFC 6298 2.1), then 2 s, 4 s (backoff). */
	CHECK_EQ(tl_advance(&l, 999), 0);
	CHECK_EQ(tl_advance(&l, 1), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.len, 1448);
	CHECK_EQ(tl_advance(&l, 1999), 0);
	CHECK_EQ(tl_advance(&l, 1), 1);
	CHECK_EQ(l.ctx.cnt.tcp_rto_timeouts, 2);
	/* The peer acknowledges the first segment: cwnd grows again and the
	 * rest goes out. */
	struct tl_seg ack = {.sport = 4000, .flags = A, .seq = PEER_ISN + 1, .ack = iss + 1 + 1448, .win = 502};
	CHECK(tl_send(&l, &ack) >= 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.seq, iss + 1 + 1448);
	/* Then silence: three more timeouts end it (data_retries 3). */
	for (int i = 0; i < 200 && tl_flow(&l, 4000, 80); i++)
		tl_advance(&l, 1000);
	CHECK(tl_flow(&l, 4000, 80) == NULL);
	CHECK_EQ(l.rec.why, STK_CLOSE_TIMEOUT);
	CHECK_EQ(l.ctx.cnt.tcp_conn_timeout, 1);
	tl_free(&l);

	/* RTT sample: an immediate ACK brings the RTO to the 200 ms floor. */
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 4001, 80, PEER_ISN, &iss));
	stk_tcp_send(&l.ctx, l.rec.sock, b, 100);
	CHECK_EQ(tl_advance(&l, 0), 1);
	tl_advance(&l, 3);
	ack.sport = 4001;
	ack.ack = iss + 101;
	tl_send(&l, &ack);
	struct stk_tcp_flow *f = tl_flow(&l, 4001, 80);
	CHECK(f && f->rto_ms == 200);
	CHECK(f && f->srtt_us == 3000);
	/* Fast retransmit: five segments, the first lost, three dup ACKs. */
	stk_tcp_send(&l.ctx, l.rec.sock, b, 3000);
	stk_tcp_send(&l.ctx, l.rec.sock, b, 3000);
	CHECK_EQ(tl_advance(&l, 0), 5);
	ack.ack = iss + 101;
	ack.win = 503; /* a window change is not a duplicate ... */
	CHECK_EQ(tl_send(&l, &ack), 0);
	ack.win = 503; /* ... these are */
	CHECK_EQ(tl_send(&l, &ack), 0);
	CHECK_EQ(tl_send(&l, &ack), 0);
	CHECK_EQ(tl_send(&l, &ack), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.seq, iss + 101);
	CHECK_EQ(l.ctx.cnt.tcp_fast_retransmits, 1);
	tl_free(&l);

	/* A peer that sends data of its own never sends a pure duplicate ACK:
	 * its SACK blocks (SACK-permitted was negotiated) reveal the hole. */
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 4002, 80, PEER_ISN, &iss));
	stk_tcp_send(&l.ctx, l.rec.sock, b, 3000);
	stk_tcp_send(&l.ctx, l.rec.sock, b, 3000);
	CHECK_EQ(tl_advance(&l, 0), 5);
	uint8_t sack[12] = {1, 1, 5, 10};
	stk_put_be32(sack + 4, iss + 1 + 1448);
	stk_put_be32(sack + 8, iss + 1 + 2 * 1448);
	struct tl_seg d = {.sport = 4002, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 502,
			   .opts = sack, .optlen = 12, .data = "abcd", .len = 4};
	unsigned rexmit = 0;
	for (int i = 0; i < 3; i++) {
		unsigned n = tl_send(&l, &d);
		for (unsigned k = 0; k < n; k++) {
			tl_parse(&l, k, &o);
			rexmit += o.seq == iss + 1 && o.len == 1448;
		}
		d.seq += 4;
		stk_put_be32(sack + 8, iss + 1 + (3 + (uint32_t)i) * 1448);
	}
	CHECK_EQ(rexmit, 1);
	CHECK_EQ(l.ctx.cnt.tcp_fast_retransmits, 1);
	CHECK_EQ(l.rec.n_data, 12);
	tl_free(&l);
}

/* A FIN behind a zero window: Linux holds it like data (probing with ACKs
 * at SND.UNA - 1) and sends it when the window opens; BSD sends it at
 * once. */
static void test_zero_window_fin(void)
{
	for (unsigned fam = 0; fam < 2; fam++) {
		struct tl l;
		uint32_t iss;
		struct tl_out o;
		struct stk_tcp_cfg c;
		stk_tcp_cfg_default(&c);
		c.max_flows = 64;
		c.idle_timeout_ms = 3600000;
		tl_init(&l, stk_tcp_policy_family(fam ? FP_FAMILY_BSD : FP_FAMILY_LINUX), &c);
		CHECK(tl_connect(&l, 5100, 80, PEER_ISN, &iss));
		uint8_t b[500];
		memset(b, 'z', sizeof(b));
		CHECK_EQ(stk_tcp_send(&l.ctx, l.rec.sock, b, sizeof(b)), sizeof(b));
		CHECK_EQ(tl_advance(&l, 0), 1);
		struct tl_seg zw = {.sport = 5100, .flags = A, .seq = PEER_ISN + 1, .ack = iss + 501, .win = 0};
		CHECK_EQ(tl_send(&l, &zw), 0);
		stk_tcp_close(&l.ctx, l.rec.sock);
		unsigned n = tl_advance(&l, 0);
		if (fam) { /* BSD */
			CHECK(n == 1 && tl_parse(&l, 0, &o) && (o.flags & F) && o.seq == iss + 501);
			tl_free(&l);
			continue;
		}
		CHECK_EQ(n, 0);
		for (int i = 0; i < 3; i++) {
			n = tl_advance(&l, 130000);
			CHECK(n == 1 && tl_parse(&l, 0, &o) && o.flags == A && o.len == 0 && o.seq == iss + 500);
			CHECK_EQ(tl_send(&l, &zw), 0);
		}
		zw.win = 502;
		CHECK(tl_send(&l, &zw) == 1 && tl_parse(&l, 0, &o) && (o.flags & F) && o.seq == iss + 501);
		CHECK_EQ(tl_state(&l, 5100, 80), STK_TCP_FIN_WAIT_1);
		tl_free(&l);
	}
}

static void zero_window_probes(const struct stk_tcp_policy *pol)
{
	struct tl l;
	uint32_t iss;
	struct tl_out o;
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 64;
	c.sndbuf_bytes = 1u << 20;
	c.idle_timeout_ms = 3600000;
	tl_init(&l, pol, &c);
	CHECK(tl_connect(&l, 5000, 80, PEER_ISN, &iss));
	/* The peer closes its window. */
	struct tl_seg zw = {.sport = 5000, .flags = A, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 0};
	CHECK_EQ(tl_send(&l, &zw), 0);
	uint8_t b[5000];
	memset(b, 'w', sizeof(b));
	CHECK_EQ(stk_tcp_send(&l.ctx, l.rec.sock, b, sizeof(b)), sizeof(b));
	CHECK_EQ(tl_advance(&l, 0), 0); /* nothing fits */
	/* Probes on the retransmission timer, backing off, never giving up
	 * while the peer answers: Linux's an ACK at SND.UNA - 1, BSD's the
	 * next byte. */
	bool linux_zw = pol->zw_linux;
	unsigned probes = 0;
	for (int i = 0; i < 12; i++) {
		unsigned n = tl_advance(&l, 130000);
		if (n) {
			tl_parse(&l, 0, &o);
			CHECK_EQ(o.len, linux_zw ? 0 : 1);
			CHECK_EQ(o.seq, linux_zw ? iss : iss + 1);
			probes += n;
			CHECK_EQ(tl_send(&l, &zw), 0);
		}
	}
	CHECK(probes >= 10);
	CHECK_EQ(l.ctx.cnt.tcp_window_probes, probes);
	CHECK(tl_flow(&l, 5000, 80) != NULL);
	/* Data from the peer while we probe: our ACK says SEQ = SND.NXT, not
	 * past the probe byte its closed window may not have taken. */
	struct tl_seg pd = {.sport = 5000, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 0,
			    .data = "abc", .len = 3};
	unsigned n = tl_send(&l, &pd);
	if (!n) /* BSD delays the ACK */
		n = tl_advance(&l, 300);
	CHECK_EQ(n, 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.len, 0);
	CHECK_EQ(o.ack, PEER_ISN + 4);
	CHECK_EQ(o.seq, iss + 1);
	zw.seq = PEER_ISN + 4;
	/* The window opens: the data flows. */
	zw.win = 502;
	CHECK_EQ(tl_send(&l, &zw), 4);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.seq, iss + 1);
	tl_free(&l);
}

static void test_zero_window(void)
{
	struct tl l;
	uint32_t iss;
	struct tl_out o;
	uint8_t b[5000];
	memset(b, 'w', sizeof(b));
	zero_window_probes(stk_tcp_policy_family(FP_FAMILY_LINUX));
	zero_window_probes(stk_tcp_policy_family(FP_FAMILY_BSD));
	struct tl_seg zw = {.sport = 5000, .flags = A, .seq = PEER_ISN + 1, .win = 0};

	/* But a peer that only ever answers probes is holding memory: the idle
	 * timeout (no byte moved for 5 min) ends it. */
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 5002, 80, PEER_ISN, &iss));
	zw.sport = 5002;
	zw.ack = iss + 1;
	zw.win = 0;
	tl_send(&l, &zw);
	stk_tcp_send(&l.ctx, l.rec.sock, b, sizeof(b));
	for (int i = 0; i < 40 && tl_flow(&l, 5002, 80); i++) {
		tl_advance(&l, 10000);
		tl_send(&l, &zw);
	}
	CHECK(tl_flow(&l, 5002, 80) == NULL);
	CHECK_EQ(l.rec.why, STK_CLOSE_IDLE);
	tl_free(&l);

	/* Our own window: a service that stops consuming shrinks it to zero
	 * (and never below what it offered before). */
	tl_init(&l, NULL, NULL);
	l.rec.echo = true;
	CHECK(tl_connect(&l, 5001, 80, PEER_ISN, &iss));
	struct tl_seg d = {.sport = 5001, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 0,
			   .data = b, .len = 1000};
	uint16_t last_win = 0xffff;
	struct stk_tcp_flow *f = tl_flow(&l, 5001, 80);
	for (int i = 0; i < 100 && f; i++) {
		d.seq = f->rcv_nxt; /* the peer sends from what was acknowledged */
		tl_send(&l, &d);
		if (l.n_tx) {
			tl_parse(&l, l.n_tx - 1, &o);
			last_win = o.win;
		}
		if (f->rcv_nxt == d.seq)
			break;
	}
	/* Everything up to the SYN-ACK's edge (65160) was taken, no more. */
	CHECK(f && f->rcv_nxt - (PEER_ISN + 1) == 65160);
	CHECK_EQ(last_win, 0);
	CHECK(l.ctx.cnt.drop_tcp_out_of_window > 0);
	tl_free(&l);
}

/* In-window bytes a service has no room for are acknowledged and held, then
 * delivered in order when it has room (before, they were dropped
 * unacknowledged: the SYN-ACK's window is the persona's, and the peer
 * waited for its RTO). A FIN behind held bytes reaches the service after
 * them; SACK blocks never name held bytes; past the queue's bounds the old
 * drop remains. */
static void test_rcv_held(void)
{
	struct tl l;
	uint32_t iss;
	struct tl_out o;
	uint8_t b[4000];
	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7 + i / 251);
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 5100, 80, PEER_ISN, &iss));
	struct stk_tcp_flow *f = tl_flow(&l, 5100, 80);
	CHECK(f != NULL);
	if (!f) {
		tl_free(&l);
		return;
	}
	uint32_t edge = f->rcv_adv;
	l.rec.limit = true;
	l.rec.take_left = 300;
	struct tl_seg d = {.sport = 5100, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 502,
			   .data = b, .len = 1000};
	CHECK_EQ(tl_send(&l, &d), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.ack, PEER_ISN + 1 + 1000); /* all of it acknowledged */
	CHECK_EQ(l.rec.n_data, 300);
	CHECK_EQ(l.ctx.cnt.tcp_rcv_held, 700);
	CHECK_EQ(l.ctx.cnt.drop_tcp_rcv_unread, 0);
	CHECK_EQ(stk_reasm_held_bytes(l.ctx.tcp, f), 700);
	/* the window is not moved on (the service has no room), nor shrunk */
	uint32_t right = o.ack + ((uint32_t)o.win << f->rcv_ws);
	CHECK(right <= edge && edge - right < (1u << f->rcv_ws));
	/* More in order: behind the held bytes, held too. */
	d.seq += 1000;
	d.data = b + 1000;
	CHECK_EQ(tl_send(&l, &d), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.ack, PEER_ISN + 1 + 2000);
	CHECK_EQ(l.rec.n_data, 300);
	CHECK_EQ(stk_reasm_held_bytes(l.ctx.tcp, f), 1700);
	/* Out of order, with the FIN: SACKed; the held bytes are not named. */
	d.seq = PEER_ISN + 1 + 3000;
	d.data = b + 3000;
	d.flags = A | P | F;
	CHECK_EQ(tl_send(&l, &d), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.ack, PEER_ISN + 1 + 2000);
	CHECK(o.optlen == 24 && o.opts[14] == 5 && o.opts[15] == 10);
	CHECK_EQ(stk_be32(o.opts + 16), PEER_ISN + 1 + 3000);
	CHECK_EQ(stk_be32(o.opts + 20), PEER_ISN + 1 + 4000);
	/* The hole: everything and the FIN acknowledged, nothing delivered
	 * yet, the FIN not told. */
	d.seq = PEER_ISN + 1 + 2000;
	d.data = b + 2000;
	d.flags = A | P;
	CHECK_EQ(tl_send(&l, &d), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.ack, PEER_ISN + 1 + 4001);
	CHECK(o.optlen == 12); /* no SACK block: nothing out of order */
	CHECK_EQ(f->state, STK_TCP_CLOSE_WAIT);
	CHECK_EQ(l.rec.n_data, 300);
	CHECK_EQ(l.rec.peer_closed, 0);
	CHECK_EQ(stk_reasm_held_bytes(l.ctx.tcp, f), 3700);
	struct stk_tcp_flow_info fi;
	CHECK(stk_tcp_flows(&l.ctx, &fi, 1) == 1 && fi.rcv_held == 3700);
	/* Room, a little at a time: in order, the FIN after the last byte. */
	l.rec.take_left = 1500;
	stk_tcp_recv_ready(&l.ctx, l.rec.sock);
	tl_advance(&l, 1);
	CHECK_EQ(l.rec.n_data, 1800);
	CHECK_EQ(l.rec.peer_closed, 0);
	l.rec.take_left = 100000;
	stk_tcp_recv_ready(&l.ctx, l.rec.sock);
	tl_advance(&l, 1);
	CHECK_EQ(l.rec.n_data, 4000);
	CHECK(memcmp(l.rec.data, b, 4000) == 0);
	CHECK_EQ(l.rec.peer_closed, 1);
	CHECK_EQ(stk_reasm_held_bytes(l.ctx.tcp, f), 0);
	CHECK_EQ(l.ctx.tcp->chunks_used, 0);
	tl_free(&l);

	/* Bounded: a service that takes nothing gets at most STK_REASM_MAX
	 * segments held; past that the old drop (not acknowledged). Then a
	 * segment's arrival is enough to deliver once it has room. */
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 5101, 80, PEER_ISN, &iss));
	f = tl_flow(&l, 5101, 80);
	l.rec.limit = true;
	l.rec.take_left = 0;
	d = (struct tl_seg){.sport = 5101, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 502,
			    .data = b, .len = 10};
	unsigned acked = 0;
	for (unsigned i = 0; i < 70 && f; i++) {
		tl_send(&l, &d);
		if (l.n_tx && tl_parse(&l, l.n_tx - 1, &o) && o.ack == d.seq + 10)
			acked++;
		d.seq = f->rcv_nxt;
		d.data = b + (d.seq - PEER_ISN - 1);
	}
	CHECK_EQ(acked, 64);
	CHECK(f && f->rcv_nxt == PEER_ISN + 1 + 640);
	CHECK_EQ(l.ctx.cnt.drop_tcp_rcv_unread, 60);
	/* Refused bytes are no progress: a peer that keeps sending what the
	 * service never takes still meets the idle timeout (5 min). */
	if (f) {
		uint32_t idle_at = f->idle_at;
		tl_advance(&l, 10000);
		tl_send(&l, &d);
		CHECK_EQ(f->idle_at, idle_at);
	}
	l.rec.take_left = 100000;
	d.len = 0;
	d.flags = A;
	tl_send(&l, &d); /* a pure ACK: the service has room now */
	CHECK_EQ(l.rec.n_data, 640);
	CHECK(memcmp(l.rec.data, b, 640) == 0);
	CHECK_EQ(l.ctx.tcp->chunks_used, 0);
	tl_free(&l);
}

/* Peers that stop taking data (a zero window held, sockstress-style) or
 * leave a hole they never fill pin the shared chunk pool; once it is
 * nearly full, those that made no progress for 10 s are reset and every
 * other connection can send again. One that makes progress is spared. */
static void test_send_pressure(void)
{
	struct tl l;
	uint32_t iss;
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 64;
	c.sndbuf_bytes = 32 * STK_TCP_CHUNK;
	c.sndbuf_per_flow = 4 * STK_TCP_CHUNK;
	c.secret_seed = 3;
	tl_init(&l, NULL, &c);
	l.rec.echo = true;
	static uint8_t b[8192];
	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	/* One peer leaves a hole before four segments it never fills. */
	CHECK(tl_connect(&l, 6200, 80, PEER_ISN, &iss));
	for (unsigned n = 1; n <= 4; n++) {
		struct tl_seg d = {.sport = 6200, .flags = A | P, .seq = PEER_ISN + 1 + 1000 * n, .ack = iss + 1,
				   .win = 502, .data = b, .len = 1000};
		tl_send(&l, &d);
	}
	CHECK_EQ(tl_flow(&l, 6200, 80)->ooo_count, 4);
	/* Seven peers of the echo close their window. */
	for (unsigned k = 0; k < 7; k++) {
		CHECK(tl_connect(&l, (uint16_t)(6000 + k), 80, PEER_ISN, &iss));
		struct tl_seg d = {.sport = (uint16_t)(6000 + k), .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1,
				   .win = 0, .data = b, .len = 1024};
		for (unsigned n = 0; n < 8; n++) { /* 8 KiB echoed into a closed window */
			tl_send(&l, &d);
			d.seq += 1024;
			d.data = b + 1024 * (n + 1) % sizeof(b);
		}
	}
	struct stk_tcp *t = l.ctx.tcp;
	CHECK_EQ(t->chunks_used, 32);
	/* A newcomer's echo has no room, nor can its bytes be held (the same
	 * pool): refused, not acknowledged. */
	CHECK(tl_connect(&l, 6100, 80, PEER_ISN, &iss));
	struct tl_seg d = {.sport = 6100, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss + 1, .win = 502,
			   .data = "newcomer", .len = 8};
	tl_send(&l, &d);
	CHECK_EQ(tl_flow(&l, 6100, 80)->sq_len, 0);
	CHECK_EQ(tl_flow(&l, 6100, 80)->rcv_nxt, PEER_ISN + 1);
	CHECK_EQ(l.ctx.cnt.drop_tcp_rcv_unread, 8);
	uint64_t full = l.ctx.cnt.tcp_sndbuf_full;
	CHECK(full > 0);
	/* 9 s later one stalled peer opens its window and takes some: it made
	 * progress (and still holds most of its queue: the pool stays full). */
	tl_advance(&l, 9000);
	CHECK_EQ(l.ctx.cnt.tcp_pressure_resets, 0);
	struct stk_tcp_flow *f0 = tl_flow(&l, 6000, 80);
	struct tl_seg up = {.sport = 6000, .flags = A, .seq = PEER_ISN + 1 + 8192, .ack = f0 ? f0->snd_una : 0,
			    .win = 502};
	tl_send(&l, &up);
	up.ack = f0 ? f0->snd_una + 1000 : 0;
	up.win = 0;
	tl_send(&l, &up);
	CHECK(f0 && f0->sq_len == 8192 - 1000);
	/* At 10 s of no progress the other seven are reset. */
	tl_advance(&l, 2000);
	CHECK_EQ(l.ctx.cnt.tcp_pressure_resets, 7);
	CHECK(tl_flow(&l, 6000, 80) != NULL);
	for (unsigned k = 1; k < 7; k++)
		CHECK(tl_flow(&l, (uint16_t)(6000 + k), 80) == NULL);
	CHECK(tl_flow(&l, 6200, 80) == NULL);
	/* The newcomer's retransmission finds room: its bytes come back. */
	tl_send(&l, &d);
	struct tl_out o;
	bool echoed = false;
	for (unsigned i = 0; i < l.n_tx; i++)
		if (tl_parse(&l, i, &o) && o.len == 8 && memcmp(o.data, "newcomer", 8) == 0)
			echoed = true;
	CHECK(echoed);
	tl_free(&l);
}

static void test_send_backpressure(void)
{
	struct tl l;
	uint32_t iss;
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 6000, 80, PEER_ISN, &iss));
	static uint8_t big[100000];
	unsigned n = stk_tcp_send(&l.ctx, l.rec.sock, big, sizeof(big));
	CHECK_EQ(n, 64u << 10);
	CHECK_EQ(l.ctx.cnt.tcp_sndbuf_full, 1);
	CHECK_EQ(stk_tcp_send_space(&l.ctx, l.rec.sock), 0);
	unsigned out = tl_advance(&l, 0);
	CHECK_EQ(out, 10); /* the initial window: 10 segments */
	struct tl_seg ack = {.sport = 6000, .flags = A, .seq = PEER_ISN + 1, .ack = iss + 1 + 10 * 1448, .win = 502};
	tl_send(&l, &ack);
	CHECK_EQ(l.rec.writable, 1);
	CHECK_EQ(stk_tcp_send_space(&l.ctx, l.rec.sock), 10 * 1448);
	CHECK_EQ(l.ctx.tcp->chunks_used, (64u << 10) / 2048 - 10 * 1448 / 2048);
	tl_free(&l);
}

/* A burst is handled as its frames one by one would be: stk_input_burst
 * hashes the TCP frames ahead (stk_tcp_burst_begin) and must give the
 * same answers, byte for byte, for SYNs, a retransmitted SYN, ACKs and
 * RSTs on half-open connections, closed ports, frames with IP options, a
 * fragment, a truncated frame and a VLAN-tagged one. */
enum { BURST_N = 14 };

static unsigned burst_frames(struct tl *l, uint8_t frames[][256], unsigned *lens)
{
	static const uint8_t opts[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 7};
	const struct tl_seg segs[] = {
		{.sport = 5000, .flags = S, .seq = 100, .win = 64240, .opts = opts, .optlen = sizeof(opts)},
		{.sport = 5001, .flags = S, .seq = 200, .win = 64240, .opts = opts, .optlen = sizeof(opts)},
		{.sport = 5000, .flags = A, .seq = 101, .ack = 12345, .win = 502},
		{.sport = 5001, .flags = S, .seq = 200, .win = 64240, .opts = opts, .optlen = sizeof(opts)},
		{.sport = 5001, .flags = R, .seq = 201, .win = 0},
		{.sport = 5002, .dport = 81, .flags = S, .seq = 300, .win = 1024},
		{.sport = 5003, .flags = A | P, .seq = 400, .ack = 1, .win = 1024, .data = "xyz", .len = 3},
		{.sport = 5004, .flags = S, .seq = 500, .win = 1024}, /* gets IP options below */
		{.sport = 5005, .flags = S, .seq = 600, .win = 1024}, /* a fragment below */
		{.sport = 5006, .flags = S, .seq = 700, .win = 1024}, /* truncated below */
		{.sport = 5007, .flags = S, .seq = 800, .win = 1024}, /* VLAN-marked below */
		{.sport = 5008, .flags = S | F, .seq = 900, .win = 1024},
		{.sport = 5009, .flags = S, .seq = 1000, .win = 1024, .opts = opts, .optlen = sizeof(opts)},
		{.sport = 5009, .flags = A, .seq = 1001, .ack = 1, .win = 1024},
	};
	for (unsigned i = 0; i < BURST_N; i++) {
		lens[i] = tl_frame_tcp(l, &segs[i]);
		memcpy(frames[i], l->frame, lens[i]);
	}
	/* 7: four bytes of IP options (NOPs) */
	uint8_t *f = frames[7], *ip = f + 14;
	memmove(ip + 24, ip + 20, lens[7] - 34);
	memset(ip + 20, 1, 4);
	ip[0] = 0x46;
	stk_put_be16(ip + 2, (uint16_t)(stk_be16(ip + 2) + 4));
	stk_put_be16(ip + 10, 0);
	stk_put_be16(ip + 10, stk_csum(ip, 24));
	lens[7] += 4;
	/* 8: more fragments follow */
	ip = frames[8] + 14;
	stk_put_be16(ip + 6, STK_IP4_MF);
	stk_put_be16(ip + 10, 0);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	/* 9: cut inside the TCP header */
	lens[9] = 14 + 20 + 10;
	return BURST_N;
}

static unsigned run_burst(struct tl *l, bool together, uint8_t out[][256], unsigned *olen)
{
	uint8_t frames[BURST_N][256];
	unsigned lens[BURST_N], n = burst_frames(l, frames, lens), got = 0;
	struct stk_pkt pk[BURST_N], *rx[BURST_N], *tx[64];
	for (unsigned i = 0; i < n; i++) {
		pk[i] = (struct stk_pkt){.data = frames[i], .len = lens[i]};
		if (i == 10)
			pk[i].flags = STK_PKT_VLAN;
		rx[i] = &pk[i];
	}
	for (unsigned i = 0; i < n; i += together ? n : 1) {
		unsigned n_tx = 0;
		stk_input_burst(&l->ctx, rx + i, together ? n : 1, tx, 64, &n_tx);
		for (unsigned k = 0; k < n_tx && got < 64; k++, got++) {
			olen[got] = tx[k]->len;
			memcpy(out[got], tx[k]->data, tx[k]->len < 256 ? tx[k]->len : 256);
			stk_pool_put(&l->pool, tx[k]);
		}
	}
	return got;
}

static void test_burst_equivalence(void)
{
	static uint8_t a[64][256], b[64][256];
	unsigned la[64], lb[64];
	struct tl l1, l2;
	tl_init(&l1, NULL, NULL);
	tl_init(&l2, NULL, NULL);
	unsigned na = run_burst(&l1, true, a, la), nb = run_burst(&l2, false, b, lb);
	CHECK_EQ(na, nb);
	CHECK(na >= 8); /* SYN-ACKs, RSTs and the challenge/RST answers */
	for (unsigned i = 0; i < na && i < nb; i++) {
		CHECK_EQ(la[i], lb[i]);
		CHECK(memcmp(a[i], b[i], la[i] < 256 ? la[i] : 256) == 0);
	}
	/* and the hashes ahead were used, not recomputed */
	CHECK_EQ(l1.ctx.tcp->hint_n, 0); /* cleared at the end of the burst */
	CHECK_EQ(tl_state(&l1, 5000, 80), tl_state(&l2, 5000, 80));
	CHECK_EQ(tl_state(&l1, 5009, 80), tl_state(&l2, 5009, 80));
	CHECK_EQ(l1.ctx.cnt.drop_tcp_short + l1.ctx.cnt.drop_ip_len, l2.ctx.cnt.drop_tcp_short + l2.ctx.cnt.drop_ip_len);
	tl_free(&l1);
	tl_free(&l2);
}

/* A SYN announcing MSS 1 with timestamps: segments of the 64-byte floor,
 * each frame within the MTU (the MSS less the 12 timestamp bytes once
 * wrapped around to 65 525: fuzz_tcp_flow found it). */
static void test_tiny_mss(void)
{
	struct tl l;
	struct tl_out o;
	tl_init(&l, NULL, NULL);
	static const uint8_t opts[] = {2, 4, 0, 1, 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 0};
	CHECK_EQ(tl_send(&l, &(struct tl_seg){.sport = 6000, .flags = S, .seq = 10, .win = 65535, .opts = opts,
					       .optlen = sizeof(opts)}), 1);
	tl_parse(&l, 0, &o);
	static const uint8_t ack_opts[] = {1, 1, 8, 10, 0, 0, 0, 6, 0, 0, 0, 0};
	tl_send(&l, &(struct tl_seg){.sport = 6000, .flags = A, .seq = 11, .ack = o.seq + 1, .win = 65535,
				     .opts = ack_opts, .optlen = sizeof(ack_opts)});
	struct stk_tcp_flow *f = tl_flow(&l, 6000, 80);
	CHECK(f && f->state == STK_TCP_ESTABLISHED && f->mss == 64);
	static uint8_t data[3000];
	CHECK(l.rec.sock != NULL);
	if (l.rec.sock)
		stk_tcp_send(&l.ctx, l.rec.sock, data, sizeof(data));
	unsigned n = tl_advance(&l, 0);
	CHECK(n >= 1);
	for (unsigned i = 0; i < n; i++) {
		tl_parse(&l, i, &o);
		CHECK(o.len <= 64);
		CHECK(l.tx[i]->len <= 14u + 1500u);
	}
	tl_free(&l);
}

/* The SYN cache (stk_syncache.c): a SYN leaves an entry, not a flow; the
 * entry retransmits the SYN-ACK on the persona's schedule by itself, turns
 * into a flow with what the SYN said when the handshake's ACK comes (also
 * after a retransmission), and a full cache drops its oldest entry, never
 * an established connection. */
static void test_syn_cache(void)
{
	struct tl l;
	struct tl_out o, o2;
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 16;
	c.syn_cookie_threshold = UINT32_MAX; /* no cookies: the cache holds max_flows */
	tl_init(&l, NULL, &c);
	static const uint8_t opts[] = {2, 4, 0x05, 0x78, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 6};
	struct tl_seg syn = {.sport = 3000, .flags = S, .seq = 900, .win = 29200, .opts = opts, .optlen = sizeof(opts)};
	CHECK_EQ(tl_send(&l, &syn), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.flags, S | A);
	CHECK_EQ(o.ack, 901);
	CHECK(tl_syn_ent(&l, 3000, 80) != NULL);
	CHECK_EQ(l.ctx.tcp->n_flows, 0);
	CHECK_EQ(l.ctx.tcp->wheel.armed, 0); /* no timer of its own */
	/* Retransmitted at 1, 3, 7, 15, 31 s (linux: 5 retries, RTO 1 s
	 * doubling), the same ISS, options and the SYN's TSval echoed; gone
	 * at 63 s. */
	static const unsigned due[5] = {1000, 3000, 7000, 15000, 31000};
	unsigned k = 0;
	for (uint64_t t = 10; t <= 70000; t += 10) {
		unsigned n = tl_at(&l, t);
		if (!n)
			continue;
		CHECK_EQ(n, 1);
		tl_parse(&l, 0, &o2);
		CHECK(k < 5 && t >= due[k] && t < due[k] + 20);
		CHECK_EQ(o2.seq, o.seq);
		CHECK_EQ(o2.flags, S | A);
		CHECK_EQ(o2.optlen, o.optlen);
		CHECK_EQ(synack_tsecr(&o2), 12345);
		k++;
	}
	CHECK_EQ(k, 5);
	CHECK(tl_syn_ent(&l, 3000, 80) == NULL);
	CHECK_EQ(l.ctx.cnt.tcp_syncache_timeouts, 1);
	CHECK_EQ(tl_half_open(&l), 0);
	tl_free(&l);

	/* A SYN-ACK lost once: the ACK after the retransmission opens it. */
	tl_init(&l, NULL, &c);
	syn.sport = 3001;
	tl_send(&l, &syn);
	tl_parse(&l, 0, &o);
	CHECK_EQ(tl_at(&l, 1005), 1);
	uint8_t ack_ts[12] = {1, 1, 8, 10, 0, 0, 0x30, 0x3a, 0, 0, 0, 0};
	struct tl_seg ack = {.sport = 3001, .flags = A, .seq = 901, .ack = o.seq + 1, .win = 229,
			     .opts = ack_ts, .optlen = sizeof(ack_ts)};
	tl_send(&l, &ack);
	struct stk_tcp_flow *f = tl_flow(&l, 3001, 80);
	CHECK(f && f->state == STK_TCP_ESTABLISHED);
	CHECK(f && f->peer_mss == 1400 && f->snd_ws == 6 && (f->flags & STK_F_SACK) && (f->flags & STK_F_TS));
	CHECK(f && f->snd_wnd == 229u << 6);
	CHECK_EQ(l.rec.accepts, 1);
	CHECK(tl_syn_ent(&l, 3001, 80) == NULL);
	/* A flood of SYNs from other ports fills the cache (16) and then
	 * replaces its oldest entries; the established connection stays. */
	for (unsigned i = 0; i < 40; i++) {
		struct tl_seg s = {.sport = (uint16_t)(20000 + i), .flags = S, .seq = i, .win = 100};
		CHECK_EQ(tl_send(&l, &s), 1);
	}
	CHECK(tl_flow(&l, 3001, 80) != NULL);
	CHECK_EQ(l.ctx.tcp->n_flows, 1);
	CHECK_EQ(l.ctx.cnt.tcp_flows_evicted, 0);
	CHECK_EQ(l.ctx.cnt.tcp_syncache_evicted, 40 - 16);
	CHECK(tl_syn_ent(&l, 20000, 80) == NULL);
	CHECK(tl_syn_ent(&l, 20023, 80) == NULL);
	CHECK(tl_syn_ent(&l, 20024, 80) != NULL);
	CHECK(tl_syn_ent(&l, 20039, 80) != NULL);
	CHECK_EQ(tl_half_open(&l), 16);
	/* An ACK for an evicted entry finds no connection: the persona's
	 * answer to a stray ACK (RST), no flow. */
	struct tl_seg late = {.sport = 20000, .flags = A, .seq = 1, .ack = 12345, .win = 100};
	CHECK_EQ(tl_send(&l, &late), 1);
	tl_parse(&l, 0, &o2);
	CHECK_EQ(o2.flags & R, R);
	CHECK(tl_flow(&l, 20000, 80) == NULL);
	/* A RST for a cached one removes it, silently. */
	struct tl_seg rst = {.sport = 20030, .flags = R, .seq = 31, .win = 0};
	CHECK_EQ(tl_send(&l, &rst), 0);
	CHECK(tl_syn_ent(&l, 20030, 80) == NULL && tl_flow(&l, 20030, 80) == NULL);
	/* A listener removed while half-open: the ACK finds a closed port. */
	tl_send(&l, &(struct tl_seg){.sport = 3100, .flags = S, .seq = 5, .win = 100});
	tl_parse(&l, 0, &o);
	CHECK_EQ(stk_unlisten(&l.ctx, l.h->ip_raw, STK_IPPROTO_TCP, 80), 0);
	CHECK_EQ(tl_send(&l, &(struct tl_seg){.sport = 3100, .flags = A, .seq = 6, .ack = o.seq + 1, .win = 100}), 1);
	tl_parse(&l, 0, &o2);
	CHECK_EQ(o2.flags & R, R);
	CHECK(tl_flow(&l, 3100, 80) == NULL && tl_syn_ent(&l, 3100, 80) == NULL);
	tl_free(&l);
}

/* The TSecr of an answer's timestamp option (0 when it has none). */
static uint32_t synack_tsecr(const struct tl_out *o)
{
	int i = tl_opt_at(o, 8);
	return i >= 0 && (unsigned)i + 10 <= o->optlen ? stk_be32(o->opts + i + 6) : 0;
}

/* The option memo (stk_tcp_input.c options_input): a layout equal to the
 * last one but for the timestamp values reuses its parse; anything else
 * is walked. Each SYN's own values must reach its flow. */
static void test_option_memo(void)
{
	struct tl l;
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 64;
	tl_init(&l, NULL, &c);
	static const struct {
		uint8_t opts[20];
		unsigned len;
		uint16_t mss;      /* expected in the flow */
		uint8_t ws;
		uint32_t ts;
		uint8_t bits;
		unsigned bad;      /* tcp_bad_options after it */
	} syn[] = {
		{{2, 4, 0x05, 0x78, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7}, 20, 1400, 7, 100,
		 STK_SYN_MSS | STK_SYN_SACK | STK_SYN_TS | STK_SYN_WS, 0},
		/* same layout, other MSS and shift: not the memo's */
		{{2, 4, 0x05, 0x14, 4, 2, 8, 10, 0, 0, 0, 200, 0, 0, 0, 0, 1, 3, 3, 5}, 20, 1300, 5, 200,
		 STK_SYN_MSS | STK_SYN_SACK | STK_SYN_TS | STK_SYN_WS, 0},
		/* only the timestamp differs: the memo's parse, this TSval */
		{{2, 4, 0x05, 0x14, 4, 2, 8, 10, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 9, 1, 3, 3, 5}, 20, 1300, 5,
		 0x12345678, STK_SYN_MSS | STK_SYN_SACK | STK_SYN_TS | STK_SYN_WS, 0},
		/* only the shift differs (the last word) */
		{{2, 4, 0x05, 0x14, 4, 2, 8, 10, 0x12, 0x34, 0x56, 0x79, 0, 0, 0, 9, 1, 3, 3, 9}, 20, 1300, 9,
		 0x12345679, STK_SYN_MSS | STK_SYN_SACK | STK_SYN_TS | STK_SYN_WS, 0},
		/* SACK-permitted replaced by two NOPs (the first word) */
		{{2, 4, 0x05, 0x14, 1, 1, 8, 10, 0x12, 0x34, 0x56, 0x7a, 0, 0, 0, 9, 1, 3, 3, 9}, 20, 1300, 9,
		 0x1234567a, STK_SYN_MSS | STK_SYN_TS | STK_SYN_WS, 0},
		/* timestamps elsewhere, no window scale */
		{{1, 1, 8, 10, 0, 0, 1, 144, 0, 0, 0, 0, 2, 4, 0x04, 0xb0}, 16, 1200, 0, 400,
		 STK_SYN_MSS | STK_SYN_TS, 0},
		/* an option longer than what is left: counted, nothing after it read */
		{{2, 30, 0x05, 0x14, 4, 2, 8, 10, 0, 0, 0, 200, 0, 0, 0, 0, 1, 3, 3, 5}, 20, 536, 0, 0, 0, 1},
		/* the second layout again, twice */
		{{2, 4, 0x05, 0x14, 4, 2, 8, 10, 0, 0, 2, 88, 0, 0, 0, 0, 1, 3, 3, 5}, 20, 1300, 5, 600,
		 STK_SYN_MSS | STK_SYN_SACK | STK_SYN_TS | STK_SYN_WS, 1},
		{{2, 4, 0x05, 0x14, 4, 2, 8, 10, 0, 0, 2, 188, 0, 0, 0, 0, 1, 3, 3, 5}, 20, 1300, 5, 700,
		 STK_SYN_MSS | STK_SYN_SACK | STK_SYN_TS | STK_SYN_WS, 1},
		/* a second TS option: the last one wins, as without the memo */
		{{8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 8, 10, 0, 0, 0, 2, 0, 0, 0, 0}, 20, 536, 0, 2, STK_SYN_TS, 1},
		{{8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 8, 10, 0, 0, 0, 3, 0, 0, 0, 0}, 20, 536, 0, 3, STK_SYN_TS, 1},
	};
	for (unsigned i = 0; i < sizeof(syn) / sizeof(syn[0]); i++) {
		struct tl_seg s = {.sport = (uint16_t)(9000 + i), .dport = 80, .flags = S, .seq = 77, .win = 1000,
				   .opts = syn[i].opts, .optlen = syn[i].len};
		CHECK_EQ(tl_send(&l, &s), 1);
		struct tl_out o;
		tl_parse(&l, 0, &o);
		/* the handshake's ACK makes the flow from what the SYN said */
		struct tl_seg ack = {.sport = s.sport, .dport = 80, .flags = A, .seq = 78, .ack = o.seq + 1, .win = 1000};
		tl_send(&l, &ack);
		struct stk_tcp_flow *f = tl_flow(&l, (uint16_t)(9000 + i), 80);
		CHECK(f != NULL);
		if (!f)
			continue;
		CHECK_EQ(f->state, STK_TCP_ESTABLISHED);
		CHECK_EQ(f->peer_mss, syn[i].mss);
		CHECK_EQ(f->snd_ws, syn[i].ws);
		CHECK_EQ(f->syn_bits, syn[i].bits);
		if (syn[i].bits & STK_SYN_TS) /* echoed in the SYN-ACK: TSecr */
			CHECK_EQ(synack_tsecr(&o), syn[i].ts);
		CHECK_EQ(l.ctx.cnt.tcp_bad_options, syn[i].bad);
	}
	tl_free(&l);
}

static void test_syn_cookies(void)
{
	struct tl l;
	struct tl_out o;
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 64;
	c.sndbuf_bytes = 1u << 20;
	c.syn_cookie_threshold = 0; /* always */
	tl_init(&l, NULL, &c);
	static const uint8_t syn_opts[] = {2, 4, 0x05, 0x78, 4, 2, 8, 10, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 1, 3, 3, 9};
	struct tl_seg syn = {.sport = 7000, .flags = S, .seq = 500, .win = 64240, .opts = syn_opts,
			     .optlen = sizeof(syn_opts)};
	CHECK_EQ(tl_send(&l, &syn), 1);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.flags, S | A);
	CHECK_EQ(l.ctx.tcp->n_flows, 0); /* no state */
	CHECK_EQ(l.ctx.cnt.tcp_syncookies_sent, 1);
	char opts[64];
	tl_nmap_opts(&o, opts, sizeof(opts));
	CHECK(strcmp(opts, "M5B4ST11NW7") == 0); /* the persona's SYN-ACK all the same */
	/* A forged ACK: no connection, the persona's T4 answer. */
	struct tl_seg ack = {.sport = 7000, .flags = A, .seq = 501, .ack = o.seq + 2, .win = 100};
	CHECK_EQ(tl_send(&l, &ack), 1);
	CHECK_EQ(l.ctx.cnt.drop_tcp_cookie_bad, 1);
	CHECK_EQ(l.ctx.tcp->n_flows, 0);
	/* The right one, 30 s later (same or next cookie period): established,
	 * with the SYN's options remembered. */
	tl_advance(&l, 30000);
	uint8_t ts[12] = {1, 1, 8, 10, 0, 0, 0x03, 0xe9, 0, 0, 0, 1};
	ack.ack = o.seq + 1;
	ack.opts = ts;
	ack.optlen = 12;
	ack.data = "hello";
	ack.len = 5;
	CHECK_EQ(tl_send(&l, &ack), 1);
	struct stk_tcp_flow *f = tl_flow(&l, 7000, 80);
	CHECK(f && f->state == STK_TCP_ESTABLISHED);
	CHECK_EQ(l.ctx.cnt.tcp_syncookies_ok, 1);
	CHECK_EQ(l.rec.accepts, 1);
	CHECK_EQ(l.rec.n_data, 5);
	CHECK(f && f->snd_ws == 9 && f->rcv_ws == 7 && (f->flags & STK_F_TS) && (f->flags & STK_F_SACK));
	CHECK(f && f->peer_mss == 1300); /* 1400 rounds down to the table's 1300 */
	CHECK(f && f->snd_wnd == 100u << 9);
	/* Too late (beyond two 64 s periods) is refused. */
	syn.sport = 7001;
	tl_send(&l, &syn);
	tl_parse(&l, 0, &o);
	tl_advance(&l, 200000);
	struct tl_seg late = {.sport = 7001, .flags = A, .seq = 501, .ack = o.seq + 1, .win = 100};
	tl_send(&l, &late);
	CHECK(tl_flow(&l, 7001, 80) == NULL);
	tl_free(&l);

	/* A SYN flood: the half-open limit holds and every SYN is answered. */
	stk_tcp_cfg_default(&c);
	c.max_flows = 64;
	c.sndbuf_bytes = 1u << 20;
	c.syn_cookie_threshold = 8;
	tl_init(&l, NULL, &c);
	unsigned answered = 0;
	for (unsigned i = 0; i < 1000; i++) {
		struct tl_seg s = {.sport = (uint16_t)(10000 + i), .flags = S, .seq = i * 7919u, .win = 512};
		answered += tl_send(&l, &s);
	}
	CHECK_EQ(answered, 1000);
	CHECK_EQ(tl_half_open(&l), 8);
	CHECK_EQ(l.ctx.cnt.tcp_syncookies_sent, 992);
	/* A real client still gets through. */
	uint32_t iss;
	CHECK(tl_connect(&l, 9999, 80, PEER_ISN, &iss));
	CHECK_EQ(l.rec.accepts, 1);
	tl_free(&l);
}

static void test_memcap(void)
{
	struct tl l;
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 8;
	c.sndbuf_bytes = 1u << 20;
	tl_init(&l, NULL, &c);
	uint32_t iss[9];
	for (unsigned i = 0; i < 8; i++)
		CHECK(tl_connect(&l, (uint16_t)(100 + i), 80, PEER_ISN, &iss[i]));
	CHECK_EQ(l.ctx.tcp->n_flows, 8);
	/* Activity on the first keeps it; the second is now the oldest. */
	tl_advance(&l, 10);
	struct tl_seg d = {.sport = 100, .flags = A | P, .seq = PEER_ISN + 1, .ack = iss[0] + 1, .win = 502,
			   .data = "x", .len = 1};
	tl_send(&l, &d);
	CHECK(tl_connect(&l, 200, 80, PEER_ISN, &iss[8]));
	CHECK_EQ(l.ctx.tcp->n_flows, 8);
	CHECK_EQ(l.ctx.cnt.tcp_flows_evicted, 1);
	CHECK_EQ(l.rec.closed, 1);
	CHECK_EQ(l.rec.why, STK_CLOSE_EVICTED);
	CHECK(tl_flow(&l, 100, 80) != NULL);
	CHECK(tl_flow(&l, 101, 80) == NULL);
	/* The evicted peer's next segment meets the persona's T4 answer. */
	d.sport = 101;
	d.ack = iss[1] + 1;
	CHECK_EQ(tl_send(&l, &d), 1);
	struct tl_out o;
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.flags, R);
	tl_free(&l);

	/* Bytes of engine state per flow, excluding buffers. */
	stk_tcp_cfg_default(&c);
	tl_init(&l, NULL, &c);
	size_t per_flow = stk_tcp_flow_bytes(&l.ctx);
	printf("# TCP flow state: %zu bytes (record %zu + bucket share), %u flows in the default memcap\n",
	       per_flow, sizeof(struct stk_tcp_flow), c.max_flows);
	CHECK(sizeof(struct stk_tcp_flow) <= 256);
	CHECK(per_flow <= 256);
	tl_free(&l);
}

static void test_stale_host(void)
{
	struct tl l;
	uint32_t iss;
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 8000, 80, PEER_ISN, &iss));
	/* The decky goes away: its flows die at their next timer. */
	stk_hosts_remove(&l.hosts, l.h->ip_raw);
	tl_advance(&l, 400000);
	CHECK_EQ(l.ctx.tcp->n_flows, 0);
	CHECK_EQ(l.rec.why, STK_CLOSE_HOST_GONE);
	tl_free(&l);
}

static void test_idle_timeout(void)
{
	struct tl l;
	uint32_t iss;
	tl_init(&l, NULL, NULL);
	CHECK(tl_connect(&l, 8100, 80, PEER_ISN, &iss));
	CHECK_EQ(tl_advance(&l, 299000), 0);
	CHECK_EQ(tl_advance(&l, 2000), 1); /* 5 min without progress: RST */
	struct tl_out o;
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.flags, R | A);
	CHECK_EQ(l.rec.why, STK_CLOSE_IDLE);
	tl_free(&l);
}

static void test_wheel(void)
{
	struct item {
		uint32_t pad;
		struct stk_tlink tl;
	} items[64];
	struct stk_wheel w;
	memset(items, 0, sizeof(items));
	for (unsigned i = 0; i < 64; i++)
		items[i].tl.next = items[i].tl.prev = STK_TL_NONE;
	uint32_t start = 0xfffff000u; /* wraps during the test */
	CHECK_EQ(stk_wheel_init(&w, 64, start, items, sizeof(items[0]), offsetof(struct item, tl)), 0);
	for (unsigned i = 0; i < 64; i++)
		stk_wheel_arm(&w, i, start + 1 + i * 7); /* up to 441 ticks: many revolutions */
	stk_wheel_cancel(&w, 5);
	stk_wheel_arm(&w, 6, start + 3); /* re-armed earlier */
	CHECK_EQ(w.armed, 63);
	uint32_t last = 0, fired = 0;
	bool order = true;
	for (uint32_t t = start + 1; t != start + 500; t++) {
		uint32_t i;
		while ((i = stk_wheel_pop(&w, t)) != STK_TL_NONE) {
			uint32_t due = i == 6 ? 3 : 1 + i * 7;
			order &= (t - start) == due && (fired == 0 || due >= last);
			last = due;
			fired++;
		}
	}
	CHECK(order);
	CHECK_EQ(fired, 63);
	CHECK_EQ(w.armed, 0);
	/* A jump far beyond a revolution sweeps. */
	stk_wheel_arm(&w, 1, start + 600);
	stk_wheel_arm(&w, 2, start + 100000);
	CHECK_EQ(stk_wheel_pop(&w, start + 50000), 1);
	CHECK_EQ(stk_wheel_pop(&w, start + 50000), STK_TL_NONE);
	CHECK_EQ(stk_wheel_pop(&w, start + 100000), 2);
	stk_wheel_destroy(&w);
}

static void test_listen_table(void)
{
	struct tl l;
	tl_init(&l, NULL, NULL);
	static uint8_t present[4096];
	memset(present, 0, sizeof(present));
	srand(3);
	int ok = 1;
	for (int step = 0; step < 100000; step++) {
		uint32_t k = (uint32_t)rand() % 4096;
		uint32_t ip = k * 2654435761u;
		uint16_t port = (uint16_t)(1 + k % 5);
		if (rand() & 1) {
			int rc = stk_listen(&l.ctx, ip, STK_IPPROTO_TCP, port, &tl_service, NULL);
			ok &= present[k] ? rc == -EEXIST : rc == 0;
			present[k] = 1;
		} else {
			int rc = stk_unlisten(&l.ctx, ip, STK_IPPROTO_TCP, port);
			ok &= present[k] ? rc == 0 : rc == -ENOENT;
			present[k] = 0;
		}
		uint32_t q = (uint32_t)rand() % 4096;
		ok &= (stk_listen_find(l.ctx.tcp, q * 2654435761u, STK_IPPROTO_TCP, (uint16_t)(1 + q % 5)) != NULL) ==
		      present[q];
		/* Same address and port over UDP is another entry. */
		ok &= stk_listen_find(l.ctx.tcp, q * 2654435761u, STK_IPPROTO_UDP, (uint16_t)(1 + q % 5)) == NULL;
		/* The last-hit slot: the same answer, twice (hit), and after
		 * the table changed under it (grow, backward shifts). */
		for (int twice = 0; twice < 2; twice++)
			ok &= (stk_listen_find_tcp(l.ctx.tcp, q * 2654435761u, (uint16_t)(1 + q % 5)) != NULL) == present[q];
		/* The entry just changed, which the slot may hold. */
		ok &= (stk_listen_find_tcp(l.ctx.tcp, ip, port) != NULL) == present[k];
	}
	CHECK(ok);
	/* Found, removed, looked for again: gone (not the stale slot). */
	CHECK_EQ(stk_listen(&l.ctx, 77, STK_IPPROTO_TCP, 9, &tl_service, NULL), 0);
	CHECK(stk_listen_find_tcp(l.ctx.tcp, 77, 9) != NULL);
	CHECK_EQ(stk_unlisten(&l.ctx, 77, STK_IPPROTO_TCP, 9), 0);
	CHECK(stk_listen_find_tcp(l.ctx.tcp, 77, 9) == NULL);
	CHECK_EQ(stk_listen(&l.ctx, 1, STK_IPPROTO_TCP, 0, &tl_service, NULL), -EINVAL);
	CHECK_EQ(stk_listen(&l.ctx, 1, 47, 5, &tl_service, NULL), -EINVAL);
	tl_free(&l);
}

int main(void)
{
	test_state_machine();
	test_service_lifecycle();
	test_syn_rcvd();
	test_reassembly();
	test_paws();
	test_ts_recent_challenged();
	test_challenge_per_connection();
	test_time_wait_reuse();
	test_shrunk_zero_window();
	test_zero_window_fin();
	test_retransmission();
	test_zero_window();
	test_rcv_held();
	test_send_pressure();
	test_send_backpressure();
	test_option_memo();
	test_syn_cache();
	test_burst_equivalence();
	test_tiny_mss();
	test_syn_cookies();
	test_memcap();
	test_stale_host();
	test_idle_timeout();
	test_wheel();
	test_listen_table();
	return tap_done();
}
