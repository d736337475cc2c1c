/* persona_sample: a seeded random sample of nmap-os-db entries across
 * vendors and device types, written as a DECNET fleet INI (one decky per
 * entry, an open http port each) for test_persona_sample.sh, plus the list
 * of "IP|name nmap should print|nmap_os value|vendor and type group".
 *
 * Entries are grouped by the (vendor, device type) of their first Class
 * line; groups are visited in a seeded random order, one random entry per
 * group per round, so the sample spreads over vendors and device kinds
 * instead of following the database's Windows/Linux-heavy distribution.
 *
 * Only entries nmap could name on a LAN are eligible, and the others are
 * counted by reason, because no stack can change the verdict for them:
 *   - look-alikes: another entry's test lines also match every value this
 *     one can take, so nmap prints both names (fp_persona.rivals > 0);
 *   - a hop away: the entry was recorded through a router (T above FF),
 *     which a host one hop from the scanner cannot reproduce.
 *
 * usage: persona_sample DB COUNT SEED NET FIRST_HOST INI_OUT LIST_OUT
 *        e.g. persona_sample /usr/share/nmap/nmap-os-db 120 7 10.77.0 10 f.ini f.list
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprints/fp_osmatch.h"
#include "fingerprints/fp_persona.h"

/* splitmix64: the sample depends only on the seed and the database. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct group {
	char key[160];
	size_t *entries;
	size_t n, cap;
};

static struct group *group_for(struct group **gs, size_t *ng, const char *key)
{
	for (size_t i = 0; i < *ng; i++)
		if (strcmp((*gs)[i].key, key) == 0)
			return &(*gs)[i];
	struct group *n = realloc(*gs, (*ng + 1) * sizeof(**gs));
	if (!n)
		return NULL;
	*gs = n;
	struct group *g = &n[(*ng)++];
	memset(g, 0, sizeof(*g));
	snprintf(g->key, sizeof(g->key), "%s", key);
	return g;
}

/* Why an entry cannot be nmap's one answer on a LAN, or NULL if it can. */
static const char *ineligible(const struct fp_osdb *db, size_t idx, struct fp_persona *p)
{
	char err[256];
	const char *name = fp_osdb_name(db, idx);
	if (strlen(name) >= sizeof(p->name) || strpbrk(name, "#;\n"))
		return "name unusable in an INI value";
	if (fp_persona_compile(db, idx, p, err, sizeof(err)) != 0)
		return "does not compile";
	for (unsigned t = FP_TEST_ECN; t <= FP_TEST_IE; t++) {
		struct fp_value v;
		if (fp_subject_get(&p->subject, t, FP_ATTR_T, &v) && v.hex && v.num > 0xff)
			return "recorded a router hop away (T > FF)";
	}
	if (p->rivals)
		return "look-alike: nmap would also name another entry";
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: %s DB COUNT SEED NET(a.b.c) FIRST_HOST INI_OUT LIST_OUT\n", argv[0]);
		return 2;
	}
	unsigned count = (unsigned)strtoul(argv[2], NULL, 10);
	uint64_t seed = strtoull(argv[3], NULL, 10);
	unsigned first = (unsigned)strtoul(argv[5], NULL, 10);
	if (count == 0 || first + count > 255) {
		fprintf(stderr, "persona_sample: COUNT %u from host %u does not fit a /24\n", count, first);
		return 2;
	}
	struct fp_osdb *db = NULL;
	char err[256];
	if (fp_osdb_load(argv[1], &db, err, sizeof(err)) != 0) {
		fprintf(stderr, "persona_sample: %s\n", err);
		return 1;
	}
	size_t n = fp_osdb_count(db);
	struct group *gs = NULL;
	size_t ng = 0;
	for (size_t i = 0; i < n; i++) {
		struct fp_osdb_class c = {0};
		char key[160];
		if (fp_osdb_class_count(db, i) == 0 || fp_osdb_class(db, i, 0, &c) != 0)
			snprintf(key, sizeof(key), "?");
		else
			snprintf(key, sizeof(key), "%s|%s", c.vendor ? c.vendor : "", c.type ? c.type : "");
		struct group *g = group_for(&gs, &ng, key);
		if (!g)
			return 1;
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 8;
			size_t *e = realloc(g->entries, cap * sizeof(*e));
			if (!e)
				return 1;
			g->entries = e;
			g->cap = cap;
		}
		g->entries[g->n++] = i;
	}
	/* Seeded shuffle of the groups and of each group's entries. */
	uint64_t rs = seed;
	for (size_t i = ng; i > 1; i--) {
		size_t j = next_rand(&rs) % i;
		struct group t = gs[i - 1];
		gs[i - 1] = gs[j];
		gs[j] = t;
	}
	for (size_t k = 0; k < ng; k++)
		for (size_t i = gs[k].n; i > 1; i--) {
			size_t j = next_rand(&rs) % i, t = gs[k].entries[i - 1];
			gs[k].entries[i - 1] = gs[k].entries[j];
			gs[k].entries[j] = t;
		}
	FILE *ini = fopen(argv[6], "w"), *list = fopen(argv[7], "w");
	if (!ini || !list) {
		perror("persona_sample");
		return 1;
	}
	fprintf(ini, "# %u nmap-os-db entries sampled by persona_sample (seed %llu) across %zu vendor/type groups\n"
		     "[general]\nnet = %s.0/24\ngw = %s.1\n",
		count, (unsigned long long)seed, ng, argv[4], argv[4]);
	static struct fp_persona p;
	unsigned picked = 0, looked = 0, skip_rivals = 0, skip_hop = 0, skip_other = 0;
	size_t *pos = calloc(ng, sizeof(*pos));
	if (!pos)
		return 1;
	for (unsigned round = 0; picked < count; round++) {
		unsigned progress = 0;
		for (size_t k = 0; k < ng && picked < count; k++) {
			/* the next eligible entry of this group */
			while (pos[k] < gs[k].n) {
				size_t idx = gs[k].entries[pos[k]++];
				looked++;
				const char *why = ineligible(db, idx, &p);
				if (!why) {
					const char *name = fp_osdb_name(db, idx);
					unsigned v = fp_osdb_variant_of(db, idx);
					char want[160];
					if (v)
						snprintf(want, sizeof(want), "%s#%u", name, v + 1);
					else
						snprintf(want, sizeof(want), "%s", name);
					fprintf(ini, "[s%03u]\nip = %s.%u\nservices = http\nnmap_os = %s\n", picked,
						argv[4], first + picked, want);
					fprintf(list, "%s.%u|%s|%s|%s\n", argv[4], first + picked, name, want,
						gs[k].key);
					picked++;
					progress++;
					break;
				}
				if (why[0] == 'l')
					skip_rivals++;
				else if (why[0] == 'r')
					skip_hop++;
				else
					skip_other++;
			}
		}
		if (!progress)
			break;
	}
	fclose(ini);
	fclose(list);
	printf("sampled %u entries from %zu vendor/type groups (seed %llu); of %u entries looked at, "
	       "not eligible: %u look-alikes, %u recorded a hop away, %u other\n",
	       picked, ng, (unsigned long long)seed, looked, skip_rivals, skip_hop, skip_other);
	for (size_t k = 0; k < ng; k++)
		free(gs[k].entries);
	free(gs);
	free(pos);
	fp_osdb_free(db);
	return picked == count ? 0 : 1;
}
