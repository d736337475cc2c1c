#include "engine/eng_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

/* The one piece of process-wide state: the verbosity chosen on the command
 * line, written once in main() before any thread exists. */
static enum eng_log_level log_max = ENG_LOG_INFO;

void eng_log_set_level(enum eng_log_level max)
{
	log_max = max;
}

void eng_log(enum eng_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (level > log_max)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s.%03ldZ decnetd %s: ", when, ts.tv_nsec / 1000000, names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
