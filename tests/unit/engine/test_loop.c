/* Unit tests for the event loop: timers (order, never early, cancel,
 * re-arm from a callback, delays past one wheel revolution) and fd
 * callbacks (readiness, removal during dispatch). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng_loop.h"
#include "tests/unit/tap.h"

struct rec {
	struct eng_timer t;
	uint64_t armed_ns, delay_us, fired_ns;
	int order;
	int *counter;
	int rearm_left;
};

static void on_timer(struct eng_loop *loop, struct eng_timer *t, void *arg)
{
	struct rec *r = arg;
	(void)t;
	r->fired_ns = eng_clock_ns();
	r->order = (*r->counter)++;
	if (r->rearm_left > 0) {
		r->rearm_left--;
		eng_timer_arm(loop, &r->t, r->delay_us);
	}
}

static void run_until(struct eng_loop *loop, int *counter, int want, uint64_t max_ms)
{
	uint64_t end = eng_clock_ns() + max_ms * 1000000ull;
	while (*counter < want && eng_clock_ns() < end)
		eng_loop_once(loop, 10);
}

static void test_timers(void)
{
	/* 100 us ticks, 1024 slots: one revolution is 102.4 ms, so the 250 ms
	 * timer must survive two passes over its slot. */
	struct eng_loop *loop = eng_loop_new(100);
	CHECK(loop != NULL);
	int counter = 0;
	static const uint64_t delays_us[] = {30000, 1000, 250000, 5000, 120000, 15000};
	enum { N = sizeof(delays_us) / sizeof(delays_us[0]) };
	struct rec r[N];
	memset(r, 0, sizeof(r));
	struct rec cancelled = {.counter = &counter};
	for (int i = 0; i < N; i++) {
		r[i].counter = &counter;
		r[i].delay_us = delays_us[i];
		eng_timer_init(&r[i].t, on_timer, &r[i]);
		r[i].armed_ns = eng_clock_ns();
		eng_timer_arm(loop, &r[i].t, delays_us[i]);
	}
	eng_timer_init(&cancelled.t, on_timer, &cancelled);
	eng_timer_arm(loop, &cancelled.t, 2000);
	eng_timer_cancel(loop, &cancelled.t);
	eng_timer_cancel(loop, &cancelled.t); /* twice is harmless */
	run_until(loop, &counter, N, 2000);
	CHECK_EQ(counter, N);
	CHECK_EQ(cancelled.fired_ns, 0);
	/* Fired in delay order, never early, and not absurdly late. */
	for (int i = 0; i < N; i++) {
		int earlier = 0;
		for (int j = 0; j < N; j++)
			earlier += delays_us[j] < delays_us[i];
		CHECK_EQ(r[i].order, earlier);
		uint64_t waited_us = (r[i].fired_ns - r[i].armed_ns) / 1000;
		CHECK(waited_us >= delays_us[i]);
		CHECK(waited_us < delays_us[i] + 200000);
	}
	/* Re-arming from inside the callback: 5 periods of 2 ms. */
	struct rec p = {.counter = &counter, .delay_us = 2000, .rearm_left = 4};
	eng_timer_init(&p.t, on_timer, &p);
	uint64_t t0 = eng_clock_ns();
	eng_timer_arm(loop, &p.t, 2000);
	run_until(loop, &counter, N + 5, 2000);
	CHECK_EQ(counter, N + 5);
	CHECK(eng_clock_ns() - t0 >= 10000000ull);
	CHECK(!p.t.armed);
	eng_loop_free(loop);
}

struct fdrec {
	int hits;
	int remove_self;
	char buf[16];
};

static void on_fd(struct eng_loop *loop, int fd, unsigned events, void *arg)
{
	struct fdrec *f = arg;
	f->hits++;
	if (events & ENG_EV_READ) {
		ssize_t n = read(fd, f->buf, sizeof(f->buf));
		(void)n;
	}
	if (f->remove_self)
		eng_loop_del_fd(loop, fd);
}

static void test_fds(void)
{
	struct eng_loop *loop = eng_loop_new(1000);
	int a[2], b[2];
	CHECK_EQ(pipe(a), 0);
	CHECK_EQ(pipe(b), 0);
	struct fdrec fa = {0}, fb = {.remove_self = 1};
	CHECK_EQ(eng_loop_add_fd(loop, a[0], ENG_EV_READ, on_fd, &fa), 0);
	CHECK_EQ(eng_loop_add_fd(loop, a[0], ENG_EV_READ, on_fd, &fa), -17 /* EEXIST */);
	CHECK_EQ(eng_loop_add_fd(loop, b[0], ENG_EV_READ, on_fd, &fb), 0);
	CHECK_EQ(eng_loop_once(loop, 0), 0); /* nothing ready */
	CHECK(write(a[1], "x", 1) == 1);
	CHECK(write(b[1], "y", 1) == 1);
	CHECK_EQ(eng_loop_once(loop, 100), 2);
	CHECK_EQ(fa.hits, 1);
	CHECK_EQ(fb.hits, 1);
	CHECK(write(b[1], "y", 1) == 1); /* b removed itself: no more calls */
	CHECK(write(a[1], "x", 1) == 1);
	CHECK_EQ(eng_loop_once(loop, 100), 1);
	CHECK_EQ(fb.hits, 1);
	CHECK_EQ(fa.hits, 2);
	CHECK_EQ(eng_loop_del_fd(loop, b[0]), -2 /* ENOENT */);
	CHECK_EQ(eng_loop_del_fd(loop, a[0]), 0);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	eng_loop_free(loop);
}

int main(void)
{
	test_timers();
	test_fds();
	return tap_done();
}
