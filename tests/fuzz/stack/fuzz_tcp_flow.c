/* Fuzz the TCP state machine: the input is a script of segments (mostly
 * aimed at one connection: in-window, just outside, wildly off), service
 * actions (send, close, abort), timer advances and UDP datagrams, run
 * through stk_input_burst and stk_timers_advance as the engine drives them.
 *
 * The first bytes pick the persona (a family's table, or one of 64 entries
 * of nmap's nmap-os-db compiled into exact answers when the database is
 * installed), the service's behaviour, the SYN-cookie threshold, the
 * flow memcap and how many frames go in per burst (1-7: bursts exercise
 * the per-burst hashing ahead). SYNs sometimes carry nmap's own probe option layouts, so
 * the exact-answer path (stk_tcp_exact.c) runs as often as the generic one. Checked after every step: each
 * answer is a well-formed frame with valid checksums, no pool buffer leaks,
 * the flow table stays within its cap. At the end ten minutes of silence
 * must leave nothing behind: no flow, timer, send chunk or pending output.
 *
 * With bit 0x40 of the mode byte, the UDP step drives active opens instead
 * (steering's backend legs, stk_tcp_connect.c): connects from the peer's
 * address to three backends, their ARP replies (learnt) or configured
 * MACs, and what the backends send back (SYN-ACKs aimed at the leg, RSTs,
 * data, anything): the side a compromised backend container controls.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decnet_config.h"
#include "fingerprints/fp_persona.h"
#include "stack/stk.h"
#include "stack/stk_persona.h"
#include "stack/stk_proto.h"
#include "stack/stk_tcp.h"
#include "stack/stk_tcp_int.h"
#include "stack/stk_wire.h"
#include "stack/stk_frag.h"
#include "stack/stk_timer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TX 64
#define EPOCH_NS 5000000000000ull

static const uint8_t DECKY_MAC[6] = {0x00, 0x25, 0x90, 1, 2, 3};
static const uint8_t PEER_MAC[6] = {0x02, 0, 0, 0, 0, 2};
#define N_BK 3
#define BK_PORT 8080
#define LEG_PORT 40100 /* the legs' local ports: 40100..40103 */
static const uint8_t BK_MAC[N_BK][6] = {{0x02, 0, 0, 0x4e, 0, 1}, {0x02, 0, 0, 0x4e, 0, 2}, {0x02, 0, 0, 0x4e, 0, 3}};

struct fz {
	struct stk_hosts hosts;
	struct stk_pool *pool;  /* tx buffers, kept across runs (fresh_pool) */
	struct stk_ctx ctx;
	uint32_t decky, peer;
	uint8_t frame[2048];
	struct stk_pkt *tx[MAX_TX];
	unsigned n_tx;
	/* what the peer knows of the main connection */
	uint32_t peer_seq, our_seq;
	uint8_t mode;           /* service behaviour */
	struct stk_tcp_sock *sock;
	const uint8_t *in, *end;
	const uint8_t *fixed_opts; /* the next segment's options, when set */
	unsigned fixed_len;
	/* frames held to go in as one burst (stk_tcp_burst_begin's hashes
	 * ahead); batch 0 or 1: each frame alone */
	unsigned batch, nq;
	unsigned qlen[8];
	uint8_t q[8][1600];
	/* active opens: where each leg's SYN started (leg k: LEG_PORT + k) */
	uint32_t leg_iss[4];
};

static uint32_t bk_ip(unsigned k)
{
	return htonl(0x0a4e000au + k); /* 10.78.0.10 + k */
}

/* nmap's SEQ probe 1, 3, 4 and 6 layouts and its ECN probe. */
static const uint8_t nmap_opts[5][20] = {
	{3, 3, 10, 1, 2, 4, 5, 0xb4, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2},
	{8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 1, 3, 3, 5, 1, 2, 4, 2, 0x80},
	{4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 3, 3, 10, 0},
	{2, 4, 1, 9, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
	{3, 3, 10, 1, 2, 4, 5, 0xb4, 4, 2, 1, 1},
};
static const unsigned nmap_optlen[5] = {20, 20, 16, 16, 12};

/* Compiled personas, made on first use (1-2 ms each) and kept: state a
 * fuzzer must hold across runs. NULL when nmap's database is missing. */
static const struct stk_host_policy *compiled_persona(unsigned pick)
{
	static struct fp_osdb *db;
	static bool tried;
	static struct {
		bool done, ok;
		struct stk_tcp_policy pol;
		struct stk_host_policy host;
	} cache[64];
	if (!tried) {
		char err[256];
		const char *path = getenv("DECNET_NMAP_OS_DB");
		tried = true;
		if (fp_osdb_load(path && *path ? path : DECNET_NMAP_OS_DB, &db, err, sizeof(err)) != 0)
			db = NULL;
	}
	if (!db)
		return NULL;
	pick %= 64;
	if (!cache[pick].done) {
		static struct fp_persona p;
		char err[256];
		size_t idx = pick * (fp_osdb_count(db) / 64);
		cache[pick].done = true;
		cache[pick].ok = fp_persona_compile(db, idx, &p, err, sizeof(err)) == 0 &&
				 stk_policy_from_persona(&p, &cache[pick].pol, &cache[pick].host) == 0;
	}
	return cache[pick].ok ? &cache[pick].host : NULL;
}

static uint8_t take8(struct fz *z)
{
	return z->in < z->end ? *z->in++ : 0;
}

static uint16_t take16(struct fz *z)
{
	return (uint16_t)(take8(z) << 8 | take8(z));
}

static uint32_t take32(struct fz *z)
{
	return (uint32_t)take16(z) << 16 | take16(z);
}

/* ---- a service that does what the input says ------------------------------ */

static int svc_accept(struct stk_ctx *ctx, struct stk_tcp_sock *s, void *arg)
{
	struct fz *z = arg;
	*stk_tcp_sock_app(s) = z;
	if (!z->sock)
		z->sock = s;
	if ((z->mode & 3) == 3)
		stk_tcp_send(ctx, s, "220 banner\r\n", 12);
	return (z->mode & 0x30) == 0x30 ? -1 : 0;
}

static unsigned svc_recv(struct stk_ctx *ctx, struct stk_tcp_sock *s, const uint8_t *d, unsigned len)
{
	struct fz *z = *stk_tcp_sock_app(s);
	switch (z->mode & 3) {
	case 0:
		return stk_tcp_send(ctx, s, d, len); /* echo */
	case 1:
		return len > 3 ? len / 2 : len; /* slow reader */
	case 2:
		if (len > 8)
			stk_tcp_close(ctx, s);
		return len;
	default:
		if (d[0] == 'X')
			stk_tcp_abort(ctx, s);
		return len;
	}
}

static unsigned svc_space(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	return stk_tcp_send_space(ctx, s);
}

static void svc_peer_closed(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	struct fz *z = *stk_tcp_sock_app(s);
	if (!(z->mode & 4))
		stk_tcp_close(ctx, s);
}

static void svc_writable(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	stk_tcp_send(ctx, s, "more", 4);
}

static void svc_closed(struct stk_ctx *ctx, struct stk_tcp_sock *s, enum stk_close_reason why)
{
	struct fz *z = *stk_tcp_sock_app(s);
	if (z->sock == s)
		z->sock = NULL;
	/* Calls from closed() must be harmless no-ops. */
	stk_tcp_send(ctx, s, "x", 1);
	stk_tcp_close(ctx, s);
	stk_tcp_abort(ctx, s);
}

static void svc_datagram(struct stk_ctx *ctx, const struct stk_udp_dgram *d, void *arg)
{
	stk_udp_reply(ctx, d, d->data, d->len);
}

static const struct stk_service fuzz_svc = {
	.name = "fuzz",
	.accept = svc_accept,
	.recv = svc_recv,
	.recv_space = svc_space,
	.peer_closed = svc_peer_closed,
	.writable = svc_writable,
	.closed = svc_closed,
	.datagram = svc_datagram,
};

/* ---- the tx pool ------------------------------------------------------------
 * Made once and handed to each run exactly as stk_pool_init leaves it
 * (free stack in the same order): allocating it per run cost an mmap per
 * run under ASan (128 KiB and redzones is beyond its size classes). Every
 * buffer reads as 0xbe garbage when the stack takes it (ASan's fill of a
 * fresh allocation), never as an earlier frame. */
static struct stk_pool *fresh_pool(void)
{
	static struct stk_pool pool;
	if (!pool.size) {
		if (stk_pool_init(&pool, MAX_TX))
			abort();
		memset(pool.mem, 0xbe, (size_t)pool.size * STK_PKT_BUF_SIZE);
	}
	if (pool.n_free != pool.size) /* check_answers aborts first */
		abort();
	for (uint32_t i = 0; i < pool.size; i++) {
		pool.pkts[i] = (struct stk_pkt){
			.data = pool.mem + (size_t)i * STK_PKT_BUF_SIZE, .cap = STK_PKT_BUF_SIZE, .pool_idx = i};
		pool.free_stack[i] = pool.size - 1 - i;
	}
	return &pool;
}

/* Back to garbage before the buffer returns to the pool. */
static void scribble(struct stk_pool *pool, const struct stk_pkt *p)
{
	memset(pool->mem + (size_t)p->pool_idx * STK_PKT_BUF_SIZE, 0xbe, STK_PKT_BUF_SIZE);
}

/* ---- frames ---------------------------------------------------------------- */

/* To the peer, or to a backend (active opens only). */
static bool dst_ok(const struct stk_pkt *p)
{
	if (!memcmp(p->data, PEER_MAC, 6))
		return true;
	for (unsigned k = 0; k < N_BK; k++)
		if (!memcmp(p->data, BK_MAC[k], 6))
			return true;
	return false;
}

static void check_answers(struct fz *z)
{
	for (unsigned i = 0; i < z->n_tx; i++) {
		const struct stk_pkt *p = z->tx[i];
		const uint8_t *ip = p->data + 14;
		if (p->len >= 42 && stk_be16(p->data + 12) == STK_ETHERTYPE_ARP) {
			/* the decky asking for a backend (an active open: a
			 * broadcast request), or answering one's request */
			uint32_t tpa = stk_load_raw32(p->data + 38);
			uint16_t op = stk_be16(p->data + 20);
			bool asks = op == STK_ARP_OP_REQUEST && p->data[0] == 0xff;
			bool answers = op == STK_ARP_OP_REPLY && dst_ok(p) && memcmp(p->data, PEER_MAC, 6);
			if (p->len != 42 || !(asks || answers) || memcmp(p->data + 6, DECKY_MAC, 6) ||
			    (tpa != bk_ip(0) && tpa != bk_ip(1) && tpa != bk_ip(2)))
				abort();
			scribble(z->pool, z->tx[i]);
			stk_pool_put(z->pool, z->tx[i]);
			continue;
		}
		if (p->len < 34 || p->len > 1514 || !dst_ok(p) || ip[0] != 0x45 || stk_csum(ip, 20) != 0 ||
		    14u + stk_be16(ip + 2) != p->len)
			abort();
		unsigned l4 = stk_be16(ip + 2) - 20u;
		if (ip[9] == STK_IPPROTO_TCP || ip[9] == STK_IPPROTO_UDP) {
			uint32_t sum = stk_l4_pseudo(stk_load_raw32(ip + 12), stk_load_raw32(ip + 16), ip[9], l4);
			if (stk_csum_fold(stk_csum_add(sum, ip + 20, l4)) != 0)
				abort();
		} else if (ip[9] != STK_IPPROTO_ICMP || stk_csum(ip + 20, l4) != 0) {
			abort();
		}
		if (ip[9] == STK_IPPROTO_TCP) {
			const uint8_t *t = ip + 20;
			if ((t[12] >> 4) * 4u < 20 || (t[12] >> 4) * 4u > l4)
				abort();
			/* Learn where the main connection is. */
			if (stk_be16(t + 2) == 40000 && (t[13] & STK_TH_SYN))
				z->our_seq = stk_be32(t + 4) + 1;
			if (stk_be16(t + 2) == BK_PORT && (stk_be16(t) & ~3u) == LEG_PORT && (t[13] & STK_TH_SYN))
				z->leg_iss[stk_be16(t) & 3] = stk_be32(t + 4);
		}
		scribble(z->pool, z->tx[i]);
		stk_pool_put(z->pool, z->tx[i]);
	}
	z->n_tx = 0;
	if (z->pool->n_free != z->pool->size)
		abort();
	if (z->ctx.tcp->n_flows > z->ctx.tcp->cfg.max_flows)
		abort();
}

/* Who a frame to the decky's MAC comes from: the peer (to the decky's
 * address), or a backend (to the peer's address: a steering leg). */
struct sender {
	const uint8_t *mac;
	uint32_t src, dst;
};

static struct sender from_peer(const struct fz *z)
{
	return (struct sender){PEER_MAC, z->peer, z->decky};
}

static unsigned ip_frame(struct fz *z, const struct sender *w, uint8_t proto, unsigned l4_len)
{
	uint8_t *f = z->frame;
	memcpy(f, DECKY_MAC, 6);
	memcpy(f + 6, w->mac, 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_IPV4);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	stk_put_be16(ip + 2, (uint16_t)(20 + l4_len));
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &w->src, 4);
	memcpy(ip + 16, &w->dst, 4);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	return 14 + 20 + l4_len;
}

/* The held frames as one burst. */
static void flush(struct fz *z)
{
	if (!z->nq)
		return;
	struct stk_pkt pk[8], *rx[8];
	for (unsigned i = 0; i < z->nq; i++) {
		pk[i] = (struct stk_pkt){.data = z->q[i], .len = z->qlen[i], .cap = sizeof(z->q[i])};
		rx[i] = &pk[i];
	}
	stk_input_burst(&z->ctx, rx, z->nq, z->tx, MAX_TX, &z->n_tx);
	z->nq = 0;
	check_answers(z);
}

static void run_frame(struct fz *z, unsigned len)
{
	if (z->batch > 1 && len <= sizeof(z->q[0])) {
		memcpy(z->q[z->nq], z->frame, len);
		z->qlen[z->nq++] = len;
		if (z->nq == z->batch)
			flush(z);
		return;
	}
	flush(z);
	struct stk_pkt pkt = {.data = z->frame, .len = len, .cap = sizeof(z->frame)};
	struct stk_pkt *rx = &pkt;
	stk_input_burst(&z->ctx, &rx, 1, z->tx, MAX_TX, &z->n_tx);
	check_answers(z);
}

/* Segment data: "aXcXeX..." (an X at every odd offset: what makes the
 * service abort in mode 3). Made once; len is at most 1400. */
static const uint8_t *payload(void)
{
	static uint8_t pat[1400];
	if (!pat[0])
		for (unsigned i = 0; i < sizeof(pat); i++)
			pat[i] = (uint8_t)(i & 1 ? 'X' : 'a' + i % 26);
	return pat;
}

static void segment_from(struct fz *z, const struct sender *w, uint16_t sport, uint16_t dport, uint8_t flags,
			 uint32_t seq, uint32_t ack, uint16_t win, unsigned optlen, unsigned len)
{
	optlen &= ~3u;
	unsigned tlen = 20 + optlen + len;
	unsigned flen = ip_frame(z, w, STK_IPPROTO_TCP, tlen);
	uint8_t *t = z->frame + 34;
	stk_put_be16(t, sport);
	stk_put_be16(t + 2, dport);
	stk_put_be32(t + 4, seq);
	stk_put_be32(t + 8, ack);
	t[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	t[13] = flags;
	stk_put_be16(t + 14, win);
	memset(t + 16, 0, 4);
	if (z->fixed_opts) {
		memset(t + 20, 0, optlen);
		memcpy(t + 20, z->fixed_opts, z->fixed_len < optlen ? z->fixed_len : optlen);
		z->fixed_opts = NULL;
	} else {
		for (unsigned i = 0; i < optlen; i++)
			t[20 + i] = take8(z);
	}
	memcpy(t + 20 + optlen, payload(), len);
	uint32_t sum = stk_l4_pseudo(w->src, w->dst, STK_IPPROTO_TCP, tlen);
	stk_put_be16(t + 16, stk_csum_fold(stk_csum_add(sum, t, tlen)));
	run_frame(z, flen);
}

/* A segment from the peer to the decky. */
static void segment(struct fz *z, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
		    uint16_t win, unsigned optlen, unsigned len)
{
	struct sender w = from_peer(z);
	segment_from(z, &w, sport, dport, flags, seq, ack, win, optlen, len);
}

static void advance_to(struct fz *z, uint64_t now)
{
	flush(z); /* held frames arrive before time moves on */
	unsigned more = 1;
	for (int round = 0; more && round < 16; round++) {
		more = stk_timers_advance(&z->ctx, now, z->tx, MAX_TX, &z->n_tx);
		check_answers(z);
	}
}

static void advance(struct fz *z, uint64_t ms)
{
	advance_to(z, z->ctx.now_ns + ms * 1000000ull);
}

/* During the final silence (one tick a second from start_ns, the next at
 * second sec): the last second <= 600 up to which the ticks from sec on
 * have nothing to do, i.e. the second in which the earliest armed timer
 * falls due (or 600 when none is armed). sec itself when output is
 * pending or a reassembly may expire: those take a tick every second. */
static unsigned quiet_until(const struct fz *z, uint64_t start_ns, unsigned sec)
{
	const struct stk_tcp *t = z->ctx.tcp;
	if (t->pend_head != STK_NONE || stk_frag_pending(&z->ctx))
		return sec;
	/* The earliest deadline: the wheel only holds flows; the SYN cache
	 * keeps its entries in FIFOs, each with its next due at the head. */
	uint32_t cur = stk_now_ms(&z->ctx);
	uint32_t first = 0;
	bool any = false;
	unsigned wheel_seen = 0, sc_seen = 0;
	for (uint32_t i = 0; i < t->cfg.max_flows; i++) {
		const struct stk_tlink *l = &t->flows[i].tl;
		if (l->prev == STK_TL_NONE)
			continue;
		if (!any || stk_tick_before(l->expires, first))
			first = l->expires;
		any = true;
		wheel_seen++;
	}
	for (unsigned q = 0; q < STK_SC_QUEUES; q++) {
		if (t->sc_q[q].head == STK_NONE)
			continue;
		uint32_t at = t->sc[t->sc_q[q].head].rto_at;
		if (!any || stk_tick_before(at, first))
			first = at;
		any = true;
		sc_seen++;
	}
	/* Something timed that is not where we looked: don't guess. */
	if (wheel_seen != t->wheel.armed || (t->sc_count && !sc_seen))
		return sec;
	if (!any)
		return 600;
	if (!stk_tick_before(cur, first))
		return sec; /* already due */
	/* Tick of second s: start_ms + s * 1000 (start_ns is a whole ms). */
	uint32_t start_ms = (uint32_t)(start_ns / 1000000u);
	uint32_t due = (first - start_ms + 999u) / 1000u; /* first second with tick >= first */
	if (due <= sec)
		return sec;
	return due < 600 ? due : 600;
}

/* A frame from backend k to the peer's address (the leg's far end): its
 * route back goes through the decky, so to the decky's MAC. */
static void bk_segment(struct fz *z, unsigned k, unsigned leg, uint8_t flags, uint32_t seq, uint32_t ack,
		       uint16_t win, unsigned optlen, unsigned len)
{
	struct sender w = {BK_MAC[k], bk_ip(k), z->peer};
	segment_from(z, &w, BK_PORT, (uint16_t)(LEG_PORT + leg), flags, seq, ack, win, optlen, len);
}

static void arp_from_backend(struct fz *z, unsigned k, bool request)
{
	uint8_t *f = z->frame;
	memcpy(f, request ? (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff} : DECKY_MAC, 6);
	memcpy(f + 6, BK_MAC[k], 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_ARP);
	uint8_t *a = f + 14;
	stk_put_be16(a, 1);
	stk_put_be16(a + 2, STK_ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	stk_put_be16(a + 6, request ? STK_ARP_OP_REQUEST : STK_ARP_OP_REPLY);
	uint32_t sip = bk_ip(k);
	memcpy(a + 8, BK_MAC[k], 6);
	memcpy(a + 14, &sip, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, &z->decky, 4);
	run_frame(z, 42);
}

/* Active opens and their backends (mode bit 0x40, in place of UDP). */
static void backend_step(struct fz *z, uint8_t b)
{
	unsigned k = take8(z) % N_BK, leg = b >> 6;
	switch (b % 7) {
	case 0: {
		flush(z);
		struct stk_tcp_sock *s = NULL;
		stk_tcp_connect(&z->ctx, z->decky, z->peer, (uint16_t)(LEG_PORT + leg), bk_ip(k), BK_PORT, &fuzz_svc,
				z, &s);
		if (s)
			*stk_tcp_sock_app(s) = z; /* closed() may come before accept() */
		advance(z, 0);
		break;
	}
	case 1:
		arp_from_backend(z, k, b & 0x20);
		break;
	case 2:
		flush(z);
		stk_tcp_neigh_set(&z->ctx, bk_ip(k), BK_MAC[k]);
		break;
	case 3: { /* the SYN-ACK the leg waits for, options from the input */
		uint32_t seq = take32(z);
		uint32_t ack = z->leg_iss[leg] + 1 + (b & 0x08 ? (uint32_t)(int8_t)take8(z) : 0);
		uint16_t win = take16(z);
		unsigned optlen = (take8(z) & 0x0f) * 4u;
		bk_segment(z, k, leg, STK_TH_SYN | STK_TH_ACK | (b & 0x10 ? STK_TH_ECE : 0), seq, ack, win,
			   optlen > 40 ? 40 : optlen, 0);
		break;
	}
	default: { /* anything from a backend to the peer's address, near the leg or not */
		uint8_t flags = take8(z);
		uint32_t seq = take32(z);
		uint32_t ack = b % 7 == 4 ? z->leg_iss[leg] + (uint32_t)(int8_t)take8(z) : take32(z);
		uint16_t win = take16(z);
		unsigned len = take8(z) * (b % 7 == 4 ? 1u : 4u);
		bk_segment(z, k, leg, flags, seq, ack, win, b & 0x1c, len > 1400 ? 1400 : len);
		break;
	}
	}
}

static void step(struct fz *z)
{
	uint8_t op = take8(z);
	uint8_t b = take8(z);
	switch (op & 7) {
	case 0: /* SYN (with options) to the main port */
		z->peer_seq = take32(z);
		if (op & 0x80) { /* one of nmap's probe layouts */
			unsigned k = (op >> 3) % 5;
			z->fixed_opts = nmap_opts[k];
			z->fixed_len = nmap_optlen[k];
			segment(z, 40000, 80, STK_TH_SYN | (b & (STK_TH_ECE | STK_TH_CWR | STK_TH_FIN)), z->peer_seq,
				0, take16(z), nmap_optlen[k], 0);
		} else {
			segment(z, 40000, 80, STK_TH_SYN | (b & (STK_TH_ECE | STK_TH_CWR | STK_TH_FIN)), z->peer_seq,
				0, take16(z), (b & 0x0f) * 4u > 40 ? 40 : (b & 0x0f) * 4u, 0);
		}
		z->peer_seq++;
		break;
	case 1: { /* near the main connection's window */
		int32_t dseq = (int8_t)take8(z) * (int32_t)(b & 0x80 ? 1000 : 1);
		int32_t dack = (int8_t)take8(z);
		unsigned len = take8(z) * (b & 0x40 ? 8u : 1u);
		uint8_t flags = take8(z);
		segment(z, 40000, 80, flags, z->peer_seq + (uint32_t)dseq, z->our_seq + (uint32_t)dack,
			take16(z), b & 0x0c, len > 1400 ? 1400 : len);
		break;
	}
	case 2: /* time passes */
		advance(z, (uint64_t)take16(z) * (b & 1 ? 100 : 1));
		break;
	case 3: /* the service acts */
		flush(z);
		if (z->sock) {
			static const uint8_t blob[8192];
			if (b < 160)
				stk_tcp_send(&z->ctx, z->sock, blob, (b + 1u) * 50);
			else if (b < 220)
				stk_tcp_close(&z->ctx, z->sock);
			else
				stk_tcp_abort(&z->ctx, z->sock);
			advance(z, 0);
		}
		break;
	case 4: /* anything at all */
		segment(z, take16(z), b & 1 ? 80 : take16(z), take8(z), take32(z), take32(z), take16(z), b & 0x1c,
			take8(z));
		break;
	case 5: { /* UDP (or, mode bit 0x40, active opens) */
		if (z->mode & 0x40) {
			backend_step(z, b);
			break;
		}
		unsigned len = b % 64;
		struct sender w = from_peer(z);
		unsigned flen = ip_frame(z, &w, STK_IPPROTO_UDP, 8 + len);
		uint8_t *u = z->frame + 34;
		stk_put_be16(u, 5353);
		stk_put_be16(u + 2, b & 0x80 ? 7 : take16(z));
		stk_put_be16(u + 4, (uint16_t)(8 + len));
		stk_put_be16(u + 6, 0);
		memset(u + 8, 'u', len);
		run_frame(z, flen);
		break;
	}
	case 6: /* other connections (memcap, eviction, cookies) */
		segment(z, (uint16_t)(41000 + b), 80, b & 1 ? STK_TH_SYN : STK_TH_ACK, take32(z), take32(z), 1000, 0, 0);
		break;
	default: /* in-order data (with FIN sometimes) for the main connection */
		segment(z, 40000, 80, STK_TH_ACK | (b & 1 ? STK_TH_FIN : 0) | STK_TH_PSH, z->peer_seq, z->our_seq,
			take16(z), 0, b);
		z->peer_seq += b + (b & 1);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	static struct fz z;
	memset(&z, 0, sizeof(z));
	z.in = data + 4;
	z.end = data + size;
	z.mode = data[1];
	z.batch = (data[3] >> 4) & 7; /* data[3] & 15: the flow cap */
	z.decky = htonl(0x0a4d000a);
	z.peer = htonl(0x0a4d0002);
	z.pool = fresh_pool();
	if (stk_hosts_init(&z.hosts, 4))
		abort();
	struct stk_host_policy hp = {.ttl = 64, .tcp = stk_tcp_policy_family((enum fp_family)(data[0] % FP_FAMILY_COUNT))};
	if (data[0] & 0x80) {
		const struct stk_host_policy *cp = compiled_persona(data[0] & 0x7f);
		if (cp)
			hp = *cp;
	}
	stk_hosts_add(&z.hosts, z.decky, DECKY_MAC, &hp, NULL);
	z.ctx.hosts = &z.hosts;
	z.ctx.tx_pool = z.pool;
	z.ctx.now_ns = EPOCH_NS;
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 1 + data[3] % 16;
	c.syn_cookie_threshold = data[2] % 8 == 7 ? UINT32_MAX : data[2] % 8;
	c.sndbuf_bytes = 64u << 10;
	c.sndbuf_per_flow = 16u << 10;
	c.secret_seed = 7;
	c.listeners = 2; /* the two below; the default sizes the port table for 1024 */
	if (stk_tcp_init(&z.ctx, &c))
		abort();
	stk_listen(&z.ctx, z.decky, STK_IPPROTO_TCP, 80, &fuzz_svc, &z);
	stk_listen(&z.ctx, z.decky, STK_IPPROTO_UDP, 7, &fuzz_svc, &z);
	for (unsigned n = 0; z.in < z.end && n < 512; n++)
		step(&z);
	flush(&z);
	/* Ten minutes of silence, as the engine would see it with a tick every
	 * second: everything must be gone. Once nothing is left (no flow, no
	 * armed timer, no chunk, no pending output) nothing can happen any
	 * more: stop early. Seconds in which nothing is due are skipped
	 * (quiet_until), which leaves every timer firing at the same second,
	 * in the same order, as stepping through each of them would. */
	struct stk_tcp *t = z.ctx.tcp;
	uint64_t start_ns = z.ctx.now_ns;
	for (unsigned sec = 1; sec <= 600 && (t->n_flows || t->sc_count || t->wheel.armed || t->chunks_used ||
						t->pend_head != STK_NONE);
	     sec++) {
		unsigned last = quiet_until(&z, start_ns, sec);
		if (last > sec) {
			/* Nothing due before second last. A jump of more than a
			 * wheel revolution would collect what is due slot by slot
			 * rather than in time order: first a silent step to the
			 * second before, then the tick in which it all fires. */
			uint64_t gap_ms = (start_ns + (uint64_t)last * 1000000000ull - z.ctx.now_ns) / 1000000u;
			if (gap_ms > t->wheel.mask)
				advance_to(&z, start_ns + (uint64_t)(last - 1) * 1000000000ull);
			sec = last;
		}
		advance_to(&z, start_ns + (uint64_t)sec * 1000000000ull);
	}
	if (t->n_flows || t->half_open || t->sc_count || t->time_wait || t->chunks_used || t->wheel.armed ||
	    t->pend_head != STK_NONE) {
		/* what was left, for whoever reads the crash */
		fprintf(stderr, "left after 10 min: flows %u, half-open %u, SYN cache %u, TIME-WAIT %u, chunks %u, timers %u\n",
			t->n_flows, t->half_open, t->sc_count, t->time_wait, t->chunks_used, (unsigned)t->wheel.armed);
		for (uint32_t i = 0; i < t->cfg.max_flows; i++) {
			const struct stk_tcp_flow *f = &t->flows[i];
			if (f->state != STK_TCP_FREE)
				fprintf(stderr, "flow %u: state %u flags %#x/%#x, queued %u (held %u bytes), send queue %u\n",
					i, f->state, f->flags, f->xflags, f->ooo_count, stk_reasm_held_bytes(t, f), f->sq_len);
		}
		abort();
	}
	stk_tcp_destroy(&z.ctx);
	stk_hosts_destroy(&z.hosts);
	return 0;
}
