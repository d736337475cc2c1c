/* Private to stack/stk_tcp*.c, stk_flow.c and stk_udp.c: the connection
 * record, the TCP context behind ctx->tcp, and helpers they share. */
#ifndef STK_TCP_INT_H
#define STK_TCP_INT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include "stack/stk.h"
#include "stack/stk_prf.h"
#include "stack/stk_proto.h"
#include "stack/stk_tcp.h"
#include "stack/stk_timer.h"
#include "stack/stk_wire.h"

#define STK_NONE UINT32_MAX

/* TCP header (RFC 9293). */
#define STK_TCP_HLEN 20
#define STK_TCP_O_SPORT 0
#define STK_TCP_O_DPORT 2
#define STK_TCP_O_SEQ 4
#define STK_TCP_O_ACK 8
#define STK_TCP_O_OFF 12
#define STK_TCP_O_FLAGS 13
#define STK_TCP_O_WIN 14
#define STK_TCP_O_CSUM 16
#define STK_TCP_O_URP 18
#define STK_TH_FIN 0x01
#define STK_TH_SYN 0x02
#define STK_TH_RST 0x04
#define STK_TH_PSH 0x08
#define STK_TH_ACK 0x10
#define STK_TH_URG 0x20
#define STK_TH_ECE 0x40
#define STK_TH_CWR 0x80
#define STK_UDP_HLEN 8
#define STK_ICMP_UNREACH 3
#define STK_ICMP_PORT_UNREACH 3

#define STK_TCP_DEFAULT_MSS 536
#define STK_TCP_CHUNK 2048u

enum stk_tcp_state {
	STK_TCP_FREE = 0,
	STK_TCP_SYN_RCVD,
	STK_TCP_ESTABLISHED,
	STK_TCP_FIN_WAIT_1,
	STK_TCP_FIN_WAIT_2,
	STK_TCP_CLOSING,
	STK_TCP_TIME_WAIT,
	STK_TCP_CLOSE_WAIT,
	STK_TCP_LAST_ACK,
	STK_TCP_SYN_SENT,    /* active open (stk_tcp_connect): steering legs */
	STK_TCP_STATE_COUNT
};

/* Flow flags. */
enum {
	STK_F_TS = 1u << 0,         /* timestamps negotiated */
	STK_F_SACK = 1u << 1,       /* SACK-permitted negotiated (we send no blocks) */
	STK_F_ACK_NOW = 1u << 2,    /* an ACK must go out */
	STK_F_CLOSE_REQ = 1u << 3,  /* the service closed: FIN after the queue */
	STK_F_FIN_SENT = 1u << 4,   /* our FIN has a sequence number */
	STK_F_ABORT_REQ = 1u << 5,  /* the service aborted: RST at the next flush */
	STK_F_ACCEPTED = 1u << 6,   /* the service knows this connection */
	STK_F_PERSIST = 1u << 7,    /* zero window: probing instead of RTO */
	STK_F_RTO = 1u << 8,        /* rto_at is armed */
	STK_F_TIMING = 1u << 9,     /* an RTT sample is running (Karn) */
	STK_F_RECOVERY = 1u << 10,  /* fast recovery until recover */
	STK_F_WANT_WRITE = 1u << 11,/* send() refused bytes: writable() due */
	STK_F_PEER_FIN = 1u << 12,  /* FIN received */
	STK_F_PENDING = 1u << 13,   /* on the output-pending list */
	STK_F_IN_CB = 1u << 14,     /* a service callback is running */
	STK_F_ACTIVE = 1u << 15,    /* opened by stk_tcp_connect (lip may be no decky) */
};

/* More flow flags (struct stk_tcp_flow.xflags; flags has no bit left). */
enum {
	STK_X_DELACK = 1u << 0,     /* an ACK is owed by delack_at */
	STK_X_KEEPALIVE = 1u << 1,  /* the service asked for keepalives (ka_at armed) */
	STK_X_LOAN1 = 1u << 2,      /* cwnd holds one limited-transmit segment (RFC 3042) */
	STK_X_LOAN2 = 1u << 3,      /* ... and a second one */
	STK_X_FIN_OWED = 1u << 4,   /* the peer's FIN came: peer_closed() after the held bytes */
};

/* Link-layer addresses of the stations active opens go to (backends),
 * resolved by ARP from the decky that opens. Entries are created only by
 * stk_tcp_connect() and configuration, never by what arrives: nothing on
 * the wire can fill the table. An open-addressing table (linear probing,
 * at most half full) of cfg.neighbours entries: when full, a new backend
 * takes the least recently used entry that configuration did not set. */
struct stk_neigh {
	uint32_t ip_raw;
	uint8_t mac[6];
	uint8_t state;           /* 0 free, 1 resolving, 2 resolved, 3 configured */
	uint8_t pad;
	uint32_t used_ms;        /* the last connect to it (LRU) */
};

/* One connection: <= 256 bytes of engine state (checked by the unit test),
 * plus send-buffer chunks while data is queued. Sequence numbers are
 * absolute; times are 1 ms ticks (uint32, compared modulo 2^32). */
struct stk_tcp_flow {
	/* identity: wire-order addresses, host-order ports */
	uint32_t lip, rip;
	uint16_t lport, rport;
	uint32_t host_idx;
	uint8_t rmac[6];
	uint8_t state;
	uint8_t syn_bits;        /* STK_SYN_* of the peer's SYN */
	uint16_t flags;          /* STK_F_* */
	uint16_t mss;            /* our segment payload size (after options) */
	uint16_t peer_mss;       /* from the SYN, or 536 */
	uint8_t snd_ws, rcv_ws;  /* window shifts; 0 when not negotiated */
	uint8_t rxt_shift, dupacks;
	/* links: hash chain, LRU, output-pending list, timer wheel */
	uint32_t hnext;
	uint32_t hash;           /* low half of the tuple hash (bucket bits) */
	uint32_t lru_prev, lru_next;
	uint32_t pend_prev, pend_next;
	struct stk_tlink tl;
	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
	uint32_t cwnd, ssthresh, recover;
	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv;
	uint32_t ts_recent, ts_offset;
	/* RTT (RFC 6298), in microseconds */
	uint32_t srtt_us, rttvar_us, rto_ms;
	uint32_t rtt_seq, rtt_start_us;
	/* deadlines (ticks) */
	uint32_t rto_at, idle_at;
	/* send queue: bytes [snd_una, snd_una + sq_len) in a chunk list */
	uint32_t sq_head, sq_tail;
	uint32_t sq_len;
	uint16_t sq_off;         /* offset of snd_una in the head chunk */
	uint16_t gen;            /* bumped on each reuse of the slot */
	/* out-of-order segments waiting for a hole to fill (stk_tcp_reasm.c) */
	uint32_t ooo_head, ooo_last;
	uint8_t ooo_count;       /* at most STK_REASM_MAX */
	/* delayed ACK and keepalive (stk_tcp.c) */
	uint8_t xflags;          /* STK_X_* */
	uint8_t delack_pend;     /* in-order data segments not yet acknowledged */
	uint8_t quick_left;      /* data segments still acknowledged at once */
	uint8_t ka_sent;         /* keepalive probes unanswered */
	uint8_t exact;           /* SYN-ACK: 1 + index of the persona's exact answer, 0: the template's */
	uint16_t oow_at;         /* ms tick (low 16 bits, never 0) of the last answer to an invalid segment */
	uint32_t delack_at, ka_at;
	/* the service */
	const struct stk_service *svc;
	void *svc_arg;
	void *app;
	uint64_t scratch;
};

struct stk_listener {
	uint32_t ip_raw;
	uint16_t port;
	uint8_t proto;           /* 0: empty slot */
	const struct stk_service *svc;
	void *arg;
};

/* A built SYN-ACK (stk_tcp_synack.c), cached per (policy, layout key). */
struct stk_synack_tmpl {
	const struct stk_tcp_policy *policy;
	uint32_t key, epoch;
	uint32_t csum;           /* sum of the constant TCP header and option words */
	uint16_t window, mss_value;
	uint8_t optlen;          /* padded to a multiple of 4 */
	uint8_t inc;             /* STK_SYN_* of the options present */
	uint8_t our_ws;
	uint8_t mss_off, ts_off; /* offsets in opts, 0xff when absent */
	bool mss_clamp;          /* MSS = min(mss_value, the peer's) */
	uint8_t opts[40];
};
#define STK_SYNACK_TMPL_SLOTS 64

/* A half-open connection in the SYN cache (stk_syncache.c): what the SYN
 * said and what we answered, in 64 bytes instead of a 240-byte flow. It
 * becomes a flow when anything more arrives for its 4-tuple. */
struct stk_syn_ent {
	uint32_t lip, rip;
	uint16_t lport, rport;
	uint32_t hnext;          /* hash chain (index into the cache), STK_NONE */
	uint32_t hash;           /* low half of the tuple hash */
	uint32_t host_idx;
	uint32_t irs, iss;
	uint32_t tsval;          /* the SYN's TSval */
	uint32_t rto_at;         /* next SYN-ACK retransmission (ms tick) */
	uint32_t q_prev, q_next; /* its retransmission queue */
	uint16_t peer_mss, peer_wnd;
	uint8_t rmac[6];
	uint8_t syn_bits, peer_ws;
	uint8_t q;               /* which queue; STK_SC_FREE: an empty slot */
	uint8_t rxt_shift;       /* SYN-ACKs retransmitted */
	uint8_t exact;           /* as stk_tcp_flow.exact */
};
#define STK_TCP_HINTS 256 /* frames of a burst hashed ahead */
#define STK_SC_FREE 0xff
#define STK_SC_QUEUES 8

struct stk_tcp {
	struct stk_tcp_cfg cfg;
	struct stk_prf flow_prf;   /* flow hash, ISNs, timestamp offsets (stk_prf.h) */
	struct stk_prf cookie_prf; /* SYN-cookie MACs */
	uint64_t rng;
	/* flows */
	struct stk_tcp_flow *flows;
	uint32_t *buckets;
	uint32_t bucket_mask;
	uint32_t free_head;
	uint32_t n_flows, half_open, time_wait;
	uint32_t lru_head, lru_tail;
	uint32_t pend_head, pend_tail;
	struct stk_wheel wheel;
	/* the SYN cache: a ring (the slot at sc_next is the oldest entry,
	 * reused when the ring is full), hash chains, and one FIFO per
	 * retransmission delay: every entry of a FIFO waits the same time,
	 * so appending keeps it sorted and the head is the next due (no
	 * timer per half-open connection) */
	struct stk_syn_ent *sc;
	uint32_t *sc_buckets;
	uint32_t sc_mask, sc_cap, sc_next, sc_count;
	uint8_t sc_last_q;       /* the queue queue_for() found last */
	struct {
		uint32_t delay_ms;   /* 0: unused */
		uint32_t head, tail;
	} sc_q[STK_SC_QUEUES];
	/* send-buffer chunks */
	uint8_t *chunk_mem;
	uint32_t *chunk_next;
	uint32_t chunk_free, n_chunks, chunks_used;
	uint32_t pressure_scan_ms; /* the last stalled-sender scan (stk_tcp.c) */
	/* ports */
	struct stk_listener *listen;
	uint32_t listen_mask, n_listen;
	/* the last TCP listener found (a scan or flood hits one port): a slot
	 * of listen, checked by value, cleared whenever slots move */
	const struct stk_listener *listen_last;
	/* where output goes during a burst / an advance */
	struct stk_pkt **tx;
	unsigned tx_cap;
	unsigned *n_tx;
	uint64_t cookie_until_ns; /* cookies were sent recently: check ACKs */
	struct stk_bucket challenge;
	/* active opens (stk_tcp_connect.c) */
	uint32_t n_active;       /* flows with STK_F_ACTIVE: input checks them only then */
	struct stk_neigh *neigh; /* neigh_mask + 1 slots */
	uint32_t neigh_mask, n_neigh;
	/* SYN-ACK templates (stk_tcp_synack.c) */
	struct stk_synack_tmpl synack_tmpl[STK_SYNACK_TMPL_SLOTS];
	/* the last SYN-ACK frame image (stk_tcp_synack.c): everything but
	 * the peer's MAC and address, ports, IP ID, sequence numbers,
	 * timestamps and checksums, for one host and template */
	struct stk_synack_frame {
		const struct stk_host *h;
		const struct stk_synack_tmpl *m;
		uint32_t epoch;
		uint32_t ip_sum;     /* IP header words but ID and destination */
		uint32_t tcp_sum;    /* template and pseudo-header words but the destination */
		uint16_t len;        /* frame length */
		uint8_t frame[STK_ETH_HLEN + STK_IP4_MIN_HLEN + STK_TCP_HLEN + 40];
	} synack_frame;
	/* What the SYN-ACKs of one host to SYNs with one set of option bits
	 * share at one time (every SYN of a scan's or flood's burst), worked
	 * out once (stk_syn_memo_build, which says for which personas).
	 * Valid while h, now_ns, bits and the host table's epoch match;
	 * cleared when the template slot or frame image it uses is rebuilt. */
	struct stk_syn_memo {
		const struct stk_host *h;   /* NULL: empty */
		uint64_t now_ns;
		uint32_t epoch;
		uint8_t bits;               /* STK_SYN_* of the SYN, ECN included */
		uint8_t ece;                /* STK_TH_ECE when the SYN-ACK sets it */
		bool ts_any, ts_peer;       /* tsval is every peer's / ts_rip's */
		const struct stk_tcp_policy *pol;
		const struct stk_synack_tmpl *m;
		uint16_t *ipid;             /* the IP ID counter; NULL: always 0 */
		uint32_t isn_clk, tsval, ts_rip;
		uint32_t rto_init, rto_at;  /* first retransmission: delay, deadline */
	} syn_memo;
	bool syn_memo_off;         /* tests: every SYN by the general path */
	bool isn_next_on;          /* the next SYN's ISN is isn_next (TIME-WAIT reuse) */
	uint32_t isn_next;
	/* the last template handed out and what it was for (a flood repeats
	 * one policy and one kind of SYN); cleared whenever a slot is rebuilt */
	const struct stk_synack_tmpl *tmpl_last;
	const struct stk_tcp_policy *tmpl_last_pol;
	uint32_t tmpl_last_epoch;
	uint8_t tmpl_last_bits;
	/* the last timestamp offset computed per peer or per host (a scan or
	 * flood comes from one address: one hash per peer, not per SYN) */
	uint32_t tso_lip, tso_rip, tso_val;
	bool tso_valid;
	/* per-frame hints of the burst being handled (stk_tcp_burst_begin):
	 * the tuple hash of the segment whose IPv4 header is at ip (NULL: not
	 * hashed ahead). The frame's bytes do not change during the burst,
	 * so a segment handled from that very header has that very tuple. */
	struct stk_tcp_hint {
		uint64_t hv;
		const uint8_t *ip;
	} hints[STK_TCP_HINTS];
	unsigned hint_n;
	/* new SYNs of this burst may evict SYN-cache entries (full, and below
	 * the cookie threshold): only then is the evicted entry's bucket
	 * worth prefetching */
	bool hint_evict;
	/* two clocks' values at clk_now (a burst shares one time: the ISN and
	 * timestamp clocks are read once per burst, not per SYN) */
	uint64_t clk_now, clk_hz[2];
	uint32_t clk_val[2];
	unsigned clk_rr;
	/* the last option layout parsed and what it said (stk_tcp_input.c:
	 * the SYNs of a scan or flood, and the segments of one connection,
	 * repeat one layout; only the timestamps differ) */
	struct stk_opt_memo {
		uint64_t w[5];        /* the option bytes, timestamp values zeroed */
		uint64_t mask[5];     /* zero over the timestamp values */
		uint8_t len;          /* 0: empty */
		uint8_t ts_off;       /* offset of TSval, 0xff: none */
		uint8_t syn_bits, ws;
		uint16_t mss;
	} opt_memo;
};

/* ---- shared helpers ---------------------------------------------------- */


/* stk_host_tcp_policy() inline, for the per-SYN paths (it is called a
 * handful of times per answer). */
static inline const struct stk_tcp_policy *stk_host_pol(const struct stk_host *h)
{
	return h->policy.tcp ? h->policy.tcp : stk_tcp_policy_family(FP_FAMILY_LINUX);
}

/* stk_ipid_next() with the commonest rules inline (a family table's zero
 * or plain counter), once per answer. */
static inline uint16_t stk_ipid_next_fast(struct stk_host *h, enum stk_ipid_class cls, uint64_t now_ns)
{
	const struct stk_tcp_policy *p = h->policy.tcp;
	if (p && !p->exact) {
		if (p->ipid[cls].kind == STK_IPID_ZERO)
			return 0;
		if (p->ipid[cls].kind == STK_IPID_INCR)
			return h->gen.ip_id[p->ipid[cls].counter % STK_IPID_COUNTERS]++;
	}
	return stk_ipid_next(h, cls, now_ns);
}

/* stk_clock_ticks(ctx->now_ns, hz), remembered for the current time. */
static inline uint32_t stk_tcp_clock(const struct stk_ctx *ctx, uint64_t hz)
{
	struct stk_tcp *t = ctx->tcp;
	if (!hz)
		return 0;
	if (t->clk_now != ctx->now_ns) {
		t->clk_now = ctx->now_ns;
		t->clk_hz[0] = t->clk_hz[1] = 0;
	} else if (t->clk_hz[0] == hz) {
		return t->clk_val[0];
	} else if (t->clk_hz[1] == hz) {
		return t->clk_val[1];
	}
	uint32_t v = stk_clock_ticks(ctx->now_ns, hz);
	unsigned i = t->clk_rr++ & 1;
	t->clk_hz[i] = hz;
	t->clk_val[i] = v;
	return v;
}

/* Our segment payload size towards a peer that announced peer_mss: at
 * most the link's, less the timestamp option's 12 bytes when negotiated,
 * never below 64 bytes. (A SYN announcing MSS 1 with timestamps once made
 * this 1 - 12 in unsigned arithmetic: 65 525-byte segments.) */
static inline uint16_t stk_tcp_eff_mss(const struct stk_tcp *t, uint32_t peer_mss, bool ts)
{
	uint32_t mss = t->cfg.mtu - 40u;
	if (peer_mss < mss)
		mss = peer_mss;
	if (ts)
		mss = mss > 12 ? mss - 12 : 0;
	return (uint16_t)(mss < 64 ? 64 : mss);
}

static inline uint32_t stk_now_ms(const struct stk_ctx *ctx)
{
	return (uint32_t)(ctx->now_ns / 1000000u);
}

static inline uint32_t stk_now_us(const struct stk_ctx *ctx)
{
	return (uint32_t)(ctx->now_ns / 1000u);
}

/* Held bytes to the service while it takes them (stk_tcp_input.c); then
 * peer_closed() if a FIN was waiting behind them. From input, a timer or
 * a flush, never inside a service callback. */
void stk_tcp_rcv_drain(struct stk_ctx *ctx, struct stk_tcp_flow *f);
/* What the service can take of new bytes: its recv_space() less the held
 * bytes it takes first (f->svc->recv_space must be set). */
unsigned stk_tcp_rcv_room(struct stk_ctx *ctx, struct stk_tcp_flow *f);

/* Sequence space comparisons (RFC 9293 section 3.4). */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

/* The receive window offered and not yet used: RCV.ADV - RCV.NXT (0 once
 * the peer has filled it). */
static inline uint32_t stk_tcp_rcv_open(const struct stk_tcp_flow *f)
{
	return seq_gt(f->rcv_adv, f->rcv_nxt) ? f->rcv_adv - f->rcv_nxt : 0;
}

/* The sequence number of a segment that carries no data, SYN or FIN (an
 * ACK, a RST): the highest sent, not snd_nxt, which a timeout rewinds to
 * snd_una for its go-back-N (BSD's tcp_output makes the same choice). A
 * peer that has received past snd_nxt finds such a segment below its
 * RCV.NXT, refuses it as old and never reads its ACK field; when its own
 * timeout rewound it too, our check refuses its ACKs the same way, and
 * both sides resend old data at each other until the idle timeout (found
 * on the impaired lab: 15 % loss, both go-back-Ns at once). While a zero
 * window is probed, the probe byte may not have been taken: snd_nxt. */
static inline uint32_t stk_tcp_ctl_seq(const struct stk_tcp_flow *f)
{
	return (f->flags & STK_F_PERSIST) ? f->snd_nxt : f->snd_max;
}

static inline uint32_t flow_idx(const struct stk_tcp *t, const struct stk_tcp_flow *f)
{
	return (uint32_t)(f - t->flows);
}

/* A pool buffer for one answer, or NULL (counted). */
static inline struct stk_pkt *stk_l4_tx_take(struct stk_ctx *ctx)
{
	struct stk_tcp *t = ctx->tcp;
	if (!t->tx || *t->n_tx >= t->tx_cap) {
		ctx->cnt.drop_tx_full++;
		return NULL;
	}
	struct stk_pkt *p = stk_pool_get(ctx->tx_pool);
	if (!p)
		ctx->cnt.drop_tx_nobuf++;
	return p;
}

static inline void stk_l4_tx_put(struct stk_ctx *ctx, struct stk_pkt *p)
{
	struct stk_tcp *t = ctx->tcp;
	t->tx[(*t->n_tx)++] = p;
	ctx->cnt.tx_frames++;
}

static inline unsigned stk_l4_tx_room(const struct stk_tcp *t)
{
	return t->tx ? t->tx_cap - *t->n_tx : 0;
}

/* Ethernet + 20-byte IPv4 header from host h (with an explicit source
 * address: a steering leg speaks with the attacker's address through the
 * decky's MAC and persona) to (dst_ip, dst_mac). Returns a pointer to the
 * L4 header. The IP checksum is filled in. Inline: every answer starts
 * here, and the protocol and TOS are usually constants. */
static inline uint8_t *stk_l4_ip_header_from(struct stk_pkt *out, const struct stk_host *h, uint32_t src_ip_raw,
					     const uint8_t *dst_mac, uint32_t dst_ip_raw, uint8_t proto,
					     unsigned l4_len, uint16_t ip_id, bool df, uint8_t tos)
{
	uint8_t *o = out->data;
	memcpy(o + STK_ETH_O_DST, dst_mac, 6);
	memcpy(o + STK_ETH_O_SRC, h->mac, 6);
	stk_put_be16(o + STK_ETH_O_TYPE, STK_ETHERTYPE_IPV4);
	uint8_t *ip = o + STK_ETH_HLEN;
	unsigned tot = STK_IP4_MIN_HLEN + l4_len;
	uint8_t ttl = proto == STK_IPPROTO_ICMP && h->policy.icmp_ttl ? h->policy.icmp_ttl : h->policy.ttl;
	uint16_t frag = df ? STK_IP4_DF : 0;
	ip[STK_IP4_O_VIHL] = 0x45;
	ip[STK_IP4_O_TOS] = tos;
	stk_put_be16(ip + STK_IP4_O_LEN, (uint16_t)tot);
	stk_put_be16(ip + STK_IP4_O_ID, ip_id);
	stk_put_be16(ip + STK_IP4_O_FRAG, frag);
	ip[STK_IP4_O_TTL] = ttl;
	ip[STK_IP4_O_PROTO] = proto;
	memcpy(ip + STK_IP4_O_SRC, &src_ip_raw, 4);
	memcpy(ip + STK_IP4_O_DST, &dst_ip_raw, 4);
	/* The checksum from the values just written, not by loading them back
	 * (a store-forwarding stall per wide load of narrow stores); the
	 * addresses summed in wire order and swapped once (RFC 1071 1.2.B). */
	uint64_t a = (uint64_t)src_ip_raw + dst_ip_raw;
	a = (a & 0xffffffffu) + (a >> 32);
	uint32_t asum = (uint32_t)(a & 0xffff) + (uint32_t)(a >> 16);
	asum = (asum & 0xffff) + (asum >> 16);
	asum = (uint16_t)(asum << 8 | asum >> 8);
	uint32_t sum = (0x4500u | tos) + tot + ip_id + frag + ((uint32_t)ttl << 8 | proto) + asum;
	stk_put_be16(ip + STK_IP4_O_CSUM, stk_csum_fold(sum));
	out->len = STK_ETH_HLEN + tot;
	return ip + STK_IP4_MIN_HLEN;
}

static inline uint8_t *stk_l4_ip_header(struct stk_pkt *out, const struct stk_host *h, const uint8_t *dst_mac,
					uint32_t dst_ip_raw, uint8_t proto, unsigned l4_len, uint16_t ip_id,
					bool df, uint8_t tos)
{
	return stk_l4_ip_header_from(out, h, h->ip_raw, dst_mac, dst_ip_raw, proto, l4_len, ip_id, df, tos);
}

/* Pseudo-header sum for TCP/UDP checksums (unfolded, < 2^19: add it to
 * other sums and fold once). Computed from the values, not from bytes
 * stored and loaded back: a wide load of narrow stores just made is a
 * store-forwarding stall, and this runs twice per answered segment. */
static inline uint32_t stk_l4_pseudo(uint32_t src_raw, uint32_t dst_raw, uint8_t proto, unsigned len)
{
	uint32_t s = ntohl(src_raw), d = ntohl(dst_raw);
	return (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto + (len & 0xffff);
}


/* An event record for a TCP/UDP observation (inline: one test when events
 * are off). */
static inline void stk_l4_event(struct stk_ctx *ctx, unsigned kind, const struct stk_pkt *p,
				const struct stk_host *h, const uint8_t *f, const uint8_t *ip, uint16_t sport,
				uint16_t dport, uint32_t aux)
{
	stk_event_note(ctx, kind, p, h, ip + STK_IP4_O_SRC, f + STK_ETH_O_SRC, ip[STK_IP4_O_PROTO],
		       ip[STK_IP4_O_TTL], sport, dport, aux);
}

/* ---- flows (stk_flow.c) ---------------------------------------------- */
/* The keyed hash of a 4-tuple in a domain (0: the flow table and ISNs,
 * 2: per-host ISN bases, 3: timestamp offsets). */
static inline uint64_t stk_flow_hash(const struct stk_tcp *t, uint32_t lip, uint32_t rip, uint16_t lport,
				     uint16_t rport, uint64_t domain)
{
	return stk_prf(&t->flow_prf, (uint64_t)lip << 32 | rip, (uint64_t)lport << 16 | rport | domain << 32);
}
int stk_flow_table_init(struct stk_tcp *t, uint32_t max_flows, uint32_t now_ms);
void stk_flow_table_destroy(struct stk_tcp *t);
struct stk_tcp_flow *stk_flow_lookup(struct stk_tcp *t, uint32_t lip, uint32_t rip, uint16_t lport,
				     uint16_t rport);
/* The keyed hash of a 4-tuple, computed once per segment: its low half
 * picks the bucket, its high half is the RFC 6528 ISN hash (independent
 * halves of a PRF output: an ISN tells nothing about the bucket). */
static inline uint64_t stk_flow_tuple_hash(const struct stk_tcp *t, uint32_t lip, uint32_t rip, uint16_t lport,
					   uint16_t rport)
{
	return stk_flow_hash(t, lip, rip, lport, rport, 0);
}
/* The same with the tuple hash already computed (inline: once per
 * segment). */
static inline struct stk_tcp_flow *stk_flow_lookup_h(struct stk_tcp *t, uint64_t hv, uint32_t lip, uint32_t rip,
						     uint16_t lport, uint16_t rport)
{
	for (uint32_t i = t->buckets[hv & t->bucket_mask]; i != STK_NONE; i = t->flows[i].hnext) {
		struct stk_tcp_flow *f = &t->flows[i];
		if (f->rip == rip && f->lip == lip && f->rport == rport && f->lport == lport)
			return f;
	}
	return NULL;
}
struct stk_tcp_flow *stk_flow_new_h(struct stk_ctx *ctx, uint64_t hv, uint32_t lip, uint32_t rip,
				    uint16_t lport, uint16_t rport);
/* A zeroed flow keyed and linked in (evicting the least recently active
 * one if the table is full), or NULL. */
struct stk_tcp_flow *stk_flow_new(struct stk_ctx *ctx, uint32_t lip, uint32_t rip, uint16_t lport,
				  uint16_t rport);
/* Unhash, release buffers, tell the service (once), free the slot. */
void stk_flow_free(struct stk_ctx *ctx, struct stk_tcp_flow *f, enum stk_close_reason why);
void stk_flow_touch(struct stk_tcp *t, struct stk_tcp_flow *f);
void stk_flow_set_state(struct stk_tcp *t, struct stk_tcp_flow *f, uint8_t state);
void stk_flow_pend(struct stk_tcp *t, struct stk_tcp_flow *f);
void stk_flow_unpend(struct stk_tcp *t, struct stk_tcp_flow *f);
/* Re-link the flow's wheel entry at min(rto_at, idle_at). */
void stk_flow_timer_update(struct stk_tcp *t, struct stk_tcp_flow *f);

/* ---- send queue (stk_tcp_sock.c) ------------------------------------- */
int stk_sndq_init(struct stk_tcp *t, uint32_t bytes);
void stk_sndq_destroy(struct stk_tcp *t);
/* Copy len bytes starting off bytes after snd_una into dst. */
void stk_sndq_copy(const struct stk_tcp *t, const struct stk_tcp_flow *f, uint32_t off, uint8_t *dst,
		   unsigned len);
/* Drop n acknowledged bytes from the front. */
void stk_sndq_drop(struct stk_tcp *t, struct stk_tcp_flow *f, uint32_t n);
void stk_sndq_free_all(struct stk_tcp *t, struct stk_tcp_flow *f);

/* ---- out-of-order and held bytes (stk_tcp_reasm.c) ------------------- */
/* Queue a segment that starts past rcv_nxt. false: no room (not queued). */
bool stk_reasm_insert(struct stk_tcp *t, struct stk_tcp_flow *f, uint32_t seq, const uint8_t *d, unsigned len,
		      bool fin);
/* Hold len in-order bytes at rcv_nxt that the service had no room for,
 * and move rcv_nxt past them (they will be acknowledged). false: no room
 * (nothing held, rcv_nxt unchanged). */
bool stk_reasm_hold(struct stk_tcp *t, struct stk_tcp_flow *f, const uint8_t *d, unsigned len);
/* After rcv_nxt moved: queued segments it reached become held, rcv_nxt
 * moving past them. true when a queued FIN is now next (not counted in
 * rcv_nxt: fin_input does that). */
bool stk_reasm_absorb(struct stk_tcp *t, struct stk_tcp_flow *f);
/* The first held bytes, if any; consume n of them once delivered. */
bool stk_reasm_held_peek(const struct stk_tcp *t, const struct stk_tcp_flow *f, const uint8_t **d, unsigned *len);
void stk_reasm_held_consume(struct stk_tcp *t, struct stk_tcp_flow *f, unsigned n);
/* Bytes acknowledged and not yet delivered. */
uint32_t stk_reasm_held_bytes(const struct stk_tcp *t, const struct stk_tcp_flow *f);
void stk_reasm_free_all(struct stk_tcp *t, struct stk_tcp_flow *f);
/* Up to max SACK blocks [left, right) for what is queued. */
unsigned stk_reasm_sack(const struct stk_tcp *t, const struct stk_tcp_flow *f, uint32_t blocks[][2],
			unsigned max);

/* ---- listeners (stk_tcp_listen.c) ------------------------------------ */
static inline uint32_t stk_listen_hash(uint32_t ip_raw, uint8_t proto, uint16_t port)
{
	uint64_t k = ((uint64_t)ip_raw << 32) | ((uint32_t)proto << 16) | port;
	return (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> 32);
}
/* Inline: once per segment without a connection. */
static inline const struct stk_listener *stk_listen_find(const struct stk_tcp *t, uint32_t ip_raw, uint8_t proto,
							 uint16_t port)
{
	if (!t->listen)
		return NULL;
	uint32_t i = stk_listen_hash(ip_raw, proto, port) & t->listen_mask;
	for (;; i = (i + 1) & t->listen_mask) {
		const struct stk_listener *l = &t->listen[i];
		if (!l->proto)
			return NULL;
		if (l->ip_raw == ip_raw && l->proto == proto && l->port == port)
			return l;
	}
}
/* stk_listen_find for TCP, through the last-hit slot. */
static inline const struct stk_listener *stk_listen_find_tcp(struct stk_tcp *t, uint32_t ip_raw, uint16_t port)
{
	const struct stk_listener *l = t->listen_last;
	if (l && l->ip_raw == ip_raw && l->port == port && l->proto == STK_IPPROTO_TCP)
		return l;
	l = stk_listen_find(t, ip_raw, STK_IPPROTO_TCP, port);
	if (l)
		t->listen_last = l;
	return l;
}
void stk_listen_destroy(struct stk_tcp *t);

/* ---- output (stk_tcp_output.c) --------------------------------------- */
struct stk_synack_info {
	uint8_t syn_bits;
	uint16_t peer_mss;
	uint8_t peer_ws;         /* valid with STK_SYN_WS */
	uint32_t ts_val, ts_ecr; /* our TSval, the SYN's TSval */
	const struct stk_synack_tmpl *tmpl; /* NULL: looked up by the sender */
	uint8_t exact;           /* stk_tcp_send_synack: 1 + index of the persona's exact answer to send */
};
/* What a SYN-ACK built from the policy for these SYN bits negotiates:
 * STK_SYN_WS/SACK/TS set when both sides have them; *ws = our shift. */
uint8_t stk_synack_features(const struct stk_tcp_policy *p, uint8_t syn_bits, uint8_t *our_ws);
/* The SYN-ACK's window for these SYN bits (the persona's first matching rule). */
uint16_t stk_synack_window(const struct stk_tcp_policy *p, uint8_t syn_bits);
/* The layout selection, as a value: equal keys (for one policy) give the
 * same SYN-ACK options and window for any SYN. Today the SYN's option bits
 * as the layout's conditions see them; a finer selection (per nmap probe,
 * say) returns its rule index here, and the template cache follows. */
uint32_t stk_synack_layout_key(const struct stk_tcp_policy *p, uint8_t syn_bits);
/* The persona's SYN-ACK options for a SYN, written to out (<= 40 bytes, not
 * padded); returns their length. *included: STK_SYN_* of the options present;
 * *our_ws: our window shift. */
unsigned stk_synack_options_build(const struct stk_tcp_policy *p, uint8_t syn_bits, uint16_t peer_mss,
				  uint32_t tsval, uint32_t tsecr, uint8_t *out, uint8_t *included, uint8_t *our_ws);
/* The template for this policy and SYN (built on a miss; never NULL). */
const struct stk_synack_tmpl *stk_synack_tmpl_lookup(struct stk_ctx *ctx, const struct stk_tcp_policy *p,
						     uint8_t syn_bits);
static inline const struct stk_synack_tmpl *stk_synack_tmpl_get(struct stk_ctx *ctx, const struct stk_tcp_policy *p,
								uint8_t syn_bits)
{
	const struct stk_tcp *t = ctx->tcp;
	if (t->tmpl_last_pol == p && t->tmpl_last_bits == syn_bits && t->tmpl_last_epoch == ctx->hosts->epoch)
		return t->tmpl_last;
	return stk_synack_tmpl_lookup(ctx, p, syn_bits);
}
/* Build and queue a SYN-ACK: from the template, or the persona's exact
 * answer si->exact (a retransmission repeats the first answer). */
void stk_tcp_send_synack(struct stk_ctx *ctx, struct stk_host *h, const uint8_t *dst_mac,
			 uint32_t dst_ip, uint16_t lport, uint16_t rport, uint32_t iss, uint32_t ack,
			 const struct stk_synack_info *si);
/* A RST (and ACK when ack_flag) with explicit fields. */
void stk_tcp_send_rst(struct stk_ctx *ctx, struct stk_host *h, const uint8_t *dst_mac, uint32_t dst_ip,
		      uint16_t lport, uint16_t rport, uint32_t seq, uint32_t ack, bool ack_flag,
		      uint16_t window, bool df, enum stk_ipid_class cls);
/* A RST for a connection's own addresses (f->lip may be no decky's). */
void stk_tcp_send_rst_flow(struct stk_ctx *ctx, struct stk_tcp_flow *f, uint32_t seq, uint32_t ack,
			   bool ack_flag);
/* Send what the flow may: data, FIN, the ACK it owes. */
void stk_tcp_output(struct stk_ctx *ctx, struct stk_tcp_flow *f);
/* Retransmit the first unacknowledged segment (fast retransmit, NewReno
 * partial ACKs) without moving snd_nxt. */
void stk_tcp_retransmit_first(struct stk_ctx *ctx, struct stk_tcp_flow *f);
/* A zero-window probe: an ACK at SND.UNA - 1 (zw_linux), else one byte
 * past the window. */
void stk_tcp_window_probe(struct stk_ctx *ctx, struct stk_tcp_flow *f);
/* The service closed and the FIN has not left yet. */
static inline bool stk_tcp_fin_waiting(const struct stk_tcp_flow *f)
{
	return (f->flags & (STK_F_CLOSE_REQ | STK_F_FIN_SENT)) == STK_F_CLOSE_REQ;
}
/* One pure ACK now (challenge ACKs, duplicate ACKs). */
void stk_tcp_send_ack(struct stk_ctx *ctx, struct stk_tcp_flow *f);
void stk_tcp_flush_pending(struct stk_ctx *ctx);
void stk_tcp_arm_rto(struct stk_ctx *ctx, struct stk_tcp_flow *f);
/* In-order data was just delivered: acknowledge it now or arm the delayed
 * ACK, as the persona says (clears STK_F_ACK_NOW when the ACK may wait). */
void stk_tcp_ack_delay(struct stk_ctx *ctx, struct stk_tcp_flow *f);
/* A segment came from the peer: it is alive (keepalive restarts). */
void stk_tcp_peer_heard(struct stk_ctx *ctx, struct stk_tcp_flow *f);
/* A keepalive probe: seq SND.UNA - 1, no data or one zero byte (false: no
 * buffer to send it in). */
bool stk_tcp_keepalive_probe(struct stk_ctx *ctx, struct stk_tcp_flow *f, bool with_byte);
void stk_tcp_timer_fire(struct stk_ctx *ctx, struct stk_tcp_flow *f);
/* Service callbacks, guarded against re-entry and dead flows. */
void stk_tcp_notify_writable(struct stk_ctx *ctx, struct stk_tcp_flow *f);

/* ---- exact persona answers (stk_tcp_exact.c) ------------------------- */
/* The SYN-ACK a compiled persona records for a SYN with this option
 * layout (opts/optlen: the SYN's option bytes), or NULL. */
const struct stk_syn_exact *stk_syn_exact_find(const struct stk_tcp_policy *p, const uint8_t *opts,
					       unsigned optlen, uint16_t mss, bool ecn);
/* Which exact answer was sent, as a SYN-cache entry and a flow keep it
 * (stk_tcp_flow.exact): 1 + its index, 0 for none. */
static inline uint8_t stk_syn_exact_idx(const struct stk_tcp_policy *p, const struct stk_syn_exact *x)
{
	return x ? (uint8_t)(x - p->syn_exact + 1) : 0;
}
/* The answer so kept, or NULL: none, or the policy no longer has it. */
static inline const struct stk_syn_exact *stk_syn_exact_at(const struct stk_tcp_policy *p, uint8_t idx)
{
	return idx && p->exact && idx <= p->n_syn_exact ? &p->syn_exact[idx - 1] : NULL;
}
/* What an exact SYN-ACK offers: STK_SYN_MSS/WS/SACK/TS for the options it
 * carries before any end-of-list (a peer parses no further); *ws: its
 * window scale shift (0 without one). */
uint8_t stk_answer_features(const struct stk_answer *a, uint8_t *ws);
/* The ISN answering nmap's SEQ probe k (1..6) from rip: a controlled step
 * from the previous probe's ISN (stk_isn_probe), else fallback. */
uint32_t stk_isn_probe(struct stk_ctx *ctx, struct stk_host *h, uint32_t rip, unsigned k, uint32_t fallback);
/* What an exact answer is computed from. */
struct stk_answer_in {
	uint16_t lport, rport;
	uint32_t seq, ack;       /* the segment answered */
	uint32_t isn;            /* our sequence number when the answer's S= is O */
	uint32_t tsval, tsecr;   /* our clock, the peer's TSval */
	uint16_t urp;            /* the segment's urgent field */
};
/* Build and queue an exact answer from h. */
void stk_tcp_send_answer(struct stk_ctx *ctx, struct stk_host *h, const uint8_t *dst_mac, uint32_t dst_ip,
			 const struct stk_answer_in *in, const struct stk_answer *a, enum stk_ipid_class cls);

/* ---- active open (stk_tcp_connect.c) --------------------------------- */
/* A segment for a flow in SYN-SENT (RFC 9293 3.10.7.3). */
struct stk_syn_sent_seg {
	uint32_t seq, ack, tsval;
	uint16_t wnd, mss;
	uint8_t flags, syn_bits, ws;
	bool ts;
};
void stk_tcp_syn_sent_input(struct stk_ctx *ctx, struct stk_tcp_flow *f, const struct stk_syn_sent_seg *s);
/* RTO in SYN-SENT: ARP again or SYN again, or give up. false: flow freed. */
bool stk_tcp_syn_sent_timeout(struct stk_ctx *ctx, struct stk_tcp_flow *f);

/* ---- the SYN cache (stk_syncache.c; add/evict inline in stk_tcp_synpath.h) */
int stk_sc_init(struct stk_tcp *t, uint32_t cap);
void stk_sc_destroy(struct stk_tcp *t);
static inline struct stk_syn_ent *stk_sc_lookup(struct stk_tcp *t, uint64_t hv, uint32_t lip, uint32_t rip,
						uint16_t lport, uint16_t rport)
{
	for (uint32_t i = t->sc_buckets[hv & t->sc_mask]; i != STK_NONE; i = t->sc[i].hnext) {
		struct stk_syn_ent *e = &t->sc[i];
		if (e->rip == rip && e->lip == lip && e->rport == rport && e->lport == lport)
			return e;
	}
	return NULL;
}
/* Retransmit due SYN-ACKs, drop entries out of retries. Returns 1 when it
 * stopped for want of transmit room. */
unsigned stk_sc_expire(struct stk_ctx *ctx, uint32_t now_ms);

/* ---- cookies (stk_tcp_cookie.c; the encoding inline in stk_tcp_synpath.h) */
/* tuple_hash: stk_flow_tuple_hash() of the connection (the MAC covers the
 * 4-tuple through it). */
/* 0 and the SYN's bits/MSS/shift, or -1 when the ACK does not carry a
 * cookie we issued in the last two periods. */
int stk_cookie_check(struct stk_ctx *ctx, uint64_t tuple_hash, uint32_t peer_isn, uint32_t cookie,
		     uint8_t *syn_bits, uint16_t *peer_mss, uint8_t *peer_ws);

#endif
