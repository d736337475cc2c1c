/* deploy / status / teardown of classic mode on Docker (ctr_deploy.h).
 *
 * deploy keeps an undo log of what it created (container names, whether
 * it made the network and the hairpin) and replays it backwards on the
 * first failure, so a deploy either finishes or leaves the host as it
 * found it. */
#include "containers/ctr_deploy.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct undo {
	const char **containers; /* names, borrowed from the plan */
	size_t n;
	bool network;
	const char *hairpin;
};

static void say(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(FILE *f, const char *fmt, ...)
{
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fflush(f);
}

static void rollback(struct ctr_docker *d, const struct ctr_plan *plan, struct undo *u, FILE *p)
{
	char e[256];
	say(p, "rolling back: removing %zu container%s%s%s\n", u->n, u->n == 1 ? "" : "s",
	    u->network ? ", the network" : "", u->hairpin ? ", the hairpin" : "");
	for (size_t i = u->n; i-- > 0;)
		if (ctr_docker_container_remove(d, u->containers[i], true) < 0)
			say(p, "  rollback: %s\n", ctr_docker_error(d));
	if (u->network && ctr_docker_network_remove(d, plan->net.name) < 0)
		say(p, "  rollback: %s\n", ctr_docker_error(d));
	if (u->hairpin && ctr_hairpin_down(u->hairpin, e, sizeof(e)) < 0)
		say(p, "  rollback: %s\n", e);
}

/* The parent the network hangs off: the plan's, or the default route's. */
static int resolve_parent(const struct ctr_plan *plan, char *buf, size_t len, char *err,
			  size_t errlen)
{
	if (plan->net.parent)
		snprintf(buf, len, "%s", plan->net.parent);
	else if (ctr_default_interface(buf, len) < 0) {
		snprintf(err, errlen, "no interface given (-i or [general] interface=) and no "
			 "default route to pick one from");
		return -ENOENT;
	}
	if (!if_nametoindex(buf)) {
		snprintf(err, errlen, "interface %s not found on this host", buf);
		return -ENODEV;
	}
	return 0;
}

/* Per decky its base, then its services: create + start, in plan order
 * (a service joins its base's namespace, which must be running). */
static int create_containers(struct ctr_docker *d, const struct ctr_plan *plan,
			     const struct ctr_network *net, char **images, struct undo *u, FILE *p,
			     size_t *step, size_t steps, char *err, size_t errlen)
{
	int rc;
	for (size_t i = 0; i < plan->n_containers; i++) {
		const struct ctr_container *c = &plan->containers[i];
		if (c->is_base)
			say(p, "[%zu/%zu] creating %s (%s, %s%s%s)\n", ++*step, steps, c->name,
			    images[i], c->ipv4 ? c->ipv4 : "dhcp", c->mac ? ", " : "",
			    c->mac ? c->mac : "");
		else
			say(p, "[%zu/%zu] creating %s (%s)\n", ++*step, steps, c->name, images[i]);
		if ((rc = ctr_docker_container_create(d, c, net, images[i])) < 0) {
			snprintf(err, errlen, "%s: %s", c->name, ctr_docker_error(d));
			return rc;
		}
		u->containers[u->n++] = c->name;
		if ((rc = ctr_docker_container_start(d, c->name)) < 0) {
			snprintf(err, errlen, "%s: %s", c->name, ctr_docker_error(d));
			return rc;
		}
	}
	return 0;
}

int ctr_deploy(struct ctr_docker *d, const struct ctr_plan *plan,
	       const struct ctr_deploy_opts *o, char *err, size_t errlen)
{
	static const struct ctr_deploy_opts defaults;
	char parent[IF_NAMESIZE + 1];
	char **images = NULL;
	struct undo u = {0};
	FILE *p;
	int rc;

	if (!o)
		o = &defaults;
	p = o->progress;
	if ((rc = resolve_parent(plan, parent, sizeof(parent), err, errlen)) < 0)
		return rc;
	if (!(u.containers = calloc(plan->n_containers + 1, sizeof(*u.containers)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((rc = ctr_images_ensure(d, plan, o, &images, err, errlen)) < 0)
		goto out;

	struct ctr_network net = plan->net;
	net.parent = parent;
	size_t steps = 1 + plan->n_containers + (o->no_hairpin ? 0 : 1), step = 0;
	say(p, "[%zu/%zu] creating network %s (%s on %s, %s)\n", ++step, steps, net.name,
	    net.ipvlan_l2 ? "ipvlan l2" : net.driver, parent, net.subnet);
	if ((rc = ctr_docker_network_create(d, &net)) < 0) {
		if (rc == -EEXIST)
			snprintf(err, errlen, "network %s already exists: is a deployment running? "
				 "(decnet status, decnet teardown --all)", net.name);
		else
			snprintf(err, errlen, "%s", ctr_docker_error(d));
		goto fail;
	}
	u.network = true;

	if ((rc = create_containers(d, plan, &net, images, &u, p, &step, steps, err, errlen)) < 0)
		goto fail;

	if (!o->no_hairpin) {
		say(p, "[%zu/%zu] host hairpin %s\n", ++step, steps, net.hairpin ? net.hairpin : "-");
		rc = ctr_hairpin_up(plan, parent, p, err, errlen);
		if (rc < 0)
			goto fail;
		if (rc == 1)
			u.hairpin = net.hairpin;
	}
	rc = 0;
	say(p, "deployed %zu containers on %s\n", plan->n_containers, net.name);
	goto out;
fail:
	say(p, "error: %s\n", err);
	rollback(d, plan, &u, p);
out:
	ctr_images_free(images, plan->n_containers);
	free(u.containers);
	return rc;
}

/* ---- status ---- */

static const char *label_of(const cJSON *ctr, const char *key)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(ctr, "Labels"), key);
	return cJSON_IsString(l) ? l->valuestring : NULL;
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(s) ? s->valuestring : "";
}

static const char *name_of(const cJSON *ctr)
{
	const cJSON *n = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ctr, "Names"), 0);
	if (!cJSON_IsString(n))
		return "";
	return n->valuestring[0] == '/' ? n->valuestring + 1 : n->valuestring;
}

static cJSON *decky_entry(cJSON *arr, const char *name)
{
	cJSON *e;
	cJSON_ArrayForEach(e, arr)
		if (strcmp(str_of(e, "name"), name) == 0)
			return e;
	e = cJSON_CreateObject();
	if (!e || !cJSON_AddItemToArray(arr, e)) {
		cJSON_Delete(e);
		return NULL;
	}
	if (!cJSON_AddStringToObject(e, "name", name) || !cJSON_AddStringToObject(e, "ip", "") ||
	    !cJSON_AddStringToObject(e, "mac", "") || !cJSON_AddStringToObject(e, "hostname", "") ||
	    !cJSON_AddStringToObject(e, "nmap_os", "") ||
	    !cJSON_AddStringToObject(e, "state", "missing") ||
	    !cJSON_AddArrayToObject(e, "services") || !cJSON_AddArrayToObject(e, "containers"))
		return NULL;
	return e;
}

static bool set_str(cJSON *o, const char *key, const char *v)
{
	cJSON *s = cJSON_CreateString(v ? v : "");
	return s && cJSON_ReplaceItemInObjectCaseSensitive(o, key, s);
}

/* The base's IP/MAC on its first network, hostname from inspect. */
static bool fill_base(struct ctr_docker *d, cJSON *e, const cJSON *ctr)
{
	const cJSON *nets = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(ctr, "NetworkSettings"), "Networks");
	const cJSON *n0 = nets ? nets->child : NULL;
	cJSON *info = NULL;
	const char *host = "";
	if (ctr_docker_container_inspect(d, name_of(ctr), &info) == 0)
		host = str_of(cJSON_GetObjectItemCaseSensitive(info, "Config"), "Hostname");
	bool ok = set_str(e, "ip", str_of(n0, "IPAddress")) &&
		  set_str(e, "mac", str_of(n0, "MacAddress")) && set_str(e, "hostname", host) &&
		  set_str(e, "nmap_os", label_of(ctr, CTR_LABEL_PREFIX "nmap_os")) &&
		  set_str(e, "state", str_of(ctr, "State"));
	cJSON_Delete(info);
	return ok;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(str_of(*(cJSON *const *)a, "name"), str_of(*(cJSON *const *)b, "name"));
}

static cJSON *sorted(cJSON *arr)
{
	int n = cJSON_GetArraySize(arr);
	cJSON **v = n ? calloc((size_t)n, sizeof(*v)) : NULL;
	cJSON *out = cJSON_CreateArray();
	if ((n && !v) || !out) {
		free(v);
		cJSON_Delete(out);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		v[i] = cJSON_DetachItemFromArray(arr, 0);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), by_name);
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(out, v[i]);
	free(v);
	cJSON_Delete(arr);
	return out;
}

int ctr_status(struct ctr_docker *d, cJSON **out, char *err, size_t errlen)
{
	cJSON *list = NULL, *arr = cJSON_CreateArray(), *ctr;
	int rc = ctr_docker_container_list(d, CTR_LABEL_MANAGED "=true", &list);
	if (rc < 0) {
		snprintf(err, errlen, "%s", ctr_docker_error(d));
		cJSON_Delete(arr);
		return rc;
	}
	rc = arr ? 0 : -ENOMEM;
	cJSON_ArrayForEach(ctr, list) {
		const char *decky = label_of(ctr, CTR_LABEL_DECKY);
		const char *svc = label_of(ctr, CTR_LABEL_SERVICE);
		const char *role = label_of(ctr, CTR_LABEL_ROLE);
		cJSON *e, *c;
		if (rc < 0)
			break;
		if (!decky)
			continue;
		if (!(e = decky_entry(arr, decky)) || !(c = cJSON_CreateObject()) ||
		    !cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(e, "containers"), c) ||
		    !cJSON_AddStringToObject(c, "name", name_of(ctr)) ||
		    !cJSON_AddStringToObject(c, "service", svc ? svc : "") ||
		    !cJSON_AddStringToObject(c, "state", str_of(ctr, "State")) ||
		    !cJSON_AddStringToObject(c, "status", str_of(ctr, "Status")) ||
		    !cJSON_AddStringToObject(c, "image", str_of(ctr, "Image"))) {
			rc = -ENOMEM;
			break;
		}
		if (role && strcmp(role, "base") == 0 && !fill_base(d, e, ctr))
			rc = -ENOMEM;
		else if (svc) {
			cJSON *s = cJSON_CreateString(svc);
			if (!s || !cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(e, "services"), s)) {
				cJSON_Delete(s);
				rc = -ENOMEM;
			}
		}
	}
	cJSON_Delete(list);
	if (rc == 0 && !(arr = sorted(arr)))
		rc = -ENOMEM;
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* ---- teardown ---- */

/* Services first (they live in their base's network namespace), then
 * bases, then anything else carrying the label. */
static int remove_pass(struct ctr_docker *d, cJSON *list, const char *role, bool other,
		       FILE *p, size_t *removed, char *err, size_t errlen)
{
	cJSON *ctr;
	int rc = 0;
	cJSON_ArrayForEach(ctr, list) {
		const char *r = label_of(ctr, CTR_LABEL_ROLE);
		bool known = r && (strcmp(r, "service") == 0 || strcmp(r, "base") == 0);
		if (other ? known : !(r && strcmp(r, role) == 0))
			continue;
		say(p, "removing %s\n", name_of(ctr));
		int e = ctr_docker_container_remove(d, name_of(ctr), true);
		if (e < 0 && e != -ENOENT) {
			if (rc == 0)
				snprintf(err, errlen, "%s", ctr_docker_error(d));
			rc = e;
			continue;
		}
		(*removed)++;
	}
	return rc;
}

static const char *const hairpins[] = {CTR_HAIRPIN_MACVLAN, CTR_HAIRPIN_IPVLAN};

int ctr_teardown(struct ctr_docker *d, const char *decky, FILE *p, char *err, size_t errlen)
{
	char label[FLEET_NAME_MAX + 32];
	cJSON *list = NULL, *nets = NULL, *n;
	size_t removed = 0;
	int rc, first = 0;

	if (decky)
		snprintf(label, sizeof(label), "%s=%s", CTR_LABEL_DECKY, decky);
	else
		snprintf(label, sizeof(label), "%s=true", CTR_LABEL_MANAGED);
	if ((rc = ctr_docker_container_list(d, label, &list)) < 0) {
		snprintf(err, errlen, "%s", ctr_docker_error(d));
		return rc;
	}
	/* --id must not reach containers someone else labelled decnet.decky. */
	if (decky) {
		cJSON *c = list->child, *next;
		for (; c; c = next) {
			next = c->next;
			const char *m = label_of(c, CTR_LABEL_MANAGED);
			if (!m || strcmp(m, "true") != 0)
				cJSON_Delete(cJSON_DetachItemViaPointer(list, c));
		}
		if (!cJSON_GetArraySize(list)) {
			snprintf(err, errlen, "no deployed decky named %s", decky);
			cJSON_Delete(list);
			return -ENOENT;
		}
		/* Its route on the hairpin goes with it. */
		cJSON_ArrayForEach(n, list) {
			const char *role = label_of(n, CTR_LABEL_ROLE);
			const cJSON *nw = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(n, "NetworkSettings"), "Networks");
			if (role && strcmp(role, "base") == 0 && nw && nw->child)
				for (size_t i = 0; i < sizeof(hairpins) / sizeof(hairpins[0]); i++)
					ctr_hairpin_forget(hairpins[i], str_of(nw->child, "IPAddress"));
		}
	}
	int e1 = remove_pass(d, list, "service", false, p, &removed, err, errlen);
	int e2 = remove_pass(d, list, "base", false, p, &removed, err, errlen);
	int e3 = remove_pass(d, list, NULL, true, p, &removed, err, errlen);
	cJSON_Delete(list);
	first = e1 < 0 ? e1 : e2 < 0 ? e2 : e3;
	if (decky)
		return first < 0 ? first : (int)removed;

	if ((rc = ctr_docker_network_list(d, CTR_LABEL_MANAGED "=true", &nets)) < 0) {
		if (first == 0)
			snprintf(err, errlen, "%s", ctr_docker_error(d));
		return first < 0 ? first : rc;
	}
	cJSON_ArrayForEach(n, nets) {
		say(p, "removing network %s\n", str_of(n, "Name"));
		int e = ctr_docker_network_remove(d, str_of(n, "Id"));
		if (e < 0 && e != -ENOENT && first == 0) {
			snprintf(err, errlen, "%s", ctr_docker_error(d));
			first = e;
		}
	}
	cJSON_Delete(nets);
	for (size_t i = 0; i < sizeof(hairpins) / sizeof(hairpins[0]); i++) {
		char e[256];
		int h = ctr_hairpin_down(hairpins[i], e, sizeof(e));
		if (h == 1)
			say(p, "removed hairpin %s\n", hairpins[i]);
		else if (h < 0 && first == 0) {
			snprintf(err, errlen, "%s", e);
			first = h;
		}
	}
	return first < 0 ? first : (int)removed;
}
