/* decnet deploy / status / teardown (ctl_deploy.h). This file reads the
 * flags and picks the backend; the fleet text comes from ctl_fleetgen.c,
 * the engine daemon from ctl_daemon.c, Docker from containers/. */
#include "control/ctl_deploy.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "containers/ctr_plan.h"
#include "control/ctl_deploy_int.h"
#include "decnet_config.h"
#include "fleet/fleet.h"
#if HAVE_CURL
#include "containers/ctr_deploy.h"
#include "containers/ctr_docker.h"
#endif

#define DAEMON_START_MS 10000
#define DAEMON_STOP_MS 10000

struct deploy_args {
	struct ctl_fleet_flags f;
	const char *config;
	const char *output;
	const char *socket;
	bool ipvlan, dry_run, no_cache, classic, no_hairpin;
};

static const char deploy_usage[] =
	"Usage: decnet deploy [options]\n"
	"\n"
	"Deploy a fleet of deckies: with decnetd (engine mode, default) or as Docker\n"
	"containers on macvlan/ipvlan (--classic, DECNET's container model).\n"
	"\n"
	"  -c, --config FILE        INI fleet file (else the fleet comes from the flags)\n"
	"  -n, --deckies N          number of deckies (required without --config)\n"
	"  -i, --interface IFACE    host NIC (default: [general] interface=, else the\n"
	"                           default route's)\n"
	"      --subnet CIDR        LAN subnet (default: the interface's)\n"
	"      --ip-start IP        first decky address\n"
	"      --services a,b       service slugs for every decky\n"
	"      --randomize-services 1-3 random services per decky\n"
	"      --distro a,b         distro slugs, cycled over the deckies\n"
	"      --randomize-distros  a random distro per decky\n"
	"  -a, --archetype SLUG     machine archetype (services + OS family)\n"
	"      --log-target IP:PORT RFC 5424 syslog target\n"
	"      --log-file PATH      log file (its directory is mounted into services)\n"
	"      --ipvlan             IPvlan L2 instead of MACVLAN (classic)\n"
	"      --dry-run            print the compose document, deploy nothing\n"
	"      --output FILE        write the compose document to FILE\n"
	"      --no-cache           rebuild the decnet/ images (classic)\n"
	"      --mode unihost       the only mode (swarm: use an orchestrator)\n"
	"      --classic            Docker containers instead of decnetd\n"
	"      --no-hairpin         classic: no decnet_macvlan0 host interface\n"
	"      --socket PATH        engine: control socket (default RUN_DIR/decnetd.sock)\n"
	"\n"
	"Engine mode keeps its files in /run/decnet (or $DECNET_RUN_DIR): decnetd.pid,\n"
	"decnetd.log, decnetd.sock, fleet.ini. Docker: $DECNET_DOCKER_SOCKET or\n"
	"/var/run/docker.sock. Exit: 0 deployed, 1 failed (rolled back), 2 usage/config.\n";

enum {
	OPT_SUBNET = 256, OPT_IP_START, OPT_SERVICES, OPT_RAND_SVC, OPT_DISTRO, OPT_RAND_DISTRO,
	OPT_LOG_TARGET, OPT_LOG_FILE, OPT_IPVLAN, OPT_DRY_RUN, OPT_OUTPUT, OPT_NO_CACHE,
	OPT_MODE, OPT_CLASSIC, OPT_SOCKET, OPT_NO_HAIRPIN, OPT_JSON, OPT_ALL, OPT_ID,
};

static const struct option deploy_opts[] = {
	{"config", required_argument, NULL, 'c'},
	{"deckies", required_argument, NULL, 'n'},
	{"interface", required_argument, NULL, 'i'},
	{"subnet", required_argument, NULL, OPT_SUBNET},
	{"ip-start", required_argument, NULL, OPT_IP_START},
	{"services", required_argument, NULL, OPT_SERVICES},
	{"randomize-services", no_argument, NULL, OPT_RAND_SVC},
	{"distro", required_argument, NULL, OPT_DISTRO},
	{"randomize-distros", no_argument, NULL, OPT_RAND_DISTRO},
	{"archetype", required_argument, NULL, 'a'},
	{"log-target", required_argument, NULL, OPT_LOG_TARGET},
	{"log-file", required_argument, NULL, OPT_LOG_FILE},
	{"ipvlan", no_argument, NULL, OPT_IPVLAN},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"output", required_argument, NULL, OPT_OUTPUT},
	{"no-cache", no_argument, NULL, OPT_NO_CACHE},
	{"mode", required_argument, NULL, OPT_MODE},
	{"classic", no_argument, NULL, OPT_CLASSIC},
	{"no-hairpin", no_argument, NULL, OPT_NO_HAIRPIN},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "decnet %s: %s (see decnet %s --help)\n", cmd, msg, cmd);
	return 2;
}

/* 0 parsed, 1 --help printed, 2 usage error (printed). */
static int parse_deploy(int argc, char **argv, struct deploy_args *a, FILE *out)
{
	int c;
	char *end;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:n:i:a:h", deploy_opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'n':
			a->f.deckies = strtol(optarg, &end, 10);
			if (*end || a->f.deckies <= 0)
				return usage_error("deploy", "--deckies: expected a positive number");
			break;
		case 'i': a->f.interface = optarg; break;
		case 'a': a->f.archetype = optarg; break;
		case OPT_SUBNET: a->f.subnet = optarg; break;
		case OPT_IP_START: a->f.ip_start = optarg; break;
		case OPT_SERVICES: a->f.services = optarg; break;
		case OPT_RAND_SVC: a->f.randomize_services = true; break;
		case OPT_DISTRO: a->f.distro = optarg; break;
		case OPT_RAND_DISTRO: a->f.randomize_distros = true; break;
		case OPT_LOG_TARGET: a->f.log_target = optarg; break;
		case OPT_LOG_FILE: a->f.log_file = optarg; break;
		case OPT_IPVLAN: a->ipvlan = true; break;
		case OPT_DRY_RUN: a->dry_run = true; break;
		case OPT_OUTPUT: a->output = optarg; break;
		case OPT_NO_CACHE: a->no_cache = true; break;
		case OPT_CLASSIC: a->classic = true; break;
		case OPT_NO_HAIRPIN: a->no_hairpin = true; break;
		case OPT_SOCKET: a->socket = optarg; break;
		case OPT_MODE:
			if (strcmp(optarg, "unihost") != 0)
				return usage_error("deploy", "--mode: only 'unihost' (many sensors are "
						   "deployed with an orchestrator, see the README)");
			break;
		case 'h': fputs(deploy_usage, out); return 1;
		default: return 2; /* getopt printed why */
		}
	}
	if (optind < argc)
		return usage_error("deploy", "unexpected argument");
	if (a->config && (a->f.deckies || a->f.subnet || a->f.ip_start || a->f.services ||
			  a->f.randomize_services || a->f.archetype || a->f.randomize_distros))
		return usage_error("deploy", "-n, --subnet, --ip-start, --services, --archetype and "
				   "--randomize-* describe a fleet: not with --config");
	if (a->config && a->f.distro && strchr(a->f.distro, ','))
		return usage_error("deploy", "--distro with --config forces one distro, not a list");
	if (a->ipvlan && !a->classic && !a->dry_run)
		return usage_error("deploy", "--ipvlan is a classic-mode option (add --classic)");
	return 0;
}

/* The fleet from -c or from the flags; INI errors print FILE:LINE. */
static int load_fleet(const struct deploy_args *a, const struct fleet_os_resolver *os,
		      struct fleet_config *cfg, char **ini_text)
{
	struct fleet_error fe;
	char msg[600];
	int rc;
	*ini_text = NULL;
	if (a->config) {
		rc = fleet_load_file_ex(a->config, os, cfg, &fe);
	} else {
		char err[256];
		if ((rc = ctl_fleet_from_flags(&a->f, ini_text, err, sizeof(err))) < 0) {
			fprintf(stderr, "decnet deploy: %s\n", err);
			return 2;
		}
		rc = fleet_load_buffer_ex("(deploy flags)", *ini_text, strlen(*ini_text), os, cfg, &fe);
	}
	if (rc < 0) {
		fleet_error_format(&fe, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		free(*ini_text);
		*ini_text = NULL;
		return 2;
	}
	return 0;
}

static int write_compose(const struct ctr_plan *plan, const char *path, FILE *out)
{
	FILE *f = path ? fopen(path, "w") : out;
	if (!f) {
		fprintf(stderr, "decnet deploy: %s: %s\n", path, strerror(errno));
		return 1;
	}
	int rc = ctr_compose_write(plan, f);
	if (path && fclose(f) != 0)
		rc = rc ? rc : -EIO;
	if (rc < 0) {
		fprintf(stderr, "decnet deploy: writing the compose document: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}

static int deploy_classic(const struct deploy_args *a, const struct ctr_plan *plan, FILE *out)
{
#if HAVE_CURL
	struct ctr_docker *d = NULL;
	char err[600];
	int rc = ctr_docker_open(NULL, &d, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "decnet deploy: %s\n", err);
		return 1;
	}
	struct ctr_deploy_opts o = {.no_cache = a->no_cache, .no_hairpin = a->no_hairpin,
				    .progress = out};
	rc = ctr_deploy(d, plan, &o, err, sizeof(err));
	ctr_docker_close(d);
	if (rc < 0) {
		fprintf(stderr, "decnet deploy: %s\n", err);
		return 1;
	}
	return 0;
#else
	(void)a;
	(void)plan;
	(void)out;
	fprintf(stderr, "decnet deploy: this decnet was built without libcurl: no classic mode "
		"(rebuild with libcurl4-openssl-dev)\n");
	return 1;
#endif
}

static int deploy_engine(const struct deploy_args *a, const struct fleet_config *cfg,
			 const char *ini_text, FILE *out)
{
	struct ctl_paths p;
	char err[600], config[PATH_MAX], iface[64];
	ctl_paths_init(&p, a->socket ? a->socket : getenv("DECNET_CONTROL"));
	snprintf(iface, sizeof(iface), "%s",
		 a->f.interface ? a->f.interface : cfg->interface);
	if (!iface[0]) {
		fprintf(stderr, "decnet deploy: engine mode needs an interface (-i or [general] "
			"interface=)\n");
		return 2;
	}
	if (a->config) {
		if (!realpath(a->config, config)) {
			fprintf(stderr, "decnet deploy: %s: %s\n", a->config, strerror(errno));
			return 2;
		}
	} else {
		/* decnetd reads a file (and config.reload re-reads it). */
		FILE *f;
		if ((mkdir(p.dir, 0755) < 0 && errno != EEXIST) || !(f = fopen(p.ini, "w"))) {
			fprintf(stderr, "decnet deploy: %s: %s\n", p.ini, strerror(errno));
			return 1;
		}
		fputs(ini_text, f);
		if (fclose(f) != 0) {
			fprintf(stderr, "decnet deploy: %s: %s\n", p.ini, strerror(errno));
			return 1;
		}
		snprintf(config, sizeof(config), "%s", p.ini);
	}
	pid_t running = ctl_daemon_pid(&p);
	if (running > 0) {
		fprintf(stderr, "decnet deploy: decnetd is already running (pid %d, %s): decnet "
			"teardown --all first\n", (int)running, p.pid);
		return 1;
	}
	fprintf(out, "starting decnetd on %s (%zu deckies; log %s)\n", iface, cfg->n_deckies, p.log);
	fflush(out);
	if (ctl_daemon_start(&p, config, iface, DAEMON_START_MS, err, sizeof(err)) < 0) {
		fprintf(stderr, "decnet deploy: %s\n", err);
		return 1;
	}
	cJSON *list = NULL;
	if (ctl_daemon_call(p.sock, "decky.list", NULL, &list, err, sizeof(err)) < 0) {
		fprintf(stderr, "decnet deploy: decnetd started but %s\n", err);
		return 1;
	}
	ctl_print_deckies(out, list);
	fprintf(out, "decnetd running (pid %d, control %s)\n", (int)ctl_daemon_pid(&p), p.sock);
	cJSON_Delete(list);
	return 0;
}

int ctl_cmd_deploy(int argc, char **argv, FILE *out)
{
	struct deploy_args a = {.f = {.seed = (unsigned)time(NULL) ^ (unsigned)getpid()}};
	struct fleet_config cfg;
	struct ctr_plan plan;
	char *ini_text = NULL, err[512];
	int rc = parse_deploy(argc, argv, &a, out);
	if (rc)
		return rc == 1 ? 0 : rc;
	/* nmap_os= may name nmap-os-db entries: the same resolver as decnetd. */
	struct fleet_osdb_resolver osdb;
	fleet_osdb_resolver_init(&osdb, NULL);
	if ((rc = load_fleet(&a, &osdb.r, &cfg, &ini_text)) != 0) {
		fleet_osdb_resolver_free(&osdb);
		return rc;
	}
	struct ctr_plan_opts po = {.interface = a.f.interface, .ipvlan = a.ipvlan,
				   .log_target = a.config ? a.f.log_target : NULL,
				   .log_file = a.config ? a.f.log_file : NULL,
				   .distro = a.config ? a.f.distro : NULL};
	if (a.dry_run || a.classic || a.output) {
		if (ctr_plan_build(&cfg, &po, &plan, err, sizeof(err)) < 0) {
			fprintf(stderr, "decnet deploy: %s\n", err);
			rc = 2;
			goto out_cfg;
		}
		if (a.dry_run || a.output)
			rc = write_compose(&plan, a.output, out);
		if (rc == 0 && !a.dry_run)
			rc = a.classic ? deploy_classic(&a, &plan, out) : deploy_engine(&a, &cfg, ini_text, out);
		ctr_plan_free(&plan);
	} else {
		rc = deploy_engine(&a, &cfg, ini_text, out);
	}
out_cfg:
	fleet_config_free(&cfg);
	fleet_osdb_resolver_free(&osdb);
	free(ini_text);
	return rc;
}

/* ---- status ---- */

static const struct option status_opts[] = {
	{"json", no_argument, NULL, OPT_JSON},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"classic", no_argument, NULL, OPT_CLASSIC},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* engine: {"status":{...},"deckies":[...]} or NULL with why in err. */
static cJSON *engine_status(const char *sock, char *err, size_t errlen)
{
	cJSON *st = NULL, *list = NULL, *o;
	if (ctl_daemon_call(sock, "status", NULL, &st, err, errlen) < 0)
		return NULL;
	if (ctl_daemon_call(sock, "decky.list", NULL, &list, err, errlen) < 0 ||
	    !(o = cJSON_CreateObject())) {
		cJSON_Delete(st);
		cJSON_Delete(list);
		return NULL;
	}
	cJSON_AddItemToObject(o, "status", st);
	cJSON_AddItemToObject(o, "deckies", list);
	return o;
}

static cJSON *classic_status(char *err, size_t errlen)
{
#if HAVE_CURL
	struct ctr_docker *d = NULL;
	cJSON *arr = NULL;
	if (ctr_docker_open(NULL, &d, err, errlen) < 0)
		return NULL;
	if (ctr_status(d, &arr, err, errlen) < 0)
		arr = NULL;
	ctr_docker_close(d);
	return arr;
#else
	snprintf(err, errlen, "built without libcurl: no Docker status");
	return NULL;
#endif
}

static void print_status(FILE *out, const cJSON *eng, const cJSON *cls, const char *sock)
{
	if (eng) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(eng, "status");
		const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(st, "interface");
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(eng, "deckies");
		fprintf(out, "engine: decnetd on %s, %d deckies (control %s)\n",
			cJSON_IsString(ifn) ? ifn->valuestring : "?", cJSON_GetArraySize(list), sock);
		ctl_print_deckies(out, list);
	}
	if (cls) {
		if (eng)
			fputc('\n', out);
		fprintf(out, "classic: %d deckies in Docker\n", cJSON_GetArraySize(cls));
		if (cJSON_GetArraySize(cls))
			ctl_print_deckies(out, cls);
	}
}

int ctl_cmd_status(int argc, char **argv, FILE *out)
{
	const char *sock = getenv("DECNET_CONTROL");
	bool json = false, classic_only = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", status_opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_SOCKET: sock = optarg; break;
		case OPT_CLASSIC: classic_only = true; break;
		case 'h':
			fputs("Usage: decnet status [--json] [--socket PATH] [--classic]\n\n"
			      "The deployed deckies: decnetd's (engine mode, through its control socket)\n"
			      "and Docker's (classic mode, containers labelled decnet.managed=true),\n"
			      "grouped per decky: name, IP, hostname, services, state.\n"
			      "Exit 1 when neither decnetd nor Docker answered.\n", out);
			return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return usage_error("status", "unexpected argument");
	struct ctl_paths p;
	char e_err[512] = "", c_err[600] = "";
	ctl_paths_init(&p, sock);
	cJSON *eng = NULL;
	if (!classic_only && access(p.sock, F_OK) == 0)
		eng = engine_status(p.sock, e_err, sizeof(e_err));
	else if (!classic_only)
		snprintf(e_err, sizeof(e_err), "no decnetd (no socket at %s)", p.sock);
	cJSON *cls = classic_status(c_err, sizeof(c_err));
	int rc = eng || cls ? 0 : 1;
	if (json) {
		cJSON *o = cJSON_CreateObject();
		/* o takes eng and cls over. */
		cJSON_AddItemToObject(o, "engine", eng ? eng : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "classic", cls ? cls : cJSON_CreateNull());
		eng = cls = NULL;
		char *s = cJSON_PrintUnformatted(o);
		fprintf(out, "%s\n", s ? s : "null");
		free(s);
		cJSON_Delete(o);
	} else {
		print_status(out, eng, cls, p.sock);
		if (!eng && !classic_only && e_err[0] && (cls == NULL || access(p.sock, F_OK) == 0))
			fprintf(stderr, "decnet status: %s\n", e_err);
		if (!cls && c_err[0] && (!eng || classic_only))
			fprintf(stderr, "decnet status: %s\n", c_err);
	}
	cJSON_Delete(eng);
	cJSON_Delete(cls);
	return rc;
}

/* ---- teardown ---- */

static const struct option teardown_opts[] = {
	{"all", no_argument, NULL, OPT_ALL},
	{"id", required_argument, NULL, OPT_ID},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Docker's part: removed count, -ENOENT (nothing of that name), or
 * another -errno with err set. -ENOTCONN when Docker is not there. */
static int classic_teardown(const char *id, FILE *out, char *err, size_t errlen)
{
#if HAVE_CURL
	struct ctr_docker *d = NULL;
	if (ctr_docker_open(NULL, &d, err, errlen) < 0)
		return -ENOTCONN;
	int rc = ctr_teardown(d, id, out, err, errlen);
	ctr_docker_close(d);
	return rc;
#else
	(void)id;
	(void)out;
	snprintf(err, errlen, "built without libcurl: no Docker teardown");
	return -ENOTCONN;
#endif
}

int ctl_cmd_teardown(int argc, char **argv, FILE *out)
{
	const char *sock = getenv("DECNET_CONTROL"), *id = NULL;
	bool all = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", teardown_opts, NULL)) != -1) {
		switch (c) {
		case OPT_ALL: all = true; break;
		case OPT_ID: id = optarg; break;
		case OPT_SOCKET: sock = optarg; break;
		case 'h':
			fputs("Usage: decnet teardown --all | --id NAME [--socket PATH]\n\n"
			      "  --all      stop decnetd (SIGTERM via its pid file) and remove every\n"
			      "             Docker container and network labelled decnet.managed=true\n"
			      "             (and the hairpin interface); nothing else is touched\n"
			      "  --id NAME  remove one decky (decky.remove on decnetd, or its containers)\n",
			      out);
			return 0;
		default: return 2;
		}
	}
	if (optind < argc || all == (id != NULL))
		return usage_error("teardown", "give exactly one of --all or --id NAME");
	struct ctl_paths p;
	char err[600] = "", cerr[600] = "";
	int found = 0, failed = 0;
	ctl_paths_init(&p, sock);
	if (all) {
		int rc = ctl_daemon_stop(&p, DAEMON_STOP_MS, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "decnet teardown: %s\n", err);
			failed = 1;
		} else if (rc == 1) {
			fprintf(out, "stopped decnetd\n");
			found = 1;
		}
	} else if (access(p.sock, F_OK) == 0) {
		cJSON *args = cJSON_CreateObject(), *res = NULL;
		cJSON_AddStringToObject(args, "name", id);
		int rc = ctl_daemon_call(p.sock, "decky.remove", args, &res, err, sizeof(err));
		cJSON_Delete(args);
		cJSON_Delete(res);
		if (rc == 0) {
			fprintf(out, "decnetd: removed %s\n", id);
			found = 1;
		} else if (rc != -EREMOTEIO && rc != -ENOENT && rc != -ECONNREFUSED) {
			fprintf(stderr, "decnet teardown: %s\n", err);
			failed = 1;
		}
	}
	int rc = classic_teardown(id, out, cerr, sizeof(cerr));
	if (rc >= 0) {
		fprintf(out, "classic: removed %d container%s\n", rc, rc == 1 ? "" : "s");
		found = 1;
	} else if (rc == -ENOTCONN) {
		/* Docker absent is only an error when nothing else was there. */
		if (!found)
			fprintf(stderr, "decnet teardown: %s\n", cerr);
	} else if (rc != -ENOENT) {
		fprintf(stderr, "decnet teardown: %s\n", cerr);
		failed = 1;
	}
	if (id && !found && !failed) {
		fprintf(stderr, "decnet teardown: no deployed decky named %s\n", id);
		return 1;
	}
	if (all && !found && rc == -ENOTCONN)
		return 1;
	return failed;
}
