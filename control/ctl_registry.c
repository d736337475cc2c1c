/* Command registry: see ctl_registry.h. */
#include "control/ctl_registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool ctl_registry_name_valid(const char *name)
{
	size_t len = strnlen(name, CTL_CMD_MAX), part = 0;

	if (len == 0 || len >= CTL_CMD_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '.') {
			if (part == 0)
				return false;
			part = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
		part++;
	}
	return part > 0;
}

/* Index of name, or of where it would go (with *found false). */
static size_t registry_search(const struct ctl_registry *reg, const char *name, bool *found)
{
	size_t lo = 0, hi = reg->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, reg->cmds[mid].name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int ctl_registry_add(struct ctl_registry *reg, const struct ctl_cmd *cmd)
{
	bool found;
	size_t at;

	if (!ctl_registry_name_valid(cmd->name) || (!cmd->fn == !cmd->builtin) ||
	    (cmd->access != CTL_READONLY && cmd->access != CTL_ADMIN))
		return -EINVAL;
	at = registry_search(reg, cmd->name, &found);
	if (found)
		return -EEXIST;
	if (reg->n >= CTL_REGISTRY_MAX)
		return -ENOSPC;
	if (reg->n == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 16;
		struct ctl_cmd *cmds = realloc(reg->cmds, cap * sizeof(*cmds));
		if (!cmds)
			return -ENOMEM;
		reg->cmds = cmds;
		reg->cap = cap;
	}
	memmove(&reg->cmds[at + 1], &reg->cmds[at], (reg->n - at) * sizeof(*reg->cmds));
	reg->cmds[at] = *cmd;
	reg->cmds[at].name[CTL_CMD_MAX - 1] = '\0';
	reg->cmds[at].help[CTL_HELP_MAX - 1] = '\0';
	reg->n++;
	return 0;
}

const struct ctl_cmd *ctl_registry_find(const struct ctl_registry *reg, const char *name)
{
	bool found;
	size_t at = registry_search(reg, name, &found);

	return found ? &reg->cmds[at] : NULL;
}

cJSON *ctl_registry_help(const struct ctl_registry *reg)
{
	cJSON *arr = cJSON_CreateArray();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < reg->n; i++) {
		const struct ctl_cmd *c = &reg->cmds[i];
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto nomem;
		}
		if (!cJSON_AddStringToObject(o, "name", c->name) ||
		    !cJSON_AddStringToObject(o, "access",
					     c->access == CTL_ADMIN ? "admin" : "readonly") ||
		    !cJSON_AddStringToObject(o, "help", c->help))
			goto nomem;
	}
	return arr;
nomem:
	cJSON_Delete(arr);
	return NULL;
}

void ctl_registry_free(struct ctl_registry *reg)
{
	free(reg->cmds);
	reg->cmds = NULL;
	reg->n = reg->cap = 0;
}
