/* Default host names. DECNET picks a random name in the style of the
 * decky's distro; we derive it from a hash of the decky's name instead, so
 * a restart (or a second sensor loading the same file) gives every decky
 * the same name again. Words are role-like ("web", "backup") because
 * that is what attackers expect to find on a LAN. Every result is a valid
 * DNS label (letters, digits, '-').
 */
#include "fleet/fleet_internal.h"

#include <stdio.h>

static const char *const generic_words[] = {
	"PROD", "DEV", "WEB", "DB", "APP", "MAIL", "FILE", "BAK", "BUILD", "GIT",
	"PROXY", "CACHE", "MON", "LOG", "AUTH", "VPN", "DNS", "NTP", "PRINT", "HR",
	"FIN", "OPS", "LAB", "STG",
};
static const char *const rhel_words[] = {
	"web", "db", "app", "mail", "files", "backup", "build", "git", "proxy", "cache",
	"mon", "log", "auth", "vpn", "dns", "ntp", "jump", "api", "etl", "crm",
};
static const char *const minimal_words[] = {
	"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
	"iota", "kappa", "lambda", "sigma", "tau", "omega", "rho", "phi",
};
static const char *const rolling_first[] = {
	"nova", "orion", "atlas", "vega", "lyra", "hydra", "pulsar", "quasar",
	"nebula", "comet", "zenith", "aurora", "titan", "helix", "onyx", "ember",
};
static const char *const rolling_second[] = {
	"backup", "dev", "lab", "node", "box", "core", "edge", "hub",
	"vault", "relay", "forge", "station",
};

/* prefix + first word + sep + (second word, or two digits 10..99) */
struct hostname_style {
	const char *prefix;
	const char *const *first;
	size_t n_first;
	const char *sep;
	const char *const *second; /* NULL: a number */
	size_t n_second;
};

#define WORDS(a) a, sizeof(a) / sizeof((a)[0])
static const struct hostname_style styles[] = {
	[FLEET_HOSTNAME_GENERIC] = {"SRV-", WORDS(generic_words), "-", NULL, 0},
	[FLEET_HOSTNAME_RHEL] = {"", WORDS(rhel_words), "", NULL, 0},
	[FLEET_HOSTNAME_MINIMAL] = {"", WORDS(minimal_words), "-", NULL, 0},
	[FLEET_HOSTNAME_ROLLING] = {"", WORDS(rolling_first), "-", WORDS(rolling_second)},
};

void fleet_hostname_default(const struct fleet_distro *d, const char *decky_name,
			    char out[FLEET_NAME_MAX])
{
	unsigned idx = d ? (unsigned)d->hostname_style : 0;
	if (idx >= sizeof(styles) / sizeof(styles[0]))
		idx = FLEET_HOSTNAME_GENERIC;
	const struct hostname_style *st = &styles[idx];
	uint64_t h = fleet_hash_str(decky_name);
	const char *first = st->first[h % st->n_first];
	uint64_t rest = h >> 24;

	if (st->second)
		snprintf(out, FLEET_NAME_MAX, "%s%s%s%s", st->prefix, first, st->sep,
			 st->second[rest % st->n_second]);
	else
		snprintf(out, FLEET_NAME_MAX, "%s%s%s%02u", st->prefix, first, st->sep,
			 (unsigned)(10 + rest % 90));
}
