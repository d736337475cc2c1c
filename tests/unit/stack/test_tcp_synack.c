/* SYN-ACK templates (stk_tcp_synack.c): for every family policy and a
 * synthetic one (MSS clamped to the peer's, EOL padding, ECN), every
 * combination of SYN option bits and several peer MSS values, the SYN-ACK
 * sent from the template carries exactly the options the layout walk
 * writes (stk_synack_options_build), the window of stk_synack_window, the
 * policy's ECE, and valid checksums. And a policy whose bytes change at
 * the same address (a persona freed and another allocated there while
 * deckies come and go) is rebuilt, not served from the cache.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_lab.h"
#include "../tap.h"

static uint32_t ip_raw(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static unsigned send_one(struct tl *l, uint8_t bits, uint16_t peer_mss, uint32_t tsval, uint32_t tsecr)
{
	struct stk_tcp *t = l->ctx.tcp;
	l->n_tx = 0;
	t->tx = l->tx;
	t->tx_cap = TL_MAX_TX;
	t->n_tx = &l->n_tx;
	struct stk_synack_info si = {bits, peer_mss, 7, tsval, tsecr, NULL, 0};
	stk_tcp_send_synack(&l->ctx, l->h, (const uint8_t *)"\x02\x00\x00\x00\x00\x02", ip_raw(TL_PEER_IP),
			    80, 40000, 0x11223344, 0x55667788, &si);
	t->tx = NULL;
	t->n_tx = NULL;
	return l->n_tx;
}

/* The frame against the slow path; returns 0 when every check holds. */
static int check_one(struct tl *l, const struct stk_tcp_policy *p, uint8_t bits, uint16_t peer_mss, uint32_t tsval,
		     uint32_t tsecr)
{
	if (send_one(l, bits, peer_mss, tsval, tsecr) != 1)
		return 1;
	const struct stk_pkt *out = l->tx[0];
	const uint8_t *ip = out->data + 14, *tcp = ip + 20;
	uint8_t want[40], inc, ws;
	memset(want, 0, sizeof(want));
	unsigned n = stk_synack_options_build(p, bits, peer_mss, tsval, tsecr, want, &inc, &ws);
	while (n % 4)
		want[n++] = 0;
	unsigned tlen = stk_be16(ip + 2) - 20u;
	int bad = 0;
	bad |= tlen != 20 + n || (tcp[12] >> 4) * 4u != 20 + n || memcmp(tcp + 20, want, n) != 0;
	bad |= stk_be16(tcp + 14) != stk_synack_window(p, bits);
	uint8_t flags = STK_TH_SYN | STK_TH_ACK | ((bits & STK_SYN_ECN) && p->ecn_synack ? STK_TH_ECE : 0);
	bad |= tcp[13] != flags;
	bad |= stk_be32(tcp + 4) != 0x11223344 || stk_be32(tcp + 8) != 0x55667788 || stk_be16(tcp) != 80 ||
	       stk_be16(tcp + 2) != 40000 || stk_be16(tcp + 18) != 0;
	bad |= stk_csum(ip, 20) != 0;
	uint32_t sum = stk_l4_pseudo(stk_load_raw32(ip + 12), stk_load_raw32(ip + 16), STK_IPPROTO_TCP, tlen);
	bad |= stk_csum_fold(stk_csum_add(sum, tcp, tlen)) != 0;
	if (bad && getenv("SYNACK_DEBUG")) {
		fprintf(stderr, "bits %02x mss %u: got", bits, peer_mss);
		for (unsigned i = 20; i < tlen; i++)
			fprintf(stderr, " %02x", tcp[i]);
		fprintf(stderr, " flags %02x win %u\n      want", tcp[13], stk_be16(tcp + 14));
		for (unsigned i = 0; i < n; i++)
			fprintf(stderr, " %02x", want[i]);
		fprintf(stderr, " flags %02x win %u\n", flags, stk_synack_window(p, bits));
	}
	stk_pool_put(&l->pool, l->tx[0]);
	l->n_tx = 0;
	return bad;
}

static void check_policy(const struct stk_tcp_policy *p, const char *name)
{
	static const uint16_t mss[] = {1, 536, 1400, 1460, 9000};
	struct tl l;
	tl_init(&l, p, NULL);
	unsigned bad = 0, runs = 0;
	for (unsigned round = 0; round < 2; round++) /* built, then from the cache */
		for (unsigned bits = 0; bits < 32; bits++)
			for (unsigned m = 0; m < sizeof(mss) / sizeof(mss[0]); m++, runs++)
				/* timestamps whose sum fits 32 bits, and a pair that
				 * carries (the sender sums them in 64 bits) */
				bad += (unsigned)check_one(&l, p, (uint8_t)bits, mss[m], 0xa1b2c3d4, 0x01020304) +
				       (unsigned)check_one(&l, p, (uint8_t)bits, mss[m], 0xfffffff0, 0xffffff0f);
	if (bad)
		fprintf(stderr, "    %s: %u of %u SYN-ACKs differ from the layout walk\n", name, bad, runs);
	CHECK_EQ(bad, 0);
	CHECK(l.ctx.cnt.tcp_synack_tmpl_built <= 32); /* once per layout key, not per send */
	tl_free(&l);
}

static struct stk_tcp_policy synth;

static void test_templates(void)
{
	for (unsigned f = 0; f < FP_FAMILY_COUNT; f++) {
		const struct stk_tcp_policy *p = stk_tcp_policy_family((enum fp_family)f);
		check_policy(p, p->name);
	}
	/* Clamped MSS, ECN-conditional options, EOL padding, a TS that is sent
	 * whatever the SYN says. */
	synth = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	memset(synth.synack_opts, 0, sizeof(synth.synack_opts));
	const struct stk_topt opts[] = {
		{STK_TOPT_MSS_CLAMP, 0, 0, 1380},
		{STK_TOPT_WS, STK_SYN_WS, STK_SYN_WS, 5},
		{STK_TOPT_NOP, STK_SYN_ECN, STK_SYN_ECN, 0},
		{STK_TOPT_TS, 0, 0, 0},
		{STK_TOPT_SACKOK, STK_SYN_SACK, STK_SYN_SACK, 0},
		{STK_TOPT_EOL_PAD, 0, 0, 0},
	};
	memcpy(synth.synack_opts, opts, sizeof(opts));
	synth.ts.only_if_syn_ts = false;
	synth.ecn_synack = true;
	synth.name = "synthetic";
	CHECK_EQ(stk_tcp_policy_check(&synth), 0);
	check_policy(&synth, synth.name);
}

static void test_epoch(void)
{
	synth = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	struct tl l;
	tl_init(&l, &synth, NULL);
	CHECK_EQ(check_one(&l, &synth, STK_SYN_MSS | STK_SYN_WS, 1460, 0xa1b2c3d4, 0x01020304), 0);
	/* Same address, new bytes: the decky goes, the policy is rewritten in
	 * place, a decky comes back wearing it. */
	uint32_t ip = l.h->ip_raw;
	CHECK_EQ(stk_hosts_remove(&l.hosts, ip), 0);
	synth.synack_opts[0].value = 1200;
	synth.synack_win[STK_TCP_MAX_WIN_RULES - 1].window = 1234;
	for (unsigned i = 0; i < STK_TCP_MAX_WIN_RULES; i++)
		synth.synack_win[i] = (struct stk_win_rule){0, 0, 1234};
	struct stk_host_policy hp = {.ttl = 64, .tcp = &synth};
	int idx = stk_hosts_add(&l.hosts, ip, (const uint8_t *)"\x00\x25\x90\x01\x02\x03", &hp, NULL);
	CHECK(idx >= 0);
	l.h = &l.hosts.hosts[idx];
	CHECK_EQ(check_one(&l, &synth, STK_SYN_MSS | STK_SYN_WS, 1460, 0xa1b2c3d4, 0x01020304), 0);
	send_one(&l, STK_SYN_MSS | STK_SYN_WS, 1460, 0, 0);
	const uint8_t *tcp = l.tx[0]->data + 34;
	CHECK(stk_be16(tcp + 14) == 1234 && stk_be16(tcp + 22) == 1200);
	tl_free(&l);
}

/* ---- the SYN memo ------------------------------------------------------ */
/* Two labs alike but for the SYN memo (stk_syn_memo_build; switched off
 * in the second) get the same bursts of SYNs: deckies of every family and
 * one without a persona (the general path in both), three peers, option
 * layouts with and without timestamps, ECN SYNs, closed ports, the clock
 * standing still across bursts or moving, the SYN cache filling and
 * evicting, cookies past the threshold, retransmissions from the timers,
 * and a decky replaced by one of another family at the same address and
 * slot (the epoch). Every answer must be the same, byte for byte, and so
 * must the counters and the SYN cache. */
#define MEMO_HOSTS (FP_FAMILY_COUNT + 1)
#define MEMO_BURST 24

struct memo_rig {
	struct tl l;
	struct stk_pkt *tx[2 * MEMO_BURST + TL_MAX_TX];
	unsigned n_tx;
};

static uint32_t memo_rng(uint64_t *r)
{
	*r = *r * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*r >> 33);
}

static uint32_t memo_host_ip(unsigned i)
{
	return htonl(0x0a4d0100u + 1 + i); /* 10.77.1.1 ... */
}

static void memo_host_add(struct tl *l, unsigned i, int family)
{
	uint8_t mac[6] = {0x00, 0x25, 0x90, 0x01, 0x02, (uint8_t)(0x10 + i)};
	struct stk_host_policy hp = {.ttl = 64, .tcp = family < 0 ? NULL : stk_tcp_policy_family((enum fp_family)family)};
	CHECK(stk_hosts_add(&l->hosts, memo_host_ip(i), mac, &hp, NULL) >= 0);
	CHECK_EQ(stk_listen(&l->ctx, memo_host_ip(i), STK_IPPROTO_TCP, 80, &tl_service, &l->rec), 0);
}

static void memo_rig_init(struct memo_rig *g, bool memo_off)
{
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 16; /* a small SYN cache: evictions within a few bursts */
	c.syn_cookie_threshold = UINT32_MAX;
	tl_init(&g->l, NULL, &c);
	g->l.ctx.tcp->syn_memo_off = memo_off;
	for (unsigned i = 0; i < MEMO_HOSTS; i++)
		memo_host_add(&g->l, i, i < FP_FAMILY_COUNT ? (int)i : -1);
	g->n_tx = 0;
}

static void memo_rig_flush(struct memo_rig *g)
{
	for (unsigned i = 0; i < g->n_tx; i++)
		stk_pool_put(&g->l.pool, g->tx[i]);
	g->n_tx = 0;
}

/* A SYN to host h (port 80 or 81) from peer 10.77.0.(2 + peer) into f
 * (128 bytes), with option layout li (0..4); returns its length. */
static unsigned memo_syn_build(uint8_t *f, unsigned h, unsigned peer, uint16_t sport, uint16_t dport, uint32_t seq,
			       unsigned li, bool ecn, uint16_t win, uint32_t tsval)
{
	static const uint8_t layouts[][20] = {
		{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7}, /* linux */
		{2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2},                           /* windows, no TS */
		{2, 4, 5, 0x78, 1, 3, 3, 6, 1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0},  /* TS, no SACK */
		{2, 4, 2, 0x18},                                                    /* MSS only */
		{0},
	};
	static const unsigned lens[] = {20, 12, 20, 4, 0};
	unsigned olen = lens[li];
	uint32_t src = htonl(0x0a4d0002u + peer), decky = memo_host_ip(h);
	uint8_t mac[6] = {0x00, 0x25, 0x90, 0x01, 0x02, (uint8_t)(0x10 + h)};
	memcpy(f, mac, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x02", 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_IPV4);
	uint8_t *ip = f + 14, *tcp = ip + 20;
	memset(ip, 0, 20 + 20 + olen);
	ip[0] = 0x45;
	stk_put_be16(ip + 2, (uint16_t)(40 + olen));
	ip[8] = 64;
	ip[9] = STK_IPPROTO_TCP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &decky, 4);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	stk_put_be16(tcp, sport);
	stk_put_be16(tcp + 2, dport);
	stk_put_be32(tcp + 4, seq);
	tcp[12] = (uint8_t)(((20 + olen) / 4) << 4);
	tcp[13] = STK_TH_SYN | (ecn ? STK_TH_ECE | STK_TH_CWR : 0);
	stk_put_be16(tcp + 14, win);
	memcpy(tcp + 20, layouts[li], olen);
	for (unsigned i = 0; i + 10 <= olen; i++)
		if (tcp[20 + i] == 8 && tcp[21 + i] == 10) {
			stk_put_be32(tcp + 22 + i, tsval);
			break;
		}
	uint32_t sum = stk_l4_pseudo(src, decky, STK_IPPROTO_TCP, 20 + olen);
	stk_put_be16(tcp + 16, stk_csum_fold(stk_csum_add(sum, tcp, 20 + olen)));
	return 14 + 40 + olen;
}

/* The next SYN of the pseudo-random sequence r. */
static unsigned memo_syn(uint8_t *f, uint64_t *r)
{
	unsigned li = memo_rng(r) % 5, h = memo_rng(r) % MEMO_HOSTS, peer = memo_rng(r) % 3;
	uint16_t sport = (uint16_t)(1024 + memo_rng(r) % 60000);
	uint16_t dport = memo_rng(r) % 8 ? 80 : 81; /* some to a closed port */
	uint32_t seq = memo_rng(r);
	bool ecn = memo_rng(r) % 4 == 0;
	uint16_t win = (uint16_t)memo_rng(r);
	return memo_syn_build(f, h, peer, sport, dport, seq, li, ecn, win, memo_rng(r));
}

/* One burst of frames through both rigs at time now. */
static void memo_burst(struct memo_rig *rig, uint8_t (*frames)[128], const unsigned *len, unsigned n, uint64_t now)
{
	struct stk_pkt pk[MEMO_BURST], *rx[MEMO_BURST];
	for (unsigned k = 0; k < 2; k++) {
		for (unsigned i = 0; i < n; i++) {
			pk[i] = (struct stk_pkt){.data = frames[i], .cap = 128, .len = len[i]};
			rx[i] = &pk[i];
		}
		rig[k].l.ctx.now_ns = now;
		stk_input_burst(&rig[k].l.ctx, rx, n, rig[k].tx, rig[k].n_tx + 2 * MEMO_BURST, &rig[k].n_tx);
	}
}

static int memo_same(const struct memo_rig *a, const struct memo_rig *b)
{
	if (a->n_tx != b->n_tx)
		return 1;
	for (unsigned i = 0; i < a->n_tx; i++)
		if (a->tx[i]->len != b->tx[i]->len || memcmp(a->tx[i]->data, b->tx[i]->data, a->tx[i]->len) != 0)
			return 1;
	return 0;
}

static void test_memo(void)
{
	static struct memo_rig rig[2];
	static uint8_t frames[MEMO_BURST][128];
	struct stk_pkt pk[MEMO_BURST], *rx[MEMO_BURST];
	memo_rig_init(&rig[0], false);
	memo_rig_init(&rig[1], true);
	uint64_t r = 7, now = rig[0].l.ctx.now_ns;
	unsigned bad = 0, answers = 0, replaced = 0;
	for (unsigned round = 0; round < 3000; round++) {
		unsigned n = 1 + memo_rng(&r) % MEMO_BURST;
		for (unsigned i = 0; i < n; i++) {
			pk[i] = (struct stk_pkt){.data = frames[i], .cap = sizeof(frames[i])};
			pk[i].len = memo_syn(frames[i], &r);
			rx[i] = &pk[i];
		}
		static const uint64_t steps[] = {0, 0, 1000000ull, 700000000ull, 3100000000ull};
		now += steps[memo_rng(&r) % 5];
		uint32_t threshold = memo_rng(&r) % 6 ? UINT32_MAX : 0;
		bool tick = memo_rng(&r) % 4 == 0, swap = memo_rng(&r) % 200 == 0;
		unsigned victim = memo_rng(&r) % FP_FAMILY_COUNT;
		int family = (int)(memo_rng(&r) % FP_FAMILY_COUNT);
		for (unsigned k = 0; k < 2; k++) {
			struct memo_rig *g = &rig[k];
			if (swap) { /* the same address and slot, another persona */
				CHECK_EQ(stk_unlisten(&g->l.ctx, memo_host_ip(victim), STK_IPPROTO_TCP, 80), 0);
				CHECK_EQ(stk_hosts_remove(&g->l.hosts, memo_host_ip(victim)), 0);
				memo_host_add(&g->l, victim, family);
			}
			g->l.ctx.now_ns = now;
			g->l.ctx.tcp->cfg.syn_cookie_threshold = threshold;
			if (tick)
				stk_timers_advance(&g->l.ctx, now, g->tx, TL_MAX_TX, &g->n_tx);
			stk_input_burst(&g->l.ctx, rx, n, g->tx, g->n_tx + 2 * MEMO_BURST, &g->n_tx);
		}
		replaced += swap;
		answers += rig[0].n_tx;
		bad += memo_same(&rig[0], &rig[1]) != 0;
		memo_rig_flush(&rig[0]);
		memo_rig_flush(&rig[1]);
	}
	/* Directed: a decky replaced between two SYNs of one burst time, at
	 * the same slot, by every other family (only the epoch tells). */
	static uint8_t one[MEMO_BURST][128];
	unsigned len[MEMO_BURST];
	uint16_t sport = 7000;
	for (unsigned a = 0; a < FP_FAMILY_COUNT; a++)
		for (unsigned b = 0; b < FP_FAMILY_COUNT; b++) {
			if (a == b)
				continue;
			for (unsigned step = 0; step < 2; step++) {
				for (unsigned k = 0; k < 2; k++) {
					struct memo_rig *g = &rig[k];
					const struct stk_host *before = stk_hosts_lookup(&g->l.hosts, memo_host_ip(0));
					CHECK_EQ(stk_unlisten(&g->l.ctx, memo_host_ip(0), STK_IPPROTO_TCP, 80), 0);
					CHECK_EQ(stk_hosts_remove(&g->l.hosts, memo_host_ip(0)), 0);
					memo_host_add(&g->l, 0, (int)(step ? b : a));
					CHECK(stk_hosts_lookup(&g->l.hosts, memo_host_ip(0)) == before);
				}
				len[0] = memo_syn_build(one[0], 0, 0, sport++, 80, 1000, 0, false, 100, 5);
				memo_burst(rig, one, len, 1, now);
			}
			CHECK(rig[0].n_tx == 2);
			bad += memo_same(&rig[0], &rig[1]) != 0;
			memo_rig_flush(&rig[0]);
			memo_rig_flush(&rig[1]);
		}
	/* Directed: within one burst, the frame image rebuilt for another
	 * decky by the general path (a retransmitted SYN of a cached entry:
	 * SYN-RECEIVED sends its SYN-ACK again) between two SYNs to the
	 * memo's decky. */
	for (unsigned k = 0; k < 2; k++)
		rig[k].l.ctx.tcp->cfg.syn_cookie_threshold = UINT32_MAX;
	now += 1000000ull;
	len[0] = memo_syn_build(one[0], 1, 0, 9001, 80, 555, 0, false, 100, 5);
	memo_burst(rig, one, len, 1, now);
	len[0] = memo_syn_build(one[0], 0, 0, 9002, 80, 1000, 0, false, 100, 5);
	len[1] = memo_syn_build(one[1], 1, 0, 9001, 80, 555, 0, false, 100, 5); /* again */
	len[2] = memo_syn_build(one[2], 0, 0, 9003, 80, 2000, 0, false, 100, 5);
	memo_burst(rig, one, len, 3, now);
	CHECK(rig[0].n_tx == 4);
	bad += memo_same(&rig[0], &rig[1]) != 0;
	memo_rig_flush(&rig[0]);
	memo_rig_flush(&rig[1]);
	CHECK_EQ(bad, 0);
	CHECK(answers > 20000 && replaced > 5);
	CHECK(memcmp(&rig[0].l.ctx.cnt, &rig[1].l.ctx.cnt, sizeof(rig[0].l.ctx.cnt)) == 0);
	CHECK(rig[0].l.ctx.cnt.tcp_syncache_evicted > 1000 && rig[0].l.ctx.cnt.tcp_syncookies_sent > 1000);
	CHECK_EQ(rig[0].l.ctx.tcp->sc_count, rig[1].l.ctx.tcp->sc_count);
	for (uint32_t i = 0; i < rig[0].l.ctx.tcp->sc_cap; i++)
		CHECK(memcmp(&rig[0].l.ctx.tcp->sc[i], &rig[1].l.ctx.tcp->sc[i], sizeof(struct stk_syn_ent)) == 0);
	tl_free(&rig[0].l);
	tl_free(&rig[1].l);
}

int main(void)
{
	test_templates();
	test_epoch();
	test_memo();
	return tap_done();
}
