/* Built-in control commands: the ones that need the connection (hello's
 * admin flag, subscriptions) or the server itself (help, counters), and
 * so cannot be plain ctl_handlers registered from outside. */
#include <errno.h>
#include <stdio.h>

#include "control/ctl_server_int.h"
#include "decnet_config.h"

static int builtin_help(struct ctl_server *srv, struct ctl_conn *c, const cJSON *args,
			cJSON **result, struct ctl_error *err)
{
	cJSON *list = ctl_registry_help(&srv->reg);
	cJSON *obj = cJSON_CreateObject();

	if (!list || !obj || !cJSON_AddItemToObject(obj, "commands", list)) {
		cJSON_Delete(list);
		cJSON_Delete(obj);
		return ctl_error_set(err, "internal", "out of memory");
	}
	*result = obj;
	return 0;
}

static int builtin_hello(struct ctl_server *srv, struct ctl_conn *c, const cJSON *args,
			 cJSON **result, struct ctl_error *err)
{
	cJSON *obj = cJSON_CreateObject();

	if (!obj || !cJSON_AddStringToObject(obj, "hello", "decnetd") ||
	    !cJSON_AddStringToObject(obj, "version", DECNET_VERSION) ||
	    !cJSON_AddNumberToObject(obj, "proto", CTL_PROTO_VERSION) ||
	    !cJSON_AddBoolToObject(obj, "admin", c->admin)) {
		cJSON_Delete(obj);
		return ctl_error_set(err, "internal", "out of memory");
	}
	*result = obj;
	return 0;
}

static int builtin_subscribe(struct ctl_server *srv, struct ctl_conn *c, const cJSON *args,
			     cJSON **result, struct ctl_error *err)
{
	cJSON *obj = cJSON_CreateObject();

	if (!obj || !cJSON_AddBoolToObject(obj, "subscribed", true)) {
		cJSON_Delete(obj);
		return ctl_error_set(err, "internal", "out of memory");
	}
	c->subscribe_pending = true; /* applied once the reply is queued */
	*result = obj;
	return 0;
}

static int builtin_unsubscribe(struct ctl_server *srv, struct ctl_conn *c, const cJSON *args,
			       cJSON **result, struct ctl_error *err)
{
	cJSON *obj = cJSON_CreateObject();

	if (!obj || !cJSON_AddBoolToObject(obj, "subscribed", false) ||
	    !cJSON_AddNumberToObject(obj, "events_dropped", (double)c->events_dropped)) {
		cJSON_Delete(obj);
		return ctl_error_set(err, "internal", "out of memory");
	}
	if (c->subscriber)
		srv->stats.subscribers--;
	c->subscriber = c->subscribe_pending = false;
	*result = obj;
	return 0;
}

static int builtin_stats(struct ctl_server *srv, struct ctl_conn *c, const cJSON *args,
			 cJSON **result, struct ctl_error *err)
{
	*result = ctl_server_stats_json(srv);
	return *result ? 0 : ctl_error_set(err, "internal", "out of memory");
}

static const struct {
	const char *name, *help;
	ctl_builtin_fn fn;
} ctl_builtins[] = {
	{ "help", "list commands and their access level", builtin_help },
	{ "hello", "protocol greeting (also sent on connect)", builtin_hello },
	{ "events.subscribe", "stream events on this connection as {\"event\":...} lines",
	  builtin_subscribe },
	{ "events.unsubscribe", "stop streaming events on this connection", builtin_unsubscribe },
	{ "control.stats", "control socket counters", builtin_stats },
};

int ctl_builtins_register(struct ctl_server *srv)
{
	int rc = 0;

	for (size_t i = 0; i < sizeof(ctl_builtins) / sizeof(ctl_builtins[0]) && !rc; i++) {
		struct ctl_cmd cmd = { .access = CTL_READONLY, .builtin = ctl_builtins[i].fn };
		snprintf(cmd.name, sizeof(cmd.name), "%s", ctl_builtins[i].name);
		snprintf(cmd.help, sizeof(cmd.help), "%s", ctl_builtins[i].help);
		rc = ctl_registry_add(&srv->reg, &cmd);
	}
	return rc;
}

cJSON *ctl_server_stats_json(const struct ctl_server *srv)
{
	const struct ctl_server_stats *s = &srv->stats;
	const struct {
		const char *name;
		uint64_t value;
	} fields[] = {
		{ "connections", s->connections },
		{ "requests", s->requests },
		{ "errors", s->errors },
		{ "bad_json", s->bad_json },
		{ "lines_too_long", s->lines_too_long },
		{ "denied", s->denied },
		{ "events_published", s->events_published },
		{ "events_dropped", s->events_dropped },
		{ "connections_rejected", s->connections_rejected },
		{ "peer_denied", s->peer_denied },
		{ "accept_errors", s->accept_errors },
		{ "output_overflows", s->output_overflows },
		{ "clients", s->clients },
		{ "subscribers", s->subscribers },
	};
	cJSON *obj = cJSON_CreateObject();

	for (size_t i = 0; obj && i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!cJSON_AddNumberToObject(obj, fields[i].name, (double)fields[i].value)) {
			cJSON_Delete(obj);
			obj = NULL;
		}
	}
	return obj;
}
