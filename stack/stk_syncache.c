/* The SYN cache: half-open connections without a flow.
 *
 * A SYN to an open port used to take a 240-byte flow, a hash-chain link,
 * an LRU link and a timer-wheel entry, and under a flood every one of
 * them was evicted again unused (FreeBSD's syncache makes the same
 * observation). Here a SYN takes a 64-byte entry in a ring, which is
 * allocated in arrival order, so the slot the ring reaches next is always
 * the oldest entry: eviction when full is O(1) and never touches an
 * established connection. An entry becomes a flow (stk_tcp_input.c) when
 * anything more arrives for its 4-tuple — the ACK that completes the
 * handshake, a retransmitted SYN, a RST — and the state machine then
 * handles that segment in SYN-RECEIVED exactly as before.
 *
 * Timers without a timer per entry: an entry waits for its retransmission
 * in the FIFO of its delay (the persona's initial RTO, doubled per
 * retransmission). Every entry of one FIFO waits the same time and is
 * appended when it starts waiting, so each FIFO is sorted and only its
 * head is ever due. A delay with no free FIFO (more than STK_SC_QUEUES
 * distinct delays in use) makes the caller fall back to a full flow.
 */
#include "stack/stk_tcp_synpath.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stk_sc_init(struct stk_tcp *t, uint32_t cap)
{
	uint32_t nb = 16;
	if (cap < 16)
		cap = 16;
	while (nb < cap)
		nb <<= 1;
	t->sc = calloc(cap, sizeof(*t->sc));
	t->sc_buckets = malloc((size_t)nb * sizeof(*t->sc_buckets));
	if (!t->sc || !t->sc_buckets) {
		free(t->sc);
		free(t->sc_buckets);
		t->sc = NULL;
		t->sc_buckets = NULL;
		return -ENOMEM;
	}
	memset(t->sc_buckets, 0xff, (size_t)nb * sizeof(*t->sc_buckets));
	for (uint32_t i = 0; i < cap; i++)
		t->sc[i].q = STK_SC_FREE;
	t->sc_mask = nb - 1;
	t->sc_cap = cap;
	t->sc_next = 0;
	t->sc_count = 0;
	for (unsigned q = 0; q < STK_SC_QUEUES; q++)
		t->sc_q[q].head = t->sc_q[q].tail = STK_NONE;
	return 0;
}

void stk_sc_destroy(struct stk_tcp *t)
{
	free(t->sc);
	free(t->sc_buckets);
	t->sc = NULL;
	t->sc_buckets = NULL;
	t->sc_count = 0;
}

/* The FIFO for this delay when the last one used does not serve it: one
 * already serving it, else a free one (a FIFO is free when empty), else
 * STK_SC_FREE. */
uint8_t stk_sc_queue_for_slow(struct stk_tcp *t, uint32_t delay_ms)
{
	unsigned empty = STK_SC_FREE;
	for (unsigned q = 0; q < STK_SC_QUEUES; q++) {
		if (t->sc_q[q].delay_ms == delay_ms && t->sc_q[q].head != STK_NONE) {
			t->sc_last_q = (uint8_t)q;
			return (uint8_t)q;
		}
		if (t->sc_q[q].head == STK_NONE && empty == STK_SC_FREE)
			empty = q;
	}
	if (empty != STK_SC_FREE) {
		t->sc_q[empty].delay_ms = delay_ms;
		t->sc_last_q = (uint8_t)empty;
	}
	return (uint8_t)empty;
}

/* A due entry: its SYN-ACK again (as a flow in SYN-RECEIVED would send
 * it) and the next, doubled delay; or the end of its retries. */
static void fire(struct stk_ctx *ctx, struct stk_syn_ent *e)
{
	struct stk_tcp *t = ctx->tcp;
	struct stk_host *h = &ctx->hosts->hosts[e->host_idx];
	if (!h->in_use || h->ip_raw != e->lip) { /* the decky is gone */
		stk_sc_free(t, e);
		return;
	}
	const struct stk_tcp_policy *p = stk_host_pol(h);
	if (++e->rxt_shift > p->synack_retries) {
		ctx->cnt.tcp_syncache_timeouts++;
		stk_sc_free(t, e);
		return;
	}
	uint32_t tsval = stk_tcp_tsval_tuple(ctx, h, e->lip, e->rip, e->lport, e->rport);
	struct stk_synack_info si = {e->syn_bits, e->peer_mss, e->peer_ws, tsval,
				     (e->syn_bits & STK_SYN_TS) ? e->tsval : 0, NULL, e->exact};
	stk_tcp_send_synack(ctx, h, e->rmac, e->rip, e->lport, e->rport, e->iss, e->irs + 1, &si);
	uint64_t d = (uint64_t)p->rto_init_ms << (e->rxt_shift < 16 ? e->rxt_shift : 16);
	if (d > p->rto_max_ms)
		d = p->rto_max_ms;
	stk_sc_q_unlink(t, e);
	uint8_t q = stk_sc_queue_for(t, (uint32_t)d);
	if (q == STK_SC_FREE) { /* no queue for that delay: given up early, counted */
		ctx->cnt.tcp_syncache_no_queue++;
		stk_sc_release(t, e);
		return;
	}
	e->rto_at = stk_now_ms(ctx) + (uint32_t)d;
	stk_sc_q_append(t, (uint32_t)(e - t->sc), q);
}

unsigned stk_sc_expire(struct stk_ctx *ctx, uint32_t now_ms)
{
	struct stk_tcp *t = ctx->tcp;
	if (!t->sc_count)
		return 0;
	for (unsigned q = 0; q < STK_SC_QUEUES; q++) {
		while (t->sc_q[q].head != STK_NONE) {
			struct stk_syn_ent *e = &t->sc[t->sc_q[q].head];
			if (stk_tick_before(now_ms, e->rto_at))
				break;
			if (stk_l4_tx_room(t) < 1)
				return 1;
			fire(ctx, e);
		}
	}
	return 0;
}
