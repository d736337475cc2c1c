/* Control socket server (protocol in ctl_server.h, parsing in
 * ctl_request.c, the command table in ctl_registry.c).
 *
 * Everything runs on the engine's loop, so nothing here may block: all
 * sockets are nonblocking, each wake-up does a bounded amount of work
 * (CTL_READ_BUDGET reads, CTL_ACCEPT_BUDGET accepts) and the loop calls
 * again while data is left (it is level-triggered).
 *
 * Buffer ownership: a connection owns its input buffer (at most one line
 * plus CRLF) and its output buffer (replies and events not yet taken by
 * the kernel). A reply is queued whole; events are dropped, and counted,
 * when they would push the output past CTL_OUTPUT_CAP. While more than
 * CTL_OUT_HIGH bytes wait, the connection's requests are not read - a
 * client that pipelines requests but does not read its replies stalls
 * itself, not the engine.
 *
 * Lifetime: a connection that fails is killed at once (fd removed from
 * the loop and closed) but its memory is freed only when no callback of
 * this server is on the stack (srv->depth == 0), because the code that
 * noticed the failure may still hold the pointer: a handler publishing
 * an event can kill another connection, or its own.
 */
#include "control/ctl_server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl_registry.h"
#include "control/ctl_request.h"
#include "control/ctl_server_int.h"
#include "decnet_config.h"
#include "engine/eng_loop.h"

#define CTL_IN_MAX (CTL_LINE_MAX + 2)  /* a full line, '\r' and '\n' */
#define CTL_IN_INITIAL 4096u
#define CTL_OUT_HIGH (64u * 1024u)
#define CTL_OUT_KEEP (64u * 1024u)     /* buffers above this are freed when drained */
#define CTL_READ_BUDGET 16
#define CTL_ACCEPT_BUDGET 32
#define CTL_ACCEPT_RETRY_US 100000u    /* after EMFILE and friends */
#define CTL_BACKLOG 64

/* ---- connection output ------------------------------------------------ */

static size_t conn_pending(const struct ctl_conn *c)
{
	return c->out_len - c->out_head;
}

static void conn_kill(struct ctl_conn *c);

static void conn_update_interest(struct ctl_conn *c)
{
	unsigned want = 0;

	if (c->dead)
		return;
	if (c->closing && conn_pending(c) == 0) {
		conn_kill(c);
		return;
	}
	if (!c->closing && !c->eof && conn_pending(c) < CTL_OUT_HIGH)
		want |= ENG_EV_READ;
	if (conn_pending(c))
		want |= ENG_EV_WRITE;
	/* want == 0: a subscriber whose peer half-closed, waiting for events;
	 * epoll still reports its hang-up. */
	if (want == c->interest)
		return;
	if (eng_loop_mod_fd(c->srv->loop, c->fd, want) < 0) {
		conn_kill(c);
		return;
	}
	c->interest = want;
}

/* Sends what the kernel takes now. 0, or -errno after killing c. */
static int conn_flush(struct ctl_conn *c)
{
	while (!c->dead && conn_pending(c)) {
		ssize_t n = send(c->fd, c->out + c->out_head, conn_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_head += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_kill(c);
		return -EPIPE;
	}
	if (c->dead)
		return -EPIPE;
	if (conn_pending(c) == 0) {
		c->out_head = c->out_len = 0;
		if (c->out_cap > CTL_OUT_KEEP) { /* give a burst's memory back */
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
	return 0;
}

static int conn_reserve_out(struct ctl_conn *c, size_t more)
{
	size_t pending = conn_pending(c), cap;
	char *buf;

	if (c->out_head) { /* slide unsent data to the front first */
		memmove(c->out, c->out + c->out_head, pending);
		c->out_head = 0;
		c->out_len = pending;
	}
	if (c->out_cap - c->out_len >= more)
		return 0;
	cap = c->out_cap ? c->out_cap : 4096;
	while (cap - c->out_len < more) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	buf = realloc(c->out, cap);
	if (!buf)
		return -ENOMEM;
	c->out = buf;
	c->out_cap = cap;
	return 0;
}

/* Queues data (copied) for c, writing at once when nothing else waits.
 * 0, or -errno after killing c. */
static int conn_write(struct ctl_conn *c, const char *data, size_t len)
{
	if (c->dead)
		return -EPIPE;
	if (conn_pending(c) == 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_kill(c);
			return -EPIPE;
		}
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
	if (len) {
		if (conn_reserve_out(c, len) < 0) {
			conn_kill(c);
			return -ENOMEM;
		}
		memcpy(c->out + c->out_len, data, len);
		c->out_len += len;
	}
	conn_update_interest(c);
	return c->dead ? -EPIPE : 0;
}

/* Builds and queues one reply; consumes id and result. A reply is refused
 * (and the connection closed) only when the output is already past the
 * cap: one large answer is fine, an unread pile of them is not. */
static void conn_reply(struct ctl_conn *c, cJSON *id, cJSON *result, const struct ctl_error *err)
{
	size_t len = 0;
	char *line;

	if (err)
		c->srv->stats.errors++;
	line = ctl_reply_print(id, result, err, &len);
	if (!line) {
		conn_kill(c);
		return;
	}
	if (conn_pending(c) >= CTL_OUTPUT_CAP) {
		c->srv->stats.output_overflows++;
		conn_kill(c);
	} else {
		conn_write(c, line, len);
	}
	free(line);
}

static void conn_reply_error(struct ctl_conn *c, cJSON *id, const char *code, const char *msg)
{
	struct ctl_error err;

	ctl_error_set(&err, code, "%s", msg);
	conn_reply(c, id, NULL, &err);
}

/* ---- connection lifetime ------------------------------------------------ */

static void conn_kill(struct ctl_conn *c)
{
	struct ctl_server *srv = c->srv;

	if (c->dead)
		return;
	c->dead = true;
	eng_loop_del_fd(srv->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = srv->graveyard;
	srv->graveyard = c;
	c->lst->nconns--;
	srv->stats.clients--;
	if (c->subscriber)
		srv->stats.subscribers--;
}

static void conn_free(struct ctl_conn *c)
{
	free(c->in);
	free(c->out);
	free(c);
}

/* Frees killed connections once no callback can still hold them. */
static void srv_leave(struct ctl_server *srv)
{
	if (--srv->depth)
		return;
	while (srv->graveyard) {
		struct ctl_conn *c = srv->graveyard;
		srv->graveyard = c->next;
		conn_free(c);
	}
}

/* ---- requests -------------------------------------------------------- */

static bool srv_match(void *ctx, const char *name)
{
	return ctl_registry_find(&((struct ctl_server *)ctx)->reg, name) != NULL;
}

static void conn_line_too_long(struct ctl_conn *c)
{
	c->srv->stats.lines_too_long++;
	c->in_head = c->in_len = c->in_scan = 0;
	c->closing = true;
	conn_reply_error(c, NULL, "line_too_long", "request line longer than 64 KiB");
}

static bool line_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	return true;
}

static void conn_handle_line(struct ctl_conn *c, const char *line, size_t len)
{
	struct ctl_server *srv = c->srv;
	struct ctl_request req;
	struct ctl_error err;
	struct ctl_cmd cmd;
	const struct ctl_cmd *found;
	cJSON *result = NULL;
	int rc;

	if (line_blank(line, len))
		return; /* an empty line is socat's keep-alive, not an error */
	if (len - (line[len - 1] == '\r') > CTL_LINE_MAX) {
		conn_line_too_long(c);
		return;
	}
	srv->stats.requests++;
	if (ctl_request_parse_match(line, len, srv_match, srv, &req, &err) < 0) {
		if (!req.plain)
			srv->stats.bad_json++;
		conn_reply(c, req.id, NULL, &err);
		req.id = NULL;
		goto out;
	}
	found = ctl_registry_find(&srv->reg, req.cmd);
	if (!found) {
		ctl_error_set(&err, "unknown_command", "unknown command \"%s\" (try \"help\")", req.cmd);
		conn_reply(c, req.id, NULL, &err);
		req.id = NULL;
		goto out;
	}
	if (found->access == CTL_ADMIN && !c->admin) {
		srv->stats.denied++;
		ctl_error_set(&err, "denied", "\"%s\" needs the admin socket", req.cmd);
		conn_reply(c, req.id, NULL, &err);
		req.id = NULL;
		goto out;
	}
	/* A handler may register commands, which can move the table. */
	cmd = *found;
	err.code = NULL;
	err.message[0] = '\0';
	rc = cmd.builtin ? cmd.builtin(srv, c, req.args, &result, &err)
			 : cmd.fn(cmd.ctx, req.args, &result, &err);
	if (c->dead) {
		cJSON_Delete(result);
		goto out;
	}
	if (rc != 0) {
		cJSON_Delete(result);
		if (!err.code)
			err.code = "internal";
		if (!err.message[0])
			snprintf(err.message, sizeof(err.message), "\"%s\" failed", cmd.name);
		conn_reply(c, req.id, NULL, &err);
	} else {
		conn_reply(c, req.id, result, NULL);
	}
	req.id = NULL;
	/* Events start after the subscribe reply, never before it. */
	if (!c->dead && c->subscribe_pending) {
		c->subscribe_pending = false;
		if (!c->subscriber) {
			c->subscriber = true;
			srv->stats.subscribers++;
		}
	}
out:
	ctl_request_release(&req);
}

/* Runs the complete lines waiting in c->in, stopping while the output is
 * over the high-water mark (they are picked up after the next flush). */
static void conn_process_input(struct ctl_conn *c)
{
	while (!c->dead && !c->closing && conn_pending(c) < CTL_OUT_HIGH) {
		char *start = c->in + c->in_head;
		size_t avail = c->in_len - c->in_head;
		char *nl = memchr(c->in + c->in_scan, '\n', c->in_len - c->in_scan);

		if (!nl) {
			c->in_scan = c->in_len;
			if (avail >= CTL_IN_MAX) {
				conn_line_too_long(c);
			} else if (c->eof) {
				/* `printf stats | socat` sends no final newline. */
				if (avail)
					conn_handle_line(c, start, avail);
				c->in_head = c->in_len = c->in_scan = 0;
				/* `echo events.subscribe | socat ...` half-closes
				 * and then wants the stream. */
				c->closing = !c->subscriber;
			}
			break;
		}
		c->in_head = (size_t)(nl - c->in) + 1;
		c->in_scan = c->in_head;
		conn_handle_line(c, start, (size_t)(nl - start));
	}
	if (c->dead)
		return;
	if (c->in_head == c->in_len) {
		c->in_head = c->in_len = c->in_scan = 0;
	} else if (c->in_head) {
		memmove(c->in, c->in + c->in_head, c->in_len - c->in_head);
		c->in_len -= c->in_head;
		c->in_scan -= c->in_head;
		c->in_head = 0;
	}
	conn_update_interest(c);
}

static int conn_reserve_in(struct ctl_conn *c)
{
	size_t cap;
	char *buf;

	if (c->in_len < c->in_cap)
		return 0;
	if (c->in_cap >= CTL_IN_MAX)
		return 0; /* full: conn_process_input reports the long line */
	cap = c->in_cap ? c->in_cap * 2 : CTL_IN_INITIAL;
	if (cap > CTL_IN_MAX)
		cap = CTL_IN_MAX;
	buf = realloc(c->in, cap);
	if (!buf)
		return -ENOMEM;
	c->in = buf;
	c->in_cap = cap;
	return 0;
}

static void conn_read(struct ctl_conn *c)
{
	for (int i = 0; i < CTL_READ_BUDGET; i++) {
		ssize_t n;

		if (c->dead || c->closing || c->eof || conn_pending(c) >= CTL_OUT_HIGH)
			return;
		if (conn_reserve_in(c) < 0) {
			conn_kill(c);
			return;
		}
		if (c->in_len == c->in_cap) {
			conn_process_input(c); /* full buffer without a newline */
			continue;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			c->in_len += (size_t)n;
			conn_process_input(c);
			continue;
		}
		if (n == 0) {
			c->eof = true;
			conn_process_input(c);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			conn_kill(c);
		return;
	}
}

/* Full hang-up, as opposed to a half-close (shutdown(SHUT_WR)), which
 * recv() cannot tell apart: both read as EOF. */
static bool conn_peer_gone(const struct ctl_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLOUT };

	return poll(&p, 1, 0) != 1 || (p.revents & (POLLHUP | POLLERR));
}

static void conn_cb(struct eng_loop *loop, int fd, unsigned events, void *arg)
{
	struct ctl_conn *c = arg;
	struct ctl_server *srv = c->srv;

	srv->depth++;
	/* Output first: draining it may un-pause requests already buffered. */
	if (conn_pending(c) && conn_flush(c) < 0)
		goto out;
	conn_process_input(c);
	if (events & ENG_EV_READ)
		conn_read(c);
	conn_update_interest(c);
	/* A peer that sent EOF has nothing left to ask; it is over unless it
	 * subscribed, then it lasts until it hangs up for good (the loop
	 * reports the hang-up as READ). */
	if (!c->dead && (events & ENG_EV_READ) && c->eof && !conn_pending(c) &&
	    c->in_len == c->in_head && (!c->subscriber || conn_peer_gone(c)))
		conn_kill(c);
out:
	srv_leave(srv);
}

/* ---- accepting ----------------------------------------------------------- */

static void listener_cb(struct eng_loop *loop, int fd, unsigned events, void *arg);

static void listener_retry_cb(struct eng_loop *loop, struct eng_timer *t, void *arg)
{
	struct ctl_listener *l = arg;

	if (eng_loop_add_fd(loop, l->fd, ENG_EV_READ, listener_cb, l) == 0)
		l->registered = true;
	else
		eng_timer_arm(loop, &l->retry, CTL_ACCEPT_RETRY_US);
}

/* Best-effort one-line refusal on a socket about to be closed. */
static void refuse(int fd, const char *code, const char *msg)
{
	struct ctl_error err;
	size_t len;
	char *line;

	ctl_error_set(&err, code, "%s", msg);
	line = ctl_reply_print(NULL, NULL, &err, &len);
	if (line)
		(void)!send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(line);
	close(fd);
}

static bool peer_allowed(const struct ctl_server *srv, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
		return false;
	return cred.uid == 0 || cred.uid == srv->euid;
}

static char *hello_line(bool admin, size_t *len)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf),
			 "{\"hello\":\"decnetd\",\"version\":\"%s\",\"proto\":%d,\"admin\":%s}\n",
			 DECNET_VERSION, CTL_PROTO_VERSION, admin ? "true" : "false");
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	*len = (size_t)n;
	return strndup(buf, (size_t)n);
}

static void conn_accept(struct ctl_listener *l, int fd)
{
	struct ctl_server *srv = l->srv;
	struct ctl_conn *c;
	size_t hlen;
	char *hello;

	if (l->nconns >= CTL_CONNS_MAX) {
		srv->stats.connections_rejected++;
		refuse(fd, "busy", "too many control connections");
		return;
	}
	/* The 0600 mode already keeps others out; the uid check also holds
	 * when the socket's directory or mode was loosened by mistake. */
	if (l->admin && !peer_allowed(srv, fd)) {
		srv->stats.peer_denied++;
		refuse(fd, "denied", "admin socket: peer uid not allowed");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->in = malloc(CTL_IN_INITIAL);
	if (!c || !c->in) {
		free(c);
		close(fd);
		return;
	}
	c->in_cap = CTL_IN_INITIAL;
	c->srv = srv;
	c->lst = l;
	c->fd = fd;
	c->admin = l->admin;
	c->interest = ENG_EV_READ;
	if (eng_loop_add_fd(srv->loop, fd, ENG_EV_READ, conn_cb, c) < 0) {
		close(fd);
		conn_free(c);
		return;
	}
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	l->nconns++;
	srv->stats.connections++;
	srv->stats.clients++;
	hello = hello_line(c->admin, &hlen);
	if (!hello) {
		conn_kill(c);
		return;
	}
	conn_write(c, hello, hlen);
	free(hello);
}

static void listener_cb(struct eng_loop *loop, int fd, unsigned events, void *arg)
{
	struct ctl_listener *l = arg;
	struct ctl_server *srv = l->srv;

	srv->depth++;
	for (int i = 0; i < CTL_ACCEPT_BUDGET; i++) {
		int cfd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			conn_accept(l, cfd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		srv->stats.accept_errors++;
		/* Out of fds or memory: the listener stays readable, so back
		 * off instead of spinning the loop on it. */
		if (l->registered && eng_loop_del_fd(loop, l->fd) == 0)
			l->registered = false;
		eng_timer_arm(loop, &l->retry, CTL_ACCEPT_RETRY_US);
		break;
	}
	srv_leave(srv);
}

/* ---- listening sockets ------------------------------------------------- */

static int listener_open(struct ctl_server *srv, struct ctl_listener *l, const char *path,
			 const char *suffix, bool admin, mode_t mode)
{
	int n, rc;

	l->srv = srv;
	l->fd = -1;
	l->admin = admin;
	eng_timer_init(&l->retry, listener_retry_cb, l);
	n = snprintf(l->path, sizeof(l->path), "%s%s", path, suffix);
	if (n < 0 || (size_t)n >= sizeof(l->path)) {
		l->path[0] = '\0';
		return -ENAMETOOLONG;
	}
	l->fd = ctl_socket_listen(l->path, mode, CTL_BACKLOG, &l->id);
	if (l->fd < 0) {
		rc = l->fd;
		goto err;
	}
	rc = eng_loop_add_fd(srv->loop, l->fd, ENG_EV_READ, listener_cb, l);
	if (rc)
		goto err_close;
	l->registered = true;
	return 0;
err_close:
	ctl_socket_unlink(l->path, &l->id);
	close(l->fd);
	l->fd = -1;
err:
	l->path[0] = '\0';
	return rc;
}

static void listener_close(struct ctl_server *srv, struct ctl_listener *l)
{
	eng_timer_cancel(srv->loop, &l->retry);
	if (l->fd < 0)
		return;
	if (l->registered)
		eng_loop_del_fd(srv->loop, l->fd);
	close(l->fd);
	l->fd = -1;
	ctl_socket_unlink(l->path, &l->id);
}

/* ---- public API ----------------------------------------------------------- */

int ctl_server_register(struct ctl_server *srv, const char *name, enum ctl_access access,
			const char *help, ctl_handler fn, void *ctx)
{
	struct ctl_cmd cmd = { .access = access, .fn = fn, .ctx = ctx };

	if (!name || strnlen(name, CTL_CMD_MAX) >= CTL_CMD_MAX)
		return -EINVAL;
	memcpy(cmd.name, name, strlen(name) + 1);
	snprintf(cmd.help, sizeof(cmd.help), "%s", help ? help : "");
	return ctl_registry_add(&srv->reg, &cmd);
}

struct ctl_server *ctl_server_new(struct eng_loop *loop, const char *path)
{
	struct ctl_server *srv;
	int rc;

	if (!loop || !path || !path[0]) {
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->loop = loop;
	srv->euid = geteuid();
	srv->admin.fd = srv->ro.fd = -1;
	rc = ctl_builtins_register(srv);
	if (rc)
		goto err_reg;
	rc = listener_open(srv, &srv->admin, path, "", true, 0600);
	if (rc)
		goto err_reg;
	rc = listener_open(srv, &srv->ro, path, CTL_READONLY_SUFFIX, false, 0666);
	if (rc)
		goto err_admin;
	return srv;
err_admin:
	listener_close(srv, &srv->admin);
err_reg:
	ctl_registry_free(&srv->reg);
	free(srv);
	errno = -rc;
	return NULL;
}

void ctl_server_free(struct ctl_server *srv)
{
	if (!srv)
		return;
	srv->depth++;
	while (srv->conns)
		conn_kill(srv->conns);
	srv_leave(srv);
	listener_close(srv, &srv->admin);
	listener_close(srv, &srv->ro);
	ctl_registry_free(&srv->reg);
	free(srv);
}

void ctl_server_publish(struct ctl_server *srv, const cJSON *event)
{
	struct ctl_conn *c, *next;
	char *body, *line;
	size_t blen, len;

	srv->stats.events_published++;
	if (!srv->stats.subscribers)
		return;
	body = event ? cJSON_PrintUnformatted(event) : NULL;
	if (!body) {
		srv->stats.events_dropped += srv->stats.subscribers;
		return;
	}
	/* {"event":BODY}\n, serialized once for every subscriber. */
	blen = strlen(body);
	len = blen + sizeof("{\"event\":}\n") - 1;
	line = malloc(len + 1);
	if (!line) {
		free(body);
		srv->stats.events_dropped += srv->stats.subscribers;
		return;
	}
	memcpy(line, "{\"event\":", 9);
	memcpy(line + 9, body, blen);
	memcpy(line + 9 + blen, "}\n", 3);
	free(body);

	srv->depth++;
	for (c = srv->conns; c; c = next) {
		next = c->next; /* c may die below; next is not touched */
		if (!c->subscriber)
			continue;
		if (conn_pending(c) + len > CTL_OUTPUT_CAP) {
			c->events_dropped++;
			srv->stats.events_dropped++;
			continue;
		}
		conn_write(c, line, len);
	}
	srv_leave(srv);
	free(line);
}

const struct ctl_server_stats *ctl_server_get_stats(const struct ctl_server *srv)
{
	return &srv->stats;
}
