/* stk: the deckies' network stack. This layer turns received Ethernet
 * frames into answers: ARP for every decky address, ICMP echo, and (with
 * the stack issue) UDP/TCP. It never forwards or routes: a frame that is
 * not for a decky is counted as "ignored" and left alone.
 *
 * Per worker: one struct stk_ctx (counters, tx pool); the host table may
 * be shared read-mostly between workers once there are several (the
 * control plane writes it from the engine's main loop only).
 *
 * Every counter an attacker can move is named here; drops are counted by
 * reason, never silent.
 */
#ifndef STK_H
#define STK_H

#include <stdint.h>
#include <string.h>

#include "stack/stk_event.h"
#include "stack/stk_hosts.h"
#include "stack/stk_pkt.h"
#include "stack/stk_proto.h"

struct stk_tcp;
struct stk_frag;

/* X(name, help). rx_* count what came in, tx_* what we sent, ignored_* is
 * traffic that is not ours (the host's own, other machines'), drop_* is
 * traffic for a decky we could not or would not answer. */
#define STK_COUNTERS(X)                                                        \
	X(rx_frames, "frames received")                                        \
	X(rx_bytes, "bytes received")                                          \
	X(tx_frames, "frames built for transmit")                              \
	X(arp_requests, "ARP requests for a decky address")                    \
	X(arp_replies, "ARP replies sent")                                     \
	X(arp_gratuitous, "gratuitous ARPs sent")                              \
	X(icmp_echo_requests, "ICMP echo requests to a decky")                 \
	X(icmp_echo_replies, "ICMP echo replies sent")                         \
	X(ignored_not_decky, "frames not addressed to any decky")              \
	X(ignored_arp_reply, "ARP replies/other ARP ops seen (not answered)")  \
	X(ignored_broadcast_ip, "IPv4 to a decky in a broadcast/multicast frame") \
	X(drop_eth_short, "frame shorter than an Ethernet header")             \
	X(drop_eth_vlan, "VLAN-tagged frame (not supported yet)")              \
	X(drop_eth_dst, "unicast frame for a decky IP but another MAC")        \
	X(drop_eth_src, "IPv4 from a broadcast/multicast source MAC")          \
	X(drop_arp_short, "truncated ARP packet")                              \
	X(drop_arp_format, "ARP not Ethernet/IPv4 (htype/ptype/hlen/plen)")    \
	X(drop_arp_bad_sender, "ARP from a broadcast/multicast sender")        \
	X(drop_ip_short, "truncated IPv4 header")                              \
	X(drop_ip_version, "IP version not 4")                                 \
	X(drop_ip_hlen, "IPv4 header length < 20 or past the packet")          \
	X(drop_ip_len, "IPv4 total length inconsistent with the frame")        \
	X(drop_ip_csum, "IPv4 header checksum wrong")                          \
	X(drop_ip_fragment, "IPv4 fragment while reassembly is off (no stk_frag_init)") \
	X(drop_ip_src, "IPv4 source is broadcast, multicast, zero or loopback") \
	X(drop_ip_proto, "IPv4 protocol not handled yet")                      \
	X(drop_icmp_short, "truncated ICMP message")                           \
	X(drop_icmp_csum, "ICMP checksum wrong")                               \
	X(drop_icmp_type, "ICMP type not answered")                            \
	X(drop_icmp_echo_silent, "echo request the persona leaves unanswered (IE R=N)") \
	X(drop_icmp_too_big, "echo request too long to answer unfragmented")  \
	X(drop_tcp_ecn_syn, "SYN asking for ECN, which the persona ignores")  \
	X(drop_tcp_exact_silent, "SYN whose option layout the persona leaves unanswered (R=N)") \
	X(drop_tx_nobuf, "answer dropped: transmit pool empty")                \
	X(drop_tx_full, "answer dropped: transmit burst full")                 \
	STK_FRAG_COUNTERS(X)                                                   \
	STK_L4_COUNTERS(X)

/* IPv4 fragments (stk_frag.c). */
#define STK_FRAG_COUNTERS(X)                                                   \
	X(frag_rx, "IPv4 fragments to a decky")                                \
	X(frag_reassembled, "datagrams reassembled from fragments")            \
	X(frag_duplicate, "fragments repeating bytes already held (ignored)")  \
	X(frag_overlap_resolved, "overlapping fragments resolved by the decky's policy (first/last wins)") \
	X(frag_tx, "fragments sent (answers larger than the MTU)")            \
	X(drop_frag_timeout, "datagrams not complete within the reassembly timeout") \
	X(drop_frag_memcap, "datagrams dropped to stay within the reassembly memcap") \
	X(drop_frag_slots, "datagrams evicted: too many under reassembly at once") \
	X(drop_frag_overlap, "datagrams dropped for overlapping fragments (policy drop)") \
	X(drop_frag_too_big, "fragments reaching past 65535 bytes (datagram dropped)") \
	X(drop_frag_bad, "fragments empty, not a multiple of 8 bytes, or past the last one") \
	X(frag_time_exceeded, "ICMP time exceeded (reassembly) sent for timed-out datagrams") \
	X(drop_frag_icmp_ratelimit, "time exceeded suppressed by the persona's ICMP rate limit") \

/* TCP and UDP (stk_tcp*.c, stk_udp.c). */
#define STK_L4_COUNTERS(X)                                                     \
	X(tcp_rx_segments, "TCP segments to a decky")                          \
	X(tcp_syn_open, "SYNs to a listening port")                            \
	X(tcp_synack_sent, "SYN-ACKs sent (retransmissions and cookies included)") \
	X(tcp_synack_tmpl_built, "SYN-ACK templates built (a persona's layout for a new kind of SYN)") \
	X(tcp_syncookies_sent, "SYN-ACKs carrying a SYN cookie (half-open limit reached)") \
	X(tcp_syncache_evicted, "half-open connections dropped from a full SYN cache (oldest first)") \
	X(tcp_syncache_timeouts, "half-open connections given up after the persona's SYN-ACK retries") \
	X(tcp_syncache_no_queue, "half-open connections with no SYN-cache queue for their delay (a full flow at the SYN, given up at a retransmission)") \
	X(tcp_syncookies_ok, "connections established from a valid SYN cookie") \
	X(tcp_accepted, "connections established and handed to a service")    \
	X(tcp_active_opens, "active opens started (steering legs to backends)") \
	X(tcp_active_established, "active opens that reached ESTABLISHED")     \
	X(tcp_active_failed, "active opens refused (RST) or unanswered")       \
	X(tcp_neigh_arp_sent, "ARP requests sent to resolve a backend")        \
	X(tcp_neigh_evicted, "backend MACs forgotten for a newer backend (neighbour table full)") \
	X(tcp_neigh_stale, "backend MACs asked again after an active open got no answer") \
	X(drop_tcp_leg_unresolved, "segments for an active open whose SYN has not left (backend MAC unknown)") \
	X(tcp_closed_port, "segments to a closed port")                        \
	X(tcp_rst_sent, "RSTs sent")                                           \
	X(tcp_challenge_acks, "RFC 5961 challenge ACKs sent")                  \
	X(tcp_retransmits, "segments retransmitted")                           \
	X(tcp_rto_timeouts, "retransmission timeouts")                         \
	X(tcp_fast_retransmits, "fast retransmits (three duplicate ACKs)")     \
	X(tcp_window_probes, "zero-window probes sent")                        \
	X(tcp_rx_bytes, "payload bytes delivered to services")                 \
	X(tcp_tx_bytes, "payload bytes sent (retransmissions included)")       \
	X(tcp_conn_reset, "connections reset by the peer")                     \
	X(tcp_conn_timeout, "connections dropped: retransmissions exhausted or idle") \
	X(tcp_flows_evicted, "connections evicted to make room (flow memcap)") \
	X(tcp_bad_options, "malformed TCP options (the segment is still used)") \
	X(tcp_sndbuf_full, "service sends cut short by the send-buffer limits") \
	X(tcp_pressure_resets, "connections reset to free send buffers: pool nearly full, data queued, no progress for 10 s") \
	X(tcp_delayed_acks, "ACKs sent by the delayed-ACK timer (none rode on data)") \
	X(tcp_keepalive_probes, "keepalive probes sent")                       \
	X(tcp_keepalive_timeouts, "connections reset: keepalive probes unanswered") \
	X(tcp_urgent_rx, "segments with URG from a peer (urgent data stays inline)") \
	X(drop_tcp_short, "truncated TCP header")                              \
	X(drop_tcp_hlen, "TCP data offset < 5 or past the packet")             \
	X(drop_tcp_csum, "TCP checksum wrong")                                 \
	X(drop_tcp_port, "TCP port 0")                                         \
	X(drop_tcp_noflow_rst, "RST without a connection (never answered)")     \
	X(drop_tcp_noflow, "segment without a connection the persona ignores (R=N)") \
	X(drop_tcp_rst_ratelimit, "RST suppressed by the persona's rate limit") \
	X(drop_tcp_cookie_bad, "ACK while cookies are in use that carries no valid cookie") \
	X(drop_tcp_flow_full, "new connection refused: no flow slot")          \
	X(drop_tcp_out_of_window, "segment outside the receive window (ACKed)") \
	X(tcp_closed_window_acks, "ACKs of new data read from segments refused by our zero window (RFC 9293 3.10.7.4)") \
	X(drop_tcp_paws, "segment with an old timestamp (PAWS, ACKed)")        \
	X(drop_tcp_bad_ack, "ACK outside what was sent (challenge ACK)")       \
	X(drop_tcp_syn_in_window, "SYN on a synchronized connection (challenge ACK)") \
	X(drop_tcp_rst_in_window, "RST not exactly at rcv_nxt (challenge ACK)") \
	X(drop_tcp_no_ack, "segment without ACK on a synchronized connection") \
	X(tcp_ooo_queued, "out-of-order segments queued until the hole fills") \
	X(drop_tcp_ooo, "out-of-order segment the reassembly queue could not take") \
	X(drop_tcp_after_fin, "data after the peer's FIN")                     \
	X(drop_tcp_rcv_unread, "bytes the service did not consume and could not be held (not ACKed)") \
	X(tcp_rcv_held, "in-window bytes held for a service without room (ACKed, delivered later)") \
	X(drop_tcp_challenge_ratelimit, "challenge ACK suppressed (RFC 5961 limit)") \
	X(drop_tcp_oow_ratelimit, "ACK to an invalid segment suppressed (500 ms per connection)") \
	X(udp_rx, "UDP datagrams to a decky")                                  \
	X(udp_delivered, "datagrams delivered to a service")                   \
	X(udp_replies, "datagrams sent by services")                           \
	X(icmp_unreach_sent, "ICMP port unreachables sent")                    \
	X(drop_udp_short, "truncated UDP header")                              \
	X(drop_udp_len, "UDP length inconsistent with the IP packet")          \
	X(drop_udp_csum, "UDP checksum wrong")                                 \
	X(drop_udp_unreach_ratelimit, "port unreachable suppressed by the persona's rate limit") \
	X(drop_udp_closed, "datagram to a closed port the persona does not answer")

struct stk_counters {
#define STK_X_FIELD(n, h) uint64_t n;
	STK_COUNTERS(STK_X_FIELD)
#undef STK_X_FIELD
};

struct stk_counter_desc {
	const char *name;
	const char *help;
	unsigned offset;
};
/* NULL-name-terminated table describing every field of stk_counters. */
extern const struct stk_counter_desc stk_counter_descs[];

struct stk_ctx {
	struct stk_hosts *hosts;
	struct stk_pool *tx_pool;
	struct stk_event_ring *events; /* NULL: events off */
	struct stk_tcp *tcp;      /* TCP/UDP state (stk_tcp.h); NULL: not handled */
	struct stk_frag *frag;    /* IPv4 reassembly (stk_frag.h); NULL: fragments dropped */
	uint64_t now_ns;          /* CLOCK_MONOTONIC, set by the caller before each
				   * burst and by stk_timers_advance */
	unsigned burst_i;         /* the frame of the burst being handled (stk_input_burst) */
	struct stk_counters cnt;
};

/* Record an observation (cheap; no-op when events are off). Ports are 0
 * for ARP and ICMP. */
static inline void stk_event_note(struct stk_ctx *ctx, unsigned kind, const struct stk_pkt *p,
				  const struct stk_host *h, const uint8_t src_ip[4],
				  const uint8_t *src_mac, uint8_t proto, uint8_t ttl, uint16_t sport,
				  uint16_t dport, uint32_t aux)
{
	if (!ctx->events)
		return;
	struct stk_event *ev = stk_event_claim(ctx->events);
	if (!ev)
		return;
	ev->ts_ns = p->ts_ns;
	memcpy(&ev->src_ip_raw, src_ip, 4);
	ev->dst_ip_raw = h->ip_raw;
	ev->sport = sport;
	ev->dport = dport;
	ev->kind = (uint16_t)kind;
	ev->proto = proto;
	ev->ttl = ttl;
	memcpy(ev->src_mac, src_mac, 6);
	ev->len = (uint16_t)(p->len > STK_ETH_HLEN ? p->len - STK_ETH_HLEN : 0);
	ev->host_idx = (uint32_t)(h - ctx->hosts->hosts);
	ev->aux = aux;
	stk_event_commit(ctx->events);
}

/* Handle n received frames (borrowed: not kept, may be modified in place).
 * Answers are taken from ctx->tx_pool and appended to tx[*n_tx...tx_cap);
 * the caller owns them and must put them back after transmit. Returns the
 * number of frames handled (always n). */
unsigned stk_input_burst(struct stk_ctx *ctx, struct stk_pkt *const *rx, unsigned n,
			 struct stk_pkt **tx, unsigned tx_cap, unsigned *n_tx);

/* Fill out (a pool buffer owned by the caller) with a gratuitous ARP
 * request announcing h (sender = target = h's address, to broadcast), as
 * Linux sends on address configuration. Returns the frame length. */
unsigned stk_arp_build_gratuitous(const struct stk_host *h, struct stk_pkt *out);
/* "Who has target_ip_raw? Tell h", broadcast (active opens resolve their
 * next hop with it). Returns the frame length. */
unsigned stk_arp_build_request(const struct stk_host *h, uint32_t target_ip_raw, struct stk_pkt *out);

#endif
