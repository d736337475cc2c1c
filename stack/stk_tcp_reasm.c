/* Out-of-order segments: kept until the hole before them is filled, so a
 * single loss costs the peer one retransmission, not a window's worth.
 *
 * Each queued segment takes one 2 KiB chunk of the send-buffer pool, its
 * header in the first bytes: a list sorted by sequence number, headed by
 * the flow's ooo_head. Bounded three ways: only inside the window we
 * offered, at most STK_REASM_MAX segments per flow, and never the last
 * quarter of the pool (that stays for what services send). What does not
 * fit is dropped and counted, as before: the peer retransmits it.
 *
 * With SACK negotiated, our ACKs report the queued ranges (RFC 2018), the
 * one holding the latest segment first.
 */
#include "stack/stk_tcp_int.h"

#include <string.h>

#define STK_REASM_MAX 64u

struct reasm_hdr {
	uint32_t seq;
	uint32_t next;   /* chunk index, STK_NONE at the end */
	uint16_t len;
	uint8_t fin;
	uint8_t pad;
};

#define REASM_DATA (STK_TCP_CHUNK - sizeof(struct reasm_hdr))

static inline uint8_t *chunk_at(const struct stk_tcp *t, uint32_t c)
{
	return t->chunk_mem + (size_t)c * STK_TCP_CHUNK;
}

/* Chunks are 2 KiB apart in a malloc'd block: the header is aligned. */
static inline struct reasm_hdr *hdr(const struct stk_tcp *t, uint32_t c)
{
	return (struct reasm_hdr *)(void *)chunk_at(t, c);
}

bool stk_reasm_insert(struct stk_tcp *t, struct stk_tcp_flow *f, uint32_t seq, const uint8_t *d, unsigned len,
		      bool fin)
{
	if (!len || len > REASM_DATA || f->ooo_count >= STK_REASM_MAX || t->chunk_free == STK_NONE ||
	    t->n_chunks - t->chunks_used <= t->n_chunks / 4)
		return false;
	/* Find the place; a segment already covered is a duplicate. */
	uint32_t *link = &f->ooo_head;
	while (*link != STK_NONE) {
		const struct reasm_hdr *h = hdr(t, *link);
		if (seq_leq(h->seq, seq) && seq_geq(h->seq + h->len, seq + len))
			return true;
		if (seq_gt(h->seq, seq))
			break;
		link = &hdr(t, *link)->next;
	}
	uint32_t c = t->chunk_free;
	t->chunk_free = t->chunk_next[c];
	t->chunks_used++;
	struct reasm_hdr *h = hdr(t, c);
	h->seq = seq;
	h->next = *link;
	h->len = (uint16_t)len;
	h->fin = fin;
	h->pad = 0;
	memcpy(chunk_at(t, c) + sizeof(*h), d, len);
	*link = c;
	f->ooo_count++;
	f->ooo_last = seq;
	return true;
}

bool stk_reasm_peek(const struct stk_tcp *t, const struct stk_tcp_flow *f, uint32_t *seq, const uint8_t **d,
		    unsigned *len, bool *fin)
{
	if (f->ooo_head == STK_NONE)
		return false;
	const struct reasm_hdr *h = hdr(t, f->ooo_head);
	*seq = h->seq;
	*d = chunk_at(t, f->ooo_head) + sizeof(*h);
	*len = h->len;
	*fin = h->fin;
	return true;
}

void stk_reasm_pop(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	uint32_t c = f->ooo_head;
	f->ooo_head = hdr(t, c)->next;
	f->ooo_count--;
	t->chunk_next[c] = t->chunk_free;
	t->chunk_free = c;
	t->chunks_used--;
}

void stk_reasm_free_all(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	while (f->ooo_head != STK_NONE)
		stk_reasm_pop(t, f);
}

unsigned stk_reasm_sack(const struct stk_tcp *t, const struct stk_tcp_flow *f, uint32_t blocks[][2],
			unsigned max)
{
	/* Merge the queue into contiguous ranges, then put the one holding
	 * the latest segment first (RFC 2018 section 4). */
	uint32_t r[STK_REASM_MAX][2];
	unsigned n = 0, first = 0;
	for (uint32_t c = f->ooo_head; c != STK_NONE; c = hdr(t, c)->next) {
		const struct reasm_hdr *h = hdr(t, c);
		if (n && seq_geq(r[n - 1][1], h->seq)) {
			if (seq_gt(h->seq + h->len, r[n - 1][1]))
				r[n - 1][1] = h->seq + h->len;
		} else if (n < STK_REASM_MAX) {
			r[n][0] = h->seq;
			r[n][1] = h->seq + h->len;
			n++;
		}
		if (seq_leq(r[n - 1][0], f->ooo_last) && seq_lt(f->ooo_last, r[n - 1][1]))
			first = n - 1;
	}
	unsigned out = 0;
	for (unsigned k = 0; k < n && out < max; k++) {
		unsigned i = k == 0 ? first : (k <= first ? k - 1 : k);
		blocks[out][0] = r[i][0];
		blocks[out][1] = r[i][1];
		out++;
	}
	return out;
}
