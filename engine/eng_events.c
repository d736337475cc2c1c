#include "engine/eng_events.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "control/ctl_server.h"
#include "engine/eng_engine.h"

#define RING_SIZE 65536u

int eng_events_open(struct eng_events *ev, const char *file, uint32_t rate, char *err,
		    unsigned errlen)
{
	memset(ev, 0, sizeof(*ev));
	ev->rate = rate;
	ev->tokens = rate;
	if (stk_event_ring_init(&ev->ring, RING_SIZE)) {
		snprintf(err, errlen, "out of memory for the event ring");
		return -ENOMEM;
	}
	if (file && strcmp(file, "-") == 0) {
		ev->file = stdout;
		ev->file_is_stdout = 1;
	} else if (file) {
		ev->file = fopen(file, "ae");
		if (!ev->file) {
			int rc = -errno;
			snprintf(err, errlen, "events file %s: %s", file, strerror(errno));
			stk_event_ring_destroy(&ev->ring);
			return rc;
		}
	}
	/* Fully buffered, flushed once per pump: one write() per round, not
	 * per record. */
	if (ev->file)
		setvbuf(ev->file, NULL, _IOFBF, 1 << 16);
	return 0;
}

void eng_events_close(struct eng_events *ev)
{
	if (ev->file && !ev->file_is_stdout)
		fclose(ev->file);
	ev->file = NULL;
	stk_event_ring_destroy(&ev->ring);
}

static void ip_str(uint32_t raw, char buf[INET_ADDRSTRLEN])
{
	inet_ntop(AF_INET, &raw, buf, INET_ADDRSTRLEN);
}

cJSON *eng_event_json(const struct eng_engine *e, const struct stk_event *ev)
{
	char ts[40], ip[INET_ADDRSTRLEN], mac[18];
	struct timespec t = {.tv_sec = (time_t)(ev->ts_ns / 1000000000ull),
			     .tv_nsec = (long)(ev->ts_ns % 1000000000ull)};
	if (!ev->ts_ns)
		clock_gettime(CLOCK_REALTIME, &t);
	struct tm tm;
	gmtime_r(&t.tv_sec, &tm);
	size_t k = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + k, sizeof(ts) - k, ".%06ldZ", t.tv_nsec / 1000);

	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "@timestamp", ts);
	cJSON *event = cJSON_AddObjectToObject(j, "event");
	cJSON_AddStringToObject(event, "kind", "event");
	cJSON_AddItemToObject(event, "category", cJSON_CreateStringReference("network"));
	cJSON_AddStringToObject(event, "action", stk_event_kind_name(ev->kind));
	cJSON_AddStringToObject(event, "dataset", "decnet.stack");

	cJSON *src = cJSON_AddObjectToObject(j, "source");
	ip_str(ev->src_ip_raw, ip);
	cJSON_AddStringToObject(src, "ip", ip);
	const uint8_t *m = ev->src_mac;
	snprintf(mac, sizeof(mac), "%02X-%02X-%02X-%02X-%02X-%02X", m[0], m[1], m[2], m[3], m[4], m[5]);
	cJSON_AddStringToObject(src, "mac", mac);
	if (ev->sport)
		cJSON_AddNumberToObject(src, "port", ev->sport);
	cJSON *dst = cJSON_AddObjectToObject(j, "destination");
	ip_str(ev->dst_ip_raw, ip);
	cJSON_AddStringToObject(dst, "ip", ip);
	if (ev->dport)
		cJSON_AddNumberToObject(dst, "port", ev->dport);

	cJSON *net = cJSON_AddObjectToObject(j, "network");
	cJSON_AddStringToObject(net, "type", "ipv4");
	static const char *const transport[256] = {[1] = "icmp", [6] = "tcp", [17] = "udp"};
	if (ev->kind == STK_EV_ARP_REQUEST)
		cJSON_AddStringToObject(net, "protocol", "arp");
	else if (transport[ev->proto])
		cJSON_AddStringToObject(net, "transport", transport[ev->proto]);

	cJSON *dn = cJSON_AddObjectToObject(j, "decnet");
	const struct stk_host *h = &e->hosts.hosts[ev->host_idx];
	if (h->in_use && h->ip_raw == ev->dst_ip_raw && h->owner) {
		const struct eng_decky *d = h->owner;
		cJSON_AddStringToObject(dn, "decky", d->cfg.name);
		cJSON_AddStringToObject(dn, "persona", d->cfg.nmap_os);
	}
	if (ev->kind != STK_EV_ARP_REQUEST) {
		cJSON_AddNumberToObject(dn, "ttl", ev->ttl);
		cJSON_AddNumberToObject(dn, "bytes", ev->len);
	}
	if (ev->kind == STK_EV_ICMP_ECHO) {
		cJSON *icmp = cJSON_AddObjectToObject(dn, "icmp");
		cJSON_AddNumberToObject(icmp, "id", ev->aux >> 16);
		cJSON_AddNumberToObject(icmp, "seq", ev->aux & 0xffff);
	}
	return j;
}

unsigned eng_events_pump(struct eng_engine *e, unsigned budget)
{
	struct stk_event batch[256];
	unsigned total = 0;
	struct eng_events *ev = &e->events;
	bool subscribers = e->ctl && ctl_server_get_stats(e->ctl)->subscribers > 0;
	if (ev->rate) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		if (ev->last_ns)
			ev->tokens += (double)(now - ev->last_ns) * 1e-9 * ev->rate;
		if (ev->tokens > ev->rate)
			ev->tokens = ev->rate; /* at most one second of burst */
		ev->last_ns = now;
	}
	while (total < budget) {
		unsigned want = budget - total < 256 ? budget - total : 256;
		unsigned n = stk_event_drain(&ev->ring, batch, want);
		if (!n)
			break;
		total += n;
		if (!subscribers && !ev->file) {
			ev->unobserved += n;
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			if (ev->rate) {
				if (ev->tokens < 1.0) {
					ev->rate_limited++;
					continue;
				}
				ev->tokens -= 1.0;
			}
			cJSON *j = eng_event_json(e, &batch[i]);
			if (!j)
				continue;
			if (subscribers)
				ctl_server_publish(e->ctl, j);
			if (ev->file) {
				char *s = cJSON_PrintUnformatted(j);
				if (!s || fprintf(ev->file, "%s\n", s) < 0)
					ev->write_errors++;
				free(s);
			}
			ev->records++;
			cJSON_Delete(j);
		}
	}
	if (ev->file && total)
		fflush(ev->file);
	return total;
}
