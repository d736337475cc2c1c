/* Tells a careful attacker checks, for every family policy and for the five
 * family entries compiled from nmap-os-db (stack/stk_persona.c):
 *  - a SYN without the timestamp option never gets one back (Honeyd did);
 *  - 1 000 connections never repeat an ISN;
 *  - the SYN-ACK, the closed-port RST and the host's TTL agree, and the
 *    ICMP port unreachable carries the persona's ICMP TTL.
 * Needs nmap's nmap-os-db for the compiled half (fails without it). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprints/fp_persona.h"
#include "stack/stk_persona.h"
#include "tests/unit/fingerprints/fp_test_db.h"
#include "tests/unit/stack/tcp_lab.h"
#include "tests/unit/tap.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static bool has_ts(const struct tl_out *o)
{
	return tl_opt_at(o, 8) >= 0;
}

static void check_tells(const char *what, const struct stk_tcp_policy *pol, const struct stk_host_policy *host)
{
	struct tl l;
	tl_init(&l, pol, NULL);
	l.h->policy = *host;
	unsigned fails_before = tap_fail;

	/* 1. No timestamp answering a SYN that had none. */
	static const uint8_t mss_only[] = {2, 4, 0x05, 0xb4};
	struct tl_seg syn = {.sport = 40000, .dport = 80, .flags = STK_TH_SYN, .seq = 1000, .win = 1024,
			     .opts = mss_only, .optlen = sizeof(mss_only)};
	struct tl_out o;
	CHECK_EQ(tl_send(&l, &syn), 1);
	if (tl_parse(&l, 0, &o)) {
		CHECK(!has_ts(&o));
		CHECK_EQ(o.ttl, host->ttl);
	}
	/* 2. 1000 SYNs, 1000 different ISNs (clock advancing 1 ms each). */
	static uint32_t isn[1000];
	unsigned got = 0;
	for (unsigned i = 0; i < 1000; i++) {
		tl_advance(&l, 1);
		struct tl_seg s = {.sport = (uint16_t)(20000 + i), .dport = 80, .flags = STK_TH_SYN,
				   .seq = 7u * i, .win = 1024, .opts = mss_only, .optlen = sizeof(mss_only)};
		if (tl_send(&l, &s) >= 1 && tl_parse(&l, 0, &o) && (o.flags & STK_TH_SYN))
			isn[got++] = o.seq;
	}
	CHECK_EQ(got, 1000);
	qsort(isn, got, sizeof(isn[0]), cmp_u32);
	unsigned repeats = 0;
	for (unsigned i = 1; i < got; i++)
		repeats += isn[i] == isn[i - 1];
	CHECK_EQ(repeats, 0);
	/* 3. A closed port's RST carries the same TTL; the UDP port
	 * unreachable the persona's ICMP TTL. */
	struct tl_seg closed = {.sport = 41000, .dport = 81, .flags = STK_TH_SYN, .seq = 5, .win = 1024};
	if (tl_send(&l, &closed) == 1 && tl_parse(&l, 0, &o)) {
		CHECK(o.flags & STK_TH_RST);
		CHECK_EQ(o.ttl, host->ttl);
	}
	if (tl_udp(&l, 41001, 9, "x", 1) == 1 && tl_parse(&l, 0, &o))
		CHECK_EQ(o.ttl, host->icmp_ttl ? host->icmp_ttl : host->ttl);
	printf("%-45s %s\n", what, tap_fail == fails_before ? "no tells" : "TELLS (see above)");
	tl_free(&l);
}

int main(void)
{
	for (unsigned f = 0; f < FP_FAMILY_COUNT; f++) {
		struct stk_host_policy host = {.ttl = fp_family_info(f)->ttl, .icmp_echo_copy_code = true,
					       .tcp = stk_tcp_policy_family(f)};
		char what[64];
		snprintf(what, sizeof(what), "family table %s", fp_family_info(f)->name);
		check_tells(what, host.tcp, &host);
	}
	struct fp_osdb *db = fp_test_load_db();
	CHECK(db != NULL);
	for (unsigned f = 0; db && f < FP_FAMILY_COUNT; f++) {
		size_t idx;
		static struct fp_persona p;
		static struct stk_tcp_policy pol;
		struct stk_host_policy host;
		char err[256];
		CHECK_EQ(fp_persona_family_entry(db, f, &idx), 0);
		CHECK_EQ(fp_persona_compile(db, idx, &p, err, sizeof(err)), 0);
		CHECK_EQ(stk_policy_from_persona(&p, &pol, &host), 0);
		check_tells(p.name, &pol, &host);
	}
	fp_osdb_free(db);
	return tap_done();
}
