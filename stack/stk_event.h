/* stk_event: what the stack observed, one fixed-size record per attacker
 * touch (ARP request for a decky, ICMP echo, and with the TCP/UDP stack:
 * connections, closed-port probes...), written on the fast path into a
 * single-producer/single-consumer ring and turned into structured records
 * (ECS field names) by the engine outside the per-packet path.
 *
 * The fast path only copies ~64 bytes; a full ring drops the event and
 * counts it (stk_event_ring.dropped), never blocks.
 */
#ifndef STK_EVENT_H
#define STK_EVENT_H

#include <stdint.h>
#include <string.h>

enum stk_event_kind {
	STK_EV_ARP_REQUEST = 1, /* someone asked who has a decky's address */
	STK_EV_ICMP_ECHO,       /* ping to a decky */
	STK_EV_TCP_SYN,         /* connection attempt (TCP stack) */
	STK_EV_TCP_CLOSED_PORT, /* probe of a closed TCP port */
	STK_EV_UDP,             /* datagram to a decky */
	STK_EV_KIND_MAX
};

struct stk_event {
	uint64_t ts_ns;        /* receive time, ns since the epoch (0: unknown) */
	uint32_t src_ip_raw;   /* wire order */
	uint32_t dst_ip_raw;
	uint16_t sport, dport; /* host order; 0 for ARP/ICMP */
	uint16_t kind;         /* enum stk_event_kind */
	uint8_t proto;         /* IP protocol, 0 for ARP */
	uint8_t ttl;           /* the packet's TTL (hop distance, OS hints) */
	uint8_t src_mac[6];
	uint16_t len;          /* bytes of the packet at L3 */
	uint32_t host_idx;     /* decky's host entry */
	uint32_t aux;          /* kind-specific: ICMP id<<16|seq, TCP flags ... */
};

struct stk_event_ring {
	struct stk_event *ev;
	uint32_t mask;       /* size - 1, size a power of two */
	uint32_t head;       /* next write (producer) */
	uint32_t tail;       /* next read (consumer) */
	uint64_t dropped;    /* events lost to a full ring */
	uint64_t written;
};

/* size is rounded up to a power of two. 0 or -ENOMEM. */
int stk_event_ring_init(struct stk_event_ring *r, uint32_t size);
void stk_event_ring_destroy(struct stk_event_ring *r);

/* Producer side. Returns the slot to fill, or NULL when full (counted). */
static inline struct stk_event *stk_event_claim(struct stk_event_ring *r)
{
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (r->head - tail > r->mask) {
		r->dropped++;
		return 0;
	}
	return &r->ev[r->head & r->mask];
}

static inline void stk_event_commit(struct stk_event_ring *r)
{
	r->written++;
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
}

/* Consumer side: up to max events copied out; returns how many. */
static inline unsigned stk_event_drain(struct stk_event_ring *r, struct stk_event *out, unsigned max)
{
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	unsigned n = 0;
	while (r->tail + n != head && n < max) {
		out[n] = r->ev[(r->tail + n) & r->mask];
		n++;
	}
	__atomic_store_n(&r->tail, r->tail + n, __ATOMIC_RELEASE);
	return n;
}

const char *stk_event_kind_name(unsigned kind);

#endif
