/* ctr_exec: run a helper program (ip, build.sh) and wait for it. Private
 * to containers/. */
#ifndef CTR_EXEC_H
#define CTR_EXEC_H

#include <stddef.h>

/* Runs argv[0] (PATH lookup) with input (may be NULL) on its stdin and
 * its stdout and stderr on out_fd (-1: /dev/null). envp_extra: NULL or a
 * NULL-terminated list of "K=V" added to the environment. Returns the
 * exit status (0..255), or -errno when it could not run (err filled),
 * -ECHILD when it died of a signal. */
int ctr_exec(char *const argv[], const char *input, int out_fd, char *const envp_extra[],
	     char *err, size_t errlen);

#endif
