/* Fuzz the whole fleet loader (tokenizer, value parsers, passes) with
 * arbitrary bytes; on success, also feed the loaded fleet to
 * fleet_decky_from_kv and check the invariants the rest of DECNET-C relies
 * on: every decky inside net, never the gateway, IPs and MACs unique
 * (checked pairwise only for small fleets), unicast MACs. ASan finds the
 * overreads and leaks; abort() reports a broken invariant.
 *
 * Inputs whose amount= asks for thousands of deckies are skipped: a big
 * fleet costs ~100 ms and would starve the search for parser bugs; the
 * unit suite loads 100 000 deckies on every run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fleet/fleet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int asks_for_big_fleet(const char *s, size_t n)
{
	for (size_t i = 0; i + 6 <= n; i++) {
		if (strncasecmp(s + i, "amount", 6) != 0)
			continue;
		size_t j = i + 6, digits = 0;
		while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '='))
			j++;
		while (j < n && s[j] >= '0' && s[j] <= '9') {
			j++;
			digits++;
		}
		if (digits >= 4)
			return 1;
	}
	return 0;
}

static void check_invariants(const struct fleet_config *cfg)
{
	uint32_t mask = cfg->prefix ? ~0u << (32 - cfg->prefix) : 0;
	for (size_t i = 0; i < cfg->n_deckies; i++) {
		const struct fleet_decky *d = &cfg->deckies[i];
		if ((d->ip & mask) != cfg->net || d->ip == cfg->gw || d->ip == cfg->net ||
		    d->ip == (cfg->net | ~mask) || (d->mac[0] & 1) || !d->n_services ||
		    !d->distro || !d->hostname[0] || memchr(d->name, '\0', FLEET_NAME_MAX) == NULL)
			abort();
		for (size_t j = 0; cfg->n_deckies <= 512 && j < i; j++)
			if (cfg->deckies[j].ip == d->ip ||
			    memcmp(cfg->deckies[j].mac, d->mac, 6) == 0 ||
			    strcmp(cfg->deckies[j].name, d->name) == 0)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fleet_config cfg;
	struct fleet_error err;
	char msg[600];
	if (asks_for_big_fleet((const char *)data, size))
		return 0;
	int r = fleet_load_buffer("fuzz.ini", (const char *)data, size, &cfg, &err);
	fleet_error_format(&err, msg, sizeof(msg));
	if (r < 0)
		return 0;
	check_invariants(&cfg);
	struct fleet_kv kv[] = {{(char *)"services", (char *)"ssh, http", 0}};
	struct fleet_decky d;
	if (fleet_decky_from_kv(&cfg, "fuzz-added", kv, 1, &d, &err) == 0 &&
	    (d.ip & (cfg.prefix ? ~0u << (32 - cfg.prefix) : 0)) != cfg.net)
		abort();
	fleet_config_free(&cfg);
	return 0;
}
