/* Unit tests for proto_steer: an attacker's connection to a steered port
 * opens a backend leg with the attacker's address, the bytes sent before
 * the backend answered go first, responses come back, a full send buffer
 * on one leg closes the other leg's window and reopens it when drained,
 * FINs pass through, and a refused backend resets the attacker. */
#include <arpa/inet.h>
#include <string.h>

#include "protocols/proto_steer.h"
#include "tests/unit/stack/tcp_lab.h"
#include "tests/unit/tap.h"

#define A STK_TH_ACK
#define F STK_TH_FIN
#define P STK_TH_PSH
#define S STK_TH_SYN
#define R STK_TH_RST

#define ATT_PORT 33000
#define PORT 81
#define BK_IP "10.78.0.10"
#define BK_PORT 8080
#define BK_ISN 5000000u
#define ATT_ISN 100u

static const uint8_t BK_MAC[6] = {0x02, 0x00, 0x00, 0x78, 0x00, 0x10};

static uint32_t ip_raw(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* A segment from the backend to the attacker's address. */
static unsigned bk_send(struct tl *l, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, const void *data,
			unsigned len)
{
	static const uint8_t opts[8] = {2, 4, 0x05, 0xb4, 1, 3, 3, 0}; /* MSS 1460, WS 0 */
	unsigned optlen = (flags & S) ? 8 : 0;
	uint8_t *f = l->frame;
	unsigned tlen = 20 + optlen + len;
	memcpy(f, l->h->mac, 6);
	memcpy(f + 6, BK_MAC, 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_IPV4);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	stk_put_be16(ip + 2, (uint16_t)(20 + tlen));
	ip[8] = 64;
	ip[9] = STK_IPPROTO_TCP;
	uint32_t s = ip_raw(BK_IP), d = ip_raw(TL_PEER_IP);
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
	memcpy(t + 20, opts, optlen);
	if (len)
		memcpy(t + 20 + optlen, data, len);
	stk_put_be16(t + 16, stk_csum_fold(stk_csum_add(stk_l4_pseudo(s, d, STK_IPPROTO_TCP, tlen), t, tlen)));
	return tl_raw(l, 14 + 20 + tlen);
}

/* What left, per leg: the backend leg is recognised by its destination. */
struct sent {
	unsigned to_bk, to_att;
	uint8_t bk_flags, att_flags;   /* OR of all flags */
	uint32_t bk_seq, bk_ack;       /* of the last segment to the backend */
	uint16_t bk_win;
	uint8_t bk_data[8192], att_data[8192];
	unsigned bk_len, att_len;
};

static void sent_of(struct tl *l, struct sent *o)
{
	memset(o, 0, sizeof(*o));
	for (unsigned i = 0; i < l->n_tx; i++) {
		const uint8_t *f = l->tx[i]->data, *ip = f + 14, *t = ip + 20;
		if (stk_be16(f + 12) != STK_ETHERTYPE_IPV4 || ip[9] != STK_IPPROTO_TCP)
			continue;
		unsigned tlen = stk_be16(ip + 2) - 20u, doff = (t[12] >> 4) * 4u;
		CHECK(stk_csum_fold(stk_csum_add(stk_l4_pseudo(stk_load_raw32(ip + 12), stk_load_raw32(ip + 16),
							       STK_IPPROTO_TCP, tlen),
						 t, tlen)) == 0);
		if (memcmp(f, BK_MAC, 6) == 0) {
			/* The backend leg speaks with the attacker's address and port. */
			CHECK(stk_load_raw32(ip + 12) == ip_raw(TL_PEER_IP) && stk_be16(t) == ATT_PORT &&
			      stk_load_raw32(ip + 16) == ip_raw(BK_IP) && stk_be16(t + 2) == BK_PORT);
			o->to_bk++;
			o->bk_flags |= t[13];
			o->bk_seq = stk_be32(t + 4);
			o->bk_ack = stk_be32(t + 8);
			o->bk_win = stk_be16(t + 14);
			memcpy(o->bk_data + o->bk_len, t + doff, tlen - doff);
			o->bk_len += tlen - doff;
		} else {
			o->to_att++;
			o->att_flags |= t[13];
			memcpy(o->att_data + o->att_len, t + doff, tlen - doff);
			o->att_len += tlen - doff;
		}
	}
}

struct lab {
	struct tl l;
	struct proto_steer_pool pool;
	struct proto_steer_route route;
	uint32_t att_iss, bk_iss;
};

static void lab_up(struct lab *b, uint32_t sndbuf_per_flow, uint32_t rcv_wnd)
{
	struct stk_tcp_cfg c;
	stk_tcp_cfg_default(&c);
	c.max_flows = 64;
	c.sndbuf_bytes = 1u << 20;
	if (sndbuf_per_flow)
		c.sndbuf_per_flow = sndbuf_per_flow;
	if (rcv_wnd)
		c.rcv_wnd = rcv_wnd;
	tl_init(&b->l, NULL, &c);
	CHECK_EQ(proto_steer_pool_init(&b->pool, 4), 0);
	b->route = (struct proto_steer_route){b->l.h->ip_raw, ip_raw(BK_IP), BK_PORT, PORT, &b->pool};
	CHECK_EQ(stk_listen(&b->l.ctx, b->l.h->ip_raw, STK_IPPROTO_TCP, PORT, &proto_steer_service, &b->route), 0);
	CHECK_EQ(stk_tcp_neigh_set(&b->l.ctx, ip_raw(BK_IP), BK_MAC), 0);
}

static void lab_down(struct lab *b)
{
	tl_free(&b->l);
	CHECK_EQ(b->pool.in_use, 0);
	proto_steer_pool_destroy(&b->pool);
}

/* The attacker connects and sends req before the backend answers; the
 * backend accepts. Returns with both legs ESTABLISHED. */
static void open_pair(struct lab *b, const char *req)
{
	struct tl *l = &b->l;
	struct sent o;
	CHECK(tl_connect(l, ATT_PORT, PORT, ATT_ISN, &b->att_iss));
	sent_of(l, &o);
	CHECK(o.to_bk == 1 && o.bk_flags == S); /* the backend leg's SYN, same burst */
	b->bk_iss = o.bk_seq;
	CHECK_EQ(b->pool.steered, 1);
	unsigned n = (unsigned)strlen(req);
	struct tl_seg d = {.sport = ATT_PORT, .dport = PORT, .flags = A | P, .seq = ATT_ISN + 1,
			   .ack = b->att_iss + 1, .win = 502, .data = req, .len = n};
	tl_send(l, &d);
	sent_of(l, &o);
	CHECK(o.to_att == 1 && o.to_bk == 0); /* held, ACKed */
	CHECK_EQ(tl_flow(l, ATT_PORT, PORT)->rcv_nxt, ATT_ISN + 1 + n);
	/* SYN-ACK: the handshake's ACK carries the early bytes. */
	bk_send(l, S | A, BK_ISN, b->bk_iss + 1, 29200, NULL, 0);
	sent_of(l, &o);
	CHECK_EQ(o.to_bk, 1);
	CHECK(o.bk_len == n && memcmp(o.bk_data, req, n) == 0 && o.bk_ack == BK_ISN + 1);
	CHECK_EQ(b->pool.connected, 1);
}

static void test_relay(void)
{
	struct lab b;
	lab_up(&b, 0, 0);
	struct tl *l = &b.l;
	open_pair(&b, "GET / HTTP/1.0\r\n\r\n");
	/* The answer comes back to the attacker. */
	const char *resp = "HTTP/1.0 200 OK\r\n\r\nbackend";
	unsigned rn = (unsigned)strlen(resp);
	bk_send(l, A | P, BK_ISN + 1, b.bk_iss + 1 + 18, 29200, resp, rn);
	struct sent o;
	sent_of(l, &o);
	CHECK(o.att_len == rn && memcmp(o.att_data, resp, rn) == 0);
	/* The backend closes: FIN to the attacker; the attacker's FIN+ACK goes
	 * on to the backend leg. */
	bk_send(l, F | A, BK_ISN + 1 + rn, b.bk_iss + 19, 29200, NULL, 0);
	sent_of(l, &o);
	CHECK(o.att_flags & F);
	struct tl_seg fin = {.sport = ATT_PORT, .dport = PORT, .flags = F | A, .seq = ATT_ISN + 19,
			     .ack = b.att_iss + 1 + rn + 1, .win = 502};
	tl_send(l, &fin);
	sent_of(l, &o);
	CHECK(o.bk_flags & F);
	bk_send(l, A, BK_ISN + 2 + rn, b.bk_iss + 20, 29200, NULL, 0);
	tl_advance(l, 130000); /* TIME-WAIT over */
	CHECK_EQ(l->ctx.tcp->n_flows, 0);
	CHECK_EQ(b.pool.in_use, 0);
	lab_down(&b);
}

static void test_backpressure(void)
{
	struct lab b;
	/* Each leg queues at most 4 KiB and offers at most 4 KiB: the backend
	 * leg's window closes once the attacker leg's buffer is full. (With a
	 * larger first offer, a window never shrinks: bytes past the relay's
	 * room are left unacknowledged and the peer sends them again.) */
	lab_up(&b, 4096, 4096);
	struct tl *l = &b.l;
	open_pair(&b, "x");
	/* The backend streams; the attacker acknowledges nothing. */
	static uint8_t blob[1400];
	memset(blob, 'b', sizeof(blob));
	uint32_t seq = BK_ISN + 1;
	struct sent o;
	unsigned relayed = 0;
	for (unsigned i = 0; i < 4; i++) {
		bk_send(l, A | P, seq, b.bk_iss + 2, 29200, blob, sizeof(blob));
		sent_of(l, &o);
		relayed += o.att_len;
		seq = o.to_bk ? o.bk_ack : seq; /* what the leg took */
	}
	CHECK_EQ(relayed, 4096);          /* exactly the attacker leg's buffer */
	CHECK_EQ(seq, BK_ISN + 1 + 4096); /* the rest was not acknowledged */
	CHECK_EQ(o.bk_win, 0);            /* and the window is closed */
	CHECK_EQ(stk_tcp_send_space(&l->ctx, (struct stk_tcp_sock *)tl_flow(l, ATT_PORT, PORT)), 0);
	/* The attacker acknowledges everything: the backend leg's window
	 * reopens at once (no probe needed). */
	struct tl_seg ack = {.sport = ATT_PORT, .dport = PORT, .flags = A, .seq = ATT_ISN + 2,
			     .ack = b.att_iss + 1 + 4096, .win = 502};
	tl_send(l, &ack);
	sent_of(l, &o);
	CHECK(o.to_bk >= 1 && o.bk_win > 0);
	lab_down(&b);
}

static void test_backend_refuses(void)
{
	struct lab b;
	lab_up(&b, 0, 0);
	struct tl *l = &b.l;
	uint32_t iss;
	CHECK(tl_connect(l, ATT_PORT, PORT, ATT_ISN, &iss));
	struct sent o;
	sent_of(l, &o);
	uint32_t bk_iss = o.bk_seq;
	bk_send(l, R | A, 0, bk_iss + 1, 0, NULL, 0);
	sent_of(l, &o);
	CHECK(o.to_att == 1 && (o.att_flags & R)); /* the attacker is reset */
	CHECK(tl_flow(l, ATT_PORT, PORT) == NULL);
	CHECK_EQ(b.pool.connect_failed, 1);
	CHECK_EQ(b.pool.in_use, 0);
	lab_down(&b);
}

int main(void)
{
	test_relay();
	test_backpressure();
	test_backend_refuses();
	return tap_done();
}
