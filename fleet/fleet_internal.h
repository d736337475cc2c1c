/* fleet_internal: what the fleet/ files share and nobody outside fleet/
 * may include: the INI tokenizer, the config's private store (arena +
 * key/value vector), hash sets for the duplicate checks, strict value
 * parsers, and the decky builder used by both the file loader and
 * fleet_decky_from_kv (so a key means the same in a file and on the
 * control socket).
 */
#ifndef FLEET_INTERNAL_H
#define FLEET_INTERNAL_H

#include "fleet/fleet.h"

#include <stdarg.h>

/* ---- INI tokenizer (fleet_ini.c) -------------------------------------- */

#define FLEET_INI_LINE_MAX 4096

/* A cursor over a byte buffer that need not be NUL-terminated. */
struct fleet_ini_cursor {
	const char *pos;
	const char *end;
	unsigned line; /* number of the next line to read, 1-based */
};

enum fleet_ini_kind { FLEET_INI_EOF = 0, FLEET_INI_SECTION, FLEET_INI_KEY };

/* Slices point into the cursor's buffer; they are not NUL-terminated. */
struct fleet_ini_token {
	enum fleet_ini_kind kind;
	unsigned line;
	const char *name;  /* section name or key */
	size_t name_len;
	const char *value; /* FLEET_INI_KEY only, may be empty */
	size_t value_len;
};

void fleet_ini_init(struct fleet_ini_cursor *c, const char *buf, size_t len);
/* Next section header or key. Returns 0 (tok->kind FLEET_INI_EOF at the
 * end) or -EINVAL with a message in msg and the line in tok->line. */
int fleet_ini_next(struct fleet_ini_cursor *c, struct fleet_ini_token *tok, char *msg,
		   size_t msglen);

/* ---- the config's private store (fleet_store.c) ------------------------ */

struct fleet_arena_chunk;

/* Strings live in an arena (freed at once); key/value pairs in one
 * growing vector so a section's pairs are contiguous and persona arrays
 * can point into it once loading is over. */
struct fleet_store {
	struct fleet_arena_chunk *chunks;
	struct fleet_kv *kv;
	size_t n_kv, cap_kv;
};

struct fleet_store *fleet_store_new(void);
void fleet_store_free(struct fleet_store *st);
/* Copy len bytes plus a NUL into the arena. NULL on ENOMEM. */
char *fleet_store_strndup(struct fleet_store *st, const char *s, size_t len);
/* Append a pair (strings must already be in the arena). 0 or -ENOMEM. */
int fleet_store_push_kv(struct fleet_store *st, char *key, char *value, unsigned line);

/* ---- hash sets (fleet_store.c) ----------------------------------------- */

/* Open addressing, linear probing, power-of-two capacity, load <= 1/2:
 * duplicate checks stay O(1) for a 100 000-decky fleet. */
struct fleet_u64set {
	uint64_t *slots; /* 0 = empty; a key k is stored as k + 1 */
	size_t cap, n;
};

int fleet_u64set_init(struct fleet_u64set *s, size_t expected);
void fleet_u64set_free(struct fleet_u64set *s);
bool fleet_u64set_has(const struct fleet_u64set *s, uint64_t key);
/* 0 inserted, -EEXIST already there, -ENOMEM. Keys must be < 2^64 - 1. */
int fleet_u64set_add(struct fleet_u64set *s, uint64_t key);

/* Set of strings the caller keeps alive, each with a uint32 value. */
struct fleet_strmap {
	const char **keys; /* NULL = empty */
	uint32_t *vals;
	size_t cap, n;
};

int fleet_strmap_init(struct fleet_strmap *m, size_t expected);
void fleet_strmap_free(struct fleet_strmap *m);
/* true and *val when found. */
bool fleet_strmap_get(const struct fleet_strmap *m, const char *key, uint32_t *val);
/* 0 inserted, -EEXIST (*val of the existing entry left alone), -ENOMEM. */
int fleet_strmap_add(struct fleet_strmap *m, const char *key, uint32_t val);

uint64_t fleet_hash_str(const char *s);
uint64_t fleet_mac_key(const uint8_t mac[6]);

/* ---- errors and value parsers (fleet_parse.c) -------------------------- */

void fleet_err_init(struct fleet_error *err, const char *file);
void fleet_err_set(struct fleet_error *err, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Strict unsigned decimal: digits only, no sign or spaces, <= max. */
int fleet_parse_uint(const char *s, unsigned long max, unsigned long *out);
/* "ip:port" with a dotted-quad ip and port 1..65535. */
int fleet_parse_ipport(const char *s, uint32_t *ip, uint16_t *port);
/* "9999", "53/udp", "80/tcp, 53/udp"; at most FLEET_MAX_PORTS, no repeats.
 * 0 or -EINVAL with a reason in msg. */
int fleet_parse_ports(const char *s, struct fleet_port *ports, unsigned *n, char *msg,
		      size_t msglen);
/* Decky or custom-service name: 1..max-1 of [A-Za-z0-9_-], alnum first. */
bool fleet_name_valid(const char *s, size_t max);
/* RFC 1123 host name of at most FLEET_NAME_MAX - 1 bytes (dots allowed). */
bool fleet_hostname_valid(const char *s);
/* Linux interface name: 1..15 bytes, no '/', ':' or whitespace. */
bool fleet_ifname_valid(const char *s);

void fleet_ipv4_format(uint32_t ip, char *buf, size_t len);
static inline uint32_t fleet_prefix_mask(uint8_t prefix)
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

/* ---- hostnames (fleet_hostname.c) -------------------------------------- */

/* Deterministic default host name for a decky: style from its distro,
 * words and digits from a hash of its name. Always a valid DNS label. */
void fleet_hostname_default(const struct fleet_distro *d, const char *decky_name,
			    char out[FLEET_NAME_MAX]);

/* ---- decky builder (fleet_decky.c) ------------------------------------- */

/* Uniqueness of names, IPs and MACs across one fleet. */
struct fleet_uniq {
	struct fleet_strmap names; /* decky name -> index */
	struct fleet_u64set ips;   /* explicit and allocated IPs */
	struct fleet_u64set macs;  /* every MAC handed out */
	uint32_t next_ip;          /* allocation cursor, only moves up */
};

int fleet_uniq_init(struct fleet_uniq *u, const struct fleet_config *cfg, size_t expected);
void fleet_uniq_free(struct fleet_uniq *u);

/* A decky section after key validation, before amount= expansion. */
struct fleet_decky_spec {
	const char *name;
	unsigned line; /* section header */
	bool has_ip;
	uint32_t ip;
	unsigned ip_line;
	bool has_services;
	const struct fleet_service *svcs[FLEET_MAX_SERVICES];
	unsigned n_svcs;
	const struct fleet_archetype *archetype;
	char nmap_os[FLEET_OS_MAX]; /* "" when neither nmap_os= nor archetype */
	enum fp_family family;
	bool has_amount;
	unsigned amount;
	bool has_mac;
	uint8_t mac[6];
	unsigned mac_line;
	const char *hostname; /* NULL when absent */
	const struct fleet_distro *distro; /* NULL when absent */
	/* Round-robin pool when distro= is absent: the archetype's preferred
	 * distros, or every profile. */
	const struct fleet_distro *pool[16];
	unsigned n_pool;
};

/* Validate one decky section's keys against cfg (net, gw, customs).
 * allow_amount is false for decky.add. 0 or -EINVAL (err set). */
int fleet_spec_parse(const struct fleet_config *cfg, const char *name, unsigned line,
		     const struct fleet_kv *kv, size_t n_kv, bool allow_amount,
		     struct fleet_decky_spec *spec, struct fleet_error *err);

/* Fill one decky (name already final) from spec: explicit IP and MAC are
 * checked for duplicates, distro/hostname defaults filled; the IP is left
 * 0 when the spec has none and the MAC unset when it has none (see
 * fleet_assign_*). rr is the decky's round-robin index for distros. */
int fleet_decky_build(const struct fleet_decky_spec *spec, const char *name, size_t rr,
		      struct fleet_uniq *u, struct fleet_decky *d, struct fleet_error *err);

/* Give d the lowest free host address of cfg's net. -EINVAL when none. */
int fleet_assign_ip(const struct fleet_config *cfg, struct fleet_uniq *u,
		    struct fleet_decky *d, struct fleet_error *err);
/* Derive d's MAC from its family and name, stepping past collisions. */
int fleet_assign_mac(const struct fleet_os_resolver *os, struct fleet_uniq *u,
		     struct fleet_decky *d, struct fleet_error *err);

#endif
