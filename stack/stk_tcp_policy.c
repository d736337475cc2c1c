/* Family default policies and the per-decky generators they drive.
 *
 * Each family table reproduces one representative nmap-os-db entry (named
 * above it) as closely as the stack's fields allow, so a decky wearing only
 * a family already answers like a real member of it:
 *
 *   linux     Linux 5.0 - 5.4
 *   windows   Microsoft Windows 10 1709 - 1909
 *   bsd       FreeBSD 11.2-RELEASE - 11.3 RELEASE or 11.2-STABLE
 *   embedded  an lwIP device (Enlogic PDU, FreeRTOS/lwIP): TTL 255, MSS only
 *   cisco     Cisco IOS 15 (MSS clamped to the SYN's, no window scaling)
 *
 * On the netns lab, nmap 7.93 -O names each of these entries as its exact
 * match ("OS details: ..."). SEQ's SP is a statistic over six random ISNs:
 * for the hash-based generators it now and then falls just outside the
 * entry's range, as it would for the real OS.
 *
 * The persona compiler (fingerprints/) produces tables of the same shape
 * from any entry; nothing here is special-cased by name.
 */
#include "stack/stk_tcp_policy.h"

#include <errno.h>

#include "stack/stk_hosts.h"

#define S_MSS STK_SYN_MSS
#define S_WS STK_SYN_WS
#define S_SACK STK_SYN_SACK
#define S_TS STK_SYN_TS

/* Layout rows: OPT(kind, condition mask, wanted bits, value). */
#define OPT(k, m, w, v) {STK_TOPT_##k, (m), (w), (v)}

/* No-flow answers: nmap's S=, A=, F=, DF, W per probe. */
#define DROP {STK_NOFLOW_DROP, 0, 0, false, false, 0}
#define RST_(s, a, af, df, w) {STK_NOFLOW_RST, STK_RST_SEQ_##s, STK_RST_ACK_##a, (af), (df), (w)}
#define SYNACK {STK_NOFLOW_SYNACK, 0, 0, false, false, 0}

static const struct stk_tcp_policy family_policies[FP_FAMILY_COUNT] = {
	[FP_FAMILY_LINUX] = {
		.name = "linux",
		.ipid = {{STK_IPID_ZERO, 0, 0}, {STK_IPID_ZERO, 1, 0}, {STK_IPID_INCR, 2, 0}},
		/* secure_tcp_seq(): siphash of the 4-tuple + ns clock >> 6. */
		.isn = {STK_ISN_HASH_CLOCK, 15625000, 1, 0},
		.ts = {true, true, STK_TS_PER_PEER, 1000},
		/* M5B4 [S|NN] T [NNS] NW7 */
		.synack_opts = {
			OPT(MSS, 0, 0, 1460),
			OPT(NOP, S_SACK | S_TS, S_TS, 0),
			OPT(NOP, S_SACK | S_TS, S_TS, 0),
			OPT(SACKOK, S_SACK | S_TS, S_SACK | S_TS, 0),
			OPT(TS, S_TS, S_TS, 0),
			OPT(NOP, S_SACK | S_TS, S_SACK, 0),
			OPT(NOP, S_SACK | S_TS, S_SACK, 0),
			OPT(SACKOK, S_SACK | S_TS, S_SACK, 0),
			OPT(NOP, S_WS, S_WS, 0),
			OPT(WS, S_WS, S_WS, 7),
		},
		/* 45 * 1448 with timestamps, 44 * 1460 without. */
		.synack_win = {{S_TS, S_TS, 0xfe88}, {0, 0, 0xfaf0}},
		.df_synack = true,
		.df_flow = true,
		.ecn_synack = true,
		.noflow = {
			[STK_NOFLOW_OPEN_NULL] = DROP,
			[STK_NOFLOW_OPEN_SYNFIN] = DROP,
			[STK_NOFLOW_OPEN_ACK] = RST_(ACK, ZERO, false, true, 0),
			[STK_NOFLOW_CLOSED_SYN] = RST_(ZERO, SEQ_PLUS, true, true, 0),
			[STK_NOFLOW_CLOSED_ACK] = RST_(ACK, ZERO, false, true, 0),
			[STK_NOFLOW_CLOSED_OTHER] = RST_(ZERO, SEQ_PLUS, true, true, 0),
		},
		/* icmp_ratelimit 1000 ms, XRLIM burst 6; errors at precedence 6. */
		.unreach = {.respond = true, .df = false, .tos = 0xc0, .quote_max = 576,
			    .rate_per_s = 1, .burst = 6},
		.rto_min_ms = 200, .rto_init_ms = 1000, .rto_max_ms = 120000,
		.synack_retries = 5, .data_retries = 15,
		.time_wait_ms = 60000, .fin_wait2_ms = 60000,
		.tw_reuse_linux = true,
		.zw_linux = true,
		.init_cwnd_segs = 10,
		/* tcp_delack_min 40 ms, ACK every 2nd full segment, up to 16
		 * quick ACKs at start; keepalive 7200/75 s x 9, no data byte. */
		.delack_ms = 40, .delack_segs = 2, .delack_quick = 16,
		.keepalive_idle_ms = 7200000, .keepalive_intvl_ms = 75000, .keepalive_probes = 9,
		.frag_time_exceeded = true, /* ip_expire() */
	},
	[FP_FAMILY_WINDOWS] = {
		.name = "windows",
		/* One counter for everything: TI=I CI=I II=I SS=S. */
		.ipid = {{STK_IPID_INCR, 0, 0}, {STK_IPID_INCR, 0, 0}, {STK_IPID_INCR, 0, 0}},
		.isn = {STK_ISN_HASH_CLOCK, 10000000, 1, 0},
		.ts = {false, true, STK_TS_PER_HOST, 0}, /* TS=U */
		/* M5B4 NW8 NNS */
		.synack_opts = {
			OPT(MSS, 0, 0, 1460),
			OPT(NOP, S_WS, S_WS, 0),
			OPT(WS, S_WS, S_WS, 8),
			OPT(NOP, S_SACK, S_SACK, 0),
			OPT(NOP, S_SACK, S_SACK, 0),
			OPT(SACKOK, S_SACK, S_SACK, 0),
		},
		.synack_win = {{S_WS, S_WS, 0xffff}, {0, 0, 0xff70}},
		.df_synack = true,
		.df_flow = true,
		.ecn_synack = false,
		.noflow = {
			[STK_NOFLOW_OPEN_NULL] = RST_(ZERO, SEQ, true, true, 0),
			[STK_NOFLOW_OPEN_SYNFIN] = RST_(ZERO, RANDOM, true, true, 0),
			[STK_NOFLOW_OPEN_ACK] = RST_(ACK, RANDOM, false, true, 0),
			[STK_NOFLOW_CLOSED_SYN] = RST_(ZERO, SEQ_PLUS, true, true, 0),
			[STK_NOFLOW_CLOSED_ACK] = RST_(ACK, RANDOM, false, true, 0),
			[STK_NOFLOW_CLOSED_OTHER] = RST_(ZERO, SEQ_PLUS, true, true, 0),
		},
		.unreach = {.respond = true, .df = false, .tos = 0, .quote_max = 576,
			    .rate_per_s = 1000, .burst = 200},
		.rto_min_ms = 300, .rto_init_ms = 1000, .rto_max_ms = 60000,
		.synack_retries = 2, .data_retries = 5,
		.time_wait_ms = 120000, .fin_wait2_ms = 120000,
		.init_cwnd_segs = 10,
		/* TcpAckFrequency 2, 200 ms; KeepAliveTime 2 h, interval 1 s,
		 * 10 probes (TcpMaxDataRetransmissions), each with one byte. */
		.delack_ms = 200, .delack_segs = 2,
		.keepalive_idle_ms = 7200000, .keepalive_intvl_ms = 1000, .keepalive_probes = 10,
		.keepalive_byte = true,
		.frag_time_exceeded = true,
	},
	[FP_FAMILY_BSD] = {
		.name = "bsd",
		/* TI=Z CI=Z II=RI */
		.ipid = {{STK_IPID_ZERO, 0, 0}, {STK_IPID_ZERO, 1, 0}, {STK_IPID_RANDOM_INCR, 2, 0}},
		/* tcp_new_isn(): hash + ISN_BYTES_PER_SECOND. */
		.isn = {STK_ISN_HASH_CLOCK, 1048576, 1, 0},
		/* Per-connection random offsets (nmap sees TS=21). */
		.ts = {true, true, STK_TS_PER_FLOW, 1000},
		/* M5B4 NW6 [S] [NN] T, or S LL without timestamps */
		.synack_opts = {
			OPT(MSS, 0, 0, 1460),
			OPT(NOP, S_WS, S_WS, 0),
			OPT(WS, S_WS, S_WS, 6),
			OPT(SACKOK, S_SACK, S_SACK, 0),
			OPT(NOP, S_SACK | S_TS, S_TS, 0),
			OPT(NOP, S_SACK | S_TS, S_TS, 0),
			OPT(TS, S_TS, S_TS, 0),
			OPT(EOL_PAD, S_SACK | S_TS, S_SACK, 0),
		},
		.synack_win = {{0, 0, 0xffff}},
		.df_synack = true,
		.df_flow = true,
		.ecn_synack = true,
		.echo_df = STK_DF_COPY,
		.noflow = {
			[STK_NOFLOW_OPEN_NULL] = DROP,
			[STK_NOFLOW_OPEN_SYNFIN] = SYNACK,
			[STK_NOFLOW_OPEN_ACK] = RST_(ACK, ZERO, false, true, 0),
			[STK_NOFLOW_CLOSED_SYN] = RST_(ZERO, SEQ_PLUS, true, true, 0),
			[STK_NOFLOW_CLOSED_ACK] = RST_(ACK, ZERO, false, true, 0),
			[STK_NOFLOW_CLOSED_OTHER] = RST_(ZERO, SEQ_PLUS, true, true, 0),
		},
		/* badport_bandlim: icmplim 200/s for unreachables and RSTs alike. */
		.rst_rate_per_s = 200, .rst_burst = 200,
		.unreach = {.respond = true, .df = false, .tos = 0, .quote_max = 56,
			    .rate_per_s = 200, .burst = 200},
		.rto_min_ms = 30, .rto_init_ms = 1000, .rto_max_ms = 64000,
		.synack_retries = 3, .data_retries = 12,
		.time_wait_ms = 60000, .fin_wait2_ms = 60000,
		.init_cwnd_segs = 10,
		/* net.inet.tcp.delacktime 100 ms; keepidle 2 h, keepintvl 75 s,
		 * keepcnt 8. */
		.delack_ms = 100, .delack_segs = 2,
		.keepalive_idle_ms = 7200000, .keepalive_intvl_ms = 75000, .keepalive_probes = 8,
		.frag_time_exceeded = false, /* ip_reass.c frees a timed-out queue silently */
	},
	[FP_FAMILY_EMBEDDED] = {
		.name = "embedded",
		/* TI=I CI=I II=RI SS=S: one counter, ICMP steps at random. */
		.ipid = {{STK_IPID_INCR, 0, 0}, {STK_IPID_INCR, 0, 0}, {STK_IPID_RANDOM_INCR, 0, 0}},
		/* A slow tick-driven ISN (ISR ~ 0x65, SP low: no randomness). */
		.isn = {STK_ISN_CLOCK, 6250, 1, 0},
		.ts = {false, true, STK_TS_PER_HOST, 0},
		.synack_opts = {OPT(MSS, 0, 0, 1460)},
		.synack_win = {{0, 0, 2920}},
		.df_synack = false,
		.df_flow = false,
		.ecn_synack = false,
		.echo_df = STK_DF_COPY,
		.noflow = {
			[STK_NOFLOW_OPEN_NULL] = DROP,
			[STK_NOFLOW_OPEN_SYNFIN] = SYNACK,
			[STK_NOFLOW_OPEN_ACK] = RST_(ACK, SEQ, true, false, 2920),
			[STK_NOFLOW_CLOSED_SYN] = RST_(ACK, SEQ_PLUS, true, false, 2920),
			[STK_NOFLOW_CLOSED_ACK] = RST_(ACK, SEQ, true, false, 2920),
			[STK_NOFLOW_CLOSED_OTHER] = RST_(ACK, SEQ_PLUS, true, false, 2920),
		},
		.unreach = {.respond = true, .df = false, .tos = 0, .quote_max = 56,
			    .rate_per_s = 100, .burst = 20},
		.rto_min_ms = 500, .rto_init_ms = 3000, .rto_max_ms = 60000,
		.synack_retries = 4, .data_retries = 12,
		.time_wait_ms = 120000, .fin_wait2_ms = 20000,
		.init_cwnd_segs = 3,
		/* lwIP: delayed ACKs go out on the 250 ms fast timer or with the
		 * second segment; TCP_KEEPIDLE/INTVL/CNT_DEFAULT 2 h, 75 s, 9. */
		.delack_ms = 250, .delack_segs = 2,
		.keepalive_idle_ms = 7200000, .keepalive_intvl_ms = 75000, .keepalive_probes = 9,
		.frag_time_exceeded = true, /* ip_reass_free_complete_datagram() */
	},
	[FP_FAMILY_CISCO] = {
		.name = "cisco",
		.ipid = {{STK_IPID_RANDOM, 0, 0}, {STK_IPID_RANDOM, 1, 0}, {STK_IPID_RANDOM_INCR, 2, 0}},
		/* Random increments of up to 2^29.5 (ISR and SP ~ 0xF9), not a
		 * full 32-bit spread. */
		.isn = {STK_ISN_CLOCK, 0, 1, 730000000},
		.ts = {false, true, STK_TS_PER_HOST, 0},
		/* M5B4 / M578 / M280 / M218: the smaller of 1460 and the SYN's. */
		.synack_opts = {OPT(MSS_CLAMP, 0, 0, 1460)},
		.synack_win = {{0, 0, 4128}},
		.df_synack = false,
		.df_flow = false,
		.ecn_synack = false,
		.echo_df = STK_DF_COPY,
		.noflow = {
			[STK_NOFLOW_OPEN_NULL] = DROP,
			[STK_NOFLOW_OPEN_SYNFIN] = DROP,
			[STK_NOFLOW_OPEN_ACK] = RST_(ACK, ZERO, false, false, 0),
			[STK_NOFLOW_CLOSED_SYN] = RST_(ACK, SEQ_PLUS, true, false, 0),
			[STK_NOFLOW_CLOSED_ACK] = RST_(ACK, ZERO, false, false, 0),
			[STK_NOFLOW_CLOSED_OTHER] = RST_(ACK, SEQ, true, false, 0),
		},
		/* "ip icmp rate-limit unreachable 500" is the IOS default. */
		.unreach = {.respond = true, .df = false, .tos = 0, .quote_max = 56,
			    .rate_per_s = 2, .burst = 1},
		.rto_min_ms = 300, .rto_init_ms = 2000, .rto_max_ms = 64000,
		.synack_retries = 4, .data_retries = 6,
		.time_wait_ms = 30000, .fin_wait2_ms = 30000,
		.init_cwnd_segs = 2,
		/* IOS (BSD-derived TCP): 200 ms delayed ACK, BSD keepalive. */
		.delack_ms = 200, .delack_segs = 2,
		.keepalive_idle_ms = 7200000, .keepalive_intvl_ms = 75000, .keepalive_probes = 8,
		.frag_time_exceeded = true,
	},
};

const struct stk_tcp_policy *stk_tcp_policy_family(enum fp_family family)
{
	if ((unsigned)family >= FP_FAMILY_COUNT)
		family = FP_FAMILY_LINUX;
	return &family_policies[family];
}

const struct stk_tcp_policy *stk_host_tcp_policy(const struct stk_host *h)
{
	return h->policy.tcp ? h->policy.tcp : &family_policies[FP_FAMILY_LINUX];
}

static unsigned topt_len(const struct stk_topt *o, unsigned at)
{
	static const uint8_t len[] = {
		[STK_TOPT_MSS] = 4, [STK_TOPT_MSS_CLAMP] = 4, [STK_TOPT_NOP] = 1, [STK_TOPT_WS] = 3,
		[STK_TOPT_SACKOK] = 2, [STK_TOPT_TS] = 10, [STK_TOPT_EOL] = 1,
	};
	if (o->kind == STK_TOPT_EOL_PAD)
		return (4 - at % 4) % 4;
	return o->kind < sizeof(len) ? len[o->kind] : 0;
}

int stk_tcp_policy_check(const struct stk_tcp_policy *p)
{
	if (p->delack_ms && !p->delack_segs)
		return -EINVAL;
	if (p->keepalive_probes && (!p->keepalive_idle_ms || !p->keepalive_intvl_ms))
		return -EINVAL;
	for (unsigned c = 0; c < STK_IPID_CLASS_COUNT; c++)
		if (p->ipid[c].counter >= STK_IPID_COUNTERS || p->ipid[c].kind > STK_IPID_FIXED)
			return -EINVAL;
	/* Every SYN (32 option combinations) must get a layout that fits. */
	for (unsigned bits = 0; bits < 32; bits++) {
		unsigned at = 0, i;
		for (i = 0; i < STK_TCP_MAX_TOPTS && p->synack_opts[i].kind != STK_TOPT_END; i++) {
			const struct stk_topt *o = &p->synack_opts[i];
			if (o->kind > STK_TOPT_EOL_PAD || (o->kind == STK_TOPT_WS && o->value > 14))
				return -EINVAL;
			if ((bits & o->mask) == o->want)
				at += topt_len(o, at);
		}
		if (at > 40)
			return -EINVAL;
	}
	unsigned r = 0;
	while (r < STK_TCP_MAX_WIN_RULES && p->synack_win[r].mask)
		r++;
	if (r == STK_TCP_MAX_WIN_RULES || p->synack_win[r].want)
		return -EINVAL; /* no unconditional last rule */
	for (unsigned c = 0; c < STK_NOFLOW_COUNT; c++)
		if (p->noflow[c].action > STK_NOFLOW_SYNACK || p->noflow[c].seq > STK_RST_SEQ_RANDOM ||
		    p->noflow[c].ack > STK_RST_ACK_RANDOM)
			return -EINVAL;
	if (p->unreach.respond && (p->unreach.quote_max < 56 || p->unreach.quote_max > 1500))
		return -EINVAL;
	if (p->isn.kind > STK_ISN_CONSTANT || p->ts.scope > STK_TS_PER_FLOW || p->echo_df > STK_DF_INVERT || p->echo_code > STK_CODE_OTHER)
		return -EINVAL;
	if (!p->rto_min_ms || p->rto_min_ms > p->rto_max_ms || !p->rto_init_ms || !p->init_cwnd_segs)
		return -EINVAL;
	return 0;
}

uint64_t stk_gen_rand(struct stk_host_gen *g)
{
	/* xorshift64*: fast, and plenty for IP IDs and jitter. Anything an
	 * attacker must not predict (ISNs, cookies) is keyed by the stack's
	 * secret instead. */
	uint64_t x = g->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	g->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

void stk_host_gen_init(struct stk_host_gen *g, uint32_t ip_raw)
{
	/* IP IDs start where the foundation's did (hash >> 7), so answers
	 * recorded before the generators existed keep their values. */
	uint16_t id = (uint16_t)(stk_hosts_hash(ip_raw) >> 7);
	for (unsigned i = 0; i < STK_IPID_COUNTERS; i++)
		g->ip_id[i] = id;
	g->rng = ((uint64_t)ip_raw << 32 | ip_raw) ^ 0x9e3779b97f4a7c15ull;
	if (!g->rng)
		g->rng = 1;
	g->unreach.milli_tokens = UINT32_MAX; /* full at first use */
	g->rst.milli_tokens = UINT32_MAX;
}

/* Compiled personas keep each counter in its own region so nmap's SS test
 * reads what the entry says (ICMP numerically past the TCP counter when
 * they are separate, SS=O), re-basing a counter that sat idle 2 s or ran
 * out of its region: nothing watches a counter across such a gap. */
static const uint16_t region_base[STK_IPID_COUNTERS] = {0, 20000, 40000};
#define REGION_SPAN 12000u

static void ipid_rebase(struct stk_host *h, unsigned c, uint64_t now_ns)
{
	uint32_t now_ms = (uint32_t)(now_ns / 1000000u);
	uint16_t *ctr = &h->gen.ip_id[c];
	uint16_t off = (uint16_t)(*ctr - region_base[c]);
	bool idle = now_ms - h->gen.ip_id_ms[c] >= 2000u;
	if (h->gen.ip_id_ms[c] == 0 || off >= REGION_SPAN + 8000u || (idle && off >= REGION_SPAN))
		*ctr = (uint16_t)(region_base[c] + 1 + stk_gen_rand(&h->gen) % 4096);
	h->gen.ip_id_ms[c] = now_ms ? now_ms : 1;
}

uint16_t stk_ipid_next(struct stk_host *h, enum stk_ipid_class cls, uint64_t now_ns)
{
	const struct stk_tcp_policy *p = stk_host_tcp_policy(h);
	const struct stk_ipid_rule *r = &p->ipid[cls];
	unsigned c = r->counter % STK_IPID_COUNTERS;
	uint16_t *ctr = &h->gen.ip_id[c];
	if (p->exact)
		ipid_rebase(h, c, now_ns);
	uint16_t v = *ctr, step;
	switch (r->kind) {
	case STK_IPID_INCR:
		*ctr = (uint16_t)(v + 1);
		return v;
	case STK_IPID_RANDOM_INCR:
		/* nmap calls steps of 1000..20000 "random positive increments";
		 * a multiple of 256 would read as BI. The step comes after the
		 * value, so a class sharing the counter sees its own sequence
		 * continue (lwIP: II=RI and still SS=S). Compiled personas take
		 * small steps so a probe run stays inside the counter's region. */
		step = (uint16_t)(1001 + stk_gen_rand(&h->gen) % (p->exact ? 1000 : 9000));
		if (!(step & 0xff))
			step++;
		*ctr = (uint16_t)(v + step);
		return v;
	case STK_IPID_BROKEN_INCR:
		*ctr = (uint16_t)(v + 256);
		return v;
	case STK_IPID_RANDOM:
		/* Compiled personas: a jump of more than 20000 every time, the
		 * only thing nmap's RD class looks for. */
		if (p->exact)
			*ctr = (uint16_t)(v + 20001 + stk_gen_rand(&h->gen) % 45535);
		else
			*ctr = (uint16_t)stk_gen_rand(&h->gen);
		return *ctr;
	case STK_IPID_FIXED:
		return r->value;
	default:
		return 0;
	}
}

bool stk_echo_df(const struct stk_host *h, bool request_df)
{
	switch (stk_host_tcp_policy(h)->echo_df) {
	case STK_DF_NEVER:
		return false;
	case STK_DF_ALWAYS:
		return true;
	case STK_DF_COPY:
		return request_df;
	case STK_DF_INVERT:
		return !request_df;
	default:
		return h->policy.icmp_echo_df;
	}
}

uint8_t stk_echo_code(const struct stk_host *h, uint8_t request_code)
{
	const struct stk_tcp_policy *p = stk_host_tcp_policy(h);
	switch (p->echo_code) {
	case STK_CODE_ZERO:
		return 0;
	case STK_CODE_COPY:
		return request_code;
	case STK_CODE_VALUE:
		return p->echo_code_value;
	case STK_CODE_OTHER:
		/* nmap's two echoes carry codes 9 and 0: answered 0 and 1 they
		 * neither agree nor copy (CD=O). */
		return request_code ? 0 : 1;
	default:
		return h->policy.icmp_echo_copy_code ? request_code : 0;
	}
}

bool stk_bucket_take(struct stk_bucket *b, uint64_t now_ns, uint16_t rate_per_s, uint16_t burst)
{
	if (!rate_per_s)
		return true;
	uint32_t now_ms = (uint32_t)(now_ns / 1000000u);
	uint32_t cap = (uint32_t)(burst ? burst : 1) * 1000u;
	if (b->milli_tokens == UINT32_MAX) {
		b->milli_tokens = cap;
	} else {
		/* rate tokens per second = rate milli-tokens per ms. */
		uint64_t t = b->milli_tokens + (uint64_t)(uint32_t)(now_ms - b->last_ms) * rate_per_s;
		b->milli_tokens = t > cap ? cap : (uint32_t)t;
	}
	b->last_ms = now_ms;
	if (b->milli_tokens < 1000)
		return false;
	b->milli_tokens -= 1000;
	return true;
}
