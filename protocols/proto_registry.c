/* Which in-engine responder answers which service port: one table, first
 * match wins, proto_silent_service when nothing matches. */
#include <string.h>

#include "protocols/proto.h"

struct proto_route {
	const char *slug;    /* fleet service slug (built-in or [custom-NAME]) */
	uint8_t proto;       /* STK_IPPROTO_TCP/UDP, 0 = both */
	uint16_t port;       /* 0 = any of the service's ports */
	const struct stk_service *svc;
};

static const struct proto_route routes[] = {
	{"http", STK_IPPROTO_TCP, 80, &proto_http_service},
	/* 443 stays silent until TLS: plain HTTP there would be a tell. */
	{"echo", 0, 0, &proto_echo_service},
};

const struct stk_service *proto_service_for(const char *slug, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct proto_route *r = &routes[i];
		if (strcmp(r->slug, slug) == 0 && (!r->proto || r->proto == proto) &&
		    (!r->port || r->port == port))
			return r->svc;
	}
	return &proto_silent_service;
}
