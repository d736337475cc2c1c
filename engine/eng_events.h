/* eng_events: turns the stack's event records into structured records
 * (Elastic Common Schema field names, project fields under decnet.*) and
 * hands them to the sinks: control-socket subscribers (events.subscribe)
 * and an NDJSON file (--events FILE, "-" for stdout). Runs once per loop
 * iteration, outside the per-packet path, with a per-round budget; a full
 * ring drops events and counts them. */
#ifndef ENG_EVENTS_H
#define ENG_EVENTS_H

#include <stdint.h>
#include <stdio.h>

#include "stack/stk_event.h"

struct eng_engine;

struct eng_events {
	struct stk_event_ring ring;
	FILE *file;          /* NULL: no file sink */
	int file_is_stdout;
	uint32_t rate;       /* records per second at most (0: unlimited) */
	double tokens;       /* token bucket for rate */
	uint64_t last_ns;
	uint64_t rate_limited; /* observations drained without a record (over rate) */
	uint64_t records;    /* records rendered to at least one sink */
	uint64_t unobserved; /* drained with no sink attached */
	uint64_t write_errors;
};

/* rate: records per second at most, so a flood cannot turn the engine
 * into a JSON printer (or fill the disk); 0 = unlimited. */
int eng_events_open(struct eng_events *ev, const char *file, uint32_t rate, char *err,
		    unsigned errlen);
void eng_events_close(struct eng_events *ev);
/* Drain up to budget events to the sinks; returns how many were drained. */
unsigned eng_events_pump(struct eng_engine *e, unsigned budget);
/* One event as its JSON record (caller frees). */
struct cJSON *eng_event_json(const struct eng_engine *e, const struct stk_event *ev);

#endif
