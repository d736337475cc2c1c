/* impair: a two-port Ethernet bridge that loses, reorders and delays
 * frames, for labs on kernels without sch_netem.
 *
 * It sits in a namespace of its own between two veths (tests/lab/lab.sh,
 * LAB_IMPAIR=...) and copies every frame received on one port to the
 * other through AF_PACKET sockets, applying per direction:
 *
 *   loss=P      drop a frame with probability P percent (at arrival)
 *   reorder=P   hold a frame back with probability P percent and send it
 *               right after the next frame of that direction (or after
 *               hold_ms when no next frame comes: a held frame is never
 *               lost)
 *   delay=MS    send every frame MS milliseconds after it arrived (a FIFO
 *               per direction, bounded: --queue frames; overflow counted)
 *
 * The PRNG is seeded (--seed), one stream per direction, so a run is
 * reproducible for a given arrival order. Our own transmissions are not
 * read back (PACKET_IGNORE_OUTGOING, and sll_pkttype is checked as well,
 * for kernels older than 4.20). On SIGTERM/SIGINT it prints its counters
 * per direction and exits 0; SIGUSR1 prints them and carries on.
 *
 * Bridge semantics only: no learning, no STP, every frame crosses. It is
 * a test tool: it runs only in namespaces a test made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define IMP_SLOT 2048u      /* largest frame bridged (MTU 1500 + headers fits) */
#define IMP_BURST 64u       /* frames read per wake-up per port */

struct imp_params {
	double loss, reorder;   /* probabilities, 0..1 */
	uint32_t delay_ms;
};

struct imp_counters {
	uint64_t rx, passed, lost, reordered, delayed, drop_queue_full, drop_oversize, tx_errors;
};

struct imp_frame {
	uint64_t due_ns;
	uint16_t len;
	uint8_t data[IMP_SLOT];
};

/* One direction: frames read on in_fd leave on out_fd. */
struct imp_dir {
	const char *name;
	int in_fd, out_fd;
	struct imp_params p;
	uint64_t rng;
	struct imp_frame *q;    /* FIFO ring of queue_cap frames (fixed delay keeps order) */
	uint32_t queue_cap, head, count;
	struct imp_frame held;  /* the frame held back for reordering */
	bool has_held;
	uint64_t held_until_ns;
	struct imp_counters c;
};

struct imp_opts {
	const char *if_a, *if_b;
	struct imp_params ab, ba;
	uint64_t seed;
	uint32_t queue_cap;
	uint32_t hold_ms;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rand01(struct imp_dir *d)
{
	return (double)(splitmix64(&d->rng) >> 11) * (1.0 / 9007199254740992.0);
}

static void usage(FILE *o)
{
	fprintf(o,
		"usage: impair [options] IFACE_A IFACE_B\n"
		"Bridge IFACE_A <-> IFACE_B (AF_PACKET, promiscuous), impairing each direction.\n"
		"  --ab SPEC       impairment for frames A -> B\n"
		"  --ba SPEC       impairment for frames B -> A\n"
		"  --both SPEC     the same SPEC both ways\n"
		"     SPEC: comma/space separated loss=PCT reorder=PCT delay=MS (e.g. \"loss=5 reorder=1 delay=30\")\n"
		"  --seed N        PRNG seed (default 1)\n"
		"  --queue N       delay queue per direction, frames (default 4096; overflow is counted)\n"
		"  --hold MS       longest a reordered frame waits for a successor (default 50)\n"
		"  -h, --help      this text\n"
		"Prints \"impair: ready\" once both ports are open; on SIGTERM/SIGINT (SIGUSR1: without\n"
		"exiting) one line of counters per direction: rx passed lost reordered delayed\n"
		"drop_queue_full drop_oversize tx_errors.\n");
}

static int parse_pct(const char *v, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || end == v || *end || x < 0 || x > 100)
		return -EINVAL;
	*out = x / 100.0;
	return 0;
}

static int parse_u32(const char *v, uint32_t max, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (errno || end == v || *end || x > max)
		return -EINVAL;
	*out = (uint32_t)x;
	return 0;
}

/* One "key=value" of a SPEC. */
static int parse_kv(const char *tok, size_t n, struct imp_params *p)
{
	char kv[64];
	if (n >= sizeof(kv))
		return -EINVAL;
	memcpy(kv, tok, n);
	kv[n] = 0;
	char *eq = strchr(kv, '=');
	if (!eq)
		return -EINVAL;
	*eq = 0;
	const char *v = eq + 1;
	if (!strcmp(kv, "loss"))
		return parse_pct(v, &p->loss);
	if (!strcmp(kv, "reorder"))
		return parse_pct(v, &p->reorder);
	if (!strcmp(kv, "delay"))
		return parse_u32(v, 60000, &p->delay_ms);
	return -EINVAL;
}

static int parse_spec(const char *spec, struct imp_params *p)
{
	const char *sep = ", \t";
	for (const char *s = spec; *s;) {
		size_t n = strcspn(s, sep);
		if (n) {
			int rc = parse_kv(s, n, p);
			if (rc)
				return rc;
		}
		s += n;
		s += strspn(s, sep);
	}
	return 0;
}

/* 0, 1 (--help shown), or -EINVAL (message printed). */
static int parse_args(int argc, char **argv, struct imp_opts *o)
{
	static const struct option lo[] = {
		{"ab", required_argument, NULL, 'A'},   {"ba", required_argument, NULL, 'B'},
		{"both", required_argument, NULL, 'X'}, {"seed", required_argument, NULL, 's'},
		{"queue", required_argument, NULL, 'q'}, {"hold", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->queue_cap = 4096;
	o->hold_ms = 50;
	int c, rc = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'A':
			rc = parse_spec(optarg, &o->ab);
			break;
		case 'B':
			rc = parse_spec(optarg, &o->ba);
			break;
		case 'X':
			rc = parse_spec(optarg, &o->ab);
			if (!rc)
				rc = parse_spec(optarg, &o->ba);
			break;
		case 's': {
			char *end;
			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			rc = errno || end == optarg || *end ? -EINVAL : 0;
			break;
		}
		case 'q':
			rc = parse_u32(optarg, 1u << 20, &o->queue_cap);
			if (!rc && !o->queue_cap)
				rc = -EINVAL;
			break;
		case 'H':
			rc = parse_u32(optarg, 60000, &o->hold_ms);
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (rc) {
			fprintf(stderr, "impair: bad value '%s'\n", optarg);
			return rc;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return -EINVAL;
	}
	o->if_a = argv[optind];
	o->if_b = argv[optind + 1];
	return 0;
}

/* A raw socket bound to ifname, promiscuous, blind to its own frames. */
static int port_open(const char *ifname)
{
	unsigned idx = if_nametoindex(ifname);
	if (!idx) {
		fprintf(stderr, "impair: no interface %s\n", ifname);
		return -ENODEV;
	}
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		int e = errno;
		perror("impair: socket(AF_PACKET)");
		return -e;
	}
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)idx};
	struct packet_mreq mr = {.mr_ifindex = (int)idx, .mr_type = PACKET_MR_PROMISC};
	int one = 1, buf = 4 << 20;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
		int e = errno;
		fprintf(stderr, "impair: %s: %s\n", ifname, strerror(e));
		close(fd);
		return -e;
	}
	/* Best effort: the pkttype check below covers kernels without it. */
	(void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return fd;
}

static void tx(struct imp_dir *d, const uint8_t *data, unsigned len)
{
	if (send(d->out_fd, data, len, 0) == (ssize_t)len)
		d->c.passed++;
	else
		d->c.tx_errors++;
}

/* A frame whose delay is over: maybe held back, otherwise sent, and then
 * the frame held before it follows (that is the reordering). */
static void release(struct imp_dir *d, const uint8_t *data, unsigned len, uint64_t now, uint32_t hold_ms)
{
	if (!d->has_held && d->p.reorder > 0 && rand01(d) < d->p.reorder) {
		memcpy(d->held.data, data, len);
		d->held.len = (uint16_t)len;
		d->has_held = true;
		d->held_until_ns = now + (uint64_t)hold_ms * 1000000ull;
		d->c.reordered++;
		return;
	}
	tx(d, data, len);
	if (d->has_held) {
		tx(d, d->held.data, d->held.len);
		d->has_held = false;
	}
}

static void arrive(struct imp_dir *d, const uint8_t *data, unsigned len, uint64_t now, uint32_t hold_ms)
{
	d->c.rx++;
	if (len > IMP_SLOT) {
		d->c.drop_oversize++;
		return;
	}
	if (d->p.loss > 0 && rand01(d) < d->p.loss) {
		d->c.lost++;
		return;
	}
	if (!d->p.delay_ms) {
		release(d, data, len, now, hold_ms);
		return;
	}
	if (d->count == d->queue_cap) {
		d->c.drop_queue_full++;
		return;
	}
	struct imp_frame *fr = &d->q[(d->head + d->count) % d->queue_cap];
	fr->due_ns = now + (uint64_t)d->p.delay_ms * 1000000ull;
	fr->len = (uint16_t)len;
	memcpy(fr->data, data, len);
	d->count++;
	d->c.delayed++;
}

/* Send what is due; returns the next deadline (UINT64_MAX: none). */
static uint64_t run_due(struct imp_dir *d, uint64_t now, uint32_t hold_ms)
{
	while (d->count && d->q[d->head].due_ns <= now) {
		struct imp_frame *fr = &d->q[d->head];
		release(d, fr->data, fr->len, now, hold_ms);
		d->head = (d->head + 1) % d->queue_cap;
		d->count--;
	}
	if (d->has_held && d->held_until_ns <= now) {
		tx(d, d->held.data, d->held.len);
		d->has_held = false;
	}
	uint64_t next = UINT64_MAX;
	if (d->count)
		next = d->q[d->head].due_ns;
	if (d->has_held && d->held_until_ns < next)
		next = d->held_until_ns;
	return next;
}

static void read_port(struct imp_dir *d, uint8_t *buf, uint32_t hold_ms)
{
	for (unsigned i = 0; i < IMP_BURST; i++) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		/* MSG_TRUNC: the real length, so oversize frames are counted. */
		ssize_t n = recvfrom(d->in_fd, buf, IMP_SLOT, MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		arrive(d, buf, (unsigned)n, now_ns(), hold_ms);
	}
}

static void print_counters(const struct imp_dir *dirs)
{
	for (int i = 0; i < 2; i++) {
		const struct imp_counters *c = &dirs[i].c;
		printf("impair %s: rx %" PRIu64 " passed %" PRIu64 " lost %" PRIu64 " reordered %" PRIu64
		       " delayed %" PRIu64 " drop_queue_full %" PRIu64 " drop_oversize %" PRIu64
		       " tx_errors %" PRIu64 "\n",
		       dirs[i].name, c->rx, c->passed, c->lost, c->reordered, c->delayed, c->drop_queue_full,
		       c->drop_oversize, c->tx_errors);
	}
	fflush(stdout);
}

static int run(const struct imp_opts *o, struct imp_dir *dirs, int sfd)
{
	uint8_t *buf = malloc(IMP_SLOT);
	if (!buf)
		return -ENOMEM;
	struct pollfd pfd[3] = {{.fd = dirs[0].in_fd, .events = POLLIN},
				{.fd = dirs[1].in_fd, .events = POLLIN},
				{.fd = sfd, .events = POLLIN}};
	printf("impair: ready\n");
	fflush(stdout);
	for (;;) {
		uint64_t now = now_ns();
		uint64_t next = UINT64_MAX;
		for (int i = 0; i < 2; i++) {
			uint64_t n = run_due(&dirs[i], now, o->hold_ms);
			if (n < next)
				next = n;
		}
		struct timespec ts, *tsp = NULL;
		if (next != UINT64_MAX) {
			uint64_t wait = next > now ? next - now : 0;
			ts.tv_sec = (time_t)(wait / 1000000000ull);
			ts.tv_nsec = (long)(wait % 1000000000ull);
			tsp = &ts;
		}
		int n = ppoll(pfd, 3, tsp, NULL);
		if (n < 0 && errno != EINTR) {
			perror("impair: ppoll");
			free(buf);
			return -errno;
		}
		if (n <= 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (pfd[i].revents & POLLIN)
				read_port(&dirs[i], buf, o->hold_ms);
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
				continue;
			print_counters(dirs);
			if (si.ssi_signo != SIGUSR1)
				break;
		}
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct imp_opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc > 0 ? 0 : 2;
	int fa = port_open(o.if_a);
	if (fa < 0)
		return 1;
	int fb = port_open(o.if_b);
	if (fb < 0) {
		close(fa);
		return 1;
	}
	struct imp_dir dirs[2] = {
		{.name = "a->b", .in_fd = fa, .out_fd = fb, .p = o.ab, .queue_cap = o.queue_cap},
		{.name = "b->a", .in_fd = fb, .out_fd = fa, .p = o.ba, .queue_cap = o.queue_cap},
	};
	uint64_t s = o.seed;
	dirs[0].rng = splitmix64(&s);
	dirs[1].rng = splitmix64(&s);
	int ret = 1;
	dirs[0].q = calloc(o.queue_cap, sizeof(struct imp_frame));
	dirs[1].q = calloc(o.queue_cap, sizeof(struct imp_frame));
	if (!dirs[0].q || !dirs[1].q) {
		fprintf(stderr, "impair: out of memory for %u-frame queues\n", o.queue_cap);
		goto out;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	int sfd = -1;
	if (sigprocmask(SIG_BLOCK, &mask, NULL) || (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		perror("impair: signalfd");
		goto out;
	}
	ret = run(&o, dirs, sfd) ? 1 : 0;
	close(sfd);
out:
	free(dirs[0].q);
	free(dirs[1].q);
	close(fa);
	close(fb);
	return ret;
}
