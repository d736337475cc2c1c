/* ctl_server: the engine's control socket (see docs/ and ARCHITECTURE):
 * AF_UNIX stream, newline-delimited JSON.
 *
 *  server -> client on connect:  {"hello":"decnetd","version":"..","proto":1,"admin":true|false}
 *  request:   {"id":1,"cmd":"stats","args":{...}}
 *  reply:     {"id":1,"ok":true,"result":...}
 *         or  {"id":1,"ok":false,"error":{"code":"bad_request","message":"..."}}
 *  A line that does not start with '{' is plain text for socat users:
 *  "decky list" / "decky.list" / "stats" - the first words name the command
 *  (spaces become dots, longest registered match wins), remaining words are
 *  "key=value" args or positional words collected into args._ (array).
 *
 * Two sockets: the admin socket (mode 0600, peer uid checked with
 * SO_PEERCRED: root or the engine's own uid) accepts every command; the
 * read-only socket (PATH.ro, mode 0666) accepts only commands registered
 * as read-only. Commands live in a registry (name -> handler), never in a
 * switch. Event subscription (events.subscribe) streams NDJSON lines to a
 * connection after its reply (ctl_server_publish).
 *
 * Robustness: malformed JSON, unknown commands, over-long lines (> 64 KiB)
 * get an error reply; the connection and the engine live on (an over-long
 * line closes only that connection). Slow readers are bounded by a per-
 * connection output cap (1 MiB): past it the subscriber's events are
 * dropped and counted, replies close the connection.
 */
#ifndef CTL_SERVER_H
#define CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct eng_loop;
struct ctl_server;

struct ctl_error {
	const char *code;   /* short machine code: "bad_request", "not_found", "denied", "internal" ... */
	char message[256];
};

/* A handler fills *result (a new cJSON the server will own and free) and
 * returns 0, or fills err and returns -1. args is never NULL (an empty
 * object when the request had none). ctx is the pointer given to
 * ctl_server_register. */
typedef int (*ctl_handler)(void *ctx, const cJSON *args, cJSON **result, struct ctl_error *err);

enum ctl_access { CTL_READONLY = 0, CTL_ADMIN = 1 };

/* errors counts every ok:false reply; bad_json, lines_too_long and denied
 * are subsets of it. requests counts non-blank lines. */
struct ctl_server_stats {
	uint64_t connections, requests, errors, bad_json, lines_too_long,
		 denied, events_published, events_dropped;
	/* Added by control/: every refusal is a named counter. */
	uint64_t connections_rejected; /* per-socket connection cap reached */
	uint64_t peer_denied;          /* admin socket peer uid not allowed */
	uint64_t accept_errors;        /* accept() failed (fd exhaustion ...) */
	uint64_t output_overflows;     /* connection closed: reply past output cap */
	uint64_t clients, subscribers; /* gauges: open connections, subscribers */
};

/* The read-only socket lives at PATH CTL_READONLY_SUFFIX. */
#define CTL_READONLY_SUFFIX ".ro"
/* Per-socket connection cap (admin and read-only counted apart, so local
 * users on the read-only socket cannot lock the operator out). */
#define CTL_CONNS_MAX 64
/* Per-connection queued-output cap (see the Robustness paragraph). */
#define CTL_OUTPUT_CAP (1u << 20)

/* Creates PATH (admin, 0600) and PATH.ro (read-only, 0666), replacing stale
 * sockets, and registers them on loop. Built-in commands: "help" (lists
 * commands with access level), "hello", and (added by control/) the read-
 * only "events.subscribe", "events.unsubscribe" and "control.stats".
 * The directory of PATH must exist. Returns NULL with errno set (EEXIST:
 * PATH is not a socket; EADDRINUSE: a live server answers on it;
 * ENAMETOOLONG: PATH.ro does not fit sun_path). */
struct ctl_server *ctl_server_new(struct eng_loop *loop, const char *path);
void ctl_server_free(struct ctl_server *srv); /* closes, unlinks both paths */

/* name: "stats", "decky.add" ...; help: one line. 0 or -EEXIST/-ENOMEM. */
int ctl_server_register(struct ctl_server *srv, const char *name, enum ctl_access access,
			const char *help, ctl_handler fn, void *ctx);

/* Send one event (a JSON object, not consumed) to every subscriber as an
 * NDJSON line {"event":...}. Never blocks. */
void ctl_server_publish(struct ctl_server *srv, const cJSON *event);

const struct ctl_server_stats *ctl_server_get_stats(const struct ctl_server *srv);
/* The same counters as a new JSON object (the "control.stats" command);
 * NULL on ENOMEM. */
cJSON *ctl_server_stats_json(const struct ctl_server *srv);

#endif
