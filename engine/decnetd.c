/* decnetd: the DECNET-C engine. Owns a fleet of deckies on one interface. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decnet_config.h"
#include "engine/eng_engine.h"
#include "engine/eng_log.h"

#if HAVE_XDP
#define HAVE_XDP_NOTE ""
#else
#define HAVE_XDP_NOTE "\n                          (not in this build: needs libxdp-dev, libbpf-dev, clang)"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: decnetd -c FILE.ini [-i IFACE] [options]\n"
		"\n"
		"The DECNET-C engine: puts every decky of FILE.ini on the network behind\n"
		"IFACE. Each decky answers ARP with its own MAC and ICMP echo with its own\n"
		"TTL; traffic for any other address is left alone (never forwarded).\n"
		"Runs in the foreground and logs to stderr; SIGINT/SIGTERM stop it.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE       DECNET INI fleet file (required)\n"
		"  -i, --interface IFACE   network interface (default: [general] interface=)\n"
		"  -b, --backend NAME      afpacket (default) | xdp | pcap\n"
		"                          xdp (or afxdp): an AF_XDP socket on queue 0 behind an\n"
		"                          XDP filter that takes only the deckies' frames from the\n"
		"                          kernel; one rx queue, copy mode on veth" HAVE_XDP_NOTE "\n"
		"      --xdp-mode MODE     xdp backend hook: native (driver), skb (generic), or\n"
		"                          auto: native, else skb (default)\n"
		"      --pcap-in FILE      pcap backend: capture to read frames from\n"
		"      --pcap-out FILE     pcap backend: capture to write answers to\n"
		"      --control PATH      control socket (admin PATH 0600, read-only PATH.ro)\n"
		"      --ring v2|v3        afpacket ring format: v2 per-frame wake-ups, lowest\n"
		"                          latency (default); v3 block batching, fewer wake-ups\n"
		"      --ring-mb N         afpacket rx ring size in MiB (default 8)\n"
		"      --tx copy|ring      afpacket transmit: sendmmsg copies each frame (default;\n"
		"                          small frames, veth) or a PACKET_TX_RING\n"
		"      --max-deckies N     decky table capacity (default 100000)\n"
		"      --stats-on-exit     print all counters as one JSON line on stdout at exit\n"
		"      --events FILE       append one JSON record per attacker touch (ECS field\n"
		"                          names) to FILE; '-' for stdout. Subscribers of the\n"
		"                          control socket's events.subscribe get the same records\n"
		"      --events-rate N     at most N records per second (default 20000 live, no limit\n"
		"                          for --backend pcap; 0 = no limit); the rest are counted\n"
		"                          as rate_limited\n"
		"      --nmap-os-db PATH   nmap's OS database: nmap_os= entries, and the entry each\n"
		"                          family stands for (default " DECNET_NMAP_OS_DB ",\n"
		"                          or $DECNET_NMAP_OS_DB)\n"
		"      --family-tables     family deckies (nmap_os = linux|windows|bsd|embedded|cisco)\n"
		"                          use the built-in family tables instead of their\n"
		"                          nmap-os-db entry (the fallback when nmap is not installed)\n"
		"  -q, --quiet             only warnings and errors on stderr\n"
		"  -v, --verbose           debug messages\n"
		"  -h, --help              this help\n"
		"  -V, --version           version and build features\n"
		"\n"
		"Exit status: 0 clean shutdown, 1 runtime error, 2 bad command line or config\n"
		"(the message names FILE:LINE).\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

enum { OPT_PCAP_IN = 256, OPT_PCAP_OUT, OPT_CONTROL, OPT_RING, OPT_RING_MB, OPT_TX, OPT_MAX, OPT_STATS, OPT_EVENTS, OPT_OSDB, OPT_EVRATE, OPT_FAMTAB, OPT_XDP_MODE };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, 0, 'c'},
		{"interface", required_argument, 0, 'i'},
		{"backend", required_argument, 0, 'b'},
		{"pcap-in", required_argument, 0, OPT_PCAP_IN},
		{"pcap-out", required_argument, 0, OPT_PCAP_OUT},
		{"control", required_argument, 0, OPT_CONTROL},
		{"ring", required_argument, 0, OPT_RING},
		{"ring-mb", required_argument, 0, OPT_RING_MB},
		{"tx", required_argument, 0, OPT_TX},
		{"max-deckies", required_argument, 0, OPT_MAX},
		{"stats-on-exit", no_argument, 0, OPT_STATS},
		{"events", required_argument, 0, OPT_EVENTS},
		{"nmap-os-db", required_argument, 0, OPT_OSDB},
		{"events-rate", required_argument, 0, OPT_EVRATE},
		{"family-tables", no_argument, 0, OPT_FAMTAB},
		{"xdp-mode", required_argument, 0, OPT_XDP_MODE},
		{"quiet", no_argument, 0, 'q'},
		{"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},
		{0, 0, 0, 0},
	};
	struct eng_options opt = {.backend = "afpacket"};
	bool events_rate_set = false;
	unsigned long v;
	int c;
	while ((c = getopt_long(argc, argv, "c:i:b:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.config_path = optarg; break;
		case 'i': opt.ifname = optarg; break;
		case 'b':
			opt.backend = strcmp(optarg, "afxdp") == 0 ? "xdp" : optarg;
			break;
		case OPT_XDP_MODE:
			if (strcmp(optarg, "auto") == 0) {
				opt.xdp_mode = ENG_XDP_AUTO;
			} else if (strcmp(optarg, "native") == 0) {
				opt.xdp_mode = ENG_XDP_NATIVE;
			} else if (strcmp(optarg, "skb") == 0) {
				opt.xdp_mode = ENG_XDP_SKB;
			} else {
				fprintf(stderr, "decnetd: --xdp-mode: expected native, skb or auto, got '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_PCAP_IN: opt.pcap_in = optarg; break;
		case OPT_PCAP_OUT: opt.pcap_out = optarg; break;
		case OPT_CONTROL: opt.control_path = optarg; break;
		case OPT_RING:
			if (strcmp(optarg, "v2") && strcmp(optarg, "v3")) {
				fprintf(stderr, "decnetd: --ring: expected v2 or v3, got '%s'\n", optarg);
				return 2;
			}
			opt.ring_v3 = strcmp(optarg, "v3") == 0;
			break;
		case OPT_TX:
			if (strcmp(optarg, "copy") && strcmp(optarg, "ring")) {
				fprintf(stderr, "decnetd: --tx: expected copy or ring, got '%s'\n", optarg);
				return 2;
			}
			opt.tx_ring = strcmp(optarg, "ring") == 0;
			break;
		case OPT_RING_MB:
			if (parse_uint(optarg, 1024, &v) || !v) {
				fprintf(stderr, "decnetd: --ring-mb: expected 1..1024, got '%s'\n", optarg);
				return 2;
			}
			opt.ring_mb = (unsigned)v;
			break;
		case OPT_MAX:
			if (parse_uint(optarg, 16u << 20, &v) || !v) {
				fprintf(stderr, "decnetd: --max-deckies: expected 1..16777216, got '%s'\n", optarg);
				return 2;
			}
			opt.max_deckies = (uint32_t)v;
			break;
		case OPT_STATS: opt.stats_on_exit = true; break;
		case OPT_EVENTS: opt.events_file = optarg; break;
		case OPT_OSDB: opt.nmap_os_db = optarg; break;
		case OPT_FAMTAB: opt.family_tables = true; break;
		case OPT_EVRATE:
			if (parse_uint(optarg, 100000000, &v)) {
				fprintf(stderr, "decnetd: --events-rate: expected a number, got '%s'\n", optarg);
				return 2;
			}
			opt.events_rate = (uint32_t)v;
			events_rate_set = true;
			break;
		case 'q': eng_log_set_level(ENG_LOG_WARN); break;
		case 'v': eng_log_set_level(ENG_LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("decnetd %s (backends: afpacket%s%s%s)\n", DECNET_VERSION,
			       HAVE_PCAP ? ", pcap" : "", HAVE_XDP ? ", xdp" : "",
			       HAVE_DPDK ? "; DPDK found" : "");
			return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "decnetd: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	/* Live traffic is rate-limited; a capture read offline is not. */
	if (!events_rate_set)
		opt.events_rate = strcmp(opt.backend, "pcap") == 0 ? 0 : 20000;
	if (!opt.config_path) {
		fprintf(stderr, "decnetd: -c FILE.ini is required (see --help)\n");
		return 2;
	}

	struct eng_engine e;
	char err[512];
	int rc = eng_engine_start(&e, &opt, err, sizeof(err));
	if (rc) {
		/* Config errors already carry FILE:LINE. */
		fprintf(stderr, "decnetd: %s\n", err);
		return rc == -EINVAL || rc == -E2BIG || rc == -ENOENT ? 2 : 1;
	}
	eng_log(ENG_LOG_INFO, "%u deckies on %s (%s backend)%s%s", e.live_deckies,
		e.opt.ifname ? e.opt.ifname : opt.pcap_in, e.io->ops->name,
		opt.control_path ? ", control " : "", opt.control_path ? opt.control_path : "");
	rc = eng_engine_run(&e);
	eng_engine_stop(&e);
	if (rc) {
		fprintf(stderr, "decnetd: event loop: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}
