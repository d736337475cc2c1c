/* Packet buffers and the buffer pool.
 *
 * They live in the stack (the lowest layer that touches packets) rather
 * than in the engine, so the stack can take transmit buffers without
 * calling upward. I/O backends (engine/) use the same type.
 *
 * Ownership rules, in one place:
 *  - A received packet belongs to the I/O backend. rx_burst lends it to the
 *    caller until the next rx_burst or rx_release on that backend; its data
 *    may be modified in place but not kept.
 *  - A buffer taken from a stk_pool belongs to whoever took it until it is
 *    put back. tx_burst never takes ownership: it copies (or queues a copy)
 *    and the caller returns the buffer to its pool afterwards.
 */
#ifndef STK_PKT_H
#define STK_PKT_H

#include <stdint.h>

#define STK_PKT_BUF_SIZE 2048u /* one frame up to a 1500 MTU plus headroom */

struct stk_pkt {
	uint8_t *data;   /* first byte of the Ethernet frame */
	uint32_t len;    /* frame length (no FCS) */
	uint32_t cap;    /* bytes writable at data */
	uint64_t ts_ns;  /* receive time, ns since the epoch (CLOCK_REALTIME, as the
			  * kernel or the capture stamped it), or 0 */
	uint32_t pool_idx; /* index in its pool, UINT32_MAX for ring frames */
	uint16_t port;   /* I/O port the frame came in on / goes out of */
	uint16_t vlan_tci; /* 802.1Q tag the NIC/kernel stripped (flags & STK_PKT_VLAN) */
	uint32_t flags;  /* STK_PKT_* */
};

/* The frame carried a VLAN tag that the driver moved out of band (AF_PACKET
 * reports it in the ring header): the frame is not untagged traffic. */
#define STK_PKT_VLAN 0x1u
/* The kernel has not computed this frame's L4 checksum yet
 * (TP_STATUS_CSUMNOTREADY: sent by a local process through an interface
 * that offloads it, e.g. a veth). Only locally generated frames carry it;
 * L4 checksum verification must be skipped for them. */
#define STK_PKT_CSUM_PARTIAL 0x2u

/* Fixed-size pool: one allocation for all buffers, a LIFO free stack (the
 * most recently freed buffer is still warm in cache). Not thread-safe: one
 * pool per worker. */
struct stk_pool {
	struct stk_pkt *pkts;
	uint8_t *mem;
	uint32_t *free_stack;
	uint32_t n_free;
	uint32_t size;
};

int stk_pool_init(struct stk_pool *pool, uint32_t n_bufs);
void stk_pool_destroy(struct stk_pool *pool);

/* NULL when exhausted (the caller counts the drop). The returned buffer's
 * len is 0 and cap is STK_PKT_BUF_SIZE. */
static inline struct stk_pkt *stk_pool_get(struct stk_pool *pool)
{
	if (!pool->n_free)
		return 0;
	struct stk_pkt *p = &pool->pkts[pool->free_stack[--pool->n_free]];
	p->len = 0;
	return p;
}

static inline void stk_pool_put(struct stk_pool *pool, struct stk_pkt *p)
{
	pool->free_stack[pool->n_free++] = p->pool_idx;
}

#endif
