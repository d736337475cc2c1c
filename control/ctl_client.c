/* Control-socket client for the CLI; see ctl_client.h. */
#include "control/ctl_client.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/ctl_request.h"

#define CTL_CLIENT_CHUNK 65536u

static uint64_t client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds left until deadline (0 = none); -1 when waiting forever. */
static int client_left_ms(uint64_t deadline)
{
	uint64_t now;

	if (!deadline)
		return -1;
	now = client_now_ms();
	return now >= deadline ? 0 : (int)(deadline - now > INT32_MAX ? INT32_MAX : deadline - now);
}

static int client_wait(int fd, short what, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = what };

	for (;;) {
		int n = poll(&p, 1, client_left_ms(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static uint64_t client_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? 0 : client_now_ms() + (uint64_t)timeout_ms + (timeout_ms == 0);
}

/* Reads up to and including the next '\n' and no further: peek, find the
 * newline, then consume exactly that much. */
static int client_read_line_until(int fd, char **line_out, size_t *len_out, uint64_t deadline)
{
	char *line = NULL, *grown;
	size_t len = 0, cap = 0;
	int rc;

	for (;;) {
		ssize_t n;
		char *nl;
		size_t take;

		if (cap - len < CTL_CLIENT_CHUNK + 1) {
			cap = len * 2 > len + CTL_CLIENT_CHUNK + 1 ? len * 2 : len + CTL_CLIENT_CHUNK + 1;
			grown = realloc(line, cap);
			if (!grown) {
				rc = -ENOMEM;
				goto err;
			}
			line = grown;
		}
		rc = client_wait(fd, POLLIN, deadline);
		if (rc)
			goto err;
		n = recv(fd, line + len, CTL_CLIENT_CHUNK, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0) {
			rc = -errno;
			goto err;
		}
		if (n == 0) {
			rc = -ECONNRESET;
			goto err;
		}
		nl = memchr(line + len, '\n', (size_t)n);
		take = nl ? (size_t)(nl - (line + len)) + 1 : (size_t)n;
		n = recv(fd, line + len, take, MSG_DONTWAIT);
		if (n != (ssize_t)take) { /* we alone read this fd: cannot happen */
			rc = n < 0 ? -errno : -EIO;
			goto err;
		}
		len += take;
		if (nl) {
			line[len - 1] = '\0';
			*line_out = line;
			*len_out = len - 1;
			return 0;
		}
		if (len > CTL_CLIENT_LINE_MAX) {
			rc = -EMSGSIZE;
			goto err;
		}
	}
err:
	free(line);
	return rc;
}

int ctl_client_read_line(int fd, char **line, size_t *len, int timeout_ms)
{
	return client_read_line_until(fd, line, len, client_deadline(timeout_ms));
}

static int client_send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = client_wait(fd, POLLOUT, deadline);
			if (rc)
				return rc;
			continue;
		}
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

int ctl_client_connect(const char *path, char *hello_buf, size_t len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t plen = path ? strlen(path) : 0;
	cJSON *hello = NULL;
	char *line = NULL;
	size_t llen;
	int fd, rc;

	if (!plen)
		return -EINVAL;
	if (plen >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, plen + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* connect() on a unix socket whose backlog is full sleeps for the
	 * send timeout: bound it like everything else. */
	struct timeval tv = { .tv_sec = CTL_CLIENT_TIMEOUT_MS / 1000,
			      .tv_usec = (CTL_CLIENT_TIMEOUT_MS % 1000) * 1000 };
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		rc = -errno;
		goto err;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = -errno;
		goto err;
	}
	rc = ctl_client_read_line(fd, &line, &llen, CTL_CLIENT_TIMEOUT_MS);
	if (rc)
		goto err;
	hello = cJSON_ParseWithLength(line, llen);
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(hello, "hello"))) {
		/* A refusal ({"ok":false,...}: busy, denied) comes instead. */
		rc = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(hello, "ok")) ? -ECONNRESET
										    : -EPROTO;
		goto err;
	}
	if (hello_buf && len) {
		size_t n = llen < len - 1 ? llen : len - 1;
		memcpy(hello_buf, line, n);
		hello_buf[n] = '\0';
	}
	cJSON_Delete(hello);
	free(line);
	return fd;
err:
	cJSON_Delete(hello);
	free(line);
	close(fd);
	return rc;
}

/* A per-call id nobody else on this fd is waiting for: the monotonic
 * clock in ns, kept below 2^53 so it survives a double unchanged. */
static double client_new_id(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)((((uint64_t)ts.tv_sec * 1000000000u) + (uint64_t)ts.tv_nsec) &
			((1ull << 53) - 1));
}

static int client_send_request(int fd, double id, const char *cmd, const cJSON *args,
			       uint64_t deadline)
{
	cJSON *req = cJSON_CreateObject(), *a;
	char *text = NULL;
	size_t len;
	int rc = -ENOMEM;

	if (!req || !cJSON_AddNumberToObject(req, "id", id) ||
	    !cJSON_AddStringToObject(req, "cmd", cmd))
		goto out;
	a = args ? cJSON_Duplicate(args, true) : cJSON_CreateObject();
	if (!a || !cJSON_AddItemToObject(req, "args", a)) {
		cJSON_Delete(a);
		goto out;
	}
	text = cJSON_PrintUnformatted(req);
	if (!text)
		goto out;
	len = strlen(text);
	if (len > CTL_LINE_MAX) {
		rc = -EMSGSIZE;
		goto out;
	}
	text[len] = '\n'; /* replaces the NUL; the length is known */
	rc = client_send_all(fd, text, len + 1, deadline);
out:
	free(text);
	cJSON_Delete(req);
	return rc;
}

int ctl_client_call(int fd, const char *cmd, const cJSON *args, cJSON **reply, int timeout_ms)
{
	uint64_t deadline = client_deadline(timeout_ms);
	double id = client_new_id();
	int rc;

	*reply = NULL;
	if (!cmd || !cmd[0])
		return -EINVAL;
	rc = client_send_request(fd, id, cmd, args, deadline);
	if (rc)
		return rc;
	for (;;) {
		cJSON *msg, *rid, *ok;
		char *line;
		size_t len;

		rc = client_read_line_until(fd, &line, &len, deadline);
		if (rc)
			return rc;
		msg = cJSON_ParseWithLength(line, len);
		free(line);
		if (!cJSON_IsObject(msg)) {
			cJSON_Delete(msg);
			return -EPROTO;
		}
		rid = cJSON_GetObjectItemCaseSensitive(msg, "id");
		ok = cJSON_GetObjectItemCaseSensitive(msg, "ok");
		/* Skip events and replies to calls that timed out earlier. */
		if (!cJSON_IsBool(ok) || !cJSON_IsNumber(rid) || rid->valuedouble != id) {
			/* ...except an id-less error: the server rejected our line
			 * (too long, malformed) and cannot know its id. */
			if (cJSON_IsFalse(ok) && cJSON_IsNull(rid)) {
				*reply = msg;
				return 0;
			}
			cJSON_Delete(msg);
			continue;
		}
		*reply = msg;
		return 0;
	}
}

bool ctl_client_reply_ok(const cJSON *reply)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"));
}

void ctl_client_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

const char *ctl_client_error(const cJSON *reply, char *buf, size_t len)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");

	snprintf(buf, len, "%s: %s", cJSON_IsString(code) ? code->valuestring : "error",
		 cJSON_IsString(msg) ? msg->valuestring : "(no message)");
	return buf;
}

int ctl_client_subscribe(int fd, const cJSON *args, ctl_event_cb cb, void *ctx,
			 int idle_timeout_ms)
{
	cJSON *reply = NULL;
	int rc = ctl_client_call(fd, "events.subscribe", args, &reply, CTL_CLIENT_TIMEOUT_MS);

	if (rc == 0 && !ctl_client_reply_ok(reply))
		rc = -EREMOTEIO;
	cJSON_Delete(reply);
	if (rc)
		return rc;
	for (;;) {
		cJSON *msg, *ev;
		char *line;
		size_t len;

		rc = ctl_client_read_line(fd, &line, &len, idle_timeout_ms);
		if (rc)
			return rc;
		msg = cJSON_ParseWithLength(line, len);
		free(line);
		ev = cJSON_GetObjectItemCaseSensitive(msg, "event");
		rc = ev ? cb(ctx, ev) : 0;
		cJSON_Delete(msg);
		if (rc)
			return 0;
	}
}
