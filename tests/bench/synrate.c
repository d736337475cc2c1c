/* synrate: a bounded SYN generator and SYN-ACK counter for the veth lab
 * (tests/bench/bench_veth_syn.sh). Not part of the engine.
 *
 * Sends COUNT SYNs at a fixed offered RATE (paced in batches of 64 with
 * sendmmsg on an AF_PACKET socket, so no kernel TCP state on the sending
 * side; sleeping between batches) from distinct 4-tuples: SYN i of a run
 * started at tuple FIRST (default 0) comes from address SRC_BASE +
 * (FIRST + i) % N_SRC, port 1024 + (FIRST + i) / N_SRC % 64000 (random
 * ports repeated tuples: with 1 024 sources, ~0.1 % of 140 000 SYNs met an
 * earlier SYN's tuple, and a listener's answer to a duplicate acknowledges
 * the first SYN, not the new one, which read as a lost SYN), each with
 * sequence number SEQ_BASE + i; counts the distinct
 * SYN-ACKs whose ack - 1 - SEQ_BASE names one of them (a BPF-filtered
 * AF_PACKET socket: retransmitted SYN-ACKs count once), waits WAIT_MS after
 * the last SYN, and prints one line:
 *
 *   offered_pps achieved_pps sent answered answered_pct rx_socket_drops
 *
 * Usage: synrate IFACE DST_MAC DST_IP DPORT SRC_BASE N_SRC RATE COUNT WAIT_MS [FIRST]
 * (steps of one lab pass FIRST past the tuples earlier steps used).
 * Bounds: COUNT <= 20 000 000 and the whole run <= COUNT / RATE + WAIT_MS +
 * 10 s (it stops sending when late by more than that).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FLEN 54 /* Ethernet + IPv4 + TCP, no options */
#define MAX_COUNT 20000000u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	return s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct gen {
	uint8_t dmac[6], smac[6];
	uint32_t dst, src_base, n_src; /* host order */
	uint16_t dport;
	uint32_t seq_base;
	uint64_t first;
};

static void syn_frame(struct gen *g, uint8_t *f, uint32_t i)
{
	memcpy(f, g->dmac, 6);
	memcpy(f + 6, g->smac, 6);
	put16(f + 12, ETHERTYPE_IP);
	uint8_t *ip = f + 14, *t = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, 40);
	put16(ip + 4, (uint16_t)i);
	ip[8] = 64;
	ip[9] = 6;
	uint64_t tuple = g->first + i;
	put32(ip + 12, g->src_base + (uint32_t)(tuple % g->n_src));
	put32(ip + 16, g->dst);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(t, (uint16_t)(1024 + tuple / g->n_src % 64000));
	put16(t + 2, g->dport);
	put32(t + 4, g->seq_base + i);
	t[12] = 0x50;
	t[13] = 0x02;
	put16(t + 14, 64240);
	uint32_t s = csum_add(0, ip + 12, 8) + 6 + 20;
	put16(t + 16, csum_fold(csum_add(s, t, 20)));
}

/* Classic BPF: IPv4, TCP, no fragment offset, flags SYN|ACK exactly set
 * among SYN/ACK/RST, from our destination. */
static int attach_filter(int fd, uint32_t from_ip)
{
	struct sock_filter code[] = {
		{0x28, 0, 0, 12},              /* ldh [12] */
		{0x15, 0, 8, ETHERTYPE_IP},    /* jeq IPv4 */
		{0x30, 0, 0, 23},              /* ldb [23] */
		{0x15, 0, 6, 6},               /* jeq TCP */
		{0x20, 0, 0, 26},              /* ld [26] src */
		{0x15, 0, 4, from_ip},         /* jeq */
		{0x30, 0, 0, 47},              /* ldb [47] flags (IHL 5 assumed) */
		{0x54, 0, 0, 0x16},            /* and SYN|ACK|RST */
		{0x15, 0, 1, 0x12},            /* jeq SYN|ACK */
		{0x06, 0, 0, 0x40000},         /* ret all */
		{0x06, 0, 0, 0},               /* ret 0 */
	};
	struct sock_fprog prog = {sizeof(code) / sizeof(code[0]), code};
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

static int parse_mac(const char *s, uint8_t m[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

/* Drain what the filter let through; returns frames read. */
static unsigned drain(int rx, struct gen *g, uint8_t *seen, uint32_t count, uint64_t *answered)
{
	static uint8_t bufs[BATCH][128];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	unsigned total = 0;
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
			m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		int n = recvmmsg(rx, m, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return total;
		for (int i = 0; i < n; i++) {
			if (m[i].msg_len < FLEN)
				continue;
			uint32_t idx = get32(bufs[i] + 14 + 20 + 8) - 1 - g->seq_base;
			if (idx < count && !(seen[idx / 8] & (1u << (idx % 8)))) {
				seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
				(*answered)++;
			}
		}
		total += (unsigned)n;
	}
}

int main(int argc, char **argv)
{
	if (argc != 10 && argc != 11) {
		fprintf(stderr, "usage: synrate IFACE DST_MAC DST_IP DPORT SRC_BASE N_SRC RATE COUNT WAIT_MS [FIRST]\n");
		return 2;
	}
	struct gen g = {.seq_base = 0x10000000u};
	struct in_addr a;
	unsigned ifindex = if_nametoindex(argv[1]);
	if (!ifindex || parse_mac(argv[2], g.dmac) || inet_pton(AF_INET, argv[3], &a) != 1)
		return 2;
	g.dst = ntohl(a.s_addr);
	g.dport = (uint16_t)strtoul(argv[4], NULL, 10);
	if (inet_pton(AF_INET, argv[5], &a) != 1)
		return 2;
	g.src_base = ntohl(a.s_addr);
	g.n_src = (uint32_t)strtoul(argv[6], NULL, 10);
	double rate = strtod(argv[7], NULL);
	uint32_t count = (uint32_t)strtoul(argv[8], NULL, 10);
	unsigned wait_ms = (unsigned)strtoul(argv[9], NULL, 10);
	g.first = argc == 11 ? strtoull(argv[10], NULL, 10) : 0;
	if (!g.n_src || rate <= 0 || !count || count > MAX_COUNT || wait_ms > 10000)
		return 2;
	if ((g.first + count + g.n_src - 1) / g.n_src > 64000) {
		fprintf(stderr, "synrate: FIRST + COUNT past the %llu distinct tuples of %u sources\n",
		        64000ull * g.n_src, g.n_src);
		return 2;
	}
	int tx = socket(AF_PACKET, SOCK_RAW, 0);
	int rx = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	if (tx < 0 || rx < 0) {
		perror("synrate: socket");
		return 1;
	}
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (ioctl(tx, SIOCGIFHWADDR, &ifr) < 0) {
		perror("synrate: SIOCGIFHWADDR");
		return 1;
	}
	memcpy(g.smac, ifr.ifr_hwaddr.sa_data, 6);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)ifindex, .sll_protocol = htons(ETH_P_IP)};
	int rcvbuf = 64 << 20;
	if (bind(tx, (struct sockaddr *)&sll, sizeof(sll)) < 0 || attach_filter(rx, g.dst) < 0 ||
	    bind(rx, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("synrate: bind/filter");
		return 1;
	}
	if (setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* The filter applies from bind on; drop what queued before it. */
	uint8_t *seen = calloc(count / 8 + 1, 1);
	if (!seen)
		return 1;
	uint64_t answered = 0;
	drain(rx, &g, seen, 0, &answered);
	answered = 0;

	static uint8_t frames[BATCH][FLEN];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(count / rate * 1e9) + 10000000000ull;
	uint32_t sent = 0;
	while (sent < count) {
		uint64_t t = now_ns();
		if (t > deadline)
			break; /* cannot keep up at all: stop, the line says what went out */
		uint64_t due = (uint64_t)((double)(t - t0) * rate / 1e9) + 1;
		if (due > count)
			due = count;
		/* Send in whole batches (or the last few); until the next batch
		 * is due, sleep in ppoll on the receive socket instead of
		 * spinning: on a shared machine a spinning generator takes the
		 * CPU the side being measured needs. */
		if (due < count && due < (uint64_t)sent + BATCH) {
			drain(rx, &g, seen, count, &answered);
			uint64_t next = t0 + (uint64_t)((double)(sent + BATCH) * 1e9 / rate);
			if (next > t) {
				struct timespec ts = {0, (long)(next - t > 999999999 ? 999999999 : next - t)};
				struct pollfd p = {rx, POLLIN, 0};
				ppoll(&p, 1, &ts, NULL);
			}
			continue;
		}
		unsigned n = due - sent > BATCH ? BATCH : (unsigned)(due - sent);
		for (unsigned i = 0; i < n; i++) {
			syn_frame(&g, frames[i], sent + i);
			iov[i] = (struct iovec){frames[i], FLEN};
			m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		int k = sendmmsg(tx, m, n, 0);
		if (k < 0) {
			if (errno == ENOBUFS || errno == EAGAIN)
				continue;
			perror("synrate: sendmmsg");
			break;
		}
		sent += (uint32_t)k;
		drain(rx, &g, seen, count, &answered);
	}
	uint64_t t_end = now_ns();
	uint64_t stop = t_end + (uint64_t)wait_ms * 1000000ull;
	while (now_ns() < stop) {
		struct pollfd p = {rx, POLLIN, 0};
		poll(&p, 1, 10);
		drain(rx, &g, seen, count, &answered);
	}
	struct tpacket_stats st = {0};
	socklen_t sl = sizeof(st);
	getsockopt(rx, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
	double secs = (double)(t_end - t0) / 1e9;
	printf("%.0f %.0f %u %llu %.3f %u\n", rate, sent / (secs > 0 ? secs : 1), sent, (unsigned long long)answered,
	       sent ? 100.0 * (double)answered / sent : 0.0, st.tp_drops);
	free(seen);
	close(tx);
	close(rx);
	return 0;
}
