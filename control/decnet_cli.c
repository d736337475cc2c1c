/* decnet: DECNET-C's command-line client. DECNET's commands (services,
 * archetypes, distros, deploy, status, teardown) plus ctl, a raw client for
 * decnetd's control socket. Commands are a table, like the socket's. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "control/ctl_client.h"
#include "control/ctl_deploy.h"
#include "control/ctl_tables.h"
#include "decnet_config.h"

static int cmd_help(int argc, char **argv, FILE *out);

/* ctl: decnet ctl [--socket PATH] [--json] [--timeout MS] CMD [key=value|word ...] */
static int cmd_ctl(int argc, char **argv, FILE *out)
{
	const char *path = getenv("DECNET_CONTROL");
	const char *run_dir = getenv("DECNET_RUN_DIR");
	char run_sock[512];
	bool json = false;
	long timeout_ms = 5000;
	int i = 1;
	/* Where `decnet deploy` put it: $DECNET_RUN_DIR/decnetd.sock. */
	if ((!path || !*path) && run_dir && *run_dir) {
		snprintf(run_sock, sizeof(run_sock), "%s/decnetd.sock", run_dir);
		path = run_sock;
	}
	if (!path || !*path)
		path = CTL_DEFAULT_SOCKET;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			char *end;
			timeout_ms = strtol(argv[++i], &end, 10);
			if (*end || timeout_ms <= 0) {
				fprintf(stderr, "decnet ctl: --timeout: expected milliseconds\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fprintf(out,
				"Usage: decnet ctl [--socket PATH] [--json] [--timeout MS] COMMAND [key=value ...]\n"
				"\n"
				"Send one command to decnetd's control socket and print the result.\n"
				"  --socket PATH  socket (default $DECNET_CONTROL, $DECNET_RUN_DIR/decnetd.sock\n"
				"                 or %s;\n"
				"                 PATH.ro is the read-only socket)\n"
				"  --json         print the raw JSON result on one line\n"
				"Words without '=' are passed as args._ (e.g. the decky name).\n"
				"Try: decnet ctl help | stats | decky.list | decky.add name=x ip=10.0.0.5 services=ssh\n",
				CTL_DEFAULT_SOCKET);
			return 0;
		} else {
			fprintf(stderr, "decnet ctl: unknown option %s (see decnet ctl --help)\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "decnet ctl: no command (try: decnet ctl help)\n");
		return 2;
	}
	const char *cmd = argv[i++];
	cJSON *args = cJSON_CreateObject();
	cJSON *pos = NULL;
	for (; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (eq && eq != argv[i]) {
			char key[128];
			size_t kl = (size_t)(eq - argv[i]);
			if (kl >= sizeof(key)) {
				fprintf(stderr, "decnet ctl: key too long: %s\n", argv[i]);
				cJSON_Delete(args);
				return 2;
			}
			memcpy(key, argv[i], kl);
			key[kl] = 0;
			cJSON_AddStringToObject(args, key, eq + 1);
		} else {
			if (!pos)
				pos = cJSON_AddArrayToObject(args, "_");
			cJSON_AddItemToArray(pos, cJSON_CreateString(argv[i]));
		}
	}
	char hello[512];
	int fd = ctl_client_connect(path, hello, sizeof(hello));
	if (fd < 0) {
		fprintf(stderr, "decnet: cannot reach decnetd at %s: %s\n", path, strerror(-fd));
		cJSON_Delete(args);
		return 3;
	}
	cJSON *reply = NULL;
	int rc = ctl_client_call(fd, cmd, args, &reply, (int)timeout_ms);
	cJSON_Delete(args);
	close(fd);
	if (rc < 0 && rc != -EREMOTEIO) {
		fprintf(stderr, "decnet: control socket %s: %s\n", path, strerror(-rc));
		return 3;
	}
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(reply, "ok");
	if (!cJSON_IsTrue(ok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
		if (json) {
			char *s = cJSON_PrintUnformatted(e);
			fprintf(out, "%s\n", s ? s : "null");
			free(s);
		}
		fprintf(stderr, "decnet: %s: %s\n", cJSON_IsString(code) ? code->valuestring : "error",
			cJSON_IsString(msg) ? msg->valuestring : "(no message)");
		cJSON_Delete(reply);
		return 1;
	}
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(reply, "result");
	char *s = json ? cJSON_PrintUnformatted(result) : cJSON_Print(result);
	fprintf(out, "%s\n", s ? s : "null");
	free(s);
	cJSON_Delete(reply);
	return 0;
}

struct cli_cmd {
	const char *name;
	const char *help;
	int (*fn)(int argc, char **argv, FILE *out);
};

static const struct cli_cmd commands[] = {
	{"services", "list the 25 honeypot services (--json)", ctl_cmd_services},
	{"archetypes", "list the machine archetypes (--json)", ctl_cmd_archetypes},
	{"distros", "list the distro profiles (--json)", ctl_cmd_distros},
	{"personas", "what nmap_os= can name: families and nmap-os-db entries (--search, --json)", ctl_cmd_personas},
	{"deploy", "deploy deckies: decnetd (default) or Docker containers (--classic)", ctl_cmd_deploy},
	{"status", "the deployed deckies, engine and classic (--json)", ctl_cmd_status},
	{"teardown", "remove deckies: --all, or --id NAME", ctl_cmd_teardown},
	{"ctl", "send a raw command to decnetd's control socket", cmd_ctl},
	{"help", "this help", cmd_help},
};

static int cmd_help(int argc, char **argv, FILE *out)
{
	(void)argc;
	(void)argv;
	fprintf(out,
		"Usage: decnet COMMAND [options]\n"
		"\n"
		"DECNET-C: a fleet of decoy hosts (deckies) answered by a userspace\n"
		"engine (decnetd). Commands:\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(out,
		"\n"
		"Run 'decnet COMMAND --help' for a command's options.\n"
		"Global: -h/--help, -V/--version.\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cmd_help(argc, argv, stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return cmd_help(argc, argv, stdout);
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("decnet %s\n", DECNET_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1, stdout);
	fprintf(stderr, "decnet: unknown command '%s' (see decnet --help)\n", argv[1]);
	return 2;
}
