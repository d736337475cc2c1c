/* containers/ unit tests: the compose document is a faithful translation
 * of the plan (shapes from the compose spec; the schema itself is checked
 * by test_compose_schema.py), and ctr_compose_write prints it as
 * tab-free JSON that parses back to the same document. */
#include "tests/unit/containers/test_ctr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static const cJSON *jobj(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Every key/value pair of kv is in the JSON mapping, and nothing else. */
static int map_matches(const cJSON *map, const struct ctr_kv *kv, size_t n)
{
	if (!n)
		return map == NULL;
	if (!cJSON_IsObject(map) || (size_t)cJSON_GetArraySize(map) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!str_is(jstr(map, kv[i].key), kv[i].value))
			return 0;
	return 1;
}

static void check_service_json(const cJSON *services, const struct ctr_plan *plan,
			       const struct ctr_container *c)
{
	const cJSON *s = jobj(services, c->name);
	CHECK(cJSON_IsObject(s));
	if (!s)
		return;
	CHECK(str_is(jstr(s, "image"), c->image) && str_is(jstr(s, "container_name"), c->name));
	CHECK(str_is(jstr(s, "restart"), "unless-stopped"));
	CHECK(map_matches(jobj(s, "labels"), c->labels, c->n_labels));
	CHECK(map_matches(jobj(s, "environment"), c->env, c->n_env));
	CHECK(map_matches(jobj(s, "sysctls"), c->sysctls, c->n_sysctls));
	if (c->is_base) {
		const cJSON *att = jobj(jobj(s, "networks"), plan->net.name);
		CHECK(str_is(jstr(s, "hostname"), c->hostname));
		CHECK(str_is(jstr(att, "ipv4_address"), c->ipv4));
		CHECK(c->mac ? str_is(jstr(att, "mac_address"), c->mac)
			     : jobj(att, "mac_address") == NULL);
		CHECK(jobj(s, "network_mode") == NULL && jobj(s, "logging") == NULL);
		const cJSON *cmd = jobj(s, "command");
		CHECK(cJSON_GetArraySize(cmd) == 2 &&
		      str_is(cJSON_GetArrayItem(cmd, 0)->valuestring, "sleep"));
		return;
	}
	char mode[200];
	snprintf(mode, sizeof(mode), "service:%s", c->network_of);
	CHECK(str_is(jstr(s, "network_mode"), mode));
	/* the base it names is a key of services, and a base */
	const cJSON *base = jobj(services, c->network_of);
	CHECK(base && jobj(base, "networks") && !jobj(base, "network_mode"));
	CHECK(jobj(s, "networks") == NULL && jobj(s, "hostname") == NULL);
	const cJSON *dep = jobj(s, "depends_on");
	CHECK(cJSON_GetArraySize(dep) == 1 &&
	      str_is(cJSON_GetArrayItem(dep, 0)->valuestring, c->network_of));
	if (c->log_driver) {
		const cJSON *log = jobj(s, "logging");
		CHECK(str_is(jstr(log, "driver"), "syslog"));
		CHECK(map_matches(jobj(log, "options"), c->log_opts, c->n_log_opts));
	} else {
		CHECK(jobj(s, "logging") == NULL);
	}
	const cJSON *vols = jobj(s, "volumes");
	CHECK(cJSON_GetArraySize(vols) == (int)c->n_binds);
}

static void check_document(const cJSON *doc, const struct ctr_plan *plan)
{
	const cJSON *services = jobj(doc, "services");
	CHECK(str_is(jstr(doc, "name"), "decnet"));
	CHECK(cJSON_GetArraySize(services) == (int)plan->n_containers);
	for (size_t i = 0; i < plan->n_containers; i++)
		check_service_json(services, plan, &plan->containers[i]);

	const cJSON *net = jobj(jobj(doc, "networks"), "decnet_lan");
	CHECK(str_is(jstr(net, "name"), "decnet_lan"));
	CHECK(str_is(jstr(net, "driver"), plan->net.driver));
	const cJSON *opts = jobj(net, "driver_opts");
	CHECK(plan->net.parent ? str_is(jstr(opts, "parent"), plan->net.parent)
			       : jobj(opts, "parent") == NULL);
	CHECK(plan->net.ipvlan_l2 ? str_is(jstr(opts, "ipvlan_mode"), "l2")
				  : jobj(opts, "ipvlan_mode") == NULL);
	const cJSON *pool = cJSON_GetArrayItem(jobj(jobj(net, "ipam"), "config"), 0);
	CHECK(str_is(jstr(pool, "subnet"), plan->net.subnet));
	CHECK(str_is(jstr(pool, "gateway"), plan->net.gateway));
	CHECK(map_matches(jobj(net, "labels"), plan->net.labels, plan->net.n_labels));
	CHECK(str_is(jstr(jobj(doc, "x-decnet"), "hairpin_interface"), plan->net.hairpin));
}

/* ctr_compose_write's text: no tabs (YAML), one trailing newline, and it
 * parses back to exactly what ctr_compose_render builds. */
static void check_written(const struct ctr_plan *plan)
{
	FILE *f = tmpfile();
	char *text = NULL;
	long len;
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ(ctr_compose_write(plan, f), 0);
	len = ftell(f);
	rewind(f);
	if (len > 0 && (text = malloc((size_t)len + 1)) &&
	    fread(text, 1, (size_t)len, f) == (size_t)len) {
		text[len] = '\0';
		CHECK(strchr(text, '\t') == NULL);
		CHECK(text[len - 1] == '\n' && text[len - 2] == '}');
		CHECK(strstr(text, "\n  \"services\": {\n    \"") != NULL); /* 2-space indent */
		cJSON *back = cJSON_Parse(text), *doc = ctr_compose_render(plan);
		CHECK(back && doc && cJSON_Compare(back, doc, 1));
		cJSON_Delete(back);
		cJSON_Delete(doc);
	} else {
		CHECK(!"compose text read back");
	}
	free(text);
	fclose(f);
}

void test_compose(void)
{
	static const struct ctr_plan_opts variants[] = {
		{0},
		{.ipvlan = true, .interface = "wlp6s0"},
		{.interface = "eth0", .log_target = "127.0.0.1:5140"},
	};
	static const char *const examples[] = {"test-full.ini", "demo.ini"};
	for (size_t e = 0; e < 2; e++) {
		struct fleet_config cfg;
		if (load_example(examples[e], &cfg) != 0) {
			CHECK(!"example loads");
			continue;
		}
		for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
			struct ctr_plan plan;
			char err[256];
			CHECK_EQ(ctr_plan_build(&cfg, &variants[v], &plan, err, sizeof(err)), 0);
			cJSON *doc = ctr_compose_render(&plan);
			CHECK(doc != NULL);
			if (doc)
				check_document(doc, &plan);
			cJSON_Delete(doc);
			check_written(&plan);
			ctr_plan_free(&plan);
		}
		fleet_config_free(&cfg);
	}
	/* a write error is reported */
	struct fleet_config cfg;
	struct ctr_plan plan;
	char err[256];
	FILE *ro = fopen("/dev/null", "r");
	if (ro && load_example("demo.ini", &cfg) == 0) {
		CHECK_EQ(ctr_plan_build(&cfg, NULL, &plan, err, sizeof(err)), 0);
		CHECK(ctr_compose_write(&plan, ro) < 0);
		ctr_plan_free(&plan);
		fleet_config_free(&cfg);
	}
	if (ro)
		fclose(ro);
}
