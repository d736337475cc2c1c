/* ctr_plan: from a loaded fleet to classic mode's containers.
 *
 * One pass over the deckies, in file order: the base container (distro
 * image, hostname, IP, MAC, the family's sysctls, `sleep infinity`), then
 * one container per service sharing the base's network namespace. What a
 * container gets is decided here and nowhere else, so compose (--dry-run)
 * and the Docker Engine API client (deploy) cannot drift apart: both only
 * translate this plan.
 *
 * Ownership: every string and array in a plan is the plan's own copy
 * (ctr_plan_free frees them); nothing points into the fleet_config, so the
 * config may be freed first.
 */
#include "containers/ctr_plan.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decnet_config.h" /* DECNET_VERSION */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define KV(k, v) {(char *)(k), (char *)(v)}

/* ---- the spec's "OS Fingerprint Spoofing" table, as data -------------- */

/* | Family | TTL | tcp_syn_retries | Notes | — DECNET README v1/v2.
 * Windows' "+ 8 MB recv buffer" is the maximum of net.ipv4.tcp_rmem:
 * net.core.rmem_max/rmem_default exist only in the host's network
 * namespace, so runc could not set them in a container (the container
 * would not start); tcp_rmem is per namespace (Linux >= 4.15). Its first
 * two fields are the kernel's defaults, only the maximum changes. */
#define TTL "net.ipv4.ip_default_ttl"
#define SYN "net.ipv4.tcp_syn_retries"
#define RMEM "net.ipv4.tcp_rmem"

static const struct ctr_kv sysctls_linux[] = {KV(TTL, "64"), KV(SYN, "6")};
static const struct ctr_kv sysctls_windows[] = {KV(TTL, "128"), KV(SYN, "2"),
						KV(RMEM, "4096 131072 8388608")};
static const struct ctr_kv sysctls_bsd[] = {KV(TTL, "64"), KV(SYN, "6")};
static const struct ctr_kv sysctls_embedded[] = {KV(TTL, "255"), KV(SYN, "3")};
static const struct ctr_kv sysctls_cisco[] = {KV(TTL, "255"), KV(SYN, "2")};

static const struct {
	const struct ctr_kv *rows;
	size_t n;
} family_sysctls[FP_FAMILY_COUNT] = {
	[FP_FAMILY_LINUX] = {sysctls_linux, COUNT(sysctls_linux)},
	[FP_FAMILY_WINDOWS] = {sysctls_windows, COUNT(sysctls_windows)},
	[FP_FAMILY_BSD] = {sysctls_bsd, COUNT(sysctls_bsd)},
	[FP_FAMILY_EMBEDDED] = {sysctls_embedded, COUNT(sysctls_embedded)},
	[FP_FAMILY_CISCO] = {sysctls_cisco, COUNT(sysctls_cisco)},
};

const struct ctr_kv *ctr_family_sysctls(enum fp_family family, size_t *count)
{
	if ((unsigned)family >= FP_FAMILY_COUNT)
		family = FP_FAMILY_LINUX; /* the spec's default family */
	*count = family_sysctls[family].n;
	return family_sysctls[family].rows;
}

/* ---- small owned-memory helpers ---------------------------------------- */

struct builder {
	const struct fleet_config *cfg;
	struct ctr_plan *plan;
	char *err;
	size_t errlen;
	bool ipvlan;
	const struct fleet_distro *force_distro;
	const char *log_target;    /* "ip:port", checked, or NULL */
	char *log_host_dir;        /* owned: directory of the log file on the host */
	char *log_container_path;  /* owned: the same file as the containers see it */
};

static int fail(struct builder *b, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct builder *b, int code, const char *fmt, ...)
{
	if (b->err && b->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(b->err, b->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* strdup that reports failure through *r (so a run of copies checks once). */
static char *dup_str(const char *s, int *r)
{
	char *p = strdup(s);
	if (!p)
		*r = -ENOMEM;
	return p;
}

static int kv_push(struct ctr_kv **v, size_t *n, const char *key, const char *value)
{
	struct ctr_kv *grown = realloc(*v, (*n + 1) * sizeof(**v));
	if (!grown)
		return -ENOMEM;
	*v = grown;
	char *k = strdup(key), *val = strdup(value);
	if (!k || !val) {
		free(k);
		free(val);
		return -ENOMEM;
	}
	grown[*n].key = k;
	grown[*n].value = val;
	(*n)++;
	return 0;
}

static void kv_free(struct ctr_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static void argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static int argv_push(char ***argv, size_t *n, const char *word)
{
	char **grown = realloc(*argv, (*n + 2) * sizeof(**argv));
	if (!grown)
		return -ENOMEM;
	*argv = grown;
	if (!(grown[*n] = strdup(word)))
		return -ENOMEM;
	grown[++*n] = NULL;
	return 0;
}

/* Split a BYOS exec= line into argv as a POSIX shell splits words, with
 * no expansion: blanks separate words, '...' is literal, inside "..." a
 * backslash escapes only " \ $ `, outside quotes it escapes any byte.
 * *argv is NULL when the line has no words. -EINVAL on an open quote or
 * a trailing backslash. */
static int split_words(const char *s, char ***argv)
{
	size_t n = 0, len = 0;
	char *word = malloc(strlen(s) + 1);
	char quote = 0;
	bool in_word = false;
	int r = 0;
	*argv = NULL;
	if (!word)
		return -ENOMEM;
	for (const char *p = s;; p++) {
		char ch = *p;
		if (!ch || (!quote && (ch == ' ' || ch == '\t'))) {
			if (!ch && quote) {
				r = -EINVAL;
				break;
			}
			if (in_word) {
				word[len] = '\0';
				if ((r = argv_push(argv, &n, word)) < 0)
					break;
				len = 0;
				in_word = false;
			}
			if (!ch)
				break;
			continue;
		}
		in_word = true;
		if (quote == '\'') {
			if (ch == '\'')
				quote = 0;
			else
				word[len++] = ch;
		} else if (ch == '\\') {
			char next = p[1];
			bool escapes = !quote || next == '"' || next == '\\' || next == '$' ||
				       next == '`';
			if (!next) {
				r = -EINVAL;
				break;
			}
			if (escapes)
				p++;
			word[len++] = *p;
		} else if (ch == '"') {
			quote = quote ? 0 : '"';
		} else if (ch == '\'' && !quote) {
			quote = '\'';
		} else {
			word[len++] = ch;
		}
	}
	free(word);
	if (r < 0) {
		argv_free(*argv);
		*argv = NULL;
	}
	return r;
}

static void ip_str(uint32_t ip, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
		 ip & 0xff);
}

/* ---- options ----------------------------------------------------------- */

/* "ip:port" with a dotted IPv4 and a port in 1..65535, as [general]
 * log_target= accepts it; the CLI's --log-target is held to the same. */
static bool log_target_valid(const char *t)
{
	const char *colon = strrchr(t, ':');
	char ip[16];
	uint32_t addr;
	if (!colon || (size_t)(colon - t) >= sizeof(ip))
		return false;
	memcpy(ip, t, (size_t)(colon - t));
	ip[colon - t] = '\0';
	if (fleet_parse_ipv4(ip, &addr) < 0 || strchr(ip, '/'))
		return false;
	unsigned long port = 0;
	const char *p = colon + 1;
	if (!*p || strlen(p) > 5)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return port >= 1 && port <= 65535;
}

/* The host directory holding the log file is mounted at CTR_LOG_DIR in
 * every service container (DECNET's "the log directory is bind-mounted
 * into every service container"); LOG_FILE is the file's path there. */
static int resolve_log_file(struct builder *b, const char *path)
{
	char cwd[PATH_MAX], *abs;
	if (path[0] == '/') {
		abs = strdup(path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return fail(b, -errno, "log_file '%s': cannot resolve the working directory",
				    path);
		if (asprintf(&abs, "%s/%s", cwd, path) < 0)
			abs = NULL;
	}
	if (!abs)
		return -ENOMEM;
	char *slash = strrchr(abs, '/');
	const char *base = slash + 1;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		free(abs);
		return fail(b, -EINVAL, "log_file '%s' names a directory, not a file", path);
	}
	int r = 0;
	if (asprintf(&b->log_container_path, "%s/%s", CTR_LOG_DIR, base) < 0) {
		b->log_container_path = NULL;
		r = -ENOMEM;
	}
	*slash = '\0';
	b->log_host_dir = dup_str(slash == abs ? "/" : abs, &r);
	free(abs);
	return r;
}

static int resolve_opts(struct builder *b, const struct ctr_plan_opts *opts)
{
	b->ipvlan = opts->ipvlan;
	if (opts->distro && !(b->force_distro = fleet_distro_find(opts->distro)))
		return fail(b, -EINVAL, "unknown distro '%s'", opts->distro);
	b->log_target = opts->log_target ? opts->log_target : b->cfg->log_target;
	if (b->log_target && !log_target_valid(b->log_target))
		return fail(b, -EINVAL, "bad log target '%s' (want ip:port)", b->log_target);
	const char *log_file = opts->log_file ? opts->log_file : b->cfg->log_file;
	if (log_file && !*log_file)
		return fail(b, -EINVAL, "empty log_file");
	return log_file ? resolve_log_file(b, log_file) : 0;
}

/* ---- network and containers -------------------------------------------- */

static int common_labels(struct ctr_kv **v, size_t *n, const char *role)
{
	int r;
	if ((r = kv_push(v, n, CTR_LABEL_PREFIX "managed", "true")) < 0 ||
	    (r = kv_push(v, n, CTR_LABEL_PREFIX "role", role)) < 0 ||
	    (r = kv_push(v, n, CTR_LABEL_PREFIX "version", DECNET_VERSION)) < 0)
		return r;
	return 0;
}

static int build_network(struct builder *b, const struct ctr_plan_opts *opts)
{
	struct ctr_network *net = &b->plan->net;
	const char *parent = opts->interface && *opts->interface ? opts->interface
								   : b->cfg->interface;
	char addr[16];
	int r = 0;

	net->name = dup_str(CTR_NETWORK_NAME, &r);
	net->driver = dup_str(b->ipvlan ? "ipvlan" : "macvlan", &r);
	net->ipvlan_l2 = b->ipvlan;
	net->hairpin = dup_str(b->ipvlan ? CTR_HAIRPIN_IPVLAN : CTR_HAIRPIN_MACVLAN, &r);
	if (parent && *parent)
		net->parent = dup_str(parent, &r);
	ip_str(b->cfg->net, addr);
	if (asprintf(&net->subnet, "%s/%u", addr, b->cfg->prefix) < 0) {
		net->subnet = NULL;
		r = -ENOMEM;
	}
	ip_str(b->cfg->gw, addr);
	net->gateway = dup_str(addr, &r);
	if (r < 0)
		return r;
	return common_labels(&net->labels, &net->n_labels, "network");
}

static int build_base(struct builder *b, const struct fleet_decky *d, struct ctr_container *c)
{
	size_t n_argv = 0, n_sysctls;
	const struct fleet_distro *distro = b->force_distro ? b->force_distro : d->distro;
	const struct ctr_kv *sysctls = ctr_family_sysctls(d->family, &n_sysctls);
	const struct fp_family_info *fam = fp_family_info(d->family);
	char ip[16], mac[18];
	int r = 0;

	if (!distro) { /* the loader always sets one; stay total anyway */
		size_t n;
		distro = &fleet_distros(&n)[0];
	}
	ip_str(d->ip, ip);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", d->mac[0], d->mac[1],
		 d->mac[2], d->mac[3], d->mac[4], d->mac[5]);
	c->is_base = true;
	c->name = dup_str(d->name, &r);
	c->decky = c->name;
	c->image = dup_str(distro->image, &r);
	c->hostname = dup_str(d->hostname, &r);
	c->ipv4 = dup_str(ip, &r);
	if (!b->ipvlan) /* ipvlan children share the parent's MAC */
		c->mac = dup_str(mac, &r);
	c->restart = dup_str("unless-stopped", &r);
	if (r < 0 || (r = argv_push(&c->command, &n_argv, "sleep")) < 0 ||
	    (r = argv_push(&c->command, &n_argv, "infinity")) < 0)
		return r;
	for (size_t i = 0; i < n_sysctls; i++)
		if ((r = kv_push(&c->sysctls, &c->n_sysctls, sysctls[i].key,
				 sysctls[i].value)) < 0)
			return r;
	if ((r = common_labels(&c->labels, &c->n_labels, "base")) < 0 ||
	    (r = kv_push(&c->labels, &c->n_labels, CTR_LABEL_PREFIX "decky", d->name)) < 0 ||
	    (r = kv_push(&c->labels, &c->n_labels, CTR_LABEL_PREFIX "nmap_os",
			 fam ? fam->name : "linux")) < 0)
		return r;
	return 0;
}

static const struct fleet_custom *find_custom(const struct fleet_config *cfg,
					      const struct fleet_service *svc)
{
	for (size_t i = 0; i < cfg->n_customs; i++)
		if (&cfg->customs[i].svc == svc)
			return &cfg->customs[i];
	return NULL;
}

/* Persona key "ssh_version" -> env "SSH_VERSION". */
static void env_name(const char *key, char *buf, size_t len)
{
	size_t i = 0;
	for (; key[i] && i + 1 < len; i++) {
		char ch = key[i];
		buf[i] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A')
			 : ch == '-' || ch == '.' ? '_'
						  : ch;
	}
	buf[i] = '\0';
}

static int service_env(struct builder *b, const struct fleet_decky *d,
		       const struct fleet_service_inst *inst, struct ctr_container *c)
{
	char name[FLEET_NAME_MAX * 2];
	int r;
	/* NODE_NAME: the spec's "always set to the decky name". HOSTNAME: a
	 * container sharing another's network namespace cannot have its own
	 * hostname (Docker refuses), so services that show one read it here. */
	if ((r = kv_push(&c->env, &c->n_env, "NODE_NAME", d->name)) < 0 ||
	    (r = kv_push(&c->env, &c->n_env, "HOSTNAME", d->hostname)) < 0)
		return r;
	for (size_t i = 0; i < inst->n_persona; i++) {
		env_name(inst->persona[i].key, name, sizeof(name));
		if ((r = kv_push(&c->env, &c->n_env, name, inst->persona[i].value)) < 0)
			return r;
	}
	if (b->log_target && (r = kv_push(&c->env, &c->n_env, "LOG_TARGET", b->log_target)) < 0)
		return r;
	if (b->log_container_path &&
	    (r = kv_push(&c->env, &c->n_env, "LOG_FILE", b->log_container_path)) < 0)
		return r;
	return 0;
}

/* With a log target, Docker itself forwards the container's output as
 * RFC 5424 syslog over UDP, tagged with the container's name: the service
 * image needs no network path to the collector for that. */
static int service_logging(struct builder *b, struct ctr_container *c)
{
	char addr[64];
	int r = 0;
	if (!b->log_target)
		return 0;
	snprintf(addr, sizeof(addr), "udp://%s", b->log_target);
	c->log_target = dup_str(b->log_target, &r);
	c->log_driver = dup_str("syslog", &r);
	if (r < 0 || (r = kv_push(&c->log_opts, &c->n_log_opts, "syslog-address", addr)) < 0 ||
	    (r = kv_push(&c->log_opts, &c->n_log_opts, "syslog-format", "rfc5424")) < 0 ||
	    (r = kv_push(&c->log_opts, &c->n_log_opts, "tag", c->name)) < 0)
		return r;
	return 0;
}

static int build_service(struct builder *b, const struct fleet_decky *d,
			 const struct fleet_service_inst *inst, const struct ctr_container *base,
			 struct ctr_container *c)
{
	const struct fleet_service *svc = inst->svc;
	const struct fleet_custom *custom = find_custom(b->cfg, svc);
	const char *image = custom ? custom->image : svc->default_image;
	int r = 0;

	if (!image || !*image)
		return fail(b, -EINVAL, "service '%s' of decky '%s' has no image", svc->slug,
			    d->name);
	if (asprintf(&c->name, "%s-%s", d->name, svc->slug) < 0) {
		c->name = NULL;
		return -ENOMEM;
	}
	c->decky = base->name;
	c->service = dup_str(svc->slug, &r);
	c->image = dup_str(image, &r);
	c->network_of = dup_str(base->name, &r);
	c->restart = dup_str("unless-stopped", &r);
	if (r < 0)
		return r;
	if (custom && custom->exec && (r = split_words(custom->exec, &c->command)) < 0)
		return r == -EINVAL ? fail(b, r, "custom service '%s': exec= has an open quote "
					   "or a trailing backslash", custom->name)
				    : r;
	if ((r = service_env(b, d, inst, c)) < 0 || (r = service_logging(b, c)) < 0)
		return r;
	if (b->log_host_dir &&
	    (r = kv_push(&c->binds, &c->n_binds, b->log_host_dir, CTR_LOG_DIR)) < 0)
		return r;
	if ((r = common_labels(&c->labels, &c->n_labels, "service")) < 0 ||
	    (r = kv_push(&c->labels, &c->n_labels, CTR_LABEL_PREFIX "decky", d->name)) < 0 ||
	    (r = kv_push(&c->labels, &c->n_labels, CTR_LABEL_PREFIX "service", svc->slug)) < 0)
		return r;
	return 0;
}

static int build_containers(struct builder *b)
{
	const struct fleet_config *cfg = b->cfg;
	struct ctr_plan *plan = b->plan;
	size_t total = cfg->n_deckies;
	int r;

	for (size_t i = 0; i < cfg->n_deckies; i++)
		total += cfg->deckies[i].n_services;
	if (!total)
		return 0;
	if (!(plan->containers = calloc(total, sizeof(*plan->containers))))
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_deckies; i++) {
		const struct fleet_decky *d = &cfg->deckies[i];
		struct ctr_container *base = &plan->containers[plan->n_containers++];
		if ((r = build_base(b, d, base)) < 0)
			return r;
		for (unsigned s = 0; s < d->n_services; s++) {
			struct ctr_container *c = &plan->containers[plan->n_containers++];
			if ((r = build_service(b, d, &d->services[s], base, c)) < 0)
				return r;
		}
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "web" running ssh and a decky called "web-ssh" would both want the
 * name web-ssh; Docker refuses the second, so the plan refuses first. */
static int check_unique_names(struct builder *b)
{
	const struct ctr_plan *plan = b->plan;
	const char **names;
	int r = 0;
	if (plan->n_containers < 2)
		return 0;
	if (!(names = malloc(plan->n_containers * sizeof(*names))))
		return -ENOMEM;
	for (size_t i = 0; i < plan->n_containers; i++)
		names[i] = plan->containers[i].name;
	qsort(names, plan->n_containers, sizeof(*names), name_cmp);
	for (size_t i = 1; i < plan->n_containers; i++) {
		if (strcmp(names[i - 1], names[i]) == 0) {
			r = fail(b, -EINVAL, "two containers would be named '%s' (a decky "
				 "named like another decky's DECKY-SERVICE?)", names[i]);
			break;
		}
	}
	free(names);
	return r;
}

int ctr_plan_build(const struct fleet_config *cfg, const struct ctr_plan_opts *opts,
		   struct ctr_plan *out, char *err, size_t errlen)
{
	static const struct ctr_plan_opts defaults;
	struct ctr_plan plan = {0};
	struct builder b = {.cfg = cfg, .plan = &plan, .err = err, .errlen = errlen};
	int r;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!opts)
		opts = &defaults;
	if ((r = resolve_opts(&b, opts)) < 0 || (r = build_network(&b, opts)) < 0 ||
	    (r = build_containers(&b)) < 0 || (r = check_unique_names(&b)) < 0)
		goto err_plan;
	free(b.log_host_dir);
	free(b.log_container_path);
	*out = plan;
	return 0;

err_plan:
	if (r == -ENOMEM && err && errlen && !err[0])
		snprintf(err, errlen, "out of memory building the container plan");
	free(b.log_host_dir);
	free(b.log_container_path);
	ctr_plan_free(&plan);
	return r;
}

static void container_free(struct ctr_container *c)
{
	free(c->name);
	free(c->image);
	free(c->hostname);
	free(c->ipv4);
	free(c->mac);
	free(c->network_of);
	argv_free(c->command);
	kv_free(c->env, c->n_env);
	kv_free(c->sysctls, c->n_sysctls);
	kv_free(c->labels, c->n_labels);
	free(c->restart);
	free(c->log_target);
	free(c->service);
	free(c->log_driver);
	kv_free(c->log_opts, c->n_log_opts);
	kv_free(c->binds, c->n_binds);
}

void ctr_plan_free(struct ctr_plan *plan)
{
	struct ctr_network *net = &plan->net;
	free(net->name);
	free(net->driver);
	free(net->parent);
	free(net->subnet);
	free(net->gateway);
	free(net->hairpin);
	kv_free(net->labels, net->n_labels);
	/* A failed build leaves a partly filled last slot; calloc made the
	 * rest NULL, so freeing every counted slot is safe. */
	for (size_t i = 0; i < plan->n_containers; i++)
		container_free(&plan->containers[i]);
	free(plan->containers);
	memset(plan, 0, sizeof(*plan));
}

const struct ctr_container *ctr_plan_find(const struct ctr_plan *plan, const char *name)
{
	for (size_t i = 0; name && i < plan->n_containers; i++)
		if (strcmp(plan->containers[i].name, name) == 0)
			return &plan->containers[i];
	return NULL;
}
