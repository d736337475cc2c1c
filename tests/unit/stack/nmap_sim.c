/* nmap_sim: see nmap_sim.h. The rules follow nmap 7.93's osscan2.cc
 * (read, not copied): what each test measures and how it is printed. */
#include "tests/unit/stack/nmap_sim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/stk_persona.h"

/* nmap's probe option bytes: SEQ 1..6, ECN, then T2..T7 (T7: WS 15). */
static const uint8_t seq_opts[6][20] = {
	{3, 3, 10, 1, 2, 4, 5, 0xb4, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2},
	{2, 4, 5, 0x78, 3, 3, 0, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0},
	{8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 1, 3, 3, 5, 1, 2, 4, 2, 0x80},
	{4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 3, 3, 10, 0},
	{2, 4, 2, 0x18, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 3, 3, 10, 0},
	{2, 4, 1, 9, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
};
static const unsigned seq_optlen[6] = {20, 20, 20, 16, 20, 16};
static const uint16_t seq_win[6] = {1, 63, 4, 4, 16, 512};
static const uint8_t ecn_opts[12] = {3, 3, 10, 1, 2, 4, 5, 0xb4, 4, 2, 1, 1};
static const uint8_t t_opts[20] = {3, 3, 10, 1, 2, 4, 1, 9, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2};
static const uint8_t t7_opts[20] = {3, 3, 15, 1, 2, 4, 1, 9, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2};

#define SEQ_BASE 0x5a5a0000u
#define ACK_BASE 0x1f2e3d4cu
#define PORT_BASE 50000
#define U1_IPID 0x1042

/* Rewrite the IP header of the frame in l->frame (ID, DF, TOS, TTL) and
 * the TCP reserved bits / urgent pointer, fixing both checksums. */
static void patch_frame(struct tl *l, unsigned flen, uint16_t id, bool df, uint8_t tos, uint8_t reserved,
			uint16_t urp)
{
	uint8_t *ip = l->frame + 14;
	stk_put_be16(ip + 4, id);
	stk_put_be16(ip + 6, df ? STK_IP4_DF : 0);
	ip[1] = tos;
	ip[8] = 64;
	stk_put_be16(ip + 10, 0);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	if (ip[9] == STK_IPPROTO_TCP) {
		uint8_t *t = ip + 20;
		unsigned tlen = flen - 34;
		t[12] = (uint8_t)((t[12] & 0xf0) | (reserved & 0x0f));
		stk_put_be16(t + 18, urp);
		stk_put_be16(t + 16, 0);
		uint32_t sum = stk_l4_pseudo(stk_load_raw32(ip + 12), stk_load_raw32(ip + 16), STK_IPPROTO_TCP, tlen);
		stk_put_be16(t + 16, stk_csum_fold(stk_csum_add(sum, t, tlen)));
	}
}

static unsigned send_tcp(struct tl *l, uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags, uint16_t win,
			 const uint8_t *opts, unsigned optlen, bool df, uint8_t reserved, uint16_t urp)
{
	struct tl_seg s = {.sport = sport, .dport = dport, .flags = flags, .seq = seq, .ack = ACK_BASE,
			   .win = win, .opts = opts, .optlen = optlen};
	unsigned flen = tl_frame_tcp(l, &s);
	patch_frame(l, flen, (uint16_t)(sport * 7u), df, 0, reserved, urp);
	return tl_raw(l, flen);
}

unsigned nmap_sim_syn(struct tl *l, unsigned k, uint16_t sport, uint16_t dport)
{
	if (k < 6)
		return send_tcp(l, sport, dport, SEQ_BASE + k, STK_TH_SYN, seq_win[k], seq_opts[k], seq_optlen[k], false,
				0, 0);
	return send_tcp(l, sport, dport, SEQ_BASE, STK_TH_SYN | STK_TH_ECE | STK_TH_CWR, 3, ecn_opts, sizeof(ecn_opts),
			false, 8, 63477);
}

/* An echo request built over the lab's frame (Ethernet and IP reused). */
static unsigned send_echo(struct tl *l, uint8_t code, uint16_t id, uint16_t seq, unsigned len, bool df, uint8_t tos)
{
	struct tl_seg s = {.sport = 1, .dport = 1, .flags = STK_TH_ACK, .len = 0};
	tl_frame_tcp(l, &s);
	uint8_t *ip = l->frame + 14, *icmp = ip + 20;
	ip[9] = STK_IPPROTO_ICMP;
	stk_put_be16(ip + 2, (uint16_t)(20 + 8 + len));
	icmp[0] = 8;
	icmp[1] = code;
	stk_put_be16(icmp + 2, 0);
	stk_put_be16(icmp + 4, id);
	stk_put_be16(icmp + 6, seq);
	memset(icmp + 8, 0, len);
	stk_put_be16(icmp + 2, stk_csum(icmp, 8 + len));
	unsigned flen = 14 + 20 + 8 + len;
	patch_frame(l, flen, (uint16_t)(id ^ 0x5555), df, tos, 0, 0);
	return tl_raw(l, flen);
}

static unsigned send_u1(struct tl *l, uint16_t sport, uint16_t dport, uint16_t *udp_csum)
{
	static uint8_t data[300];
	memset(data, 0x43, sizeof(data));
	unsigned flen = 14 + 20 + 8 + sizeof(data);
	struct tl_seg s = {.sport = 1, .dport = 1, .flags = STK_TH_ACK};
	tl_frame_tcp(l, &s);
	uint8_t *ip = l->frame + 14, *u = ip + 20;
	ip[9] = STK_IPPROTO_UDP;
	stk_put_be16(ip + 2, (uint16_t)(20 + 8 + sizeof(data)));
	stk_put_be16(u, sport);
	stk_put_be16(u + 2, dport);
	stk_put_be16(u + 4, (uint16_t)(8 + sizeof(data)));
	stk_put_be16(u + 6, 0);
	memcpy(u + 8, data, sizeof(data));
	uint32_t sum = stk_l4_pseudo(stk_load_raw32(ip + 12), stk_load_raw32(ip + 16), STK_IPPROTO_UDP,
				     8 + sizeof(data));
	uint16_t c = stk_csum_fold(stk_csum_add(sum, u, 8 + sizeof(data)));
	*udp_csum = c ? c : 0xffff;
	stk_put_be16(u + 6, *udp_csum);
	patch_frame(l, flen, U1_IPID, false, 0, 0, 0);
	return tl_raw(l, flen);
}

/* ---- measurement ------------------------------------------------------ */

static int seth(struct fp_subject *s, unsigned t, unsigned a, unsigned v)
{
	char b[16];
	snprintf(b, sizeof(b), "%X", v);
	return fp_subject_set(s, t, a, b);
}

static bool ts_of(const struct tl_out *o, uint32_t *tsval)
{
	int i = tl_opt_at(o, 8);
	if (i < 0 || (unsigned)i + 10 > o->optlen || o->opts[i + 1] != 10)
		return false;
	*tsval = stk_be32(o->opts + i + 2);
	return true;
}

enum { IPID_UNKNOWN = -1, IPID_RD = 1, IPID_RPI, IPID_ZERO, IPID_CONST, IPID_BI, IPID_I2, IPID_I };

/* nmap's IP-ID sequence classes (get_ipid_sequence_16). */
static int ipid_class(unsigned n, const uint32_t *ids)
{
	uint32_t d[16];
	if (n < 2)
		return IPID_UNKNOWN;
	bool allzero = true;
	for (unsigned i = 1; i < n; i++) {
		if (ids[i - 1] || ids[i])
			allzero = false;
		d[i - 1] = ids[i] - ids[i - 1];
		if (n > 2 && d[i - 1] > 20000)
			return IPID_RD;
	}
	if (allzero)
		return IPID_ZERO;
	for (unsigned i = 0; i < n - 1; i++)
		d[i] &= 0xffff;
	bool zero = true;
	for (unsigned i = 0; i < n - 1; i++)
		zero &= d[i] == 0;
	if (zero)
		return IPID_CONST;
	for (unsigned i = 0; i < n - 1; i++)
		if (d[i] > 1000 && (d[i] % 256 != 0 || d[i] >= 25600))
			return IPID_RPI;
	bool k = true, l2 = true, j = true;
	for (unsigned i = 0; i < n - 1; i++) {
		if (d[i] > 5120 || d[i] % 256)
			k = false;
		if (d[i] % 2)
			l2 = false;
		if (d[i] > 9)
			j = false;
	}
	if (k)
		return IPID_BI;
	if (l2)
		return IPID_I2;
	if (j)
		return IPID_I;
	return IPID_UNKNOWN;
}

static int set_ipid(struct fp_subject *s, unsigned attr, int cls, const uint32_t *ids)
{
	switch (cls) {
	case IPID_CONST: return seth(s, FP_TEST_SEQ, attr, ids[0]);
	case IPID_I2:
	case IPID_I: return fp_subject_set(s, FP_TEST_SEQ, attr, "I");
	case IPID_BI: return fp_subject_set(s, FP_TEST_SEQ, attr, "BI");
	case IPID_RPI: return fp_subject_set(s, FP_TEST_SEQ, attr, "RI");
	case IPID_RD: return fp_subject_set(s, FP_TEST_SEQ, attr, "RD");
	case IPID_ZERO: return fp_subject_set(s, FP_TEST_SEQ, attr, "Z");
	default: return 0;
	}
}

static uint32_t gcd2(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t c = a % b;
		a = b;
		b = c;
	}
	return a;
}

static uint32_t mod_diff(uint32_t a, uint32_t b)
{
	uint32_t x = a - b, y = b - a;
	return x < y ? x : y;
}

struct seqdata {
	unsigned n;
	uint32_t seqs[6], ipids[6], ts[6];
	double sent[6]; /* seconds */
	bool ts_unsupported, ts_zero;
};

static int make_seq(struct fp_subject *s, struct seqdata *q, const uint32_t *tcp_ids, unsigned n_tcp,
		    const uint32_t *closed_ids, unsigned n_closed, const uint32_t *icmp_ids, unsigned n_icmp)
{
	int rc = fp_subject_add_test(s, FP_TEST_SEQ);
	double rates[6], avg = 0;
	uint32_t diffs[6], tsd[6];
	double dts[6];
	for (unsigned j = 1; j < q->n; j++) {
		diffs[j - 1] = mod_diff(q->seqs[j], q->seqs[j - 1]);
		tsd[j - 1] = mod_diff(q->ts[j], q->ts[j - 1]);
		double us = floor((q->sent[j] - q->sent[j - 1]) * 1e6 + 0.5);
		dts[j - 1] = us < 1 ? 1 : us;
		rates[j - 1] = diffs[j - 1] * 1e6 / dts[j - 1];
		avg += rates[j - 1];
	}
	if (q->n >= 4) {
		avg /= q->n - 1;
		uint32_t g = 0;
		for (unsigned j = 0; j < q->n - 1; j++)
			g = gcd2(g, diffs[j]);
		unsigned sp = 0, isr = 0;
		if (g) {
			/* Through int64_t: avg < 1 gives a negative value, which
			 * nmap's (unsigned) cast wraps on x86-64; a direct
			 * double -> unsigned conversion of it is undefined. */
			isr = (unsigned)(int64_t)(log(avg) / log(2.0) * 8 + 0.5);
			double div = g > 9 ? g : 1, sd = 0;
			for (unsigned j = 0; j < q->n - 1; j++) {
				double r = rates[j] / div - avg / div;
				sd += r * r;
			}
			sd = sqrt(sd / (q->n - 2));
			sp = sd <= 1 ? 0 : (unsigned)(log(sd) / log(2.0) * 8 + 0.5);
		}
		rc |= seth(s, FP_TEST_SEQ, FP_ATTR_SP, sp);
		rc |= seth(s, FP_TEST_SEQ, FP_ATTR_GCD, g ? g : 0);
		rc |= seth(s, FP_TEST_SEQ, FP_ATTR_ISR, isr);
	}
	int ti = n_tcp >= 3 ? ipid_class(n_tcp, tcp_ids) : IPID_UNKNOWN;
	int ci = n_closed >= 2 ? ipid_class(n_closed, closed_ids) : IPID_UNKNOWN;
	int ii = n_icmp >= 2 ? ipid_class(n_icmp, icmp_ids) : IPID_UNKNOWN;
	rc |= set_ipid(s, FP_ATTR_TI, ti, tcp_ids);
	rc |= set_ipid(s, FP_ATTR_CI, ci, closed_ids);
	rc |= set_ipid(s, FP_ATTR_II, ii, icmp_ids);
	bool ti_inc = ti == IPID_I || ti == IPID_I2 || ti == IPID_BI || ti == IPID_RPI;
	bool ii_inc = ii == IPID_I || ii == IPID_I2 || ii == IPID_BI || ii == IPID_RPI;
	if (ti_inc && ii_inc) {
		uint32_t a = (tcp_ids[n_tcp - 1] - tcp_ids[0]) / (n_tcp - 1);
		rc |= fp_subject_set(s, FP_TEST_SEQ, FP_ATTR_SS, icmp_ids[0] < tcp_ids[n_tcp - 1] + 3 * a ? "S" : "O");
	}
	if (q->ts_unsupported) {
		rc |= fp_subject_set(s, FP_TEST_SEQ, FP_ATTR_TS, "U");
	} else if (q->ts_zero) {
		rc |= fp_subject_set(s, FP_TEST_SEQ, FP_ATTR_TS, "0");
	} else if (q->n >= 2) {
		double hz = 0;
		for (unsigned j = 0; j < q->n - 1; j++)
			hz += tsd[j] / (dts[j] / 1e6) / (q->n - 1);
		unsigned v;
		if (hz > 0 && hz <= 5.66)
			v = 1;
		else if (hz > 70 && hz <= 150)
			v = 7;
		else if (hz > 150 && hz <= 350)
			v = 8;
		else
			v = hz > 0 ? (unsigned)(0.5 + log(hz) / log(2.0)) : 0;
		if (hz > 0)
			rc |= seth(s, FP_TEST_SEQ, FP_ATTR_TS, v);
	}
	return rc;
}

static void flags_str(uint8_t f, char *b)
{
	static const struct { uint8_t bit; char c; } defs[] = {
		{STK_TH_ECE, 'E'}, {STK_TH_URG, 'U'}, {STK_TH_ACK, 'A'}, {STK_TH_PSH, 'P'},
		{STK_TH_RST, 'R'}, {STK_TH_SYN, 'S'}, {STK_TH_FIN, 'F'},
	};
	for (unsigned i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (f & defs[i].bit)
			*b++ = defs[i].c;
	*b = 0;
}

static int quirks(struct fp_subject *s, unsigned test, const struct tl_out *o)
{
	char q[4], *p = q;
	const uint8_t *t = o->l4;
	if (t[12] & 0x0f)
		*p++ = 'R';
	if (!(o->flags & STK_TH_URG) && o->urp)
		*p++ = 'U';
	*p = 0;
	return fp_subject_set(s, test, FP_ATTR_Q, q);
}

/* T1..T7 (idx 0..6) from one answer; probe_seq is what nmap calls
 * tcpSeqBase (SEQ probes add their number; T1 is probe 1). */
static int make_t(struct fp_subject *s, unsigned idx, const struct tl_out *o, uint32_t probe_seq)
{
	unsigned test = FP_TEST_T1 + idx;
	int rc = fp_subject_set(s, test, FP_ATTR_R, "Y");
	rc |= fp_subject_set(s, test, FP_ATTR_DF, o->df ? "Y" : "N");
	rc |= seth(s, test, FP_ATTR_T, o->ttl);
	if (idx)
		rc |= seth(s, test, FP_ATTR_W, o->win);
	const char *sv = o->seq == 0 ? "Z" : o->seq == ACK_BASE ? "A" : o->seq == ACK_BASE + 1 ? "A+" : "O";
	const char *av = o->ack == 0 ? "Z" : o->ack == probe_seq ? "S" : o->ack == probe_seq + 1 ? "S+" : "O";
	rc |= fp_subject_set(s, test, FP_ATTR_S, sv);
	rc |= fp_subject_set(s, test, FP_ATTR_A, av);
	char f[8];
	flags_str(o->flags, f);
	rc |= fp_subject_set(s, test, FP_ATTR_F, f);
	if (idx) {
		char ob[96];
		tl_nmap_opts(o, ob, sizeof(ob));
		rc |= fp_subject_set(s, test, FP_ATTR_O, ob);
	}
	if ((o->flags & STK_TH_RST) && o->len)
		rc |= seth(s, test, FP_ATTR_RD, stk_crc32(o->data, o->len));
	else
		rc |= fp_subject_set(s, test, FP_ATTR_RD, "0");
	rc |= quirks(s, test, o);
	return rc;
}

static int make_ecn(struct fp_subject *s, const struct tl_out *o)
{
	unsigned t = FP_TEST_ECN;
	int rc = fp_subject_set(s, t, FP_ATTR_R, "Y");
	rc |= fp_subject_set(s, t, FP_ATTR_DF, o->df ? "Y" : "N");
	rc |= seth(s, t, FP_ATTR_T, o->ttl);
	rc |= seth(s, t, FP_ATTR_W, o->win);
	char ob[96];
	tl_nmap_opts(o, ob, sizeof(ob));
	rc |= fp_subject_set(s, t, FP_ATTR_O, ob);
	bool ece = o->flags & STK_TH_ECE, cwr = o->flags & STK_TH_CWR;
	rc |= fp_subject_set(s, t, FP_ATTR_CC, ece && cwr ? "S" : ece ? "Y" : !cwr ? "N" : "O");
	rc |= quirks(s, t, o);
	return rc;
}

static int make_u1(struct fp_subject *s, const struct tl_out *o, uint16_t sent_udp_csum)
{
	unsigned t = FP_TEST_U1;
	const uint8_t *icmp = o->l4, *q = icmp + 8;
	unsigned ilen = o->l4_len;
	if (ilen < 8 + 20 + 8)
		return 0;
	int rc = fp_subject_set(s, t, FP_ATTR_R, "Y");
	rc |= fp_subject_set(s, t, FP_ATTR_DF, o->df ? "Y" : "N");
	rc |= seth(s, t, FP_ATTR_T, o->ttl);
	rc |= seth(s, t, FP_ATTR_IPL, o->ip_len);
	rc |= seth(s, t, FP_ATTR_UN, stk_be32(icmp + 4));
	uint16_t ripl = stk_be16(q + 2), rid = stk_be16(q + 4), ck = stk_be16(q + 10);
	if (ripl == 328)
		rc |= fp_subject_set(s, t, FP_ATTR_RIPL, "G");
	else
		rc |= seth(s, t, FP_ATTR_RIPL, ripl);
	if (rid == U1_IPID)
		rc |= fp_subject_set(s, t, FP_ATTR_RID, "G");
	else
		rc |= seth(s, t, FP_ATTR_RID, rid);
	if (ck == 0) {
		rc |= fp_subject_set(s, t, FP_ATTR_RIPCK, "Z");
	} else {
		uint8_t h[20];
		memcpy(h, q, 20);
		h[10] = h[11] = 0;
		rc |= fp_subject_set(s, t, FP_ATTR_RIPCK, stk_csum(h, 20) == ck ? "G" : "I");
	}
	unsigned hl = (q[0] & 0x0f) * 4u;
	const uint8_t *u = q + hl;
	if (8 + hl + 8 > ilen)
		return rc;
	uint16_t uck = stk_be16(u + 6);
	if (uck == sent_udp_csum)
		rc |= fp_subject_set(s, t, FP_ATTR_RUCK, "G");
	else
		rc |= seth(s, t, FP_ATTR_RUCK, uck);
	bool intact = true;
	for (const uint8_t *d = u + 8; d < icmp + ilen; d++)
		intact &= *d == 0x43;
	rc |= fp_subject_set(s, t, FP_ATTR_RUD, intact ? "G" : "I");
	return rc;
}

/* ---- the run ------------------------------------------------------------- */

static double now_s(const struct tl *l)
{
	return (double)l->ctx.now_ns / 1e9;
}

/* The first answer of the last burst, parsed, or false. */
static bool answer(struct tl *l, unsigned n, struct tl_out *o)
{
	return n >= 1 && tl_parse(l, 0, o);
}

int nmap_sim_run(struct tl *l, const struct nmap_sim_cfg *cfg, struct fp_subject *out)
{
	fp_subject_init(out);
	int rc = 0;
	struct tl_out o;
	struct seqdata q = {0};
	uint32_t tcp_ids[6], closed_ids[3], icmp_ids[2];
	unsigned n_tcp = 0, n_closed = 0, n_icmp = 0;
	bool have_ops[6] = {false};
	char ops[6][96];
	uint16_t win[6];
	uint32_t lastipid = 0;
	/* SEQ: six SYNs to the open port, seq_gap_ms apart. */
	for (unsigned i = 0; i < 6; i++) {
		if (i)
			tl_advance(l, cfg->seq_gap_ms + ((i & 1) ? cfg->jitter_ms : 0));
		double sent = now_s(l);
		unsigned n = nmap_sim_syn(l, i, (uint16_t)(PORT_BASE + i), cfg->open_port);
		if (!answer(l, n, &o))
			continue;
		if (i == 0)
			rc |= make_t(out, 0, &o, SEQ_BASE);
		bool synack = (o.flags & (STK_TH_SYN | STK_TH_ACK)) == (STK_TH_SYN | STK_TH_ACK);
		/* processTSeqResp: duplicates by IP ID, RSTs, SYN-ACKs only */
		if (synack && !(lastipid != 0 && o.ip_id == lastipid) && o.seq != 0) {
			uint32_t ts = 0;
			if (!ts_of(&o, &ts))
				q.ts_unsupported = true;
			else if (ts == 0)
				q.ts_zero = true;
			if (getenv("DECNET_SIM_DEBUG"))
				fprintf(stderr, "    seq probe %u at %.3f s: isn %u ipid %u\n", i + 1, sent, o.seq, o.ip_id);
			q.seqs[q.n] = o.seq;
			q.ipids[q.n] = o.ip_id;
			q.ts[q.n] = ts;
			q.sent[q.n] = sent;
			q.n++;
			tcp_ids[n_tcp++] = o.ip_id;
		}
		if (!(lastipid != 0 && o.ip_id == lastipid))
			lastipid = o.ip_id;
		/* processTOpsResp/processTWinResp take any answer, RSTs too */
		tl_nmap_opts(&o, ops[i], sizeof(ops[i]));
		win[i] = o.win;
		have_ops[i] = true;
		/* nmap's kernel resets the half-open connection */
		send_tcp(l, (uint16_t)(PORT_BASE + i), cfg->open_port, SEQ_BASE + i + 1, STK_TH_RST, 0, NULL, 0,
			 false, 0, 0);
	}
	tl_advance(l, 100);
	/* TUI probes, in nmap's order: IE x2, U1, ECN, T2..T4, T5..T7. */
	unsigned n = send_echo(l, 9, 0x7700, 295, 120, true, 0);
	struct tl_out ie1 = {0}, ie2 = {0};
	bool got1 = answer(l, n, &ie1) && ie1.icmp_type == 0;
	if (got1)
		icmp_ids[n_icmp++] = ie1.ip_id;
	n = send_echo(l, 0, 0x7701, 296, 150, false, 4);
	bool got2 = answer(l, n, &ie2) && ie2.icmp_type == 0;
	if (got2)
		icmp_ids[n_icmp++] = ie2.ip_id;
	uint16_t ucsum;
	n = send_u1(l, PORT_BASE + 40, cfg->closed_udp_port, &ucsum);
	l->lax_ip_len = true; /* nmap reads IPL from the field, true or not */
	bool u1 = answer(l, n, &o);
	l->lax_ip_len = false;
	if (u1 && o.icmp_type == 3 && o.icmp_code == 3)
		rc |= make_u1(out, &o, ucsum);
	else
		rc |= fp_subject_set(out, FP_TEST_U1, FP_ATTR_R, "N");
	n = nmap_sim_syn(l, 6, PORT_BASE + 12, cfg->open_port);
	if (answer(l, n, &o))
		rc |= make_ecn(out, &o);
	else
		rc |= fp_subject_set(out, FP_TEST_ECN, FP_ATTR_R, "N");
	static const struct { uint8_t flags; uint16_t win; bool df; bool closed; } tp[6] = {
		{0, 128, true, false},
		{STK_TH_SYN | STK_TH_FIN | STK_TH_URG | STK_TH_PSH, 256, false, false},
		{STK_TH_ACK, 1024, true, false},
		{STK_TH_SYN, 31337, false, true},
		{STK_TH_ACK, 32768, true, true},
		{STK_TH_FIN | STK_TH_PSH | STK_TH_URG, 65535, false, true},
	};
	for (unsigned k = 0; k < 6; k++) {
		n = send_tcp(l, (uint16_t)(PORT_BASE + 14 + k), tp[k].closed ? cfg->closed_port : cfg->open_port,
			     SEQ_BASE, tp[k].flags, tp[k].win, k == 5 ? t7_opts : t_opts, 20, tp[k].df, 0, 0);
		if (answer(l, n, &o)) {
			rc |= make_t(out, k + 1, &o, SEQ_BASE);
			if (tp[k].closed)
				closed_ids[n_closed++] = o.ip_id;
			if (o.flags & STK_TH_SYN) /* nmap's kernel resets it */
				send_tcp(l, (uint16_t)(PORT_BASE + 14 + k), cfg->open_port, SEQ_BASE + 1, STK_TH_RST,
					 0, NULL, 0, false, 0, 0);
		} else {
			rc |= fp_subject_set(out, FP_TEST_T2 + k, FP_ATTR_R, "N");
		}
	}
	if (!(out->tests & (1u << FP_TEST_T1)))
		rc |= fp_subject_set(out, FP_TEST_T1, FP_ATTR_R, "N");
	rc |= make_seq(out, &q, tcp_ids, n_tcp, closed_ids, n_closed, icmp_ids, n_icmp);
	bool all = true;
	for (unsigned i = 0; i < 6; i++)
		all &= have_ops[i];
	if (all) {
		for (unsigned i = 0; i < 6; i++) {
			rc |= fp_subject_set(out, FP_TEST_OPS, FP_ATTR_O1 + i, ops[i]);
			rc |= seth(out, FP_TEST_WIN, FP_ATTR_W1 + i, win[i]);
		}
	}
	if (got1 && got2) {
		bool d1 = ie1.df, d2 = ie2.df;
		rc |= fp_subject_set(out, FP_TEST_IE, FP_ATTR_R, "Y");
		rc |= fp_subject_set(out, FP_TEST_IE, FP_ATTR_DFI, d1 && d2 ? "Y" : d1 && !d2 ? "S" : !d1 && !d2 ? "N" : "O");
		rc |= seth(out, FP_TEST_IE, FP_ATTR_T, ie2.ttl);
		uint8_t c1 = ie1.icmp_code, c2 = ie2.icmp_code;
		if (c1 == c2) {
			if (c1 == 0)
				rc |= fp_subject_set(out, FP_TEST_IE, FP_ATTR_CD, "Z");
			else
				rc |= seth(out, FP_TEST_IE, FP_ATTR_CD, c1);
		} else {
			rc |= fp_subject_set(out, FP_TEST_IE, FP_ATTR_CD, c1 == 9 && c2 == 0 ? "S" : "O");
		}
	} else {
		rc |= fp_subject_set(out, FP_TEST_IE, FP_ATTR_R, "N");
	}
	return rc ? -ENOSPC : 0;
}
