/* proto_steer: a decky port backed by a real service (a backend).
 *
 * The attacker's handshake is completed by the decky's own stack (its
 * persona answers the SYN); accept() then opens a second leg to the
 * backend with stk_tcp_connect(), speaking with the attacker's address
 * and port, so the backend logs who really connected. Bytes are relayed
 * both ways between the two sockets with the stack's flow control:
 *
 *  - recv_space(one leg) = stk_tcp_send_space(other leg): a side is only
 *    offered the window the other side can queue, so a slow reader on one
 *    end closes the window on the other end (no buffer here grows);
 *  - when the other leg's send space returns (writable()), the throttled
 *    leg announces its reopened window at once (stk_tcp_recv_ready())
 *    rather than waiting for the peer's zero-window probe;
 *  - before the backend has answered, up to PROTO_STEER_EARLY bytes the
 *    attacker sent (curl's request arrives right after the handshake) wait
 *    in the pair; the window offered meanwhile is what is left of them;
 *  - a FIN is passed on as a FIN (half-close), a reset or timeout on one
 *    leg aborts the other.
 *
 * Pairs come from a pool allocated once (proto_steer_pool_init); a full
 * pool resets the attacker's connection (counted). Socket app pointer =
 * pair, scratch word = which leg.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocols/proto_steer.h"

enum { LEG_ATTACKER = 0, LEG_BACKEND = 1 };
enum {
	PAIR_CONNECTED = 1u << 0, /* the backend leg is ESTABLISHED */
	PAIR_FIN_DUE = 1u << 1,   /* the attacker closed before the backend answered */
};

struct proto_steer_pair {
	struct stk_tcp_sock *leg[2];
	struct proto_steer_pool *pool;
	uint32_t next_free;
	uint16_t early_len;
	uint8_t flags;
	uint8_t early[PROTO_STEER_EARLY];
};

int proto_steer_pool_init(struct proto_steer_pool *pool, uint32_t pairs)
{
	memset(pool, 0, sizeof(*pool));
	pool->pairs = calloc(pairs ? pairs : 1, sizeof(*pool->pairs));
	if (!pool->pairs)
		return -ENOMEM;
	pool->cap = pairs ? pairs : 1;
	for (uint32_t i = 0; i < pool->cap; i++)
		pool->pairs[i].next_free = i + 1 < pool->cap ? i + 1 : UINT32_MAX;
	pool->free_head = 0;
	return 0;
}

void proto_steer_pool_destroy(struct proto_steer_pool *pool)
{
	free(pool->pairs);
	pool->pairs = NULL;
}

static struct proto_steer_pair *pair_get(struct proto_steer_pool *pool)
{
	if (pool->free_head == UINT32_MAX) {
		pool->pool_empty++;
		return NULL;
	}
	struct proto_steer_pair *p = &pool->pairs[pool->free_head];
	pool->free_head = p->next_free;
	memset(p, 0, offsetof(struct proto_steer_pair, early));
	p->pool = pool;
	pool->in_use++;
	return p;
}

static void pair_put(struct proto_steer_pair *p)
{
	struct proto_steer_pool *pool = p->pool;
	p->next_free = pool->free_head;
	pool->free_head = (uint32_t)(p - pool->pairs);
	pool->in_use--;
}

static struct proto_steer_pair *pair_of(struct stk_tcp_sock *s, unsigned *leg)
{
	*leg = (unsigned)*stk_tcp_sock_scratch(s);
	return *stk_tcp_sock_app(s);
}

/* The backend answered: what the attacker already sent goes first. */
static int backend_connected(struct stk_ctx *ctx, struct proto_steer_pair *p)
{
	p->flags |= PAIR_CONNECTED;
	p->pool->connected++;
	if (p->early_len) {
		unsigned n = stk_tcp_send(ctx, p->leg[LEG_BACKEND], p->early, p->early_len);
		if (n < p->early_len) /* a fresh leg takes 2 KiB: cannot happen */
			return -ENOBUFS;
		p->early_len = 0;
	}
	if (p->flags & PAIR_FIN_DUE)
		stk_tcp_close(ctx, p->leg[LEG_BACKEND]);
	else if (p->leg[LEG_ATTACKER])
		stk_tcp_recv_ready(ctx, p->leg[LEG_ATTACKER]); /* its window opens */
	return 0;
}

static int steer_accept(struct stk_ctx *ctx, struct stk_tcp_sock *s, void *arg)
{
	struct proto_steer_pair *p = *stk_tcp_sock_app(s);
	if (p) /* the backend leg completing its handshake */
		return backend_connected(ctx, p);
	const struct proto_steer_route *r = arg;
	p = pair_get(r->pool);
	if (!p)
		return -ENOBUFS;
	uint32_t aip;
	uint16_t aport;
	stk_tcp_sock_peer(s, &aip, &aport);
	struct stk_tcp_sock *b;
	int rc = stk_tcp_connect(ctx, r->decky_ip_raw, aip, aport, r->backend_ip_raw, r->backend_port,
				 &proto_steer_service, r->pool, &b);
	if (rc) {
		r->pool->connect_failed++;
		pair_put(p);
		return rc;
	}
	p->leg[LEG_ATTACKER] = s;
	p->leg[LEG_BACKEND] = b;
	*stk_tcp_sock_app(s) = p;
	*stk_tcp_sock_scratch(s) = LEG_ATTACKER;
	*stk_tcp_sock_app(b) = p;
	*stk_tcp_sock_scratch(b) = LEG_BACKEND;
	r->pool->steered++;
	return 0;
}

static unsigned steer_recv(struct stk_ctx *ctx, struct stk_tcp_sock *s, const uint8_t *data, unsigned len)
{
	unsigned leg;
	struct proto_steer_pair *p = pair_of(s, &leg);
	struct stk_tcp_sock *other = p->leg[!leg];
	if (!other)
		return len; /* the other end is gone: this one is being closed */
	if (!(p->flags & PAIR_CONNECTED)) {
		unsigned room = PROTO_STEER_EARLY - p->early_len;
		unsigned n = len < room ? len : room;
		memcpy(p->early + p->early_len, data, n);
		p->early_len = (uint16_t)(p->early_len + n);
		return n;
	}
	unsigned n = stk_tcp_send(ctx, other, data, len);
	if (n == len && !stk_tcp_send_space(ctx, other))
		stk_tcp_want_writable(ctx, other); /* full to the byte: still reopen this side */
	return n;
}

static unsigned steer_recv_space(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	unsigned leg;
	struct proto_steer_pair *p = pair_of(s, &leg);
	if (!p || !p->leg[!leg])
		return 65535;
	if (!(p->flags & PAIR_CONNECTED))
		return PROTO_STEER_EARLY - p->early_len;
	return stk_tcp_send_space(ctx, p->leg[!leg]);
}

static void steer_peer_closed(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	unsigned leg;
	struct proto_steer_pair *p = pair_of(s, &leg);
	struct stk_tcp_sock *other = p->leg[!leg];
	if (!other)
		return;
	if (!(p->flags & PAIR_CONNECTED))
		p->flags |= PAIR_FIN_DUE; /* after the early bytes */
	else
		stk_tcp_close(ctx, other);
}

/* s has send room again: the other leg, throttled by it, may read on. */
static void steer_writable(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	unsigned leg;
	struct proto_steer_pair *p = pair_of(s, &leg);
	if (p->leg[!leg])
		stk_tcp_recv_ready(ctx, p->leg[!leg]);
}

static void steer_closed(struct stk_ctx *ctx, struct stk_tcp_sock *s, enum stk_close_reason why)
{
	unsigned leg;
	struct proto_steer_pair *p = pair_of(s, &leg);
	if (!p)
		return; /* accept() refused it before a pair existed */
	p->leg[leg] = NULL;
	struct stk_tcp_sock *other = p->leg[!leg];
	if (other) {
		if (why == STK_CLOSE_NORMAL)
			stk_tcp_close(ctx, other);
		else
			stk_tcp_abort(ctx, other);
		if (leg == LEG_BACKEND && !(p->flags & PAIR_CONNECTED))
			p->pool->connect_failed++;
	} else {
		pair_put(p);
	}
}

const struct stk_service proto_steer_service = {
	.name = "steer",
	.accept = steer_accept,
	.recv = steer_recv,
	.recv_space = steer_recv_space,
	.peer_closed = steer_peer_closed,
	.writable = steer_writable,
	.closed = steer_closed,
};
