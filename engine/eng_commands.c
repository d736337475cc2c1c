/* Control-socket commands served by the engine. Each is a registry entry
 * (name, access, help, handler): adding a command is adding a row. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "control/ctl_server.h"
#include "decnet_config.h"
#include "engine/eng_engine.h"

int eng_commands_register(struct eng_engine *e);

static void ip_str(uint32_t ip_host, char *buf)
{
	uint32_t n = htonl(ip_host);
	inet_ntop(AF_INET, &n, buf, INET_ADDRSTRLEN);
}

static cJSON *decky_json(const struct eng_engine *e, const struct eng_decky *d)
{
	char ip[INET_ADDRSTRLEN], mac[18];
	const uint8_t *m = d->cfg.mac;
	ip_str(d->cfg.ip, ip);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", d->cfg.name);
	cJSON_AddStringToObject(j, "ip", ip);
	cJSON_AddStringToObject(j, "mac", mac);
	cJSON_AddStringToObject(j, "hostname", d->cfg.hostname);
	cJSON_AddStringToObject(j, "nmap_os", d->cfg.nmap_os);
	cJSON_AddStringToObject(j, "family", fp_family_info(d->cfg.family)->name);
	/* What the decky really sends: its persona's TTL, else the family's. */
	cJSON_AddNumberToObject(j, "ttl", d->host_idx >= 0 ? e->hosts.hosts[d->host_idx].policy.ttl
							   : fp_family_info(d->cfg.family)->ttl);
	if (d->cfg.archetype)
		cJSON_AddStringToObject(j, "archetype", d->cfg.archetype->slug);
	cJSON *svcs = cJSON_AddArrayToObject(j, "services");
	for (unsigned i = 0; i < d->cfg.n_services; i++)
		cJSON_AddItemToArray(svcs, cJSON_CreateString(d->cfg.services[i].svc->slug));
	return j;
}

static int cmd_status(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	struct eng_engine *e = ctx;
	(void)args;
	(void)err;
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "version", DECNET_VERSION);
	cJSON_AddStringToObject(r, "backend", e->io->ops->name);
	if (e->io->mode)
		cJSON_AddStringToObject(r, "backend_mode", e->io->mode);
	cJSON_AddStringToObject(r, "interface", e->opt.ifname ? e->opt.ifname : "");
	cJSON_AddStringToObject(r, "config", e->opt.config_path);
	cJSON_AddNumberToObject(r, "deckies", e->live_deckies);
	cJSON_AddNumberToObject(r, "max_deckies", e->opt.max_deckies);
	cJSON_AddNumberToObject(r, "uptime_s",
				(double)(eng_clock_ns() - e->started_ns) / 1e9);
	*result = r;
	return 0;
}

static int cmd_stats(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	(void)args;
	(void)err;
	*result = eng_engine_stats_json(ctx);
	return 0;
}

static int cmd_decky_list(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	struct eng_engine *e = ctx;
	(void)args;
	(void)err;
	cJSON *arr = cJSON_CreateArray();
	for (uint32_t i = 0; i < e->n_deckies; i++)
		if (e->deckies[i].in_use)
			cJSON_AddItemToArray(arr, decky_json(e, &e->deckies[i]));
	*result = arr;
	return 0;
}

/* flow.list [limit=N]: the connections the stack holds, most recently
 * active first, with what a stalled one waits for (queue, windows, timers). */
static int cmd_flow_list(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	struct eng_engine *e = ctx;
	unsigned limit = 100;
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(args, "limit");
	if (l) {
		double v = cJSON_IsNumber(l) ? l->valuedouble : cJSON_IsString(l) ? strtod(l->valuestring, NULL) : -1;
		if (!(v >= 1 && v <= 100000)) {
			err->code = "bad_request";
			snprintf(err->message, sizeof(err->message), "limit: a number from 1 to 100000");
			return -1;
		}
		limit = (unsigned)v;
	}
	struct stk_tcp_flow_info *fi = malloc((size_t)limit * sizeof(*fi));
	if (!fi) {
		err->code = "internal";
		snprintf(err->message, sizeof(err->message), "out of memory");
		return -1;
	}
	unsigned n = stk_tcp_flows(&e->stk, fi, limit);
	struct stk_tcp_usage u;
	stk_tcp_usage(&e->stk, &u);
	cJSON *r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "total", u.flows);
	cJSON *arr = cJSON_AddArrayToObject(r, "flows");
	for (unsigned i = 0; i < n; i++) {
		const struct stk_tcp_flow_info *f = &fi[i];
		char lip[INET_ADDRSTRLEN], rip[INET_ADDRSTRLEN];
		ip_str(ntohl(f->lip), lip);
		ip_str(ntohl(f->rip), rip);
		const struct eng_decky *d = f->host_idx < e->hosts.max_hosts ? e->hosts.hosts[f->host_idx].owner : NULL;
		cJSON *j = cJSON_CreateObject();
		if (d && d->in_use)
			cJSON_AddStringToObject(j, "decky", d->cfg.name);
		cJSON_AddStringToObject(j, "local", lip);
		cJSON_AddNumberToObject(j, "local_port", f->lport);
		cJSON_AddStringToObject(j, "peer", rip);
		cJSON_AddNumberToObject(j, "peer_port", f->rport);
		cJSON_AddStringToObject(j, "state", f->state);
		if (f->service)
			cJSON_AddStringToObject(j, "service", f->service);
		cJSON_AddNumberToObject(j, "snd_queued", f->snd_queued);
		cJSON_AddNumberToObject(j, "in_flight", f->in_flight);
		cJSON_AddNumberToObject(j, "snd_wnd", f->snd_wnd);
		cJSON_AddNumberToObject(j, "cwnd", f->cwnd);
		cJSON_AddNumberToObject(j, "ssthresh", f->ssthresh);
		cJSON_AddNumberToObject(j, "rcv_wnd", f->rcv_wnd);
		cJSON_AddNumberToObject(j, "srtt_ms", f->srtt_us / 1000.0);
		cJSON_AddNumberToObject(j, "rto_ms", f->rto_ms);
		cJSON_AddNumberToObject(j, "rto_in_ms", (double)f->rto_in_ms);
		cJSON_AddNumberToObject(j, "idle_in_ms", (double)f->idle_in_ms);
		cJSON_AddNumberToObject(j, "backoff", f->backoff);
		cJSON_AddNumberToObject(j, "ooo_segments", f->ooo_segments);
		cJSON_AddNumberToObject(j, "rcv_held", f->rcv_held);
		cJSON_AddBoolToObject(j, "persist", f->persist);
		cJSON_AddBoolToObject(j, "recovery", f->recovery);
		cJSON_AddBoolToObject(j, "peer_fin", f->peer_fin);
		cJSON_AddBoolToObject(j, "fin_sent", f->fin_sent);
		cJSON_AddItemToArray(arr, j);
	}
	free(fi);
	*result = r;
	return 0;
}

/* The name may come as args.name or as the first plain-text word (args._). */
static const char *arg_name(const cJSON *args)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(args, "name");
	if (cJSON_IsString(n))
		return n->valuestring;
	const cJSON *pos = cJSON_GetObjectItemCaseSensitive(args, "_");
	if (cJSON_IsArray(pos) && cJSON_IsString(cJSON_GetArrayItem(pos, 0)))
		return cJSON_GetArrayItem(pos, 0)->valuestring;
	return NULL;
}

static bool has_key(const struct fleet_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return true;
	return false;
}

/* Lowest free host address of the subnet, as the INI loader allocates. */
static int alloc_ip(struct eng_engine *e, char *buf, size_t len)
{
	uint32_t size = e->fleet.prefix >= 32 ? 1u : (1u << (32 - e->fleet.prefix));
	for (uint32_t off = 1; off + 1 < size; off++) {
		uint32_t ip = e->fleet.net + off;
		if (ip == e->fleet.gw || stk_hosts_lookup(&e->hosts, htonl(ip)))
			continue;
		ip_str(ip, buf);
		(void)len;
		return 0;
	}
	return -ENOSPC;
}

static int cmd_decky_add(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	struct eng_engine *e = ctx;
	const char *name = arg_name(args);
	if (!name || !*name) {
		err->code = "bad_request";
		snprintf(err->message, sizeof(err->message), "decky.add needs name");
		return -1;
	}
	/* Same keys as an INI decky section; values as strings (numbers are
	 * accepted and converted, lists may be JSON arrays). */
	struct fleet_kv kv[16];
	char vals[16][512];
	size_t n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, args)
	{
		if (strcmp(it->string, "name") == 0 || strcmp(it->string, "_") == 0)
			continue;
		if (n == 16) {
			err->code = "bad_request";
			snprintf(err->message, sizeof(err->message), "too many keys");
			return -1;
		}
		if (cJSON_IsString(it)) {
			snprintf(vals[n], sizeof(vals[n]), "%s", it->valuestring);
		} else if (cJSON_IsNumber(it)) {
			snprintf(vals[n], sizeof(vals[n]), "%.0f", it->valuedouble);
		} else if (cJSON_IsArray(it)) {
			size_t off = 0;
			const cJSON *el;
			vals[n][0] = 0;
			cJSON_ArrayForEach(el, it)
			{
				if (!cJSON_IsString(el))
					continue;
				int w = snprintf(vals[n] + off, sizeof(vals[n]) - off, "%s%s",
						 off ? "," : "", el->valuestring);
				if (w < 0 || (size_t)w >= sizeof(vals[n]) - off)
					break;
				off += (size_t)w;
			}
		} else {
			err->code = "bad_request";
			snprintf(err->message, sizeof(err->message), "%s: expected a string", it->string);
			return -1;
		}
		kv[n].key = it->string;
		kv[n].value = vals[n];
		kv[n].line = 0;
		n++;
	}
	/* The loader checks the keys against the fleet's [general] and custom
	 * services; uniqueness of name, IP and MAC against the live fleet is
	 * the engine's (O(1) indexes), so the view carries no deckies. */
	if (!has_key(kv, n, "ip")) {
		if (n == 16 || alloc_ip(e, vals[n], sizeof(vals[n])) != 0) {
			err->code = "failed";
			snprintf(err->message, sizeof(err->message), "no free address left in the subnet");
			return -1;
		}
		kv[n].key = "ip";
		kv[n].value = vals[n];
		kv[n].line = 0;
		n++;
	}
	struct fleet_config view = e->fleet;
	view.deckies = NULL;
	view.n_deckies = 0;
	struct fleet_decky d;
	struct fleet_error ferr;
	int rc = fleet_decky_from_kv(&view, name, kv, n, &d, &ferr);
	if (rc) {
		err->code = "bad_request";
		snprintf(err->message, sizeof(err->message), "%s", ferr.msg);
		return -1;
	}
	char msg[256];
	rc = eng_engine_decky_add(e, &d, msg, sizeof(msg));
	if (rc) {
		err->code = rc == -EEXIST ? "exists" : "failed";
		snprintf(err->message, sizeof(err->message), "%s", msg);
		return -1;
	}
	*result = decky_json(e, eng_engine_decky_find(e, d.name));
	return 0;
}

static int cmd_decky_remove(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	struct eng_engine *e = ctx;
	const char *name = arg_name(args);
	if (!name) {
		err->code = "bad_request";
		snprintf(err->message, sizeof(err->message), "decky.remove needs name");
		return -1;
	}
	if (eng_engine_decky_remove(e, name) != 0) {
		err->code = "not_found";
		snprintf(err->message, sizeof(err->message), "no decky named %s", name);
		return -1;
	}
	*result = cJSON_CreateObject();
	cJSON_AddStringToObject(*result, "removed", name);
	return 0;
}

static int cmd_config_reload(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	struct eng_engine *e = ctx;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(args, "path");
	const char *path = cJSON_IsString(p) ? p->valuestring : NULL;
	struct eng_reload_result res;
	char msg[200];
	if (eng_engine_reload(e, path, &res, msg, sizeof(msg)) != 0) {
		err->code = "bad_config";
		snprintf(err->message, sizeof(err->message), "%s (fleet unchanged)", msg);
		return -1;
	}
	cJSON *r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "added", res.added);
	cJSON_AddNumberToObject(r, "removed", res.removed);
	cJSON_AddNumberToObject(r, "unchanged", res.kept);
	cJSON_AddNumberToObject(r, "deckies", e->live_deckies);
	*result = r;
	return 0;
}

static const struct {
	const char *name;
	enum ctl_access access;
	const char *help;
	ctl_handler fn;
} commands[] = {
	{"status", CTL_READONLY, "engine status: version, backend, interface, deckies, uptime", cmd_status},
	{"stats", CTL_READONLY, "all counters: stack (rx/tx/drops by reason), io, control", cmd_stats},
	{"decky.list", CTL_READONLY, "deckies on the wire", cmd_decky_list},
	{"flow.list", CTL_READONLY, "TCP connections, most recently active first: state, queues, windows, timers (limit=N, default 100)", cmd_flow_list},
	{"decky.add", CTL_ADMIN, "add a decky live: name + INI decky keys (ip, services, nmap_os, ...)", cmd_decky_add},
	{"decky.remove", CTL_ADMIN, "take a decky off the wire: name", cmd_decky_remove},
	{"config.reload", CTL_ADMIN, "replace the fleet with the INI file (path=, default: the one started with); all or nothing", cmd_config_reload},
};

int eng_commands_register(struct eng_engine *e)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		int rc = ctl_server_register(e->ctl, commands[i].name, commands[i].access,
					     commands[i].help, commands[i].fn, e);
		if (rc)
			return rc;
	}
	return 0;
}
