/* The service side of a connection: send queues and the calls services
 * make (send, close, abort, accessors).
 *
 * Send queues are lists of 2 KiB chunks from one pool allocated at start:
 * a banner takes one chunk, a bulk transfer up to cfg.sndbuf_per_flow.
 * The queue holds every byte from snd_una on (sent or not), which is what
 * retransmission needs; acknowledged bytes leave from the front.
 *
 * Calls from a service never emit frames themselves: they change the
 * flow and put it on the output-pending list, which the stack flushes at
 * the end of the segment or timer being handled (or of the next advance,
 * when the call came from outside the stack). One output path, one place
 * that decides what a segment carries.
 */
#include "stack/stk_tcp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stk_sndq_init(struct stk_tcp *t, uint32_t bytes)
{
	uint32_t n = bytes / STK_TCP_CHUNK;
	if (!n)
		n = 1;
	t->chunk_mem = malloc((size_t)n * STK_TCP_CHUNK);
	t->chunk_next = malloc((size_t)n * sizeof(*t->chunk_next));
	if (!t->chunk_mem || !t->chunk_next) {
		stk_sndq_destroy(t);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++)
		t->chunk_next[i] = i + 1 < n ? i + 1 : STK_NONE;
	t->chunk_free = 0;
	t->n_chunks = n;
	t->chunks_used = 0;
	return 0;
}

void stk_sndq_destroy(struct stk_tcp *t)
{
	free(t->chunk_mem);
	free(t->chunk_next);
	t->chunk_mem = NULL;
	t->chunk_next = NULL;
}

static inline uint8_t *chunk(const struct stk_tcp *t, uint32_t c)
{
	return t->chunk_mem + (size_t)c * STK_TCP_CHUNK;
}

void stk_sndq_copy(const struct stk_tcp *t, const struct stk_tcp_flow *f, uint32_t off, uint8_t *dst,
		   unsigned len)
{
	uint32_t c = f->sq_head;
	off += f->sq_off;
	while (off >= STK_TCP_CHUNK) {
		c = t->chunk_next[c];
		off -= STK_TCP_CHUNK;
	}
	while (len) {
		unsigned n = STK_TCP_CHUNK - off;
		if (n > len)
			n = len;
		memcpy(dst, chunk(t, c) + off, n);
		dst += n;
		len -= n;
		off = 0;
		c = t->chunk_next[c];
	}
}

void stk_sndq_drop(struct stk_tcp *t, struct stk_tcp_flow *f, uint32_t n)
{
	if (n > f->sq_len)
		n = f->sq_len;
	f->sq_len -= n;
	uint32_t off = f->sq_off + n;
	while (f->sq_head != STK_NONE && (off >= STK_TCP_CHUNK || (!f->sq_len && off))) {
		/* A fully consumed chunk goes back; so does the last one once the
		 * queue is empty (the next send starts a fresh chunk). */
		uint32_t c = f->sq_head;
		f->sq_head = t->chunk_next[c];
		t->chunk_next[c] = t->chunk_free;
		t->chunk_free = c;
		t->chunks_used--;
		off = off >= STK_TCP_CHUNK ? off - STK_TCP_CHUNK : 0;
	}
	if (f->sq_head == STK_NONE) {
		f->sq_tail = STK_NONE;
		off = 0;
	}
	f->sq_off = (uint16_t)off;
}

void stk_sndq_free_all(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	while (f->sq_head != STK_NONE) {
		uint32_t c = f->sq_head;
		f->sq_head = t->chunk_next[c];
		t->chunk_next[c] = t->chunk_free;
		t->chunk_free = c;
		t->chunks_used--;
	}
	f->sq_tail = STK_NONE;
	f->sq_len = 0;
	f->sq_off = 0;
}

/* The flow is open for the service to write: it knows the connection and
 * has neither closed nor aborted it. */
static bool sock_writable_state(const struct stk_tcp_flow *f)
{
	return (f->flags & STK_F_ACCEPTED) && !(f->flags & (STK_F_CLOSE_REQ | STK_F_ABORT_REQ)) &&
	       (f->state == STK_TCP_ESTABLISHED || f->state == STK_TCP_CLOSE_WAIT);
}

unsigned stk_tcp_send_space(const struct stk_ctx *ctx, const struct stk_tcp_sock *s)
{
	const struct stk_tcp_flow *f = (const struct stk_tcp_flow *)s;
	const struct stk_tcp *t = ctx->tcp;
	if (!sock_writable_state(f) || f->sq_len >= t->cfg.sndbuf_per_flow)
		return 0;
	unsigned room = t->cfg.sndbuf_per_flow - f->sq_len;
	/* What the pool can still give: free chunks plus the tail's slack. */
	uint64_t pool = (uint64_t)(t->n_chunks - t->chunks_used) * STK_TCP_CHUNK;
	if (f->sq_tail != STK_NONE) {
		uint32_t used = (f->sq_off + f->sq_len) % STK_TCP_CHUNK;
		if (used)
			pool += STK_TCP_CHUNK - used;
	}
	return pool < room ? (unsigned)pool : room;
}

unsigned stk_tcp_send(struct stk_ctx *ctx, struct stk_tcp_sock *s, const void *data, unsigned len)
{
	struct stk_tcp_flow *f = (struct stk_tcp_flow *)s;
	struct stk_tcp *t = ctx->tcp;
	unsigned room = stk_tcp_send_space(ctx, s);
	unsigned n = len < room ? len : room;
	if (n < len) {
		ctx->cnt.tcp_sndbuf_full++;
		if (sock_writable_state(f))
			f->flags |= STK_F_WANT_WRITE;
	}
	const uint8_t *src = data;
	unsigned left = n;
	while (left) {
		uint32_t end = f->sq_off + f->sq_len; /* bytes used from the head chunk on */
		uint32_t used = end % STK_TCP_CHUNK;
		if (f->sq_tail == STK_NONE || (!used && end)) {
			uint32_t c = t->chunk_free; /* room said there is one */
			t->chunk_free = t->chunk_next[c];
			t->chunk_next[c] = STK_NONE;
			t->chunks_used++;
			if (f->sq_tail == STK_NONE)
				f->sq_head = c;
			else
				t->chunk_next[f->sq_tail] = c;
			f->sq_tail = c;
			used = 0;
		}
		unsigned k = STK_TCP_CHUNK - used;
		if (k > left)
			k = left;
		memcpy(chunk(t, f->sq_tail) + used, src, k);
		src += k;
		left -= k;
		f->sq_len += k;
	}
	if (n)
		stk_flow_pend(t, f);
	return n;
}

void stk_tcp_close(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	struct stk_tcp_flow *f = (struct stk_tcp_flow *)s;
	if (!(f->flags & STK_F_ACCEPTED) || (f->flags & (STK_F_CLOSE_REQ | STK_F_ABORT_REQ)))
		return;
	f->flags |= STK_F_CLOSE_REQ;
	f->flags &= (uint16_t)~STK_F_WANT_WRITE;
	stk_flow_pend(ctx->tcp, f);
}

void stk_tcp_abort(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	struct stk_tcp_flow *f = (struct stk_tcp_flow *)s;
	if (!(f->flags & STK_F_ACCEPTED) || (f->flags & STK_F_ABORT_REQ))
		return;
	f->flags |= STK_F_ABORT_REQ;
	stk_flow_pend(ctx->tcp, f);
}

void stk_tcp_want_writable(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	struct stk_tcp_flow *f = (struct stk_tcp_flow *)s;
	(void)ctx;
	if (sock_writable_state(f))
		f->flags |= STK_F_WANT_WRITE;
}

void stk_tcp_keepalive(struct stk_ctx *ctx, struct stk_tcp_sock *s, bool on)
{
	struct stk_tcp_flow *f = (struct stk_tcp_flow *)s;
	const struct stk_tcp_policy *p = stk_host_tcp_policy(&ctx->hosts->hosts[f->host_idx]);
	if (!on || !p->keepalive_probes) {
		f->xflags &= (uint8_t)~STK_X_KEEPALIVE;
		return;
	}
	f->xflags |= STK_X_KEEPALIVE;
	f->ka_sent = 0;
	f->ka_at = stk_now_ms(ctx) + p->keepalive_idle_ms;
	stk_flow_timer_update(ctx->tcp, f);
}

void stk_tcp_recv_ready(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	struct stk_tcp_flow *f = (struct stk_tcp_flow *)s;
	if (!(f->flags & STK_F_ACCEPTED) || (f->flags & STK_F_ABORT_REQ) || f->state == STK_TCP_SYN_SENT ||
	    f->state == STK_TCP_SYN_RCVD)
		return;
	if (f->flags & STK_F_PEER_FIN) {
		if (stk_reasm_held_bytes(ctx->tcp, f)) /* the flush hands them over */
			stk_flow_pend(ctx->tcp, f);
		return;
	}
	f->flags |= STK_F_ACK_NOW; /* the ACK carries the window recv_space() now gives */
	stk_flow_pend(ctx->tcp, f);
}

void stk_tcp_notify_writable(struct stk_ctx *ctx, struct stk_tcp_flow *f)
{
	if (!(f->flags & STK_F_WANT_WRITE) || (f->flags & STK_F_IN_CB) || !sock_writable_state(f))
		return;
	if (stk_tcp_send_space(ctx, (struct stk_tcp_sock *)f) < STK_TCP_CHUNK)
		return; /* wait until at least a chunk's worth is free */
	f->flags &= (uint16_t)~STK_F_WANT_WRITE;
	if (f->svc->writable) {
		f->flags |= STK_F_IN_CB;
		f->svc->writable(ctx, (struct stk_tcp_sock *)f);
		f->flags &= (uint16_t)~STK_F_IN_CB;
	}
}

void **stk_tcp_sock_app(struct stk_tcp_sock *s)
{
	return &((struct stk_tcp_flow *)s)->app;
}

uint64_t *stk_tcp_sock_scratch(struct stk_tcp_sock *s)
{
	return &((struct stk_tcp_flow *)s)->scratch;
}

void stk_tcp_sock_peer(const struct stk_tcp_sock *s, uint32_t *ip_raw, uint16_t *port)
{
	const struct stk_tcp_flow *f = (const struct stk_tcp_flow *)s;
	*ip_raw = f->rip;
	*port = f->rport;
}

uint16_t stk_tcp_sock_local_port(const struct stk_tcp_sock *s)
{
	return ((const struct stk_tcp_flow *)s)->lport;
}

struct stk_host *stk_tcp_sock_host(const struct stk_ctx *ctx, const struct stk_tcp_sock *s)
{
	return &ctx->hosts->hosts[((const struct stk_tcp_flow *)s)->host_idx];
}
