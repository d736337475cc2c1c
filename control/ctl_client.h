/* ctl_client: the `decnet` CLI's side of the control socket (protocol in
 * ctl_server.h). Blocking calls with timeouts on a plain fd; the client
 * keeps no buffer of its own (lines are read with MSG_PEEK up to their
 * '\n'), so an fd from ctl_client_connect is all the state there is and
 * calls on it must come from one thread at a time.
 *
 * Who may call: the CLI (tools/), tests, and anything that talks to a
 * running decnetd. Never the engine itself.
 */
#ifndef CTL_CLIENT_H
#define CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Where decnetd listens unless told otherwise; the read-only socket is
 * this path plus CTL_READONLY_SUFFIX (".ro"). */
#define CTL_DEFAULT_SOCKET "/run/decnet/decnetd.sock"

/* Largest reply line the client accepts (a full "decky list" of a big
 * fleet is several MiB; the server caps queued output, not one reply). */
#define CTL_CLIENT_LINE_MAX (64u << 20)
#define CTL_CLIENT_TIMEOUT_MS 5000

/* Connects and reads the server's hello line. hello_buf (may be NULL)
 * receives it NUL-terminated without '\n', truncated to len - 1 bytes.
 * Returns the fd (close() it when done) or -errno: -ENAMETOOLONG,
 * -EACCES (try the ".ro" socket), -ENOENT/-ECONNREFUSED (no server),
 * -ETIMEDOUT, -EPROTO (first line was not a hello), -ECONNRESET (refused:
 * busy or uid not allowed). */
int ctl_client_connect(const char *path, char *hello_buf, size_t len);

/* Sends {"id":N,"cmd":cmd,"args":args} (args may be NULL; not consumed)
 * and waits up to timeout_ms (-1: forever) for the reply with that id;
 * event lines and stale replies in between are skipped. Returns 0 when
 * the server answered, ok:true or ok:false: *reply is the whole reply
 * object (the caller frees it; check ctl_client_reply_ok, then "result"
 * or ctl_client_error). An id-less error reply (the server could not
 * read the request line) also counts as the answer. Otherwise -errno and
 * *reply is NULL: -ETIMEDOUT, -ECONNRESET (server closed), -EPROTO (a
 * line that is not JSON), -EMSGSIZE (request over the 64 KiB line limit). */
int ctl_client_call(int fd, const char *cmd, const cJSON *args, cJSON **reply, int timeout_ms);

/* True when reply says "ok":true. */
bool ctl_client_reply_ok(const cJSON *reply);

/* "code: message" of an ok:false reply into buf; returns buf. */
const char *ctl_client_error(const cJSON *reply, char *buf, size_t len);

/* Called with each event object (borrowed: valid during the call).
 * Return 0 to keep reading, anything else to stop. */
typedef int (*ctl_event_cb)(void *ctx, const cJSON *event);

/* Sends events.subscribe (args may be NULL) and then delivers every
 * {"event":...} line to cb until cb returns nonzero (returns 0), the
 * server closes (-ECONNRESET), no line comes for idle_timeout_ms
 * (-ETIMEDOUT; -1 waits forever) or the subscribe call fails (its
 * transport error, or -EREMOTEIO when the server said ok:false). */
int ctl_client_subscribe(int fd, const cJSON *args, ctl_event_cb cb, void *ctx,
			 int idle_timeout_ms);

/* Reads one '\n'-terminated line (returned malloc'd, NUL-terminated,
 * without '\n') waiting at most timeout_ms. For raw/plain-text tools.
 * 0 or -errno as above. */
int ctl_client_read_line(int fd, char **line, size_t *len, int timeout_ms);

/* close(fd), for symmetry with ctl_client_connect. */
void ctl_client_close(int fd);

#endif
