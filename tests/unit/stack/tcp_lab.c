#include "tests/unit/stack/tcp_lab.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/tap.h"

#define TL_EPOCH_NS 1000000000000ull /* an arbitrary monotonic start */

static const uint8_t PEER_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t DECKY_MAC[6] = {0x00, 0x25, 0x90, 0xaa, 0xbb, 0xcc};

static uint32_t ip_raw(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* ---- the recording service ------------------------------------------------ */

static struct tl_rec *rec_of(struct stk_tcp_sock *s)
{
	return *stk_tcp_sock_app(s);
}

static int rec_accept(struct stk_ctx *ctx, struct stk_tcp_sock *s, void *arg)
{
	struct tl_rec *r = arg;
	*stk_tcp_sock_app(s) = r;
	r->accepts++;
	r->sock = s;
	return r->accept_rc;
}

static unsigned rec_recv(struct stk_ctx *ctx, struct stk_tcp_sock *s, const uint8_t *d, unsigned len)
{
	struct tl_rec *r = rec_of(s);
	if (r->consume_max && len > r->consume_max)
		len = r->consume_max;
	if (r->limit) {
		if (len > r->take_left)
			len = r->take_left;
		r->take_left -= len;
	}
	if (r->echo)
		len = stk_tcp_send(ctx, s, d, len);
	unsigned room = sizeof(r->data) - r->n_data;
	memcpy(r->data + r->n_data, d, len < room ? len : room);
	r->n_data += len < room ? len : room;
	return len;
}

static unsigned rec_space(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	struct tl_rec *r = rec_of(s);
	if (r->limit)
		return r->take_left;
	return r->echo ? stk_tcp_send_space(ctx, s) : 1u << 30;
}

static void rec_peer_closed(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	struct tl_rec *r = rec_of(s);
	r->peer_closed++;
	if (r->close_on_peer_close)
		stk_tcp_close(ctx, s);
}

static void rec_writable(struct stk_ctx *ctx, struct stk_tcp_sock *s)
{
	rec_of(s)->writable++;
}

static void rec_closed(struct stk_ctx *ctx, struct stk_tcp_sock *s, enum stk_close_reason why)
{
	struct tl_rec *r = rec_of(s);
	r->closed++;
	r->why = why;
	if (r->sock == s)
		r->sock = NULL;
}

static void rec_datagram(struct stk_ctx *ctx, const struct stk_udp_dgram *d, void *arg)
{
	struct tl_rec *r = arg;
	r->datagrams++;
	stk_udp_reply(ctx, d, d->data, d->len);
}

const struct stk_service tl_service = {
	.name = "tl",
	.accept = rec_accept,
	.recv = rec_recv,
	.recv_space = rec_space,
	.peer_closed = rec_peer_closed,
	.writable = rec_writable,
	.closed = rec_closed,
	.datagram = rec_datagram,
};

/* ---- lab ------------------------------------------------------------------- */

static void put_back(struct tl *l)
{
	for (unsigned i = 0; i < l->n_tx; i++)
		stk_pool_put(&l->pool, l->tx[i]);
	l->n_tx = 0;
}

void tl_init(struct tl *l, const struct stk_tcp_policy *policy, const struct stk_tcp_cfg *cfg)
{
	memset(l, 0, sizeof(*l));
	CHECK_EQ(stk_hosts_init(&l->hosts, 16), 0);
	CHECK_EQ(stk_pool_init(&l->pool, TL_MAX_TX), 0);
	const struct stk_tcp_policy *p = policy ? policy : stk_tcp_policy_family(FP_FAMILY_LINUX);
	struct stk_host_policy hp = {.ttl = 64, .icmp_echo_copy_code = true, .tcp = p};
	int idx = stk_hosts_add(&l->hosts, ip_raw(TL_DECKY_IP), DECKY_MAC, &hp, NULL);
	CHECK(idx >= 0);
	l->h = &l->hosts.hosts[idx];
	l->ctx.hosts = &l->hosts;
	l->ctx.tx_pool = &l->pool;
	l->ctx.now_ns = TL_EPOCH_NS;
	struct stk_tcp_cfg c;
	if (cfg) {
		c = *cfg;
	} else {
		stk_tcp_cfg_default(&c);
		c.max_flows = 64;
		c.sndbuf_bytes = 1u << 20;
	}
	if (!c.secret_seed)
		c.secret_seed = 42;
	CHECK_EQ(stk_tcp_init(&l->ctx, &c), 0);
	CHECK_EQ(stk_listen(&l->ctx, l->h->ip_raw, STK_IPPROTO_TCP, 80, &tl_service, &l->rec), 0);
	CHECK_EQ(stk_listen(&l->ctx, l->h->ip_raw, STK_IPPROTO_UDP, 7, &tl_service, &l->rec), 0);
	l->pkt.data = l->frame;
	l->pkt.cap = sizeof(l->frame);
}

void tl_free(struct tl *l)
{
	put_back(l);
	stk_tcp_destroy(&l->ctx);
	CHECK_EQ(l->pool.n_free, l->pool.size);
	stk_pool_destroy(&l->pool);
	stk_hosts_destroy(&l->hosts);
}

unsigned tl_at(struct tl *l, uint64_t ms)
{
	put_back(l);
	unsigned more;
	do {
		unsigned n = l->n_tx;
		more = stk_timers_advance(&l->ctx, TL_EPOCH_NS + ms * 1000000ull, l->tx, TL_MAX_TX, &l->n_tx);
		if (more && l->n_tx == n)
			break;
	} while (more && l->n_tx < TL_MAX_TX - 2);
	return l->n_tx;
}

unsigned tl_advance(struct tl *l, uint64_t ms)
{
	return tl_at(l, (l->ctx.now_ns - TL_EPOCH_NS) / 1000000ull + ms);
}

static unsigned ip_frame(struct tl *l, uint8_t proto, unsigned l4_len)
{
	uint8_t *f = l->frame;
	memcpy(f, DECKY_MAC, 6);
	memcpy(f + 6, PEER_MAC, 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_IPV4);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	stk_put_be16(ip + 2, (uint16_t)(20 + l4_len));
	stk_put_be16(ip + 4, 0x4242);
	ip[8] = 61;
	ip[9] = proto;
	uint32_t s = ip_raw(TL_PEER_IP), d = ip_raw(TL_DECKY_IP);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	return 14 + 20 + l4_len;
}

unsigned tl_frame_tcp(struct tl *l, const struct tl_seg *s)
{
	unsigned optlen = (s->optlen + 3) & ~3u;
	unsigned tlen = 20 + optlen + s->len;
	unsigned flen = ip_frame(l, STK_IPPROTO_TCP, tlen);
	uint8_t *t = l->frame + 34;
	stk_put_be16(t, s->sport);
	stk_put_be16(t + 2, s->dport ? s->dport : 80);
	stk_put_be32(t + 4, s->seq);
	stk_put_be32(t + 8, s->ack);
	t[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	t[13] = s->flags;
	stk_put_be16(t + 14, s->win);
	stk_put_be16(t + 16, 0);
	stk_put_be16(t + 18, 0);
	memset(t + 20, 0, optlen);
	if (s->optlen)
		memcpy(t + 20, s->opts, s->optlen);
	if (s->len)
		memcpy(t + 20 + optlen, s->data, s->len);
	uint32_t sum = stk_l4_pseudo(ip_raw(TL_PEER_IP), ip_raw(TL_DECKY_IP), STK_IPPROTO_TCP, tlen);
	stk_put_be16(t + 16, stk_csum_fold(stk_csum_add(sum, t, tlen)));
	return flen;
}

unsigned tl_raw(struct tl *l, unsigned len)
{
	put_back(l);
	struct stk_pkt *rx = &l->pkt;
	l->pkt.len = len;
	stk_input_burst(&l->ctx, &rx, 1, l->tx, TL_MAX_TX, &l->n_tx);
	return l->n_tx;
}

unsigned tl_send(struct tl *l, const struct tl_seg *s)
{
	return tl_raw(l, tl_frame_tcp(l, s));
}

unsigned tl_udp(struct tl *l, uint16_t sport, uint16_t dport, const void *data, unsigned len)
{
	unsigned flen = ip_frame(l, STK_IPPROTO_UDP, 8 + len);
	uint8_t *u = l->frame + 34;
	stk_put_be16(u, sport);
	stk_put_be16(u + 2, dport);
	stk_put_be16(u + 4, (uint16_t)(8 + len));
	stk_put_be16(u + 6, 0);
	memcpy(u + 8, data, len);
	uint32_t sum = stk_l4_pseudo(ip_raw(TL_PEER_IP), ip_raw(TL_DECKY_IP), STK_IPPROTO_UDP, 8 + len);
	uint16_t c = stk_csum_fold(stk_csum_add(sum, u, 8 + len));
	stk_put_be16(u + 6, c ? c : 0xffff);
	return tl_raw(l, flen);
}

bool tl_parse(struct tl *l, unsigned i, struct tl_out *o)
{
	memset(o, 0, sizeof(*o));
	if (i >= l->n_tx) {
		CHECK(!"answer present");
		return false;
	}
	const struct stk_pkt *p = l->tx[i];
	const uint8_t *f = p->data, *ip = f + 14;
	bool ok = p->len >= 34 && stk_be16(f + 12) == STK_ETHERTYPE_IPV4 && memcmp(f, PEER_MAC, 6) == 0 &&
		  memcmp(f + 6, DECKY_MAC, 6) == 0 && ip[0] == 0x45 && stk_csum(ip, 20) == 0 &&
		  (l->lax_ip_len || 14u + stk_be16(ip + 2) == p->len);
	CHECK(ok);
	if (!ok)
		return false;
	o->proto = ip[9];
	o->ttl = ip[8];
	o->tos = ip[1];
	o->df = (stk_be16(ip + 6) & STK_IP4_DF) != 0;
	o->ip_id = stk_be16(ip + 4);
	o->ip_len = stk_be16(ip + 2);
	o->l4 = ip + 20;
	o->l4_len = (unsigned)p->len - 34u; /* the frame's, whatever the length field says */
	if (o->proto == STK_IPPROTO_TCP) {
		const uint8_t *t = o->l4;
		uint32_t sum = stk_l4_pseudo(stk_load_raw32(ip + 12), stk_load_raw32(ip + 16), STK_IPPROTO_TCP,
					     o->l4_len);
		CHECK(stk_csum_fold(stk_csum_add(sum, t, o->l4_len)) == 0);
		o->sport = stk_be16(t);
		o->dport = stk_be16(t + 2);
		o->seq = stk_be32(t + 4);
		o->ack = stk_be32(t + 8);
		unsigned doff = (t[12] >> 4) * 4u;
		o->flags = t[13];
		o->win = stk_be16(t + 14);
		o->urp = stk_be16(t + 18);
		o->optlen = doff - 20;
		memcpy(o->opts, t + 20, o->optlen);
		o->data = t + doff;
		o->len = o->l4_len - doff;
	} else if (o->proto == STK_IPPROTO_ICMP) {
		CHECK(stk_csum(o->l4, o->l4_len) == 0);
		o->icmp_type = o->l4[0];
		o->icmp_code = o->l4[1];
	} else if (o->proto == STK_IPPROTO_UDP) {
		uint32_t sum = stk_l4_pseudo(stk_load_raw32(ip + 12), stk_load_raw32(ip + 16), STK_IPPROTO_UDP,
					     o->l4_len);
		CHECK(stk_csum_fold(stk_csum_add(sum, o->l4, o->l4_len)) == 0);
		o->sport = stk_be16(o->l4);
		o->dport = stk_be16(o->l4 + 2);
		o->data = o->l4 + 8;
		o->len = o->l4_len - 8;
	}
	return true;
}

int tl_opt_at(const struct tl_out *o, uint8_t kind)
{
	for (unsigned i = 0; i < o->optlen;) {
		uint8_t k = o->opts[i];
		if (k == kind)
			return (int)i;
		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		if (i + 1 >= o->optlen || o->opts[i + 1] < 2)
			break;
		i += o->opts[i + 1];
	}
	return -1;
}

void tl_nmap_opts(const struct tl_out *o, char *buf, unsigned len)
{
	unsigned n = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < o->optlen && n + 16 < len;) {
		const uint8_t *p = o->opts + i;
		switch (p[0]) {
		case 0:
			n += (unsigned)snprintf(buf + n, len - n, "L");
			i++;
			break;
		case 1:
			n += (unsigned)snprintf(buf + n, len - n, "N");
			i++;
			break;
		case 2:
			n += (unsigned)snprintf(buf + n, len - n, "M%X", stk_be16(p + 2));
			i += 4;
			break;
		case 3:
			n += (unsigned)snprintf(buf + n, len - n, "W%X", p[2]);
			i += 3;
			break;
		case 4:
			n += (unsigned)snprintf(buf + n, len - n, "S");
			i += 2;
			break;
		case 8:
			n += (unsigned)snprintf(buf + n, len - n, "T%d%d", stk_be32(p + 2) != 0,
						stk_be32(p + 6) != 0);
			i += 10;
			break;
		default:
			n += (unsigned)snprintf(buf + n, len - n, "?");
			i = o->optlen;
			break;
		}
	}
}

struct stk_tcp_flow *tl_flow(struct tl *l, uint16_t sport, uint16_t dport)
{
	return stk_flow_lookup(l->ctx.tcp, l->h->ip_raw, ip_raw(TL_PEER_IP), dport, sport);
}

const struct stk_syn_ent *tl_syn_ent(struct tl *l, uint16_t sport, uint16_t dport)
{
	struct stk_tcp *t = l->ctx.tcp;
	uint32_t lip = l->h->ip_raw, rip = ip_raw(TL_PEER_IP);
	return stk_sc_lookup(t, stk_flow_tuple_hash(t, lip, rip, dport, sport), lip, rip, dport, sport);
}

uint8_t tl_state(struct tl *l, uint16_t sport, uint16_t dport)
{
	struct stk_tcp_flow *f = tl_flow(l, sport, dport);
	if (f)
		return f->state;
	return tl_syn_ent(l, sport, dport) ? STK_TCP_SYN_RCVD : STK_TCP_FREE;
}

uint32_t tl_half_open(struct tl *l)
{
	struct stk_tcp_usage u;
	stk_tcp_usage(&l->ctx, &u);
	return u.half_open;
}

bool tl_connect(struct tl *l, uint16_t sport, uint16_t dport, uint32_t peer_isn, uint32_t *iss)
{
	static const uint8_t syn_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x03, 0xe8, 0, 0, 0, 0,
					   1, 3, 3, 7};
	struct tl_seg syn = {.sport = sport, .dport = dport, .flags = STK_TH_SYN, .seq = peer_isn,
			     .win = 64240, .opts = syn_opts, .optlen = sizeof(syn_opts)};
	struct tl_out o;
	if (tl_send(l, &syn) != 1 || !tl_parse(l, 0, &o) || o.flags != (STK_TH_SYN | STK_TH_ACK) ||
	    o.ack != peer_isn + 1) {
		CHECK(!"SYN-ACK");
		return false;
	}
	*iss = o.seq;
	/* The peer's window (64240 << 7 after scaling) is plenty. */
	struct tl_seg ack = {.sport = sport, .dport = dport, .flags = STK_TH_ACK, .seq = peer_isn + 1,
			     .ack = o.seq + 1, .win = 502};
	tl_send(l, &ack);
	struct stk_tcp_flow *f = tl_flow(l, sport, dport);
	bool ok = f && f->state == STK_TCP_ESTABLISHED;
	CHECK(ok);
	return ok;
}
