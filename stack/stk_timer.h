/* stk_timer: the stack's own timer wheel (retransmission, persist, TIME-WAIT,
 * idle and SYN-RCVD timeouts), so the stack never calls the engine: the
 * engine only says what time it is (stk_timers_advance in stk_tcp.h).
 *
 * A hashed wheel of 1 ms ticks over entries identified by index (a flow's
 * slot in the flow table), linked through a struct stk_tlink embedded in
 * each entry: arm, cancel and pop are O(1) and never allocate. Entries
 * further than one revolution away stay in their slot and are skipped until
 * their revolution comes. Ticks are 32-bit and compared modulo 2^32, so a
 * timer may be at most ~24 days away.
 *
 * One wheel per stack context; not thread-safe.
 */
#ifndef STK_TIMER_H
#define STK_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STK_TL_NONE UINT32_MAX        /* no entry / not linked */
#define STK_TL_HEAD (UINT32_MAX - 1u) /* prev of a slot's first entry */

struct stk_tlink {
	uint32_t next, prev;  /* prev == STK_TL_NONE: not armed */
	uint32_t expires;     /* tick */
};

struct stk_wheel {
	uint32_t *slots;      /* first entry per slot, STK_TL_NONE if empty */
	uint64_t *occupied;   /* bit per slot: not empty (lets idle ticks be skipped) */
	uint32_t mask;        /* n_slots - 1 */
	uint32_t cur;         /* every tick up to cur has been processed */
	uint32_t sweep;       /* next slot of a catch-up sweep, or STK_TL_NONE */
	uint32_t armed;       /* entries linked */
	uint8_t *base;        /* entry i's link is at base + i * stride + link_off */
	size_t stride, link_off;
};

static inline bool stk_tick_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline struct stk_tlink *stk_wheel_link(const struct stk_wheel *w, uint32_t idx)
{
	return (struct stk_tlink *)(void *)(w->base + (size_t)idx * w->stride + w->link_off);
}

/* n_slots: power of two, >= 64. now: the current tick. 0 or -ENOMEM. */
int stk_wheel_init(struct stk_wheel *w, uint32_t n_slots, uint32_t now, void *base, size_t stride,
		   size_t link_off);
void stk_wheel_destroy(struct stk_wheel *w);

/* (Re)arm idx to fire at tick `expires` (clamped to at least cur + 1). */
void stk_wheel_arm(struct stk_wheel *w, uint32_t idx, uint32_t expires);
void stk_wheel_cancel(struct stk_wheel *w, uint32_t idx);

static inline bool stk_wheel_armed(const struct stk_wheel *w, uint32_t idx)
{
	return stk_wheel_link(w, idx)->prev != STK_TL_NONE;
}

/* The next entry due at or before tick now, unlinked, or STK_TL_NONE when
 * every tick up to now has been processed. Call until STK_TL_NONE; the
 * caller may re-arm what it pops (never into the past). */
uint32_t stk_wheel_pop(struct stk_wheel *w, uint32_t now);

#endif
