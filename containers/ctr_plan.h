/* ctr_plan: classic mode's container model, computed once from a fleet and
 * then either rendered as a compose document (--dry-run) or created through
 * the Docker Engine API (deploy). One model, two outputs, so the dry run
 * shows exactly what deploy would make.
 *
 * Per decky (DECNET's "Container model"): a base container that owns the
 * decky's IP/MAC on the macvlan (or ipvlan L2) network, carries the OS
 * family's sysctls and runs `sleep infinity`; one service container per
 * service sharing the base's network namespace (network_mode
 * "container:BASE" / compose "service:BASE"). Everything carries decnet.*
 * labels so status/teardown find exactly what DECNET made.
 */
#ifndef CTR_PLAN_H
#define CTR_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fleet/fleet.h"

#define CTR_LABEL_PREFIX "decnet."
#define CTR_NETWORK_NAME "decnet_lan"       /* DECNET's name, so its tools find it */
#define CTR_HAIRPIN_MACVLAN "decnet_macvlan0" /* host-side hairpin (spec: Network Drivers) */
#define CTR_HAIRPIN_IPVLAN "decnet_ipvlan0"
#define CTR_COMPOSE_PROJECT "decnet"
#define CTR_LOG_DIR "/var/log/decnet"       /* where --log-file's directory is mounted */

struct ctr_kv {
	char *key;
	char *value;
};

struct ctr_network {
	char *name;          /* e.g. "decnet_lan" */
	char *driver;        /* "macvlan" or "ipvlan" */
	char *parent;        /* host interface; NULL when neither opts nor
			      * [general] name one: deploy picks (auto-detect) */
	char *subnet;        /* CIDR */
	char *gateway;
	bool ipvlan_l2;
	struct ctr_kv *labels;
	size_t n_labels;
	char *hairpin;       /* host-side interface deploy creates so the host
			      * can reach its own macvlan/ipvlan children */
};

struct ctr_container {
	char *name;          /* decky name for a base, DECKY-SERVICE for services */
	char *image;
	char *hostname;      /* base only */
	char *ipv4;          /* base only */
	char *mac;           /* base only, macvlan */
	char *network_of;    /* services: name of the base container they share */
	char **command;      /* NULL-terminated argv, or NULL for the image's */
	struct ctr_kv *env;
	size_t n_env;
	struct ctr_kv *sysctls;
	size_t n_sysctls;
	struct ctr_kv *labels;
	size_t n_labels;
	char *restart;       /* "unless-stopped" */
	char *log_target;    /* syslog address or NULL */
	bool is_base;
	const char *decky;   /* owning decky's name (points into name of its base) */
	/* Extensions (containers/README.md): */
	char *service;       /* services: the slug (built-in or BYOS); NULL for a base */
	char *log_driver;    /* services with a log target: "syslog"; else NULL */
	struct ctr_kv *log_opts;  /* driver options (syslog-address, ...) */
	size_t n_log_opts;
	struct ctr_kv *binds;     /* bind mounts: key = host path, value = container path */
	size_t n_binds;
};

struct ctr_plan {
	struct ctr_network net;
	struct ctr_container *containers; /* bases first, each followed by its services */
	size_t n_containers;
};

struct ctr_plan_opts {
	const char *interface;   /* overrides [general] interface= */
	bool ipvlan;
	const char *log_target;  /* overrides [general] log_target= */
	const char *log_file;
	const char *distro;      /* force one distro slug for all deckies, or NULL */
};

/* Build the plan for every decky of cfg. opts may be NULL (all defaults).
 * Returns 0 with *out filled (free with ctr_plan_free), or -EINVAL with a
 * one-line reason in err (unknown forced distro, bad log target, a BYOS
 * exec= with an open quote, two containers with one name) or -ENOMEM;
 * on failure *out holds nothing to free. Pure: no I/O, except getcwd()
 * to make a relative log_file absolute. cfg is only read and may be
 * freed once the plan is built (the plan copies what it keeps). */
int ctr_plan_build(const struct fleet_config *cfg, const struct ctr_plan_opts *opts,
		   struct ctr_plan *out, char *err, size_t errlen);
void ctr_plan_free(struct ctr_plan *plan);

/* A container by name, or NULL. Linear. */
const struct ctr_container *ctr_plan_find(const struct ctr_plan *plan, const char *name);

/* The sysctls a base container of this family gets (the spec's "OS
 * Fingerprint Spoofing" table as data); *count set. Never NULL. */
const struct ctr_kv *ctr_family_sysctls(enum fp_family family, size_t *count);

/* Compose document (a cJSON object; JSON is valid YAML). Caller frees
 * with cJSON_Delete. NULL on allocation failure. */
struct cJSON *ctr_compose_render(const struct ctr_plan *plan);
/* Render and print it pretty, newline-terminated. 0, -ENOMEM or -EIO. */
int ctr_compose_write(const struct ctr_plan *plan, FILE *out);

#endif
