/* The fleet loader: INI text in, a whole validated struct fleet_config
 * out, or one error naming FILE:LINE and nothing to free.
 *
 * Sections may come in any order (a [custom-x] may follow the decky that
 * uses it, [web.http] may precede [web]), so loading runs in passes:
 *   1. tokenize every section and pair into the store (duplicate sections
 *      and keys are caught here);
 *   2. [general], then [custom-NAME] services;
 *   3. decky sections in file order, each expanded by amount=;
 *   4. IPs for deckies without ip=, then MACs without mac=, both in file
 *      order so the result is the same every time the file is loaded;
 *   5. [decky.service] persona subsections, validated and attached to
 *      every decky of their group.
 * Duplicate names, IPs and MACs go through hash sets (fleet_store.c), so a
 * 100 000-decky fleet loads in linear time.
 */
#include "fleet/fleet_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTION_KEYS_MAX 64
#define CUSTOM_PREFIX "custom-"

enum section_kind { SEC_GENERAL, SEC_CUSTOM, SEC_PERSONA, SEC_DECKY };

struct raw_section {
	const char *name; /* in the store's arena */
	unsigned line;
	enum section_kind kind;
	size_t kv_first, n_kv;
};

/* A decky section after expansion: deckies[first .. first + count). */
struct group {
	size_t first, count;
};

struct loader {
	struct fleet_error *err;
	struct fleet_config cfg; /* under construction; owns what it points to */
	struct raw_section *secs;
	size_t n_secs, cap_secs;
	struct fleet_strmap sec_names; /* section name -> index in secs */
	struct group *groups;          /* per section; only deckies' used */
	struct fleet_uniq uniq;
	bool uniq_ready;
};

static const char *const no_keys[] = {NULL};

static int oom(struct loader *l)
{
	fleet_err_set(l->err, 0, "out of memory");
	return -ENOMEM;
}

static enum section_kind classify(const char *name)
{
	if (strcmp(name, "general") == 0)
		return SEC_GENERAL;
	if (strncmp(name, CUSTOM_PREFIX, strlen(CUSTOM_PREFIX)) == 0)
		return SEC_CUSTOM;
	return strchr(name, '.') ? SEC_PERSONA : SEC_DECKY;
}

static struct fleet_kv *sec_kv(struct loader *l, const struct raw_section *s)
{
	return l->cfg.store->kv + s->kv_first;
}

/* ---- pass 1: tokenize ------------------------------------------------- */

static int add_section(struct loader *l, const struct fleet_ini_token *t)
{
	static const char *const dup_fmt[] = {
		[SEC_GENERAL] = "duplicate [%s] section",
		[SEC_CUSTOM] = "duplicate section [%s]: a custom service is defined once",
		[SEC_PERSONA] = "duplicate section [%s]",
		[SEC_DECKY] = "duplicate decky name '%s'",
	};
	char *name = fleet_store_strndup(l->cfg.store, t->name, t->name_len);
	if (!name)
		return oom(l);
	if (l->n_secs == l->cap_secs) {
		size_t cap = l->cap_secs ? l->cap_secs * 2 : 16;
		struct raw_section *s = realloc(l->secs, cap * sizeof(*s));
		if (!s)
			return oom(l);
		l->secs = s;
		l->cap_secs = cap;
	}
	enum section_kind kind = classify(name);
	int r = fleet_strmap_add(&l->sec_names, name, (uint32_t)l->n_secs);
	if (r == -EEXIST) {
		fleet_err_set(l->err, t->line, dup_fmt[kind], name);
		return -EINVAL;
	}
	if (r < 0)
		return oom(l);
	l->secs[l->n_secs++] = (struct raw_section){
		.name = name, .line = t->line, .kind = kind, .kv_first = l->cfg.store->n_kv};
	return 0;
}

static int add_key(struct loader *l, const struct fleet_ini_token *t)
{
	struct fleet_store *st = l->cfg.store;
	if (!l->n_secs) {
		fleet_err_set(l->err, t->line, "key '%.*s' outside any [section]",
			      (int)t->name_len, t->name);
		return -EINVAL;
	}
	struct raw_section *s = &l->secs[l->n_secs - 1];
	char *key = fleet_store_strndup(st, t->name, t->name_len);
	char *value = key ? fleet_store_strndup(st, t->value, t->value_len) : NULL;
	if (!value)
		return oom(l);
	/* Keys are case-insensitive, as in DECNET's configparser. */
	for (char *p = key; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	for (size_t i = 0; i < s->n_kv; i++) {
		if (strcmp(sec_kv(l, s)[i].key, key) == 0) {
			fleet_err_set(l->err, t->line, "key '%s' given twice in [%s]", key, s->name);
			return -EINVAL;
		}
	}
	if (s->n_kv == SECTION_KEYS_MAX) {
		fleet_err_set(l->err, t->line, "more than %d keys in [%s]", SECTION_KEYS_MAX,
			      s->name);
		return -EINVAL;
	}
	if (fleet_store_push_kv(st, key, value, t->line) < 0)
		return oom(l);
	s->n_kv++;
	return 0;
}

static int tokenize(struct loader *l, const char *buf, size_t len)
{
	struct fleet_ini_cursor cur;
	struct fleet_ini_token tok;
	char msg[128];
	int r = 0;
	fleet_ini_init(&cur, buf, len);
	while (r == 0) {
		if (fleet_ini_next(&cur, &tok, msg, sizeof(msg)) < 0) {
			fleet_err_set(l->err, tok.line, "%s", msg);
			return -EINVAL;
		}
		if (tok.kind == FLEET_INI_EOF)
			return 0;
		r = tok.kind == FLEET_INI_SECTION ? add_section(l, &tok) : add_key(l, &tok);
	}
	return r;
}

/* ---- pass 2: [general] and [custom-NAME] ------------------------------ */

static int general_net(struct loader *l, const struct fleet_kv *kv)
{
	if (fleet_parse_cidr(kv->value, &l->cfg.net, &l->cfg.prefix) < 0) {
		fleet_err_set(l->err, kv->line,
			      "bad CIDR '%s' (expected a.b.c.d/len with the host bits zero)",
			      kv->value);
		return -EINVAL;
	}
	if (l->cfg.prefix > 30) {
		fleet_err_set(l->err, kv->line,
			      "net %s has no room for a gateway and deckies (use /30 or wider)",
			      kv->value);
		return -EINVAL;
	}
	return 0;
}

static int general_gw(struct loader *l, const struct fleet_kv *kv)
{
	/* Checked against net once both are read; see check_gw. */
	if (fleet_parse_ipv4(kv->value, &l->cfg.gw) == 0)
		return 0;
	fleet_err_set(l->err, kv->line, "bad IP '%s' for gw (expected a.b.c.d)", kv->value);
	return -EINVAL;
}

static int general_interface(struct loader *l, const struct fleet_kv *kv)
{
	if (fleet_ifname_valid(kv->value)) {
		snprintf(l->cfg.interface, sizeof(l->cfg.interface), "%s", kv->value);
		return 0;
	}
	fleet_err_set(l->err, kv->line, "bad interface name '%s'", kv->value);
	return -EINVAL;
}

static int dup_string(struct loader *l, char **dst, const char *s)
{
	*dst = strdup(s);
	return *dst ? 0 : oom(l);
}

static int general_log_target(struct loader *l, const struct fleet_kv *kv)
{
	uint32_t ip;
	uint16_t port;
	if (fleet_parse_ipport(kv->value, &ip, &port) == 0)
		return dup_string(l, &l->cfg.log_target, kv->value);
	fleet_err_set(l->err, kv->line, "bad log_target '%s' (expected ip:port)", kv->value);
	return -EINVAL;
}

static int general_log_file(struct loader *l, const struct fleet_kv *kv)
{
	if (kv->value[0])
		return dup_string(l, &l->cfg.log_file, kv->value);
	fleet_err_set(l->err, kv->line, "log_file= is empty");
	return -EINVAL;
}

static const struct {
	const char *key;
	int (*parse)(struct loader *l, const struct fleet_kv *kv);
} general_keys[] = {
	{"net", general_net},
	{"gw", general_gw},
	{"interface", general_interface},
	{"log_target", general_log_target},
	{"log_file", general_log_file},
};

static int check_gw(struct loader *l, const struct fleet_kv *gw)
{
	const struct fleet_config *c = &l->cfg;
	uint32_t mask = fleet_prefix_mask(c->prefix);
	char net[16];
	fleet_ipv4_format(c->net, net, sizeof(net));
	const char *what = (c->gw & mask) != c->net	   ? "outside"
			   : c->gw == c->net		   ? "the network address of"
			   : c->gw == (c->net | ~mask) ? "the broadcast address of"
						       : NULL;
	if (!what)
		return 0;
	fleet_err_set(l->err, gw->line, "gateway %s is %s net %s/%u", gw->value, what, net,
		      c->prefix);
	return -EINVAL;
}

static int load_general(struct loader *l)
{
	const struct raw_section *s = NULL;
	const struct fleet_kv *net = NULL, *gw = NULL;
	for (size_t i = 0; i < l->n_secs && !s; i++)
		if (l->secs[i].kind == SEC_GENERAL)
			s = &l->secs[i];
	if (!s) {
		fleet_err_set(l->err, 0, "missing [general] section (net= and gw= live there)");
		return -EINVAL;
	}
	for (size_t i = 0; i < s->n_kv; i++) {
		const struct fleet_kv *kv = &sec_kv(l, s)[i];
		size_t k = 0, n = sizeof(general_keys) / sizeof(general_keys[0]);
		while (k < n && strcmp(general_keys[k].key, kv->key) != 0)
			k++;
		if (k == n) {
			fleet_err_set(l->err, kv->line,
				      "unknown key '%s' in [general] (accepted: net, gw, interface, "
				      "log_target, log_file)",
				      kv->key);
			return -EINVAL;
		}
		if (general_keys[k].parse(l, kv) < 0)
			return -EINVAL;
		if (k == 0)
			net = kv;
		if (k == 1)
			gw = kv;
	}
	if (!net || !gw) {
		fleet_err_set(l->err, s->line, "[general] needs %s= (e.g. %s)", net ? "gw" : "net",
			      net ? "gw = 192.168.1.1" : "net = 192.168.1.0/24");
		return -EINVAL;
	}
	return check_gw(l, gw);
}

static int custom_keys(struct loader *l, const struct raw_section *s, struct fleet_custom *c,
		       const struct fleet_kv **ports)
{
	for (size_t i = 0; i < s->n_kv; i++) {
		const struct fleet_kv *kv = &sec_kv(l, s)[i];
		/* An empty binary= or exec= counts as absent. */
		char **dst = strcmp(kv->key, "binary") == 0 ? &c->image
			     : strcmp(kv->key, "exec") == 0 ? &c->exec
							    : NULL;
		if (dst) {
			if (kv->value[0] && dup_string(l, dst, kv->value) < 0)
				return -ENOMEM;
		} else if (strcmp(kv->key, "ports") == 0) {
			*ports = kv;
		} else {
			fleet_err_set(l->err, kv->line,
				      "unknown key '%s' in [%s] (accepted: binary, exec, ports)",
				      kv->key, s->name);
			return -EINVAL;
		}
	}
	return 0;
}

static int load_custom(struct loader *l, const struct raw_section *s, struct fleet_custom *c)
{
	const char *name = s->name + strlen(CUSTOM_PREFIX);
	const struct fleet_kv *ports = NULL;
	char msg[128];
	c->line = s->line;
	if (!fleet_name_valid(name, sizeof(c->name))) {
		fleet_err_set(l->err, s->line,
			      "bad custom service name '%s' (letters, digits, '-', '_')", name);
		return -EINVAL;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (fleet_service_find(name)) {
		fleet_err_set(l->err, s->line, "[%s] would hide the built-in service '%s'",
			      s->name, name);
		return -EINVAL;
	}
	int r = custom_keys(l, s, c, &ports);
	if (r < 0)
		return r;
	if (!c->image) {
		fleet_err_set(l->err, s->line,
			      "BYOS [%s] without image: binary= names the image to run", s->name);
		return -EINVAL;
	}
	if (!ports) {
		fleet_err_set(l->err, s->line, "BYOS [%s] needs ports= (e.g. ports = 9999, 53/udp)",
			      s->name);
		return -EINVAL;
	}
	if (fleet_parse_ports(ports->value, c->svc.ports, &c->svc.n_ports, msg, sizeof(msg)) < 0) {
		fleet_err_set(l->err, ports->line, "%s", msg);
		return -EINVAL;
	}
	c->svc.slug = c->name;
	c->svc.description = "custom service (BYOS)";
	c->svc.persona_keys = no_keys;
	c->svc.default_image = c->image;
	return 0;
}

static int load_customs(struct loader *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n_secs; i++) {
		if (l->secs[i].kind != SEC_CUSTOM)
			continue;
		if (++n > FLEET_MAX_CUSTOMS) {
			fleet_err_set(l->err, l->secs[i].line, "more than %d custom services",
				      FLEET_MAX_CUSTOMS);
			return -EINVAL;
		}
	}
	if (!n)
		return 0;
	l->cfg.customs = calloc(n, sizeof(*l->cfg.customs));
	if (!l->cfg.customs)
		return oom(l);
	for (size_t i = 0; i < l->n_secs; i++) {
		if (l->secs[i].kind != SEC_CUSTOM)
			continue;
		/* Counted before filling so fleet_config_free sees every
		 * image/exec already allocated when a later one fails. */
		int r = load_custom(l, &l->secs[i], &l->cfg.customs[l->cfg.n_customs++]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- pass 3: decky sections ------------------------------------------- */

/* How many deckies a section makes, read leniently: a bad amount= counts
 * as 1 here and is reported with its line by fleet_spec_parse. */
static size_t section_amount(struct loader *l, const struct raw_section *s)
{
	for (size_t i = 0; i < s->n_kv; i++) {
		const struct fleet_kv *kv = &sec_kv(l, s)[i];
		unsigned long n;
		if (strcmp(kv->key, "amount") == 0 &&
		    fleet_parse_uint(kv->value, FLEET_AMOUNT_MAX, &n) == 0 && n > 0)
			return n;
	}
	return 1;
}

static int count_deckies(struct loader *l, size_t *total)
{
	*total = 0;
	for (size_t i = 0; i < l->n_secs; i++) {
		if (l->secs[i].kind != SEC_DECKY)
			continue;
		*total += section_amount(l, &l->secs[i]);
		if (*total > FLEET_MAX_DECKIES) {
			fleet_err_set(l->err, l->secs[i].line,
				      "fleet grows past %d deckies here", FLEET_MAX_DECKIES);
			return -EINVAL;
		}
	}
	return 0;
}

static int load_decky_section(struct loader *l, const struct raw_section *s, struct group *g,
			      size_t *rr)
{
	struct fleet_decky_spec spec;
	char name[FLEET_NAME_MAX];
	if (!fleet_name_valid(s->name, FLEET_NAME_MAX)) {
		fleet_err_set(l->err, s->line,
			      "bad decky name '%s' (letters, digits, '-', '_', at most %d)",
			      s->name, FLEET_NAME_MAX - 1);
		return -EINVAL;
	}
	int r = fleet_spec_parse(&l->cfg, s->name, s->line, sec_kv(l, s), s->n_kv, true, &spec,
				 l->err);
	if (r < 0)
		return r;
	unsigned count = spec.has_amount ? spec.amount : 1;
	/* NAME-01 .. NAME-N: two digits at least, more when N needs them;
	 * the longest is NAME-N. */
	if (spec.has_amount &&
	    (size_t)snprintf(name, sizeof(name), "%s-%02u", s->name, count) >= sizeof(name)) {
		fleet_err_set(l->err, s->line, "decky name '%s' too long for amount=%u", s->name,
			      count);
		return -EINVAL;
	}
	g->first = l->cfg.n_deckies;
	g->count = count;
	for (unsigned i = 1; i <= count; i++) {
		struct fleet_decky *d = &l->cfg.deckies[l->cfg.n_deckies];
		if (spec.has_amount)
			snprintf(name, sizeof(name), "%s-%02u", s->name, i);
		r = fleet_decky_build(&spec, spec.has_amount ? name : s->name, *rr, &l->uniq, d,
				      l->err);
		if (r < 0)
			return r == -ENOMEM ? oom(l) : r;
		l->cfg.n_deckies++;
		/* Only deckies that take the default advance the cycle, so
		 * adding distro= to one decky does not reshuffle the rest. */
		if (!spec.distro)
			(*rr)++;
	}
	return 0;
}

static int load_deckies(struct loader *l)
{
	size_t total, rr = 0;
	int r = count_deckies(l, &total);
	if (r < 0)
		return r;
	l->cfg.deckies = calloc(total ? total : 1, sizeof(*l->cfg.deckies));
	l->groups = calloc(l->n_secs ? l->n_secs : 1, sizeof(*l->groups));
	if (!l->cfg.deckies || !l->groups || fleet_uniq_init(&l->uniq, &l->cfg, total) < 0)
		return oom(l);
	l->uniq_ready = true;
	for (size_t i = 0; i < l->n_secs; i++) {
		if (l->secs[i].kind != SEC_DECKY)
			continue;
		r = load_decky_section(l, &l->secs[i], &l->groups[i], &rr);
		if (r < 0)
			return r;
	}
	/* Explicit IPs and MACs are all taken now; hand out the rest. */
	for (size_t i = 0; i < l->cfg.n_deckies; i++) {
		struct fleet_decky *d = &l->cfg.deckies[i];
		if (d->ip == 0 && (r = fleet_assign_ip(&l->cfg, &l->uniq, d, l->err)) < 0)
			return r == -ENOMEM ? oom(l) : r;
	}
	for (size_t i = 0; i < l->cfg.n_deckies; i++) {
		struct fleet_decky *d = &l->cfg.deckies[i];
		if (!d->mac_explicit && (r = fleet_assign_mac(l->cfg.os_resolver, &l->uniq, d, l->err)) < 0)
			return r == -ENOMEM ? oom(l) : r;
	}
	return 0;
}

/* ---- pass 5: [decky.service] ------------------------------------------ */

static int check_persona_keys(struct loader *l, const struct raw_section *s,
			      const struct fleet_service *svc)
{
	for (size_t i = 0; i < s->n_kv; i++) {
		const struct fleet_kv *kv = &sec_kv(l, s)[i];
		const char *const *k = svc->persona_keys;
		while (*k && strcmp(*k, kv->key) != 0)
			k++;
		if (*k)
			continue;
		if (strcmp(kv->key, FLEET_KEY_BACKEND) == 0) { /* any service with a TCP port */
			uint32_t ip;
			uint16_t port;
			bool tcp = false;
			for (unsigned pi = 0; pi < svc->n_ports; pi++)
				tcp |= svc->ports[pi].proto == FLEET_PROTO_TCP;
			if (!tcp) {
				fleet_err_set(l->err, kv->line, "backend= needs a TCP service ('%s' has none)",
					      svc->slug);
				return -EINVAL;
			}
			if (fleet_parse_backend(kv->value, &ip, &port) < 0) {
				fleet_err_set(l->err, kv->line,
					      "bad backend '%s' (expected a.b.c.d or a.b.c.d:port, a unicast host)",
					      kv->value);
				return -EINVAL;
			}
			continue;
		}
		if (strcmp(kv->key, FLEET_KEY_BACKEND_MAC) == 0) {
			uint8_t mac[6];
			bool has_backend = false;
			for (size_t j = 0; j < s->n_kv; j++)
				has_backend |= strcmp(sec_kv(l, s)[j].key, FLEET_KEY_BACKEND) == 0;
			if (!has_backend) {
				fleet_err_set(l->err, kv->line, "backend_mac= without backend=");
				return -EINVAL;
			}
			if (fleet_parse_mac(kv->value, mac) < 0 || (mac[0] & 1) ||
			    !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])) {
				fleet_err_set(l->err, kv->line, "bad backend_mac '%s' (expected a unicast aa:bb:cc:dd:ee:ff)",
					      kv->value);
				return -EINVAL;
			}
			continue;
		}
		char accepted[160] = "";
		size_t off = 0;
		for (k = svc->persona_keys; *k && off < sizeof(accepted); k++) {
			int n = snprintf(accepted + off, sizeof(accepted) - off, "%s%s",
					 off ? ", " : "", *k);
			off += n > 0 ? (size_t)n : 0;
		}
		fleet_err_set(l->err, kv->line, "unknown key '%s' for service '%s' (%s%s)", kv->key,
			      svc->slug, off ? "accepted: " : "it takes no persona keys",
			      accepted);
		return -EINVAL;
	}
	return 0;
}

static int load_persona(struct loader *l, const struct raw_section *s)
{
	const char *dot = strchr(s->name, '.');
	const char *slug = dot + 1;
	char decky[FLEET_NAME_MAX];
	uint32_t idx;
	snprintf(decky, sizeof(decky), "%.*s", (int)(dot - s->name), s->name);
	if (strchr(slug, '.') || !*slug || dot == s->name) {
		fleet_err_set(l->err, s->line, "bad section name [%s] (expected [decky.service])",
			      s->name);
		return -EINVAL;
	}
	if ((size_t)(dot - s->name) >= sizeof(decky) ||
	    !fleet_strmap_get(&l->sec_names, decky, &idx) || l->secs[idx].kind != SEC_DECKY) {
		fleet_err_set(l->err, s->line, "[%s]: no decky section named '%s'", s->name, decky);
		return -EINVAL;
	}
	const struct fleet_service *svc = fleet_config_service_find(&l->cfg, slug);
	if (!svc) {
		fleet_err_set(l->err, s->line, "[%s]: unknown service '%s'", s->name, slug);
		return -EINVAL;
	}
	const struct group *g = &l->groups[idx];
	const struct fleet_decky *first = &l->cfg.deckies[g->first];
	unsigned j = 0;
	while (j < first->n_services && first->services[j].svc != svc)
		j++;
	if (j == first->n_services) {
		fleet_err_set(l->err, s->line, "[%s]: decky '%s' does not run service '%s'",
			      s->name, decky, slug);
		return -EINVAL;
	}
	if (check_persona_keys(l, s, svc) < 0)
		return -EINVAL;
	/* One array for the whole amount= group: see fleet_store.c. */
	for (size_t i = g->first; i < g->first + g->count; i++) {
		l->cfg.deckies[i].services[j].persona = s->n_kv ? sec_kv(l, s) : NULL;
		l->cfg.deckies[i].services[j].n_persona = s->n_kv;
	}
	return 0;
}

static int load_personas(struct loader *l)
{
	for (size_t i = 0; i < l->n_secs; i++) {
		if (l->secs[i].kind != SEC_PERSONA)
			continue;
		int r = load_persona(l, &l->secs[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- entry points ----------------------------------------------------- */

void fleet_config_free(struct fleet_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_customs; i++) {
		free(cfg->customs[i].image);
		free(cfg->customs[i].exec);
	}
	free(cfg->customs);
	free(cfg->deckies);
	free(cfg->log_target);
	free(cfg->log_file);
	free(cfg->file);
	fleet_store_free(cfg->store);
	memset(cfg, 0, sizeof(*cfg));
}

static void loader_free(struct loader *l)
{
	if (l->uniq_ready)
		fleet_uniq_free(&l->uniq);
	fleet_strmap_free(&l->sec_names);
	free(l->groups);
	free(l->secs);
}

int fleet_load_buffer(const char *name, const char *buf, size_t len,
		      struct fleet_config *out, struct fleet_error *err)
{
	return fleet_load_buffer_ex(name, buf, len, NULL, out, err);
}

int fleet_load_buffer_ex(const char *name, const char *buf, size_t len,
			 const struct fleet_os_resolver *os, struct fleet_config *out,
			 struct fleet_error *err)
{
	struct fleet_error dummy;
	struct loader l = {.err = err ? err : &dummy};
	int r;
	l.cfg.os_resolver = os;

	fleet_err_init(l.err, name);
	if (out)
		memset(out, 0, sizeof(*out));
	if (!out || (!buf && len)) {
		fleet_err_set(l.err, 0, "no buffer or no output");
		return -EINVAL;
	}
	l.cfg.file = strdup(name ? name : "<buffer>");
	l.cfg.store = fleet_store_new();
	if (!l.cfg.file || !l.cfg.store || fleet_strmap_init(&l.sec_names, 64) < 0) {
		r = oom(&l);
		goto err;
	}
	if ((r = tokenize(&l, buf ? buf : "", len)) < 0 || (r = load_general(&l)) < 0 ||
	    (r = load_customs(&l)) < 0 || (r = load_deckies(&l)) < 0 ||
	    (r = load_personas(&l)) < 0)
		goto err;
	loader_free(&l);
	*out = l.cfg;
	return 0;
err:
	loader_free(&l);
	fleet_config_free(&l.cfg);
	return r;
}

/* Read the whole file into a buffer, with a size cap. */
static int read_file(const char *path, char **buf, size_t *len, struct fleet_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r = 0;
	*buf = NULL;
	if (fd < 0) {
		r = -errno;
		goto err;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto err_close;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > FLEET_FILE_MAX) {
		r = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto err_close;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		r = -ENOMEM;
		goto err_close;
	}
	*len = 0;
	while (*len < (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + *len, (size_t)st.st_size - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO; /* shrank while we read it */
			goto err_free;
		}
		*len += (size_t)n;
	}
	close(fd);
	return 0;
err_free:
	free(*buf);
	*buf = NULL;
err_close:
	close(fd);
err:
	fleet_err_set(err, 0, "cannot read: %s",
		      r == -EFBIG  ? "larger than the 64 MiB limit"
		      : r == -EINVAL ? "not a regular file"
				     : strerror(-r)); /* MT-safe in glibc >= 2.32 */
	return r;
}

int fleet_load_file(const char *path, struct fleet_config *out, struct fleet_error *err)
{
	return fleet_load_file_ex(path, NULL, out, err);
}

int fleet_load_file_ex(const char *path, const struct fleet_os_resolver *os,
		       struct fleet_config *out, struct fleet_error *err)
{
	struct fleet_error dummy;
	char *buf;
	size_t len = 0;
	if (!err)
		err = &dummy;
	fleet_err_init(err, path);
	if (out)
		memset(out, 0, sizeof(*out));
	if (!path || !out) {
		fleet_err_set(err, 0, "no path or no output");
		return -EINVAL;
	}
	int r = read_file(path, &buf, &len, err);
	if (r < 0)
		return r;
	r = fleet_load_buffer_ex(path, buf, len, os, out, err);
	free(buf);
	return r;
}
