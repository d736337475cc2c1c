/* fp_family: the five DECNET OS families (linux, windows, bsd, embedded,
 * cisco) and what the foundation needs of them before the full persona
 * engine exists: the initial TTL a real host of that family uses, and a
 * deterministic MAC address with a real vendor OUI that fits the family.
 *
 * Pure functions over constant tables; no state, safe from any thread.
 */
#ifndef FP_FAMILY_H
#define FP_FAMILY_H

#include <stddef.h>
#include <stdint.h>

enum fp_family {
	FP_FAMILY_LINUX = 0,
	FP_FAMILY_WINDOWS,
	FP_FAMILY_BSD,
	FP_FAMILY_EMBEDDED,
	FP_FAMILY_CISCO,
	FP_FAMILY_COUNT
};

struct fp_oui {
	uint8_t prefix[3];
	const char *vendor; /* as IEEE registers it (nmap-mac-prefixes agrees) */
};

struct fp_family_info {
	enum fp_family family;
	const char *name;     /* "linux", ... as in DECNET's nmap_os= */
	uint8_t ttl;          /* initial IP TTL of the family's typical OS */
	const struct fp_oui *ouis;
	size_t n_ouis;
};

/* Table entry for a family; never NULL for a valid enum value. */
const struct fp_family_info *fp_family_info(enum fp_family family);

/* Family by DECNET name (case-insensitive). Returns 0 and sets *out, or
 * -ENOENT when the name is not one of the five families. */
int fp_family_from_name(const char *name, enum fp_family *out);

/* A MAC for a decky: one of the family's real vendor OUIs and a NIC part,
 * both derived from a hash of the decky's name, so the same name always
 * gets the same MAC across restarts. Never locally administered, never
 * multicast. */
void fp_family_mac(enum fp_family family, const char *decky_name, uint8_t mac[6]);

/* The hash fp_family_mac derives a MAC from (FNV-1a 64 of the name). */
uint64_t fp_family_name_hash(const char *decky_name);

/* The same MAC with a given OUI instead of the family's: the NIC part is
 * the one fp_family_mac gives decky_name. oui must be globally
 * administered unicast (the caller's promise). */
void fp_family_mac_with_oui(const uint8_t oui[3], const char *decky_name, uint8_t mac[6]);

#endif
