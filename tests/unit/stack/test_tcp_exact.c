/* A persona's exact SYN answers (stk_tcp_exact.c) after the first one:
 * for every nmap-os-db entry (every 8th under the sanitizers), a decky
 * wearing it gets each of nmap's SYN probe layouts (SEQ 1..6, ECN) and
 *  - when its answer is a SYN-ACK: the SYN-ACK retransmitted while the
 *    peer stays silent (SYN cache), the one answering the peer's own
 *    retransmitted SYN (flow), and the flow's next retransmission are the
 *    first answer again — flags, sequence and acknowledgment numbers,
 *    window, option bytes (but TSval), TTL, DF, length; and the ACK of
 *    that sequence number completes the handshake with the window scale
 *    the answer offered;
 *  - when its answer is a RST or a bare ACK: nothing is kept, nothing
 *    follows.
 * Before, the half-open connection went on with the generic template: a
 * second SYN-ACK unlike the first, or a SYN-ACK after a RST (a tell for a
 * scanner that drops its own RSTs).
 * DECNET_EXACT_STRIDE=N overrides the stride. */
#include <stdlib.h>
#include <string.h>

#include "fingerprints/fp_persona.h"
#include "stack/stk_persona.h"
#include "tests/unit/fingerprints/fp_test_db.h"
#include "tests/unit/stack/nmap_sim.h"
#include "tests/unit/tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define EXACT_STRIDE 8
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXACT_STRIDE 8
#endif
#endif
#ifndef EXACT_STRIDE
#define EXACT_STRIDE 1
#endif

/* The answer in l->tx addressed to peer port sport, if any. */
static bool answer_to(struct tl *l, unsigned n, uint16_t sport, struct tl_out *o)
{
	for (unsigned i = 0; i < n; i++)
		if (tl_parse(l, i, o) && o->proto == STK_IPPROTO_TCP && o->dport == sport)
			return true;
	return false;
}

/* Offset of the TSval in the options as written, or -1: past end-of-list
 * bytes too (an entry may record options after them, "M5B4LLW1NT11"). */
static int tsval_at(const struct tl_out *o)
{
	for (unsigned i = 0; i + 1 < o->optlen;) {
		if (o->opts[i] <= 1) {
			i++;
			continue;
		}
		if (o->opts[i] == 8 && i + 10 <= o->optlen)
			return (int)i + 2;
		if (o->opts[i + 1] < 2)
			break;
		i += o->opts[i + 1];
	}
	return -1;
}

/* The window scale a peer reads (it stops at end-of-list), or -1. */
static int ws_of(const struct tl_out *o)
{
	int i = tl_opt_at(o, 3);
	return i >= 0 && (unsigned)i + 3 <= o->optlen ? o->opts[i + 2] : -1;
}

/* What differs between a first answer a and a later one b, or NULL. The
 * acknowledgment number is compared unless a's is neither the SYN's
 * sequence number nor the next (nmap's A=O: random per answer), the
 * urgent field unless a's is set (Q=U: the probe's own, not kept). */
static const char *differs(const struct tl_out *a, const struct tl_out *b, uint32_t syn_seq)
{
	if (a->flags != b->flags)
		return "flags";
	if (a->seq != b->seq)
		return "seq";
	if ((a->ack == syn_seq || a->ack == syn_seq + 1 || a->ack == 0) && a->ack != b->ack)
		return "ack";
	if (a->win != b->win)
		return "window";
	if (a->optlen != b->optlen)
		return "option length";
	int ts = tsval_at(a);
	for (unsigned i = 0; i < a->optlen; i++)
		if ((ts < 0 || i < (unsigned)ts || i >= (unsigned)ts + 4) && a->opts[i] != b->opts[i])
			return "options";
	if (a->ttl != b->ttl || a->df != b->df || a->ip_len != b->ip_len)
		return "IP header";
	if (!a->urp && b->urp)
		return "urgent field";
	return NULL;
}

struct tally { unsigned entries, synacks, others, bad; };

/* One probe k at a decky wearing pol; NULL or what went wrong. */
static const char *probe(struct tl *l, const struct stk_tcp_policy *pol, unsigned k, uint16_t sport,
			 struct tally *t)
{
	struct tl_out a, b;
	unsigned n = nmap_sim_syn(l, k, sport, 80);
	if (!n) {
		/* R=N: silent, and nothing kept */
		return tl_state(l, sport, 80) == STK_TCP_FREE ? NULL : "state kept after no answer";
	}
	if (!tl_parse(l, 0, &a))
		return "unparsable answer";
	/* nmap_sim_syn's sequence numbers: SEQ_BASE + k, the ECN probe SEQ_BASE */
	uint32_t syn_seq = 0x5a5a0000u + (k < 6 ? k : 0);
	if ((a.flags & (STK_TH_SYN | STK_TH_ACK | STK_TH_RST)) != (STK_TH_SYN | STK_TH_ACK)) {
		t->others++;
		if (tl_state(l, sport, 80) != STK_TCP_FREE)
			return "state kept after a RST/ACK answer";
		n = tl_advance(l, 4 * (uint64_t)pol->rto_init_ms + 1);
		return answer_to(l, n, sport, &b) ? "a segment after a RST/ACK answer" : NULL;
	}
	t->synacks++;
	const char *d;
	unsigned retries = pol->synack_retries;
	/* 1. the SYN cache's retransmission */
	if (retries >= 1) {
		n = tl_advance(l, pol->rto_init_ms);
		if (!answer_to(l, n, sport, &b))
			return "no SYN-ACK retransmission (SYN cache)";
		if ((d = differs(&a, &b, syn_seq)))
			return d;
	}
	/* 2. the peer's SYN again: the same answer, now from a flow */
	n = nmap_sim_syn(l, k, sport, 80);
	if (!answer_to(l, n, sport, &b))
		return "no answer to the retransmitted SYN";
	if ((d = differs(&a, &b, syn_seq)))
		return d;
	/* 3. the flow's own retransmission (twice the first delay) */
	if (retries >= 2) {
		n = tl_advance(l, 2 * (uint64_t)pol->rto_init_ms);
		if (!answer_to(l, n, sport, &b))
			return "no SYN-ACK retransmission (flow)";
		if ((d = differs(&a, &b, syn_seq)))
			return d;
	}
	/* 4. the handshake completes from the sequence number the peer saw */
	struct tl_seg ack = {.sport = sport, .dport = 80, .flags = STK_TH_ACK, .seq = syn_seq + 1, .ack = a.seq + 1,
			     .win = 1024};
	tl_send(l, &ack);
	if (tl_state(l, sport, 80) != STK_TCP_ESTABLISHED)
		return "the handshake did not complete";
	const struct stk_tcp_flow *f = tl_flow(l, sport, 80);
	int ws = ws_of(&a);
	/* the probes with a window scale option: all but SEQ 6 */
	bool syn_ws = k != 5;
	if (f->rcv_ws != (syn_ws && ws >= 0 ? (ws > 14 ? 14 : ws) : 0))
		return "window scale other than the answer's";
	struct tl_seg rst = {.sport = sport, .dport = 80, .flags = STK_TH_RST, .seq = syn_seq + 1};
	tl_send(l, &rst);
	return tl_state(l, sport, 80) == STK_TCP_FREE ? NULL : "RST did not close";
}

int main(void)
{
	struct fp_osdb *db = fp_test_load_db();
	CHECK(db != NULL);
	if (!db)
		return tap_done();
	size_t stride = getenv("DECNET_EXACT_STRIDE") ? strtoul(getenv("DECNET_EXACT_STRIDE"), NULL, 10)
						       : EXACT_STRIDE;
	if (!stride)
		stride = 1;
	struct tally t = {0};
	unsigned shown = 0;
	double t0 = fp_test_now();
	for (size_t i = 0; i < fp_osdb_count(db); i += stride) {
		static struct fp_persona p;
		static struct stk_tcp_policy pol;
		struct stk_host_policy hp;
		char err[256];
		if (fp_persona_compile(db, i, &p, err, sizeof(err)) != 0 || stk_policy_from_persona(&p, &pol, &hp) != 0)
			continue;
		t.entries++;
		struct tl l;
		tl_init(&l, &pol, NULL);
		l.h->policy = hp;
		bool bad = false;
		for (unsigned k = 0; k < NMAP_SIM_SYN_PROBES; k++) {
			tl_advance(&l, 1000);
			const char *why = probe(&l, &pol, k, (uint16_t)(41000 + k), &t);
			if (why) {
				bad = true;
				if (shown++ < 10)
					fprintf(stderr, "  %zu %s, probe %u: %s\n", i, p.name, k + 1, why);
			}
		}
		t.bad += bad;
		tl_free(&l);
	}
	printf("exact answers: %u entries, %u SYN-ACKs retransmitted and completed as first sent, %u RST/ACK answers "
	       "left no state; %u entries wrong; %.2f ms per entry\n",
	       t.entries, t.synacks, t.others, t.bad, 1e3 * (fp_test_now() - t0) / (t.entries ? t.entries : 1));
	CHECK(t.entries > fp_osdb_count(db) / stride / 2);
	CHECK(t.others > 0); /* the database has RST answers to SYNs: they were tried */
	CHECK_EQ(t.bad, 0);
	fp_osdb_free(db);
	return tap_done();
}
