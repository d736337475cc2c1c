/* Benchmark: OS personas.
 *  1. nmap-os-db load time and memory;
 *  2. compile time per entry (fp_persona_compile: decode + the look-alike
 *     search + stack policy), beside the baseline of the same run: only the
 *     example subject (what compiling would cost without choosing values
 *     that keep look-alikes out);
 *  3. memory per decky for a fleet of 100 000 deckies wearing 100 distinct
 *     entries: personas shared by every decky of an entry (the engine's
 *     way) against one private copy per decky (the naive way, measured on
 *     10 000 deckies), both as RSS growth; deckies per GiB for each.
 * Needs nmap's nmap-os-db ($DECNET_NMAP_OS_DB or the configured path).
 * Usage: bench_persona [deckies (100000)] [distinct entries (100)]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decnet_config.h"
#include "fingerprints/fp_osmatch.h"
#include "fingerprints/fp_persona.h"
#include "stack/stk_hosts.h"
#include "stack/stk_persona.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

struct compiled {
	struct fp_persona p;
	struct stk_tcp_policy pol;
	struct stk_host_policy host;
};

int main(int argc, char **argv)
{
	unsigned n_deckies = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
	unsigned n_entries = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 100;
	const char *path = getenv("DECNET_NMAP_OS_DB");
	char err[256];
	struct fp_osdb *db = NULL;
	long r0 = rss_kb();
	double t0 = now_s();
	if (fp_osdb_load(path && *path ? path : DECNET_NMAP_OS_DB, &db, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_persona: %s\n", err);
		return 1;
	}
	size_t count = fp_osdb_count(db);
	printf("nmap-os-db: %zu entries loaded in %.1f ms, %ld KiB RSS\n", count, (now_s() - t0) * 1e3,
	       rss_kb() - r0);

	/* 2. compile time, every entry, against the example-subject baseline */
	static struct compiled c;
	static struct fp_subject s;
	t0 = now_s();
	size_t ok = 0;
	for (size_t i = 0; i < count; i++)
		ok += fp_persona_compile(db, i, &c.p, err, sizeof(err)) == 0 &&
		      stk_policy_from_persona(&c.p, &c.pol, &c.host) == 0;
	double full = (now_s() - t0) / (double)count;
	t0 = now_s();
	for (size_t i = 0; i < count; i++)
		fp_osmatch_example_subject(db, i, &s, NULL);
	double base = (now_s() - t0) / (double)count;
	printf("compile: %.0f us per entry (%zu of %zu usable), example subject alone %.1f us: x%.0f for the "
	       "look-alike search and the stack policy\n",
	       full * 1e6, ok, count, base * 1e6, full / base);
	printf("memory: %zu B per compiled persona (%zu B fp_persona + %zu B stack policy + host answers), "
	       "%zu B of host state per decky\n",
	       sizeof(struct compiled), sizeof(struct fp_persona), sizeof(struct stk_tcp_policy),
	       sizeof(struct stk_host));

	/* 3. deckies per GiB, shared personas */
	struct compiled *shared = calloc(n_entries, sizeof(*shared));
	struct stk_hosts hosts;
	if (!shared || stk_hosts_init(&hosts, n_deckies) != 0)
		return 1;
	long r1 = rss_kb();
	for (unsigned k = 0; k < n_entries; k++) {
		size_t idx = (size_t)k * (count / n_entries);
		fp_persona_compile(db, idx, &shared[k].p, err, sizeof(err));
		stk_policy_from_persona(&shared[k].p, &shared[k].pol, &shared[k].host);
	}
	for (unsigned i = 0; i < n_deckies; i++) {
		uint8_t mac[6] = {0x00, 0x25, 0x90, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		uint32_t ip = htonl(0x0a000000u + i + 1);
		stk_hosts_add(&hosts, ip, mac, &shared[i % n_entries].host, NULL);
	}
	long shared_kb = rss_kb() - r1;
	/* the host table is allocated for its capacity up front: count it */
	size_t table_b = (size_t)n_deckies * sizeof(struct stk_host);
	double per_shared = ((double)shared_kb * 1024.0 + (double)table_b) / n_deckies;

	/* baseline: a private persona per decky (10 000 of them) */
	unsigned n_priv = n_deckies < 10000 ? n_deckies : 10000;
	long r2 = rss_kb();
	struct compiled **priv = calloc(n_priv, sizeof(*priv));
	for (unsigned i = 0; priv && i < n_priv; i++) {
		priv[i] = malloc(sizeof(struct compiled));
		if (!priv[i])
			return 1;
		*priv[i] = shared[i % n_entries];
	}
	long priv_kb = rss_kb() - r2;
	double per_priv = (double)priv_kb * 1024.0 / n_priv + sizeof(struct stk_host);
	printf("fleet of %u deckies over %u entries: %.0f B per decky shared (%.0f deckies per GiB) vs %.0f B "
	       "with a private persona each (%.0f per GiB): x%.0f\n",
	       n_deckies, n_entries, per_shared, 1073741824.0 / per_shared, per_priv, 1073741824.0 / per_priv,
	       per_priv / per_shared);
	for (unsigned i = 0; priv && i < n_priv; i++)
		free(priv[i]);
	free(priv);
	stk_hosts_destroy(&hosts);
	free(shared);
	fp_osdb_free(db);
	return 0;
}
