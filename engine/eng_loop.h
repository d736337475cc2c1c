/* eng_loop: the engine's event loop. One per worker thread: epoll for file
 * descriptors (packet rings, control sockets, signalfd) and a hashed timer
 * wheel for timers (retransmits, ARP refresh, housekeeping). Small enough
 * to read in one sitting, in the spirit of Redis' ae.c.
 *
 * Not thread-safe: a loop and everything registered on it belong to the
 * thread that runs eng_loop_run(). Callbacks may add and remove fds and
 * timers (including their own) from inside a callback.
 */
#ifndef ENG_LOOP_H
#define ENG_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct eng_loop;

enum { ENG_EV_READ = 1, ENG_EV_WRITE = 2 };

/* events: ENG_EV_* that fired (errors and hang-ups are reported as READ so
 * the handler's read finds them). */
typedef void (*eng_fd_cb)(struct eng_loop *loop, int fd, unsigned events, void *arg);

struct eng_timer;
typedef void (*eng_timer_cb)(struct eng_loop *loop, struct eng_timer *t, void *arg);

/* A timer is embedded by its owner (no allocation in the wheel); it must
 * stay valid while armed. */
struct eng_timer {
	struct eng_timer *next, *prev; /* wheel slot list */
	uint64_t expires_tick;
	eng_timer_cb cb;
	void *arg;
	bool armed;
};

/* tick_us: timer resolution (e.g. 1000 for 1 ms). Returns NULL on error
 * with errno set. */
struct eng_loop *eng_loop_new(unsigned tick_us);
void eng_loop_free(struct eng_loop *loop);

/* Register fd for events (ENG_EV_*). 0 or -errno. */
int eng_loop_add_fd(struct eng_loop *loop, int fd, unsigned events, eng_fd_cb cb, void *arg);
int eng_loop_mod_fd(struct eng_loop *loop, int fd, unsigned events);
/* Safe on an fd that is not registered (returns -ENOENT). Does not close. */
int eng_loop_del_fd(struct eng_loop *loop, int fd);

void eng_timer_init(struct eng_timer *t, eng_timer_cb cb, void *arg);
/* (Re)arm to fire after delay_us (rounded up to a tick; at least one tick). */
void eng_timer_arm(struct eng_loop *loop, struct eng_timer *t, uint64_t delay_us);
void eng_timer_cancel(struct eng_loop *loop, struct eng_timer *t);

/* Called once per loop iteration after fd callbacks, e.g. to flush tx
 * bursts. NULL to unset. */
void eng_loop_set_idle(struct eng_loop *loop, void (*cb)(struct eng_loop *, void *), void *arg);

/* Monotonic time in ns, as cached by the loop at the start of the current
 * iteration (cheap; use it for per-packet timestamps). */
uint64_t eng_loop_now_ns(const struct eng_loop *loop);
uint64_t eng_clock_ns(void); /* CLOCK_MONOTONIC, uncached */

/* Run until eng_loop_stop(). Returns 0, or -errno if epoll failed. */
int eng_loop_run(struct eng_loop *loop);
void eng_loop_stop(struct eng_loop *loop);
/* True once eng_loop_stop() was called (for callers driving the loop with
 * eng_loop_once, e.g. while draining a capture file). */
bool eng_loop_stopped(const struct eng_loop *loop);
/* One iteration with at most timeout_ms wait (-1: until an event or the
 * next timer). Returns number of fd events handled or -errno. */
int eng_loop_once(struct eng_loop *loop, int timeout_ms);

#endif
