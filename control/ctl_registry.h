/* ctl_registry: the control socket's command table, name -> handler.
 * Internal to control/ (ctl_server.c is the only user; callers register
 * through ctl_server_register). A sorted array searched by bisection: the
 * table is written at start-up and read on every request, and a sorted
 * array makes "help" come out in order for free.
 */
#ifndef CTL_REGISTRY_H
#define CTL_REGISTRY_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "control/ctl_request.h"
#include "control/ctl_server.h"

#define CTL_HELP_MAX 160
/* Memcap: a registry this large means a registration loop gone wrong. */
#define CTL_REGISTRY_MAX 1024

struct ctl_conn;

/* Built-in commands need the connection (subscribe, hello's admin flag);
 * they are registered with this signature instead of a ctl_handler. */
typedef int (*ctl_builtin_fn)(struct ctl_server *srv, struct ctl_conn *conn, const cJSON *args,
			      cJSON **result, struct ctl_error *err);

struct ctl_cmd {
	char name[CTL_CMD_MAX];
	char help[CTL_HELP_MAX];
	enum ctl_access access;
	ctl_handler fn;         /* exactly one of fn and builtin is set */
	void *ctx;
	ctl_builtin_fn builtin;
};

struct ctl_registry {
	struct ctl_cmd *cmds;   /* sorted by name */
	size_t n, cap;
};

/* Copies *cmd in. 0, -EINVAL (bad name, no handler), -EEXIST, -ENOSPC
 * (past CTL_REGISTRY_MAX) or -ENOMEM. Pointers from ctl_registry_find
 * are invalidated by an add. */
int ctl_registry_add(struct ctl_registry *reg, const struct ctl_cmd *cmd);
const struct ctl_cmd *ctl_registry_find(const struct ctl_registry *reg, const char *name);
/* [{"name":..,"access":"readonly"|"admin","help":..}, ...] or NULL (ENOMEM). */
cJSON *ctl_registry_help(const struct ctl_registry *reg);
void ctl_registry_free(struct ctl_registry *reg);

/* Registered names: lower-case letters, digits, '_' and '-' in dot-
 * separated non-empty parts, shorter than CTL_CMD_MAX. */
bool ctl_registry_name_valid(const char *name);

#endif
