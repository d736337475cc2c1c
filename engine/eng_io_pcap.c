/* pcap file backend: frames from a capture file in, answers to another
 * capture file out. Used by replay tests (a recorded capture in, expected
 * answers compared byte for byte) and for offline analysis of a capture.
 *
 * Frames are read one burst at a time into our own buffers, so they stay
 * valid until rx_done as the burst contract says.
 */
#include "decnet_config.h"
#include "engine/eng_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if HAVE_PCAP
#include <pcap/pcap.h>

struct pcap_io {
	struct eng_io io;
	pcap_t *in;
	pcap_t *dead;
	pcap_dumper_t *out;
	int at_eof;
	uint64_t last_ts_us;
	struct stk_pkt pkts[ENG_BURST];
	uint8_t bufs[ENG_BURST][STK_PKT_BUF_SIZE];
	struct eng_io_stats st;
};

static unsigned pcapio_rx_burst(struct eng_io *io, struct stk_pkt **pkts, unsigned n)
{
	struct pcap_io *p = (struct pcap_io *)io;
	unsigned got = 0;
	if (n > ENG_BURST)
		n = ENG_BURST;
	while (got < n && !p->at_eof) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int r = pcap_next_ex(p->in, &h, &data);
		if (r != 1) {
			p->at_eof = 1;
			break;
		}
		uint32_t len = h->caplen;
		if (len > STK_PKT_BUF_SIZE) {
			len = STK_PKT_BUF_SIZE;
			p->st.rx_truncated++;
		}
		if (h->caplen < h->len)
			p->st.rx_truncated++;
		struct stk_pkt *k = &p->pkts[got];
		memcpy(p->bufs[got], data, len);
		k->data = p->bufs[got];
		k->len = len;
		k->cap = STK_PKT_BUF_SIZE;
		p->last_ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		k->ts_ns = p->last_ts_us * 1000u;
		k->port = 0;
		k->flags = 0;
		k->vlan_tci = 0;
		k->pool_idx = UINT32_MAX;
		pkts[got++] = k;
		p->st.rx_frames++;
		p->st.rx_bytes += len;
	}
	return got;
}

static void pcapio_rx_done(struct eng_io *io)
{
	(void)io;
}

static unsigned pcapio_tx_burst(struct eng_io *io, struct stk_pkt *const *pkts, unsigned n)
{
	struct pcap_io *p = (struct pcap_io *)io;
	for (unsigned i = 0; i < n; i++) {
		/* Answers carry the time of the frame that caused them, so a
		 * replay's output is deterministic. */
		struct pcap_pkthdr h = {
			.ts = {.tv_sec = (time_t)(p->last_ts_us / 1000000u),
			       .tv_usec = (suseconds_t)(p->last_ts_us % 1000000u)},
			.caplen = pkts[i]->len,
			.len = pkts[i]->len,
		};
		if (p->out)
			pcap_dump((u_char *)p->out, &h, pkts[i]->data);
		p->st.tx_frames++;
		p->st.tx_bytes += pkts[i]->len;
	}
	return n;
}

static void pcapio_tx_flush(struct eng_io *io)
{
	struct pcap_io *p = (struct pcap_io *)io;
	if (p->out)
		pcap_dump_flush(p->out);
}

static int pcapio_fd(struct eng_io *io)
{
	(void)io;
	return -1;
}

static int pcapio_eof(struct eng_io *io)
{
	return ((struct pcap_io *)io)->at_eof;
}

static void pcapio_stats(struct eng_io *io, struct eng_io_stats *out)
{
	*out = ((struct pcap_io *)io)->st;
}

static void pcapio_close(struct eng_io *io)
{
	struct pcap_io *p = (struct pcap_io *)io;
	if (p->out)
		pcap_dump_close(p->out);
	if (p->dead)
		pcap_close(p->dead);
	if (p->in)
		pcap_close(p->in);
	free(p);
}

static const struct eng_io_ops pcapio_ops = {
	.name = "pcap",
	.rx_burst = pcapio_rx_burst,
	.rx_done = pcapio_rx_done,
	.tx_burst = pcapio_tx_burst,
	.tx_flush = pcapio_tx_flush,
	.fd = pcapio_fd,
	.eof = pcapio_eof,
	.stats = pcapio_stats,
	.close = pcapio_close,
};

int eng_io_pcap_open(const struct eng_io_cfg *cfg, struct eng_io **out, char *err, unsigned errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	if (!cfg->pcap_in) {
		snprintf(err, errlen, "pcap backend needs an input capture (--pcap-in FILE)");
		return -EINVAL;
	}
	struct pcap_io *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->io.ops = &pcapio_ops;
	p->in = pcap_open_offline(cfg->pcap_in, perr);
	if (!p->in) {
		snprintf(err, errlen, "%s", perr);
		goto fail;
	}
	if (pcap_datalink(p->in) != DLT_EN10MB) {
		snprintf(err, errlen, "%s: link type %s, only Ethernet captures are supported",
			 cfg->pcap_in, pcap_datalink_val_to_name(pcap_datalink(p->in)));
		goto fail;
	}
	if (cfg->pcap_out) {
		p->dead = pcap_open_dead(DLT_EN10MB, 65535);
		p->out = p->dead ? pcap_dump_open(p->dead, cfg->pcap_out) : NULL;
		if (!p->out) {
			snprintf(err, errlen, "%s: %s", cfg->pcap_out,
				 p->dead ? pcap_geterr(p->dead) : "pcap_open_dead failed");
			goto fail;
		}
	}
	*out = &p->io;
	return 0;
fail:
	pcapio_close(&p->io);
	return -EINVAL;
}
#else
int eng_io_pcap_open(const struct eng_io_cfg *cfg, struct eng_io **out, char *err, unsigned errlen)
{
	(void)cfg;
	(void)out;
	snprintf(err, errlen, "built without libpcap: install libpcap-dev and rebuild for the pcap backend");
	return -ENOTSUP;
}
#endif
