/* AF_PACKET backend: mmap'ed rx and tx rings on one socket, promiscuous
 * (deckies' MACs are not the NIC's), own transmits not looped back.
 *
 * Two ring formats, chosen by --ring:
 *   v2  one frame per slot, the socket wakes per frame. Answer latency is
 *       the scheduler's, tens of microseconds: the default, because a decky
 *       that answers a ping in 4 ms on a LAN is a tell (Honeyd's pcap
 *       batching was one).
 *   v3  variable-size frames packed in blocks; the kernel hands a block
 *       over when it is full or when its retire timer fires (one jiffy at
 *       least: 4 ms with HZ=250). Fewer wake-ups under load: for capture-
 *       heavy deployments where latency matters less than throughput.
 * Transmit, chosen by --tx:
 *   copy  (default) sendmmsg() of the burst's frames: the kernel copies each
 *         into a linear skb. Measured on veth (docs/PERFORMANCE.md): the
 *         cheapest way to hand small frames over.
 *   ring  a PACKET_TX_RING in the same ring format: frames copied into
 *         slots marked SEND_REQUEST and flushed with one send() per burst.
 *         The kernel builds each skb with its data as page fragments of
 *         the ring; a device that cannot take such fragments (veth into
 *         another namespace: skb_orphan_frags_rx) gets a fresh page
 *         allocated and copied per frame (17 % of the engine's CPU in a
 *         profile on the veth lab; docs/PERFORMANCE.md).
 */
#include "engine/eng_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define BLOCK_SIZE (1u << 20)
#define FRAME_SIZE 2048u
#define TX_FRAMES 1024u

struct afp_io {
	struct eng_io io;
	int fd;
	int version; /* TPACKET_V2 or TPACKET_V3 */
	uint8_t *map;
	size_t map_len;
	/* rx */
	uint8_t *rx_ring;
	unsigned rx_blocks;      /* v3: blocks; v2: frames */
	unsigned rx_cur;         /* current block (v3) or frame (v2) */
	unsigned rx_pkt_left;    /* v3: packets left in current block */
	uint8_t *rx_next_hdr;    /* v3: next tpacket3_hdr in current block */
	unsigned release_from;   /* slots handed out since last rx_done */
	unsigned release_n;
	struct stk_pkt rx_pkts[ENG_BURST];
	/* tx */
	uint8_t *tx_ring;        /* NULL: --tx copy (sendmmsg) */
	unsigned tx_cur;
	unsigned tx_pending;
	uint32_t max_frame;      /* interface MTU + Ethernet header */
	struct eng_io_stats st;
};

static inline unsigned status_load(const volatile uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void status_store(volatile uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static uint8_t *rx_slot(struct afp_io *a, unsigned i)
{
	return a->rx_ring + (size_t)i * (a->version == TPACKET_V3 ? BLOCK_SIZE : FRAME_SIZE);
}

static void fill_pkt(struct afp_io *a, struct stk_pkt *p, uint8_t *data, uint32_t snap, uint32_t len,
		     uint32_t status, uint16_t tci, uint32_t sec, uint32_t nsec)
{
	p->flags = 0;
	p->vlan_tci = 0;
	if (status & TP_STATUS_VLAN_VALID) {
		p->flags = STK_PKT_VLAN;
		p->vlan_tci = tci;
	}
	if (status & TP_STATUS_CSUMNOTREADY)
		p->flags |= STK_PKT_CSUM_PARTIAL;
	p->data = data;
	p->len = snap;
	p->cap = snap;
	p->ts_ns = (uint64_t)sec * 1000000000ull + nsec;
	p->port = 0;
	p->pool_idx = UINT32_MAX;
	a->st.rx_frames++;
	a->st.rx_bytes += snap;
	if (snap < len)
		a->st.rx_truncated++;
}

static unsigned rx_burst_v2(struct afp_io *a, struct stk_pkt **pkts, unsigned n)
{
	unsigned got = 0;
	while (got < n && a->release_n < a->rx_blocks) {
		unsigned idx = (a->release_from + a->release_n) % a->rx_blocks;
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)rx_slot(a, idx);
		if (!(status_load(&h->tp_status) & TP_STATUS_USER))
			break;
		struct stk_pkt *p = &a->rx_pkts[got];
		fill_pkt(a, p, (uint8_t *)h + h->tp_mac, h->tp_snaplen, h->tp_len, h->tp_status, h->tp_vlan_tci, h->tp_sec, h->tp_nsec);
		pkts[got++] = p;
		a->release_n++;
	}
	return got;
}

/* A block is counted for release (release_n) as soon as its last frame is
 * handed out, in the same call, so rx_done always returns it: a block held
 * back across calls would keep the socket readable (a busy loop) and, with
 * a one-block ring, stop reception. */
static unsigned rx_burst_v3(struct afp_io *a, struct stk_pkt **pkts, unsigned n)
{
	unsigned got = 0;
	while (got < n) {
		if (!a->rx_pkt_left) {
			if (a->release_n >= a->rx_blocks)
				break;
			unsigned idx = (a->release_from + a->release_n) % a->rx_blocks;
			struct tpacket_block_desc *b = (struct tpacket_block_desc *)rx_slot(a, idx);
			if (!(status_load(&b->hdr.bh1.block_status) & TP_STATUS_USER))
				break;
			a->rx_pkt_left = b->hdr.bh1.num_pkts;
			a->rx_next_hdr = (uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
			if (!a->rx_pkt_left) { /* nothing in it: give it back with the rest */
				a->release_n++;
				a->rx_next_hdr = NULL;
				continue;
			}
		}
		struct tpacket3_hdr *h = (struct tpacket3_hdr *)a->rx_next_hdr;
		struct stk_pkt *p = &a->rx_pkts[got];
		fill_pkt(a, p, (uint8_t *)h + h->tp_mac, h->tp_snaplen, h->tp_len, h->tp_status, h->hv1.tp_vlan_tci, h->tp_sec, h->tp_nsec);
		pkts[got++] = p;
		if (--a->rx_pkt_left) {
			a->rx_next_hdr += h->tp_next_offset;
		} else {
			a->release_n++;
			a->rx_next_hdr = NULL;
		}
	}
	return got;
}

static unsigned afp_rx_burst(struct eng_io *io, struct stk_pkt **pkts, unsigned n)
{
	struct afp_io *a = (struct afp_io *)io;
	if (n > ENG_BURST)
		n = ENG_BURST;
	return a->version == TPACKET_V3 ? rx_burst_v3(a, pkts, n) : rx_burst_v2(a, pkts, n);
}

static void afp_rx_done(struct eng_io *io)
{
	struct afp_io *a = (struct afp_io *)io;
	for (unsigned i = 0; i < a->release_n; i++) {
		unsigned idx = (a->release_from + i) % a->rx_blocks;
		if (a->version == TPACKET_V3) {
			struct tpacket_block_desc *b = (struct tpacket_block_desc *)rx_slot(a, idx);
			status_store(&b->hdr.bh1.block_status, TP_STATUS_KERNEL);
		} else {
			struct tpacket2_hdr *h = (struct tpacket2_hdr *)rx_slot(a, idx);
			status_store(&h->tp_status, TP_STATUS_KERNEL);
		}
	}
	a->release_from = (a->release_from + a->release_n) % a->rx_blocks;
	a->release_n = 0;
}

/* Offset of frame data in a tx slot: the kernel reads it right after the
 * aligned header, minus the sockaddr_ll it reserves for rx. */
static size_t tx_data_off(const struct afp_io *a)
{
	return a->version == TPACKET_V3 ? TPACKET3_HDRLEN - sizeof(struct sockaddr_ll)
					: TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
}

static volatile uint32_t *tx_status(struct afp_io *a, uint8_t *slot)
{
	if (a->version == TPACKET_V3)
		return &((struct tpacket3_hdr *)slot)->tp_status;
	return &((struct tpacket2_hdr *)slot)->tp_status;
}

static void afp_tx_flush(struct eng_io *io)
{
	struct afp_io *a = (struct afp_io *)io;
	if (!a->tx_pending)
		return;
	if (send(a->fd, NULL, 0, MSG_DONTWAIT) < 0) {
		/* EAGAIN/ENOBUFS: the frames are still queued in the ring; keep
		 * them pending so the next flush (at the latest the next burst)
		 * pushes them, rather than leaving them to go out stale. */
		if (errno != EAGAIN && errno != ENOBUFS)
			a->st.tx_errors++;
		return;
	}
	a->tx_pending = 0;
}

/* --tx copy: the kernel copies the frames during the call. Returns the
 * frames consumed (sent, or dropped and counted), as the ring path does.
 * EAGAIN (the socket's send buffer is full) stops the burst: the rest is
 * counted with tx_ring_full (the same meaning: no room to queue it).
 * ENOBUFS is one frame lost further down (a full qdisc, a failed
 * allocation): counted the same way, and the next frame is tried, as
 * PACKET_LOSS makes the ring skip a refused frame. */
static unsigned tx_burst_copy(struct afp_io *a, struct stk_pkt *const *pkts, unsigned n)
{
	enum { CHUNK = 64 };
	struct mmsghdr m[CHUNK];
	struct iovec iov[CHUNK];
	uint8_t orig[CHUNK]; /* packed entry -> its index in the chunk */
	unsigned done = 0;
	while (done < n) {
		/* k frames of the burst, j of them to send: oversized ones are
		 * counted and left out, as with the ring */
		unsigned k = 0, j = 0;
		for (; k < CHUNK && done + k < n; k++) {
			const struct stk_pkt *p = pkts[done + k];
			if (p->len > a->max_frame) {
				a->st.tx_oversize++;
				continue;
			}
			iov[j] = (struct iovec){p->data, p->len};
			m[j] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[j], .msg_iovlen = 1}};
			orig[j++] = (uint8_t)k;
		}
		unsigned off = 0;
		while (off < j) {
			int r = sendmmsg(a->fd, m + off, j - off, MSG_DONTWAIT);
			if (r < 0 && errno == ENOBUFS) {
				a->st.tx_ring_full++;
				off++;
				continue;
			}
			if (r < 0 && errno != EAGAIN) {
				/* Skip the frame the kernel refused (as PACKET_LOSS
				 * does for the ring) and go on with the rest. */
				a->st.tx_errors++;
				off++;
				continue;
			}
			if (r <= 0) {
				a->st.tx_ring_full += n - done - k + (j - off);
				return done + orig[off];
			}
			for (int i = 0; i < r; i++) {
				a->st.tx_frames++;
				a->st.tx_bytes += iov[off + (unsigned)i].iov_len;
			}
			off += (unsigned)r;
		}
		done += k;
	}
	return n;
}

static unsigned afp_tx_burst(struct eng_io *io, struct stk_pkt *const *pkts, unsigned n)
{
	struct afp_io *a = (struct afp_io *)io;
	if (!a->tx_ring)
		return tx_burst_copy(a, pkts, n);
	size_t off = tx_data_off(a);
	unsigned sent = 0;
	for (; sent < n; sent++) {
		uint8_t *slot = a->tx_ring + (size_t)a->tx_cur * FRAME_SIZE;
		volatile uint32_t *status = tx_status(a, slot);
		uint32_t s = status_load(status);
		if (s & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING)) {
			/* Ring full of queued frames: push them to the kernel now
			 * instead of dropping what the rest of this burst built. */
			a->tx_pending = a->tx_pending ? a->tx_pending : 1;
			afp_tx_flush(io);
			s = status_load(status);
			if (s & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING)) {
				a->st.tx_ring_full += n - sent;
				break;
			}
		}
		uint32_t len = pkts[sent]->len;
		/* The kernel would refuse it: count it here. An echo reply is as
		 * long as its request, and requests may arrive over the MTU. */
		if (len > FRAME_SIZE - off || len > a->max_frame) {
			a->st.tx_oversize++;
			continue;
		}
		memcpy(slot + off, pkts[sent]->data, len);
		if (a->version == TPACKET_V3) {
			struct tpacket3_hdr *h = (struct tpacket3_hdr *)slot;
			h->tp_len = len;
			h->tp_snaplen = len;
			h->tp_next_offset = 0;
		} else {
			struct tpacket2_hdr *h = (struct tpacket2_hdr *)slot;
			h->tp_len = len;
			h->tp_snaplen = len;
		}
		status_store(status, TP_STATUS_SEND_REQUEST);
		a->tx_cur = (a->tx_cur + 1) % TX_FRAMES;
		a->tx_pending++;
		a->st.tx_frames++;
		a->st.tx_bytes += len;
	}
	return sent;
}

static int afp_fd(struct eng_io *io)
{
	return ((struct afp_io *)io)->fd;
}

static int afp_eof(struct eng_io *io)
{
	(void)io;
	return 0;
}

static void afp_stats(struct eng_io *io, struct eng_io_stats *out)
{
	struct afp_io *a = (struct afp_io *)io;
	struct tpacket_stats_v3 ks;
	socklen_t kl = sizeof(ks);
	/* Reading resets the kernel's counters: accumulate. */
	if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &kl) == 0)
		a->st.rx_kernel_drops += ks.tp_drops;
	*out = a->st;
}

static void afp_close(struct eng_io *io)
{
	struct afp_io *a = (struct afp_io *)io;
	if (a->map && a->map != MAP_FAILED)
		munmap(a->map, a->map_len);
	if (a->fd >= 0)
		close(a->fd);
	free(a);
}

static const struct eng_io_ops afp_ops = {
	.name = "afpacket",
	.rx_burst = afp_rx_burst,
	.rx_done = afp_rx_done,
	.tx_burst = afp_tx_burst,
	.tx_flush = afp_tx_flush,
	.fd = afp_fd,
	.eof = afp_eof,
	.stats = afp_stats,
	.close = afp_close,
};

static int setup_rings(struct afp_io *a, const struct eng_io_cfg *cfg, char *err, unsigned errlen)
{
	int v = a->version;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0) {
		snprintf(err, errlen, "PACKET_VERSION: %s", strerror(errno));
		return -errno;
	}
	size_t tx_len = cfg->tx_ring ? (size_t)TX_FRAMES * FRAME_SIZE : 0;
	unsigned mib = cfg->ring_blocks ? cfg->ring_blocks : 8;
	size_t rx_len = (size_t)mib * BLOCK_SIZE;
	/* struct tpacket_req3 starts with the four fields of struct
	 * tpacket_req, so one request serves both versions: v2 passes the
	 * shorter size and the kernel reads only those. */
	struct tpacket_req3 rx = {
		.tp_block_size = BLOCK_SIZE,
		.tp_block_nr = mib,
		.tp_frame_size = FRAME_SIZE,
		.tp_frame_nr = mib * (BLOCK_SIZE / FRAME_SIZE),
		.tp_retire_blk_tov = v == TPACKET_V3 ? 1 : 0, /* ms; rounded up to a jiffy */
	};
	struct tpacket_req3 tx = {
		.tp_block_size = BLOCK_SIZE,
		.tp_block_nr = (unsigned)(tx_len / BLOCK_SIZE),
		.tp_frame_size = FRAME_SIZE,
		.tp_frame_nr = TX_FRAMES,
	};
	socklen_t req_len = v == TPACKET_V3 ? sizeof(struct tpacket_req3) : sizeof(struct tpacket_req);
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &rx, req_len) < 0 ||
	    (tx_len && setsockopt(a->fd, SOL_PACKET, PACKET_TX_RING, &tx, req_len) < 0)) {
		snprintf(err, errlen, "packet ring setup: %s", strerror(errno));
		return -errno;
	}
	/* v3 hands out blocks, v2 frames. */
	a->rx_blocks = v == TPACKET_V3 ? mib : rx.tp_frame_nr;
	a->map_len = rx_len + tx_len;
	a->map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED | MAP_POPULATE,
		      a->fd, 0);
	if (a->map == MAP_FAILED) /* MAP_LOCKED may exceed RLIMIT_MEMLOCK: retry */
		a->map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, a->fd, 0);
	if (a->map == MAP_FAILED) {
		snprintf(err, errlen, "mmap packet rings: %s", strerror(errno));
		return -errno;
	}
	a->rx_ring = a->map;
	a->tx_ring = tx_len ? a->map + rx_len : NULL;
	if (!tx_len) {
		/* Room for several bursts of answers in flight on a slow device;
		 * FORCE needs CAP_NET_ADMIN, the plain one is capped by
		 * net.core.wmem_max. */
		int sndbuf = 4 << 20;
		if (setsockopt(a->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
			setsockopt(a->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	}
	return 0;
}

int eng_io_afpacket_open(const struct eng_io_cfg *cfg, struct eng_io **out, char *err, unsigned errlen)
{
	int rc;
	struct afp_io *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->io.ops = &afp_ops;
	a->map = MAP_FAILED;
	a->version = cfg->ring_v3 ? TPACKET_V3 : TPACKET_V2;
	/* Protocol 0 until bind(): no frame from another interface can slip
	 * into the ring before it is bound. */
	a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "AF_PACKET socket: %s%s", strerror(errno),
			 errno == EPERM ? " (needs root or CAP_NET_RAW)" : "");
		goto fail;
	}
	a->io.ifindex = (int)if_nametoindex(cfg->ifname);
	if (!a->io.ifindex) {
		rc = -ENODEV;
		snprintf(err, errlen, "interface %s: %s", cfg->ifname, strerror(errno));
		goto fail;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->ifname);
	if (ioctl(a->fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(a->io.mac, ifr.ifr_hwaddr.sa_data, 6);
	a->max_frame = 1500 + 14;
	if (ioctl(a->fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
		a->max_frame = (uint32_t)ifr.ifr_mtu + 14;

	/* Our own transmits must not come back as input. */
	int one = 1;
	setsockopt(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	/* A frame the kernel refuses must not block the tx ring: with
	 * PACKET_LOSS it is marked and skipped, not retried forever. */
	if (setsockopt(a->fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "PACKET_LOSS: %s", strerror(errno));
		goto fail;
	}
	rc = setup_rings(a, cfg, err, errlen);
	if (rc)
		goto fail;
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = a->io.ifindex,
	};
	if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "bind to %s: %s", cfg->ifname, strerror(errno));
		goto fail;
	}
	/* Deckies own MACs that are not the NIC's. The membership is dropped
	 * by the kernel when the socket closes, so a crash cannot leave the
	 * NIC promiscuous. */
	struct packet_mreq mr = {.mr_ifindex = a->io.ifindex, .mr_type = PACKET_MR_PROMISC};
	if (setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "promiscuous mode on %s: %s", cfg->ifname, strerror(errno));
		goto fail;
	}
	*out = &a->io;
	return 0;
fail:
	afp_close(&a->io);
	return rc;
}
