/* Benchmark: TCP answers per second on one core, in memory, against the
 * ICMP echo path measured in the same run on the same context (the
 * baseline: the cheapest answer the stack gives).
 *
 *   syn_state   SYNs to an open port from ever-new source ports: a flow per
 *               SYN, the table full and evicting its oldest (steady state
 *               of a scan or flood below the cookie threshold)
 *   syn_cookie  the same SYNs with the half-open threshold reached: SYN
 *               cookies, no state
 *   closed_rst  SYNs to a closed port: the persona's RST
 *
 * Usage: bench_tcp [SYNs per run (default 2000000)] [max flows (default 65536)]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/stk.h"
#include "stack/stk_proto.h"
#include "stack/stk_tcp_int.h" /* to move the cookie threshold between runs */
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

/* Runs n frames in bursts; every round comes from a new peer address, so
 * every SYN is a new connection. Only stk_input_burst is timed. Returns
 * answers per second. */
static double run(struct stk_ctx *ctx, struct stk_pool *pool, uint64_t n, uint32_t decky, uint8_t proto,
		  uint16_t dport, uint64_t *answers)
{
	struct stk_pkt *rx[BURST], *tx[2 * BURST];
	uint64_t busy = 0, done = 0;
	*answers = 0;
	for (uint32_t round = 0; done < n; round++) {
		uint32_t peer = htonl(0x0b000000u + round);
		for (unsigned i = 0; i < NFRAMES; i++)
			build(i, decky, peer, proto, dport);
		for (unsigned b = 0; b < NFRAMES; b += BURST) {
			for (unsigned i = 0; i < BURST; i++)
				rx[i] = &pkts[b + i];
			unsigned n_tx = 0;
			uint64_t t0 = now_ns();
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

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	uint32_t max_flows = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 65536;
	struct stk_hosts hosts;
	struct stk_pool pool;
	struct stk_ctx ctx = {0};
	uint32_t decky = htonl(0x0a4d000a);
	if (stk_hosts_init(&hosts, 4) || stk_pool_init(&pool, 4 * BURST))
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
	if (stk_tcp_init(&ctx, &c) || stk_listen(&ctx, decky, STK_IPPROTO_TCP, 80, &sink, NULL))
		return 1;
	printf("# %llu frames per run, bursts of %d, one core, linux persona, %u flows max\n",
	       (unsigned long long)n, BURST, max_flows);
	uint64_t a;
	double base = run(&ctx, &pool, n, decky, STK_IPPROTO_ICMP, 0, &a);
	printf("%-11s %8.2f Mpps  (baseline)\n", "icmp_echo", base / 1e6);
	static const struct {
		const char *name;
		uint16_t port;
		uint32_t threshold;
	} cases[] = {{"syn_state", 80, UINT32_MAX}, {"syn_cookie", 80, 0}, {"closed_rst", 81, UINT32_MAX}};
	for (unsigned k = 0; k < 3; k++) {
		ctx.tcp->cfg.syn_cookie_threshold = cases[k].threshold;
		double r = run(&ctx, &pool, n, decky, STK_IPPROTO_TCP, cases[k].port, &a);
		printf("%-11s %8.2f Mpps  ratio to echo %4.2f  (answers %llu, evicted %llu)\n", cases[k].name,
		       r / 1e6, r / base, (unsigned long long)a, (unsigned long long)ctx.cnt.tcp_flows_evicted);
	}
	stk_tcp_destroy(&ctx);
	stk_pool_destroy(&pool);
	stk_hosts_destroy(&hosts);
	return 0;
}
