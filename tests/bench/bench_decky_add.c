/* Benchmark: adding deckies to a running engine.
 *  1. inside the engine: eng_engine_decky_add (name/MAC/IP indexes, host
 *     table, gratuitous ARP built and handed to the backend), per decky;
 *  2. through the control socket: decky.add requests from a client thread,
 *     one at a time (latency) — parse, validate with the INI rules, add,
 *     reply;
 *  3. memory per idle decky: RSS growth over the adds.
 * Baseline in the same run: the same adds with the previous version's
 * linear name/slot scans (eng_engine_decky_add's O(n) predecessor) are
 * modelled by a linear scan over the live deckies per add.
 *
 * Usage: bench_decky_add [deckies (default 100000)] [socket requests (default 20000)]
 * Runs on the pcap backend (an empty capture), so it needs no interface.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "control/ctl_client.h"
#include "engine/eng_engine.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

struct client {
	const char *path;
	unsigned n;
	double total_us;
	unsigned ok;
	volatile int done;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	int fd = ctl_client_connect(c->path, NULL, 0);
	if (fd < 0) {
		c->done = 1;
		return NULL;
	}
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < c->n; i++) {
		char name[32], ip[32];
		snprintf(name, sizeof(name), "sock-%u", i);
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", 200 + (i >> 16), (i >> 8) & 255, i & 255);
		cJSON *args = cJSON_CreateObject();
		cJSON_AddStringToObject(args, "name", name);
		cJSON_AddStringToObject(args, "ip", ip);
		cJSON_AddStringToObject(args, "services", "ssh");
		cJSON *reply = NULL;
		if (ctl_client_call(fd, "decky.add", args, &reply, 5000) == 0 &&
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok")))
			c->ok++;
		cJSON_Delete(reply);
		cJSON_Delete(args);
	}
	c->total_us = (double)(now_ns() - t0) / 1e3;
	close(fd);
	c->done = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
	unsigned n_sock = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20000;
	char dir[] = "/tmp/decnet-bench.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char ini[512], pcap[512], sock[512];
	snprintf(ini, sizeof(ini), "%s/f.ini", dir);
	snprintf(pcap, sizeof(pcap), "%s/empty.pcap", dir);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	FILE *f = fopen(ini, "w");
	fprintf(f, "[general]\nnet = 10.0.0.0/8\ngw = 10.0.0.1\n[seed]\nip = 10.0.0.2\nservices = ssh\n");
	fclose(f);
	/* An empty classic pcap: the engine starts and never reads a frame. */
	static const unsigned char hdr[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
					      0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0};
	f = fopen(pcap, "wb");
	fwrite(hdr, 1, sizeof(hdr), f);
	fclose(f);

	struct eng_options opt = {.config_path = ini, .backend = "pcap", .pcap_in = pcap,
				  .control_path = sock, .max_deckies = n + n_sock + 16};
	struct eng_engine e;
	char err[512];
	if (eng_engine_start(&e, &opt, err, sizeof(err))) {
		fprintf(stderr, "start: %s\n", err);
		return 1;
	}
	long rss0 = rss_kb();
	/* 1. inside the engine */
	struct fleet_decky d = e.fleet.deckies[0];
	uint64_t t0 = now_ns();
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		snprintf(d.name, sizeof(d.name), "d-%u", i);
		d.ip = 0x0a010000u + i;
		fp_family_mac(d.family, d.name, d.mac);
		d.mac[0] = 0x00; /* keep OUI-like, but unique per i */
		d.mac[3] = (uint8_t)(i >> 16);
		d.mac[4] = (uint8_t)(i >> 8);
		d.mac[5] = (uint8_t)i;
		ok += eng_engine_decky_add(&e, &d, err, sizeof(err)) == 0;
	}
	double in_engine_ns = (double)(now_ns() - t0) / n;
	long rss1 = rss_kb();

	/* Baseline: what every add cost before the indexes: a scan of the
	 * live deckies comparing names (measured here on the same table). */
	t0 = now_ns();
	volatile unsigned hits = 0;
	unsigned scans = n < 2000 ? n : 2000;
	for (unsigned k = 0; k < scans; k++)
		for (uint32_t i = 0; i < e.n_deckies; i++)
			hits += e.deckies[i].in_use && strcmp(e.deckies[i].cfg.name, "no-such") == 0;
	double scan_ns = (double)(now_ns() - t0) / scans;
	if (hits)
		fprintf(stderr, "unexpected name match\n");

	/* 2. through the control socket */
	struct client c = {.path = sock, .n = n_sock};
	pthread_t th;
	pthread_create(&th, NULL, client_main, &c);
	while (!c.done)
		eng_loop_once(e.loop, 1);
	pthread_join(th, NULL);

	printf("# %u deckies added in the engine, %u through the control socket\n", n, n_sock);
	printf("in-engine add: %.2f us/decky (%u ok)   baseline linear scan at %u deckies: %.2f us/add   ratio %.0fx\n",
	       in_engine_ns / 1e3, ok, e.live_deckies, scan_ns / 1e3, scan_ns / in_engine_ns);
	printf("control socket decky.add: %.1f us/request round trip, %.0f deckies/s (%u ok)\n",
	       c.total_us / (n_sock ? n_sock : 1), n_sock / (c.total_us / 1e6), c.ok);
	printf("memory per idle decky: %.0f bytes RSS (sizeof eng_decky %zu + host %zu + index slots)\n",
	       (double)(rss1 - rss0) * 1024.0 / n, sizeof(struct eng_decky), sizeof(struct stk_host));
	int fail = ok != n || c.ok != n_sock;
	eng_engine_stop(&e);
	unlink(ini);
	unlink(pcap);
	rmdir(dir);
	return fail;
}
