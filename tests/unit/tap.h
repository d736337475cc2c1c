/* A tiny test harness for the unit suite: CHECK() records a failure with its
 * file:line and carries on; tap_done() prints "N passed, N failed" and
 * returns the exit code meson expects. */
#ifndef TAP_H
#define TAP_H
#include <stdio.h>

extern unsigned tap_pass, tap_fail;
void tap_check(int ok, const char *expr, const char *file, int line);
int tap_done(void);

#define CHECK(e) tap_check(!!(e), #e, __FILE__, __LINE__)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	tap_check(a_ == b_, #a " == " #b, __FILE__, __LINE__); \
	if (a_ != b_) fprintf(stderr, "    left %lld right %lld\n", a_, b_); } while (0)
#endif
