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

#include "fleet/fleet.h"

#define CTR_LABEL_PREFIX "decnet."

struct ctr_kv {
	char *key;
	char *value;
};

struct ctr_network {
	char *name;          /* e.g. "decnet_lan" */
	char *driver;        /* "macvlan" or "ipvlan" */
	char *parent;        /* host interface */
	char *subnet;        /* CIDR */
	char *gateway;
	bool ipvlan_l2;
	struct ctr_kv *labels;
	size_t n_labels;
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

int ctr_plan_build(const struct fleet_config *cfg, const struct ctr_plan_opts *opts,
		   struct ctr_plan *out, char *err, size_t errlen);
void ctr_plan_free(struct ctr_plan *plan);

/* Compose document (a cJSON object; JSON is valid YAML). Caller frees. */
struct cJSON *ctr_compose_render(const struct ctr_plan *plan);

#endif
