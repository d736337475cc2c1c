/* Unit tests for stack/: checksums, the host table, ARP and ICMP echo
 * answers, and every drop reason the input path counts. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/stk.h"
#include "stack/stk_proto.h"
#include "stack/stk_wire.h"
#include "tests/unit/tap.h"

static const uint8_t SCANNER_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t DECKY_MAC[6] = {0x00, 0x25, 0x90, 0x12, 0x34, 0x56};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
#define DECKY_IP "10.77.0.10"
#define SCANNER_IP "10.77.0.2"

static uint32_t ip_raw(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

struct lab {
	struct stk_hosts hosts;
	struct stk_pool pool;
	struct stk_ctx ctx;
	uint8_t frame[4096]; /* larger than a pool buffer: the v3 ring can deliver such */
	struct stk_pkt pkt;
	struct stk_pkt *tx[8];
	unsigned n_tx;
};

static void lab_init(struct lab *l, uint8_t ttl, bool copy_code)
{
	memset(l, 0, sizeof(*l));
	CHECK_EQ(stk_hosts_init(&l->hosts, 16), 0);
	CHECK_EQ(stk_pool_init(&l->pool, 8), 0);
	struct stk_host_policy pol = {.ttl = ttl, .icmp_echo_copy_code = copy_code};
	CHECK(stk_hosts_add(&l->hosts, ip_raw(DECKY_IP), DECKY_MAC, &pol, NULL) >= 0);
	l->ctx.hosts = &l->hosts;
	l->ctx.tx_pool = &l->pool;
	l->pkt.data = l->frame;
	l->pkt.cap = sizeof(l->frame);
}

static void lab_free(struct lab *l)
{
	for (unsigned i = 0; i < l->n_tx; i++)
		stk_pool_put(&l->pool, l->tx[i]);
	CHECK_EQ(l->pool.n_free, l->pool.size); /* no buffer leaked */
	stk_pool_destroy(&l->pool);
	stk_hosts_destroy(&l->hosts);
}

static unsigned lab_run(struct lab *l, unsigned len)
{
	struct stk_pkt *rx = &l->pkt;
	for (unsigned i = 0; i < l->n_tx; i++)
		stk_pool_put(&l->pool, l->tx[i]);
	l->n_tx = 0;
	l->pkt.len = len;
	stk_input_burst(&l->ctx, &rx, 1, l->tx, 8, &l->n_tx);
	return l->n_tx;
}

static unsigned make_arp(uint8_t *f, const uint8_t *dst, uint16_t op, const char *tpa)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, SCANNER_MAC, 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_ARP);
	uint8_t *a = f + 14;
	stk_put_be16(a, 1);
	stk_put_be16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	stk_put_be16(a + 6, op);
	memcpy(a + 8, SCANNER_MAC, 6);
	uint32_t s = ip_raw(SCANNER_IP), t = ip_raw(tpa);
	memcpy(a + 14, &s, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, &t, 4);
	return 42;
}

static unsigned make_echo(uint8_t *f, const char *dst_ip, uint8_t code, unsigned payload)
{
	memcpy(f, DECKY_MAC, 6);
	memcpy(f + 6, SCANNER_MAC, 6);
	stk_put_be16(f + 12, STK_ETHERTYPE_IPV4);
	uint8_t *ip = f + 14;
	unsigned tot = 20 + 8 + payload;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[1] = 0x10;
	stk_put_be16(ip + 2, (uint16_t)tot);
	stk_put_be16(ip + 4, 0x1234);
	ip[8] = 57;
	ip[9] = 1;
	uint32_t s = ip_raw(SCANNER_IP), d = ip_raw(dst_ip);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	stk_put_be16(ip + 10, stk_csum(ip, 20));
	uint8_t *ic = ip + 20;
	ic[0] = 8;
	ic[1] = code;
	ic[2] = ic[3] = 0;
	stk_put_be16(ic + 4, 0xbeef);
	stk_put_be16(ic + 6, 7);
	for (unsigned i = 0; i < payload; i++)
		ic[8 + i] = (uint8_t)(i * 7 + 3);
	stk_put_be16(ic + 2, stk_csum(ic, 8 + payload));
	return 14 + tot;
}

/* The IPv4 pseudo-header's sum the textbook way: host-order words. */
static uint32_t pseudo_ref(uint32_t src_raw, uint32_t dst_raw, uint8_t proto, unsigned len)
{
	uint32_t s = ntohl(src_raw), d = ntohl(dst_raw);
	return (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto + len;
}

static void test_checksum(void)
{
	/* RFC 1071 section 3 example: words 0001 f203 f4f5 f6f7 sum to ddf2. */
	const uint8_t v[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	CHECK_EQ(stk_csum(v, sizeof(v)), (uint16_t)~0xddf2);
	/* Odd length pads with a zero byte. */
	const uint8_t o[] = {0x01, 0x02, 0x03};
	CHECK_EQ(stk_csum(o, 3), (uint16_t)~(0x0102 + 0x0300));
	/* Incremental update equals a full recomputation. */
	srand(7);
	for (int t = 0; t < 10000; t++) {
		uint8_t buf[64];
		for (int i = 0; i < 64; i++)
			buf[i] = (uint8_t)rand();
		buf[2] = buf[3] = 0;
		uint16_t c = stk_csum(buf, 64);
		stk_put_be16(buf + 2, c);
		uint16_t old_w = stk_be16(buf), new_w = (uint16_t)rand();
		stk_put_be16(buf, new_w);
		uint16_t inc = stk_csum_update16(c, old_w, new_w);
		stk_put_be16(buf + 2, inc);
		if (stk_csum(buf, 64) != 0) {
			CHECK(!"incremental checksum verifies");
			break;
		}
	}
	/* stk_l4_csum_ok (native order, never swapped) agrees with the
	 * host-order pseudo-header sum, for every length parity, both
	 * protocols, right and wrong checksums, and lengths whose
	 * pseudo-header words carry. */
	unsigned bad = 0;
	for (int t = 0; t < 20000; t++) {
		static uint8_t buf[1600];
		unsigned len = (unsigned)rand() % 1600;
		if (t % 7 == 0)
			len = 1500 + (unsigned)rand() % 100;
		for (unsigned i = 0; i < len; i++)
			buf[i] = (uint8_t)rand();
		uint32_t src = (uint32_t)rand() ^ (uint32_t)rand() << 16, dst = (uint32_t)rand() ^ (uint32_t)rand() << 16;
		uint8_t proto = t & 1 ? STK_IPPROTO_TCP : STK_IPPROTO_UDP;
		if (len >= 2 && t % 3) { /* make it right: the first word carries the sum */
			buf[0] = buf[1] = 0;
			stk_put_be16(buf, stk_csum_fold(stk_csum_add(pseudo_ref(src, dst, proto, len), buf, len)));
			if (t % 3 == 2 && len > 2)
				buf[(unsigned)rand() % len] ^= (uint8_t)(1u << (rand() % 8)); /* and wrong again */
		}
		bool ref = stk_csum_fold(stk_csum_add(pseudo_ref(src, dst, proto, len), buf, len)) == 0;
		bad += stk_l4_csum_ok(buf, len, src, dst, proto) != ref;
		if (len >= 2 && t % 3 == 1 && !ref)
			bad++; /* the reference itself must accept what was just made right */
	}
	CHECK_EQ(bad, 0u);
}

/* RFC 1071 the textbook way: big-endian 16-bit words, an odd byte padded
 * with zero, carries folded at the end. */
static uint16_t csum_ref(const uint8_t *p, unsigned len)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Every length up to 64 at every alignment, through each entry point of
 * the word loop and its tail (4, 2 and 1 bytes found from the length's
 * bits), against the textbook sum: the tests above compare the native
 * paths with each other, this one with something else. */
static void test_checksum_lengths(void)
{
	static uint8_t buf[80], dst[80];
	unsigned bad = 0;
	srand(11);
	for (unsigned round = 0; round < 20; round++)
		for (unsigned off = 0; off < 8; off++)
			for (unsigned len = 0; len <= 64; len++) {
				for (unsigned i = 0; i < sizeof(buf); i++)
					buf[i] = round == 0 ? 0xff : (uint8_t)rand(); /* all ones: every carry */
				const uint8_t *p = buf + off;
				uint16_t want = csum_ref(p, len);
				bad += stk_csum(p, len) != want;
				bad += stk_csum_fold(stk_csum_add(0, p, len)) != want;
				bad += stk_csum_fold(stk_csum_copy(dst + off, p, len)) != want;
				bad += memcmp(dst + off, p, len) != 0;
			}
	CHECK_EQ(bad, 0u);
}

static void test_cursor(void)
{
	uint8_t b[10];
	struct stk_cursor c = {b, b + 10};
	CHECK(stk_cursor_pull(&c, 4) == b);
	CHECK(stk_cursor_pull(&c, 7) == NULL);
	CHECK(c.pos == b + 4);
	CHECK(stk_cursor_pull(&c, 6) == b + 4);
	CHECK(stk_cursor_pull(&c, 1) == NULL);
	CHECK(stk_cursor_pull(&c, 0) == b + 10);
}

static void test_hosts(void)
{
	struct stk_hosts t;
	const uint32_t N = 100000;
	CHECK_EQ(stk_hosts_init(&t, N), 0);
	struct stk_host_policy pol = {.ttl = 64};
	uint8_t mac[6] = {0};
	int ok = 1;
	for (uint32_t i = 0; i < N; i++)
		ok &= stk_hosts_add(&t, htonl(0x0a000000u + i), mac, &pol, NULL) >= 0;
	CHECK(ok);
	CHECK_EQ(t.count, N);
	CHECK_EQ(stk_hosts_add(&t, htonl(0x0b000000u), mac, &pol, NULL), -ENOSPC);
	CHECK_EQ(stk_hosts_add(&t, htonl(0x0a000005u), mac, &pol, NULL), -EEXIST);
	ok = 1;
	for (uint32_t i = 0; i < N; i++) {
		struct stk_host *h = stk_hosts_lookup(&t, htonl(0x0a000000u + i));
		ok &= h && h->ip_raw == htonl(0x0a000000u + i);
	}
	CHECK(ok);
	CHECK(stk_hosts_lookup(&t, htonl(0x0a000000u + N)) == NULL);
	/* Remove every other one, then all lookups must still be exact: this is
	 * what catches a wrong backward shift. */
	for (uint32_t i = 0; i < N; i += 2)
		ok &= stk_hosts_remove(&t, htonl(0x0a000000u + i)) == 0;
	CHECK(ok);
	CHECK_EQ(stk_hosts_remove(&t, htonl(0x0a000000u)), -ENOENT);
	ok = 1;
	for (uint32_t i = 0; i < N; i++) {
		struct stk_host *h = stk_hosts_lookup(&t, htonl(0x0a000000u + i));
		ok &= (i % 2) ? (h && h->ip_raw == htonl(0x0a000000u + i)) : (h == NULL);
	}
	CHECK(ok);
	CHECK_EQ(t.count, N / 2);
	/* Random churn against a reference bitmap. */
	static uint8_t present[4096];
	struct stk_hosts r;
	CHECK_EQ(stk_hosts_init(&r, 4096), 0);
	memset(present, 0, sizeof(present));
	srand(11);
	ok = 1;
	for (int step = 0; step < 200000; step++) {
		uint32_t k = (uint32_t)rand() % 4096;
		uint32_t ip = htonl(0xc0a80000u + k * 37u);
		if (rand() & 1) {
			int rc = stk_hosts_add(&r, ip, mac, &pol, NULL);
			ok &= present[k] ? rc == -EEXIST : rc >= 0;
			present[k] = 1;
		} else {
			int rc = stk_hosts_remove(&r, ip);
			ok &= present[k] ? rc == 0 : rc == -ENOENT;
			present[k] = 0;
		}
		uint32_t q = (uint32_t)rand() % 4096;
		ok &= (stk_hosts_lookup(&r, htonl(0xc0a80000u + q * 37u)) != NULL) == present[q];
	}
	CHECK(ok);
	stk_hosts_destroy(&r);
	stk_hosts_destroy(&t);
}

static void test_arp(void)
{
	struct lab l;
	lab_init(&l, 64, true);
	/* Request for the decky: one reply, from the decky, to the asker. */
	CHECK_EQ(lab_run(&l, make_arp(l.frame, BCAST, 1, DECKY_IP)), 1);
	const uint8_t *o = l.tx[0]->data;
	CHECK_EQ(l.tx[0]->len, 42);
	CHECK(memcmp(o, SCANNER_MAC, 6) == 0);
	CHECK(memcmp(o + 6, DECKY_MAC, 6) == 0);
	CHECK_EQ(stk_be16(o + 12), 0x0806);
	CHECK_EQ(stk_be16(o + 14 + 6), 2);
	CHECK(memcmp(o + 14 + 8, DECKY_MAC, 6) == 0);
	CHECK_EQ(stk_load_raw32(o + 14 + 14), ip_raw(DECKY_IP));
	CHECK(memcmp(o + 14 + 18, SCANNER_MAC, 6) == 0);
	CHECK_EQ(stk_load_raw32(o + 14 + 24), ip_raw(SCANNER_IP));
	CHECK_EQ(l.ctx.cnt.arp_requests, 1);
	CHECK_EQ(l.ctx.cnt.arp_replies, 1);
	/* Unicast refresh to the decky's MAC: answered too. */
	CHECK_EQ(lab_run(&l, make_arp(l.frame, DECKY_MAC, 1, DECKY_IP)), 1);
	/* Not a decky: silence. */
	CHECK_EQ(lab_run(&l, make_arp(l.frame, BCAST, 1, "10.77.0.99")), 0);
	CHECK_EQ(l.ctx.cnt.ignored_not_decky, 1);
	/* Unicast to another station's MAC. */
	CHECK_EQ(lab_run(&l, make_arp(l.frame, SCANNER_MAC, 1, DECKY_IP)), 0);
	CHECK_EQ(l.ctx.cnt.drop_eth_dst, 1);
	/* A reply is not answered. */
	CHECK_EQ(lab_run(&l, make_arp(l.frame, BCAST, 2, DECKY_IP)), 0);
	CHECK_EQ(l.ctx.cnt.ignored_arp_reply, 1);
	/* Truncated and malformed. */
	make_arp(l.frame, BCAST, 1, DECKY_IP);
	CHECK_EQ(lab_run(&l, 41), 0);
	CHECK_EQ(l.ctx.cnt.drop_arp_short, 1);
	l.frame[14 + 4] = 8;
	CHECK_EQ(lab_run(&l, 42), 0);
	CHECK_EQ(l.ctx.cnt.drop_arp_format, 1);
	/* Sender hardware address is broadcast: never answered. */
	make_arp(l.frame, BCAST, 1, DECKY_IP);
	memset(l.frame + 14 + 8, 0xff, 6);
	CHECK_EQ(lab_run(&l, 42), 0);
	CHECK_EQ(l.ctx.cnt.drop_arp_bad_sender, 1);
	/* Frames too short for Ethernet, and VLAN tags. */
	CHECK_EQ(lab_run(&l, 13), 0);
	CHECK_EQ(l.ctx.cnt.drop_eth_short, 1);
	make_arp(l.frame, BCAST, 1, DECKY_IP);
	stk_put_be16(l.frame + 12, 0x8100);
	CHECK_EQ(lab_run(&l, 46), 0);
	CHECK_EQ(l.ctx.cnt.drop_eth_vlan, 1);
	/* A tag the driver stripped (AF_PACKET reports it out of band). */
	make_arp(l.frame, BCAST, 1, DECKY_IP);
	l.pkt.flags = STK_PKT_VLAN;
	CHECK_EQ(lab_run(&l, 42), 0);
	CHECK_EQ(l.ctx.cnt.drop_eth_vlan, 2);
	l.pkt.flags = 0;
	/* Gratuitous ARP builder. */
	struct stk_pkt *g = stk_pool_get(&l.pool);
	CHECK_EQ(stk_arp_build_gratuitous(&l.hosts.hosts[0], g), 42);
	CHECK(memcmp(g->data, BCAST, 6) == 0);
	CHECK_EQ(stk_be16(g->data + 14 + 6), 1);
	CHECK_EQ(stk_load_raw32(g->data + 14 + 14), ip_raw(DECKY_IP));
	CHECK_EQ(stk_load_raw32(g->data + 14 + 24), ip_raw(DECKY_IP));
	stk_pool_put(&l.pool, g);
	lab_free(&l);
}

static void test_echo(void)
{
	struct lab l;
	lab_init(&l, 128, false);
	unsigned len = make_echo(l.frame, DECKY_IP, 9, 56);
	CHECK_EQ(lab_run(&l, len), 1);
	const uint8_t *o = l.tx[0]->data, *ip = o + 14, *ic = ip + 20;
	CHECK_EQ(l.tx[0]->len, len);
	CHECK(memcmp(o, SCANNER_MAC, 6) == 0);
	CHECK(memcmp(o + 6, DECKY_MAC, 6) == 0);
	CHECK_EQ(ip[0], 0x45);
	CHECK_EQ(ip[1], 0x10);
	CHECK_EQ(ip[8], 128);
	CHECK_EQ(stk_csum(ip, 20), 0);
	CHECK_EQ(stk_load_raw32(ip + 12), ip_raw(DECKY_IP));
	CHECK_EQ(stk_load_raw32(ip + 16), ip_raw(SCANNER_IP));
	CHECK_EQ(ic[0], 0);
	CHECK_EQ(ic[1], 0); /* this policy zeroes the code */
	CHECK_EQ(stk_csum(ic, 8 + 56), 0);
	CHECK(memcmp(ic + 4, l.frame + 14 + 20 + 4, 4 + 56) == 0);
	uint16_t id1 = stk_be16(ip + 4);
	CHECK_EQ(lab_run(&l, len), 1);
	CHECK_EQ(stk_be16(l.tx[0]->data + 14 + 4), (uint16_t)(id1 + 1));
	CHECK_EQ(l.ctx.cnt.icmp_echo_requests, 2);
	CHECK_EQ(l.ctx.cnt.icmp_echo_replies, 2);
	lab_free(&l);

	/* The other policy keeps the code; the checksum must follow. */
	lab_init(&l, 64, true);
	len = make_echo(l.frame, DECKY_IP, 9, 0);
	CHECK_EQ(lab_run(&l, len), 1);
	CHECK_EQ(l.tx[0]->data[14 + 8], 64);
	CHECK_EQ(l.tx[0]->data[14 + 20 + 1], 9);
	CHECK_EQ(stk_csum(l.tx[0]->data + 34, 8), 0);
	/* A request whose reply would not fit a buffer unfragmented (jumbo
	 * frames on the v3 ring): counted, never built past the buffer. */
	len = make_echo(l.frame, DECKY_IP, 0, 3000);
	CHECK_EQ(lab_run(&l, len), 0);
	CHECK_EQ(l.ctx.cnt.drop_icmp_too_big, 1);
	/* Ethernet padding after the IP packet is not echoed. */
	len = make_echo(l.frame, DECKY_IP, 0, 4);
	CHECK_EQ(lab_run(&l, 60), 1);
	CHECK_EQ(l.tx[0]->len, len);
	lab_free(&l);
}

#define CNT(field) offsetof(struct stk_counters, field)

static void m_ip_csum(uint8_t *f, unsigned *len) { (void)len; f[14 + 10] ^= 1; }
static void m_version(uint8_t *f, unsigned *len) { (void)len; f[14] = 0x65; }
static void m_hlen_small(uint8_t *f, unsigned *len) { (void)len; f[14] = 0x44; }
static void m_hlen_big(uint8_t *f, unsigned *len) { (void)len; f[14] = 0x4f; *len = 14 + 40; }
static void m_totlen(uint8_t *f, unsigned *len) { stk_put_be16(f + 16, (uint16_t)(*len)); }
static void m_short_ip(uint8_t *f, unsigned *len) { (void)f; *len = 14 + 19; }
static void m_frag(uint8_t *f, unsigned *len) { (void)len; stk_put_be16(f + 20, 0x2000); }
static void m_frag_off(uint8_t *f, unsigned *len) { (void)len; stk_put_be16(f + 20, 0x0010); }
static void m_src_zero(uint8_t *f, unsigned *len) { (void)len; memset(f + 26, 0, 4); }
static void m_src_mcast(uint8_t *f, unsigned *len) { (void)len; f[26] = 239; }
static void m_src_loop(uint8_t *f, unsigned *len) { (void)len; f[26] = 127; }
static void m_proto(uint8_t *f, unsigned *len) { (void)len; f[14 + 9] = 47; }
static void m_icmp_csum(uint8_t *f, unsigned *len) { (void)len; f[34 + 2] ^= 0x40; }
static void m_icmp_type(uint8_t *f, unsigned *len)
{
	(void)len;
	f[34] = 13;
	stk_put_be16(f + 36, 0);
	stk_put_be16(f + 36, stk_csum(f + 34, 8 + 16));
}
static void m_icmp_short(uint8_t *f, unsigned *len) { stk_put_be16(f + 16, 27); *len = 14 + 27; }
static void m_eth_bcast(uint8_t *f, unsigned *len) { (void)len; memset(f, 0xff, 6); }
static void m_eth_other(uint8_t *f, unsigned *len) { (void)len; f[5] ^= 1; }
static void m_not_decky(uint8_t *f, unsigned *len) { (void)len; f[33] = 99; }
static void m_ipv6(uint8_t *f, unsigned *len) { (void)len; stk_put_be16(f + 12, 0x86dd); }
static void m_src_group(uint8_t *f, unsigned *len) { (void)len; f[6] |= 1; }

static void fix_ip_csum(uint8_t *f)
{
	stk_put_be16(f + 24, 0);
	stk_put_be16(f + 24, stk_csum(f + 14, 20));
}

static void test_ipv4_drops(void)
{
	static const struct {
		const char *what;
		size_t counter;
		void (*mangle)(uint8_t *f, unsigned *len);
		bool refix_csum;
	} cases[] = {
		{"bad IP checksum", CNT(drop_ip_csum), m_ip_csum, false},
		{"IP version 6 in an IPv4 frame", CNT(drop_ip_version), m_version, true},
		{"IHL 4", CNT(drop_ip_hlen), m_hlen_small, true},
		{"IHL past the frame", CNT(drop_ip_hlen), m_hlen_big, false},
		{"total length past the frame", CNT(drop_ip_len), m_totlen, true},
		{"19-byte IP header", CNT(drop_ip_short), m_short_ip, false},
		{"MF fragment", CNT(drop_ip_fragment), m_frag, true},
		{"fragment offset", CNT(drop_ip_fragment), m_frag_off, true},
		{"source 0.0.0.0", CNT(drop_ip_src), m_src_zero, true},
		{"multicast source", CNT(drop_ip_src), m_src_mcast, true},
		{"loopback source", CNT(drop_ip_src), m_src_loop, true},
		{"GRE", CNT(drop_ip_proto), m_proto, true},
		{"ICMP checksum", CNT(drop_icmp_csum), m_icmp_csum, false},
		{"timestamp request", CNT(drop_icmp_type), m_icmp_type, false},
		{"7-byte ICMP", CNT(drop_icmp_short), m_icmp_short, true},
		{"broadcast frame", CNT(ignored_broadcast_ip), m_eth_bcast, false},
		{"other station's MAC", CNT(drop_eth_dst), m_eth_other, false},
		{"not a decky", CNT(ignored_not_decky), m_not_decky, false},
		{"IPv6", CNT(ignored_not_decky), m_ipv6, false},
		{"multicast source MAC", CNT(drop_eth_src), m_src_group, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lab l;
		lab_init(&l, 64, true);
		unsigned len = make_echo(l.frame, DECKY_IP, 0, 16);
		cases[i].mangle(l.frame, &len);
		if (cases[i].refix_csum)
			fix_ip_csum(l.frame);
		unsigned n = lab_run(&l, len);
		uint64_t v;
		memcpy(&v, (uint8_t *)&l.ctx.cnt + cases[i].counter, 8);
		if (n != 0 || v != 1)
			fprintf(stderr, "  case '%s': answers %u, counter %llu\n", cases[i].what, n,
				(unsigned long long)v);
		CHECK(n == 0 && v == 1);
		CHECK_EQ(l.ctx.cnt.icmp_echo_replies, 0);
		lab_free(&l);
	}
}

static void test_tx_limits(void)
{
	struct lab l;
	lab_init(&l, 64, true);
	unsigned len = make_arp(l.frame, BCAST, 1, DECKY_IP);
	struct stk_pkt *rx[12];
	for (int i = 0; i < 12; i++)
		rx[i] = &l.pkt;
	l.pkt.len = len;
	struct stk_pkt *tx[12];
	unsigned n_tx = 0;
	/* tx_cap 4: four answers, eight counted as burst-full. */
	stk_input_burst(&l.ctx, rx, 12, tx, 4, &n_tx);
	CHECK_EQ(n_tx, 4);
	CHECK_EQ(l.ctx.cnt.drop_tx_full, 8);
	for (unsigned i = 0; i < n_tx; i++)
		stk_pool_put(&l.pool, tx[i]);
	/* Pool of 8: eight answers, four counted as no-buffer. */
	n_tx = 0;
	stk_input_burst(&l.ctx, rx, 12, tx, 12, &n_tx);
	CHECK_EQ(n_tx, 8);
	CHECK_EQ(l.ctx.cnt.drop_tx_nobuf, 4);
	for (unsigned i = 0; i < n_tx; i++)
		stk_pool_put(&l.pool, tx[i]);
	CHECK_EQ(l.ctx.cnt.rx_frames, 24);
	lab_free(&l);
}

int main(void)
{
	test_checksum();
	test_checksum_lengths();
	test_cursor();
	test_hosts();
	test_arp();
	test_echo();
	test_ipv4_drops();
	test_tx_limits();
	return tap_done();
}
