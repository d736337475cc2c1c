/* proto: in-engine service responders, built on the stack's service API
 * (stack/stk_tcp.h: accept / recv / peer_closed / closed callbacks,
 * stk_tcp_send with back-pressure, stk_udp_reply).
 *
 * Which responder answers a decky's port is data: proto_service_for()
 * looks the fleet service slug (and port) up in one table. For now:
 *
 *   http on TCP 80     proto_http: reads one request, answers a fixed
 *                      page ("It works!", Apache's default), closes
 *   echo (a [custom-echo] service, any port, TCP and UDP)
 *                      proto_echo: RFC 862, every byte back
 *   everything else    proto_silent: accepts, reads and discards, never
 *                      speaks first, closes when the peer does. A port
 *                      that accepts and waits is what most real services
 *                      look like to a scanner that sends nothing, and,
 *                      unlike echo, it invents no behaviour the real
 *                      service lacks; the banners of the 25 services come
 *                      with their own responders.
 *
 * The services are const tables of callbacks with no global state; what a
 * connection needs lives in the socket's scratch word.
 */
#ifndef PROTO_H
#define PROTO_H

#include <stdint.h>

#include "stack/stk_tcp.h"

extern const struct stk_service proto_echo_service;
extern const struct stk_service proto_http_service;
extern const struct stk_service proto_silent_service;

/* The responder for port/proto (STK_IPPROTO_TCP/UDP) of the fleet service
 * slug; never NULL (proto_silent_service when nothing specific exists). */
const struct stk_service *proto_service_for(const char *slug, uint8_t proto, uint16_t port);

#endif
