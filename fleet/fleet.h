/* fleet: DECNET's configuration model and its one loader.
 *
 * A fleet is what an INI file (DECNET's format, shared/spec) describes:
 * [general] (net, gw, interface, log_target, log_file), decky sections
 * (ip, services, archetype, nmap_os, amount, mac, hostname, distro),
 * per-service persona subsections [decky.service], and [custom-NAME]
 * bring-your-own services. The loader expands amount= into predictable
 * names (group-01, group-02, ...), allocates free IPs from the subnet,
 * applies the spec's priority rules (explicit nmap_os > archetype > linux)
 * and validates everything before returning: a config is either returned
 * whole and valid or not at all, with one error naming FILE:LINE.
 *
 * decnetd, the decnet CLI and the control socket's decky.add all use this
 * module, so a key means the same thing everywhere.
 *
 * Ownership: fleet_config_free() frees everything a successful load
 * returned; on failure nothing needs freeing.
 */
#ifndef FLEET_H
#define FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fingerprints/fp_family.h"

#define FLEET_NAME_MAX 64
#define FLEET_OS_MAX 160
#define FLEET_MAX_SERVICES 32
#define FLEET_MAX_PORTS 8
#define FLEET_MAX_DECKIES 100000   /* per fleet, after amount= expansion */
#define FLEET_AMOUNT_MAX 65536     /* amount= accepts 1..this */
#define FLEET_MAX_CUSTOMS 64       /* [custom-NAME] sections per file */
#define FLEET_FILE_MAX (64u << 20) /* fleet_load_file refuses larger files */

enum fleet_proto { FLEET_PROTO_TCP = 1, FLEET_PROTO_UDP = 2 };

struct fleet_port {
	uint16_t port;
	uint8_t proto; /* enum fleet_proto */
};

/* One of the 25 services (static table) or a BYOS custom service. */
struct fleet_service {
	const char *slug;
	const char *description;
	struct fleet_port ports[FLEET_MAX_PORTS];
	unsigned n_ports;
	const char *const *persona_keys; /* NULL-terminated */
	const char *default_image;       /* image for classic/container mode */
};

struct fleet_archetype {
	const char *slug;
	const char *services;       /* comma-separated service slugs */
	const char *nmap_os;        /* family */
	const char *distros;        /* comma-separated preferred distro slugs */
	const char *description;
};

/* How a distro's default hostnames look (DECNET's styles): generic
 * "SRV-PROD-42" (Debian/Ubuntu), rhel "web37" (Rocky/CentOS/Fedora),
 * minimal "alpha-18" (Alpine), rolling "nova-backup" (Kali/Arch). */
enum fleet_hostname_style {
	FLEET_HOSTNAME_GENERIC = 0,
	FLEET_HOSTNAME_RHEL,
	FLEET_HOSTNAME_MINIMAL,
	FLEET_HOSTNAME_ROLLING,
};

struct fleet_distro {
	const char *slug;
	const char *image;
	const char *display_name;
	enum fleet_hostname_style hostname_style;
};

/* Static registries (data tables in fleet_tables.c). */
const struct fleet_service *fleet_services(size_t *count);
const struct fleet_archetype *fleet_archetypes(size_t *count);
const struct fleet_distro *fleet_distros(size_t *count);
const struct fleet_service *fleet_service_find(const char *slug);
const struct fleet_archetype *fleet_archetype_find(const char *slug);
const struct fleet_distro *fleet_distro_find(const char *slug);
/* Walk a comma list such as fleet_archetype.services: *p advances, each
 * item is a slice (not NUL-terminated) with blanks trimmed. Returns 1 with
 * an item, 0 at the end, -EINVAL on an empty item ("a,,b", "a,"). */
int fleet_list_next(const char **p, const char **item, size_t *len);
/* "tcp" / "udp" for a struct fleet_port proto. */
const char *fleet_proto_name(uint8_t proto);

struct fleet_kv {
	char *key;
	char *value;
	unsigned line;
};

/* A [custom-NAME] section: bring your own service. */
struct fleet_custom {
	char name[FLEET_NAME_MAX]; /* NAME without "custom-" */
	char *image;               /* binary= */
	char *exec;                /* exec=, may be NULL */
	struct fleet_service svc;  /* slug = name, ports from ports= */
	unsigned line;
};

struct fleet_service_inst {
	const struct fleet_service *svc; /* static table entry or custom->svc */
	struct fleet_kv *persona;        /* keys from [decky.slug], validated;
					  * owned by the config's store and
					  * shared by every decky of an amount=
					  * group: never free or modify */
	size_t n_persona;
};

struct fleet_decky {
	char name[FLEET_NAME_MAX];
	char hostname[FLEET_NAME_MAX];
	uint32_t ip;                     /* host byte order */
	uint8_t mac[6];                  /* mac= or fleet_mac_derive(os, d, name) */
	bool mac_explicit;
	char nmap_os[FLEET_OS_MAX];      /* as configured/derived: family or entry name */
	enum fp_family family;
	const struct fleet_archetype *archetype; /* NULL if none */
	const struct fleet_distro *distro;
	struct fleet_service_inst services[FLEET_MAX_SERVICES];
	unsigned n_services;
	unsigned line;                   /* line of its section header */
};

struct fleet_store; /* private to fleet/ */

/* Resolves an nmap_os= value that is not one of the five families: an
 * exact nmap-os-db Fingerprint name. Returns 0 with the canonical value
 * and the entry's family, or -ENOENT / -errno with a one-line reason in
 * hint ("did you mean ..."). fleet_osdb.c provides one backed by nmap's
 * database; without a resolver only the families are accepted. */
struct fleet_os_resolver {
	int (*resolve)(void *ctx, const char *value, char canon[FLEET_OS_MAX],
		       enum fp_family *family, char *hint, size_t hintlen);
	/* Optional (NULL: family OUIs only): the OUI of the hardware vendor
	 * an accepted exact value names, pick choosing among several. 0 with
	 * oui (globally administered unicast), or -ENOENT: use the family's. */
	int (*vendor_oui)(void *ctx, const char *value, uint64_t pick, uint8_t oui[3]);
	void *ctx;
};

/* The MAC a decky without mac= gets, derived from seed (its name, or
 * "name#k" when an earlier one collided): an exact nmap-os-db persona
 * gets an OUI of the vendor its Class line names when os knows one, every
 * other decky one of its family's OUIs; the NIC part is the seed's hash.
 * The loader, decky.add and a reload all come here, so a decky's MAC does
 * not depend on how it was added. os may be NULL. */
void fleet_mac_derive(const struct fleet_os_resolver *os, const struct fleet_decky *d,
		      const char *seed, uint8_t mac[6]);

struct fleet_config {
	char *file;                /* path as given, for messages */
	const struct fleet_os_resolver *os_resolver; /* borrowed; may be NULL */
	uint32_t net;              /* host byte order, network address */
	uint8_t prefix;
	uint32_t gw;
	char interface[32];        /* "" when absent */
	char *log_target;          /* "ip:port" or NULL */
	char *log_file;            /* or NULL */
	struct fleet_decky *deckies;
	size_t n_deckies;
	struct fleet_custom *customs;
	size_t n_customs;
	struct fleet_store *store; /* private: persona key/values (see fleet_load.c) */
};

struct fleet_error {
	char file[256];
	unsigned line;             /* 0 when the error is not about one line */
	char msg[256];
};

/* Format "FILE:LINE: message" (or "FILE: message") into buf. */
void fleet_error_format(const struct fleet_error *err, char *buf, size_t len);

/* Parse and validate. Returns 0, or -EINVAL (err filled) / -ENOMEM / -errno
 * from reading the file (err filled too). */
int fleet_load_file(const char *path, struct fleet_config *out, struct fleet_error *err);
int fleet_load_buffer(const char *name, const char *buf, size_t len,
		      struct fleet_config *out, struct fleet_error *err);
void fleet_config_free(struct fleet_config *cfg);
/* The same, with a resolver for exact nmap-os-db names (kept in the config
 * for fleet_decky_from_kv; it must outlive the config). */
int fleet_load_file_ex(const char *path, const struct fleet_os_resolver *os,
		       struct fleet_config *out, struct fleet_error *err);
int fleet_load_buffer_ex(const char *name, const char *buf, size_t len,
			 const struct fleet_os_resolver *os, struct fleet_config *out,
			 struct fleet_error *err);

/* A resolver backed by nmap's nmap-os-db at path (NULL: the build's
 * default), loaded on first use only, so fleets that name only families
 * never read it. "NAME" picks the first entry of that name in the file,
 * "NAME#N" its N-th (1-based) entry. */
struct fp_osdb;
struct fp_macdb;
/* How exact personas' MACs were derived (fleet_mac_derive calls). */
struct fleet_mac_stats {
	size_t vendor;     /* an OUI of the Class vendor */
	size_t os_vendor;  /* family OUI: the Class vendor makes an OS, not hardware */
	size_t no_match;   /* family OUI: no registered vendor matches the Class vendor */
	size_t no_file;    /* family OUI: nmap-mac-prefixes unavailable (macdb_err) */
};
struct fleet_osdb_resolver {
	struct fleet_os_resolver r;
	char path[256];
	struct fp_osdb *db;        /* NULL until loaded */
	int load_rc;               /* 0 untried/ok, else -errno of the failed load */
	char load_err[256];
	/* nmap-mac-prefixes beside path, loaded on the first exact persona */
	struct fp_macdb *macdb;
	int macdb_rc;              /* 0 untried/ok, else -errno of the failed load */
	char macdb_err[256];
	char oui_vendor[64];       /* the last Class vendor looked up ... */
	uint8_t (*ouis)[3];        /* ... and its OUIs (an amount= group asks alike) */
	size_t n_ouis;
	struct fleet_mac_stats mac;
};
void fleet_osdb_resolver_init(struct fleet_osdb_resolver *res, const char *path);
void fleet_osdb_resolver_free(struct fleet_osdb_resolver *res);
/* The loaded database (loading it now if needed) or NULL with why in err. */
struct fp_osdb *fleet_osdb_resolver_db(struct fleet_osdb_resolver *res, char *err, size_t errlen);
/* The database entry an accepted nmap_os= value (NAME or NAME#N) names.
 * 0 and *idx, or -ENOENT. */
int fleet_osdb_resolver_entry(struct fleet_osdb_resolver *res, const char *value, size_t *idx);

/* Build one decky from key/value pairs as an INI decky section would give
 * them (ip, services, archetype, nmap_os, mac, hostname, distro), checked
 * against cfg (subnet, no duplicate name/IP/MAC). Used by the control
 * socket's decky.add. Returns 0 or -EINVAL with err filled (line 0, or
 * the kv's own line). amount= is refused; keys are case-insensitive; the
 * IP, when not given, is the lowest free one, and the distro continues
 * the round-robin at cfg->n_deckies. out has no persona and owns nothing,
 * but its custom services point into cfg: use it while cfg lives. cfg is
 * not modified (adding out to it is the caller's job). O(n_deckies). */
int fleet_decky_from_kv(const struct fleet_config *cfg, const char *name,
			const struct fleet_kv *kv, size_t n_kv,
			struct fleet_decky *out, struct fleet_error *err);

/* A built-in service, or one of cfg's [custom-NAME] services (cfg may be
 * NULL). The pointer lives as long as cfg. */
const struct fleet_service *fleet_config_service_find(const struct fleet_config *cfg,
						      const char *slug);

/* The one place that decides what nmap_os= accepts: today the five family
 * names (case-insensitive), later nmap-os-db entry names too. Writes the
 * canonical spelling to out and the family to *family. 0 or -ENOENT. */
int fleet_nmap_os_resolve(const char *value, char out[FLEET_OS_MAX], enum fp_family *family);

/* "aa:bb:cc:dd:ee:ff" (or '-' separated). 0 or -EINVAL; does not judge
 * unicast/zero, the loader does. */
int fleet_parse_mac(const char *s, uint8_t mac[6]);

/* Parse "a.b.c.d" / "a.b.c.d/len". 0 or -EINVAL. Host byte order. Strict:
 * no leading zeros in octets, and a CIDR must have its host bits zero. */
int fleet_parse_ipv4(const char *s, uint32_t *ip);
int fleet_parse_cidr(const char *s, uint32_t *net, uint8_t *prefix);

/* A service's backend= value: "a.b.c.d" or "a.b.c.d:port" (port 0 when
 * absent: each of the service's ports goes to the same port). The engine
 * relays the service's TCP ports there (protocols/proto_steer.c). 0 or
 * -EINVAL; ip in host byte order. */
#define FLEET_KEY_BACKEND "backend"
/* Optional beside it: the backend's MAC, so the engine never broadcasts an
 * ARP request for it on a segment attackers share. */
#define FLEET_KEY_BACKEND_MAC "backend_mac"
int fleet_parse_backend(const char *s, uint32_t *ip, uint16_t *port);

#endif
