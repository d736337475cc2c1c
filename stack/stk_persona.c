#include "stack/stk_persona.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static uint8_t ipid_kind(const struct fp_ipid *c, uint8_t fallback)
{
	switch (c->kind) {
	case FP_IPID_ZERO: return STK_IPID_ZERO;
	case FP_IPID_RANDOM: return STK_IPID_RANDOM;
	case FP_IPID_RANDOM_INCR: return STK_IPID_RANDOM_INCR;
	case FP_IPID_BROKEN: return STK_IPID_BROKEN_INCR;
	case FP_IPID_INCR: return STK_IPID_INCR;
	case FP_IPID_FIXED: return STK_IPID_FIXED;
	default: return fallback;
	}
}

static void map_ipid(const struct fp_persona *p, struct stk_tcp_policy *pol)
{
	const struct fp_ipid *ti = &p->seq.ti, *ci = &p->seq.ci, *ii = &p->seq.ii;
	pol->ipid[STK_IPID_TCP] = (struct stk_ipid_rule){ipid_kind(ti, STK_IPID_INCR), 0, ti->value};
	/* One global counter is the common case (Windows: TI=CI=II=I, SS=S);
	 * a closed-port sequence of another kind gets its own counter. */
	uint8_t ck = ipid_kind(ci, pol->ipid[STK_IPID_TCP].kind);
	pol->ipid[STK_IPID_TCP_CLOSED] = (struct stk_ipid_rule){ck, ck == pol->ipid[STK_IPID_TCP].kind ? 0 : 1,
								 ci->value};
	uint8_t ik = ipid_kind(ii, STK_IPID_INCR);
	pol->ipid[STK_IPID_ICMP] = (struct stk_ipid_rule){ik, p->seq.ss_shared ? 0 : 2, ii->value};
}

/* nmap measures the ISN rate over ~100 ms steps (ISR = 8 log2 rate) and the
 * deviation of those rates (SP = 8 log2 sd; rates divided by the GCD first
 * when it is above 9). A clock at the persona's rate plus uniform jitter
 * J*gcd per ISN gives sd = 10 J gcd / sqrt(6) (or 10 J / sqrt(6) after the
 * GCD division), so J follows from SP. Rates beyond 2^31/s are what random
 * ISNs look like. */
static void map_isn(const struct fp_persona *p, struct stk_tcp_policy *pol)
{
	if (!p->seq.present)
		return;
	if (p->seq.gcd == 0) {
		pol->isn = (struct stk_isn_rule){STK_ISN_CONSTANT, 0, 1, 0};
		return;
	}
	/* A 32-bit rate field holds clocks up to 2^32/s (ISR 100); faster
	 * "clocks" are random ISNs to nmap (ISR ~10A). */
	if (p->seq.isn_rate_hz >= 4294967295.0) {
		pol->isn = (struct stk_isn_rule){STK_ISN_RANDOM, 0, 1, 0};
		return;
	}
	double gcd = p->seq.gcd;
	double j = p->seq.isn_sd * sqrt(6.0) / (10.0 * (gcd > 9 ? 1.0 : gcd));
	if (j > 2147483647.0 / gcd)
		j = 2147483647.0 / gcd;
	pol->isn = (struct stk_isn_rule){STK_ISN_CLOCK, (uint32_t)llround(p->seq.isn_rate_hz),
					 p->seq.gcd, (uint32_t)llround(j)};
}

static void map_ts(const struct fp_persona *p, struct stk_tcp_policy *pol)
{
	pol->ts.only_if_syn_ts = true;
	if (!p->seq.present)
		return;
	pol->ts.supported = p->seq.ts_supported;
	if (p->seq.ts_random) {
		/* TSvals jumping between connections: nmap reads a "rate" of
		 * 2^TS Hz from them; one clock at that rate reads the same. */
		pol->ts.scope = STK_TS_PER_HOST;
		pol->ts.hz = p->seq.ts_class < 40 ? 1ull << p->seq.ts_class : 1ull << 39;
	} else {
		pol->ts.scope = STK_TS_PER_HOST;
		pol->ts.hz = p->seq.ts_hz;
	}
}

/* The SYN bit an option depends on: MSS always answers, the others only
 * when the SYN offered them. */
static uint8_t opt_bit(uint8_t kind)
{
	switch (kind) {
	case FP_TOPT_WS: return STK_SYN_WS;
	case FP_TOPT_SACKOK: return STK_SYN_SACK;
	case FP_TOPT_TS: return STK_SYN_TS;
	default: return 0;
	}
}

#define SYN_ALL (STK_SYN_MSS | STK_SYN_WS | STK_SYN_SACK | STK_SYN_TS)
#define SYN_ANY (SYN_ALL | STK_SYN_ECN)

/* The option bits of nmap's six SEQ probes and of its ECN probe. */
static const uint8_t probe_bits[6] = {
	SYN_ALL, SYN_ALL, STK_SYN_MSS | STK_SYN_WS | STK_SYN_TS,
	STK_SYN_WS | STK_SYN_SACK | STK_SYN_TS, SYN_ALL, STK_SYN_MSS | STK_SYN_SACK | STK_SYN_TS,
};
#define ECN_PROBE_BITS (STK_SYN_MSS | STK_SYN_WS | STK_SYN_SACK | STK_SYN_ECN)

/* The bits the stack matches layouts against (stk_tcp_output.c's
 * layout_bits): TS forced off when unsupported, on when always sent. */
static uint8_t seen_bits(const struct stk_tcp_policy *pol, uint8_t bits)
{
	if (!pol->ts.supported)
		return (uint8_t)(bits & ~STK_SYN_TS);
	if (!pol->ts.only_if_syn_ts)
		return (uint8_t)(bits | STK_SYN_TS);
	return bits;
}

static uint8_t topt_kind(uint8_t fp_kind, bool clamp)
{
	switch (fp_kind) {
	case FP_TOPT_MSS: return clamp ? STK_TOPT_MSS_CLAMP : STK_TOPT_MSS;
	case FP_TOPT_WS: return STK_TOPT_WS;
	case FP_TOPT_SACKOK: return STK_TOPT_SACKOK;
	case FP_TOPT_TS: return STK_TOPT_TS;
	case FP_TOPT_NOP: return STK_TOPT_NOP;
	default: return STK_TOPT_EOL;
	}
}

/* Append one layout, taken only by SYNs whose seen bits are exactly want:
 * either a probe's recorded answer as is (exact), or probe 1's answer with
 * the options this SYN did not offer (and their padding) dropped. */
static int add_layout(struct stk_tcp_policy *pol, unsigned *n, const struct fp_topts *o, uint8_t want,
		      bool exact, bool clamp)
{
	for (unsigned i = 0; i < o->n; i++) {
		const struct fp_topt *t = &o->opt[i];
		if (!exact) {
			uint8_t bit = opt_bit(t->kind);
			if (t->kind == FP_TOPT_NOP || t->kind == FP_TOPT_EOL) {
				/* padding belongs to the next real option, or at the
				 * end to the previous one */
				bit = 0xff;
				for (unsigned k = i + 1; k < o->n && bit == 0xff; k++)
					if (o->opt[k].kind != FP_TOPT_NOP && o->opt[k].kind != FP_TOPT_EOL)
						bit = opt_bit(o->opt[k].kind);
				for (unsigned k = i; k-- > 0 && bit == 0xff;)
					if (o->opt[k].kind != FP_TOPT_NOP && o->opt[k].kind != FP_TOPT_EOL)
						bit = opt_bit(o->opt[k].kind);
				if (bit == 0xff)
					bit = 0;
			}
			if (bit && !(want & bit))
				continue;
		}
		if (*n + 1 >= STK_TCP_MAX_TOPTS)
			return -ENOSPC;
		struct stk_topt *d = &pol->synack_opts[(*n)++];
		d->kind = topt_kind(t->kind, clamp);
		d->mask = SYN_ANY;
		d->want = want;
		d->value = t->value;
	}
	return 0;
}

/* A SYN-ACK layout for every combination of SYN options the stack can see:
 * nmap's probes get exactly the answers the entry records (OPS O1..O6, ECN
 * O), any other SYN gets probe 1's layout without what it did not offer. */
static int map_synack_opts(const struct fp_persona *p, struct stk_tcp_policy *pol)
{
	const struct fp_topts *o1 = &p->syn[0].opts;
	bool clamp = p->syn[4].present && p->syn[4].opts.n && p->syn[4].opts.opt[0].kind == FP_TOPT_MSS &&
		     o1->n && o1->opt[0].kind == FP_TOPT_MSS && p->syn[4].opts.opt[0].value < o1->opt[0].value;
	bool done[32] = {false};
	unsigned n = 0;
	int rc = 0;
	/* Probe answers first: probe 1 wins the combination it shares with 2 and 5. */
	static const unsigned order[6] = {0, 2, 3, 5, 1, 4};
	for (unsigned i = 0; i < 6 && !rc; i++) {
		unsigned k = order[i];
		uint8_t want = seen_bits(pol, probe_bits[k]);
		if (done[want] || !p->syn[k].present)
			continue;
		done[want] = true;
		rc = add_layout(pol, &n, &p->syn[k].opts, want, true, clamp);
	}
	uint8_t ecn_want = seen_bits(pol, ECN_PROBE_BITS);
	if (!rc && p->ecn.present && p->ecn.respond && !done[ecn_want]) {
		done[ecn_want] = true;
		rc = add_layout(pol, &n, &p->ecn.opts, ecn_want, true, clamp);
	}
	for (unsigned c = 0; c < 32 && !rc; c++) {
		uint8_t want = seen_bits(pol, (uint8_t)c);
		if (done[want])
			continue;
		done[want] = true;
		rc = add_layout(pol, &n, o1, want, false, clamp);
	}
	pol->synack_opts[n].kind = STK_TOPT_END;
	return rc;
}

/* Window rules for the probes the bits tell apart (W3, W4, W6, ECN W),
 * then W1 for everything else. */
static void map_synack_win(const struct fp_persona *p, struct stk_tcp_policy *pol)
{
	uint16_t w1 = p->syn[0].window;
	unsigned n = 0;
	bool done[32] = {false};
	done[seen_bits(pol, probe_bits[0])] = true;
	for (unsigned k = 1; k < 6; k++) {
		uint8_t want = seen_bits(pol, probe_bits[k]);
		if (done[want] || !p->syn[k].present)
			continue;
		done[want] = true;
		if (p->syn[k].window != w1)
			pol->synack_win[n++] = (struct stk_win_rule){SYN_ANY, want, p->syn[k].window};
	}
	uint8_t ecn_want = seen_bits(pol, ECN_PROBE_BITS);
	if (p->ecn.present && p->ecn.respond && !done[ecn_want] && p->ecn.window != w1)
		pol->synack_win[n++] = (struct stk_win_rule){SYN_ANY, ecn_want, p->ecn.window};
	pol->synack_win[n] = (struct stk_win_rule){0, 0, w1};
}

static struct stk_noflow_rule noflow(const struct fp_tcp_answer *a, struct stk_noflow_rule fallback)
{
	static const uint8_t seq[] = {STK_RST_SEQ_ZERO, STK_RST_SEQ_ACK, STK_RST_SEQ_ACK_PLUS, STK_RST_SEQ_RANDOM};
	static const uint8_t ack[] = {STK_RST_ACK_ZERO, STK_RST_ACK_SEQ, STK_RST_ACK_SEQ_PLUS, STK_RST_ACK_RANDOM};
	struct stk_noflow_rule r = {0};
	if (!a->present)
		return fallback;
	if (!a->respond)
		return r; /* STK_NOFLOW_DROP */
	if (a->flags & FP_TH_SYN) {
		r.action = STK_NOFLOW_SYNACK;
		return r;
	}
	r.action = STK_NOFLOW_RST;
	r.seq = seq[a->seq & 3];
	r.ack = ack[a->ack & 3];
	r.ack_flag = (a->flags & FP_TH_ACK) != 0;
	r.df = a->df;
	r.window = a->window;
	return r;
}

/* ---- exact answers --------------------------------------------------- */

/* CRC-32 (IEEE, reflected: what nmap's RD uses). */
static uint32_t crc32_table(unsigned i)
{
	uint32_t c = i;
	for (int k = 0; k < 8; k++)
		c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	return c;
}

uint32_t stk_crc32(const uint8_t *d, unsigned len)
{
	uint32_t c = 0xffffffffu;
	for (unsigned i = 0; i < len; i++)
		c = crc32_table((c ^ d[i]) & 0xff) ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* Four bytes whose CRC-32 is want: the register after each byte is
 * T[x] ^ (previous >> 8), and the top byte of T[x] names x, so the four
 * table indexes follow from want backwards; the bytes then follow forwards
 * from the initial register. */
void stk_crc32_forge(uint32_t want, uint8_t out[4])
{
	uint32_t top[256];
	for (unsigned i = 0; i < 256; i++)
		top[i] = crc32_table(i);
	uint8_t x[4];
	uint32_t c = want ^ 0xffffffffu;
	for (int k = 3; k >= 0; k--) {
		unsigned j = 0;
		while (j < 256 && (top[j] >> 24) != (c >> 24))
			j++;
		x[k] = (uint8_t)j;
		c = (c ^ top[j & 0xff]) << 8;
	}
	uint32_t r = 0xffffffffu;
	for (int k = 0; k < 4; k++) {
		out[k] = (uint8_t)(x[k] ^ (r & 0xff));
		r = top[x[k]] ^ (r >> 8);
	}
}

static uint8_t answer_topt(uint8_t fp_kind)
{
	switch (fp_kind) {
	case FP_TOPT_MSS: return STK_TOPT_MSS;
	case FP_TOPT_WS: return STK_TOPT_WS;
	case FP_TOPT_SACKOK: return STK_TOPT_SACKOK;
	case FP_TOPT_TS: return STK_TOPT_TS;
	case FP_TOPT_NOP: return STK_TOPT_NOP;
	default: return STK_TOPT_EOL;
	}
}

static void answer_opts(const struct fp_topts *o, struct stk_answer *a)
{
	unsigned n = 0;
	for (unsigned i = 0; i < o->n && n + 1 < STK_ANSWER_MAX_OPTS; i++) {
		const struct fp_topt *t = &o->opt[i];
		struct stk_topt *d = &a->opts[n++];
		d->kind = answer_topt(t->kind);
		d->value = t->value;
		if (t->kind == FP_TOPT_TS)
			d->value = (uint16_t)((t->tsval_nonzero ? 0 : 1) | (t->tsecr_nonzero ? 0 : 2));
	}
	a->opts[n].kind = STK_TOPT_END;
}

/* nmap's T1..T7 / ECN fields of one answer. */
static void answer_from(const struct fp_tcp_answer *t, uint8_t host_ttl, struct stk_answer *a)
{
	memset(a, 0, sizeof(*a));
	a->respond = t->respond;
	a->df = t->df;
	a->ttl = t->ttl ? t->ttl : host_ttl;
	a->flags = t->flags;
	a->seq = t->seq & 3;
	a->ack = t->ack & 3;
	a->window = t->window;
	a->reserved = t->quirk_reserved ? 0x8 : 0;
	a->urp = t->quirk_urgent ? 0xF7F5 : 0;
	if (t->rd && (t->flags & FP_TH_RST)) {
		stk_crc32_forge(t->rd, a->data);
		a->data_len = 4;
	}
	answer_opts(&t->opts, a);
}

/* nmap's six SEQ probes and its ECN probe, by option layout. */
static const struct {
	uint8_t n;
	uint8_t kinds[6];
	uint16_t mss;
	bool ecn;
} probe_sig[7] = {
	{5, {3, 1, 2, 8, 4}, 1460, false},    /* WS10 NOP MSS TS SACK */
	{5, {2, 3, 4, 8, 0}, 1400, false},    /* MSS WS0 SACK TS EOL */
	{6, {8, 1, 1, 3, 1, 2}, 640, false},  /* TS NOP NOP WS5 NOP MSS */
	{4, {4, 8, 3, 0}, 0, false},          /* SACK TS WS10 EOL */
	{5, {2, 4, 8, 3, 0}, 536, false},     /* MSS SACK TS WS10 EOL */
	{3, {2, 4, 8}, 265, false},           /* MSS SACK TS */
	{6, {3, 1, 2, 4, 1, 1}, 1460, true},  /* ECN: WS10 NOP MSS SACK NOP NOP */
};

/* The window of the generic rules' catch-all (the last, mask 0). */
static uint16_t default_window(const struct stk_tcp_policy *pol)
{
	for (unsigned i = 0; i < STK_TCP_MAX_WIN_RULES; i++)
		if (pol->synack_win[i].mask == 0)
			return pol->synack_win[i].window;
	return pol->synack_win[STK_TCP_MAX_WIN_RULES - 1].window;
}

static void map_exact_syn(const struct fp_persona *p, struct stk_tcp_policy *pol)
{
	const struct fp_tcp_answer *t1 = &p->t[0];
	unsigned n = 0;
	for (unsigned k = 0; k < 7; k++) {
		struct stk_syn_exact *x = &pol->syn_exact[n];
		memset(x, 0, sizeof(*x));
		x->nkinds = probe_sig[k].n;
		memcpy(x->kinds, probe_sig[k].kinds, probe_sig[k].n);
		x->mss = probe_sig[k].mss;
		x->ecn = probe_sig[k].ecn;
		if (k < 6) {
			const struct fp_syn_answer *sa = &p->syn[k];
			if (!sa->present && !p->seq.present)
				continue;
			x->seq_probe = (uint8_t)(k + 1);
			/* The SEQ answers share T1's header fields. */
			if (t1->present)
				answer_from(t1, p->ttl, &x->a);
			else
				x->a = (struct stk_answer){.respond = true, .ttl = p->ttl, .flags = FP_TH_SYN | FP_TH_ACK,
							   .seq = STK_AS_OTHER, .ack = STK_AA_SEQ_PLUS, .df = pol->df_synack};
			if (k == 0 && t1->present) {
				x->a.respond = t1->respond;
			} else {
				/* probes 2..6 are answered whenever the SEQ test says so,
				 * with the ISNs SEQ measures (T1's S= is probe 1's alone) */
				x->a.respond = !p->seq.present || p->seq.respond;
				if (p->seq.present && !p->seq.respond && sa->present) {
					/* SEQ R=N yet OPS/WIN recorded: the stack answered
					 * those SYNs, but not with a SYN-ACK SEQ could use
					 * (e.g. a RST under SYN-flood protection). */
					x->a.respond = true;
					x->a.flags = FP_TH_RST | FP_TH_ACK;
					x->a.seq = STK_AS_ZERO;
					x->a.ack = STK_AA_SEQ_PLUS;
				}
				if (!(x->a.flags & FP_TH_RST))
					x->a.flags = t1->present && t1->respond ? t1->flags : FP_TH_SYN | FP_TH_ACK;
				/* (a stack answering SYNs with seq = their ack, T1 S=A,
				 * does so for all of them: then SEQ sees GCD 0) */
				if ((!t1->present || !t1->respond) && !(x->a.flags & FP_TH_RST))
					x->a.seq = STK_AS_OTHER;
			}
			if (sa->present) {
				x->a.window = sa->window;
				answer_opts(&sa->opts, &x->a);
			} else {
				/* OPS/WIN not recorded (R=N): nmap compares nothing
				 * there; the generic window, no options. */
				x->a.window = default_window(pol);
				x->a.opts[0].kind = STK_TOPT_END;
				if (p->seq.ts_supported && p->seq.present) {
					/* SEQ still measures a timestamp clock */
					x->a.opts[0] = (struct stk_topt){STK_TOPT_NOP, 0, 0, 0};
					x->a.opts[1] = (struct stk_topt){STK_TOPT_NOP, 0, 0, 0};
					x->a.opts[2] = (struct stk_topt){STK_TOPT_TS, 0, 0,
									 p->seq.ts_hz || p->seq.ts_random ? 0 : 1};
					x->a.opts[3].kind = STK_TOPT_END;
				}
			}
		} else {
			if (!p->ecn.present)
				continue;
			answer_from(&p->ecn, p->ttl, &x->a);
			x->a.flags = FP_TH_SYN | FP_TH_ACK;
			x->a.seq = STK_AS_OTHER;
			x->a.ack = STK_AA_SEQ_PLUS;
			switch (p->ecn.cc) {
			case FP_CC_Y: x->a.flags |= FP_TH_ECE; break;
			case FP_CC_S: x->a.flags |= FP_TH_ECE | FP_TH_CWR; break;
			case FP_CC_O: x->a.flags |= FP_TH_CWR; break;
			default: break;
			}
		}
		n++;
	}
	pol->n_syn_exact = (uint8_t)n;
}

/* ISNs of consecutive SEQ probes: rate 2^(ISR/8), rates deviating by
 * 2^(SP/8) (times the GCD when nmap divides by it, GCD > 9), steps in
 * multiples of the GCD. */
static void map_isn_probe(const struct fp_persona *p, struct stk_tcp_policy *pol)
{
	struct stk_isn_probe *ip = &pol->isn_probe;
	memset(ip, 0, sizeof(*ip));
	if (!p->seq.present || p->seq.gcd == 0 || p->seq.isn_rate_hz <= 0)
		return;
	ip->on = true;
	ip->gcd = p->seq.gcd;
	ip->rate = p->seq.isn_rate_hz;
	/* nmap divides the rates by the GCD before SP when the GCD is above 9 */
	ip->sd = p->seq.isn_sd * (p->seq.gcd > 9 ? (double)p->seq.gcd : 1.0);
}

static void map_exact(const struct fp_persona *p, struct stk_tcp_policy *pol)
{
	pol->exact = true;
	map_exact_syn(p, pol);
	static const unsigned t_of[STK_NOFLOW_COUNT] = {
		[STK_NOFLOW_OPEN_NULL] = 1, [STK_NOFLOW_OPEN_SYNFIN] = 2, [STK_NOFLOW_OPEN_ACK] = 3,
		[STK_NOFLOW_CLOSED_SYN] = 4, [STK_NOFLOW_CLOSED_ACK] = 5, [STK_NOFLOW_CLOSED_OTHER] = 6,
	};
	for (unsigned c = 0; c < STK_NOFLOW_COUNT; c++) {
		const struct fp_tcp_answer *t = &p->t[t_of[c]];
		if (t->present) {
			answer_from(t, p->ttl, &pol->noflow_exact[c]);
		} else {
			/* the entry does not say: a plain RST like the generic rule */
			const struct stk_noflow_rule *r = &pol->noflow[c];
			struct stk_answer *a = &pol->noflow_exact[c];
			memset(a, 0, sizeof(*a));
			a->respond = r->action != STK_NOFLOW_DROP;
			a->ttl = p->ttl;
			a->df = r->df;
			a->flags = (uint8_t)(FP_TH_RST | (r->ack_flag ? FP_TH_ACK : 0));
			a->seq = r->seq;
			a->ack = r->ack;
			a->window = r->window;
			a->opts[0].kind = STK_TOPT_END;
		}
	}
	map_isn_probe(p, pol);
	/* nmap's T5..T7 come in a burst: a persona never rate-limits them
	 * away (the limit is for floods, not for three probes). */
	if (pol->rst_rate_per_s && pol->rst_burst < 16)
		pol->rst_burst = 16;
}

int stk_policy_from_persona(const struct fp_persona *p, struct stk_tcp_policy *pol,
			    struct stk_host_policy *host)
{
	/* Timers, rate limits and anything nmap does not test: the family's. */
	*pol = *stk_tcp_policy_family(p->family);
	pol->name = p->name;
	map_ipid(p, pol);
	map_isn(p, pol);
	map_ts(p, pol);
	/* ts first: the layouts are keyed by the bits the stack will see. */
	if (p->syn[0].present) {
		if (map_synack_opts(p, pol) != 0)
			return -EINVAL;
		map_synack_win(p, pol);
	}
	if (p->t[0].present && p->t[0].respond) {
		pol->df_synack = p->t[0].df;
		pol->df_flow = p->t[0].df;
	}
	if (p->ecn.present && p->ecn.respond)
		pol->ecn_synack = p->ecn.cc == FP_CC_Y || p->ecn.cc == FP_CC_S;
	pol->ecn_silent = p->ecn.present && !p->ecn.respond;
	static const unsigned t_of[STK_NOFLOW_COUNT] = {
		[STK_NOFLOW_OPEN_NULL] = 1, [STK_NOFLOW_OPEN_SYNFIN] = 2, [STK_NOFLOW_OPEN_ACK] = 3,
		[STK_NOFLOW_CLOSED_SYN] = 4, [STK_NOFLOW_CLOSED_ACK] = 5, [STK_NOFLOW_CLOSED_OTHER] = 6,
	};
	for (unsigned c = 0; c < STK_NOFLOW_COUNT; c++)
		pol->noflow[c] = noflow(&p->t[t_of[c]], pol->noflow[c]);
	if (p->u1.present) {
		struct stk_unreach_rule *u = &pol->unreach;
		u->respond = p->u1.respond;
		u->df = p->u1.df;
		if (p->u1.respond)
			u->quote_max = p->u1.ipl < 56 ? 56 : p->u1.ipl;
		if (p->u1.respond && p->u1.ipl > 1500) {
			/* a length field in the wrong byte order: the packet is as
			 * long as the swapped value says */
			uint16_t sw = (uint16_t)(p->u1.ipl << 8 | p->u1.ipl >> 8);
			u->quote_max = sw >= 56 && sw <= 1500 ? sw : 56;
			u->ipl_field = p->u1.ipl;
		}
		u->ripck_zero = p->u1.ripck == FP_RIPCK_ZERO;
		u->ripck_bad = p->u1.ripck == FP_RIPCK_INVALID;
		u->ruck_zero = !p->u1.ruck_good && p->u1.ruck == 0;
		u->ruck_set = !p->u1.ruck_good;
		u->ruck = p->u1.ruck;
		u->rud_zero = !p->u1.rud_good;
		u->ttl = p->u1.ttl;
		u->un = p->u1.un;
		u->ripl = p->u1.ripl_good ? 0 : p->u1.ripl;
		u->rid_set = !p->u1.rid_good;
		u->rid = p->u1.rid;
		/* nmap sends one U1 probe per try; never rate-limit it away */
		if (u->rate_per_s && u->burst < 4)
			u->burst = 4;
	}
	if (p->ie.present) {
		pol->echo_silent = !p->ie.respond;
		if (p->ie.respond)
			pol->echo_df = p->ie.dfi == 'Y'	  ? STK_DF_ALWAYS
				       : p->ie.dfi == 'S' ? STK_DF_COPY
				       : p->ie.dfi == 'O' ? STK_DF_INVERT
							  : STK_DF_NEVER;
		pol->echo_code = p->ie.cd == 'S'   ? STK_CODE_COPY
				 : p->ie.cd == 'O' ? STK_CODE_OTHER
				 : p->ie.cd == 'V' ? STK_CODE_VALUE
						   : STK_CODE_ZERO;
		pol->echo_code_value = p->ie.cd_value;
	}
	map_exact(p, pol);
	memset(host, 0, sizeof(*host));
	host->ttl = p->ttl;
	uint8_t icmp = p->ie.present && p->ie.respond ? p->ie.ttl : p->u1.present && p->u1.respond ? p->u1.ttl : 0;
	host->icmp_ttl = icmp != p->ttl ? icmp : 0;
	host->icmp_echo_copy_code = p->ie.cd == 'S';
	host->icmp_echo_df = p->ie.dfi == 'Y';
	host->tcp = pol;
	return stk_tcp_policy_check(pol) == 0 ? 0 : -EINVAL;
}
