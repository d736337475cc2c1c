/* ctr_exec: fork/exec with a pipe for stdin; the only place containers/
 * starts processes. */
#include "containers/ctr_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void child(char *const argv[], int in_fd, int out_fd, char *const envp_extra[])
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (in_fd < 0)
		in_fd = null;
	if (out_fd < 0)
		out_fd = null;
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(127);
	for (size_t i = 0; envp_extra && envp_extra[i]; i++)
		putenv(envp_extra[i]);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	dprintf(2, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int ctr_exec(char *const argv[], const char *input, int out_fd, char *const envp_extra[],
	     char *err, size_t errlen)
{
	int p[2] = {-1, -1};
	if (input && pipe2(p, O_CLOEXEC) < 0) {
		int e = errno;
		snprintf(err, errlen, "pipe: %s", strerror(e));
		return -e;
	}
	fflush(NULL); /* no buffered output duplicated into the child */
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		snprintf(err, errlen, "fork: %s", strerror(e));
		if (input) {
			close(p[0]);
			close(p[1]);
		}
		return -e;
	}
	if (pid == 0)
		child(argv, input ? p[0] : -1, out_fd, envp_extra);
	if (input) {
		close(p[0]);
		/* The child may exit without reading: EPIPE, not SIGPIPE. */
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);
		size_t len = strlen(input), off = 0;
		while (off < len) {
			ssize_t n = write(p[1], input + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		close(p[1]);
		signal(SIGPIPE, old);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			int e = errno;
			snprintf(err, errlen, "waitpid: %s", strerror(e));
			return -e;
		}
	if (WIFEXITED(st)) {
		if (WEXITSTATUS(st) == 127)
			snprintf(err, errlen, "%s: could not run (not installed?)", argv[0]);
		return WEXITSTATUS(st);
	}
	snprintf(err, errlen, "%s: killed by signal %d", argv[0], WTERMSIG(st));
	return -ECHILD;
}
