/* Engine mode's side of `decnet deploy/status/teardown`: start decnetd as
 * a background daemon, find it again through its pid file, stop it, and
 * talk to its control socket. decnetd itself stays a foreground program
 * (systemd runs it that way); daemonising is the CLI's job. */
#include "control/ctl_deploy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control/ctl_client.h"
#include "control/ctl_deploy.h"

void ctl_paths_init(struct ctl_paths *p, const char *sock_override)
{
	const char *dir = getenv(CTL_RUN_DIR_ENV);
	snprintf(p->dir, sizeof(p->dir), "%s", dir && *dir ? dir : CTL_RUN_DIR);
	if (sock_override && *sock_override)
		snprintf(p->sock, sizeof(p->sock), "%s", sock_override);
	else
		snprintf(p->sock, sizeof(p->sock), "%s/decnetd.sock", p->dir);
	snprintf(p->pid, sizeof(p->pid), "%s/decnetd.pid", p->dir);
	snprintf(p->log, sizeof(p->log), "%s/decnetd.log", p->dir);
	snprintf(p->ini, sizeof(p->ini), "%s/fleet.ini", p->dir);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A pid is ours only if it is alive and its command is decnetd: a pid
 * file left by a crash may name a recycled pid. */
static bool is_decnetd(pid_t pid)
{
	char path[64], comm[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	return strcmp(comm, "decnetd") == 0;
}

pid_t ctl_daemon_pid(const struct ctl_paths *p)
{
	FILE *f = fopen(p->pid, "r");
	long pid = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || pid > INT_MAX || !is_decnetd((pid_t)pid))
		return 0;
	return (pid_t)pid;
}

/* decnetd beside this binary (build/ and installed layouts), then
 * ../engine/decnetd (older build trees), then PATH. */
static void find_decnetd(char *buf, size_t len)
{
	char exe[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, len, "%s/decnetd", exe);
			if (access(buf, X_OK) == 0)
				return;
			snprintf(buf, len, "%s/../engine/decnetd", exe);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "decnetd");
}

int ctl_daemon_call(const char *sock, const char *cmd, cJSON *args, cJSON **result, char *err,
		    size_t errlen)
{
	*result = NULL;
	int fd = ctl_client_connect(sock, NULL, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot reach decnetd at %s: %s", sock, strerror(-fd));
		return fd;
	}
	cJSON *reply = NULL;
	int rc = ctl_client_call(fd, cmd, args, &reply, CTL_CLIENT_TIMEOUT_MS);
	ctl_client_close(fd);
	if (rc < 0) {
		snprintf(err, errlen, "decnetd at %s: %s: %s", sock, cmd, strerror(-rc));
		return rc;
	}
	if (!ctl_client_reply_ok(reply)) {
		char msg[256];
		snprintf(err, errlen, "decnetd: %s: %s", cmd, ctl_client_error(reply, msg, sizeof(msg)));
		cJSON_Delete(reply);
		return -EREMOTEIO;
	}
	*result = cJSON_DetachItemFromObjectCaseSensitive(reply, "result");
	cJSON_Delete(reply);
	return 0;
}

static void print_log_tail(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	if (!f)
		return;
	fprintf(stderr, "--- %s ---\n", path);
	/* The log is this run's only (truncated at start): print it, capped. */
	for (int i = 0; i < 40 && fgets(line, sizeof(line), f); i++)
		fputs(line, stderr);
	fclose(f);
}

static void child_exec(const char *bin, const char *config, const char *iface, const char *sock,
		       int log_fd)
{
	setsid();
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	char *argv[] = {(char *)bin, "-c", (char *)config, "-i", (char *)iface, "--control",
			(char *)sock, NULL};
	execvp(bin, argv);
	dprintf(2, "decnet: cannot run %s: %s\n", bin, strerror(errno));
	_exit(127);
}

int ctl_daemon_start(const struct ctl_paths *p, const char *config, const char *iface,
		     int timeout_ms, char *err, size_t errlen)
{
	char bin[PATH_MAX];
	pid_t running = ctl_daemon_pid(p);
	if (running > 0) {
		snprintf(err, errlen, "decnetd is already running (pid %d, %s): decnet teardown --all "
			 "first", (int)running, p->pid);
		return -EEXIST;
	}
	if (mkdir(p->dir, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "cannot create %s: %s", p->dir, strerror(e));
		return -e;
	}
	int log_fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (log_fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", p->log, strerror(e));
		return -e;
	}
	find_decnetd(bin, sizeof(bin));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(log_fd);
		snprintf(err, errlen, "fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0)
		child_exec(bin, config, iface, p->sock, log_fd);
	close(log_fd);
	FILE *pf = fopen(p->pid, "w");
	if (pf) {
		fprintf(pf, "%d\n", (int)pid);
		fclose(pf);
	}
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			unlink(p->pid);
			snprintf(err, errlen, "decnetd exited at start (%s %d); its log follows",
				 WIFEXITED(st) ? "status" : "signal",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			print_log_tail(p->log);
			return -ECHILD;
		}
		cJSON *res = NULL;
		char e2[256];
		if (ctl_daemon_call(p->sock, "status", NULL, &res, e2, sizeof(e2)) == 0) {
			cJSON_Delete(res);
			return 0;
		}
		sleep_ms(50);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(p->pid);
	snprintf(err, errlen, "decnetd did not answer on %s within %d ms (stopped it; log: %s)",
		 p->sock, timeout_ms, p->log);
	return -ETIMEDOUT;
}

int ctl_daemon_stop(const struct ctl_paths *p, int timeout_ms, char *err, size_t errlen)
{
	pid_t pid = ctl_daemon_pid(p);
	if (pid <= 0) {
		unlink(p->pid); /* stale or absent */
		return 0;
	}
	if (kill(pid, SIGTERM) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot signal decnetd (pid %d): %s", (int)pid, strerror(e));
		return -e;
	}
	/* Not our child (an earlier CLI started it): poll until it is gone. */
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		if (kill(pid, 0) < 0 || !is_decnetd(pid)) {
			unlink(p->pid);
			return 1;
		}
		sleep_ms(50);
	}
	snprintf(err, errlen, "decnetd (pid %d) still running %d ms after SIGTERM", (int)pid,
		 timeout_ms);
	return -ETIMEDOUT;
}

static void cell(const cJSON *o, const char *key, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	buf[0] = 0;
	if (cJSON_IsString(v)) {
		snprintf(buf, len, "%s", v->valuestring);
	} else if (cJSON_IsArray(v)) {
		const cJSON *s;
		size_t off = 0;
		cJSON_ArrayForEach(s, v)
			if (cJSON_IsString(s) && off < len)
				off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "",
							s->valuestring);
	}
}

void ctl_print_deckies(FILE *out, const cJSON *deckies)
{
	const cJSON *d;
	bool state = false;
	cJSON_ArrayForEach(d, deckies)
		state |= cJSON_GetObjectItemCaseSensitive(d, "state") != NULL;
	if (state)
		fprintf(out, "%-20s %-15s %-20s %-10s %s\n", "NAME", "IP", "HOSTNAME", "STATE",
			"SERVICES");
	else
		fprintf(out, "%-20s %-15s %-20s %-9s %s\n", "NAME", "IP", "HOSTNAME", "NMAP_OS",
			"SERVICES");
	cJSON_ArrayForEach(d, deckies) {
		char name[80], ip[20], host[80], col[40], svcs[512];
		cell(d, "name", name, sizeof(name));
		cell(d, "ip", ip, sizeof(ip));
		cell(d, "hostname", host, sizeof(host));
		cell(d, state ? "state" : "nmap_os", col, sizeof(col));
		cell(d, "services", svcs, sizeof(svcs));
		fprintf(out, state ? "%-20s %-15s %-20s %-10s %s\n" : "%-20s %-15s %-20s %-9s %s\n",
			name, ip, host, col, svcs);
	}
}
