/* The port table: (decky address, protocol, port) -> service, for TCP
 * and UDP alike.
 *
 * One table for all deckies rather than one per decky: 100 000 deckies
 * with a handful of ports each is a few hundred thousand entries, and an
 * open-addressed table keeps a lookup to one or two cache lines. It grows
 * (control plane only: stk_listen may allocate); deletion shifts back like
 * the host table, so churn leaves no tombstones.
 */
#include "stack/stk_tcp_int.h"

#include <errno.h>
#include <stdlib.h>

#define listen_hash stk_listen_hash

static struct stk_listener *slot_for(struct stk_listener *tab, uint32_t mask, uint32_t ip_raw,
				     uint8_t proto, uint16_t port)
{
	uint32_t i = listen_hash(ip_raw, proto, port) & mask;
	while (tab[i].proto && !(tab[i].ip_raw == ip_raw && tab[i].proto == proto && tab[i].port == port))
		i = (i + 1) & mask;
	return &tab[i];
}


static int grow(struct stk_tcp *t)
{
	uint32_t n = t->listen ? (t->listen_mask + 1) * 2 : 64;
	while (n < t->cfg.listeners)
		n <<= 1;
	struct stk_listener *tab = calloc(n, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (uint32_t i = 0; t->listen && i <= t->listen_mask; i++) {
		const struct stk_listener *o = &t->listen[i];
		if (o->proto)
			*slot_for(tab, n - 1, o->ip_raw, o->proto, o->port) = *o;
	}
	free(t->listen);
	t->listen = tab;
	t->listen_mask = n - 1;
	t->listen_last = NULL;
	return 0;
}

int stk_listen(struct stk_ctx *ctx, uint32_t ip_raw, uint8_t proto, uint16_t port,
	       const struct stk_service *svc, void *arg)
{
	struct stk_tcp *t = ctx->tcp;
	if (!t || !port || !svc || (proto != STK_IPPROTO_TCP && proto != STK_IPPROTO_UDP))
		return -EINVAL;
	if (stk_listen_find(t, ip_raw, proto, port))
		return -EEXIST;
	/* At most half full: probe runs stay short. */
	if (!t->listen || 2 * (t->n_listen + 1) > t->listen_mask + 1) {
		int rc = grow(t);
		if (rc)
			return rc;
	}
	struct stk_listener *l = slot_for(t->listen, t->listen_mask, ip_raw, proto, port);
	l->ip_raw = ip_raw;
	l->proto = proto;
	l->port = port;
	l->svc = svc;
	l->arg = arg;
	t->n_listen++;
	return 0;
}

int stk_unlisten(struct stk_ctx *ctx, uint32_t ip_raw, uint8_t proto, uint16_t port)
{
	struct stk_tcp *t = ctx->tcp;
	if (!t || !t->listen)
		return -ENOENT;
	struct stk_listener *l = slot_for(t->listen, t->listen_mask, ip_raw, proto, port);
	if (!l->proto)
		return -ENOENT;
	uint32_t mask = t->listen_mask;
	uint32_t hole = (uint32_t)(l - t->listen), j = hole;
	t->listen_last = NULL; /* slots move below */
	t->listen[hole].proto = 0;
	t->n_listen--;
	/* Backward-shift deletion (see stk_hosts.c). */
	for (;;) {
		j = (j + 1) & mask;
		struct stk_listener *e = &t->listen[j];
		if (!e->proto)
			return 0;
		uint32_t home = listen_hash(e->ip_raw, e->proto, e->port) & mask;
		bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!in_range) {
			t->listen[hole] = *e;
			e->proto = 0;
			hole = j;
		}
	}
}

void stk_listen_destroy(struct stk_tcp *t)
{
	free(t->listen);
	t->listen = NULL;
	t->listen_last = NULL;
	t->listen_mask = 0;
	t->n_listen = 0;
}
