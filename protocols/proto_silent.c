/* silent: the banner-less responder. Accepts the connection, reads and
 * discards whatever comes, never speaks first, closes when the peer does
 * (and the stack's idle timeout ends connections that just sit). UDP
 * datagrams are taken without an answer (an open port, so no ICMP). What
 * arrived is counted by the stack (tcp_rx_bytes, udp_delivered) and the
 * connection is an event record; the payload itself is not kept yet.
 */
#include "protocols/proto.h"

static unsigned silent_recv(struct stk_ctx *ctx, struct stk_tcp_sock *s, const uint8_t *data, unsigned len)
{
	(void)ctx;
	(void)s;
	(void)data;
	return len;
}

static void silent_peer_closed(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	stk_tcp_close(ctx, s);
}

const struct stk_service proto_silent_service = {
	.name = "silent",
	.recv = silent_recv,
	.peer_closed = silent_peer_closed,
};
