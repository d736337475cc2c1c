/* Fuzz IPv4 reassembly through the frame input path: the input is a
 * sequence of frames (2-byte big-endian length, then the frame), all fed
 * to one stack context with a small reassembly memcap and few slots, so
 * completion, eviction, overlap (the first byte picks the policy),
 * timeouts (each frame advances the clock by its first length byte, in
 * 0.25 s steps) and fragmented answers are all reachable. Every answer
 * must be a well-formed frame or fragment, nothing may outlive
 * stk_frag_destroy, and no pool buffer may leak. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "stack/stk.h"
#include "stack/stk_frag.h"
#include "stack/stk_proto.h"
#include "stack/stk_tcp.h"
#include "stack/stk_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_TX 64

static void check_answer(const struct stk_pkt *p, unsigned mtu)
{
	if (p->len < STK_ETH_HLEN || p->len > p->cap || p->len > STK_ETH_HLEN + mtu)
		abort();
	uint16_t type = stk_be16(p->data + STK_ETH_O_TYPE);
	if (type == STK_ETHERTYPE_ARP)
		return;
	if (type != STK_ETHERTYPE_IPV4)
		abort();
	const uint8_t *ip = p->data + STK_ETH_HLEN;
	unsigned tot = stk_be16(ip + STK_IP4_O_LEN);
	if (STK_ETH_HLEN + tot != p->len || stk_csum(ip, 20) != 0)
		abort();
	/* A whole datagram's L4 checksum must hold; a fragment's cannot be
	 * checked alone. */
	if (!(stk_be16(ip + STK_IP4_O_FRAG) & (STK_IP4_MF | STK_IP4_OFFMASK)) && stk_csum(ip + 20, tot - 20) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac1[6] = {0x00, 0x25, 0x90, 1, 2, 3};
	struct stk_hosts hosts;
	struct stk_pool pool;
	if (size < 1)
		return 0;
	if (stk_hosts_init(&hosts, 4) || stk_pool_init(&pool, FZ_TX))
		abort();
	struct stk_host_policy p1 = {.ttl = 64, .frag_overlap = (uint8_t)(data[0] % 3)};
	stk_hosts_add(&hosts, htonl(0x0a4d000a), mac1, &p1, NULL);
	struct stk_ctx ctx = {.hosts = &hosts, .tx_pool = &pool, .now_ns = 1000000000ull};
	struct stk_frag_cfg cfg;
	stk_frag_cfg_default(&cfg);
	cfg.memcap_bytes = 8192;
	cfg.max_datagrams = 3;
	cfg.mtu = (data[0] & 8) ? 576 : 1500;
	if (stk_frag_init(&ctx, &cfg))
		abort();
	size_t pos = 1;
	while (pos + 2 <= size) {
		size_t len = (size_t)stk_be16(data + pos);
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		ctx.now_ns += (uint64_t)data[pos - 2] * 250000000ull;
		/* Each frame in its own exact-size buffer: overreads are caught. */
		uint8_t *frame = malloc(len ? len : 1);
		memcpy(frame, data + pos, len);
		pos += len;
		struct stk_pkt pkt = {.data = frame, .len = (uint32_t)len, .cap = (uint32_t)len};
		struct stk_pkt *rx = &pkt, *tx[FZ_TX];
		unsigned n_tx = 0;
		stk_input_burst(&ctx, &rx, 1, tx, FZ_TX, &n_tx);
		stk_timers_advance(&ctx, ctx.now_ns, tx, FZ_TX, &n_tx);
		for (unsigned i = 0; i < n_tx; i++) {
			check_answer(tx[i], cfg.mtu);
			stk_pool_put(&pool, tx[i]);
		}
		free(frame);
		if (stk_frag_bytes_held(&ctx) > cfg.memcap_bytes || stk_frag_pending(&ctx) > cfg.max_datagrams)
			abort();
	}
	stk_frag_destroy(&ctx);
	if (pool.n_free != pool.size)
		abort();
	stk_pool_destroy(&pool);
	stk_hosts_destroy(&hosts);
	return 0;
}
