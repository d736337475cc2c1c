/* echo (RFC 862): every byte received goes back, over TCP and UDP.
 *
 * Back-pressure without a buffer of its own: recv() takes only what the
 * send queue can hold, and recv_space() reports that same room, so the
 * window the peer sees shrinks while the echoed bytes wait for its ACKs.
 */
#include "protocols/proto.h"

static unsigned echo_recv(struct stk_ctx *ctx, struct stk_tcp_sock *s, const uint8_t *data, unsigned len)
{
	return stk_tcp_send(ctx, s, data, len);
}

static unsigned echo_space(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	return stk_tcp_send_space(ctx, s);
}

static void echo_peer_closed(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	stk_tcp_close(ctx, s); /* FIN after the last echoed byte */
}

static void echo_datagram(struct stk_ctx *ctx, const struct stk_udp_dgram *d, void *arg)
{
	(void)arg;
	stk_udp_reply(ctx, d, d->data, d->len);
}

const struct stk_service proto_echo_service = {
	.name = "echo",
	.recv = echo_recv,
	.recv_space = echo_space,
	.peer_closed = echo_peer_closed,
	.datagram = echo_datagram,
};
