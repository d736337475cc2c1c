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
	struct stk_synack_info si = {bits, peer_mss, 7, tsval, tsecr, NULL};
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

int main(void)
{
	test_templates();
	test_epoch();
	return tap_done();
}
