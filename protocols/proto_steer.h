/* proto_steer: relay a decky port to a backend (see proto_steer.c).
 *
 * The engine keeps one pool of pairs (a pair = the attacker's connection
 * and the backend leg it opened) and one route per steered (decky, port),
 * passed as the listener's arg. A route may be freed once its port is
 * closed: pairs use it only in accept(). The pool must outlive
 * stk_tcp_destroy() (which calls closed() for every connection).
 */
#ifndef PROTO_STEER_H
#define PROTO_STEER_H

#include <stdint.h>

#include "stack/stk_tcp.h"

#define PROTO_STEER_EARLY 2048u /* attacker bytes held until the backend answers */

struct proto_steer_pair;

struct proto_steer_pool {
	struct proto_steer_pair *pairs;
	uint32_t cap, free_head, in_use;
	/* counters */
	uint64_t steered;        /* attacker connections given a backend leg */
	uint64_t connected;      /* backend legs that reached ESTABLISHED */
	uint64_t connect_failed; /* backend legs refused, unanswered or not opened */
	uint64_t pool_empty;     /* attacker connections reset: no pair free */
};

struct proto_steer_route {
	uint32_t decky_ip_raw;   /* wire order: the decky whose MAC/persona the leg wears */
	uint32_t backend_ip_raw; /* wire order */
	uint16_t backend_port;   /* host order */
	uint16_t port;           /* the decky's port (host order), for the engine's bookkeeping */
	struct proto_steer_pool *pool;
};

extern const struct stk_service proto_steer_service;

/* 0 or -ENOMEM. Control plane. */
int proto_steer_pool_init(struct proto_steer_pool *pool, uint32_t pairs);
void proto_steer_pool_destroy(struct proto_steer_pool *pool);

#endif
