/* eng_engine: one decnetd instance. Ties an I/O backend, the stack, the
 * decky records (from the fleet config) and the control socket to one event
 * loop. Single-threaded for now; per-core workers split the rx side later
 * with the same per-worker stk_ctx.
 */
#ifndef ENG_ENGINE_H
#define ENG_ENGINE_H

#include "protocols/proto_steer.h"
#include <stdbool.h>
#include <stdint.h>

#include "engine/eng_events.h"
#include "engine/eng_index.h"
#include "engine/eng_io.h"
#include "engine/eng_loop.h"
#include "fleet/fleet.h"
#include "stack/stk.h"

struct ctl_server;

/* One nmap-os-db entry as the stack wears it (see stack/stk_persona.h);
 * allocated once and never moved: hosts point at .pol. */
struct eng_persona;

struct eng_decky {
	struct fleet_decky cfg;
	int host_idx;        /* in engine->hosts; -1 when not on the wire */
	bool in_use;
};

struct eng_options {
	const char *config_path;
	const char *ifname;
	const char *backend;   /* "afpacket" (default), "xdp" or "pcap" */
	const char *pcap_in, *pcap_out;
	const char *control_path; /* NULL: no control socket */
	bool ring_v3;
	bool tx_ring;          /* afpacket: transmit through a PACKET_TX_RING (--tx ring) */
	unsigned ring_mb;
	enum eng_xdp_mode xdp_mode; /* xdp: auto (default), native or skb */
	uint32_t max_deckies;
	bool stats_on_exit;    /* print counters as JSON on stdout at exit */
	const char *events_file; /* NDJSON event records (append), "-" = stdout */
	uint32_t events_rate;    /* records per second at most, 0 = unlimited */
	const char *nmap_os_db;  /* nmap-os-db path (NULL: build default / $DECNET_NMAP_OS_DB) */
	bool family_tables;      /* families use built-in tables, not their nmap-os-db entry */
	bool quiet;
};

struct eng_engine {
	struct eng_options opt;
	struct fleet_config fleet;
	struct fleet_osdb_resolver osdb; /* nmap_os= entry names; loaded on first use */
	struct fleet_mac_stats mac_logged; /* osdb.mac as last logged */
	struct eng_persona **personas;   /* compiled nmap-os-db entries, shared by deckies */
	size_t n_personas, cap_personas;
	bool warned_family_tables;       /* logged once: no database for family entries */
	struct eng_loop *loop;
	struct eng_io *io;
	struct stk_hosts hosts;
	struct stk_pool tx_pool;
	struct stk_ctx stk;
	struct eng_decky *deckies;  /* capacity opt.max_deckies */
	uint32_t n_deckies;         /* high-water mark of used slots */
	uint32_t live_deckies;
	uint32_t *free_slots;       /* stack of free decky slots below the cap */
	uint32_t n_free_slots;
	struct eng_index by_name;   /* live deckies by name */
	struct eng_index by_mac;    /* ... and by MAC: no two deckies share one */
	struct ctl_server *ctl;
	struct eng_events events;
	char ifname[32];            /* interface from [general] (opt.ifname points here) */
	struct eng_timer stk_tick;  /* drives stk_timers_advance */
	/* steering: ports with backend= relay there (protocols/proto_steer.h) */
	struct proto_steer_pool steer;
	struct proto_steer_route **steer_routes;
	size_t n_steer, cap_steer;
	int sigfd;
	uint64_t started_ns;
	int exit_code;
};

/* Load config, open I/O, put deckies on the wire, open the control socket.
 * On failure everything is undone and a message is in err. */
int eng_engine_start(struct eng_engine *e, const struct eng_options *opt, char *err, unsigned errlen);
/* Run until SIGINT/SIGTERM (or EOF for finite backends). */
int eng_engine_run(struct eng_engine *e);
void eng_engine_stop(struct eng_engine *e);

/* Put one decky on the wire (host table + gratuitous ARP) / take it off.
 * Name, MAC and IP must be unused (-EEXIST with err naming the clash);
 * O(1). 0 or -errno. */
int eng_engine_decky_add(struct eng_engine *e, const struct fleet_decky *d, char *err, unsigned errlen);
int eng_engine_decky_remove(struct eng_engine *e, const char *name);
struct eng_decky *eng_engine_decky_find(struct eng_engine *e, const char *name);

struct eng_reload_result {
	unsigned added, removed, kept;
};

/* Replace the fleet with the one in path (NULL: the file decnetd started
 * with), all or nothing: the new file is loaded and validated completely,
 * and capacity checked, before any decky changes. Deckies whose name, IP,
 * MAC and family are unchanged stay on the wire untouched; the rest are
 * removed and added (with a gratuitous ARP). Deckies added live with
 * decky.add and absent from the file are removed: the file is the truth.
 * 0, or -errno with err filled and nothing changed. */
int eng_engine_reload(struct eng_engine *e, const char *path, struct eng_reload_result *res,
		      char *err, unsigned errlen);

/* Process everything the backend has now (bounded by max_bursts). Returns
 * frames handled. The per-packet path: no allocation, no syscall except the
 * one tx flush per call. */
unsigned eng_engine_poll(struct eng_engine *e, unsigned max_bursts);

/* Counters as a JSON object (caller frees). */
struct cJSON *eng_engine_stats_json(struct eng_engine *e);

#endif
