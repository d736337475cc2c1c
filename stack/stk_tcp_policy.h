/* stk_tcp_policy: everything an OS persona decides about the bytes a decky
 * sends over TCP, UDP (closed ports) and ICMP, as data.
 *
 * A policy is const and shareable: one table per persona (or per family,
 * see stk_tcp_policy_family()), pointed at by every decky that wears it
 * (struct stk_host_policy.tcp). The stack never branches on an OS name; it
 * reads these fields. The fields are chosen so that nmap's tests map onto
 * them one to one, which is what the persona compiler (fingerprints/) will
 * fill in from an nmap-os-db entry:
 *
 *   SEQ TI/CI/II/SS   ipid[]             (generator kind + shared counters)
 *   SEQ GCD/ISR/SP    isn                (rate driven by elapsed time)
 *   SEQ TS            ts                 (clock rate, offset scope)
 *   OPS O1..O6, ECN O synack_opts[]      (ordered, conditional on the SYN)
 *   WIN W1..W6, ECN W synack_win[]       (first matching rule)
 *   T1/ECN DF, CC     df_synack, ecn_synack
 *   IE DFI            echo_df
 *   T2..T7            noflow[]           (drop / RST (S=, A=, F=, W=, DF=) / SYN-ACK)
 *   U1                unreach            (quote length, DF, TOS, quirks, rate)
 *   TTL (T, TG)       stk_host_policy.ttl (one value for every protocol)
 *
 * Per-host mutable generator state (IP-ID counters, rate buckets, bases)
 * is struct stk_host_gen, embedded in each struct stk_host.
 */
#ifndef STK_TCP_POLICY_H
#define STK_TCP_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "fingerprints/fp_family.h"

/* Which IP-ID sequence a packet draws from (nmap: TI, CI, II). */
enum stk_ipid_class {
	STK_IPID_TCP = 0,     /* SYN-ACKs and connection segments (TI) */
	STK_IPID_TCP_CLOSED,  /* RSTs sent without a connection (CI) */
	STK_IPID_ICMP,        /* echo replies, port unreachables (II) */
	STK_IPID_CLASS_COUNT
};

enum stk_ipid_kind {
	STK_IPID_INCR = 0,    /* +1 (I) */
	STK_IPID_RANDOM_INCR, /* this value, then a random step of 1001..10000 (RI) */
	STK_IPID_BROKEN_INCR, /* +256: a little-endian counter sent as is (BI) */
	STK_IPID_RANDOM,      /* uniform 16-bit (RD) */
	STK_IPID_ZERO,        /* always 0 (Z) */
	STK_IPID_FIXED,       /* always .value */
};

#define STK_IPID_COUNTERS 3

struct stk_ipid_rule {
	uint8_t kind;         /* enum stk_ipid_kind */
	uint8_t counter;      /* 0..STK_IPID_COUNTERS-1; classes sharing one = nmap SS=S */
	uint16_t value;       /* STK_IPID_FIXED */
};

/* Option bits describing a received SYN; SYN-ACK layouts and windows are
 * conditional on them. */
enum {
	STK_SYN_MSS = 1u << 0,
	STK_SYN_WS = 1u << 1,
	STK_SYN_SACK = 1u << 2,
	STK_SYN_TS = 1u << 3,
	STK_SYN_ECN = 1u << 4, /* ECE and CWR both set */
};

enum stk_topt_kind {
	STK_TOPT_END = 0,     /* terminates the list */
	STK_TOPT_MSS,         /* MSS .value */
	STK_TOPT_MSS_CLAMP,   /* MSS min(.value, the SYN's MSS or 536) */
	STK_TOPT_NOP,
	STK_TOPT_WS,          /* window scale shift .value */
	STK_TOPT_SACKOK,
	STK_TOPT_TS,          /* TSval from the clock, TSecr = the SYN's TSval */
	STK_TOPT_EOL,         /* one end-of-list byte */
	STK_TOPT_EOL_PAD,     /* EOL bytes up to a multiple of 4 */
};

/* One option of a SYN-ACK layout, present iff (syn_bits & mask) == want. */
struct stk_topt {
	uint8_t kind;         /* enum stk_topt_kind */
	uint8_t mask, want;
	uint16_t value;
};

/* Enough for a layout per SYN option combination (a compiled persona has
 * one per combination nmap probes, see stk_persona.c). */
#define STK_TCP_MAX_TOPTS 400

/* SYN-ACK window: the first rule whose condition holds. */
struct stk_win_rule {
	uint8_t mask, want;
	uint16_t window;
};

#define STK_TCP_MAX_WIN_RULES 8

enum stk_isn_kind {
	STK_ISN_HASH_CLOCK = 0, /* keyed hash of the 4-tuple + rate * t (RFC 6528) */
	STK_ISN_CLOCK,          /* per-host base + rate * t, GCD steps, random jitter */
	STK_ISN_RANDOM,         /* uniform 32-bit */
	STK_ISN_CONSTANT,       /* per-host base, never moves */
};

struct stk_isn_rule {
	uint8_t kind;           /* enum stk_isn_kind */
	uint32_t rate_hz;       /* increments per second of real time */
	uint32_t gcd;           /* STK_ISN_CLOCK: values are multiples of gcd (0 = 1) */
	uint32_t jitter;        /* STK_ISN_CLOCK: + uniform [0, jitter) * gcd */
};

enum stk_ts_scope {
	STK_TS_PER_HOST = 0,    /* one clock per decky */
	STK_TS_PER_PEER,        /* offset keyed by (decky, peer address): Linux >= 4.10 */
	STK_TS_PER_FLOW,        /* offset keyed by the 4-tuple: FreeBSD >= 12 */
};

struct stk_ts_rule {
	bool supported;         /* false: never send the option (nmap TS=U) */
	bool only_if_syn_ts;    /* answer with TS only when the SYN carried it (every
				 * real stack; false reproduces honeyd's tell) */
	uint8_t scope;          /* enum stk_ts_scope */
	uint64_t hz;            /* clock rate; 0 sends TSval 0 (nmap TS=0) */
};

/* Segments no connection accepts (nmap T2..T7, and every scanner's
 * probes): what the persona answers. */
enum stk_noflow_case {
	STK_NOFLOW_OPEN_NULL = 0, /* no SYN/ACK/RST to a listening port (T2) */
	STK_NOFLOW_OPEN_SYNFIN,   /* SYN with FIN to a listening port (T3) */
	STK_NOFLOW_OPEN_ACK,      /* ACK without a connection (T4) */
	STK_NOFLOW_CLOSED_SYN,    /* SYN to a closed port (T5) */
	STK_NOFLOW_CLOSED_ACK,    /* ACK to a closed port (T6) */
	STK_NOFLOW_CLOSED_OTHER,  /* FIN/PSH/URG/NULL to a closed port (T7) */
	STK_NOFLOW_COUNT
};

enum stk_noflow_action {
	STK_NOFLOW_DROP = 0,    /* R=N */
	STK_NOFLOW_RST,         /* R=Y, a RST built per the rule */
	STK_NOFLOW_SYNACK,      /* treat as a SYN (BSD's and lwIP's T3) */
};

enum stk_rst_seq { STK_RST_SEQ_ZERO = 0, STK_RST_SEQ_ACK, STK_RST_SEQ_ACK_PLUS, STK_RST_SEQ_RANDOM };
enum stk_rst_ack { STK_RST_ACK_ZERO = 0, STK_RST_ACK_SEQ, STK_RST_ACK_SEQ_PLUS, STK_RST_ACK_RANDOM };

struct stk_noflow_rule {
	uint8_t action;         /* enum stk_noflow_action */
	uint8_t seq;            /* enum stk_rst_seq: nmap S=Z/A/A+/O */
	uint8_t ack;            /* enum stk_rst_ack: nmap A=Z/S/S+/O */
	bool ack_flag;          /* F=AR rather than F=R */
	bool df;
	uint16_t window;        /* W= */
};

/* ICMP port unreachable for a closed UDP port (nmap U1). */
struct stk_unreach_rule {
	bool respond;
	bool df;
	uint8_t tos;            /* Linux sends its errors with precedence 0xc0 */
	uint16_t quote_max;     /* total length of the ICMP error packet, >= 56
				 * (56 quotes 8 bytes past the IP header: IPL=38) */
	bool ripck_zero;        /* quoted IP checksum zeroed (RIPCK=Z) */
	bool ruck_zero;         /* quoted UDP checksum zeroed */
	bool rud_zero;          /* quoted UDP payload zeroed (RUD=I) */
	uint16_t rate_per_s;    /* per-decky token bucket; 0 = unlimited */
	uint16_t burst;
	/* Compiled personas: the rest of nmap's U1 (0 / false = as sent). */
	uint8_t ttl;            /* T=, when it differs from the host's ICMP TTL */
	uint32_t un;            /* UN: the "unused" word */
	uint16_t ripl;          /* RIPL: quoted IP total length */
	bool rid_set;           /* RID: quoted IP ID replaced by rid */
	uint16_t rid;
	bool ripck_bad;         /* RIPCK=I: quoted IP checksum left wrong */
	bool ruck_set;          /* RUCK: quoted UDP checksum replaced by ruck */
	uint16_t ruck;
	uint16_t ipl_field;     /* IP total length written as this (a byte-swapping
				 * stack's IPL=6401 for 356 bytes); 0 = true length */
};

/* ICMP echo code of replies (nmap IE CD). */
enum stk_echo_code {
	STK_CODE_HOST = 0,      /* as stk_host_policy.icmp_echo_copy_code says */
	STK_CODE_ZERO,          /* CD=Z */
	STK_CODE_COPY,          /* CD=S */
	STK_CODE_VALUE,         /* CD=<value> (echo_code_value) */
	STK_CODE_OTHER,         /* CD=O: the request's code changed */
};

/* DF on ICMP echo replies (nmap IE DFI). */
enum stk_df_mode {
	STK_DF_HOST = 0,        /* as stk_host_policy.icmp_echo_df says */
	STK_DF_NEVER,           /* DFI=N */
	STK_DF_ALWAYS,          /* DFI=Y */
	STK_DF_COPY,            /* DFI=S: as the request */
	STK_DF_INVERT,          /* DFI=O: the opposite of the request */
};

/* An exact answer, as an nmap-os-db entry records it for one of nmap's
 * probes (SEQ/OPS/WIN k, ECN, T2..T7): every field of the segment that
 * nmap tests. Used only by compiled personas (stk_tcp_policy.exact). */
#define STK_ANSWER_MAX_OPTS 16

enum stk_answer_seq { STK_AS_ZERO = 0, STK_AS_ACK, STK_AS_ACK_PLUS, STK_AS_OTHER }; /* nmap S= */
enum stk_answer_ack { STK_AA_ZERO = 0, STK_AA_SEQ, STK_AA_SEQ_PLUS, STK_AA_OTHER }; /* nmap A= */

struct stk_answer {
	bool respond;           /* false: no answer (R=N) */
	bool df;
	uint8_t ttl;            /* initial TTL of this answer (T=) */
	uint8_t flags;          /* TCP flags as on the wire (F=); ECE per CC= */
	uint8_t seq;            /* enum stk_answer_seq; OTHER = the ISN generator's */
	uint8_t ack;            /* enum stk_answer_ack; OTHER = random */
	uint8_t reserved;       /* the 4 reserved header bits (Q=R) */
	uint8_t data_len;       /* RST data whose CRC32 is nmap's RD */
	uint16_t urp;           /* urgent pointer without URG (Q=U) */
	uint16_t window;        /* W= */
	uint8_t data[4];
	struct stk_topt opts[STK_ANSWER_MAX_OPTS]; /* O=, STK_TOPT_END-terminated */
};

/* A SYN-ACK answer keyed by the SYN's option layout: the kinds in order
 * and the MSS value (nmap's six SEQ probes and its ECN probe each have a
 * distinct one; real stacks answer them differently because the options
 * differ, e.g. MSS clamping, missing window scale). */
#define STK_SYN_SIG_MAX 12
#define STK_SYN_EXACT_MAX 7

struct stk_syn_exact {
	uint8_t nkinds;
	uint8_t kinds[STK_SYN_SIG_MAX]; /* TCP option kinds, NOP and EOL included */
	uint16_t mss;           /* the SYN's MSS value (0: no MSS option) */
	bool ecn;               /* SYN with ECE and CWR */
	uint8_t seq_probe;      /* 1..6: nmap's SEQ probe k (ISN steps controlled), 0 none */
	struct stk_answer a;
};

/* ISNs of consecutive SEQ probes from one peer: nmap computes ISR, SP and
 * GCD from the ISN differences over ITS send times, so the answer to probe
 * k steps from probe k-1's ISN by a rate chosen for that probe times the
 * elapsed time, in multiples of gcd: the five rates have mean `rate` and
 * sample deviation `sd` (stk_tcp_exact.c picks them). */
struct stk_isn_probe {
	bool on;
	uint32_t gcd;           /* >= 1 */
	double rate;            /* ISN increments per second (2^(ISR/8)) */
	double sd;              /* deviation of the rates, increments per second */
};

struct stk_tcp_policy {
	const char *name;       /* for logs and tests: "linux", "freebsd-12", ... */
	struct stk_ipid_rule ipid[STK_IPID_CLASS_COUNT];
	struct stk_isn_rule isn;
	struct stk_ts_rule ts;
	struct stk_topt synack_opts[STK_TCP_MAX_TOPTS]; /* STK_TOPT_END-terminated */
	struct stk_win_rule synack_win[STK_TCP_MAX_WIN_RULES]; /* last rule: mask 0 */
	bool df_synack;         /* DF on SYN-ACKs (T1) */
	bool df_flow;           /* DF on every other connection segment */
	bool ecn_synack;        /* ECE in the SYN-ACK when the SYN asked for ECN (CC=Y) */
	bool ecn_silent;        /* SYNs asking for ECN get no answer at all (ECN R=N) */
	uint8_t echo_df;        /* enum stk_df_mode */
	bool echo_silent;       /* IE R=N: echo requests unanswered */
	uint8_t echo_code;      /* enum stk_echo_code */
	uint8_t echo_code_value;
	struct stk_noflow_rule noflow[STK_NOFLOW_COUNT];
	uint16_t rst_rate_per_s; /* per-decky limit on no-flow RSTs; 0 = none */
	uint16_t rst_burst;
	struct stk_unreach_rule unreach;
	/* Compiled personas only: exact answers for what nmap probes. */
	bool exact;
	uint8_t n_syn_exact;
	struct stk_syn_exact syn_exact[STK_SYN_EXACT_MAX];
	struct stk_answer noflow_exact[STK_NOFLOW_COUNT]; /* T2..T7 */
	struct stk_isn_probe isn_probe;
	/* Timers (ms) and retries: what a long-lived connection reveals. */
	uint32_t rto_min_ms, rto_init_ms, rto_max_ms;
	uint8_t synack_retries, data_retries;
	uint32_t time_wait_ms, fin_wait2_ms;
	/* A SYN in TIME-WAIT reopens the connection as Linux decides
	 * (tcp_timewait_state_process: RFC 6191 with timestamps, PAWS first)
	 * and gets the ISN SND.NXT + 65537 of the old one; false: when its
	 * sequence number is above RCV.NXT, with the generator's ISN (BSD). */
	bool tw_reuse_linux;
	/* A zero send window as Linux meets it: probes are ACKs with SEQ =
	 * SND.UNA - 1 and no data (tcp_write_wakeup -> tcp_xmit_probe_skb),
	 * and our FIN waits for room in the window like a byte of data;
	 * false: a probe is the next byte past the window and the FIN goes
	 * regardless (BSD's tcp_output, Windows). */
	bool zw_linux;
	uint32_t init_cwnd_segs;
	/* Delayed ACK (RFC 9293 3.8.6.3, RFC 5681 4.2): in-order data is
	 * acknowledged after at most delack_ms, or at once when delack_segs
	 * segments are unacknowledged (or data leaves: the ACK rides on it);
	 * out-of-order data, a filled hole, a FIN and a window update are
	 * acknowledged at once. The first delack_quick data segments of a
	 * connection are acknowledged at once (Linux's quickack mode).
	 * delack_ms 0: every segment at once. */
	uint16_t delack_ms;
	uint8_t delack_segs;
	uint8_t delack_quick;
	/* Keepalive (RFC 1122 4.2.3.6) on connections whose service asks for
	 * it (stk_tcp_keepalive(), SO_KEEPALIVE): a probe (seq SND.UNA - 1)
	 * after keepalive_idle_ms without a segment from the peer and nothing
	 * outstanding, then every keepalive_intvl_ms; after keepalive_probes
	 * unanswered ones the connection is reset. keepalive_byte: the probe
	 * carries one garbage byte (Windows, 4.2BSD) instead of none (Linux,
	 * FreeBSD). The engine's idle timeout still applies. */
	uint32_t keepalive_idle_ms, keepalive_intvl_ms;
	uint8_t keepalive_probes;
	bool keepalive_byte;
	/* ICMP time exceeded, fragment reassembly (type 11 code 1, RFC 792,
	 * RFC 1122 3.3.2 SHOULD) when a datagram whose first fragment came
	 * times out; sent like the port unreachables (unreach: TOS, DF,
	 * quote length, the same rate bucket). */
	bool frag_time_exceeded;
};

/* Per-decky generator state, embedded in struct stk_host and reset by
 * stk_hosts_add (memset + stk_host_gen_init). */
struct stk_bucket {
	uint32_t milli_tokens;  /* 1000 = one packet */
	uint32_t last_ms;
};

struct stk_host_gen {
	uint64_t rng;             /* IP-ID randomness (ISNs use the stack's secret) */
	uint16_t ip_id[STK_IPID_COUNTERS];
	uint32_t ip_id_ms[STK_IPID_COUNTERS]; /* when each counter last moved */
	struct stk_bucket unreach, rst;
	/* The last SEQ probe answered (stk_isn_probe). */
	uint64_t probe_ns;
	uint32_t probe_isn, probe_peer;
	uint32_t probe_units_gcd; /* gcd of the steps so far, in GCD units */
	uint8_t probe_k;
};

struct stk_host;

/* The family default policy (never NULL; out-of-range values get linux). */
const struct stk_tcp_policy *stk_tcp_policy_family(enum fp_family family);
/* The policy a host wears: its own, or the linux default when it has none. */
const struct stk_tcp_policy *stk_host_tcp_policy(const struct stk_host *h);

/* 0, or -EINVAL when the layout does not fit 40 bytes or a rule is out of
 * range (e.g. a counter index). Policies from tables are checked by the unit
 * tests; compiled personas must be checked before use. */
int stk_tcp_policy_check(const struct stk_tcp_policy *p);

/* Deterministic start for a new host (IP IDs, RNG, buckets) from its address. */
void stk_host_gen_init(struct stk_host_gen *g, uint32_t ip_raw);

/* Next IP ID for a packet of class cls sent by h (advances its counter). */
uint16_t stk_ipid_next(struct stk_host *h, enum stk_ipid_class cls, uint64_t now_ns);

/* Whether an echo reply from h carries DF, given the request's DF. */
bool stk_echo_df(const struct stk_host *h, bool request_df);
/* The code of an echo reply from h to a request with this code. */
uint8_t stk_echo_code(const struct stk_host *h, uint8_t request_code);

uint64_t stk_gen_rand(struct stk_host_gen *g);

/* Token bucket: true when a packet may be sent now (and takes the token). */
bool stk_bucket_take(struct stk_bucket *b, uint64_t now_ns, uint16_t rate_per_s, uint16_t burst);

/* The value of a clock running at rate_hz at time now_ns, modulo 2^32:
 * exact, and without 128-bit arithmetic (both divisions are by a constant). */
static inline uint32_t stk_clock_ticks(uint64_t now_ns, uint64_t rate_hz)
{
	uint64_t s = now_ns / 1000000000u, ns = now_ns % 1000000000u;
	/* modulo 2^32 throughout; ns < 10^9 < 2^30, so up to 2^34 Hz the
	 * fraction's product fits 64 bits (a multiply, not a libgcc 128-bit
	 * division per SYN); faster clocks (what nmap reads from random
	 * timestamps) take the 128-bit product */
	if (rate_hz <= (1ull << 34))
		return (uint32_t)(s * rate_hz + ns * rate_hz / 1000000000u);
	return (uint32_t)(s * rate_hz + (uint64_t)((unsigned __int128)ns * rate_hz / 1000000000u));
}

#endif
