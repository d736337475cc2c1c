#include "stack/stk_event.h"

#include <errno.h>
#include <stdlib.h>

int stk_event_ring_init(struct stk_event_ring *r, uint32_t size)
{
	uint32_t n = 2;
	while (n < size)
		n <<= 1;
	memset(r, 0, sizeof(*r));
	r->ev = calloc(n, sizeof(*r->ev));
	if (!r->ev)
		return -ENOMEM;
	r->mask = n - 1;
	return 0;
}

void stk_event_ring_destroy(struct stk_event_ring *r)
{
	free(r->ev);
	memset(r, 0, sizeof(*r));
}

const char *stk_event_kind_name(unsigned kind)
{
	static const char *const names[STK_EV_KIND_MAX] = {
		[STK_EV_ARP_REQUEST] = "arp_request",
		[STK_EV_ICMP_ECHO] = "icmp_echo",
		[STK_EV_TCP_SYN] = "tcp_syn",
		[STK_EV_TCP_CLOSED_PORT] = "tcp_closed_port",
		[STK_EV_UDP] = "udp",
	};
	return kind < STK_EV_KIND_MAX && names[kind] ? names[kind] : "unknown";
}
