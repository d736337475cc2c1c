#include "stack/stk_hosts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stk_hosts_init(struct stk_hosts *t, uint32_t max_hosts)
{
	memset(t, 0, sizeof(*t));
	uint32_t slots = 16;
	while (slots < 2 * (uint64_t)max_hosts)
		slots <<= 1;
	t->hosts = calloc(max_hosts ? max_hosts : 1, sizeof(*t->hosts));
	t->free_list = calloc(max_hosts ? max_hosts : 1, sizeof(*t->free_list));
	t->slots = calloc(slots, sizeof(*t->slots));
	if (!t->hosts || !t->free_list || !t->slots) {
		stk_hosts_destroy(t);
		return -ENOMEM;
	}
	t->max_hosts = max_hosts;
	t->slot_mask = slots - 1;
	for (uint32_t i = 0; i < max_hosts; i++)
		t->free_list[i] = max_hosts - 1 - i;
	t->n_free = max_hosts;
	return 0;
}

void stk_hosts_destroy(struct stk_hosts *t)
{
	free(t->hosts);
	free(t->free_list);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

int stk_hosts_add(struct stk_hosts *t, uint32_t ip_raw, const uint8_t mac[6],
		  const struct stk_host_policy *policy, void *owner)
{
	if (stk_hosts_lookup(t, ip_raw))
		return -EEXIST;
	if (!t->n_free)
		return -ENOSPC;
	uint32_t idx = t->free_list[--t->n_free];
	struct stk_host *h = &t->hosts[idx];
	memset(h, 0, sizeof(*h));
	h->ip_raw = ip_raw;
	memcpy(h->mac, mac, 6);
	h->policy = *policy;
	h->in_use = true;
	h->owner = owner;
	/* Start IP IDs somewhere unpredictable-looking but reproducible. */
	stk_host_gen_init(&h->gen, ip_raw);

	uint32_t i = stk_hosts_hash(ip_raw) & t->slot_mask;
	while (t->slots[i])
		i = (i + 1) & t->slot_mask;
	t->slots[i] = idx + 1;
	t->count++;
	t->epoch++;
	return (int)idx;
}

int stk_hosts_remove(struct stk_hosts *t, uint32_t ip_raw)
{
	uint32_t i = stk_hosts_hash(ip_raw) & t->slot_mask;
	for (;;) {
		uint32_t s = t->slots[i];
		if (!s)
			return -ENOENT;
		if (t->hosts[s - 1].ip_raw == ip_raw)
			break;
		i = (i + 1) & t->slot_mask;
	}
	uint32_t idx = t->slots[i] - 1;
	t->hosts[idx].in_use = false;
	t->free_list[t->n_free++] = idx;
	t->count--;
	t->epoch++;

	/* Backward-shift deletion: pull later entries of the probe run into the
	 * hole when their home slot allows it, so lookups never need markers. */
	uint32_t hole = i;
	uint32_t j = i;
	t->slots[hole] = 0;
	for (;;) {
		j = (j + 1) & t->slot_mask;
		uint32_t s = t->slots[j];
		if (!s)
			return 0;
		uint32_t home = stk_hosts_hash(t->hosts[s - 1].ip_raw) & t->slot_mask;
		/* Entry at j may move to hole iff home is not cyclically in (hole, j]. */
		bool home_in_range = (hole <= j) ? (home > hole && home <= j)
						 : (home > hole || home <= j);
		if (!home_in_range) {
			t->slots[hole] = s;
			t->slots[j] = 0;
			hole = j;
		}
	}
}
