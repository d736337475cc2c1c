/* decnet_xdp: the XDP filter in front of decnetd's AF_XDP socket.
 *
 * AF_PACKET sees copies; XDP_REDIRECT takes the frame away from the
 * kernel. So this program redirects only what belongs to the engine and
 * passes everything else, untouched, to the host's own stack (the NIC's
 * address, its ARP, its SSH must keep working):
 *   - unicast to a decky's MAC (decky traffic, ARP replies to a decky,
 *     backends' replies routed back through a decky for steering);
 *   - broadcast or multicast ARP whose target is a decky's IPv4 address;
 *   - broadcast or multicast IPv4 to a decky's address.
 * decnetd keeps the two maps in step with its fleet (eng_io_xdp.c).
 * Frames for a queue with no socket bound fall back to XDP_PASS.
 *
 * Built with clang -target bpf and embedded in decnetd as bytes.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL"; /* GPL-compatible, as the kernel asks of XDP programs */

struct mac_key {
	__u8 addr[ETH_ALEN];
};

/* Sizes are set by decnetd before loading (--max-deckies). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct mac_key);
	__type(value, __u8);
	__uint(max_entries, 1024);
} decnet_macs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32); /* network byte order */
	__type(value, __u8);
	__uint(max_entries, 1024);
} decnet_ips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 64);
} decnet_xsks SEC(".maps");

/* The ARP header as it sits on Ethernet/IPv4 (28 bytes, unaligned
 * addresses: byte arrays). */
struct arp_ipv4 {
	__be16 htype, ptype;
	__u8 hlen, plen;
	__be16 op;
	__u8 sha[ETH_ALEN], spa[4], tha[ETH_ALEN], tpa[4];
};

static __always_inline int ip_is_decky(const __u8 *p)
{
	__u32 ip;
	__builtin_memcpy(&ip, p, 4);
	return bpf_map_lookup_elem(&decnet_ips, &ip) != 0;
}

SEC("xdp")
int decnet_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	struct mac_key dst;
	__builtin_memcpy(dst.addr, eth->h_dest, ETH_ALEN);
	if (bpf_map_lookup_elem(&decnet_macs, &dst))
		goto redirect;
	if (!(dst.addr[0] & 1)) /* unicast, not a decky's: the host's */
		return XDP_PASS;
	void *l3 = eth + 1;
	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		struct arp_ipv4 *a = l3;
		if ((void *)(a + 1) > end || a->ptype != bpf_htons(ETH_P_IP) || a->plen != 4)
			return XDP_PASS;
		if (ip_is_decky(a->tpa))
			goto redirect;
		return XDP_PASS;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		/* daddr is at offset 16 of the IPv4 header */
		__u8 *ip = l3;
		if ((void *)(ip + 20) > end)
			return XDP_PASS;
		if (ip_is_decky(ip + 16))
			goto redirect;
	}
	return XDP_PASS;
redirect:
	return bpf_redirect_map(&decnet_xsks, ctx->rx_queue_index, XDP_PASS);
}
