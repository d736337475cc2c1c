/* Socket tests for control/ctl_server.c through real AF_UNIX sockets in a
 * temporary directory. The server and its eng_loop run on a second
 * thread (and only there: the loop is single-threaded); this thread is the
 * clients, using ctl_client.c plus raw sockets for malformed input. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control/ctl_client.h"
#include "control/ctl_request.h"
#include "control/ctl_server.h"
#include "engine/eng_loop.h"
#include "tests/unit/tap.h"

#define T_TIMEOUT_MS 3000

struct fixture {
	struct eng_loop *loop;
	struct ctl_server *srv;
	int stop_pipe[2];
	pthread_t thread;
	struct eng_timer tick;
	unsigned tick_left, tick_seq;
	char dir[64], path[96], ro_path[100];
};

/* ---- commands the tests register ----------------------------------- */

static int cmd_stats(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	*result = cJSON_CreateObject();
	cJSON_AddNumberToObject(*result, "n", 42);
	return 0;
}

static int cmd_echo(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	*result = cJSON_Duplicate(args, true);
	return 0;
}

static int cmd_fail(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	return ctl_error_set(err, "not_found", "no such %s", "thing");
}

static int cmd_fail_silent(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	*result = cJSON_CreateString("leaked unless freed");
	return -1;
}

static int cmd_big(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	uint64_t size = 4u << 20;
	char *s;

	ctl_args_uint(args, "size", 64u << 20, &size);
	s = malloc(size + 1);
	if (!s)
		return ctl_error_set(err, "internal", "oom");
	memset(s, 'b', size);
	s[size] = '\0';
	*result = cJSON_CreateString(s);
	free(s);
	return 0;
}

static void publish_one(struct ctl_server *srv, unsigned seq, size_t pad)
{
	cJSON *ev = cJSON_CreateObject();
	char *p = calloc(1, pad + 1);

	if (p) {
		memset(p, 'p', pad);
		cJSON_AddStringToObject(ev, "pad", p);
	}
	cJSON_AddStringToObject(ev, "type", "test");
	cJSON_AddNumberToObject(ev, "seq", seq);
	ctl_server_publish(srv, ev);
	cJSON_Delete(ev);
	free(p);
}

static int cmd_emit(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	struct fixture *fx = ctx;
	uint64_t n = 1, pad = 0;

	ctl_args_uint(args, "n", 1000000, &n);
	ctl_args_uint(args, "pad", 1u << 20, &pad);
	for (uint64_t i = 0; i < n; i++)
		publish_one(fx->srv, (unsigned)i, pad);
	*result = cJSON_CreateNumber((double)n);
	return 0;
}

static void tick_cb(struct eng_loop *loop, struct eng_timer *t, void *arg)
{
	struct fixture *fx = arg;

	publish_one(fx->srv, fx->tick_seq++, 0);
	if (--fx->tick_left)
		eng_timer_arm(loop, t, 10000);
}

static int cmd_tick(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err)
{
	struct fixture *fx = ctx;

	fx->tick_left = 20;
	eng_timer_arm(fx->loop, &fx->tick, 10000);
	*result = cJSON_CreateTrue();
	return 0;
}

static void stop_cb(struct eng_loop *loop, int fd, unsigned events, void *arg)
{
	struct fixture *fx = arg;

	eng_timer_cancel(loop, &fx->tick);
	eng_loop_stop(loop);
}

static void *loop_thread(void *arg)
{
	struct fixture *fx = arg;

	eng_loop_run(fx->loop);
	return NULL;
}

static int fixture_start(struct fixture *fx)
{
	const char *tmp = getenv("TMPDIR");
	static const struct {
		const char *name;
		enum ctl_access access;
		ctl_handler fn;
	} cmds[] = {
		{ "stats", CTL_READONLY, cmd_stats },   { "decky.add", CTL_ADMIN, cmd_echo },
		{ "fail", CTL_READONLY, cmd_fail },     { "fail.silent", CTL_READONLY, cmd_fail_silent },
		{ "big", CTL_READONLY, cmd_big },       { "emit", CTL_ADMIN, cmd_emit },
		{ "tick", CTL_READONLY, cmd_tick },
	};

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "%s/ctltest.XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(fx->dir))
		return -errno;
	snprintf(fx->path, sizeof(fx->path), "%s/decnetd.sock", fx->dir);
	snprintf(fx->ro_path, sizeof(fx->ro_path), "%s.ro", fx->path);
	fx->loop = eng_loop_new(1000);
	if (!fx->loop || pipe2(fx->stop_pipe, O_CLOEXEC) < 0)
		return -ENOMEM;
	eng_timer_init(&fx->tick, tick_cb, fx);
	fx->srv = ctl_server_new(fx->loop, fx->path);
	if (!fx->srv)
		return -errno;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (ctl_server_register(fx->srv, cmds[i].name, cmds[i].access, "test", cmds[i].fn, fx))
			return -EINVAL;
	if (eng_loop_add_fd(fx->loop, fx->stop_pipe[0], ENG_EV_READ, stop_cb, fx))
		return -EINVAL;
	return -pthread_create(&fx->thread, NULL, loop_thread, fx);
}

static void fixture_stop(struct fixture *fx)
{
	(void)!write(fx->stop_pipe[1], "x", 1);
	pthread_join(fx->thread, NULL);
}

static void fixture_free(struct fixture *fx)
{
	eng_loop_del_fd(fx->loop, fx->stop_pipe[0]);
	ctl_server_free(fx->srv);
	eng_loop_free(fx->loop);
	close(fx->stop_pipe[0]);
	close(fx->stop_pipe[1]);
	rmdir(fx->dir);
}

/* ---- client helpers ---------------------------------------------------- */

static int raw_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void raw_send(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Next line parsed as JSON, or NULL. */
static cJSON *read_json(int fd)
{
	char *line = NULL;
	size_t len;
	cJSON *j;

	if (ctl_client_read_line(fd, &line, &len, T_TIMEOUT_MS))
		return NULL;
	j = cJSON_ParseWithLength(line, len);
	free(line);
	return j;
}

static const char *err_code(const cJSON *reply)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(reply, "error"), "code");
	return cJSON_IsString(c) ? c->valuestring : "";
}

static bool is_ok(const cJSON *reply)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"));
}

/* A control.stats counter, read over the admin socket. */
static long long ctl_stat(const struct fixture *fx, const char *name)
{
	cJSON *reply = NULL;
	long long v = -1;
	int fd = ctl_client_connect(fx->path, NULL, 0);

	if (fd < 0)
		return -1;
	if (ctl_client_call(fd, "control.stats", NULL, &reply, T_TIMEOUT_MS) == 0) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(reply, "result"), name);
		if (cJSON_IsNumber(n))
			v = (long long)n->valuedouble;
	}
	cJSON_Delete(reply);
	close(fd);
	return v;
}

/* Waits until the server has seen earlier hang-ups (clients gauge). */
static void wait_clients(const struct fixture *fx, long long want)
{
	for (int i = 0; i < 300 && ctl_stat(fx, "clients") != want + 1; i++)
		usleep(10000);
}

/* ---- tests ------------------------------------------------------------- */

static void test_files(const struct fixture *fx)
{
	struct stat st;

	CHECK(lstat(fx->path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK(lstat(fx->ro_path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0666);
}

static void test_hello_and_calls(const struct fixture *fx)
{
	char hello[256], msg[300];
	cJSON *reply = NULL, *h, *args;
	int fd = ctl_client_connect(fx->path, hello, sizeof(hello));

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	h = cJSON_Parse(hello);
	CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(h, "hello")));
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "admin")));
	CHECK_EQ(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(h, "proto")), 1);
	cJSON_Delete(h);

	CHECK_EQ(ctl_client_call(fd, "stats", NULL, &reply, T_TIMEOUT_MS), 0);
	CHECK_EQ(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
			 cJSON_GetObjectItemCaseSensitive(reply, "result"), "n")), 42);
	cJSON_Delete(reply);

	args = cJSON_Parse("{\"name\":\"web01\",\"ip\":\"10.0.0.5\"}");
	CHECK_EQ(ctl_client_call(fd, "decky.add", args, &reply, T_TIMEOUT_MS), 0);
	CHECK(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(reply, "result"), args, true));
	cJSON_Delete(reply);
	cJSON_Delete(args);

	CHECK_EQ(ctl_client_call(fd, "nosuch", NULL, &reply, T_TIMEOUT_MS), 0);
	CHECK(!ctl_client_reply_ok(reply));
	CHECK(strcmp(err_code(reply), "unknown_command") == 0);
	cJSON_Delete(reply);

	CHECK_EQ(ctl_client_call(fd, "fail", NULL, &reply, T_TIMEOUT_MS), 0);
	CHECK(!ctl_client_reply_ok(reply));
	CHECK(strcmp(ctl_client_error(reply, msg, sizeof(msg)), "not_found: no such thing") == 0);
	cJSON_Delete(reply);

	/* A handler that fails without saying why still gets a reply. */
	CHECK_EQ(ctl_client_call(fd, "fail.silent", NULL, &reply, T_TIMEOUT_MS), 0);
	CHECK(!ctl_client_reply_ok(reply));
	CHECK(strcmp(err_code(reply), "internal") == 0);
	cJSON_Delete(reply);

	/* Over the server's line limit: refused before anything is sent. */
	char *huge = malloc(CTL_LINE_MAX + 1);
	if (huge) {
		memset(huge, 'h', CTL_LINE_MAX);
		huge[CTL_LINE_MAX] = '\0';
		args = cJSON_CreateObject();
		cJSON_AddStringToObject(args, "x", huge);
		CHECK_EQ(ctl_client_call(fd, "stats", args, &reply, T_TIMEOUT_MS), -EMSGSIZE);
		CHECK(reply == NULL);
		cJSON_Delete(args);
		free(huge);
	}

	CHECK_EQ(ctl_client_call(fd, "help", NULL, &reply, T_TIMEOUT_MS), 0);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
		      cJSON_GetObjectItemCaseSensitive(reply, "result"), "commands")) >= 10);
	cJSON_Delete(reply);
	close(fd);
}

/* Malformed JSON, then good requests (JSON and plain text, pipelined in
 * one write) on the same connection. */
static void test_raw_lines(const struct fixture *fx)
{
	static const char batch[] =
		"{bad json\n"
		"{\"id\":\"x\",\"cmd\":\"stats\"}\n"
		"\n"
		"stats\r\n"
		"decky add name=x ip=1.2.3.4\n"
		"{\"id\":12345678901234567890,\"cmd\":\"stats\"}\n"
		"{\"id\":7,\"cmd\":5}\n";
	cJSON *r;
	char *line = NULL;
	size_t len;
	int fd = raw_connect(fx->path);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	r = read_json(fd); /* hello */
	CHECK(cJSON_GetObjectItemCaseSensitive(r, "hello") != NULL);
	cJSON_Delete(r);
	raw_send(fd, batch, sizeof(batch) - 1);

	r = read_json(fd);
	CHECK(!is_ok(r) && strcmp(err_code(r), "bad_request") == 0);
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "id")));
	cJSON_Delete(r);

	r = read_json(fd);
	CHECK(is_ok(r));
	CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id")) ?: "", "x") == 0);
	cJSON_Delete(r);

	r = read_json(fd); /* plain "stats" (the blank line got no reply) */
	CHECK(is_ok(r));
	cJSON_Delete(r);

	r = read_json(fd);
	CHECK(is_ok(r));
	CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			     cJSON_GetObjectItemCaseSensitive(r, "result"), "ip")) ?: "",
		     "1.2.3.4") == 0);
	cJSON_Delete(r);

	CHECK_EQ(ctl_client_read_line(fd, &line, &len, T_TIMEOUT_MS), 0);
	CHECK(line && strncmp(line, "{\"id\":12345678901234567890,\"ok\":true", 36) == 0);
	free(line);

	r = read_json(fd);
	CHECK(!is_ok(r) && strcmp(err_code(r), "bad_request") == 0);
	CHECK_EQ(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "id")), 7);
	cJSON_Delete(r);

	/* A last line without '\n' before EOF is still answered. */
	raw_send(fd, "stats", 5);
	shutdown(fd, SHUT_WR);
	r = read_json(fd);
	CHECK(is_ok(r));
	cJSON_Delete(r);
	CHECK_EQ(ctl_client_read_line(fd, &line, &len, T_TIMEOUT_MS), -ECONNRESET);
	close(fd);
}

static void test_readonly(const struct fixture *fx)
{
	char hello[256];
	cJSON *reply = NULL;
	int fd = ctl_client_connect(fx->ro_path, hello, sizeof(hello));

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(strstr(hello, "\"admin\":false") != NULL);
	CHECK_EQ(ctl_client_call(fd, "decky.add", NULL, &reply, T_TIMEOUT_MS), 0);
	CHECK(!ctl_client_reply_ok(reply));
	CHECK(strcmp(err_code(reply), "denied") == 0);
	cJSON_Delete(reply);
	CHECK_EQ(ctl_client_call(fd, "stats", NULL, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	CHECK_EQ(ctl_client_call(fd, "hello", NULL, &reply, T_TIMEOUT_MS), 0);
	CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(reply, "result"), "admin")));
	cJSON_Delete(reply);
	close(fd);
	CHECK(ctl_stat(fx, "denied") >= 1);
}

static void test_subscribe(const struct fixture *fx)
{
	cJSON *reply = NULL, *ev, *args = cJSON_Parse("{\"n\":1}");
	int sub = ctl_client_connect(fx->ro_path, NULL, 0);
	int adm = ctl_client_connect(fx->path, NULL, 0);

	CHECK(sub >= 0 && adm >= 0);
	CHECK_EQ(ctl_client_call(sub, "events.subscribe", NULL, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	CHECK_EQ(ctl_client_call(adm, "emit", args, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	ev = read_json(sub);
	CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			     cJSON_GetObjectItemCaseSensitive(ev, "event"), "type")) ?: "",
		     "test") == 0);
	cJSON_Delete(ev);
	/* The emitter did not subscribe: its next line is a reply. */
	CHECK_EQ(ctl_client_call(adm, "stats", NULL, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	/* A call on a subscribed connection skips the events before its
	 * reply (one is queued ahead of it here). */
	CHECK_EQ(ctl_client_call(adm, "emit", args, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	CHECK_EQ(ctl_client_call(sub, "stats", NULL, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	CHECK_EQ(ctl_client_call(sub, "events.unsubscribe", NULL, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	cJSON_Delete(args);
	close(sub);
	close(adm);
}

/* socat-style: send the subscribe line, half-close, keep reading. */
static void test_subscribe_half_closed(const struct fixture *fx)
{
	cJSON *reply = NULL, *r, *args = cJSON_Parse("{\"n\":2}");
	long long clients = ctl_stat(fx, "clients");
	int sub = raw_connect(fx->ro_path);
	int adm = ctl_client_connect(fx->path, NULL, 0);

	cJSON_Delete(read_json(sub)); /* hello */
	raw_send(sub, "events subscribe", 16); /* no newline either */
	shutdown(sub, SHUT_WR);
	r = read_json(sub);
	CHECK(is_ok(r));
	cJSON_Delete(r);
	CHECK_EQ(ctl_client_call(adm, "emit", args, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	for (int i = 0; i < 2; i++) {
		r = read_json(sub);
		CHECK(cJSON_GetObjectItemCaseSensitive(r, "event") != NULL);
		cJSON_Delete(r);
	}
	close(sub);
	close(adm);
	cJSON_Delete(args);
	wait_clients(fx, clients - 1);
	CHECK_EQ(ctl_stat(fx, "clients"), clients); /* both gone: just ctl_stat's own */
	CHECK_EQ(ctl_stat(fx, "subscribers"), 0);
}

static int count_events(void *ctx, const cJSON *event)
{
	unsigned *n = ctx;
	return ++*n >= 3; /* stop after three */
}

static void test_subscribe_client(const struct fixture *fx)
{
	cJSON *reply = NULL;
	unsigned n = 0;
	int fd = ctl_client_connect(fx->ro_path, NULL, 0);

	CHECK(fd >= 0);
	CHECK_EQ(ctl_client_call(fd, "tick", NULL, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	CHECK_EQ(ctl_client_subscribe(fd, NULL, count_events, &n, T_TIMEOUT_MS), 0);
	CHECK_EQ(n, 3);
	close(fd);
}

/* A subscriber that does not read: its queue stops at the cap, the rest
 * is dropped and counted, and the connection still works afterwards. */
static void test_event_drops(const struct fixture *fx)
{
	cJSON *reply = NULL, *args = cJSON_Parse("{\"n\":4000,\"pad\":1000}");
	int sub = ctl_client_connect(fx->ro_path, NULL, 0);
	int adm = ctl_client_connect(fx->path, NULL, 0);
	long long before = ctl_stat(fx, "events_dropped");
	char *line;
	size_t len;
	unsigned events = 0;

	CHECK_EQ(ctl_client_call(sub, "events.subscribe", NULL, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	CHECK_EQ(ctl_client_call(adm, "emit", args, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	CHECK(ctl_stat(fx, "events_dropped") > before);
	CHECK(ctl_stat(fx, "events_dropped") < before + 4000);
	while (ctl_client_read_line(sub, &line, &len, 300) == 0) {
		events++;
		free(line);
	}
	CHECK(events > 100 && events < 4000);
	CHECK_EQ(ctl_client_call(sub, "stats", NULL, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	cJSON_Delete(args);
	close(sub);
	close(adm);
}

/* Many requests in one write while not reading: the server pauses reading
 * instead of queueing without bound, and every reply arrives. */
static void test_pipelining(const struct fixture *fx)
{
	enum { N = 3000 };
	char *batch = malloc(N * 5);
	unsigned ok = 0;
	int fd = raw_connect(fx->ro_path);
	cJSON *r;

	CHECK(fd >= 0 && batch);
	if (fd < 0 || !batch) {
		free(batch);
		return;
	}
	for (int i = 0; i < N; i++)
		memcpy(batch + 5 * i, "help\n", 5);
	cJSON_Delete(read_json(fd));
	raw_send(fd, batch, N * 5);
	usleep(100000);
	for (int i = 0; i < N && (r = read_json(fd)); i++) {
		ok += is_ok(r);
		cJSON_Delete(r);
	}
	CHECK_EQ(ok, N);
	free(batch);
	close(fd);
}

/* Clients that vanish mid-reply, a too-long line, a connection flood. */
static void test_abuse(const struct fixture *fx)
{
	char *big = malloc(CTL_LINE_MAX + 100);
	cJSON *reply = NULL, *r;
	int fds[CTL_CONNS_MAX], fd;

	for (int i = 0; i < 5; i++) {
		fd = raw_connect(fx->ro_path);
		raw_send(fd, "big\n", 4);
		usleep(i * 2000);
		close(fd);
	}
	fd = raw_connect(fx->ro_path);
	raw_send(fd, "{\"cmd\":\"big\"}\n", 14);
	shutdown(fd, SHUT_WR);
	close(fd);

	fd = raw_connect(fx->ro_path);
	cJSON_Delete(read_json(fd));
	if (big) {
		memset(big, 'a', CTL_LINE_MAX + 100);
		raw_send(fd, big, CTL_LINE_MAX + 100);
	}
	r = read_json(fd);
	CHECK(strcmp(err_code(r), "line_too_long") == 0);
	cJSON_Delete(r);
	CHECK(read_json(fd) == NULL); /* closed */
	close(fd);
	free(big);
	CHECK(ctl_stat(fx, "lines_too_long") == 1);

	/* The read-only socket fills up; the admin one stays reachable. */
	wait_clients(fx, 0);
	for (int i = 0; i < CTL_CONNS_MAX; i++)
		fds[i] = ctl_client_connect(fx->ro_path, NULL, 0);
	CHECK(fds[CTL_CONNS_MAX - 1] >= 0);
	CHECK_EQ(ctl_client_connect(fx->ro_path, NULL, 0), -ECONNRESET);
	fd = ctl_client_connect(fx->path, NULL, 0);
	CHECK_EQ(ctl_client_call(fd, "stats", NULL, &reply, T_TIMEOUT_MS), 0);
	cJSON_Delete(reply);
	close(fd);
	for (int i = 0; i < CTL_CONNS_MAX; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	wait_clients(fx, 0);
	CHECK_EQ(ctl_stat(fx, "clients"), 1);
	CHECK(ctl_stat(fx, "connections_rejected") == 1);
}

/* As root: a peer of another uid is refused on the admin socket even
 * when its mode was loosened by mistake. */
static void test_peercred(const struct fixture *fx)
{
	pid_t pid;
	int status = -1;

	if (geteuid() != 0) {
		printf("# peercred: skipped (not root)\n");
		return;
	}
	/* The child only makes raw syscalls: another thread may hold the
	 * malloc lock at fork time. */
	chmod(fx->dir, 0711);
	chmod(fx->path, 0666);
	pid = fork();
	if (pid == 0) {
		char buf[512];
		ssize_t n;
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = raw_connect(fx->path);
		if (fd < 0)
			_exit(3);
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		_exit(strstr(buf, "\"denied\"") && recv(fd, buf, 1, 0) == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "    peercred child status %d\n", status);
	chmod(fx->path, 0600);
	chmod(fx->dir, 0700);
	CHECK(ctl_stat(fx, "peer_denied") == 1);
}

/* Stale socket files are replaced; live servers and other files are not. */
static void test_paths(const struct fixture *fx)
{
	struct eng_loop *loop = eng_loop_new(1000);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char p[100];
	int fd;

	errno = 0;
	CHECK(ctl_server_new(loop, fx->path) == NULL && errno == EADDRINUSE);

	snprintf(p, sizeof(p), "%s/stale.sock", fx->dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", p);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	close(fd); /* the file stays, nobody listens */
	struct ctl_server *srv = ctl_server_new(loop, p);
	CHECK(srv != NULL);
	ctl_server_free(srv);
	CHECK(access(p, F_OK) != 0); /* unlinked on free */

	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	errno = 0;
	CHECK(ctl_server_new(loop, p) == NULL && errno == EEXIST);
	unlink(p);

	char longp[200];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	errno = 0;
	CHECK(ctl_server_new(loop, longp) == NULL && errno == ENAMETOOLONG);
	eng_loop_free(loop);
}

int main(void)
{
	struct fixture fx;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	rc = fixture_start(&fx);
	CHECK_EQ(rc, 0);
	if (rc)
		return tap_done();
	test_files(&fx);
	test_hello_and_calls(&fx);
	test_raw_lines(&fx);
	test_readonly(&fx);
	test_subscribe(&fx);
	test_subscribe_half_closed(&fx);
	test_subscribe_client(&fx);
	test_event_drops(&fx);
	test_pipelining(&fx);
	test_abuse(&fx);
	test_peercred(&fx);
	test_paths(&fx);
	/* Everyone said goodbye; the server is still answering. */
	CHECK(ctl_stat(&fx, "requests") > 3000);
	fixture_stop(&fx);

	const struct ctl_server_stats *st = ctl_server_get_stats(fx.srv);
	CHECK(st->bad_json >= 2);
	CHECK(st->errors >= st->bad_json);
	CHECK(st->events_published > 4000);
	fixture_free(&fx);
	CHECK(access(fx.path, F_OK) != 0 && access(fx.ro_path, F_OK) != 0);
	return tap_done();
}
