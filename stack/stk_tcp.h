/* stk_tcp: the deckies' own TCP and UDP.
 *
 * Every SYN-ACK, RST, option and ICMP port unreachable a decky sends is
 * built here from its persona (struct stk_tcp_policy, stk_tcp_policy.h):
 * nothing comes from the host kernel. What it implements:
 *
 *  - RFC 9293 passive open and the whole state machine after it
 *    (SYN-RCVD, ESTABLISHED, FIN-WAIT-1/2, CLOSING, TIME-WAIT, CLOSE-WAIT,
 *    LAST-ACK; simultaneous close), MSS, window scaling, SACK-permitted and
 *    timestamps with PAWS (RFC 7323), RFC 5961 challenge ACKs for
 *    RST/SYN/ACK attacks, retransmission with RTO per RFC 6298 and Reno
 *    congestion control with fast retransmit (RFC 5681/6582), zero-window
 *    probes. Active open (SYN-SENT) exists for one user only:
 *    steering legs to a service's backend (stk_tcp_connect, below).
 *  - a flow table with a memory cap: at most cfg.max_flows connections of
 *    sizeof(struct stk_tcp_flow) bytes each (stk_tcp_flow_bytes()), the least
 *    recently active evicted when a new one needs room; SYN cookies when
 *    half-open connections reach cfg.syn_cookie_threshold, so a decky keeps
 *    answering under a SYN flood. Received data is handed to the service as
 *    it arrives in order (out-of-order segments are dropped and ACKed: the
 *    peer retransmits), so only the send side is buffered, in 2 KiB chunks
 *    from a pool of cfg.sndbuf_bytes.
 *  - a port table per decky (stk_listen): a listening TCP port accepts, a
 *    UDP port delivers datagrams, to a struct stk_service (protocols/). Ports
 *    nobody listens on answer as the persona says: RST rules for TCP, ICMP
 *    port unreachable (quoting, DF, rate limit) for UDP.
 *  - timers in a wheel inside the stack: the engine calls
 *    stk_timers_advance() every few milliseconds from its loop.
 *
 * Everything runs on the caller's thread with the stk_ctx it passes; the
 * per-packet path never allocates, logs or makes a system call. Services
 * are called back from inside stk_input_burst()/stk_timers_advance() and
 * answer through the functions below, whose output joins the same burst.
 */
#ifndef STK_TCP_H
#define STK_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/stk.h"
#include "stack/stk_proto.h"

struct stk_tcp_cfg {
	uint32_t max_flows;            /* connections (any state) held at once */
	uint32_t syn_cookie_threshold; /* half-open flows from which SYNs get cookies;
					* 0: always cookies, UINT32_MAX: never */
	uint32_t sndbuf_bytes;         /* send buffer memory, all connections */
	uint32_t sndbuf_per_flow;      /* per connection: stk_tcp_send() takes less above */
	uint32_t rcv_wnd;              /* most a connection offers to receive (bytes) */
	uint32_t idle_timeout_ms;      /* a connection with no progress is reset after */
	uint16_t challenge_ack_per_s;  /* RFC 5961 section 7 limit, all connections;
					* 0: none (Linux 6: each connection's own
					* 500 ms limit only, see stk_tcp_input.c) */
	uint16_t mtu;                  /* link MTU (segment size = mtu - 40 - options) */
	uint32_t listeners;            /* initial listen-table size (grows) */
	uint32_t neighbours;           /* backends whose MAC is known at once (steering) */
	uint64_t secret_seed;          /* 0: random (getrandom); tests pass a fixed one */
	bool prf_siphash;              /* keyed hashes by SipHash even where AES-NI
					* would serve (stk_prf.h; tests, comparisons) */
};

/* Defaults sized for the engine: 262144 flows (~64 MiB), cookies above a
 * quarter of them, 64 MiB of send buffers, 64 KiB per flow. */
void stk_tcp_cfg_default(struct stk_tcp_cfg *cfg);

/* Allocates ctx->tcp (flow table, wheel, buffers, port table). Call before
 * the first input burst; ctx->now_ns should already hold the current time.
 * 0 or -ENOMEM / -EINVAL. Without it the stack counts TCP and UDP as
 * drop_ip_proto, as before the stack issue. */
int stk_tcp_init(struct stk_ctx *ctx, const struct stk_tcp_cfg *cfg);
/* Frees everything; services get closed(STK_CLOSE_SHUTDOWN) first. */
void stk_tcp_destroy(struct stk_ctx *ctx);

/* Bytes of engine state per connection (the flow record plus its share of
 * the hash buckets), excluding send buffers. */
size_t stk_tcp_flow_bytes(const struct stk_ctx *ctx);

/* ---- services ---------------------------------------------------------- */

struct stk_tcp_sock; /* a connection, from accept() until closed() returns */

enum stk_close_reason {
	STK_CLOSE_NORMAL = 0, /* both FINs exchanged */
	STK_CLOSE_RESET,      /* the peer sent a valid RST */
	STK_CLOSE_ABORT,      /* the service (or accept()) aborted */
	STK_CLOSE_TIMEOUT,    /* retransmissions exhausted */
	STK_CLOSE_IDLE,       /* no progress for cfg.idle_timeout_ms */
	STK_CLOSE_EVICTED,    /* made room for a newer connection (memcap) */
	STK_CLOSE_HOST_GONE,  /* the decky was removed */
	STK_CLOSE_SHUTDOWN,   /* stk_tcp_destroy */
};

/* A datagram for an open UDP port; valid during the datagram() call. */
struct stk_udp_dgram {
	struct stk_host *host;
	uint32_t peer_ip_raw;         /* wire order */
	uint16_t peer_port, local_port; /* host order */
	const uint8_t *data;
	unsigned len;
	const uint8_t *peer_mac;
	uint8_t ttl;                  /* as received */
};

/* What a service implements; every callback may be NULL. Calls happen on
 * the stack's thread, inside an input burst or a timer advance. */
struct stk_service {
	const char *name;
	/* A connection completed its handshake on a port this service listens
	 * on. Return 0 to keep it, a negative value to reset it. May send. */
	int (*accept)(struct stk_ctx *ctx, struct stk_tcp_sock *s, void *arg);
	/* In-order bytes from the peer. Returns how many were consumed; the
	 * rest are not acknowledged (the peer sends them again later). */
	unsigned (*recv)(struct stk_ctx *ctx, struct stk_tcp_sock *s, const uint8_t *data, unsigned len);
	/* How many bytes recv() could consume now (sizes the window); NULL:
	 * always cfg.rcv_wnd. */
	unsigned (*recv_space)(struct stk_ctx *ctx, struct stk_tcp_sock *s);
	/* The peer sent FIN: no more data will come. */
	void (*peer_closed)(struct stk_ctx *ctx, struct stk_tcp_sock *s);
	/* Send space came back after stk_tcp_send() took less than asked. */
	void (*writable)(struct stk_ctx *ctx, struct stk_tcp_sock *s);
	/* The connection is gone; s is invalid after this returns. */
	void (*closed)(struct stk_ctx *ctx, struct stk_tcp_sock *s, enum stk_close_reason why);
	/* UDP: one datagram for a port this service listens on. */
	void (*datagram)(struct stk_ctx *ctx, const struct stk_udp_dgram *d, void *arg);
};

/* Open (proto STK_IPPROTO_TCP or STK_IPPROTO_UDP) port on the decky with
 * address ip_raw. Control plane (may allocate). 0, -EEXIST, -ENOMEM, or
 * -EINVAL (port 0, bad proto, no stk_tcp_init). */
int stk_listen(struct stk_ctx *ctx, uint32_t ip_raw, uint8_t proto, uint16_t port,
	       const struct stk_service *svc, void *arg);
/* Close the port again (connections already accepted stay). 0 or -ENOENT. */
int stk_unlisten(struct stk_ctx *ctx, uint32_t ip_raw, uint8_t proto, uint16_t port);

/* Queue bytes for the peer. Returns how many were taken (less than len
 * under back-pressure: the per-flow cap or the shared pool; writable()
 * follows when space returns; 0 after close/abort). */
unsigned stk_tcp_send(struct stk_ctx *ctx, struct stk_tcp_sock *s, const void *data, unsigned len);
unsigned stk_tcp_send_space(const struct stk_ctx *ctx, const struct stk_tcp_sock *s);
/* Ask for writable() when send space returns even though no send() was
 * refused (a relay that filled the buffer exactly). */
void stk_tcp_want_writable(struct stk_ctx *ctx, struct stk_tcp_sock *s);
/* recv_space() grew (a relay's other side drained): announce the new
 * window now instead of waiting for the peer's window probe. */
void stk_tcp_recv_ready(struct stk_ctx *ctx, struct stk_tcp_sock *s);
/* SO_KEEPALIVE: probe a quiet connection with the persona's keepalive
 * timing (stk_tcp_policy keepalive_*) and reset it when the peer is gone
 * (closed(STK_CLOSE_TIMEOUT)). Off by default, as on every OS. */
void stk_tcp_keepalive(struct stk_ctx *ctx, struct stk_tcp_sock *s, bool on);
/* Send FIN after the queued bytes (half-close: recv() keeps coming). */
void stk_tcp_close(struct stk_ctx *ctx, struct stk_tcp_sock *s);
/* Reset now (RST to the peer); closed(STK_CLOSE_ABORT) follows. */
void stk_tcp_abort(struct stk_ctx *ctx, struct stk_tcp_sock *s);

/* Active open, for steering (protocols/proto_steer.c): a connection from
 * (lip_raw, lport) to (rip_raw, rport) sent with the MAC, persona and
 * egress of the decky at via_ip_raw. lip_raw need not be a decky: a
 * steering leg uses the attacker's own address and port, so the backend
 * sees who it talks to; the backend's route back must go through the
 * engine (stack/README.md). The backend's MAC is resolved by ARP from the
 * decky's address. svc->accept() is called when the connection is
 * ESTABLISHED (return < 0 to reset it), svc->closed() if it never is
 * (STK_CLOSE_RESET: refused, STK_CLOSE_TIMEOUT: no answer). The flow is
 * returned in *out before any callback. 0, -EEXIST (that 4-tuple exists),
 * -ENOMEM (no flow), -EHOSTUNREACH (no such decky), -ENOSPC (neighbour
 * table full), -EINVAL (no stk_tcp_init, port 0). */
int stk_tcp_connect(struct stk_ctx *ctx, uint32_t via_ip_raw, uint32_t lip_raw, uint16_t lport,
		    uint32_t rip_raw, uint16_t rport, const struct stk_service *svc, void *arg,
		    struct stk_tcp_sock **out);

/* The decky a frame to a non-decky address belongs to: an active-open
 * flow keyed by the IPv4 packet at ip (avail bytes), or NULL. Called by
 * the IPv4 demultiplexer only while active opens exist. */
struct stk_host *stk_tcp_active_host(struct stk_ctx *ctx, const uint8_t *ip, unsigned avail);
/* An ARP reply or request from ip_raw/mac seen by a decky: completes a
 * resolution stk_tcp_connect() started (no entry is ever created here). */
void stk_tcp_neigh_learn(struct stk_ctx *ctx, uint32_t ip_raw, const uint8_t *mac);

/* A backend's MAC given by configuration: no ARP is ever sent for it (on a
 * segment the attacker shares, the broadcast request would show the
 * backend's address). 0, -ENOSPC (table full), -EINVAL. Control plane. */
int stk_tcp_neigh_set(struct stk_ctx *ctx, uint32_t ip_raw, const uint8_t *mac);
/* What the table holds for ip_raw: 0 nothing, 1 resolving (or to be asked
 * again), 2 resolved by ARP, 3 configured; the MAC in mac for 2 and 3. */
int stk_tcp_neigh_state(struct stk_ctx *ctx, uint32_t ip_raw, uint8_t mac[6]);

/* Per-connection state for the service: a pointer and 8 inline bytes. */
void **stk_tcp_sock_app(struct stk_tcp_sock *s);
uint64_t *stk_tcp_sock_scratch(struct stk_tcp_sock *s);
void stk_tcp_sock_peer(const struct stk_tcp_sock *s, uint32_t *ip_raw, uint16_t *port);
uint16_t stk_tcp_sock_local_port(const struct stk_tcp_sock *s);
struct stk_host *stk_tcp_sock_host(const struct stk_ctx *ctx, const struct stk_tcp_sock *s);

/* Answer a datagram (from inside datagram()): source and destination
 * swapped. 0, or -ENOBUFS (tx full, counted) / -EMSGSIZE. */
int stk_udp_reply(struct stk_ctx *ctx, const struct stk_udp_dgram *d, const void *data, unsigned len);

/* ---- the engine's side ------------------------------------------------ */

/* Tell the stack the time (CLOCK_MONOTONIC ns): fires due retransmissions,
 * probes and timeouts and sends output that was waiting for transmit room.
 * Frames are appended to tx[*n_tx..tx_cap) as in stk_input_burst (the
 * caller owns them). Returns nonzero when it stopped for lack of room in
 * tx: transmit and call again. */
unsigned stk_timers_advance(struct stk_ctx *ctx, uint64_t now_ns, struct stk_pkt **tx,
			    unsigned tx_cap, unsigned *n_tx);

/* True while the stack has timers armed or output waiting: the caller may
 * stop calling stk_timers_advance() while it is false and start again
 * after the next input burst. */
bool stk_timers_pending(const struct stk_ctx *ctx);

/* Called by stk_input.c's IPv4 demultiplexer for a validated packet (header
 * checksum, lengths, no fragment) addressed to h, inside stk_input_burst,
 * which points the TCP context's output (tx, tx_cap, n_tx) at the burst's
 * answer array for the whole burst: six arguments, all in registers. */
void stk_tcp_input(struct stk_ctx *ctx, const struct stk_pkt *p, struct stk_host *h, const uint8_t *ip,
		   unsigned hlen, unsigned tot_len);
void stk_udp_input(struct stk_ctx *ctx, const struct stk_pkt *p, struct stk_host *h, const uint8_t *ip,
		   unsigned hlen, unsigned tot_len);

/* Before a burst's frames are handled one by one: the tuple hash of every
 * TCP frame, and its hash buckets prefetched, so the table look-ups of a
 * burst wait for memory together rather than one after another (called by
 * stk_input_burst; a hash serves a segment handled from the very IPv4
 * header it was read from). It also points TCP's and UDP's output at tx
 * until stk_tcp_burst_end. */
void stk_tcp_burst_begin(struct stk_ctx *ctx, struct stk_pkt *const *rx, unsigned n, struct stk_pkt **tx,
			 unsigned tx_cap, unsigned *n_tx);
void stk_tcp_burst_end(struct stk_ctx *ctx);

/* Occupancy, for stats and tests. */
struct stk_tcp_usage {
	uint32_t flows, max_flows, half_open, time_wait;
	uint32_t syn_cache, syn_cache_cap; /* half-open connections held as SYN-cache entries */
	uint32_t sndbuf_chunks_used, sndbuf_chunks;
	uint32_t listeners, timers_armed;
};
void stk_tcp_usage(const struct stk_ctx *ctx, struct stk_tcp_usage *u);

/* One connection as an administrator (or a test chasing a stall) sees it:
 * who, which state, and what holds it up (queue, windows, timers). */
struct stk_tcp_flow_info {
	uint32_t lip, rip;          /* wire order */
	uint16_t lport, rport;      /* host order */
	uint32_t host_idx;
	const char *state;          /* RFC 9293's name: "ESTABLISHED", "LAST-ACK", ... */
	const char *service;        /* NULL: no service (a half-open connection) */
	uint32_t snd_queued;        /* bytes in the send queue, sent or not */
	uint32_t in_flight;         /* sent, not acknowledged (snd_max - snd_una) */
	uint32_t snd_wnd, cwnd, ssthresh;
	uint32_t rcv_wnd;           /* offered to the peer and not yet used */
	uint32_t srtt_us, rto_ms;
	int64_t rto_in_ms;          /* until the retransmission timer fires; -1: not armed */
	int64_t idle_in_ms;         /* until the idle timeout (or TIME-WAIT's end) */
	uint16_t ooo_segments;      /* queued segments: out of order, or held for the service */
	uint32_t rcv_held;          /* bytes acknowledged, waiting for the service to take them */
	uint8_t backoff;            /* retransmissions (or probes) since the last progress */
	bool accepted, persist, recovery, peer_fin, fin_sent;
};
/* Up to max connections, the most recently active first; returns how many
 * were written (stk_tcp_usage's flows says how many there are). */
unsigned stk_tcp_flows(const struct stk_ctx *ctx, struct stk_tcp_flow_info *out, unsigned max);

#endif
