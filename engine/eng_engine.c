/* The engine: start-up (all or nothing), the packet poll loop, decky
 * lifecycle. Control-socket commands are in eng_commands.c. */
#include "engine/eng_engine.h"

#include "decnet_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "control/ctl_server.h"
#include "fingerprints/fp_persona.h"
#include "stack/stk_frag.h"
#include "stack/stk_persona.h"
#include "engine/eng_log.h"
#include "protocols/proto.h"
#include "stack/stk_tcp.h"

int eng_commands_register(struct eng_engine *e);

#define ENG_STACK_TICK_US 5000 /* stk_timers_advance period (TCP timers are >= 30 ms) */

static struct stk_host_policy family_policy(enum fp_family fam)
{
	/* Family defaults until the persona engine supplies the exact OS: the
	 * real initial TTL, and how the family answers an echo request with a
	 * non-zero code (Windows zeroes it, the others copy it). */
	struct stk_host_policy p = {
		.ttl = fp_family_info(fam)->ttl,
		.icmp_echo_copy_code = fam != FP_FAMILY_WINDOWS,
		.icmp_echo_df = false,
		.tcp = stk_tcp_policy_family(fam),
	};
	return p;
}

/* Open (or close) the decky's service ports in the stack; which responder
 * answers which port is protocols/' table. A port two services share is
 * opened once (the first wins). */
#define ENG_STEER_PAIRS 4096 /* relayed connections at once (~2.1 KiB each) */

static const char *persona_value(const struct fleet_service_inst *si, const char *key)
{
	for (size_t i = 0; i < si->n_persona; i++)
		if (strcmp(si->persona[i].key, key) == 0)
			return si->persona[i].value;
	return NULL;
}

/* The backend= of a service instance, if any: 0 and the route's address,
 * or -ENOENT. The loader validated the values; a backend_mac= is handed to
 * the stack (no ARP for that backend). */
static int decky_backend(struct eng_engine *e, const struct fleet_service_inst *si, bool open, uint32_t *ip,
			 uint16_t *port)
{
	const char *v = persona_value(si, FLEET_KEY_BACKEND);
	if (!v || fleet_parse_backend(v, ip, port) < 0)
		return -ENOENT;
	uint8_t mac[6];
	v = persona_value(si, FLEET_KEY_BACKEND_MAC);
	if (open && v && fleet_parse_mac(v, mac) == 0 && stk_tcp_neigh_set(&e->stk, htonl(*ip), mac) < 0)
		eng_log(ENG_LOG_WARN, "backend %s: neighbour table full, its MAC will be asked by ARP", v);
	return 0;
}

/* A route for a steered port (control plane: allocates); NULL without memory. */
static struct proto_steer_route *steer_route_new(struct eng_engine *e, uint32_t decky_ip_raw, uint16_t port,
						 uint32_t backend_ip, uint16_t backend_port)
{
	if (e->n_steer == e->cap_steer) {
		size_t cap = e->cap_steer ? 2 * e->cap_steer : 16;
		struct proto_steer_route **n = realloc(e->steer_routes, cap * sizeof(*n));
		if (!n)
			return NULL;
		e->steer_routes = n;
		e->cap_steer = cap;
	}
	struct proto_steer_route *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->decky_ip_raw = decky_ip_raw;
	r->backend_ip_raw = htonl(backend_ip);
	r->backend_port = backend_port ? backend_port : port;
	r->port = port;
	r->pool = &e->steer;
	e->steer_routes[e->n_steer++] = r;
	return r;
}

static void steer_route_free(struct eng_engine *e, uint32_t decky_ip_raw, uint16_t port)
{
	for (size_t i = 0; i < e->n_steer; i++) {
		struct proto_steer_route *r = e->steer_routes[i];
		if (r->decky_ip_raw == decky_ip_raw && r->port == port) {
			free(r);
			e->steer_routes[i] = e->steer_routes[--e->n_steer];
			return;
		}
	}
}

/* Open (or close) the decky's service ports in the stack; which responder
 * answers which port is protocols/' table, except that a service with
 * backend= relays its TCP ports there. A port two services share is
 * opened once (the first wins). */
static void decky_ports(struct eng_engine *e, const struct fleet_decky *d, bool open)
{
	uint32_t ip_raw = htonl(d->ip);
	for (unsigned i = 0; i < d->n_services; i++) {
		const struct fleet_service *svc = d->services[i].svc;
		uint32_t bip;
		uint16_t bport;
		bool steered = decky_backend(e, &d->services[i], open, &bip, &bport) == 0;
		for (unsigned k = 0; k < svc->n_ports; k++) {
			uint8_t proto = svc->ports[k].proto == FLEET_PROTO_UDP ? STK_IPPROTO_UDP : STK_IPPROTO_TCP;
			uint16_t port = svc->ports[k].port;
			bool steer = steered && proto == STK_IPPROTO_TCP;
			if (!open) {
				if (stk_unlisten(&e->stk, ip_raw, proto, port) == 0 && steer)
					steer_route_free(e, ip_raw, port);
				continue;
			}
			const struct stk_service *s = proto_service_for(svc->slug, proto, port);
			void *arg = NULL;
			if (steer) {
				arg = steer_route_new(e, ip_raw, port, bip, bport);
				s = &proto_steer_service;
			}
			int rc = steer && !arg ? -ENOMEM : stk_listen(&e->stk, ip_raw, proto, port, s, arg);
			if (rc == -ENOMEM)
				eng_log(ENG_LOG_ERR, "%s: no memory to open %s/%u", d->name,
					fleet_proto_name(svc->ports[k].proto), port);
			else if (rc && arg)
				steer_route_free(e, ip_raw, port); /* -EEXIST: another service has it */
		}
	}
}

struct eng_persona {
	struct fp_persona p;
	struct stk_tcp_policy pol;
	struct stk_host_policy host;
};

/* The host answers for a decky: its nmap-os-db entry compiled into a
 * persona (once per entry, shared), or its family's defaults. */
static struct stk_host_policy decky_policy(struct eng_engine *e, const struct fleet_decky *d)
{
	char canon[FLEET_OS_MAX], err[256];
	enum fp_family fam;
	size_t idx;
	if (fleet_nmap_os_resolve(d->nmap_os, canon, &fam) == 0) {
		/* A family stands for one real entry (fp_persona_family_entry);
		 * without nmap's database, the family's own tables. */
		struct fp_osdb *fdb = e->opt.family_tables ? NULL : fleet_osdb_resolver_db(&e->osdb, err, sizeof(err));
		if (!fdb || fp_persona_family_entry(fdb, fam, &idx) != 0) {
			if (!e->opt.family_tables && !e->warned_family_tables) {
				eng_log(ENG_LOG_WARN, "nmap's OS database is not available (%s): family deckies use "
						      "the built-in family tables", fdb ? "no family entry" : err);
				e->warned_family_tables = true;
			}
			return family_policy(d->family);
		}
	} else if (fleet_osdb_resolver_entry(&e->osdb, d->nmap_os, &idx) != 0) {
		return family_policy(d->family);
	}
	for (size_t i = 0; i < e->n_personas; i++)
		if (e->personas[i]->p.entry == idx)
			return e->personas[i]->host;
	struct eng_persona *ep = calloc(1, sizeof(*ep));
	struct fp_osdb *db = fleet_osdb_resolver_db(&e->osdb, err, sizeof(err));
	if (!ep || !db || fp_persona_compile(db, idx, &ep->p, err, sizeof(err)) != 0 ||
	    stk_policy_from_persona(&ep->p, &ep->pol, &ep->host) != 0) {
		eng_log(ENG_LOG_WARN, "%s: persona '%s' not usable (%s): family defaults", d->name,
			d->nmap_os, ep ? err : "out of memory");
		free(ep);
		return family_policy(d->family);
	}
	if (e->n_personas == e->cap_personas) {
		size_t cap = e->cap_personas ? 2 * e->cap_personas : 16;
		struct eng_persona **np = realloc(e->personas, cap * sizeof(*np));
		if (!np) {
			free(ep);
			return family_policy(d->family);
		}
		e->personas = np;
		e->cap_personas = cap;
	}
	e->personas[e->n_personas++] = ep;
	return ep->host;
}

static void send_frames(struct eng_engine *e, struct stk_pkt **tx, unsigned n)
{
	unsigned ok = eng_io_tx_burst(e->io, tx, n);
	(void)ok; /* refusals are counted by the backend (tx_ring_full) */
	for (unsigned i = 0; i < n; i++)
		stk_pool_put(&e->tx_pool, tx[i]);
}

static void announce(struct eng_engine *e, const struct stk_host *h)
{
	struct stk_pkt *p = stk_pool_get(&e->tx_pool);
	if (!p) {
		e->stk.cnt.drop_tx_nobuf++;
		return;
	}
	stk_arp_build_gratuitous(h, p);
	e->stk.cnt.arp_gratuitous++;
	e->stk.cnt.tx_frames++;
	send_frames(e, &p, 1);
	e->io->ops->tx_flush(e->io);
}

static const void *key_name(const void *ctx, uint32_t item, size_t *len)
{
	const struct eng_engine *e = ctx;
	*len = strlen(e->deckies[item].cfg.name);
	return e->deckies[item].cfg.name;
}

static const void *key_mac(const void *ctx, uint32_t item, size_t *len)
{
	const struct eng_engine *e = ctx;
	*len = 6;
	return e->deckies[item].cfg.mac;
}

struct eng_decky *eng_engine_decky_find(struct eng_engine *e, const char *name)
{
	uint32_t i = eng_index_find(&e->by_name, name, strlen(name));
	return i == ENG_INDEX_NONE ? NULL : &e->deckies[i];
}

/* Where the MACs of exact personas came from since the last call: one
 * line per load or reload that derived any, a warning when nmap's
 * nmap-mac-prefixes could not be read (each decky then keeps its family's
 * OUI). Counts per MAC derivation, so a collision retry counts twice. */
static void log_mac_sources(struct eng_engine *e)
{
	const struct fleet_mac_stats *now = &e->osdb.mac, *was = &e->mac_logged;
	size_t vendor = now->vendor - was->vendor, os = now->os_vendor - was->os_vendor;
	size_t no_match = now->no_match - was->no_match, no_file = now->no_file - was->no_file;
	if (vendor + os + no_match + no_file)
		eng_log(ENG_LOG_INFO,
			"persona MACs: %zu with their Class vendor's OUI, family OUI for %zu (OS "
			"vendor), %zu (vendor not in nmap-mac-prefixes), %zu (no prefixes file)",
			vendor, os, no_match, no_file);
	if (no_file && !was->no_file)
		eng_log(ENG_LOG_WARN, "nmap-mac-prefixes unavailable (%s): family OUIs",
			e->osdb.macdb_err);
	e->mac_logged = *now;
}

int eng_engine_decky_add(struct eng_engine *e, const struct fleet_decky *d, char *err, unsigned errlen)
{
	if (eng_engine_decky_find(e, d->name)) {
		snprintf(err, errlen, "decky %s exists", d->name);
		return -EEXIST;
	}
	struct fleet_decky dd = *d;
	d = &dd;
	uint32_t other = eng_index_find(&e->by_mac, dd.mac, 6);
	/* A derived MAC that collides moves on to the hash of "name#1",
	 * "name#2", ... exactly as the fleet loader does, so a decky added live
	 * gets the MAC it would get from the file. */
	for (unsigned k = 1; other != ENG_INDEX_NONE && !dd.mac_explicit && k < 64; k++) {
		char alt[FLEET_NAME_MAX + 8];
		snprintf(alt, sizeof(alt), "%s#%u", dd.name, k);
		fleet_mac_derive(&e->osdb.r, &dd, alt, dd.mac);
		other = eng_index_find(&e->by_mac, dd.mac, 6);
	}
	if (other != ENG_INDEX_NONE) {
		const uint8_t *m = d->mac;
		snprintf(err, errlen, "MAC %02x:%02x:%02x:%02x:%02x:%02x already belongs to decky %s",
			 m[0], m[1], m[2], m[3], m[4], m[5], e->deckies[other].cfg.name);
		return -EEXIST;
	}
	if (!e->n_free_slots) {
		snprintf(err, errlen, "decky limit reached (%u, see --max-deckies)", e->opt.max_deckies);
		return -ENOSPC;
	}
	uint32_t slot = e->free_slots[e->n_free_slots - 1];
	struct eng_decky *ed = &e->deckies[slot];
	uint32_t ip_raw = htonl(d->ip);
	struct stk_host_policy pol = decky_policy(e, d);
	int idx = stk_hosts_add(&e->hosts, ip_raw, d->mac, &pol, ed);
	if (idx < 0) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &ip_raw, ip, sizeof(ip));
		const struct stk_host *h = stk_hosts_lookup(&e->hosts, ip_raw);
		if (idx == -EEXIST && h && h->owner)
			snprintf(err, errlen, "%s already belongs to decky %s", ip,
				 ((const struct eng_decky *)h->owner)->cfg.name);
		else
			snprintf(err, errlen, "%s: %s", ip, idx == -EEXIST ? "address in use" : "host table full");
		return idx;
	}
	/* A backend that filters in the kernel must let the decky's frames
	 * through before it goes on the wire; if it cannot, nothing stays. */
	if (e->io->ops->addr_add) {
		int rc = e->io->ops->addr_add(e->io, ip_raw, d->mac);
		if (rc) {
			stk_hosts_remove(&e->hosts, ip_raw);
			snprintf(err, errlen, "%s: %s backend filter: %s", d->name, e->io->ops->name,
				 strerror(-rc));
			return rc;
		}
	}
	e->n_free_slots--;
	ed->cfg = *d;
	ed->host_idx = idx;
	ed->in_use = true;
	eng_index_insert(&e->by_name, slot);
	eng_index_insert(&e->by_mac, slot);
	if (slot >= e->n_deckies)
		e->n_deckies = slot + 1;
	e->live_deckies++;
	decky_ports(e, &ed->cfg, true);
	announce(e, &e->hosts.hosts[idx]);
	return 0;
}

int eng_engine_decky_remove(struct eng_engine *e, const char *name)
{
	struct eng_decky *ed = eng_engine_decky_find(e, name);
	if (!ed)
		return -ENOENT;
	uint32_t slot = (uint32_t)(ed - e->deckies);
	eng_index_remove(&e->by_name, slot);
	eng_index_remove(&e->by_mac, slot);
	decky_ports(e, &ed->cfg, false);
	if (e->io->ops->addr_del)
		e->io->ops->addr_del(e->io, e->hosts.hosts[ed->host_idx].ip_raw, ed->cfg.mac);
	stk_hosts_remove(&e->hosts, e->hosts.hosts[ed->host_idx].ip_raw);
	ed->in_use = false;
	ed->host_idx = -1;
	e->free_slots[e->n_free_slots++] = slot;
	e->live_deckies--;
	while (e->n_deckies && !e->deckies[e->n_deckies - 1].in_use)
		e->n_deckies--;
	return 0;
}

static const void *key_next_name(const void *ctx, uint32_t item, size_t *len)
{
	const struct fleet_config *c = ctx;
	*len = strlen(c->deckies[item].name);
	return c->deckies[item].name;
}

static bool same_on_wire(const struct fleet_decky *a, const struct fleet_decky *b)
{
	return a->ip == b->ip && memcmp(a->mac, b->mac, 6) == 0 && a->family == b->family;
}

int eng_engine_reload(struct eng_engine *e, const char *path, struct eng_reload_result *res,
		      char *err, unsigned errlen)
{
	struct fleet_config next;
	struct fleet_error ferr;
	memset(res, 0, sizeof(*res));
	if (!path)
		path = e->opt.config_path;
	int rc = fleet_load_file_ex(path, &e->osdb.r, &next, &ferr);
	if (rc) {
		fleet_error_format(&ferr, err, errlen);
		return rc;
	}
	if (next.n_deckies > e->opt.max_deckies) {
		snprintf(err, errlen, "%s: %zu deckies exceed --max-deckies %u", path, next.n_deckies,
			 e->opt.max_deckies);
		fleet_config_free(&next);
		return -E2BIG;
	}
	struct eng_index next_by_name;
	if (eng_index_init(&next_by_name, (uint32_t)next.n_deckies, key_next_name, &next)) {
		snprintf(err, errlen, "out of memory");
		fleet_config_free(&next);
		return -ENOMEM;
	}
	for (size_t k = 0; k < next.n_deckies; k++)
		eng_index_insert(&next_by_name, (uint32_t)k);
	/* Nothing below can fail: removals first free every address and slot
	 * the new fleet needs, and the new fleet was validated as a whole
	 * (unique names, IPs, MACs) and fits the table. (The xdp backend's
	 * maps are as large as the table; only a kernel out of memory could
	 * refuse an entry, and that is logged below.) */
	for (uint32_t i = 0; i < e->n_deckies; i++) {
		struct eng_decky *ed = &e->deckies[i];
		if (!ed->in_use)
			continue;
		uint32_t k = eng_index_find(&next_by_name, ed->cfg.name, strlen(ed->cfg.name));
		const struct fleet_decky *nd = k == ENG_INDEX_NONE ? NULL : &next.deckies[k];
		if (nd && same_on_wire(nd, &ed->cfg)) {
			decky_ports(e, &ed->cfg, false); /* its services may differ */
			ed->cfg = *nd; /* fresh pointers into the new config */
			decky_ports(e, &ed->cfg, true);
			res->kept++;
			continue;
		}
		char name[FLEET_NAME_MAX];
		snprintf(name, sizeof(name), "%s", ed->cfg.name);
		eng_engine_decky_remove(e, name);
		res->removed++;
	}
	for (size_t k = 0; k < next.n_deckies; k++) {
		if (eng_engine_decky_find(e, next.deckies[k].name))
			continue;
		char msg[256];
		rc = eng_engine_decky_add(e, &next.deckies[k], msg, sizeof(msg));
		if (rc) /* unreachable by construction; loud if the invariant breaks */
			eng_log(ENG_LOG_ERR, "reload: adding %s failed: %s", next.deckies[k].name, msg);
		else
			res->added++;
	}
	eng_index_destroy(&next_by_name);
	fleet_config_free(&e->fleet);
	e->fleet = next;
	eng_log(ENG_LOG_INFO, "reloaded %s: %u added, %u removed, %u unchanged", path, res->added,
		res->removed, res->kept);
	log_mac_sources(e);
	return 0;
}

unsigned eng_engine_poll(struct eng_engine *e, unsigned max_bursts)
{
	struct stk_pkt *rx[ENG_BURST];
	struct stk_pkt *tx[2 * ENG_BURST]; /* a TCP ACK can release several segments */
	unsigned total = 0;
	for (unsigned b = 0; b < max_bursts; b++) {
		unsigned n = eng_io_rx_burst(e->io, rx, ENG_BURST);
		if (!n) {
			e->io->ops->rx_done(e->io); /* empty ring blocks go back too */
			break;
		}
		unsigned n_tx = 0;
		e->stk.now_ns = eng_clock_ns();
		stk_input_burst(&e->stk, rx, n, tx, 2 * ENG_BURST, &n_tx);
		if (!e->stk_tick.armed && stk_timers_pending(&e->stk))
			eng_timer_arm(e->loop, &e->stk_tick, ENG_STACK_TICK_US);
		if (n_tx)
			send_frames(e, tx, n_tx);
		e->io->ops->rx_done(e->io);
		/* One send() per burst: the tx ring (1024 frames) must drain
		 * while a long poll keeps producing answers. */
		e->io->ops->tx_flush(e->io);
		total += n;
	}
	return total;
}

/* The stack's clock: retransmissions, probes, timeouts and output that
 * waited for transmit room, every ENG_STACK_TICK_US while it has any. */
static void on_stack_tick(struct eng_loop *loop, struct eng_timer *t, void *arg)
{
	struct eng_engine *e = arg;
	struct stk_pkt *tx[2 * ENG_BURST];
	unsigned more = 1;
	for (unsigned round = 0; more && round < 8; round++) {
		unsigned n_tx = 0;
		more = stk_timers_advance(&e->stk, eng_clock_ns(), tx, 2 * ENG_BURST, &n_tx);
		if (n_tx)
			send_frames(e, tx, n_tx);
	}
	e->io->ops->tx_flush(e->io);
	/* Idle stack, idle loop: the next input burst starts the tick again. */
	if (stk_timers_pending(&e->stk))
		eng_timer_arm(loop, t, ENG_STACK_TICK_US);
}

/* Once per loop iteration, after the packet callbacks: event records are
 * rendered here, never on the per-packet path. */
static void on_idle(struct eng_loop *loop, void *arg)
{
	(void)loop;
	eng_events_pump(arg, 4096);
}

static void on_packets(struct eng_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	/* Bounded so the control socket and timers get their turn under load;
	 * whatever is left keeps the fd readable and comes back next round. */
	eng_engine_poll(arg, 64);
}

static void on_signal(struct eng_loop *loop, int fd, unsigned events, void *arg)
{
	struct eng_engine *e = arg;
	struct signalfd_siginfo si;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			struct eng_reload_result res;
			char err[512];
			if (eng_engine_reload(e, NULL, &res, err, sizeof(err)))
				eng_log(ENG_LOG_ERR, "SIGHUP reload refused, fleet unchanged: %s", err);
			continue;
		}
		eng_log(ENG_LOG_INFO, "signal %u: shutting down", si.ssi_signo);
		eng_loop_stop(loop);
	}
}

static int open_io(struct eng_engine *e, char *err, unsigned errlen)
{
	struct eng_io_cfg cfg = {
		.ifname = e->opt.ifname,
		.pcap_in = e->opt.pcap_in,
		.pcap_out = e->opt.pcap_out,
		.ring_blocks = e->opt.ring_mb,
		.ring_v3 = e->opt.ring_v3,
		.tx_ring = e->opt.tx_ring,
		.xdp_mode = e->opt.xdp_mode,
		.max_addrs = e->opt.max_deckies,
	};
	if (strcmp(e->opt.backend, "pcap") == 0)
		return eng_io_pcap_open(&cfg, &e->io, err, errlen);
	if (strcmp(e->opt.backend, "afpacket") == 0) {
		if (!cfg.ifname || !*cfg.ifname) {
			snprintf(err, errlen, "no interface: give -i IFACE or interface= in [general]");
			return -EINVAL;
		}
		return eng_io_afpacket_open(&cfg, &e->io, err, errlen);
	}
	if (strcmp(e->opt.backend, "xdp") == 0) {
		if (!HAVE_XDP) {
			snprintf(err, errlen, "-b xdp: decnetd was built without AF_XDP support (libxdp-dev, libbpf-dev, clang)");
			return -EOPNOTSUPP;
		}
		if (!cfg.ifname || !*cfg.ifname) {
			snprintf(err, errlen, "no interface: give -i IFACE or interface= in [general]");
			return -EINVAL;
		}
#if HAVE_XDP
		return eng_io_xdp_open(&cfg, &e->io, err, errlen);
#endif
	}
	snprintf(err, errlen, "unknown backend '%s' (afpacket, xdp, pcap)", e->opt.backend);
	return -EINVAL;
}

static int open_signals(struct eng_engine *e, char *err, unsigned errlen)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP); /* reload the fleet file */
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN); /* control clients may vanish mid-reply */
	e->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (e->sigfd < 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return -errno;
	}
	return eng_loop_add_fd(e->loop, e->sigfd, ENG_EV_READ, on_signal, e);
}

static void engine_cleanup(struct eng_engine *e)
{
	if (e->ctl)
		ctl_server_free(e->ctl);
	if (e->sigfd >= 0)
		close(e->sigfd);
	if (e->io)
		e->io->ops->close(e->io);
	if (e->loop)
		eng_loop_free(e->loop);
	eng_events_close(&e->events);
	stk_tcp_destroy(&e->stk);
	stk_frag_destroy(&e->stk);
	proto_steer_pool_destroy(&e->steer); /* after the stack: closed() uses it */
	for (size_t i = 0; i < e->n_steer; i++)
		free(e->steer_routes[i]);
	free(e->steer_routes);
	e->steer_routes = NULL;
	e->n_steer = e->cap_steer = 0;
	stk_pool_destroy(&e->tx_pool);
	stk_hosts_destroy(&e->hosts);
	eng_index_destroy(&e->by_name);
	eng_index_destroy(&e->by_mac);
	free(e->free_slots);
	e->free_slots = NULL;
	free(e->deckies);
	fleet_config_free(&e->fleet);
	fleet_osdb_resolver_free(&e->osdb);
	for (size_t i = 0; i < e->n_personas; i++)
		free(e->personas[i]);
	free(e->personas);
	e->personas = NULL;
	e->n_personas = e->cap_personas = 0;
	e->ctl = NULL;
	e->io = NULL;
	e->loop = NULL;
	e->deckies = NULL;
	e->sigfd = -1;
}

int eng_engine_start(struct eng_engine *e, const struct eng_options *opt, char *err, unsigned errlen)
{
	int rc;
	struct fleet_error ferr;
	memset(e, 0, sizeof(*e));
	e->opt = *opt;
	e->sigfd = -1;
	if (!e->opt.backend)
		e->opt.backend = "afpacket";
	if (!e->opt.max_deckies)
		e->opt.max_deckies = 100000;

	fleet_osdb_resolver_init(&e->osdb, opt->nmap_os_db);
	rc = fleet_load_file_ex(opt->config_path, &e->osdb.r, &e->fleet, &ferr);
	if (rc) {
		fleet_error_format(&ferr, err, errlen);
		fleet_osdb_resolver_free(&e->osdb);
		return rc;
	}
	log_mac_sources(e);
	if (e->fleet.n_deckies > e->opt.max_deckies) {
		snprintf(err, errlen, "%s: %zu deckies exceed --max-deckies %u", opt->config_path,
			 e->fleet.n_deckies, e->opt.max_deckies);
		rc = -E2BIG;
		goto fail;
	}
	/* Our own copy: a reload may change [general] interface= but the
	 * engine stays bound where it started. */
	if (!e->opt.ifname && e->fleet.interface[0]) {
		snprintf(e->ifname, sizeof(e->ifname), "%s", e->fleet.interface);
		e->opt.ifname = e->ifname;
	}
	e->deckies = calloc(e->opt.max_deckies, sizeof(*e->deckies));
	e->free_slots = calloc(e->opt.max_deckies, sizeof(*e->free_slots));
	if (!e->deckies || !e->free_slots || stk_hosts_init(&e->hosts, e->opt.max_deckies) ||
	    stk_pool_init(&e->tx_pool, 4 * ENG_BURST) ||
	    eng_index_init(&e->by_name, e->opt.max_deckies, key_name, e) ||
	    eng_index_init(&e->by_mac, e->opt.max_deckies, key_mac, e)) {
		snprintf(err, errlen, "out of memory for %u deckies", e->opt.max_deckies);
		rc = -ENOMEM;
		goto fail;
	}
	/* Lowest slot first: decky.list shows the file's order. */
	for (uint32_t i = 0; i < e->opt.max_deckies; i++)
		e->free_slots[i] = e->opt.max_deckies - 1 - i;
	e->n_free_slots = e->opt.max_deckies;
	e->stk.hosts = &e->hosts;
	e->stk.tx_pool = &e->tx_pool;
	rc = eng_events_open(&e->events, e->opt.events_file, e->opt.events_rate, err, errlen);
	if (rc)
		goto fail;
	e->stk.events = &e->events.ring;
	e->stk.now_ns = eng_clock_ns();
	rc = stk_tcp_init(&e->stk, NULL);
	if (!rc)
		rc = stk_frag_init(&e->stk, NULL); /* IPv4 reassembly: 1 MiB, 64 datagrams, 30 s */
	if (!rc)
		rc = proto_steer_pool_init(&e->steer, ENG_STEER_PAIRS);
	if (rc) {
		snprintf(err, errlen, "TCP/UDP stack: %s", strerror(-rc));
		goto fail;
	}
	e->loop = eng_loop_new(1000);
	if (!e->loop) {
		snprintf(err, errlen, "event loop: %s", strerror(errno));
		rc = -errno;
		goto fail;
	}
	eng_timer_init(&e->stk_tick, on_stack_tick, e);
	eng_timer_arm(e->loop, &e->stk_tick, ENG_STACK_TICK_US);
	eng_loop_set_idle(e->loop, on_idle, e);
	rc = open_io(e, err, errlen);
	if (rc)
		goto fail;
	rc = open_signals(e, err, errlen);
	if (rc)
		goto fail;
	if (e->opt.control_path) {
		e->ctl = ctl_server_new(e->loop, e->opt.control_path);
		if (!e->ctl) {
			rc = -errno;
			snprintf(err, errlen, "control socket %s: %s", e->opt.control_path, strerror(errno));
			goto fail;
		}
		rc = eng_commands_register(e);
		if (rc) {
			snprintf(err, errlen, "control commands: %s", strerror(-rc));
			goto fail;
		}
	}
	for (size_t i = 0; i < e->fleet.n_deckies; i++) {
		rc = eng_engine_decky_add(e, &e->fleet.deckies[i], err, errlen);
		if (rc)
			goto fail;
	}
	int fd = e->io->ops->fd(e->io);
	if (fd >= 0) {
		rc = eng_loop_add_fd(e->loop, fd, ENG_EV_READ, on_packets, e);
		if (rc) {
			snprintf(err, errlen, "event loop: %s", strerror(-rc));
			goto fail;
		}
	}
	e->started_ns = eng_clock_ns();
	return 0;
fail:
	engine_cleanup(e);
	return rc ? rc : -EINVAL;
}

int eng_engine_run(struct eng_engine *e)
{
	int rc = 0;
	if (e->io->ops->fd(e->io) >= 0) {
		rc = eng_loop_run(e->loop);
	} else {
		/* A finite source: drain it, serving the loop between bursts. */
		while (!e->io->ops->eof(e->io) && !eng_loop_stopped(e->loop)) {
			eng_engine_poll(e, 16);
			eng_events_pump(e, UINT32_MAX);
			rc = eng_loop_once(e->loop, 0);
			if (rc < 0)
				break;
			rc = 0;
		}
	}
	eng_events_pump(e, UINT32_MAX); /* what is left in the ring */
	if (e->opt.stats_on_exit) {
		cJSON *j = eng_engine_stats_json(e);
		char *s = j ? cJSON_PrintUnformatted(j) : NULL;
		if (s)
			printf("%s\n", s);
		fflush(stdout);
		free(s);
		cJSON_Delete(j);
	}
	return rc;
}

void eng_engine_stop(struct eng_engine *e)
{
	engine_cleanup(e);
}

cJSON *eng_engine_stats_json(struct eng_engine *e)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *stk = cJSON_AddObjectToObject(root, "stack");
	for (const struct stk_counter_desc *d = stk_counter_descs; d->name; d++) {
		uint64_t v;
		memcpy(&v, (const uint8_t *)&e->stk.cnt + d->offset, sizeof(v));
		cJSON_AddNumberToObject(stk, d->name, (double)v);
	}
	struct eng_io_stats io;
	e->io->ops->stats(e->io, &io);
	cJSON *jio = cJSON_AddObjectToObject(root, "io");
	cJSON_AddStringToObject(jio, "backend", e->io->ops->name);
	/* Every backend's counters, then the xdp backend's own (as the stack's
	 * counters above: one table, one loop). */
#define IO_FIELD(f, xdp) {#f, offsetof(struct eng_io_stats, f), xdp}
	static const struct {
		const char *name;
		size_t off;
		bool xdp_only;
	} io_fields[] = {
		IO_FIELD(rx_frames, false), IO_FIELD(rx_bytes, false), IO_FIELD(tx_frames, false),
		IO_FIELD(tx_bytes, false), IO_FIELD(rx_kernel_drops, false), IO_FIELD(rx_truncated, false),
		IO_FIELD(tx_ring_full, false), IO_FIELD(tx_errors, false), IO_FIELD(tx_oversize, false),
		IO_FIELD(tx_no_frame, true), IO_FIELD(xdp_rx_dropped, true), IO_FIELD(xdp_rx_invalid_descs, true),
		IO_FIELD(xdp_tx_invalid_descs, true), IO_FIELD(xdp_rx_ring_full, true),
		IO_FIELD(xdp_rx_fill_ring_empty, true), IO_FIELD(xdp_tx_ring_empty, true),
	};
#undef IO_FIELD
	bool xdp = e->io->ops->addr_add != NULL; /* the one backend with an address filter */
	for (size_t i = 0; i < sizeof(io_fields) / sizeof(io_fields[0]); i++) {
		if (io_fields[i].xdp_only && !xdp)
			continue;
		uint64_t v;
		memcpy(&v, (const uint8_t *)&io + io_fields[i].off, sizeof(v));
		cJSON_AddNumberToObject(jio, io_fields[i].name, (double)v);
	}
	if (e->io->mode)
		cJSON_AddStringToObject(jio, "mode", e->io->mode);
	cJSON_AddNumberToObject(root, "deckies", e->live_deckies);
	struct stk_tcp_usage u;
	stk_tcp_usage(&e->stk, &u);
	cJSON *jt = cJSON_AddObjectToObject(root, "tcp");
	cJSON_AddNumberToObject(jt, "flows", u.flows);
	cJSON_AddNumberToObject(jt, "max_flows", u.max_flows);
	cJSON_AddNumberToObject(jt, "half_open", u.half_open);
	cJSON_AddNumberToObject(jt, "syn_cache", u.syn_cache);
	cJSON_AddNumberToObject(jt, "syn_cache_cap", u.syn_cache_cap);
	cJSON_AddNumberToObject(jt, "time_wait", u.time_wait);
	cJSON_AddNumberToObject(jt, "sndbuf_chunks_used", u.sndbuf_chunks_used);
	cJSON_AddNumberToObject(jt, "listeners", u.listeners);
	cJSON *js = cJSON_AddObjectToObject(root, "steer");
	cJSON_AddNumberToObject(js, "routes", (double)e->n_steer);
	cJSON_AddNumberToObject(js, "pairs_in_use", e->steer.in_use);
	cJSON_AddNumberToObject(js, "steered", (double)e->steer.steered);
	cJSON_AddNumberToObject(js, "connected", (double)e->steer.connected);
	cJSON_AddNumberToObject(js, "connect_failed", (double)e->steer.connect_failed);
	cJSON_AddNumberToObject(js, "pool_empty", (double)e->steer.pool_empty);
	cJSON *ev = cJSON_AddObjectToObject(root, "events");
	cJSON_AddNumberToObject(ev, "observed", (double)e->events.ring.written);
	cJSON_AddNumberToObject(ev, "dropped_ring_full", (double)e->events.ring.dropped);
	cJSON_AddNumberToObject(ev, "records", (double)e->events.records);
	cJSON_AddNumberToObject(ev, "unobserved", (double)e->events.unobserved);
	cJSON_AddNumberToObject(ev, "rate_limited", (double)e->events.rate_limited);
	cJSON_AddNumberToObject(ev, "write_errors", (double)e->events.write_errors);
	if (e->ctl) {
		const struct ctl_server_stats *cs = ctl_server_get_stats(e->ctl);
		cJSON *c = cJSON_AddObjectToObject(root, "control");
		cJSON_AddNumberToObject(c, "connections", (double)cs->connections);
		cJSON_AddNumberToObject(c, "requests", (double)cs->requests);
		cJSON_AddNumberToObject(c, "errors", (double)cs->errors);
		cJSON_AddNumberToObject(c, "bad_json", (double)cs->bad_json);
		cJSON_AddNumberToObject(c, "denied", (double)cs->denied);
		cJSON_AddNumberToObject(c, "events_dropped", (double)cs->events_dropped);
	}
	return root;
}
