/* Timer wheel (see stk_timer.h). */
#include "stack/stk_timer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stk_wheel_init(struct stk_wheel *w, uint32_t n_slots, uint32_t now, void *base, size_t stride,
		   size_t link_off)
{
	if (n_slots < 64 || (n_slots & (n_slots - 1)))
		return -EINVAL;
	w->slots = malloc((size_t)n_slots * sizeof(*w->slots));
	w->occupied = calloc(n_slots / 64, sizeof(*w->occupied));
	if (!w->slots || !w->occupied) {
		stk_wheel_destroy(w);
		return -ENOMEM;
	}
	/* STK_TL_NONE is all ones: one memset (a loop of stores was most of
	 * a small stack's set-up under ASan, which the TCP fuzzer pays per run) */
	_Static_assert(STK_TL_NONE == UINT32_MAX, "STK_TL_NONE must be all ones");
	memset(w->slots, 0xff, (size_t)n_slots * sizeof(*w->slots));
	w->mask = n_slots - 1;
	w->cur = now;
	w->sweep = STK_TL_NONE;
	w->armed = 0;
	w->base = base;
	w->stride = stride;
	w->link_off = link_off;
	return 0;
}

void stk_wheel_destroy(struct stk_wheel *w)
{
	free(w->slots);
	free(w->occupied);
	w->slots = NULL;
	w->occupied = NULL;
}

/* The first occupied slot at or after s (circularly), as a distance from
 * s; > mask when the wheel is empty. */
static uint32_t next_occupied(const struct stk_wheel *w, uint32_t s)
{
	uint32_t words = (w->mask + 1) / 64;
	uint32_t wi = s / 64;
	uint64_t bits = w->occupied[wi] & (~0ull << (s % 64));
	for (uint32_t k = 0; k <= words; k++) {
		if (bits) {
			uint32_t slot = (wi % words) * 64 + (uint32_t)__builtin_ctzll(bits);
			return (slot - s) & w->mask;
		}
		wi++;
		bits = w->occupied[wi % words];
	}
	return w->mask + 1;
}

static void unlink_entry(struct stk_wheel *w, uint32_t idx, struct stk_tlink *l)
{
	if (l->prev == STK_TL_HEAD) {
		uint32_t s = l->expires & w->mask;
		w->slots[s] = l->next;
		if (l->next == STK_TL_NONE)
			w->occupied[s / 64] &= ~(1ull << (s % 64));
	} else
		stk_wheel_link(w, l->prev)->next = l->next;
	if (l->next != STK_TL_NONE)
		stk_wheel_link(w, l->next)->prev = l->prev;
	l->next = l->prev = STK_TL_NONE;
	w->armed--;
	(void)idx;
}

void stk_wheel_cancel(struct stk_wheel *w, uint32_t idx)
{
	struct stk_tlink *l = stk_wheel_link(w, idx);
	if (l->prev != STK_TL_NONE)
		unlink_entry(w, idx, l);
}

void stk_wheel_arm(struct stk_wheel *w, uint32_t idx, uint32_t expires)
{
	struct stk_tlink *l = stk_wheel_link(w, idx);
	/* Never into a slot already processed: it would wait a revolution. */
	if (!stk_tick_before(w->cur, expires))
		expires = w->cur + 1;
	if (l->prev != STK_TL_NONE) {
		if (l->expires == expires)
			return; /* the common re-arm to the same deadline */
		unlink_entry(w, idx, l);
	}
	uint32_t s = expires & w->mask;
	uint32_t *head = &w->slots[s];
	w->occupied[s / 64] |= 1ull << (s % 64);
	l->expires = expires;
	l->prev = STK_TL_HEAD;
	l->next = *head;
	if (*head != STK_TL_NONE)
		stk_wheel_link(w, *head)->prev = idx;
	*head = idx;
	w->armed++;
}

/* First entry of slot s due at or before tick t, unlinked. */
static uint32_t take_due(struct stk_wheel *w, uint32_t s, uint32_t t)
{
	for (uint32_t i = w->slots[s]; i != STK_TL_NONE;) {
		struct stk_tlink *l = stk_wheel_link(w, i);
		if (!stk_tick_before(t, l->expires)) {
			unlink_entry(w, i, l);
			return i;
		}
		i = l->next;
	}
	return STK_TL_NONE;
}

uint32_t stk_wheel_pop(struct stk_wheel *w, uint32_t now)
{
	/* More than a revolution behind (a stalled caller, a test jumping an
	 * hour): one sweep over every slot finds what is due, then the wheel
	 * jumps to now. */
	if (w->sweep == STK_TL_NONE && (uint32_t)(now - w->cur) > w->mask &&
	    stk_tick_before(w->cur, now))
		w->sweep = 0;
	if (w->sweep != STK_TL_NONE) {
		while (w->sweep <= w->mask) {
			uint32_t d = next_occupied(w, w->sweep);
			if (w->sweep + d > w->mask)
				break; /* wrapped: nothing further this sweep */
			w->sweep += d;
			uint32_t i = take_due(w, w->sweep, now);
			if (i != STK_TL_NONE)
				return i;
			w->sweep++;
		}
		w->sweep = STK_TL_NONE;
		w->cur = now;
		return STK_TL_NONE;
	}
	while (stk_tick_before(w->cur, now)) {
		/* Skip straight to the next slot that holds anything. */
		uint32_t d = next_occupied(w, (w->cur + 1) & w->mask);
		if (d >= now - w->cur) {
			w->cur = now;
			break;
		}
		uint32_t t = w->cur + 1 + d;
		uint32_t i = take_due(w, t & w->mask, t);
		if (i != STK_TL_NONE)
			return i;
		w->cur = t;
	}
	return STK_TL_NONE;
}
