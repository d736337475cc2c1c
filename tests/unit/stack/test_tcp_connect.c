/* Unit tests for active open (stk_tcp_connect, stack/stk_tcp_connect.c):
 * ARP resolution of the backend, SYN-SENT -> ESTABLISHED with the
 * attacker's address as source, RST and bad ACKs in SYN-SENT, SYN
 * retransmission with backoff and the give-up, the input demultiplexer
 * finding a steering leg's answers (and nothing else), and data both ways
 * on the established leg. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "tests/unit/stack/tcp_lab.h"
#include "tests/unit/tap.h"

#define ATT_IP "10.77.0.2"     /* the attacker: the leg's local address */
#define BK_IP "10.78.0.10"     /* the backend */
#define ATT_PORT 40001
#define BK_PORT 8080
#define BK_ISN 7000000u

static const uint8_t BK_MAC[6] = {0x02, 0x00, 0x00, 0x78, 0x00, 0x10};

static uint32_t ip_raw(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* A segment from the backend to the attacker's address (dst MAC: the
 * decky's, as the backend's route through the decky makes it). */
static unsigned bk_send(struct tl *l, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
			const uint8_t *opts, unsigned optlen, const void *data, unsigned len,
			const uint8_t *dst_mac)
{
	uint8_t *f = l->frame;
	unsigned tlen = 20 + optlen + len;
	memcpy(f, dst_mac ? dst_mac : l->h->mac, 6);
	memcpy(f + 6, BK_MAC, 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_IPV4);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	stk_put_be16(ip + 2, (uint16_t)(20 + tlen));
	ip[8] = 64;
	ip[9] = STK_IPPROTO_TCP;
	uint32_t s = ip_raw(BK_IP), d = ip_raw(ATT_IP);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	uint8_t *t = ip + 20;
	stk_put_be16(t, BK_PORT);
	stk_put_be16(t + 2, ATT_PORT);
	stk_put_be32(t + 4, seq);
	stk_put_be32(t + 8, ack);
	t[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	t[13] = flags;
	stk_put_be16(t + 14, win);
	stk_put_be16(t + 16, 0);
	stk_put_be16(t + 18, 0);
	if (optlen)
		memcpy(t + 20, opts, optlen);
	if (len)
		memcpy(t + 20 + optlen, data, len);
	uint32_t sum = stk_l4_pseudo(s, d, STK_IPPROTO_TCP, tlen);
	stk_put_be16(t + 16, stk_csum_fold(stk_csum_add(sum, t, tlen)));
	return tl_raw(l, 14 + 20 + tlen);
}

/* An ARP reply from ip_raw/mac to the decky. */
static unsigned arp_reply_from(struct tl *l, uint32_t ip, const uint8_t *mac)
{
	uint8_t *f = l->frame;
	memcpy(f, l->h->mac, 6);
	memcpy(f + 6, mac, 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_ARP);
	uint8_t *a = f + 14;
	stk_put_be16(a, 1);
	stk_put_be16(a + 2, STK_ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	stk_put_be16(a + 6, STK_ARP_OP_REPLY);
	memcpy(a + 8, mac, 6);
	memcpy(a + 14, &ip, 4);
	memcpy(a + 18, l->h->mac, 6);
	memcpy(a + 24, &l->h->ip_raw, 4);
	return tl_raw(l, 14 + 28);
}

static unsigned bk_arp_reply(struct tl *l)
{
	return arp_reply_from(l, ip_raw(BK_IP), BK_MAC);
}

/* Answer i as a segment of the leg: addresses, MACs and checksums checked. */
struct seg_out {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	unsigned optlen, len;
	uint8_t opts[40];
	const uint8_t *data;
};

static bool leg_parse(struct tl *l, unsigned i, struct seg_out *o)
{
	memset(o, 0, sizeof(*o));
	if (i >= l->n_tx)
		return false;
	const uint8_t *f = l->tx[i]->data, *ip = f + 14, *t = ip + 20;
	uint32_t s = ip_raw(ATT_IP), d = ip_raw(BK_IP);
	bool ok = stk_be16(f + 12) == STK_ETHERTYPE_IPV4 && memcmp(f, BK_MAC, 6) == 0 &&
		  memcmp(f + 6, l->h->mac, 6) == 0 && ip[9] == STK_IPPROTO_TCP && stk_csum(ip, 20) == 0 &&
		  memcmp(ip + 12, &s, 4) == 0 && memcmp(ip + 16, &d, 4) == 0 && stk_be16(t) == ATT_PORT &&
		  stk_be16(t + 2) == BK_PORT;
	unsigned tlen = stk_be16(ip + 2) - 20u;
	ok = ok && stk_csum_fold(stk_csum_add(stk_l4_pseudo(s, d, STK_IPPROTO_TCP, tlen), t, tlen)) == 0;
	CHECK(ok);
	if (!ok)
		return false;
	o->seq = stk_be32(t + 4);
	o->ack = stk_be32(t + 8);
	o->flags = t[13];
	o->win = stk_be16(t + 14);
	unsigned doff = (t[12] >> 4) * 4u;
	o->optlen = doff - 20;
	memcpy(o->opts, t + 20, o->optlen);
	o->data = t + doff;
	o->len = tlen - doff;
	return true;
}

static struct stk_tcp_sock *leg_open(struct tl *l, bool mac_known)
{
	if (mac_known)
		CHECK_EQ(stk_tcp_neigh_set(&l->ctx, ip_raw(BK_IP), BK_MAC), 0);
	struct stk_tcp_sock *s = NULL;
	CHECK_EQ(stk_tcp_connect(&l->ctx, l->h->ip_raw, ip_raw(ATT_IP), ATT_PORT, ip_raw(BK_IP), BK_PORT,
				 &tl_service, &l->rec, &s),
		 0);
	*stk_tcp_sock_app(s) = &l->rec; /* closed() may come before accept() */
	return s;
}

static struct stk_tcp_flow *leg_flow(struct tl *l)
{
	return stk_flow_lookup(l->ctx.tcp, ip_raw(ATT_IP), ip_raw(BK_IP), ATT_PORT, BK_PORT);
}

/* MSS 1460, SACK-permitted, TS, NOP, WS 7: a Linux SYN-ACK's options. */
static const uint8_t synack_opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 7};

static void test_arp_then_syn(void)
{
	struct tl l;
	tl_init(&l, NULL, NULL);
	leg_open(&l, false);
	CHECK_EQ(l.ctx.cnt.tcp_active_opens, 1);
	/* Outside a burst: the first advance asks who the backend is. */
	CHECK_EQ(tl_advance(&l, 1), 1);
	const uint8_t *f = l.tx[0]->data;
	uint32_t tip = ip_raw(BK_IP);
	CHECK(stk_be16(f + 12) == STK_ETHERTYPE_ARP && f[0] == 0xff && stk_be16(f + 20) == STK_ARP_OP_REQUEST &&
	      memcmp(f + 28, &l.h->ip_raw, 4) == 0 && memcmp(f + 38, &tip, 4) == 0);
	CHECK_EQ(l.ctx.cnt.tcp_neigh_arp_sent, 1);
	/* Segments on the leg's 4-tuple before the SYN has left (an old
	 * connection's, or a guessed SYN-ACK) get no answer: there is no MAC
	 * to send it to (it went to 00:00:00:00:00:00). */
	uint32_t iss = leg_flow(&l)->iss;
	CHECK_EQ(bk_send(&l, STK_TH_ACK, BK_ISN, 12345, 65160, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(bk_send(&l, STK_TH_SYN | STK_TH_ACK, BK_ISN, iss + 1, 65160, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(l.ctx.cnt.drop_tcp_leg_unresolved, 2);
	CHECK_EQ(leg_flow(&l)->state, STK_TCP_SYN_SENT);
	/* No answer: asked again after the short retry. */
	CHECK_EQ(tl_advance(&l, 60), 1);
	CHECK_EQ(stk_be16(l.tx[0]->data + 12), STK_ETHERTYPE_ARP);
	/* The reply is learnt; the next retry sends the SYN instead. */
	CHECK_EQ(bk_arp_reply(&l), 0);
	CHECK_EQ(tl_advance(&l, 60), 1);
	struct seg_out o;
	CHECK(leg_parse(&l, 0, &o));
	CHECK_EQ(o.flags, STK_TH_SYN);
	CHECK(o.optlen == 20 && o.opts[0] == 2 && o.opts[4] == 4 && o.opts[6] == 8 && o.opts[17] == 3);
	CHECK_EQ(leg_flow(&l)->state, STK_TCP_SYN_SENT);
	/* An ARP reply from a station nobody asked about creates nothing. */
	struct stk_tcp *t = l.ctx.tcp;
	unsigned used = 0;
	for (unsigned i = 0; i <= t->neigh_mask; i++)
		used += t->neigh[i].state != 0;
	CHECK_EQ(used, 1);
	CHECK_EQ(t->n_neigh, 1);
	tl_free(&l);
}

static void test_established(void)
{
	struct tl l;
	tl_init(&l, NULL, NULL);
	leg_open(&l, true);
	CHECK_EQ(tl_advance(&l, 1), 1);
	struct seg_out o;
	CHECK(leg_parse(&l, 0, &o));
	CHECK_EQ(o.flags, STK_TH_SYN);
	uint32_t iss = o.seq;
	/* SYN-ACK: the ACK of the handshake, ESTABLISHED, accept() called. */
	CHECK_EQ(bk_send(&l, STK_TH_SYN | STK_TH_ACK, BK_ISN, iss + 1, 65160, synack_opts, 20, NULL, 0, NULL),
		 1);
	CHECK(leg_parse(&l, 0, &o));
	CHECK_EQ(o.flags, STK_TH_ACK);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.ack, BK_ISN + 1);
	CHECK_EQ(o.optlen, 12); /* timestamps negotiated */
	struct stk_tcp_flow *f = leg_flow(&l);
	CHECK(f && f->state == STK_TCP_ESTABLISHED && f->snd_ws == 7 && f->mss == 1448);
	CHECK_EQ(l.rec.accepts, 1);
	CHECK_EQ(l.ctx.cnt.tcp_active_established, 1);
	/* Data out with the attacker's address; data in reaches the service. */
	CHECK_EQ(stk_tcp_send(&l.ctx, l.rec.sock, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	CHECK_EQ(tl_advance(&l, 0), 1);
	CHECK(leg_parse(&l, 0, &o));
	CHECK(o.len == 18 && memcmp(o.data, "GET", 3) == 0 && o.seq == iss + 1);
	uint8_t ts[12] = {1, 1, 8, 10, 0, 0, 0, 10, 0, 0, 0, 0};
	CHECK_EQ(bk_send(&l, STK_TH_ACK | STK_TH_PSH, BK_ISN + 1, iss + 19, 502, ts, 12, "HTTP/1.0 200 OK\r\n", 17,
			 NULL),
		 1);
	CHECK(leg_parse(&l, 0, &o));
	CHECK_EQ(o.ack, BK_ISN + 18);
	CHECK(l.rec.n_data == 17 && memcmp(l.rec.data, "HTTP/1.0", 8) == 0);
	/* A frame to the attacker's address with the wrong MAC, or for another
	 * port, is not taken. */
	uint64_t ign = l.ctx.cnt.ignored_not_decky, bad = l.ctx.cnt.drop_eth_dst;
	static const uint8_t other_mac[6] = {0x02, 9, 9, 9, 9, 9};
	CHECK_EQ(bk_send(&l, STK_TH_ACK, BK_ISN + 18, iss + 19, 502, NULL, 0, NULL, 0, other_mac), 0);
	CHECK_EQ(l.ctx.cnt.drop_eth_dst, bad + 1);
	l.frame[14 + 20 + 2] ^= 1; /* the destination port (checksum aside: never looked at) */
	CHECK_EQ(tl_raw(&l, 14 + 20 + 20), 0);
	CHECK_EQ(l.ctx.cnt.ignored_not_decky, ign + 1);
	/* Close: FIN out, the backend's FIN+ACK, TIME-WAIT. */
	stk_tcp_close(&l.ctx, l.rec.sock);
	CHECK_EQ(tl_advance(&l, 0), 1);
	CHECK(leg_parse(&l, 0, &o));
	CHECK(o.flags & STK_TH_FIN);
	CHECK_EQ(bk_send(&l, STK_TH_FIN | STK_TH_ACK, BK_ISN + 18, iss + 20, 502, ts, 12, NULL, 0, NULL), 1);
	CHECK_EQ(leg_flow(&l)->state, STK_TCP_TIME_WAIT);
	tl_free(&l);
}

static void test_rst_in_syn_sent(void)
{
	struct tl l;
	tl_init(&l, NULL, NULL);
	leg_open(&l, true);
	CHECK_EQ(tl_advance(&l, 1), 1);
	struct seg_out o;
	CHECK(leg_parse(&l, 0, &o));
	uint32_t iss = o.seq;
	/* RST without ACK: ignored (RFC 9293 3.10.7.3: no acceptable ACK). */
	CHECK_EQ(bk_send(&l, STK_TH_RST, 0, 0, 0, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(leg_flow(&l)->state, STK_TCP_SYN_SENT);
	/* An ACK for something never sent: RST with seq = that ACK, stays. */
	CHECK_EQ(bk_send(&l, STK_TH_SYN | STK_TH_ACK, BK_ISN, iss + 5, 65160, NULL, 0, NULL, 0, NULL), 1);
	CHECK(leg_parse(&l, 0, &o));
	CHECK(o.flags == STK_TH_RST && o.seq == iss + 5);
	CHECK_EQ(leg_flow(&l)->state, STK_TCP_SYN_SENT);
	/* RST with the right ACK: refused, closed(RESET), gone. */
	CHECK_EQ(bk_send(&l, STK_TH_RST | STK_TH_ACK, 0, iss + 1, 0, NULL, 0, NULL, 0, NULL), 0);
	CHECK(leg_flow(&l) == NULL);
	CHECK_EQ(l.rec.closed, 1);
	CHECK_EQ(l.rec.why, STK_CLOSE_RESET);
	CHECK_EQ(l.rec.accepts, 0);
	CHECK_EQ(l.ctx.cnt.tcp_active_failed, 1);
	CHECK_EQ(l.ctx.tcp->n_active, 0);
	/* The leg is gone: its address is nobody's again. */
	uint64_t ign = l.ctx.cnt.ignored_not_decky;
	CHECK_EQ(bk_send(&l, STK_TH_SYN | STK_TH_ACK, BK_ISN, iss + 1, 65160, NULL, 0, NULL, 0, NULL), 0);
	CHECK_EQ(l.ctx.cnt.ignored_not_decky, ign + 1);
	tl_free(&l);
}

static void test_syn_retransmit(void)
{
	struct tl l;
	tl_init(&l, NULL, NULL); /* Linux family: RTO 1 s, 5 retries */
	leg_open(&l, true);
	CHECK_EQ(tl_advance(&l, 1), 1);
	struct seg_out o;
	CHECK(leg_parse(&l, 0, &o));
	uint32_t iss = o.seq;
	/* 1, 2, 4, 8, 16 s later: the same SYN again. */
	uint32_t gap = 1000;
	for (unsigned i = 0; i < 5; i++) {
		CHECK_EQ(tl_advance(&l, gap - 10), 0);
		CHECK_EQ(tl_advance(&l, 20), 1);
		CHECK(leg_parse(&l, 0, &o) && o.flags == STK_TH_SYN && o.seq == iss);
		gap *= 2;
	}
	CHECK_EQ(l.ctx.cnt.tcp_retransmits, 5);
	CHECK_EQ(l.rec.closed, 0);
	/* After the fifth retransmission's timeout: given up. */
	CHECK_EQ(tl_advance(&l, gap + 10), 0);
	CHECK(leg_flow(&l) == NULL);
	CHECK_EQ(l.rec.closed, 1);
	CHECK_EQ(l.rec.why, STK_CLOSE_TIMEOUT);
	CHECK_EQ(l.ctx.cnt.tcp_active_failed, 1);
	tl_free(&l);
}

static void test_connect_errors(void)
{
	struct tl l;
	tl_init(&l, NULL, NULL);
	struct stk_tcp_sock *s;
	CHECK_EQ(stk_tcp_connect(&l.ctx, ip_raw("10.77.0.99"), ip_raw(ATT_IP), ATT_PORT, ip_raw(BK_IP), BK_PORT,
				 &tl_service, &l.rec, &s),
		 -EHOSTUNREACH);
	CHECK_EQ(stk_tcp_connect(&l.ctx, l.h->ip_raw, ip_raw(ATT_IP), 0, ip_raw(BK_IP), BK_PORT, &tl_service,
				 &l.rec, &s),
		 -EINVAL);
	leg_open(&l, true);
	CHECK_EQ(stk_tcp_connect(&l.ctx, l.h->ip_raw, ip_raw(ATT_IP), ATT_PORT, ip_raw(BK_IP), BK_PORT,
				 &tl_service, &l.rec, &s),
		 -EEXIST);
	tl_free(&l); /* destroy closes the half-open leg */
	CHECK_EQ(l.rec.closed, 1);
	CHECK_EQ(l.rec.why, STK_CLOSE_SHUTDOWN);
}

static void test_abort_in_syn_sent(void)
{
	struct tl l;
	tl_init(&l, NULL, NULL);
	struct stk_tcp_sock *s = leg_open(&l, true);
	CHECK_EQ(tl_advance(&l, 1), 1); /* the SYN */
	stk_tcp_abort(&l.ctx, s);
	CHECK_EQ(tl_advance(&l, 0), 0); /* deleted, no RST (RFC 9293 3.10.4) */
	CHECK(leg_flow(&l) == NULL);
	CHECK_EQ(l.rec.closed, 1);
	CHECK_EQ(l.rec.why, STK_CLOSE_ABORT);
	CHECK_EQ(l.ctx.tcp->n_active, 0);
	tl_free(&l);
}

/* More backends than the neighbour table holds (it held 16, then every
 * connect to a seventeenth failed with -ENOSPC for good): the least
 * recently used entry makes room, configured ones never do, and every
 * entry left is still found (the table's deletions keep probe runs
 * whole). */
static void test_neigh_many(void)
{
	struct tl l;
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 64;
	c.neighbours = 8;
	c.secret_seed = 7;
	tl_init(&l, NULL, &c);
	uint8_t mac[6] = {0x02, 0, 0, 0x78, 0, 0}, got[6];
	uint32_t cfg_ip = ip_raw("10.78.2.1");
	CHECK_EQ(stk_tcp_neigh_set(&l.ctx, cfg_ip, BK_MAC), 0);
	unsigned syn_to_its_mac = 0;
	for (unsigned i = 0; i < 40; i++) {
		uint32_t ip = htonl(0x0a4e0100u + i + 1); /* 10.78.1.(i+1) */
		struct stk_tcp_sock *s = NULL;
		tl_at(&l, 100u * i + 1);
		CHECK_EQ(stk_tcp_connect(&l.ctx, l.h->ip_raw, ip_raw(ATT_IP), (uint16_t)(40000 + i), ip, 80,
					 &tl_service, &l.rec, &s),
			 0);
		if (!s)
			continue;
		*stk_tcp_sock_app(s) = &l.rec;
		CHECK_EQ(tl_advance(&l, 1), 1); /* who has it? */
		mac[5] = (uint8_t)i;
		arp_reply_from(&l, ip, mac);
		CHECK_EQ(tl_advance(&l, 60), 1); /* the SYN, to the MAC learnt */
		const uint8_t *fr = l.tx[0]->data;
		syn_to_its_mac += stk_be16(fr + 12) == STK_ETHERTYPE_IPV4 && memcmp(fr, mac, 6) == 0;
		stk_tcp_abort(&l.ctx, s);
		tl_advance(&l, 1);
	}
	CHECK_EQ(syn_to_its_mac, 40);
	CHECK_EQ(l.ctx.tcp->n_neigh, 8);
	CHECK_EQ(l.ctx.cnt.tcp_neigh_evicted, 40 - 7);
	CHECK_EQ(stk_tcp_neigh_state(&l.ctx, cfg_ip, got), 3);
	CHECK(memcmp(got, BK_MAC, 6) == 0);
	for (unsigned i = 0; i < 40; i++) {
		int st = stk_tcp_neigh_state(&l.ctx, htonl(0x0a4e0100u + i + 1), got);
		if (i < 33) {
			CHECK_EQ(st, 0);
		} else {
			CHECK_EQ(st, 2);
			CHECK_EQ(got[5], i);
		}
	}
	/* Many backends in random order (collisions, evictions from the
	 * middle of probe runs): every entry in the table is still found. */
	uint64_t rnd = 12345;
	unsigned lost = 0;
	for (unsigned i = 0; i < 2000; i++) {
		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t ip = htonl(0x0a4f0000u | (uint32_t)(rnd >> 48)); /* 10.79.x.y */
		struct stk_tcp_sock *s = NULL;
		tl_at(&l, 4000u + i);
		if (stk_tcp_connect(&l.ctx, l.h->ip_raw, ip_raw(ATT_IP), (uint16_t)(1000 + i), ip, 80, &tl_service,
				    &l.rec, &s) == 0 && s) {
			*stk_tcp_sock_app(s) = &l.rec;
			stk_tcp_abort(&l.ctx, s);
			tl_advance(&l, 0);
		}
		const struct stk_tcp *t = l.ctx.tcp;
		for (uint32_t k = 0; k <= t->neigh_mask; k++)
			if (t->neigh[k].state && stk_tcp_neigh_state(&l.ctx, t->neigh[k].ip_raw, got) != t->neigh[k].state)
				lost++;
	}
	CHECK_EQ(lost, 0);
	CHECK_EQ(l.ctx.tcp->n_neigh, 8);
	CHECK_EQ(stk_tcp_neigh_state(&l.ctx, cfg_ip, got), 3);
	/* Only configured entries: a new backend has no room. */
	tl_free(&l);
	c.neighbours = 2;
	tl_init(&l, NULL, &c);
	CHECK_EQ(stk_tcp_neigh_set(&l.ctx, cfg_ip, BK_MAC), 0);
	CHECK_EQ(stk_tcp_neigh_set(&l.ctx, ip_raw(BK_IP), BK_MAC), 0);
	struct stk_tcp_sock *s;
	CHECK_EQ(stk_tcp_connect(&l.ctx, l.h->ip_raw, ip_raw(ATT_IP), ATT_PORT, ip_raw("10.78.3.3"), 80,
				 &tl_service, &l.rec, &s),
		 -ENOSPC);
	tl_free(&l);
}

/* A resolved backend that answers no SYN is asked for again by the next
 * connect (it may be back with another MAC); a configured one is not. */
static void test_neigh_stale(void)
{
	for (int configured = 0; configured < 2; configured++) {
		struct tl l;
		tl_init(&l, NULL, NULL);
		leg_open(&l, configured);
		if (!configured) {
			CHECK_EQ(tl_advance(&l, 1), 1); /* ARP */
			bk_arp_reply(&l);
		}
		/* SYNs until the give-up (Linux: 5 retransmissions, 63 s) */
		for (unsigned k = 0; k < 200 && leg_flow(&l); k++)
			tl_advance(&l, 1000);
		CHECK(leg_flow(&l) == NULL);
		CHECK_EQ(l.ctx.cnt.tcp_active_failed, 1);
		uint8_t got[6];
		CHECK_EQ(stk_tcp_neigh_state(&l.ctx, ip_raw(BK_IP), got), configured ? 3 : 1);
		CHECK_EQ(l.ctx.cnt.tcp_neigh_stale, configured ? 0 : 1);
		uint64_t arps = l.ctx.cnt.tcp_neigh_arp_sent;
		leg_open(&l, false);
		CHECK_EQ(tl_advance(&l, 1), 1);
		CHECK_EQ(stk_be16(l.tx[0]->data + 12), configured ? STK_ETHERTYPE_IPV4 : STK_ETHERTYPE_ARP);
		CHECK_EQ(l.ctx.cnt.tcp_neigh_arp_sent, arps + !configured);
		tl_free(&l);
	}
}

int main(void)
{
	test_arp_then_syn();
	test_established();
	test_rst_in_syn_sent();
	test_syn_retransmit();
	test_connect_errors();
	test_abort_in_syn_sent();
	test_neigh_many();
	test_neigh_stale();
	return tap_done();
}
