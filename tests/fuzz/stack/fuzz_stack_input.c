/* Fuzz the whole frame input path (Ethernet -> ARP | IPv4 -> ICMP) the way
 * the engine drives it: arbitrary bytes as one received frame, with two
 * deckies configured, through stk_input_burst. The first input byte picks
 * the frame flags and the decky policy so both echo-code behaviours and
 * the out-of-band VLAN path are reached. Every answer must be a well-formed
 * frame (checked below), and no pool buffer may leak. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "stack/stk.h"
#include "stack/stk_frag.h"
#include "stack/stk_proto.h"
#include "stack/stk_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_answer(const struct stk_pkt *p)
{
	if (p->len < STK_ETH_HLEN || p->len > p->cap)
		abort();
	uint16_t type = stk_be16(p->data + STK_ETH_O_TYPE);
	if (type == STK_ETHERTYPE_ARP) {
		if (p->len != STK_ETH_HLEN + STK_ARP_LEN)
			abort();
		return;
	}
	if (type != STK_ETHERTYPE_IPV4)
		abort();
	const uint8_t *ip = p->data + STK_ETH_HLEN;
	unsigned tot = stk_be16(ip + STK_IP4_O_LEN);
	if (STK_ETH_HLEN + tot != p->len || stk_csum(ip, 20) != 0 || stk_csum(ip + 20, tot - 20) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac1[6] = {0x00, 0x25, 0x90, 1, 2, 3};
	static const uint8_t mac2[6] = {0x00, 0x80, 0x77, 4, 5, 6};
	struct stk_hosts hosts;
	struct stk_pool pool;
	if (size < 1)
		return 0;
	if (stk_hosts_init(&hosts, 4) || stk_pool_init(&pool, 4))
		abort();
	struct stk_host_policy p1 = {.ttl = 64, .icmp_echo_copy_code = data[0] & 1};
	struct stk_host_policy p2 = {.ttl = 128, .icmp_echo_df = (data[0] & 2) != 0};
	stk_hosts_add(&hosts, htonl(0x0a4d000a), mac1, &p1, NULL);
	stk_hosts_add(&hosts, htonl(0x0a4d000b), mac2, &p2, NULL);
	struct stk_ctx ctx = {.hosts = &hosts, .tx_pool = &pool};
	/* Reassembly on for half the inputs: a single frame cannot complete a
	 * datagram, but every fragment check is reached (fuzz_frag.c feeds
	 * sequences). */
	if ((data[0] & 8) && stk_frag_init(&ctx, NULL))
		abort();

	/* The frame in its own exact-size buffer, so any overread is caught. */
	size_t len = size - 1;
	uint8_t *frame = malloc(len ? len : 1);
	memcpy(frame, data + 1, len);
	struct stk_pkt pkt = {.data = frame, .len = (uint32_t)len, .cap = (uint32_t)len,
			      .flags = (data[0] & 4) ? STK_PKT_VLAN : 0};
	struct stk_pkt *rx = &pkt, *tx[2];
	unsigned n_tx = 0;
	stk_input_burst(&ctx, &rx, 1, tx, 2, &n_tx);
	if (n_tx > 1)
		abort();
	for (unsigned i = 0; i < n_tx; i++) {
		check_answer(tx[i]);
		stk_pool_put(&pool, tx[i]);
	}
	if (pool.n_free != pool.size)
		abort();
	free(frame);
	stk_frag_destroy(&ctx);
	stk_pool_destroy(&pool);
	stk_hosts_destroy(&hosts);
	return 0;
}
