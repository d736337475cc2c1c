/* stk_frag: bounded IPv4 fragment reassembly for traffic to deckies
 * (RFC 791 section 3.2, RFC 815 hole tracking by bitmap), and
 * fragmentation of answers that do not fit the link (ICMP echo replies to
 * large pings, as a real host sends them).
 *
 * A datagram under reassembly is keyed by (src, dst, protocol, IP ID) and
 * lives in one of cfg.max_datagrams slots, each with a contiguous 64 KiB
 * payload buffer and a coverage bitmap of 8-byte blocks. The buffers are
 * reserved once (stk_frag_init); pages are touched only as fragments
 * arrive, and cfg.memcap_bytes bounds what is held: a fragment that would
 * go past it evicts the oldest datagrams (counted drop_frag_memcap), so a
 * flood of never-completed datagrams cannot pin memory or lock out new
 * traffic. A datagram not complete cfg.timeout_ms after its first
 * fragment is dropped (drop_frag_timeout; RFC 791 suggests 15 s, Linux
 * uses 30 s). Nothing on the per-packet path allocates.
 *
 * Overlapping fragments: an OS property (Snort's frag3 lists first, last,
 * bsd, linux, windows, solaris policies), so it is a per-decky setting,
 * struct stk_host_policy.frag_overlap, with the policy the decky's OS
 * applies; the stack never branches on an OS name:
 *   STK_FRAG_OVERLAP_DROP  (0, the default) an exact duplicate of bytes
 *       already held is ignored (frag_duplicate); any other overlap
 *       discards the whole datagram (drop_frag_overlap). What Linux does
 *       since 4.19 (after FragmentSmack) and RFC 5722 requires for IPv6;
 *       it is also the safe default: no crafted overlap can make the
 *       decky's services see bytes that an inspecting device would have
 *       reassembled differently.
 *   STK_FRAG_OVERLAP_FIRST bytes already held win (older Windows,
 *       Solaris); the new fragment only fills holes.
 *   STK_FRAG_OVERLAP_LAST  the newest bytes win (some embedded stacks,
 *       Cisco).
 *
 * On a timeout the persona decides whether an ICMP time exceeded
 * (fragment reassembly) goes back, as Linux, Windows and lwIP send it
 * when the first fragment came (stk_tcp_policy.frag_time_exceeded).
 *
 * Reassembled datagrams leave through stk_frag_input's return value and
 * are then handled by the normal ICMP/UDP/TCP input. One context per
 * stack context (ctx->frag); not thread-safe. Without stk_frag_init every
 * fragment is counted drop_ip_fragment, as before.
 */
#ifndef STK_FRAG_H
#define STK_FRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/stk.h"

enum stk_frag_overlap {
	STK_FRAG_OVERLAP_DROP = 0,
	STK_FRAG_OVERLAP_FIRST,
	STK_FRAG_OVERLAP_LAST,
};

struct stk_frag_cfg {
	uint32_t memcap_bytes;   /* payload bytes held by all datagrams at once */
	uint32_t max_datagrams;  /* datagrams under reassembly at once (slots) */
	uint32_t timeout_ms;     /* from the first fragment to completion */
	uint16_t mtu;            /* link MTU for fragmenting answers */
};

/* 1 MiB, 64 datagrams, 30 s, MTU 1500. */
void stk_frag_cfg_default(struct stk_frag_cfg *cfg);

/* Allocates ctx->frag. 0, -EINVAL or -ENOMEM. */
int stk_frag_init(struct stk_ctx *ctx, const struct stk_frag_cfg *cfg);
void stk_frag_destroy(struct stk_ctx *ctx);

/* One validated IPv4 fragment (MF set or offset non-zero; header checksum
 * and lengths already checked by the caller) for decky h, from the
 * station src_mac (where a time-exceeded error would go; NULL: none). Returns the
 * reassembled datagram (IP header + payload, total length in *out_len,
 * fragment field cleared, header checksum valid) when this fragment
 * completed one, else NULL (held, or dropped and counted). The datagram
 * belongs to ctx->frag and stays valid until the next stk_frag_* call. */
const uint8_t *stk_frag_input(struct stk_ctx *ctx, const struct stk_host *h, const uint8_t *src_mac,
			      const uint8_t *ip, unsigned hlen, unsigned tot_len, unsigned *out_len);

/* Drop datagrams whose time is up (counted), with an ICMP time exceeded
 * (reassembly) for those whose first fragment came when the decky's
 * persona sends one (stk_tcp_policy.frag_time_exceeded), appended to
 * tx[*n_tx...tx_cap) (tx NULL: none). Called by stk_timers_advance. */
void stk_frag_expire(struct stk_ctx *ctx, uint64_t now_ns, struct stk_pkt **tx, unsigned tx_cap,
		     unsigned *n_tx);
/* Datagrams under reassembly (stk_timers_pending keeps the tick going). */
unsigned stk_frag_pending(const struct stk_ctx *ctx);
/* Payload bytes held now. */
uint32_t stk_frag_bytes_held(const struct stk_ctx *ctx);

/* The link MTU answers must fit (cfg.mtu; 1500 without a context). */
unsigned stk_frag_mtu(const struct stk_ctx *ctx);

/* A 65535-byte buffer for building an answer too large for one frame
 * (then sent with stk_frag_output); valid until the next stk_frag_* call. */
uint8_t *stk_frag_scratch(struct stk_ctx *ctx);

/* Send an IPv4 payload of up to 65515 bytes from h to dst_mac in as many
 * fragments as the MTU requires. hdr is a 20-byte header template
 * (version/IHL, TOS, ID, TTL, protocol, addresses); each fragment gets its
 * own copy with total length, offset, MF (DF clear) and checksum filled.
 * Buffers come from ctx->tx_pool and are appended to tx[*n_tx...tx_cap),
 * owned by the caller. Returns the number of frames, or 0 when they could
 * not all be had (then none are queued; counted drop_tx_*). */
unsigned stk_frag_output(struct stk_ctx *ctx, const struct stk_host *h, const uint8_t *dst_mac,
			 const uint8_t *hdr, const uint8_t *payload, unsigned len, struct stk_pkt **tx,
			 unsigned tx_cap, unsigned *n_tx);

#endif
