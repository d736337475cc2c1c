/* Persona-shaped answers: each family's default policy against nmap's own
 * probes (SEQ/OPS/WIN, ECN, T2-T7, U1) with the values of the nmap-os-db
 * entry it reproduces, the IP-ID / ISN / timestamp generators over lab
 * time, ICMP port-unreachable quoting and rate limits, UDP delivery, and
 * the drop counters of malformed TCP and UDP. */
#include <stdio.h>
#include <string.h>

#include "tests/unit/stack/tcp_lab.h"
#include "tests/unit/tap.h"

#define A STK_TH_ACK
#define F STK_TH_FIN
#define S STK_TH_SYN
#define R STK_TH_RST
#define P STK_TH_PSH
#define U STK_TH_URG

/* nmap 7.93 osscan2.cc: the six SEQ probes' options and windows. */
static const struct {
	const uint8_t *opts;
	unsigned len;
	uint16_t win;
} seq_probes[6] = {
	{(const uint8_t *)"\x03\x03\x0a\x01\x02\x04\x05\xb4\x08\x0a\xff\xff\xff\xff\x00\x00\x00\x00\x04\x02", 20, 1},
	{(const uint8_t *)"\x02\x04\x05\x78\x03\x03\x00\x04\x02\x08\x0a\xff\xff\xff\xff\x00\x00\x00\x00\x00", 20, 63},
	{(const uint8_t *)"\x08\x0a\xff\xff\xff\xff\x00\x00\x00\x00\x01\x01\x03\x03\x05\x01\x02\x04\x02\x80", 20, 4},
	{(const uint8_t *)"\x04\x02\x08\x0a\xff\xff\xff\xff\x00\x00\x00\x00\x03\x03\x0a\x00", 16, 4},
	{(const uint8_t *)"\x02\x04\x02\x18\x04\x02\x08\x0a\xff\xff\xff\xff\x00\x00\x00\x00\x03\x03\x0a\x00", 20, 16},
	{(const uint8_t *)"\x02\x04\x01\x09\x04\x02\x08\x0a\xff\xff\xff\xff\x00\x00\x00\x00", 16, 512},
};
static const uint8_t ecn_opts[] = {3, 3, 10, 1, 2, 4, 5, 0xb4, 4, 2, 1, 1};
static const uint8_t t_opts[] = {3, 3, 10, 1, 2, 4, 1, 9, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2};

/* nmap's T2..T7 expectations: R (0 = no answer, 1 = RST, 2 = SYN-ACK),
 * F flags, S= (Z zero, A probe's ack, O other) and A= (Z, S probe's seq,
 * P seq+1, O other), W, DF. */
struct t_expect {
	int r;
	uint8_t flags;
	char s, a;
	uint16_t w;
	bool df;
};

struct family_expect {
	enum fp_family fam;
	uint8_t ttl;
	const char *o[6];
	uint16_t w[6];
	const char *ecn_o;
	uint16_t ecn_w;
	bool ecn_cc, df_t1;
	struct t_expect t[6]; /* T2..T7 */
};

#define RST_(fl, s, a, w, df) {1, (fl), (s), (a), (w), (df)}
#define NONE {0, 0, 0, 0, 0, false}

static const struct family_expect families[] = {
	/* Linux 5.0 - 5.4 */
	{FP_FAMILY_LINUX, 64,
	 {"M5B4ST11NW7", "M5B4ST11NW7", "M5B4NNT11NW7", "M5B4ST11NW7", "M5B4ST11NW7", "M5B4ST11"},
	 {0xfe88, 0xfe88, 0xfe88, 0xfe88, 0xfe88, 0xfe88}, "M5B4NNSNW7", 0xfaf0, true, true,
	 {NONE, NONE, RST_(R, 'A', 'Z', 0, true), RST_(A | R, 'Z', 'P', 0, true), RST_(R, 'A', 'Z', 0, true),
	  RST_(A | R, 'Z', 'P', 0, true)}},
	/* Microsoft Windows 10 1709 - 1909 */
	{FP_FAMILY_WINDOWS, 128,
	 {"M5B4NW8NNS", "M5B4NW8NNS", "M5B4NW8", "M5B4NW8NNS", "M5B4NW8NNS", "M5B4NNS"},
	 {0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xff70}, "M5B4NW8NNS", 0xffff, false, true,
	 {RST_(A | R, 'Z', 'S', 0, true), RST_(A | R, 'Z', 'O', 0, true), RST_(R, 'A', 'O', 0, true),
	  RST_(A | R, 'Z', 'P', 0, true), RST_(R, 'A', 'O', 0, true), RST_(A | R, 'Z', 'P', 0, true)}},
	/* FreeBSD 11.2-RELEASE - 11.3 RELEASE or 11.2-STABLE */
	{FP_FAMILY_BSD, 64,
	 {"M5B4NW6ST11", "M5B4NW6ST11", "M5B4NW6NNT11", "M5B4NW6ST11", "M5B4NW6ST11", "M5B4ST11"},
	 {0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff}, "M5B4NW6SLL", 0xffff, true, true,
	 {NONE, {2, S | A, 'O', 'P', 0xffff, true}, RST_(R, 'A', 'Z', 0, true), RST_(A | R, 'Z', 'P', 0, true),
	  RST_(R, 'A', 'Z', 0, true), RST_(A | R, 'Z', 'P', 0, true)}},
	/* Enlogic PDU (FreeRTOS/lwIP) */
	{FP_FAMILY_EMBEDDED, 255,
	 {"M5B4", "M5B4", "M5B4", "M5B4", "M5B4", "M5B4"},
	 {0xb68, 0xb68, 0xb68, 0xb68, 0xb68, 0xb68}, "M5B4", 0xb68, false, false,
	 {NONE, {2, S | A, 'O', 'P', 0xb68, false}, RST_(A | R, 'A', 'S', 0xb68, false),
	  RST_(A | R, 'A', 'P', 0xb68, false), RST_(A | R, 'A', 'S', 0xb68, false),
	  RST_(A | R, 'A', 'P', 0xb68, false)}},
	/* Cisco IOS 15 */
	{FP_FAMILY_CISCO, 255,
	 {"M5B4", "M578", "M280", "M218", "M218", "M109"},
	 {0x1020, 0x1020, 0x1020, 0x1020, 0x1020, 0x1020}, "M5B4", 0x1020, false, false,
	 {NONE, NONE, RST_(R, 'A', 'Z', 0, false), RST_(A | R, 'A', 'P', 0, false), RST_(R, 'A', 'Z', 0, false),
	  RST_(A | R, 'A', 'S', 0, false)}},
};

static void check_t(const struct family_expect *fe, unsigned t, struct tl *l, const struct tl_seg *probe)
{
	const struct t_expect *e = &fe->t[t];
	unsigned n = tl_send(l, probe);
	struct tl_out o = {0};
	bool ok = (int)n == (e->r ? 1 : 0);
	if (ok && n) {
		tl_parse(l, 0, &o);
		uint32_t plus = probe->seq + 1 + !!(probe->flags & F) * ((probe->flags & S) != 0);
		bool s_ok = e->s == 'Z' ? o.seq == 0 : e->s == 'A' ? o.seq == probe->ack
						      : o.seq != 0 && o.seq != probe->ack;
		bool a_ok = e->a == 'Z' ? o.ack == 0 : e->a == 'S' ? o.ack == probe->seq
				      : e->a == 'P' ? (o.ack == probe->seq + 1 || o.ack == plus)
						    : o.ack != 0 && o.ack != probe->seq && o.ack != probe->seq + 1;
		ok = o.flags == e->flags && s_ok && a_ok && o.win == e->w && o.df == e->df && o.ttl == fe->ttl;
	}
	if (!ok)
		fprintf(stderr, "  %s T%u: %u answers, flags %#x seq %u ack %u win %#x df %d ttl %u\n",
			fp_family_info(fe->fam)->name, t + 2, n, o.flags, o.seq, o.ack, o.win, o.df, o.ttl);
	CHECK(ok);
}

static void test_family_fingerprints(void)
{
	for (size_t k = 0; k < sizeof(families) / sizeof(families[0]); k++) {
		const struct family_expect *fe = &families[k];
		const struct stk_tcp_policy *pol = stk_tcp_policy_family(fe->fam);
		CHECK_EQ(stk_tcp_policy_check(pol), 0);
		struct tl l;
		tl_init(&l, pol, NULL);
		l.h->policy.ttl = fe->ttl;
		char got[64];
		for (unsigned i = 0; i < 6; i++) {
			struct tl_seg syn = {.sport = (uint16_t)(50000 + i), .flags = S, .seq = 0x1000u * i,
					     .ack = 0xabcd, .win = seq_probes[i].win, .opts = seq_probes[i].opts,
					     .optlen = seq_probes[i].len};
			CHECK_EQ(tl_send(&l, &syn), 1);
			struct tl_out o;
			tl_parse(&l, 0, &o);
			tl_nmap_opts(&o, got, sizeof(got));
			bool ok = strcmp(got, fe->o[i]) == 0 && o.win == fe->w[i] && o.flags == (S | A) &&
				  o.ack == syn.seq + 1 && o.ttl == fe->ttl && o.df == fe->df_t1;
			if (!ok)
				fprintf(stderr, "  %s O%u=%s W%u=%X (want %s %X) flags %#x df %d ttl %u\n",
					pol->name, i + 1, got, i + 1, o.win, fe->o[i], fe->w[i], o.flags, o.df, o.ttl);
			CHECK(ok);
		}
		/* ECN: SYN with ECE, CWR and a reserved bit. */
		struct tl_seg ecn = {.sport = 50010, .flags = S | STK_TH_ECE | STK_TH_CWR, .seq = 99, .win = 3,
				     .opts = ecn_opts, .optlen = sizeof(ecn_opts)};
		CHECK_EQ(tl_send(&l, &ecn), 1);
		struct tl_out o;
		tl_parse(&l, 0, &o);
		tl_nmap_opts(&o, got, sizeof(got));
		bool cc = (o.flags & STK_TH_ECE) != 0;
		if (strcmp(got, fe->ecn_o) || o.win != fe->ecn_w || cc != fe->ecn_cc)
			fprintf(stderr, "  %s ECN O=%s W=%X CC=%d\n", pol->name, got, o.win, cc);
		CHECK(strcmp(got, fe->ecn_o) == 0 && o.win == fe->ecn_w && cc == fe->ecn_cc);
		/* T2..T4 to the open port, T5..T7 to a closed one. */
		static const struct {
			uint8_t flags;
			uint16_t dport, win;
		} tp[6] = {{0, 80, 128}, {S | F | U | P, 80, 256}, {A, 80, 1024},
			   {S, 81, 31337}, {A, 81, 32768}, {F | P | U, 81, 65535}};
		for (unsigned t = 0; t < 6; t++) {
			struct tl_seg pr = {.sport = (uint16_t)(50020 + t), .dport = tp[t].dport, .flags = tp[t].flags,
					    .seq = 0x11223344u + t, .ack = 0x55667788u, .win = tp[t].win,
					    .opts = t_opts, .optlen = sizeof(t_opts)};
			check_t(fe, t, &l, &pr);
		}
		tl_free(&l);
	}
}

static unsigned echo_frame(struct tl *l, uint16_t seq)
{
	uint8_t *f = l->frame;
	tl_frame_tcp(l, &(struct tl_seg){.sport = 1, .flags = A}); /* Ethernet + IP */
	uint8_t *ip = f + 14;
	ip[9] = STK_IPPROTO_ICMP;
	stk_put_be16(ip + 2, 28);
	stk_put_be16(ip + 10, 0);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	uint8_t *ic = ip + 20;
	memset(ic, 0, 8);
	ic[0] = 8;
	stk_put_be16(ic + 6, seq);
	stk_put_be16(ic + 2, stk_csum(ic, 8));
	return 14 + 28;
}

static void test_ipid_classes(void)
{
	struct tl l;
	struct tl_out o;
	uint16_t id[3];
	/* Linux: TI=Z CI=Z II=I. */
	tl_init(&l, stk_tcp_policy_family(FP_FAMILY_LINUX), NULL);
	tl_send(&l, &(struct tl_seg){.sport = 1, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o);
	id[0] = o.ip_id;
	tl_send(&l, &(struct tl_seg){.sport = 2, .dport = 81, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o);
	id[1] = o.ip_id;
	tl_raw(&l, echo_frame(&l, 1));
	tl_parse(&l, 0, &o);
	id[2] = o.ip_id;
	tl_raw(&l, echo_frame(&l, 2));
	tl_parse(&l, 0, &o);
	CHECK(id[0] == 0 && id[1] == 0 && o.ip_id == (uint16_t)(id[2] + 1));
	tl_free(&l);
	/* Windows: one counter for SYN-ACKs, RSTs and echo replies (SS=S). */
	tl_init(&l, stk_tcp_policy_family(FP_FAMILY_WINDOWS), NULL);
	tl_send(&l, &(struct tl_seg){.sport = 1, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o);
	id[0] = o.ip_id;
	tl_send(&l, &(struct tl_seg){.sport = 2, .dport = 81, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o);
	id[1] = o.ip_id;
	tl_raw(&l, echo_frame(&l, 1));
	tl_parse(&l, 0, &o);
	CHECK(id[1] == (uint16_t)(id[0] + 1) && o.ip_id == (uint16_t)(id[0] + 2));
	tl_free(&l);
	/* Embedded: TCP +1, ICMP random increments on the same counter, the
	 * first echo reply continuing the TCP sequence (SS=S). */
	tl_init(&l, stk_tcp_policy_family(FP_FAMILY_EMBEDDED), NULL);
	tl_send(&l, &(struct tl_seg){.sport = 1, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o);
	id[1] = o.ip_id;
	tl_raw(&l, echo_frame(&l, 1));
	tl_parse(&l, 0, &o);
	id[0] = o.ip_id;
	CHECK_EQ(id[0], (uint16_t)(id[1] + 1));
	tl_raw(&l, echo_frame(&l, 2));
	tl_parse(&l, 0, &o);
	uint16_t step = (uint16_t)(o.ip_id - id[0]);
	CHECK(step > 1000 && step <= 10000 && (step & 0xff));
	tl_free(&l);
	/* Cisco: random (RD) - six SYN-ACKs are not a sequence. */
	tl_init(&l, stk_tcp_policy_family(FP_FAMILY_CISCO), NULL);
	unsigned seq_like = 0;
	uint16_t prev = 0;
	for (unsigned i = 0; i < 6; i++) {
		tl_send(&l, &(struct tl_seg){.sport = (uint16_t)(10 + i), .flags = S, .seq = 1, .win = 100});
		tl_parse(&l, 0, &o);
		seq_like += i && (uint16_t)(o.ip_id - prev) < 20;
		prev = o.ip_id;
	}
	CHECK(seq_like < 2);
	tl_free(&l);
}

static void test_echo_df(void)
{
	/* nmap IE: DFI=S copies the request's DF, DFI=N never sets it. */
	struct tl l;
	struct tl_out o;
	tl_init(&l, stk_tcp_policy_family(FP_FAMILY_BSD), NULL);
	unsigned len = echo_frame(&l, 1);
	stk_put_be16(l.frame + 14 + 6, STK_IP4_DF);
	stk_put_be16(l.frame + 14 + 10, 0);
	stk_put_be16(l.frame + 14 + 10, stk_csum(l.frame + 14, 20));
	tl_raw(&l, len);
	tl_parse(&l, 0, &o);
	CHECK(o.df);
	tl_raw(&l, echo_frame(&l, 2));
	tl_parse(&l, 0, &o);
	CHECK(!o.df);
	tl_free(&l);
	tl_init(&l, stk_tcp_policy_family(FP_FAMILY_LINUX), NULL);
	len = echo_frame(&l, 1);
	stk_put_be16(l.frame + 14 + 6, STK_IP4_DF);
	stk_put_be16(l.frame + 14 + 10, 0);
	stk_put_be16(l.frame + 14 + 10, stk_csum(l.frame + 14, 20));
	tl_raw(&l, len);
	tl_parse(&l, 0, &o);
	CHECK(!o.df);
	tl_free(&l);
}

static void test_isn_and_ts(void)
{
	struct tl l;
	struct tl_out o1, o2;
	char got[64];
	/* A clock-driven ISN: rate * elapsed time, exactly, in GCD steps. */
	struct stk_tcp_policy pol = *stk_tcp_policy_family(FP_FAMILY_EMBEDDED);
	pol.isn = (struct stk_isn_rule){STK_ISN_CLOCK, 250000, 1, 0};
	tl_init(&l, &pol, NULL);
	tl_send(&l, &(struct tl_seg){.sport = 1, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o1);
	tl_advance(&l, 100);
	tl_send(&l, &(struct tl_seg){.sport = 2, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o2);
	CHECK_EQ(o2.seq - o1.seq, 25000);
	tl_free(&l);
	pol.isn = (struct stk_isn_rule){STK_ISN_CLOCK, 1000000, 64000, 8};
	tl_init(&l, &pol, NULL);
	bool gcd_ok = true;
	for (unsigned i = 0; i < 20; i++) {
		tl_advance(&l, 7);
		tl_send(&l, &(struct tl_seg){.sport = (uint16_t)(100 + i), .flags = S, .seq = 1, .win = 100});
		tl_parse(&l, 0, &o2);
		gcd_ok &= (int32_t)(o2.seq - o1.seq) % 64000 == 0 || i == 0;
		o1 = o2;
	}
	CHECK(gcd_ok);
	tl_free(&l);
	/* Linux: keyed per connection, so two ports at the same instant differ. */
	tl_init(&l, NULL, NULL);
	tl_send(&l, &(struct tl_seg){.sport = 1, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o1);
	tl_send(&l, &(struct tl_seg){.sport = 2, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o2);
	CHECK(o1.seq != o2.seq);
	/* Timestamps: 1000 Hz of real time, one offset per peer (TS=A). */
	static const uint8_t ts_opt[] = {8, 10, 0, 0, 0, 1, 0, 0, 0, 0};
	tl_send(&l, &(struct tl_seg){.sport = 3, .flags = S, .seq = 1, .win = 100, .opts = ts_opt, .optlen = 10});
	tl_parse(&l, 0, &o1);
	tl_advance(&l, 500);
	tl_send(&l, &(struct tl_seg){.sport = 4, .flags = S, .seq = 1, .win = 100, .opts = ts_opt, .optlen = 10});
	tl_parse(&l, 0, &o2);
	tl_nmap_opts(&o1, got, sizeof(got));
	CHECK(strcmp(got, "M5B4NNT11") == 0);
	CHECK(o1.optlen == 16 && o2.optlen == 16 && o1.opts[6] == 8);
	CHECK_EQ(stk_be32(o2.opts + 8) - stk_be32(o1.opts + 8), 500);
	CHECK_EQ(stk_be32(o2.opts + 12), 1); /* TSecr echoes the SYN */
	/* No TS in the SYN, no TS in the answer (only_if_syn_ts). */
	tl_send(&l, &(struct tl_seg){.sport = 5, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o1);
	CHECK_EQ(o1.optlen, 4); /* M5B4 */
	tl_free(&l);
	/* FreeBSD: one offset per connection. */
	tl_init(&l, stk_tcp_policy_family(FP_FAMILY_BSD), NULL);
	tl_send(&l, &(struct tl_seg){.sport = 3, .flags = S, .seq = 1, .win = 100, .opts = ts_opt, .optlen = 10});
	tl_parse(&l, 0, &o1);
	tl_advance(&l, 500);
	tl_send(&l, &(struct tl_seg){.sport = 4, .flags = S, .seq = 1, .win = 100, .opts = ts_opt, .optlen = 10});
	tl_parse(&l, 0, &o2);
	CHECK(stk_be32(o2.opts + 4) - stk_be32(o1.opts + 4) != 500);
	tl_free(&l);
	/* Honeyd's tell, when a table asks for it: TS without one in the SYN. */
	pol = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	pol.ts.only_if_syn_ts = false;
	tl_init(&l, &pol, NULL);
	tl_send(&l, &(struct tl_seg){.sport = 5, .flags = S, .seq = 1, .win = 100});
	tl_parse(&l, 0, &o1);
	tl_nmap_opts(&o1, got, sizeof(got));
	CHECK(strcmp(got, "M5B4NNT10") == 0);
	/* ... but it is not negotiated: later segments carry none. */
	tl_send(&l, &(struct tl_seg){.sport = 5, .flags = STK_TH_ACK, .seq = 2, .ack = o1.seq + 1, .win = 100});
	struct stk_tcp_flow *f = tl_flow(&l, 5, 80);
	CHECK(f && f->state == STK_TCP_ESTABLISHED && !(f->flags & STK_F_TS));
	tl_free(&l);
}

static void test_udp(void)
{
	struct tl l;
	struct tl_out o;
	uint8_t probe[300];
	memset(probe, 'C', sizeof(probe));
	/* nmap U1 against Linux: the whole probe quoted (IPL=164), DF off,
	 * precedence 0xc0, everything quoted as sent. */
	tl_init(&l, NULL, NULL);
	CHECK_EQ(tl_udp(&l, 40000, 33333, probe, 300), 1);
	uint8_t sent[328];
	memcpy(sent, l.frame + 14, 328);
	tl_parse(&l, 0, &o);
	CHECK(o.proto == STK_IPPROTO_ICMP && o.icmp_type == 3 && o.icmp_code == 3);
	CHECK_EQ(o.ip_len, 0x164);
	CHECK(!o.df);
	CHECK_EQ(o.tos, 0xc0);
	CHECK_EQ(o.ttl, 64);
	CHECK_EQ(stk_be32(o.l4 + 4), 0); /* UN=0 */
	CHECK(memcmp(o.l4 + 8, sent, 328) == 0);
	/* Rate limit: a burst of 6, then one a second. */
	unsigned answered = 1;
	for (int i = 0; i < 9; i++)
		answered += tl_udp(&l, 40000, 33333, probe, 10);
	CHECK_EQ(answered, 6);
	CHECK_EQ(l.ctx.cnt.drop_udp_unreach_ratelimit, 4);
	tl_advance(&l, 1000);
	CHECK_EQ(tl_udp(&l, 40000, 33333, probe, 10), 1);
	CHECK_EQ(tl_udp(&l, 40000, 33333, probe, 10), 0);
	/* An open port: delivered, answered by the service. */
	CHECK_EQ(tl_udp(&l, 40001, 7, "ping", 4), 1);
	tl_parse(&l, 0, &o);
	CHECK(o.proto == STK_IPPROTO_UDP && o.sport == 7 && o.dport == 40001 && o.len == 4 &&
	      memcmp(o.data, "ping", 4) == 0);
	CHECK_EQ(l.rec.datagrams, 1);
	tl_free(&l);
	/* A persona that zeroes the quoted IP checksum (RIPCK=Z, FreeBSD 12)
	 * and the quoted payload (RUD=I). */
	struct stk_tcp_policy pol = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	pol.unreach.ripck_zero = true;
	pol.unreach.rud_zero = true;
	tl_init(&l, &pol, NULL);
	tl_udp(&l, 40000, 33333, probe, 300);
	tl_parse(&l, 0, &o);
	CHECK_EQ(stk_be16(o.l4 + 8 + 10), 0);
	CHECK_EQ(o.ip_len, 0x164);
	CHECK(o.l4[8 + 28] == 0 && o.l4[8 + 327] == 0);
	CHECK(memcmp(o.l4 + 8 + 12, sent + 12, 16) == 0); /* addresses, ports as sent */
	tl_free(&l);
	/* FreeBSD 11 quotes 8 bytes past the header, checksum intact. */
	tl_init(&l, stk_tcp_policy_family(FP_FAMILY_BSD), NULL);
	tl_udp(&l, 40000, 33333, probe, 300);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.ip_len, 0x38);
	CHECK(memcmp(o.l4 + 8, l.frame + 14, 28) == 0);
	tl_free(&l);
	/* Cisco and lwIP quote 8 bytes past the IP header (IPL=38). */
	tl_init(&l, stk_tcp_policy_family(FP_FAMILY_CISCO), NULL);
	tl_udp(&l, 40000, 33333, probe, 300);
	tl_parse(&l, 0, &o);
	CHECK_EQ(o.ip_len, 0x38);
	tl_free(&l);
}

#define CNT(field) offsetof(struct stk_counters, field)

static void m_short(uint8_t *f, unsigned *len) { stk_put_be16(f + 16, 20 + 19); *len = 34 + 19; }
static void m_doff_small(uint8_t *f, unsigned *len) { (void)len; f[34 + 12] = 0x40; }
static void m_doff_big(uint8_t *f, unsigned *len) { (void)len; f[34 + 12] = 0xf0; }
static void m_csum(uint8_t *f, unsigned *len) { (void)len; f[34 + 16] ^= 1; }
static void m_sport0(uint8_t *f, unsigned *len) { (void)len; f[34] = f[35] = 0; }
static void m_udp_csum(uint8_t *f, unsigned *len) { (void)len; f[34 + 6] ^= 0x10; }
static void m_udp_len_big(uint8_t *f, unsigned *len) { (void)len; stk_put_be16(f + 34 + 4, 200); }
static void m_udp_len_small(uint8_t *f, unsigned *len) { (void)len; stk_put_be16(f + 34 + 4, 7); }
static void m_udp_short(uint8_t *f, unsigned *len) { stk_put_be16(f + 16, 27); *len = 34 + 7; }

static void fix_ip(uint8_t *f)
{
	stk_put_be16(f + 24, 0);
	stk_put_be16(f + 24, stk_csum(f + 14, 20));
}

static void test_drops(void)
{
	static const struct {
		const char *what;
		bool udp;
		size_t counter;
		void (*mangle)(uint8_t *f, unsigned *len);
	} cases[] = {
		{"19-byte TCP header", false, CNT(drop_tcp_short), m_short},
		{"data offset 4", false, CNT(drop_tcp_hlen), m_doff_small},
		{"data offset past the packet", false, CNT(drop_tcp_hlen), m_doff_big},
		{"TCP checksum", false, CNT(drop_tcp_csum), m_csum},
		{"source port 0", false, CNT(drop_tcp_port), m_sport0},
		{"UDP checksum", true, CNT(drop_udp_csum), m_udp_csum},
		{"UDP length past the packet", true, CNT(drop_udp_len), m_udp_len_big},
		{"UDP length 7", true, CNT(drop_udp_len), m_udp_len_small},
		{"7-byte UDP", true, CNT(drop_udp_short), m_udp_short},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tl l;
		tl_init(&l, NULL, NULL);
		unsigned len;
		if (cases[i].udp) {
			tl_udp(&l, 1000, 33333, "abcdefgh", 8);
			len = 34 + 16;
		} else {
			len = tl_frame_tcp(&l, &(struct tl_seg){.sport = 1000, .flags = S, .seq = 1, .win = 10});
		}
		cases[i].mangle(l.frame, &len);
		if (cases[i].mangle == m_sport0) { /* keep the checksum right */
			uint8_t *t = l.frame + 34;
			stk_put_be16(t + 16, 0);
			uint32_t sum = stk_l4_pseudo(stk_load_raw32(l.frame + 26), stk_load_raw32(l.frame + 30),
						     STK_IPPROTO_TCP, 20);
			stk_put_be16(t + 16, stk_csum_fold(stk_csum_add(sum, t, 20)));
		}
		fix_ip(l.frame);
		unsigned n = tl_raw(&l, len);
		uint64_t v;
		memcpy(&v, (uint8_t *)&l.ctx.cnt + cases[i].counter, 8);
		if (n || v != 1)
			fprintf(stderr, "  case '%s': %u answers, counter %llu\n", cases[i].what, n,
				(unsigned long long)v);
		CHECK(n == 0 && v == 1);
		tl_free(&l);
	}
	/* Never a RST for a RST. */
	struct tl l;
	tl_init(&l, NULL, NULL);
	CHECK_EQ(tl_send(&l, &(struct tl_seg){.sport = 9, .dport = 81, .flags = R, .seq = 5}), 0);
	CHECK_EQ(tl_send(&l, &(struct tl_seg){.sport = 9, .dport = 80, .flags = R | A, .seq = 5}), 0);
	CHECK_EQ(l.ctx.cnt.drop_tcp_noflow_rst, 2);
	/* Options that run past the header: counted, the SYN still answered. */
	static const uint8_t bad[] = {2, 4, 5, 0xb4, 8, 30};
	CHECK_EQ(tl_send(&l, &(struct tl_seg){.sport = 9, .flags = S, .seq = 5, .opts = bad, .optlen = 6}), 1);
	CHECK_EQ(l.ctx.cnt.tcp_bad_options, 1);
	tl_free(&l);
}

static void test_policy_check(void)
{
	struct stk_tcp_policy p = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	CHECK_EQ(stk_tcp_policy_check(&p), 0);
	p.ipid[1].counter = 3;
	CHECK(stk_tcp_policy_check(&p) < 0);
	p = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	for (unsigned i = 0; i < 5; i++)
		p.synack_opts[10 + i] = (struct stk_topt){STK_TOPT_TS, 0, 0, 0};
	CHECK(stk_tcp_policy_check(&p) < 0); /* 50+ bytes of options */
	p = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	for (unsigned i = 0; i < STK_TCP_MAX_WIN_RULES; i++)
		p.synack_win[i] = (struct stk_win_rule){STK_SYN_WS, STK_SYN_WS, 1000};
	CHECK(stk_tcp_policy_check(&p) < 0); /* no unconditional rule */
	p = *stk_tcp_policy_family(FP_FAMILY_LINUX);
	p.unreach.quote_max = 30;
	CHECK(stk_tcp_policy_check(&p) < 0);
	for (unsigned f = 0; f < FP_FAMILY_COUNT; f++)
		CHECK_EQ(stk_tcp_policy_check(stk_tcp_policy_family((enum fp_family)f)), 0);
}

static void test_events(void)
{
	struct tl l;
	struct stk_event_ring ring;
	tl_init(&l, NULL, NULL);
	CHECK_EQ(stk_event_ring_init(&ring, 16), 0);
	l.ctx.events = &ring;
	tl_send(&l, &(struct tl_seg){.sport = 4444, .flags = S, .seq = 1, .win = 10});
	tl_send(&l, &(struct tl_seg){.sport = 4445, .dport = 23, .flags = S, .seq = 1, .win = 10});
	tl_udp(&l, 4446, 161, "x", 1);
	struct stk_event ev[4];
	CHECK_EQ(stk_event_drain(&ring, ev, 4), 3);
	CHECK(ev[0].kind == STK_EV_TCP_SYN && ev[0].sport == 4444 && ev[0].dport == 80 && ev[0].proto == 6);
	CHECK(ev[1].kind == STK_EV_TCP_CLOSED_PORT && ev[1].dport == 23);
	CHECK(ev[2].kind == STK_EV_UDP && ev[2].dport == 161 && ev[2].aux == 1);
	l.ctx.events = NULL;
	stk_event_ring_destroy(&ring);
	tl_free(&l);
}

int main(void)
{
	test_family_fingerprints();
	test_ipid_classes();
	test_echo_df();
	test_isn_and_ts();
	test_udp();
	test_drops();
	test_policy_check();
	test_events();
	return tap_done();
}
