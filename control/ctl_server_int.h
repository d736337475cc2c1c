/* ctl_server_int: the control server's private structures, shared by
 * the files that make up the server (ctl_server.c: connections, I/O and
 * the public API; ctl_builtin.c: built-in commands; ctl_socket.c: socket
 * files on disk). Not for use outside control/.
 */
#ifndef CTL_SERVER_INT_H
#define CTL_SERVER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "control/ctl_registry.h"
#include "control/ctl_server.h"
#include "engine/eng_loop.h"

#define CTL_PROTO_VERSION 1

/* Identity of a socket file we bound, so teardown unlinks only our own
 * (a newer server may have replaced it since). */
struct ctl_socket_id {
	dev_t dev;
	ino_t ino;
};

struct ctl_listener {
	struct ctl_server *srv;
	int fd;
	bool admin;
	bool registered;                /* on the loop (off while backing off) */
	unsigned nconns;
	struct ctl_socket_id id;
	struct eng_timer retry;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct ctl_conn {
	struct ctl_conn *next, *prev;
	struct ctl_server *srv;
	struct ctl_listener *lst;
	int fd;
	bool admin;
	bool subscriber, subscribe_pending;
	bool eof;       /* peer finished sending */
	bool closing;   /* no more requests: close once the output drained */
	bool dead;
	unsigned interest;
	char *in;
	size_t in_head, in_len, in_cap, in_scan; /* unparsed data: in[in_head..in_len) */
	char *out;
	size_t out_head, out_len, out_cap;       /* unsent data: out[out_head..out_len) */
	uint64_t events_dropped;
};

struct ctl_server {
	struct eng_loop *loop;
	struct ctl_listener admin, ro;
	struct ctl_registry reg;
	struct ctl_conn *conns, *graveyard;
	unsigned depth;
	uid_t euid;
	struct ctl_server_stats stats;
};

/* ctl_socket.c. Creates a listening, nonblocking AF_UNIX stream socket
 * at path with mode. A socket file left by a dead server is replaced; a
 * live server (-EADDRINUSE) or a file that is not a socket (-EEXIST) is
 * not touched. Returns the fd or -errno. */
int ctl_socket_listen(const char *path, mode_t mode, int backlog, struct ctl_socket_id *id);
/* Unlinks path if it is still the file described by id. */
void ctl_socket_unlink(const char *path, const struct ctl_socket_id *id);

/* ctl_builtin.c. Registers help, hello, events.*, control.stats. 0 or
 * -errno (from ctl_registry_add). */
int ctl_builtins_register(struct ctl_server *srv);

#endif
