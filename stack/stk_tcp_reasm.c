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
 *
 * The same queue holds in-order bytes the service had no room for: they
 * are acknowledged (below RCV.NXT) and wait, marked held, at the head of
 * the queue until the service takes them (stk_tcp_rcv_drain). Without
 * this, the bytes a service refused were dropped unacknowledged although
 * they were inside the window we offered (the SYN-ACK's window is the
 * persona's, not the service's room), and the peer waited for its RTO.
 * Invariant: the held entries are a prefix of the list, contiguous from
 * the delivery point to RCV.NXT; every other entry starts past RCV.NXT.
 */
#include "stack/stk_tcp_int.h"

#include <string.h>

#define STK_REASM_MAX 64u

struct reasm_hdr {
	uint32_t seq;    /* of the first byte not yet delivered */
	uint32_t next;   /* chunk index, STK_NONE at the end */
	uint16_t len;    /* bytes from seq */
	uint16_t off;    /* where seq's byte is in the data (a trimmed front) */
	uint8_t fin;
	uint8_t held;    /* in order and acknowledged, waiting for the service */
	uint16_t pad;
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

static bool room_for(const struct stk_tcp *t, const struct stk_tcp_flow *f, unsigned len)
{
	return len && len <= REASM_DATA && f->ooo_count < STK_REASM_MAX && t->chunk_free != STK_NONE &&
	       t->n_chunks - t->chunks_used > t->n_chunks / 4;
}

/* A chunk holding len bytes of d at seq, linked in at *link. */
static void put_at(struct stk_tcp *t, struct stk_tcp_flow *f, uint32_t *link, uint32_t seq, const uint8_t *d,
		   unsigned len, bool fin, bool held)
{
	uint32_t c = t->chunk_free;
	t->chunk_free = t->chunk_next[c];
	t->chunks_used++;
	struct reasm_hdr *h = hdr(t, c);
	h->seq = seq;
	h->next = *link;
	h->len = (uint16_t)len;
	h->off = 0;
	h->fin = fin;
	h->held = held;
	h->pad = 0;
	memcpy(h + 1, d, len); /* the data follows the header in the chunk */
	*link = c;
	f->ooo_count++;
}

/* The first n bytes of an entry gone (delivered, or arrived again). */
static void trim_front(struct reasm_hdr *h, uint32_t n)
{
	h->seq += n;
	h->off = (uint16_t)(h->off + n);
	h->len = (uint16_t)(h->len - n);
}

/* The first held entry, or NULL. */
static struct reasm_hdr *held_head(const struct stk_tcp *t, const struct stk_tcp_flow *f)
{
	if (f->ooo_head == STK_NONE || !hdr(t, f->ooo_head)->held)
		return NULL;
	return hdr(t, f->ooo_head);
}

/* The link after the held prefix. */
static uint32_t *after_held(const struct stk_tcp *t, struct stk_tcp_flow *f)
{
	uint32_t *link = &f->ooo_head;
	while (*link != STK_NONE && hdr(t, *link)->held)
		link = &hdr(t, *link)->next;
	return link;
}

bool stk_reasm_insert(struct stk_tcp *t, struct stk_tcp_flow *f, uint32_t seq, const uint8_t *d, unsigned len,
		      bool fin)
{
	if (!room_for(t, f, len))
		return false;
	/* Find the place (past the held bytes, which are all below seq); a
	 * segment already covered is a duplicate. */
	uint32_t *link = after_held(t, f);
	while (*link != STK_NONE) {
		const struct reasm_hdr *h = hdr(t, *link);
		if (seq_leq(h->seq, seq) && seq_geq(h->seq + h->len, seq + len))
			return true;
		if (seq_gt(h->seq, seq))
			break;
		link = &hdr(t, *link)->next;
	}
	put_at(t, f, link, seq, d, len, fin, false);
	f->ooo_last = seq;
	return true;
}

bool stk_reasm_hold(struct stk_tcp *t, struct stk_tcp_flow *f, const uint8_t *d, unsigned len)
{
	if (!room_for(t, f, len))
		return false;
	put_at(t, f, after_held(t, f), f->rcv_nxt, d, len, false, true);
	f->rcv_nxt += len;
	return true;
}

static void unlink_at(struct stk_tcp *t, struct stk_tcp_flow *f, uint32_t *link)
{
	uint32_t c = *link;
	*link = hdr(t, c)->next;
	f->ooo_count--;
	t->chunk_next[c] = t->chunk_free;
	t->chunk_free = c;
	t->chunks_used--;
}

bool stk_reasm_absorb(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	uint32_t *link = after_held(t, f);
	while (*link != STK_NONE) {
		struct reasm_hdr *h = hdr(t, *link);
		if (seq_gt(h->seq, f->rcv_nxt))
			break;
		uint32_t end = h->seq + h->len;
		if (seq_leq(end, f->rcv_nxt)) { /* all of it arrived again since */
			bool fin_next = h->fin && end == f->rcv_nxt;
			unlink_at(t, f, link);
			if (fin_next)
				return true;
			continue;
		}
		trim_front(h, f->rcv_nxt - h->seq);
		h->held = 1;
		f->rcv_nxt = end;
		if (h->fin) {
			h->fin = 0;
			return true; /* the FIN is next: nothing past it counts */
		}
		link = &h->next;
	}
	return false;
}

bool stk_reasm_held_peek(const struct stk_tcp *t, const struct stk_tcp_flow *f, const uint8_t **d, unsigned *len)
{
	const struct reasm_hdr *h = held_head(t, f);
	if (!h)
		return false;
	*d = (const uint8_t *)(h + 1) + h->off;
	*len = h->len;
	return true;
}

void stk_reasm_held_consume(struct stk_tcp *t, struct stk_tcp_flow *f, unsigned n)
{
	struct reasm_hdr *h = hdr(t, f->ooo_head);
	if (n >= h->len)
		unlink_at(t, f, &f->ooo_head);
	else
		trim_front(h, n);
}

uint32_t stk_reasm_held_bytes(const struct stk_tcp *t, const struct stk_tcp_flow *f)
{
	const struct reasm_hdr *h = held_head(t, f);
	/* contiguous up to RCV.NXT, which a FIN after them moved one further */
	return h ? f->rcv_nxt - h->seq - !!(f->flags & STK_F_PEER_FIN) : 0;
}

void stk_reasm_free_all(struct stk_tcp *t, struct stk_tcp_flow *f)
{
	while (f->ooo_head != STK_NONE)
		unlink_at(t, f, &f->ooo_head);
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
		if (h->held)
			continue; /* acknowledged: below RCV.NXT */
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
