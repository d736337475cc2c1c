/* containers/ unit tests: every refusal of ctr_plan_build (one line in
 * err, nothing left to free), BYOS exec= word splitting, and a fleet of
 * thousands of deckies. */
#include "tests/unit/containers/test_ctr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#define G "[general]\nnet = 10.0.0.0/24\ngw = 10.0.0.1\n"

static void expect_refusal(const struct fleet_config *cfg, const struct ctr_plan_opts *opts,
			   const char *msg)
{
	struct ctr_plan plan;
	char err[256];
	memset(&plan, 0xa5, sizeof(plan)); /* must come back zeroed */
	int r = ctr_plan_build(cfg, opts, &plan, err, sizeof(err));
	CHECK_EQ(r, -EINVAL);
	CHECK(plan.containers == NULL && plan.n_containers == 0 && plan.net.name == NULL);
	if (!strstr(err, msg))
		fprintf(stderr, "    err '%s' lacks '%s'\n", err, msg);
	CHECK(strstr(err, msg) != NULL);
	/* no err buffer is fine too */
	CHECK_EQ(ctr_plan_build(cfg, opts, &plan, NULL, 0), -EINVAL);
}

void test_plan_errors(void)
{
	struct fleet_config cfg;
	static const char *const bad_targets[] = {
		"nope", "10.0.0.1", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:5a",
		":514", "10.0.0.256:514", "10.0.0.0/24:514", "host.example:514", "10.0.0.1:123456",
	};

	/* decky "a" runs ssh, so "a-ssh" is taken: both would be a-ssh */
	if (load_text(G "[a]\nservices = ssh\n[a-ssh]\nservices = http\n", &cfg) == 0) {
		expect_refusal(&cfg, NULL, "two containers would be named 'a-ssh'");
		fleet_config_free(&cfg);
	} else {
		CHECK(!"clash config loads");
	}

	CHECK_EQ(load_text(G "[a]\nservices = ssh\n", &cfg), 0);
	expect_refusal(&cfg, &(struct ctr_plan_opts){.distro = "gentoo"}, "unknown distro 'gentoo'");
	for (size_t i = 0; i < sizeof(bad_targets) / sizeof(bad_targets[0]); i++)
		expect_refusal(&cfg, &(struct ctr_plan_opts){.log_target = bad_targets[i]},
			       "bad log target");
	expect_refusal(&cfg, &(struct ctr_plan_opts){.log_file = "/var/log/"}, "names a directory");
	expect_refusal(&cfg, &(struct ctr_plan_opts){.log_file = "/var/log/.."},
		       "names a directory");
	expect_refusal(&cfg, &(struct ctr_plan_opts){.log_file = ""}, "empty log_file");
	/* and good ones for contrast */
	struct ctr_plan plan;
	char err[256];
	CHECK_EQ(ctr_plan_build(&cfg, &(struct ctr_plan_opts){.log_target = "10.0.0.9:65535"},
				&plan, err, sizeof(err)), 0);
	CHECK_EQ(plan.n_containers, 2);
	ctr_plan_free(&plan);
	fleet_config_free(&cfg);

	/* a fleet without deckies is an empty plan, not an error */
	if (load_text(G, &cfg) == 0) {
		CHECK_EQ(ctr_plan_build(&cfg, NULL, &plan, err, sizeof(err)), 0);
		CHECK(plan.n_containers == 0 && str_is(plan.net.name, "decnet_lan"));
		ctr_plan_free(&plan);
		fleet_config_free(&cfg);
	}
}

/* exec= as the INI gives it -> argv, or NULL words for a refusal */
static const struct exec_case {
	const char *exec;
	const char *argv[6]; /* NULL-terminated; argv[0] NULL = refused */
} exec_cases[] = {
	{"/usr/bin/myapp -p 9999", {"/usr/bin/myapp", "-p", "9999"}},
	{"/bin/app --name 'a b' \"c \\\"d\\\"\" e\\ f", {"/bin/app", "--name", "a b", "c \"d\"", "e f"}},
	{"a''b \"\"", {"ab", ""}},
	{"'it''s' x\ty", {"its", "x", "y"}},
	{"\"a\\nb\" '\\'", {"a\\nb", "\\"}},
	{"\"$HOME\" \"\\$HOME\"", {"$HOME", "$HOME"}},
	{"sh -c 'echo \"hi there\"'", {"sh", "-c", "echo \"hi there\""}},
	{"\"open", {NULL}},
	{"x 'open", {NULL}},
	{"trailing\\", {NULL}},
};

static void check_exec(const struct exec_case *ec)
{
	struct fleet_config cfg;
	struct ctr_plan plan;
	char ini[512], err[256];
	snprintf(ini, sizeof(ini), G "[custom-x]\nbinary = img:1\nexec = %s\nports = 9\n"
		 "[a]\nservices = x\n", ec->exec);
	if (load_text(ini, &cfg) != 0) {
		fprintf(stderr, "    exec case '%s' does not load\n", ec->exec);
		CHECK(!"exec case loads");
		return;
	}
	int r = ctr_plan_build(&cfg, NULL, &plan, err, sizeof(err));
	if (!ec->argv[0]) {
		CHECK_EQ(r, -EINVAL);
		CHECK(strstr(err, "custom service 'x': exec=") != NULL);
		fleet_config_free(&cfg);
		return;
	}
	CHECK_EQ(r, 0);
	const struct ctr_container *c = r == 0 ? ctr_plan_find(&plan, "a-x") : NULL;
	CHECK(c && c->command && str_is(c->image, "img:1"));
	for (size_t i = 0; c && c->command; i++) {
		if (!str_is(c->command[i], ec->argv[i]) && (c->command[i] || ec->argv[i])) {
			fprintf(stderr, "    exec '%s' word %zu: got '%s' want '%s'\n", ec->exec, i,
				c->command[i] ? c->command[i] : "(end)",
				ec->argv[i] ? ec->argv[i] : "(end)");
			CHECK(!"exec words");
			break;
		}
		if (!c->command[i])
			break;
	}
	if (r == 0)
		ctr_plan_free(&plan);
	fleet_config_free(&cfg);
}

void test_plan_exec_words(void)
{
	for (size_t i = 0; i < sizeof(exec_cases) / sizeof(exec_cases[0]); i++)
		check_exec(&exec_cases[i]);

	/* no exec=: the image's own command */
	struct fleet_config cfg;
	struct ctr_plan plan;
	char err[256];
	CHECK_EQ(load_text(G "[custom-y]\nbinary = img:2\nports = 9/udp\n[a]\nservices = y, ssh\n",
			   &cfg), 0);
	CHECK_EQ(ctr_plan_build(&cfg, NULL, &plan, err, sizeof(err)), 0);
	const struct ctr_container *c = ctr_plan_find(&plan, "a-y");
	CHECK(c && c->command == NULL && str_is(c->image, "img:2"));
	CHECK(c && c->n_env == 2); /* NODE_NAME, HOSTNAME: BYOS takes no persona */
	ctr_plan_free(&plan);
	fleet_config_free(&cfg);
}

/* Thousands of deckies: the name check is O(n log n), the plan and its
 * compose document stay consistent at size. */
void test_plan_scale(void)
{
	struct fleet_config cfg;
	struct ctr_plan plan;
	char err[256];
	const char *ini = "[general]\nnet = 10.8.0.0/16\ngw = 10.8.0.1\n"
			  "[pool]\narchetype = linux-server\namount = 3000\n"
			  "[pool.ssh]\nssh_version = OpenSSH_9.2p1\n";
	if (load_text(ini, &cfg) != 0) {
		CHECK(!"scale config loads");
		return;
	}
	CHECK_EQ(ctr_plan_build(&cfg, NULL, &plan, err, sizeof(err)), 0);
	CHECK_EQ(plan.n_containers, 9000);
	const struct ctr_container *c = ctr_plan_find(&plan, "pool-3000-ssh");
	CHECK(c && str_is(c->network_of, "pool-3000") && str_is(ENV(c, "SSH_VERSION"),
								 "OpenSSH_9.2p1"));
	cJSON *doc = ctr_compose_render(&plan);
	CHECK(doc && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "services")) == 9000);
	cJSON_Delete(doc);
	ctr_plan_free(&plan);
	fleet_config_free(&cfg);
}
