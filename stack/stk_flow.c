/* The flow table: every TCP connection a decky holds, in one array sized
 * once (the memory cap), found by a keyed hash of the 4-tuple.
 *
 * Why keyed: the tuple is the attacker's choice; with a public hash they
 * could aim every flow at one bucket. SipHash with a per-start secret makes
 * chains as long as chance says.
 *
 * Slots are linked three ways by index (no pointers, so the records stay
 * small and position-independent): a hash chain, one LRU list ordered by
 * last activity (the eviction order when the table is full: oldest first,
 * whatever the state), and an output-pending list for flows whose output
 * waits for transmit room. The timer wheel links them a fourth way.
 */
#include "stack/stk_tcp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stk_flow_table_init(struct stk_tcp *t, uint32_t max_flows, uint32_t now_ms)
{
	uint32_t nb = 16;
	while (nb < max_flows)
		nb <<= 1;
	t->flows = calloc(max_flows, sizeof(*t->flows));
	if (!t->flows)
		goto err;
	t->buckets = malloc((size_t)nb * sizeof(*t->buckets));
	if (!t->buckets)
		goto err_flows;
	if (stk_wheel_init(&t->wheel, 4096, now_ms, t->flows, sizeof(*t->flows),
			   offsetof(struct stk_tcp_flow, tl)))
		goto err_buckets;
	memset(t->buckets, 0xff, (size_t)nb * sizeof(*t->buckets));
	t->bucket_mask = nb - 1;
	/* Free list through hnext, lowest index first. */
	for (uint32_t i = 0; i < max_flows; i++) {
		t->flows[i].hnext = i + 1 < max_flows ? i + 1 : STK_NONE;
		t->flows[i].tl.next = t->flows[i].tl.prev = STK_TL_NONE;
	}
	t->free_head = max_flows ? 0 : STK_NONE;
	t->lru_head = t->lru_tail = STK_NONE;
	t->pend_head = t->pend_tail = STK_NONE;
	return 0;

err_buckets:
	free(t->buckets);
	t->buckets = NULL;
err_flows:
	free(t->flows);
	t->flows = NULL;
err:
	return -ENOMEM;
}

void stk_flow_table_destroy(struct stk_tcp *t)
{
	stk_wheel_destroy(&t->wheel);
	free(t->buckets);
	free(t->flows);
	t->buckets = NULL;
	t->flows = NULL;
}

struct stk_tcp_flow *stk_flow_lookup(struct stk_tcp *t, uint32_t lip, uint32_t rip, uint16_t lport,
				     uint16_t rport)
{
	return stk_flow_lookup_h(t, stk_flow_tuple_hash(t, lip, rip, lport, rport), lip, rip, lport, rport);
}

static void lru_unlink(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	if (f->lru_prev != STK_NONE)
		t->flows[f->lru_prev].lru_next = f->lru_next;
	else
		t->lru_head = f->lru_next;
	if (f->lru_next != STK_NONE)
		t->flows[f->lru_next].lru_prev = f->lru_prev;
	else
		t->lru_tail = f->lru_prev;
}

static void lru_append(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	uint32_t i = flow_idx(t, f);
	f->lru_next = STK_NONE;
	f->lru_prev = t->lru_tail;
	if (t->lru_tail != STK_NONE)
		t->flows[t->lru_tail].lru_next = i;
	else
		t->lru_head = i;
	t->lru_tail = i;
}

void stk_flow_touch(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	if (t->lru_tail == flow_idx(t, f))
		return;
	lru_unlink(t, f);
	lru_append(t, f);
}

void stk_flow_pend(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	if (f->flags & STK_F_PENDING)
		return;
	uint32_t i = flow_idx(t, f);
	f->flags |= STK_F_PENDING;
	f->pend_next = STK_NONE;
	f->pend_prev = t->pend_tail;
	if (t->pend_tail != STK_NONE)
		t->flows[t->pend_tail].pend_next = i;
	else
		t->pend_head = i;
	t->pend_tail = i;
}

void stk_flow_unpend(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	if (!(f->flags & STK_F_PENDING))
		return;
	if (f->pend_prev != STK_NONE)
		t->flows[f->pend_prev].pend_next = f->pend_next;
	else
		t->pend_head = f->pend_next;
	if (f->pend_next != STK_NONE)
		t->flows[f->pend_next].pend_prev = f->pend_prev;
	else
		t->pend_tail = f->pend_prev;
	f->flags &= (uint16_t)~STK_F_PENDING;
}

void stk_flow_set_state(struct stk_tcp *t, struct stk_tcp_flow *f, uint8_t state)
{
	t->half_open -= f->state == STK_TCP_SYN_RCVD;
	t->time_wait -= f->state == STK_TCP_TIME_WAIT;
	f->state = state;
	t->half_open += state == STK_TCP_SYN_RCVD;
	t->time_wait += state == STK_TCP_TIME_WAIT;
}

void stk_flow_timer_update(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	uint32_t due = f->idle_at;
	if ((f->flags & STK_F_RTO) && stk_tick_before(f->rto_at, due))
		due = f->rto_at;
	if ((f->xflags & STK_X_DELACK) && stk_tick_before(f->delack_at, due))
		due = f->delack_at;
	if ((f->xflags & STK_X_KEEPALIVE) && stk_tick_before(f->ka_at, due))
		due = f->ka_at;
	stk_wheel_arm(&t->wheel, flow_idx(t, f), due);
}

static void unhash(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	uint32_t *pp = &t->buckets[f->hash & t->bucket_mask];
	uint32_t i = flow_idx(t, f);
	while (*pp != i)
		pp = &t->flows[*pp].hnext;
	*pp = f->hnext;
}

/* Everything stk_flow_free does but clearing and listing the slot as free:
 * an evicted slot is reused at once, and stk_flow_new_h clears it. */
static void flow_release(struct stk_ctx *ctx, struct stk_tcp_flow *f, enum stk_close_reason why)
{
	struct stk_tcp *t = ctx->tcp;
	if ((f->flags & STK_F_ACCEPTED) && f->svc && f->svc->closed) {
		/* Once, and with no further callbacks: the service may free its
		 * state here and must not touch the socket afterwards. */
		f->flags &= (uint16_t)~STK_F_ACCEPTED;
		f->flags |= STK_F_IN_CB;
		f->svc->closed(ctx, (struct stk_tcp_sock *)f, why);
	}
	if (f->flags & STK_F_ACTIVE)
		t->n_active--;
	stk_wheel_cancel(&t->wheel, flow_idx(t, f));
	stk_flow_unpend(t, f);
	stk_sndq_free_all(t, f);
	stk_reasm_free_all(t, f);
	unhash(t, f);
	lru_unlink(t, f);
	stk_flow_set_state(t, f, STK_TCP_FREE);
	t->n_flows--;
}

void stk_flow_free(struct stk_ctx *ctx, struct stk_tcp_flow *f, enum stk_close_reason why)
{
	struct stk_tcp *t = ctx->tcp;
	flow_release(ctx, f, why);
	uint16_t gen = f->gen;
	memset(f, 0, sizeof(*f));
	f->gen = (uint16_t)(gen + 1);
	f->tl.next = f->tl.prev = STK_TL_NONE;
	f->hnext = t->free_head;
	t->free_head = flow_idx(t, f);
}

struct stk_tcp_flow *stk_flow_new(struct stk_ctx *ctx, uint32_t lip, uint32_t rip, uint16_t lport,
				  uint16_t rport)
{
	return stk_flow_new_h(ctx, stk_flow_tuple_hash(ctx->tcp, lip, rip, lport, rport), lip, rip, lport, rport);
}

struct stk_tcp_flow *stk_flow_new_h(struct stk_ctx *ctx, uint64_t hv, uint32_t lip, uint32_t rip,
				    uint16_t lport, uint16_t rport)
{
	struct stk_tcp *t = ctx->tcp;
	if (t->free_head == STK_NONE) {
		/* Full: the least recently active connection makes room, unless a
		 * service callback is running on it right now. */
		uint32_t victim = t->lru_head;
		if (victim == STK_NONE || (t->flows[victim].flags & STK_F_IN_CB)) {
			ctx->cnt.drop_tcp_flow_full++;
			return NULL;
		}
		ctx->cnt.tcp_flows_evicted++;
		flow_release(ctx, &t->flows[victim], STK_CLOSE_EVICTED);
		/* The victim's slot, without a round trip through the free list
		 * (and one clearing instead of two). */
		t->flows[victim].gen++;
		t->flows[victim].hnext = STK_NONE;
		t->free_head = victim;
	}
	uint32_t i = t->free_head;
	struct stk_tcp_flow *f = &t->flows[i];
	t->free_head = f->hnext;
	uint16_t gen = f->gen;
	memset(f, 0, sizeof(*f));
	f->gen = gen;
	f->tl.next = f->tl.prev = STK_TL_NONE;
	f->lip = lip;
	f->rip = rip;
	f->lport = lport;
	f->rport = rport;
	f->sq_head = f->sq_tail = STK_NONE;
	f->ooo_head = STK_NONE;
	f->hash = (uint32_t)hv; /* the bucket bits: unhash needs no second hash */
	uint32_t *b = &t->buckets[hv & t->bucket_mask];
	f->hnext = *b;
	*b = i;
	lru_append(t, f);
	t->n_flows++;
	return f;
}
