/* Benchmark: TCP answers per second on one core, in memory, against two
 * baselines measured in the same run on the same context:
 *
 *   icmp_echo   the ICMP echo path (the cheapest answer the stack gives)
 *   naive_syn   a straightforward SYN -> SYN-ACK written the obvious way:
 *               one frame at a time, full checksums, decky and listener by
 *               linear scan, an unkeyed chained hash of malloc'd flow
 *               records (oldest freed when full), ISN and TS offset by
 *               SipHash-2-4, the answer malloc'd, zeroed and built from the
 *               persona's layout every time. Checked first to give the
 *               same answer bytes as the engine (but for ISN, IP ID, TSval
 *               and checksums).
 *
 * and the engine's cases:
 *
 *   syn_state   SYNs to an open port from ever-new source ports: a half-
 *               open connection per SYN (a SYN-cache entry), the cache
 *               full and evicting its oldest (steady state of a scan or
 *               flood below the cookie threshold)
 *   syn_cookie  the same SYNs with the half-open threshold reached: SYN
 *               cookies, no state
 *   closed_rst  SYNs to a closed port: the persona's RST
 *
 * Usage: bench_tcp [SYNs per run (default 2000000)] [max flows (default 65536)]
 *                  [case (default all)]
 * With one case (e.g. under callgrind) only that case runs: see
 * tools/bench-callgrind.sh.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/stk.h"
#include "stack/stk_proto.h"
#include "stack/stk_tcp_int.h" /* the cookie threshold, stk_siphash for the naive ISN */
#include "stack/stk_wire.h"

#define NFRAMES 1024
#define BURST 64

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const uint8_t DECKY_MAC[6] = {0x00, 0x25, 0x90, 1, 2, 3};
static const uint8_t PEER_MAC[6] = {0x02, 0, 0, 0, 0, 2};

static const struct stk_service sink = {.name = "sink"};

static uint8_t frames[NFRAMES][128];
static struct stk_pkt pkts[NFRAMES];

static unsigned build(unsigned i, uint32_t decky, uint32_t peer, uint8_t proto, uint16_t dport)
{
	static const uint8_t opts[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
	uint8_t *f = frames[i];
	memcpy(f, DECKY_MAC, 6);
	memcpy(f + 6, PEER_MAC, 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_IPV4);
	uint8_t *ip = f + 14, *l4 = ip + 20;
	unsigned l4len = proto == STK_IPPROTO_TCP ? 40 : 8 + 32;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	stk_put_be16(ip + 2, (uint16_t)(20 + l4len));
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &peer, 4);
	memcpy(ip + 16, &decky, 4);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	memset(l4, 0, l4len);
	if (proto == STK_IPPROTO_TCP) {
		stk_put_be16(l4, (uint16_t)(1024 + i));
		stk_put_be16(l4 + 2, dport);
		stk_put_be32(l4 + 4, 0x1000u * i);
		l4[12] = 0xa0;
		l4[13] = 0x02;
		stk_put_be16(l4 + 14, 64240);
		memcpy(l4 + 20, opts, 20);
		uint8_t ph[12];
		memcpy(ph, &peer, 4);
		memcpy(ph + 4, &decky, 4);
		ph[8] = 0;
		ph[9] = 6;
		stk_put_be16(ph + 10, 40);
		stk_put_be16(l4 + 16, stk_csum_fold(stk_csum_add(stk_csum_add(0, ph, 12), l4, 40)));
	} else {
		l4[0] = 8;
		stk_put_be16(l4 + 4, 7);
		stk_put_be16(l4 + 6, (uint16_t)i);
		stk_put_be16(l4 + 2, stk_csum(l4, l4len));
	}
	pkts[i].data = f;
	pkts[i].len = 14 + 20 + l4len;
	pkts[i].cap = sizeof(frames[i]);
	return pkts[i].len;
}

/* ---- the naive SYN -> SYN-ACK ------------------------------------------- */

struct naive_flow {
	uint32_t lip, rip;
	uint16_t lport, rport;
	uint32_t iss, irs, ts_off;
	struct naive_flow *next;
};

struct naive {
	const uint32_t *deckies; /* addresses, linear scan */
	unsigned n_deckies;
	const struct stk_tcp_policy *pol;
	uint8_t ttl;
	uint16_t port;           /* the one listener */
	uint64_t key[2];
	struct naive_flow **buckets;
	unsigned n_buckets;
	struct naive_flow **fifo; /* creation order, for eviction */
	unsigned max_flows, head, count;
	uint16_t ip_id;
	uint64_t now_ns;
};

/* Plain one's-complement sum, 16 bits at a time. */
static uint32_t naive_sum(uint32_t s, const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t naive_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t naive_pseudo(const uint8_t *src, const uint8_t *dst, unsigned len)
{
	uint32_t s = naive_sum(0, src, 4);
	s = naive_sum(s, dst, 4);
	return s + 6 + len;
}

static void naive_evict_oldest(struct naive *nv)
{
	struct naive_flow *v = nv->fifo[nv->head];
	unsigned b = (v->lip ^ v->rip ^ v->lport ^ v->rport) % nv->n_buckets;
	struct naive_flow **pp = &nv->buckets[b];
	while (*pp != v)
		pp = &(*pp)->next;
	*pp = v->next;
	free(v);
	nv->head = (nv->head + 1) % nv->max_flows;
	nv->count--;
}


/* One frame in, the answer (malloc'd, caller frees) or NULL. */
static uint8_t *naive_syn(struct naive *nv, const uint8_t *f, unsigned len, unsigned *out_len)
{
	if (len < 14 + 20 || stk_be16(f + 12) != STK_ETHERTYPE_IPV4)
		return NULL;
	const uint8_t *ip = f + 14;
	unsigned ihl = (ip[0] & 15) * 4u, tot = stk_be16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || tot > len - 14 || naive_fold(naive_sum(0, ip, ihl)) != 0 ||
	    ip[9] != STK_IPPROTO_TCP)
		return NULL;
	uint32_t lip, rip;
	memcpy(&rip, ip + 12, 4);
	memcpy(&lip, ip + 16, 4);
	unsigned d;
	for (d = 0; d < nv->n_deckies && nv->deckies[d] != lip; d++)
		;
	if (d == nv->n_deckies)
		return NULL;
	const uint8_t *tcp = ip + ihl;
	unsigned tlen = tot - ihl, doff = (tcp[12] >> 4) * 4u;
	if (tlen < 20 || doff < 20 || doff > tlen ||
	    naive_fold(naive_sum(naive_pseudo(ip + 12, ip + 16, tlen), tcp, tlen)) != 0)
		return NULL;
	uint16_t sport = stk_be16(tcp), dport = stk_be16(tcp + 2);
	if ((tcp[13] & 0x17) != STK_TH_SYN || dport != nv->port)
		return NULL;
	uint8_t bits = 0;
	uint16_t peer_mss = 536;
	uint32_t tsval = 0;
	for (unsigned i = 20; i < doff;) {
		uint8_t k = tcp[i];
		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		if (i + 1 >= doff || tcp[i + 1] < 2 || i + tcp[i + 1] > doff)
			break;
		if (k == 2 && tcp[i + 1] == 4) {
			bits |= STK_SYN_MSS;
			peer_mss = stk_be16(tcp + i + 2);
		} else if (k == 3 && tcp[i + 1] == 3) {
			bits |= STK_SYN_WS;
		} else if (k == 4 && tcp[i + 1] == 2) {
			bits |= STK_SYN_SACK;
		} else if (k == 8 && tcp[i + 1] == 10) {
			bits |= STK_SYN_TS;
			tsval = stk_be32(tcp + i + 2);
		}
		i += tcp[i + 1];
	}
	/* The connection: new unless it exists. */
	unsigned b = (lip ^ rip ^ dport ^ sport) % nv->n_buckets;
	struct naive_flow *fl = nv->buckets[b];
	while (fl && !(fl->lip == lip && fl->rip == rip && fl->lport == dport && fl->rport == sport))
		fl = fl->next;
	if (!fl) {
		if (nv->count == nv->max_flows)
			naive_evict_oldest(nv);
		fl = calloc(1, sizeof(*fl));
		if (!fl)
			return NULL;
		*fl = (struct naive_flow){lip, rip, dport, sport, 0, stk_be32(tcp + 4), 0, nv->buckets[b]};
		uint64_t w[2] = {(uint64_t)lip << 32 | rip, (uint64_t)dport << 16 | sport | 1ull << 32};
		fl->iss = (uint32_t)stk_siphash(nv->key, w, 2) + stk_clock_ticks(nv->now_ns, 250000);
		uint64_t w2[2] = {(uint64_t)lip << 32 | rip, 3ull << 32};
		fl->ts_off = (uint32_t)stk_siphash(nv->key, w2, 2);
		nv->buckets[b] = fl;
		nv->fifo[(nv->head + nv->count) % nv->max_flows] = fl;
		nv->count++;
	}
	/* The answer, from scratch. */
	const struct stk_tcp_policy *p = nv->pol;
	uint8_t lb = p->ts.supported ? (p->ts.only_if_syn_ts ? bits : (uint8_t)(bits | STK_SYN_TS))
				     : (uint8_t)(bits & ~STK_SYN_TS);
	uint8_t opts[48];
	unsigned ol = 0;
	for (unsigned i = 0; i < STK_TCP_MAX_TOPTS && p->synack_opts[i].kind != STK_TOPT_END; i++) {
		const struct stk_topt *o = &p->synack_opts[i];
		if ((lb & o->mask) != o->want)
			continue;
		switch (o->kind) {
		case STK_TOPT_MSS:
		case STK_TOPT_MSS_CLAMP: {
			uint16_t m = o->kind == STK_TOPT_MSS_CLAMP && peer_mss < o->value ? peer_mss : o->value;
			opts[ol++] = 2;
			opts[ol++] = 4;
			opts[ol++] = (uint8_t)(m >> 8);
			opts[ol++] = (uint8_t)m;
			break;
		}
		case STK_TOPT_NOP:
			opts[ol++] = 1;
			break;
		case STK_TOPT_WS:
			opts[ol++] = 3;
			opts[ol++] = 3;
			opts[ol++] = (uint8_t)o->value;
			break;
		case STK_TOPT_SACKOK:
			opts[ol++] = 4;
			opts[ol++] = 2;
			break;
		case STK_TOPT_TS: {
			uint32_t v = p->ts.hz ? fl->ts_off + stk_clock_ticks(nv->now_ns, p->ts.hz) : 0;
			opts[ol++] = 8;
			opts[ol++] = 10;
			stk_put_be32(opts + ol, v);
			stk_put_be32(opts + ol + 4, tsval);
			ol += 8;
			break;
		}
		default:
			opts[ol++] = 0;
			break;
		}
	}
	while (ol % 4)
		opts[ol++] = 0;
	uint16_t win = p->synack_win[STK_TCP_MAX_WIN_RULES - 1].window;
	for (unsigned i = 0; i < STK_TCP_MAX_WIN_RULES; i++)
		if ((lb & p->synack_win[i].mask) == p->synack_win[i].want) {
			win = p->synack_win[i].window;
			break;
		}
	unsigned olen = 14 + 20 + 20 + ol;
	uint8_t *o = malloc(olen);
	if (!o)
		return NULL;
	memset(o, 0, olen);
	memcpy(o, f + 6, 6);
	memcpy(o + 6, DECKY_MAC, 6);
	stk_put_be16(o + 12, STK_ETHERTYPE_IPV4);
	uint8_t *oip = o + 14, *ot = oip + 20;
	oip[0] = 0x45;
	stk_put_be16(oip + 2, (uint16_t)(olen - 14));
	stk_put_be16(oip + 4, nv->ip_id++);
	stk_put_be16(oip + 6, p->df_synack ? 0x4000 : 0);
	oip[8] = nv->ttl;
	oip[9] = STK_IPPROTO_TCP;
	memcpy(oip + 12, ip + 16, 4);
	memcpy(oip + 16, ip + 12, 4);
	stk_put_be16(oip + 10, naive_fold(naive_sum(0, oip, 20)));
	stk_put_be16(ot, dport);
	stk_put_be16(ot + 2, sport);
	stk_put_be32(ot + 4, fl->iss);
	stk_put_be32(ot + 8, fl->irs + 1);
	ot[12] = (uint8_t)((20 + ol) / 4 << 4);
	ot[13] = STK_TH_SYN | STK_TH_ACK;
	stk_put_be16(ot + 14, win);
	memcpy(ot + 20, opts, ol);
	stk_put_be16(ot + 16, naive_fold(naive_sum(naive_pseudo(oip + 12, oip + 16, 20 + ol), ot, 20 + ol)));
	*out_len = olen;
	return o;
}

static void naive_free_all(struct naive *nv)
{
	while (nv->count) {
		free(nv->fifo[nv->head]);
		nv->head = (nv->head + 1) % nv->max_flows;
		nv->count--;
	}
	free(nv->fifo);
	free(nv->buckets);
}

/* ---- runs --------------------------------------------------------------- */

/* Runs n frames in bursts; every round comes from a new peer address, so
 * every SYN is a new connection. Only the answering is timed. Returns
 * answers per second. nv: the naive path instead of the engine. */
/* n frames from peers peer_base + round (NFRAMES source ports each). */
static double run(struct stk_ctx *ctx, struct stk_pool *pool, struct naive *nv, uint64_t n, uint32_t decky,
		  uint8_t proto, uint16_t dport, uint32_t peer_base, uint64_t *answers)
{
	struct stk_pkt *rx[BURST], *tx[2 * BURST];
	uint64_t busy = 0, done = 0;
	*answers = 0;
	for (uint32_t round = 0; done < n; round++) {
		uint32_t peer = htonl(peer_base + round);
		for (unsigned i = 0; i < NFRAMES; i++)
			build(i, decky, peer, proto, dport);
		for (unsigned b = 0; b < NFRAMES; b += BURST) {
			uint64_t t0 = now_ns();
			if (nv) {
				nv->now_ns = t0;
				for (unsigned i = 0; i < BURST; i++) {
					unsigned ol;
					uint8_t *o = naive_syn(nv, pkts[b + i].data, pkts[b + i].len, &ol);
					*answers += o != NULL;
					free(o);
				}
				busy += now_ns() - t0;
				continue;
			}
			for (unsigned i = 0; i < BURST; i++)
				rx[i] = &pkts[b + i];
			unsigned n_tx = 0;
			ctx->now_ns = t0;
			stk_input_burst(ctx, rx, BURST, tx, 2 * BURST, &n_tx);
			busy += now_ns() - t0;
			*answers += n_tx;
			for (unsigned i = 0; i < n_tx; i++)
				stk_pool_put(pool, tx[i]);
		}
		done += NFRAMES;
	}
	return (double)*answers * 1e9 / (double)busy;
}

/* The naive answer and the engine's agree on every byte that is not an
 * ISN, IP ID, TSval or checksum. 0 when they do. */
static int cross_check(struct stk_ctx *ctx, struct stk_pool *pool, struct naive *nv, uint32_t decky)
{
	build(0, decky, htonl(0x0c000001), STK_IPPROTO_TCP, 80);
	unsigned nl;
	uint8_t *a = naive_syn(nv, pkts[0].data, pkts[0].len, &nl);
	struct stk_pkt *rx = &pkts[0], *tx[2];
	unsigned n_tx = 0;
	stk_input_burst(ctx, &rx, 1, tx, 2, &n_tx);
	int bad = !a || n_tx != 1 || tx[0]->len != nl;
	if (!bad) {
		uint8_t x[128], y[128];
		memcpy(x, a, nl);
		memcpy(y, tx[0]->data, nl);
		static const unsigned skip[][2] = {{18, 2}, {24, 2}, {38, 4}, {50, 2}};
		for (unsigned i = 0; i < 4; i++) {
			memset(x + skip[i][0], 0, skip[i][1]);
			memset(y + skip[i][0], 0, skip[i][1]);
		}
		for (unsigned i = 54; i + 10 <= nl; i++) /* TSval */
			if (x[i] == 8 && x[i + 1] == 10) {
				memset(x + i + 2, 0, 4);
				memset(y + i + 2, 0, 4);
				break;
			}
		bad = memcmp(x, y, nl) != 0;
	}
	for (unsigned i = 0; i < n_tx; i++)
		stk_pool_put(pool, tx[i]);
	free(a);
	return bad;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	uint32_t max_flows = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 65536;
	const char *only = argc > 3 ? argv[3] : NULL;
	struct stk_hosts hosts;
	struct stk_pool pool;
	struct stk_ctx ctx = {0};
	uint32_t decky = htonl(0x0a4d000a);
	if (max_flows < 1 || stk_hosts_init(&hosts, 4) || stk_pool_init(&pool, 4 * BURST))
		return 1;
	struct stk_host_policy hp = {.ttl = 64, .tcp = stk_tcp_policy_family(FP_FAMILY_LINUX)};
	stk_hosts_add(&hosts, decky, DECKY_MAC, &hp, NULL);
	ctx.hosts = &hosts;
	ctx.tx_pool = &pool;
	ctx.now_ns = now_ns();
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = max_flows;
	c.syn_cookie_threshold = UINT32_MAX;
	c.secret_seed = 1;
	/* DECNET_BENCH_SIPHASH=1: the keyed hashes by SipHash, as on a CPU
	 * without AES-NI */
	c.prf_siphash = getenv("DECNET_BENCH_SIPHASH") && *getenv("DECNET_BENCH_SIPHASH") == '1';
	if (stk_tcp_init(&ctx, &c) || stk_listen(&ctx, decky, STK_IPPROTO_TCP, 80, &sink, NULL))
		return 1;
	struct naive nv = {.deckies = &decky, .n_deckies = 1, .pol = hp.tcp, .ttl = 64, .port = 80,
			   .key = {0x0123456789abcdefull, 0xfedcba9876543210ull}, .max_flows = max_flows};
	nv.n_buckets = max_flows | 1;
	nv.buckets = calloc(nv.n_buckets, sizeof(*nv.buckets));
	nv.fifo = calloc(max_flows, sizeof(*nv.fifo));
	if (!nv.buckets || !nv.fifo)
		return 1;
	nv.now_ns = ctx.now_ns;
	if (cross_check(&ctx, &pool, &nv, decky)) {
		fprintf(stderr, "bench_tcp: the naive SYN-ACK and the engine's differ\n");
		return 1;
	}
	printf("# %llu frames per run, bursts of %d, one core, linux persona, %u flows max\n",
	       (unsigned long long)n, BURST, max_flows);
	printf("# engine state per flow: %zu bytes (flow record %zu + hash buckets)\n", stk_tcp_flow_bytes(&ctx),
	       sizeof(struct stk_tcp_flow));
	uint64_t a;
	double echo = 0, naive = 0;
	if (!only || !strcmp(only, "icmp_echo")) {
		echo = run(&ctx, &pool, NULL, n, decky, STK_IPPROTO_ICMP, 0, 0x0b000000u, &a);
		printf("%-11s %8.2f Mpps  (baseline)\n", "icmp_echo", echo / 1e6);
	}
	if (!only || !strcmp(only, "naive_syn")) {
		naive = run(&ctx, &pool, &nv, n, decky, STK_IPPROTO_TCP, 80, 0x0b000000u, &a);
		printf("%-11s %8.2f Mpps  (baseline; answers %llu)\n", "naive_syn", naive / 1e6,
		       (unsigned long long)a);
	}
	/* Each case its own peers (a case never meets the entries an earlier
	 * one left for its own tuples). */
	static const struct {
		const char *name;
		uint16_t port;
		uint32_t threshold;
		uint32_t peers;
	} cases[] = {{"syn_state", 80, UINT32_MAX, 0x0b000000u},
		     {"syn_cookie", 80, 0, 0x0d000000u},
		     {"closed_rst", 81, UINT32_MAX, 0x0e000000u}};
	for (unsigned k = 0; k < 3; k++) {
		if (only && strcmp(only, cases[k].name))
			continue;
		/* Cookies and closed ports are measured with the SYN cache full,
		 * as a flood leaves it (every SYN then also misses in the cache):
		 * after syn_state it is; run alone, SYNs from other peers fill it
		 * first, unmeasured (tools/bench-callgrind.sh subtracts them). */
		struct stk_tcp *t = ctx.tcp;
		if (k > 0 && t->sc_count < t->sc_cap) {
			t->cfg.syn_cookie_threshold = UINT32_MAX;
			run(&ctx, &pool, NULL, t->sc_cap, decky, STK_IPPROTO_TCP, 80, 0x0a000000u, &a);
			printf("# %s: the SYN cache filled first (%u of %u entries)\n", cases[k].name, t->sc_count,
			       t->sc_cap);
		}
		ctx.tcp->cfg.syn_cookie_threshold = cases[k].threshold;
		uint64_t ev0 = ctx.cnt.tcp_flows_evicted + ctx.cnt.tcp_syncache_evicted;
		double r = run(&ctx, &pool, NULL, n, decky, STK_IPPROTO_TCP, cases[k].port, cases[k].peers, &a);
		printf("%-11s %8.2f Mpps", cases[k].name, r / 1e6);
		if (echo > 0)
			printf("  vs echo %4.2f", r / echo);
		if (naive > 0)
			printf("  vs naive %5.2f", r / naive);
		printf("  (answers %llu, evicted %llu)\n", (unsigned long long)a,
		       (unsigned long long)(ctx.cnt.tcp_flows_evicted + ctx.cnt.tcp_syncache_evicted - ev0));
	}
	naive_free_all(&nv);
	stk_tcp_destroy(&ctx);
	stk_pool_destroy(&pool);
	stk_hosts_destroy(&hosts);
	return 0;
}
