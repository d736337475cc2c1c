/* SYN cookies: when half-open connections reach the threshold, a SYN gets
 * a SYN-ACK whose ISN encodes everything the connection needs, and no
 * state. The ACK that completes the handshake proves the peer saw it (its
 * ack - 1 is the cookie); only then is a flow created, already
 * ESTABLISHED. A flood of spoofed SYNs therefore costs no memory and the
 * decky keeps answering.
 *
 * The SYN-ACK itself is the persona's (same options, window, TTL): an
 * attacker learns nothing from looking at it, as with a real stack.
 *
 * Layout of the 32-bit cookie:
 *   bits 0-1   time counter (64 s periods) mod 4; this one and the last
 *              are accepted
 *   bits 2-3   index of the peer's MSS in mss_table (rounded down)
 *   bits 4-7   peer window shift + 1 (0: no WS option)
 *   bit  8     SACK-permitted, bit 9 timestamps, bit 10 MSS present
 *   bits 11-31 MAC: a keyed PRF (stk_prf.h: AES-128 or SipHash-1-3,
 *              own key) of (tuple hash, peer ISN, time, bits 2-10). The
 *              tuple hash is the flow table's keyed hash of the 4-tuple
 *              (a PRF output under another key, computed for every
 *              segment anyway): the MAC covers the tuple through it in one
 *              block. A forger's odds are set by the 21 bits.
 * 21 bits of MAC: one forged ACK in two million opens a connection.
 */
#include "stack/stk_tcp_synpath.h"

/* The encoding (stk_cookie_make, its MAC and MSS table) is inline in
 * stk_tcp_synpath.h: it runs for every SYN of a flood. */

int stk_cookie_check(struct stk_ctx *ctx, uint64_t tuple_hash, uint32_t peer_isn, uint32_t cookie,
		     uint8_t *syn_bits, uint16_t *peer_mss, uint8_t *peer_ws)
{
	uint64_t now = ctx->now_ns / STK_COOKIE_PERIOD_NS, period;
	if ((now & 3) == (cookie & 3))
		period = now;
	else if (now && ((now - 1) & 3) == (cookie & 3))
		period = now - 1;
	else
		return -1;
	uint32_t info = cookie & 0x7ff;
	if (stk_cookie_mac(ctx, tuple_hash, peer_isn, period, info & 0x7fc) != cookie >> 11)
		return -1;
	uint8_t bits = 0;
	uint32_t ws = (info >> 4) & 0xf;
	if (ws) {
		bits |= STK_SYN_WS;
		*peer_ws = (uint8_t)(ws - 1);
	} else {
		*peer_ws = 0;
	}
	if (info & (1u << 8))
		bits |= STK_SYN_SACK;
	if (info & (1u << 9))
		bits |= STK_SYN_TS;
	if (info & (1u << 10))
		bits |= STK_SYN_MSS;
	*peer_mss = (bits & STK_SYN_MSS) ? stk_cookie_mss[(info >> 2) & 3] : STK_TCP_DEFAULT_MSS;
	*syn_bits = bits;
	return 0;
}
