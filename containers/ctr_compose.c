/* ctr_compose: a container plan as a Compose document (--dry-run).
 *
 * A straight translation of struct ctr_plan into compose-spec shapes; no
 * decision is taken here (that is ctr_plan.c's job), so what the dry run
 * prints is what deploy creates. Services are keyed by container name, so
 * `network_mode: service:BASE` names the base's key. The network carries
 * `name:` so compose does not prefix it with the project name and it is
 * the same network deploy makes. Output is JSON, which is YAML too: the
 * printer indents with spaces because YAML forbids tabs there.
 */
#include "containers/ctr_plan.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "decnet_config.h" /* DECNET_VERSION */

/* Every helper returns false on allocation failure; the caller deletes
 * the whole document then, so partial objects need no unwinding here. */
static bool add_str(cJSON *obj, const char *key, const char *value)
{
	return cJSON_AddStringToObject(obj, key, value) != NULL;
}

/* A mapping of strings (environment, labels, sysctls, driver options);
 * nothing is added when the list is empty. */
static bool add_map(cJSON *obj, const char *key, const struct ctr_kv *kv, size_t n)
{
	if (!n)
		return true;
	cJSON *map = cJSON_AddObjectToObject(obj, key);
	if (!map)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!add_str(map, kv[i].key, kv[i].value))
			return false;
	return true;
}

static bool add_str_array(cJSON *obj, const char *key, const char *const *items, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, key);
	if (!arr)
		return false;
	for (size_t i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateString(items[i]);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return false;
		}
	}
	return true;
}

static bool add_command(cJSON *svc, char *const *argv)
{
	size_t n = 0;
	if (!argv)
		return true; /* the image's own CMD */
	while (argv[n])
		n++;
	return add_str_array(svc, "command", (const char *const *)argv, n);
}

static bool render_base_networks(cJSON *svc, const struct ctr_plan *plan,
				 const struct ctr_container *c)
{
	cJSON *nets = cJSON_AddObjectToObject(svc, "networks");
	cJSON *att = nets ? cJSON_AddObjectToObject(nets, plan->net.name) : NULL;
	if (!att || (c->ipv4 && !add_str(att, "ipv4_address", c->ipv4)))
		return false;
	return !c->mac || add_str(att, "mac_address", c->mac);
}

/* Short bind syntax "HOST:CONTAINER": compose creates a missing host
 * directory for it, as the Engine API does for HostConfig.Binds. */
static bool render_binds(cJSON *svc, const struct ctr_container *c)
{
	cJSON *vols;
	if (!c->n_binds)
		return true;
	if (!(vols = cJSON_AddArrayToObject(svc, "volumes")))
		return false;
	for (size_t i = 0; i < c->n_binds; i++) {
		char *spec = NULL;
		cJSON *s;
		if (asprintf(&spec, "%s:%s", c->binds[i].key, c->binds[i].value) < 0)
			return false;
		s = cJSON_CreateString(spec);
		free(spec);
		if (!s || !cJSON_AddItemToArray(vols, s)) {
			cJSON_Delete(s);
			return false;
		}
	}
	return true;
}

static bool render_logging(cJSON *svc, const struct ctr_container *c)
{
	cJSON *log;
	if (!c->log_driver)
		return true;
	if (!(log = cJSON_AddObjectToObject(svc, "logging")) ||
	    !add_str(log, "driver", c->log_driver))
		return false;
	return add_map(log, "options", c->log_opts, c->n_log_opts);
}

static bool render_container(cJSON *services, const struct ctr_plan *plan,
			     const struct ctr_container *c)
{
	cJSON *svc = cJSON_AddObjectToObject(services, c->name);
	if (!svc || !add_str(svc, "image", c->image) || !add_str(svc, "container_name", c->name))
		return false;
	if (c->hostname && !add_str(svc, "hostname", c->hostname))
		return false;
	if (c->network_of) {
		const char *dep = c->network_of;
		char *mode;
		bool ok;
		if (asprintf(&mode, "service:%s", c->network_of) < 0)
			return false;
		ok = add_str(svc, "network_mode", mode) && add_str_array(svc, "depends_on", &dep, 1);
		free(mode);
		if (!ok)
			return false;
	} else if (!render_base_networks(svc, plan, c)) {
		return false;
	}
	if (!add_command(svc, c->command) || !add_map(svc, "environment", c->env, c->n_env) ||
	    !add_map(svc, "sysctls", c->sysctls, c->n_sysctls) || !render_binds(svc, c) ||
	    !add_map(svc, "labels", c->labels, c->n_labels) ||
	    (c->restart && !add_str(svc, "restart", c->restart)))
		return false;
	return render_logging(svc, c);
}

static bool render_network(cJSON *doc, const struct ctr_network *net)
{
	cJSON *nets = cJSON_AddObjectToObject(doc, "networks");
	cJSON *n = nets ? cJSON_AddObjectToObject(nets, net->name) : NULL;
	cJSON *ipam, *config, *pool;
	if (!n || !add_str(n, "name", net->name) || !add_str(n, "driver", net->driver))
		return false;
	if (net->parent || net->ipvlan_l2) {
		cJSON *opts = cJSON_AddObjectToObject(n, "driver_opts");
		if (!opts || (net->parent && !add_str(opts, "parent", net->parent)) ||
		    (net->ipvlan_l2 && !add_str(opts, "ipvlan_mode", "l2")))
			return false;
	}
	if (!(ipam = cJSON_AddObjectToObject(n, "ipam")) ||
	    !(config = cJSON_AddArrayToObject(ipam, "config")) || !(pool = cJSON_CreateObject()))
		return false;
	if (!cJSON_AddItemToArray(config, pool)) {
		cJSON_Delete(pool);
		return false;
	}
	if (!add_str(pool, "subnet", net->subnet) || !add_str(pool, "gateway", net->gateway))
		return false;
	return add_map(n, "labels", net->labels, net->n_labels);
}

cJSON *ctr_compose_render(const struct ctr_plan *plan)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *services, *ext;
	if (!doc || !add_str(doc, "name", CTR_COMPOSE_PROJECT) ||
	    !(services = cJSON_AddObjectToObject(doc, "services")))
		goto err_doc;
	for (size_t i = 0; i < plan->n_containers; i++)
		if (!render_container(services, plan, &plan->containers[i]))
			goto err_doc;
	if (!render_network(doc, &plan->net))
		goto err_doc;
	/* What deploy does on the host besides compose's work: the hairpin
	 * interface (spec: Network Drivers). x- keys are compose's
	 * extension fields, ignored by `docker compose`. */
	if (!(ext = cJSON_AddObjectToObject(doc, "x-decnet")) ||
	    !add_str(ext, "version", DECNET_VERSION) ||
	    (plan->net.hairpin && !add_str(ext, "hairpin_interface", plan->net.hairpin)))
		goto err_doc;
	return doc;

err_doc:
	cJSON_Delete(doc);
	return NULL;
}

/* cJSON_Print indents with tabs and puts one after each ':'. Strings never
 * hold a raw tab (cJSON escapes it), so every tab is layout: leading ones
 * become two spaces, the others one. */
static int write_spaced(const char *text, FILE *out)
{
	bool line_start = true;
	for (const char *p = text; *p; p++) {
		int ok;
		if (*p == '\t')
			ok = fputs(line_start ? "  " : " ", out) >= 0;
		else
			ok = fputc(*p, out) != EOF;
		if (!ok)
			return -EIO;
		line_start = *p == '\n' || (line_start && *p == '\t');
	}
	return fputc('\n', out) == EOF ? -EIO : 0;
}

int ctr_compose_write(const struct ctr_plan *plan, FILE *out)
{
	cJSON *doc = ctr_compose_render(plan);
	char *text;
	int r;
	if (!doc)
		return -ENOMEM;
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	r = write_spaced(text, out);
	cJSON_free(text);
	if (r == 0 && fflush(out) != 0)
		r = -EIO;
	return r;
}
