/* In-memory backend for benchmarks and tests: rx hands out the given frames
 * in order (cycling when loop is set); tx copies the last frame aside and
 * counts. No syscalls, so a benchmark measures the stack, not the kernel. */
#include "engine/eng_io.h"

#include <stdlib.h>
#include <string.h>

struct mem_io {
	struct eng_io io;
	struct stk_pkt *frames;
	unsigned n_frames;
	unsigned next;
	int loop;
	int done;
	struct stk_pkt *out[ENG_BURST];
	uint8_t last[STK_PKT_BUF_SIZE];
	unsigned last_len;
	struct eng_io_stats st;
};

static unsigned mem_rx_burst(struct eng_io *io, struct stk_pkt **pkts, unsigned n)
{
	struct mem_io *m = (struct mem_io *)io;
	unsigned got = 0;
	while (got < n && !m->done) {
		pkts[got++] = &m->frames[m->next++];
		if (m->next == m->n_frames) {
			m->next = 0;
			if (!m->loop)
				m->done = 1;
		}
	}
	m->st.rx_frames += got;
	return got;
}

static void mem_rx_done(struct eng_io *io)
{
	(void)io;
}

static unsigned mem_tx_burst(struct eng_io *io, struct stk_pkt *const *pkts, unsigned n)
{
	struct mem_io *m = (struct mem_io *)io;
	if (n) {
		m->last_len = pkts[n - 1]->len;
		memcpy(m->last, pkts[n - 1]->data, m->last_len);
	}
	m->st.tx_frames += n;
	return n;
}

static void mem_tx_flush(struct eng_io *io)
{
	(void)io;
}

static int mem_fd(struct eng_io *io)
{
	(void)io;
	return -1;
}

static int mem_eof(struct eng_io *io)
{
	return ((struct mem_io *)io)->done;
}

static void mem_stats(struct eng_io *io, struct eng_io_stats *out)
{
	*out = ((struct mem_io *)io)->st;
}

static void mem_close(struct eng_io *io)
{
	free(io);
}

static const struct eng_io_ops mem_ops = {
	.name = "mem",
	.rx_burst = mem_rx_burst,
	.rx_done = mem_rx_done,
	.tx_burst = mem_tx_burst,
	.tx_flush = mem_tx_flush,
	.fd = mem_fd,
	.eof = mem_eof,
	.stats = mem_stats,
	.close = mem_close,
};

struct eng_io *eng_io_mem_new(struct stk_pkt *frames, unsigned n_frames, int loop)
{
	struct mem_io *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->io.ops = &mem_ops;
	m->frames = frames;
	m->n_frames = n_frames;
	m->loop = loop;
	m->done = n_frames == 0;
	return &m->io;
}

const uint8_t *eng_io_mem_last_tx(struct eng_io *io, unsigned *len)
{
	struct mem_io *m = (struct mem_io *)io;
	*len = m->last_len;
	return m->last;
}
