/* A one-decky TCP/UDP lab for unit tests: a stack context with the TCP
 * layer, a scripted peer that crafts segments, a parser for what the decky
 * sends back, and a recording service. Time is the lab's, advanced by hand.
 */
#ifndef TCP_LAB_H
#define TCP_LAB_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/stk.h"
#include "stack/stk_proto.h"
#include "stack/stk_tcp.h"
#include "stack/stk_tcp_int.h"
#include "stack/stk_wire.h"

#define TL_DECKY_IP "10.77.0.10"
#define TL_PEER_IP "10.77.0.2"
#define TL_MAX_TX 256

/* What the recording service saw; one per lab. */
struct tl_rec {
	int accepts, peer_closed, closed, writable;
	enum stk_close_reason why;
	struct stk_tcp_sock *sock;
	uint8_t data[1 << 16];
	unsigned n_data;
	unsigned consume_max;  /* recv() takes at most this much per call (0: all) */
	bool limit;            /* recv() takes at most take_left bytes in all ... */
	unsigned take_left;    /* ... and recv_space() says so */
	int accept_rc;
	bool close_on_peer_close;
	bool echo;             /* send back what arrives */
	unsigned datagrams;
};

struct tl {
	struct stk_hosts hosts;
	struct stk_pool pool;
	struct stk_ctx ctx;
	struct stk_host *h;
	uint8_t frame[2048];
	struct stk_pkt pkt;
	struct stk_pkt *tx[TL_MAX_TX];
	unsigned n_tx;
	struct tl_rec rec;
	bool lax_ip_len;       /* tl_parse accepts an IP length field that lies */
};

/* A parsed answer. */
struct tl_out {
	uint8_t proto;
	uint8_t ttl, tos;
	bool df;
	uint16_t ip_id, ip_len;
	/* TCP */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win, urp;
	uint8_t opts[40];
	unsigned optlen;
	const uint8_t *data;
	unsigned len;
	/* ICMP / UDP */
	uint8_t icmp_type, icmp_code;
	const uint8_t *l4;
	unsigned l4_len;
};

extern const struct stk_service tl_service;

/* policy NULL: the linux family; cfg NULL: defaults with a fixed secret
 * and 64 flows. Listens on TCP 80 and UDP 7 with tl_service. */
void tl_init(struct tl *l, const struct stk_tcp_policy *policy, const struct stk_tcp_cfg *cfg);
/* Tears down and checks that no pool buffer or send chunk leaked. */
void tl_free(struct tl *l);

/* Set the clock (ms since the lab's epoch) and run the timers. Returns
 * frames sent. */
unsigned tl_at(struct tl *l, uint64_t ms);
unsigned tl_advance(struct tl *l, uint64_t ms);

/* A segment from the peer (TL_PEER_IP:sport -> decky:dport). */
struct tl_seg {
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	const uint8_t *opts;
	unsigned optlen;
	const void *data;
	unsigned len;
};
/* Builds, runs one input burst, returns the number of answers (in l->tx). */
unsigned tl_send(struct tl *l, const struct tl_seg *s);
unsigned tl_udp(struct tl *l, uint16_t sport, uint16_t dport, const void *data, unsigned len);
unsigned tl_raw(struct tl *l, unsigned len); /* l->frame as built by the caller */
unsigned tl_frame_tcp(struct tl *l, const struct tl_seg *s); /* build only; returns length */

/* Parse answer i, checking every checksum (CHECKs on failure). */
bool tl_parse(struct tl *l, unsigned i, struct tl_out *o);

/* nmap's option string for a SYN-ACK: "M5B4ST11NW7". */
void tl_nmap_opts(const struct tl_out *o, char *buf, unsigned len);
/* Offset in o->opts of the first option of this kind (its kind byte), or
 * -1: the walk stops at EOL and at a malformed length. */
int tl_opt_at(const struct tl_out *o, uint8_t kind);

/* The flow for peer port sport (NULL when none: also while the connection
 * is half-open in the SYN cache). */
struct stk_tcp_flow *tl_flow(struct tl *l, uint16_t sport, uint16_t dport);
/* The SYN-cache entry for peer port sport (NULL when none). */
const struct stk_syn_ent *tl_syn_ent(struct tl *l, uint16_t sport, uint16_t dport);
/* The connection's state: its flow's, SYN-RECEIVED for a SYN-cache entry,
 * STK_TCP_FREE when there is none. */
uint8_t tl_state(struct tl *l, uint16_t sport, uint16_t dport);
/* Half-open connections, flows and SYN-cache entries together. */
uint32_t tl_half_open(struct tl *l);

/* Open a connection from sport to dport: SYN, check SYN-ACK, ACK. Returns
 * the decky's ISS via *iss; peer ISN is peer_isn. opts: the SYN's options
 * (NULL: MSS 1460, SACK, TS, WS 7 like Linux). */
bool tl_connect(struct tl *l, uint16_t sport, uint16_t dport, uint32_t peer_isn, uint32_t *iss);

#endif
