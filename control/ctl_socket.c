/* Socket files on disk for the control server: bind a listening AF_UNIX
 * socket with a given mode, replacing only what is provably stale, and
 * remove only what we created. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/ctl_server_int.h"

/* A socket file left by a dead server is replaced; a live server, or a
 * path that is not a socket, is not touched. */
static int remove_stale(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	if (rc == 0 || errno == EAGAIN) {
		rc = -EADDRINUSE;
	} else if (errno == ECONNREFUSED) {
		rc = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	} else {
		rc = -errno;
	}
	close(fd);
	return rc;
}

int ctl_socket_listen(const char *path, mode_t mode, int backlog, struct ctl_socket_id *id)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	struct stat st;
	int fd, rc;

	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, len + 1);
	rc = remove_stale(path, &addr);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = -errno;
		goto err_close;
	}
	/* Until listen() nobody can connect, so the mode bind() left (from
	 * the umask) is never usable and chmod here closes no race. */
	if (chmod(path, mode) < 0 || lstat(path, &st) < 0) {
		rc = -errno;
		goto err_unlink;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	if (listen(fd, backlog) < 0) {
		rc = -errno;
		goto err_unlink;
	}
	return fd;
err_unlink:
	unlink(path);
err_close:
	close(fd);
	return rc;
}

void ctl_socket_unlink(const char *path, const struct ctl_socket_id *id)
{
	struct stat st;

	if (path[0] && lstat(path, &st) == 0 && st.st_dev == id->dev && st.st_ino == id->ino)
		unlink(path);
}
