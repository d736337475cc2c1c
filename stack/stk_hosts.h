/* stk_hosts: the set of addresses the stack answers for (one per decky),
 * IPv4 -> host in O(1).
 *
 * Why here and not in engine/: the stack consults it for every frame, so it
 * belongs to the layer that reads the frames; the engine's decky records
 * (name, services, config) point at their host by index.
 *
 * Open addressing with linear probing over a power-of-two slot array at
 * most half full, keyed by the address as it sits on the wire (no byte
 * swapping on the fast path); deletion shifts back so no tombstones pile
 * up under churn. Hosts themselves live in a dense array with a free list,
 * so their index is stable for the host's lifetime.
 */
#ifndef STK_HOSTS_H
#define STK_HOSTS_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/stk_tcp_policy.h"

/* Per-host answers that the OS persona will later supply; until then the
 * family defaults fill them. */
struct stk_host_policy {
	uint8_t ttl;              /* initial TTL of every packet the host sends */
	bool icmp_echo_copy_code; /* echo reply keeps the request's code (nmap IE CD=S) or sends 0 */
	bool icmp_echo_df;        /* DF on echo replies */
	uint8_t icmp_ttl;         /* TTL of ICMP answers (echo, errors) when it differs
				   * from ttl (routers answering from another
				   * plane: nmap U1/IE T); 0 = ttl */
	const struct stk_tcp_policy *tcp; /* TCP/UDP/IP-ID persona (shared, const);
					   * NULL = the linux family default */
	uint8_t frag_overlap;     /* enum stk_frag_overlap (stk_frag.h): what the
				   * OS does with overlapping IPv4 fragments;
				   * 0 = drop the datagram (Linux >= 4.19) */
};

struct stk_host {
	uint32_t ip_raw;          /* network byte order, as on the wire */
	uint8_t mac[6];
	bool in_use;
	struct stk_host_policy policy;
	struct stk_host_gen gen;  /* IP-ID counters, ISN/TS bases, rate buckets */
	void *owner;              /* the engine's decky record */
};

struct stk_hosts {
	struct stk_host *hosts;   /* dense array, capacity max_hosts */
	uint32_t *free_list;
	uint32_t n_free;
	uint32_t max_hosts;
	uint32_t count;
	uint32_t *slots;          /* 0 = empty, else host index + 1 */
	uint32_t slot_mask;
	uint32_t epoch;           /* moves on every add and remove (caches of
				   * per-policy and per-host data check it:
				   * SYN-ACK templates and the SYN-ACK frame
				   * image, stk_tcp_synack.c). A host's MAC,
				   * TTL and policy are never changed in place;
				   * code that starts doing so must move the
				   * epoch too, or those caches go stale. */
};

/* max_hosts: hard cap (e.g. 100000). 0 or -ENOMEM. */
int stk_hosts_init(struct stk_hosts *t, uint32_t max_hosts);
void stk_hosts_destroy(struct stk_hosts *t);

/* Adds a host; returns its index (>= 0), -EEXIST if the IP is taken, or
 * -ENOSPC at the cap. */
int stk_hosts_add(struct stk_hosts *t, uint32_t ip_raw, const uint8_t mac[6],
		  const struct stk_host_policy *policy, void *owner);
/* 0 or -ENOENT. */
int stk_hosts_remove(struct stk_hosts *t, uint32_t ip_raw);

static inline uint32_t stk_hosts_hash(uint32_t ip_raw)
{
	/* Multiplicative hashing, keeping the high half of the 64-bit product:
	 * its bits depend on every input bit. (The low bits of a product only
	 * see the low input bits, and in a wire-order load the varying last
	 * octet of a decky range is the high byte.) */
	return (uint32_t)(((uint64_t)ip_raw * 0x9e3779b97f4a7c15ull) >> 32);
}

static inline struct stk_host *stk_hosts_lookup(const struct stk_hosts *t, uint32_t ip_raw)
{
	uint32_t i = stk_hosts_hash(ip_raw) & t->slot_mask;
	for (;;) {
		uint32_t s = t->slots[i];
		if (!s)
			return 0;
		struct stk_host *h = &t->hosts[s - 1];
		if (h->ip_raw == ip_raw)
			return h;
		i = (i + 1) & t->slot_mask;
	}
}

#endif
