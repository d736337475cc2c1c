/* Event loop: epoll + a hashed timer wheel.
 *
 * Why a wheel: the stack will arm one retransmit/keepalive timer per flow,
 * hundreds of thousands of them, re-armed on nearly every segment. A wheel
 * makes arm/cancel O(1) with no allocation; the price is tick granularity,
 * which TCP timers (>= 200 ms RTO floor) do not mind.
 *
 * The wheel has ENG_WHEEL_SLOTS slots of one tick each. A timer further
 * than one revolution away sits in its slot and is skipped (expires_tick
 * still in the future) until its revolution comes.
 */
#include "engine/eng_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define ENG_WHEEL_SLOTS 1024u /* power of two */
#define ENG_MAX_EVENTS 64

struct fd_entry {
	int fd;
	unsigned events;
	eng_fd_cb cb;
	void *arg;
	struct fd_entry *next; /* hash chain */
};

#define FD_BUCKETS 256u

struct eng_loop {
	int epfd;
	bool stop;
	unsigned tick_us;
	uint64_t start_ns;
	uint64_t now_ns;
	uint64_t cur_tick;        /* all slots up to cur_tick processed */
	unsigned n_timers;
	struct eng_timer slots[ENG_WHEEL_SLOTS]; /* list heads (sentinels) */
	struct fd_entry *fds[FD_BUCKETS];
	void (*idle_cb)(struct eng_loop *, void *);
	void *idle_arg;
};

uint64_t eng_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct eng_loop *eng_loop_new(unsigned tick_us)
{
	struct eng_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int e = errno;
		free(loop);
		errno = e;
		return NULL;
	}
	loop->tick_us = tick_us ? tick_us : 1000;
	loop->start_ns = loop->now_ns = eng_clock_ns();
	for (unsigned i = 0; i < ENG_WHEEL_SLOTS; i++)
		loop->slots[i].next = loop->slots[i].prev = &loop->slots[i];
	return loop;
}

void eng_loop_free(struct eng_loop *loop)
{
	if (!loop)
		return;
	for (unsigned i = 0; i < FD_BUCKETS; i++) {
		struct fd_entry *e = loop->fds[i], *n;
		for (; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	close(loop->epfd);
	free(loop);
}

static struct fd_entry **fd_slot(struct eng_loop *loop, int fd)
{
	struct fd_entry **pp = &loop->fds[(unsigned)fd % FD_BUCKETS];
	while (*pp && (*pp)->fd != fd)
		pp = &(*pp)->next;
	return pp;
}

static uint32_t to_epoll(unsigned ev)
{
	return ((ev & ENG_EV_READ) ? EPOLLIN : 0) | ((ev & ENG_EV_WRITE) ? EPOLLOUT : 0);
}

int eng_loop_add_fd(struct eng_loop *loop, int fd, unsigned events, eng_fd_cb cb, void *arg)
{
	struct fd_entry **pp = fd_slot(loop, fd);
	if (*pp)
		return -EEXIST;
	struct fd_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->events = events;
	e->cb = cb;
	e->arg = arg;
	/* The fd itself is the key: a handler removed during dispatch is looked
	 * up again before its callback runs, so no dangling pointer can fire. */
	struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;
		free(e);
		return err;
	}
	*pp = e;
	return 0;
}

int eng_loop_mod_fd(struct eng_loop *loop, int fd, unsigned events)
{
	struct fd_entry *e = *fd_slot(loop, fd);
	if (!e)
		return -ENOENT;
	struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	e->events = events;
	return 0;
}

int eng_loop_del_fd(struct eng_loop *loop, int fd)
{
	struct fd_entry **pp = fd_slot(loop, fd), *e = *pp;
	if (!e)
		return -ENOENT;
	*pp = e->next;
	free(e);
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	return 0;
}

void eng_timer_init(struct eng_timer *t, eng_timer_cb cb, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
}

static void timer_unlink(struct eng_timer *t)
{
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->next = t->prev = NULL;
	t->armed = false;
}

void eng_timer_cancel(struct eng_loop *loop, struct eng_timer *t)
{
	if (!t->armed)
		return;
	timer_unlink(t);
	loop->n_timers--;
}

static uint64_t now_tick(const struct eng_loop *loop)
{
	return (loop->now_ns - loop->start_ns) / (loop->tick_us * 1000ull);
}

void eng_timer_arm(struct eng_loop *loop, struct eng_timer *t, uint64_t delay_us)
{
	eng_timer_cancel(loop, t);
	uint64_t ticks = (delay_us + loop->tick_us - 1) / loop->tick_us;
	if (ticks == 0)
		ticks = 1;
	/* Count from the real time of arming, rounded up to a tick boundary:
	 * the loop's cached time may be older (callers arm from outside the
	 * dispatch too), and a timer must never fire before its delay. */
	uint64_t tick_ns = loop->tick_us * 1000ull;
	uint64_t base = (eng_clock_ns() - loop->start_ns + tick_ns - 1) / tick_ns;
	/* Never arm into a slot the wheel already passed this revolution. */
	if (base < loop->cur_tick)
		base = loop->cur_tick;
	t->expires_tick = base + ticks;
	struct eng_timer *head = &loop->slots[t->expires_tick & (ENG_WHEEL_SLOTS - 1)];
	t->next = head;
	t->prev = head->prev;
	head->prev->next = t;
	head->prev = t;
	t->armed = true;
	loop->n_timers++;
}

/* Fire everything due up to the current tick. A callback may re-arm its own
 * timer (possibly into the slot being walked): we detach the due timers of
 * a slot onto a private list first, so the walk never sees re-armed ones. */
static void run_timers(struct eng_loop *loop)
{
	uint64_t target = now_tick(loop);
	while (loop->n_timers && loop->cur_tick < target) {
		loop->cur_tick++;
		struct eng_timer *head = &loop->slots[loop->cur_tick & (ENG_WHEEL_SLOTS - 1)];
		struct eng_timer due = {.next = &due, .prev = &due};
		struct eng_timer *t = head->next, *n;
		for (; t != head; t = n) {
			n = t->next;
			if (t->expires_tick > loop->cur_tick)
				continue;
			timer_unlink(t);
			t->armed = true; /* still counted until it fires */
			t->next = &due;
			t->prev = due.prev;
			due.prev->next = t;
			due.prev = t;
		}
		while (due.next != &due) {
			t = due.next;
			timer_unlink(t);
			loop->n_timers--;
			t->cb(loop, t, t->arg);
		}
	}
	if (!loop->n_timers)
		loop->cur_tick = target;
}

/* Milliseconds epoll may sleep: until the next tick when timers are armed
 * (the wheel has no cheap "earliest" query; a tick wake-up costs one
 * syscall and is bounded by 1000/tick_ms per second). */
static int wait_ms(const struct eng_loop *loop, int timeout_ms)
{
	if (!loop->n_timers)
		return timeout_ms;
	int tick_ms = (int)((loop->tick_us + 999) / 1000);
	if (timeout_ms < 0 || timeout_ms > tick_ms)
		return tick_ms;
	return timeout_ms;
}

int eng_loop_once(struct eng_loop *loop, int timeout_ms)
{
	struct epoll_event evs[ENG_MAX_EVENTS];
	int n = epoll_wait(loop->epfd, evs, ENG_MAX_EVENTS, wait_ms(loop, timeout_ms));
	if (n < 0) {
		if (errno == EINTR)
			n = 0;
		else
			return -errno;
	}
	loop->now_ns = eng_clock_ns();
	for (int i = 0; i < n; i++) {
		struct fd_entry *e = *fd_slot(loop, evs[i].data.fd);
		if (!e)
			continue; /* removed by an earlier callback this round */
		unsigned fired = 0;
		if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
			fired |= ENG_EV_READ;
		if (evs[i].events & EPOLLOUT)
			fired |= ENG_EV_WRITE;
		e->cb(loop, e->fd, fired, e->arg);
	}
	run_timers(loop);
	if (loop->idle_cb)
		loop->idle_cb(loop, loop->idle_arg);
	return n;
}

int eng_loop_run(struct eng_loop *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		int r = eng_loop_once(loop, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void eng_loop_stop(struct eng_loop *loop)
{
	loop->stop = true;
}

bool eng_loop_stopped(const struct eng_loop *loop)
{
	return loop->stop;
}

void eng_loop_set_idle(struct eng_loop *loop, void (*cb)(struct eng_loop *, void *), void *arg)
{
	loop->idle_cb = cb;
	loop->idle_arg = arg;
}

uint64_t eng_loop_now_ns(const struct eng_loop *loop)
{
	return loop->now_ns;
}
