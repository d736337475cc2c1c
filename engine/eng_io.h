/* eng_io: packet I/O backends behind one burst interface.
 *
 *   af_packet  mmap rx ring (TPACKET_V2 or V3); transmit by sendmmsg
 *              (default) or a tx ring (--tx ring); any NIC or veth; the
 *              default backend.
 *   pcap       read frames from a capture file, write answers to another;
 *              replay tests and offline analysis (needs libpcap).
 *   xdp        AF_XDP socket on queue 0 behind our own XDP program, which
 *              steals only the deckies' frames from the kernel (needs
 *              libxdp, libbpf and clang at build time).
 *   mem        frames in memory; benchmarks and unit tests.
 *   (DPDK plugs in here with its own issue.)
 *
 * Ownership (see stack/stk_pkt.h):
 *   rx_burst fills pkts[] with frames the backend still owns; they stay
 *   valid until the next rx_burst/rx_done call on the same backend. Callers
 *   call rx_done(n) when finished with them.
 *   tx_burst copies frames out; the caller keeps its buffers. It returns
 *   how many it accepted; the rest are the caller's to count and free.
 */
#ifndef ENG_IO_H
#define ENG_IO_H

#include <stdint.h>

#include "stack/stk_pkt.h"

#define ENG_BURST 64

struct eng_io;

struct eng_io_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_kernel_drops;   /* frames the kernel dropped (ring full) */
	uint64_t rx_truncated;      /* frames cut by the ring's frame size */
	uint64_t tx_ring_full;      /* frames refused: no free tx slot (xdp: also
	                             * frames the device dropped, EBUSY) */
	uint64_t tx_errors;         /* send() failures */
	uint64_t tx_oversize;       /* answers longer than the interface MTU allows */
	uint64_t tx_no_frame;       /* xdp: frames refused: no free UMEM frame */
	/* xdp: the socket's XDP_STATISTICS (the kernel's, cumulative) */
	uint64_t xdp_rx_dropped, xdp_rx_invalid_descs, xdp_tx_invalid_descs;
	uint64_t xdp_rx_ring_full, xdp_rx_fill_ring_empty, xdp_tx_ring_empty;
};

struct eng_io_ops {
	const char *name;
	unsigned (*rx_burst)(struct eng_io *io, struct stk_pkt **pkts, unsigned n);
	void (*rx_done)(struct eng_io *io);
	unsigned (*tx_burst)(struct eng_io *io, struct stk_pkt *const *pkts, unsigned n);
	/* Push queued tx frames to the wire (one syscall per burst, not per
	 * frame). */
	void (*tx_flush)(struct eng_io *io);
	/* A descriptor that polls readable when rx_burst may return frames, or
	 * -1 if the backend is polled (pcap file: always ready until EOF). */
	int (*fd)(struct eng_io *io);
	/* 1 when a finite source (pcap file) is exhausted. */
	int (*eof)(struct eng_io *io);
	void (*stats)(struct eng_io *io, struct eng_io_stats *out);
	void (*close)(struct eng_io *io);
	/* Optional (NULL: the backend sees every frame anyway). A backend
	 * that filters in the kernel (xdp) must be told which addresses are
	 * the engine's: ip_raw in network order. addr_add returns 0 or
	 * -errno and leaves nothing behind on failure. */
	int (*addr_add)(struct eng_io *io, uint32_t ip_raw, const uint8_t mac[6]);
	void (*addr_del)(struct eng_io *io, uint32_t ip_raw, const uint8_t mac[6]);
};

struct eng_io {
	const struct eng_io_ops *ops;
	uint8_t mac[6];   /* the interface's own MAC (zero for files) */
	int ifindex;
	const char *mode; /* how the backend runs, for status/stats; or NULL */
};

enum eng_xdp_mode { ENG_XDP_AUTO, ENG_XDP_NATIVE, ENG_XDP_SKB };

struct eng_io_cfg {
	const char *ifname;     /* af_packet: interface */
	const char *pcap_in;    /* pcap: capture to read */
	const char *pcap_out;   /* pcap: where answers are written */
	unsigned ring_blocks;   /* af_packet: rx ring size in 1 MiB blocks (default 8) */
	int ring_v3;            /* af_packet: 1 = TPACKET_V3 blocks, 0 = TPACKET_V2 frames */
	int tx_ring;            /* af_packet: 1 = PACKET_TX_RING, 0 = sendmmsg copies */
	enum eng_xdp_mode xdp_mode; /* xdp: driver hook, generic (skb) hook, or driver then skb */
	uint32_t max_addrs;     /* xdp: capacity of the decky address maps */
};

/* Each returns 0 and *out, or -errno with a message in err. */
int eng_io_afpacket_open(const struct eng_io_cfg *cfg, struct eng_io **out, char *err, unsigned errlen);
int eng_io_pcap_open(const struct eng_io_cfg *cfg, struct eng_io **out, char *err, unsigned errlen);
/* Only in builds with HAVE_XDP. */
int eng_io_xdp_open(const struct eng_io_cfg *cfg, struct eng_io **out, char *err, unsigned errlen);

/* In-memory backend: rx cycles over the given frames forever (or once when
 * loop is 0); tx counts and discards (or keeps the last frame for checks). */
struct eng_io *eng_io_mem_new(struct stk_pkt *frames, unsigned n_frames, int loop);
const uint8_t *eng_io_mem_last_tx(struct eng_io *io, unsigned *len);

static inline unsigned eng_io_rx_burst(struct eng_io *io, struct stk_pkt **pkts, unsigned n)
{
	return io->ops->rx_burst(io, pkts, n);
}

static inline unsigned eng_io_tx_burst(struct eng_io *io, struct stk_pkt *const *pkts, unsigned n)
{
	return io->ops->tx_burst(io, pkts, n);
}

#endif
