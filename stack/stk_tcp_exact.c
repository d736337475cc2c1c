/* Exact answers of a compiled persona (stk_tcp_policy.exact): the segments
 * an nmap-os-db entry records for the probes nmap sends, reproduced field
 * by field.
 *
 * Which answer applies is decided by what the segment is, not by who sent
 * it: a SYN's option layout (kinds in order, MSS value, ECN request) picks
 * one of the entry's SYN-ACKs (nmap's six SEQ probes and its ECN probe
 * have distinct layouts; real stacks answer them differently because the
 * options differ), and the no-connection cases (stk_noflow_case) pick the
 * T2..T7 answers. Anything else takes the persona's generic rules.
 *
 * ISNs answering consecutive SEQ probes step by a controlled rate: nmap
 * derives ISR, SP and GCD from the ISN differences divided by the times
 * between its own sends, which our arrival times track to microseconds, so
 * the classes come out as the entry asks whatever nmap's pacing.
 */
#include "stack/stk_tcp_int.h"

#include <math.h>
#include <string.h>

const struct stk_syn_exact *stk_syn_exact_find(const struct stk_tcp_policy *p, const uint8_t *opts,
					       unsigned optlen, uint16_t mss, bool ecn)
{
	uint8_t kinds[STK_SYN_SIG_MAX];
	unsigned n = 0;
	/* The layout as a list of kinds; a malformed or longer one matches
	 * nothing (nmap's probes are well formed). */
	for (unsigned i = 0; i < optlen;) {
		uint8_t k = opts[i];
		if (n == STK_SYN_SIG_MAX)
			return NULL;
		kinds[n++] = k;
		if (k == 0)
			break; /* end of list: what follows is padding */
		if (k == 1) {
			i++;
			continue;
		}
		if (i + 1 >= optlen || opts[i + 1] < 2)
			return NULL;
		i += opts[i + 1];
	}
	for (unsigned e = 0; e < p->n_syn_exact; e++) {
		const struct stk_syn_exact *x = &p->syn_exact[e];
		if (x->nkinds == n && x->mss == mss && x->ecn == ecn && memcmp(x->kinds, kinds, n) == 0)
			return x;
	}
	return NULL;
}

uint8_t stk_answer_features(const struct stk_answer *a, uint8_t *ws)
{
	uint8_t bits = 0;
	*ws = 0;
	for (unsigned i = 0; i < STK_ANSWER_MAX_OPTS && a->opts[i].kind != STK_TOPT_END; i++) {
		switch (a->opts[i].kind) {
		case STK_TOPT_MSS:
		case STK_TOPT_MSS_CLAMP:
			bits |= STK_SYN_MSS;
			break;
		case STK_TOPT_WS:
			bits |= STK_SYN_WS;
			*ws = (uint8_t)(a->opts[i].value > 14 ? 14 : a->opts[i].value);
			break;
		case STK_TOPT_SACKOK:
			bits |= STK_SYN_SACK;
			break;
		case STK_TOPT_TS:
			bits |= STK_SYN_TS;
			break;
		case STK_TOPT_EOL:
		case STK_TOPT_EOL_PAD:
			return bits; /* the peer reads no further (an entry's "LLW1NT11") */
		default:
			break;
		}
	}
	return bits;
}

static uint32_t gcd_u32(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t c = a % b;
		a = b;
		b = c;
	}
	return a;
}

/* How many GCD units the ISN moves between SEQ probe k-1 and k (k = 2..6,
 * interval i = k - 2) when dt seconds passed: five steps whose rates
 * (units / dt) have mean qm and sample deviation qs (both in units per
 * interval), as closely as integers allow, never sharing a factor (nmap
 * would print their common factor times the GCD). */
static double probe_units(unsigned i, double qm, double qs, double qmax)
{
	static const double sym[5] = {1, -1, 1, -1, 0};  /* mean 0, sample sd 1 */
	static const double one[5] = {1, 0, 0, 0, 0};    /* m = 1 high of 5 */
	static const double two[5] = {1, 0, 1, 0, 0};    /* m = 2 high of 5 */
	if (qs < 0.25) /* a constant step: one unit, or the rate's */
		return qm < 1.5 ? 1 : floor(qm + 0.5);
	if (qs < 3) {
		/* Too fine for rounding: two levels a and a + b with m of the
		 * five high have deviation b * sqrt(m (5 - m) / 20) and mean
		 * a + b m / 5; a may be 0 (no step) when b is 1, as long as
		 * gcd(a, b) is 1. Best deviation, keeping the mean (ISR) close. */
		double best = 1e9, ba = 1;
		unsigned bb = 1, bm = 1;
		for (unsigned b = 1; b <= 8; b++)
			for (unsigned m = 1; m <= 2; m++) {
				double a = floor(qm - (double)b * m / 5.0 + 0.5);
				if (a < 0)
					a = 0;
				if (a == 0 && b > 1)
					continue;
				while (a > 0 && b > 1 && fmod(a, (double)b) == 0)
					a += 1;
				double mean = a + (double)b * m / 5.0;
				double score = fabs(log((double)b * sqrt(m * (5.0 - m) / 20.0) / qs)) +
					       2 * fmax(0, fabs(log(mean / qm)) - 0.3);
				if (score < best) {
					best = score;
					ba = a;
					bb = b;
					bm = m;
				}
			}
		return ba + (double)bb * (bm == 1 ? one[i] : two[i]);
	}
	/* Rates cannot go below 0, nor a step above 2^31 (nmap takes the
	 * shorter way round the 32-bit circle): among the symmetric pattern
	 * and two-level patterns (m of five high), clipped to [0, qmax], the
	 * one closest to the wanted mean and deviation. */
	double best_lo = qm, best_hi = qm, best = 1e18;
	unsigned best_m = 0;
	if (qm - qs >= 0 && qm + qs <= qmax) {
		best = 0;
		best_m = 0; /* symmetric */
	} else {
		for (unsigned m = 1; m <= 4; m++) {
			double span = qs / sqrt(m * (5.0 - m) / 20.0);
			double lo = qm - span * m / 5.0, hi;
			if (lo < 0)
				lo = 0;
			hi = lo + span;
			if (hi > qmax)
				hi = qmax;
			double mean = lo + (hi - lo) * m / 5.0, sd = (hi - lo) * sqrt(m * (5.0 - m) / 20.0);
			if (mean <= 0 || sd <= 0)
				continue;
			double score = fabs(log(mean / qm)) + fabs(log(sd / qs));
			if (score < best) {
				best = score;
				best_m = m;
				best_lo = lo;
				best_hi = hi;
			}
		}
	}
	static const unsigned high[5][5] = {
		{0}, {1, 0, 0, 0, 0}, {1, 0, 1, 0, 0}, {1, 1, 0, 1, 0}, {1, 1, 1, 1, 0},
	};
	double q = best_m == 0 ? qm + qs * sym[i] : high[best_m][i] ? best_hi : best_lo;
	q = floor(q + 0.5);
	if (q > qmax)
		q = qmax;
	return q < 1 ? 1 : q;
}

uint32_t stk_isn_probe(struct stk_ctx *ctx, struct stk_host *h, uint32_t rip, unsigned k, uint32_t fallback)
{
	const struct stk_isn_probe *ip = &stk_host_tcp_policy(h)->isn_probe;
	struct stk_host_gen *g = &h->gen;
	uint32_t isn = fallback;
	uint64_t dt_ns = ctx->now_ns - g->probe_ns;
	uint32_t gcd = ip->gcd ? ip->gcd : 1;
	if (ip->on && k >= 2 && k <= 6 && g->probe_peer == rip && g->probe_k && g->probe_k < k &&
	    dt_ns < 5ull * 1000000000ull) {
		double dt = (double)dt_ns / 1e9;
		double units = probe_units(k - 2, ip->rate * dt / gcd, ip->sd * dt / gcd, floor(2147483647.0 / gcd));
		/* The steps must not share a factor, or nmap's GCD would be that
		 * factor times ours: move this one to the nearest coprime count. */
		if (g->probe_units_gcd > 1 && units >= 1 && units < 4294967295.0) {
			uint32_t u = (uint32_t)units;
			for (uint32_t d = 0; d < 64; d++) {
				if (gcd_u32(g->probe_units_gcd, u + d) == 1) {
					u += d;
					break;
				}
				if (u > d + 1 && gcd_u32(g->probe_units_gcd, u - d) == 1) {
					u -= d;
					break;
				}
			}
			units = u;
		}
		g->probe_units_gcd = gcd_u32(g->probe_units_gcd, (uint32_t)fmin(units, 4294967295.0));
		double step = fmod(units * (double)gcd, 4294967296.0);
		isn = g->probe_isn + (uint32_t)step;
	} else {
		if (ip->on && gcd > 1)
			isn -= isn % gcd;
		g->probe_units_gcd = 0;
	}
	g->probe_ns = ctx->now_ns;
	g->probe_isn = isn;
	g->probe_peer = rip;
	g->probe_k = (uint8_t)k;
	return isn;
}

/* The options of an exact answer; returns their length (padded to 4). */
static unsigned answer_options(const struct stk_answer *a, uint32_t tsval, uint32_t tsecr, uint8_t *out)
{
	unsigned n = 0;
	for (unsigned i = 0; i < STK_ANSWER_MAX_OPTS && a->opts[i].kind != STK_TOPT_END; i++) {
		const struct stk_topt *o = &a->opts[i];
		unsigned need = o->kind == STK_TOPT_TS ? 10 : o->kind == STK_TOPT_MSS ? 4
							      : o->kind == STK_TOPT_WS    ? 3
							      : o->kind == STK_TOPT_SACKOK ? 2
											   : 1;
		if (n + need > 40)
			break;
		switch (o->kind) {
		case STK_TOPT_MSS:
		case STK_TOPT_MSS_CLAMP:
			out[n] = 2;
			out[n + 1] = 4;
			stk_put_be16(out + n + 2, o->value);
			break;
		case STK_TOPT_WS:
			out[n] = 3;
			out[n + 1] = 3;
			out[n + 2] = (uint8_t)o->value;
			break;
		case STK_TOPT_SACKOK:
			out[n] = 4;
			out[n + 1] = 2;
			break;
		case STK_TOPT_TS:
			/* value bit 0: TSval must be 0; bit 1: TSecr must be 0 */
			out[n] = 8;
			out[n + 1] = 10;
			stk_put_be32(out + n + 2, (o->value & 1) ? 0 : (tsval ? tsval : 1));
			stk_put_be32(out + n + 6, (o->value & 2) ? 0 : (tsecr ? tsecr : 1));
			break;
		case STK_TOPT_NOP:
			out[n] = 1;
			break;
		default:
			out[n] = 0;
			break;
		}
		n += need;
	}
	while (n % 4)
		out[n++] = 0;
	return n;
}

void stk_tcp_send_answer(struct stk_ctx *ctx, struct stk_host *h, const uint8_t *dst_mac, uint32_t dst_ip,
			 const struct stk_answer_in *in, const struct stk_answer *a, enum stk_ipid_class cls)
{
	struct stk_pkt *out = stk_l4_tx_take(ctx);
	if (!out)
		return;
	uint64_t rnd = ctx->tcp->rng = ctx->tcp->rng * 6364136223846793005ull + 1442695040888963407ull;
	uint32_t seq = a->seq == STK_AS_ACK        ? in->ack
		       : a->seq == STK_AS_ACK_PLUS ? in->ack + 1
		       : a->seq == STK_AS_OTHER    ? in->isn
						   : 0;
	uint32_t ack = a->ack == STK_AA_SEQ        ? in->seq
		       : a->ack == STK_AA_SEQ_PLUS ? in->seq + 1
		       : a->ack == STK_AA_OTHER    ? (uint32_t)(rnd >> 32) | 1u
						   : 0;
	uint8_t opts[40];
	unsigned optlen = answer_options(a, in->tsval, in->tsecr, opts);
	unsigned len = STK_TCP_HLEN + optlen + a->data_len;
	uint8_t *tcp = stk_l4_ip_header(out, h, dst_mac, dst_ip, STK_IPPROTO_TCP, len, stk_ipid_next(h, cls, ctx->now_ns),
					a->df, 0);
	if (a->ttl) {
		uint8_t *ip = tcp - STK_IP4_MIN_HLEN;
		ip[STK_IP4_O_TTL] = a->ttl;
		stk_put_be16(ip + STK_IP4_O_CSUM, 0);
		stk_put_be16(ip + STK_IP4_O_CSUM, stk_csum(ip, STK_IP4_MIN_HLEN));
	}
	stk_put_be16(tcp + STK_TCP_O_SPORT, in->lport);
	stk_put_be16(tcp + STK_TCP_O_DPORT, in->rport);
	stk_put_be32(tcp + STK_TCP_O_SEQ, seq);
	stk_put_be32(tcp + STK_TCP_O_ACK, ack);
	tcp[STK_TCP_O_OFF] = (uint8_t)((((STK_TCP_HLEN + optlen) / 4) << 4) | (a->reserved & 0x0f));
	tcp[STK_TCP_O_FLAGS] = a->flags;
	stk_put_be16(tcp + STK_TCP_O_WIN, a->window);
	stk_put_be16(tcp + STK_TCP_O_CSUM, 0);
	/* Q=U: the urgent field left as the probe had it (nmap's ECN probe
	 * carries one), or the persona's constant. */
	stk_put_be16(tcp + STK_TCP_O_URP, a->urp ? (in->urp ? in->urp : a->urp) : 0);
	memcpy(tcp + STK_TCP_HLEN, opts, optlen);
	memcpy(tcp + STK_TCP_HLEN + optlen, a->data, a->data_len);
	uint32_t sum = stk_l4_pseudo(h->ip_raw, dst_ip, STK_IPPROTO_TCP, len);
	stk_put_be16(tcp + STK_TCP_O_CSUM, stk_csum_fold(stk_csum_add(sum, tcp, len)));
	stk_l4_tx_put(ctx, out);
	if (a->flags & STK_TH_RST)
		ctx->cnt.tcp_rst_sent++;
	else if (a->flags & STK_TH_SYN)
		ctx->cnt.tcp_synack_sent++;
}
