/* Private to control/'s deploy commands: the flags-to-INI generator
 * (ctl_fleetgen.c) and the engine-mode daemon handling (ctl_daemon.c). */
#ifndef CTL_DEPLOY_INT_H
#define CTL_DEPLOY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

/* What DECNET's deploy flags say about a fleet when there is no -c. */
struct ctl_fleet_flags {
	long deckies;             /* --deckies/-n, required */
	const char *interface;    /* -i */
	const char *subnet;       /* --subnet CIDR, else from the interface */
	const char *ip_start;     /* --ip-start */
	const char *services;     /* --services a,b */
	bool randomize_services;
	const char *distro;       /* --distro a,b (cycled) */
	bool randomize_distros;
	const char *archetype;    /* -a */
	const char *log_target;
	const char *log_file;
	unsigned seed;            /* for the --randomize-* choices */
};

/* The INI text (malloc'd, *out) for the flags, or -errno with a one-line
 * reason in err (missing -n, no subnet, not enough addresses...). */
int ctl_fleet_from_flags(const struct ctl_fleet_flags *f, char **out, char *err, size_t errlen);

/* Engine mode's files under the run directory. */
struct ctl_paths {
	char dir[256];
	char sock[300];
	char pid[300];
	char log[300];
	char ini[300];
};
/* sock_override: --socket or $DECNET_CONTROL, may be NULL. */
void ctl_paths_init(struct ctl_paths *p, const char *sock_override);

/* The running decnetd's pid from the pid file, 0 when none runs (a stale
 * file is ignored). */
pid_t ctl_daemon_pid(const struct ctl_paths *p);
/* Starts decnetd -c config -i iface --control sock in the background and
 * waits (up to timeout_ms) until `status` answers. 0 or -errno, err says
 * why (the log's last lines are printed to stderr when it died). */
int ctl_daemon_start(const struct ctl_paths *p, const char *config, const char *iface,
		     int timeout_ms, char *err, size_t errlen);
/* SIGTERM through the pid file and wait up to timeout_ms: 1 stopped,
 * 0 none running, -errno. */
int ctl_daemon_stop(const struct ctl_paths *p, int timeout_ms, char *err, size_t errlen);
/* One control-socket call; *result (caller frees) is the reply's result.
 * -ENOENT/-ECONNREFUSED when nobody listens, -EREMOTEIO on ok:false
 * (err has the server's message). */
int ctl_daemon_call(const char *sock, const char *cmd, cJSON *args, cJSON **result, char *err,
		    size_t errlen);

/* Prints a decky table (name, ip, hostname, services, state column when
 * a decky object has "state"). */
void ctl_print_deckies(FILE *out, const cJSON *deckies);

#endif
