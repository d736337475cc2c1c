/* One decky section's rules, shared by the file loader and by
 * fleet_decky_from_kv (the control socket's decky.add), so that a key is
 * validated by exactly one piece of code wherever it comes from.
 *
 * A section's keys are first validated into a spec (fleet_spec_parse);
 * the loader then builds one decky per amount= copy (fleet_decky_build)
 * and hands out IPs and derived MACs in a final pass, once every explicit
 * IP and MAC of the file is known.
 */
#include "fleet/fleet_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int fleet_nmap_os_resolve(const char *value, char out[FLEET_OS_MAX], enum fp_family *family)
{
	/* Later: exact nmap-os-db Fingerprint names resolve here too. */
	enum fp_family f;
	if (!value || fp_family_from_name(value, &f) < 0)
		return -ENOENT;
	snprintf(out, FLEET_OS_MAX, "%s", fp_family_info(f)->name);
	*family = f;
	return 0;
}

static void nmap_os_choices(char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < FP_FAMILY_COUNT && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				 fp_family_info((enum fp_family)i)->name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

const struct fleet_service *fleet_config_service_find(const struct fleet_config *cfg,
						      const char *slug)
{
	const struct fleet_service *svc = fleet_service_find(slug);
	for (size_t i = 0; !svc && cfg && slug && i < cfg->n_customs; i++)
		if (strcmp(cfg->customs[i].name, slug) == 0)
			svc = &cfg->customs[i].svc;
	return svc;
}

/* ---- key handlers ----------------------------------------------------- */

struct spec_ctx {
	const struct fleet_config *cfg;
	struct fleet_decky_spec *spec;
	struct fleet_error *err;
	bool allow_amount;
	unsigned amount_line;
};

static int key_ip(struct spec_ctx *c, const struct fleet_kv *kv)
{
	const struct fleet_config *cfg = c->cfg;
	uint32_t ip, mask = fleet_prefix_mask(cfg->prefix);
	char net[16];
	fleet_ipv4_format(cfg->net, net, sizeof(net));
	if (fleet_parse_ipv4(kv->value, &ip) < 0) {
		fleet_err_set(c->err, kv->line, "bad IP '%s' (expected a.b.c.d)", kv->value);
		return -EINVAL;
	}
	if ((ip & mask) != cfg->net) {
		fleet_err_set(c->err, kv->line, "IP %s is outside net %s/%u", kv->value, net,
			      cfg->prefix);
		return -EINVAL;
	}
	const char *what = ip == cfg->net	    ? "the network address of"
			   : ip == (cfg->net | ~mask) ? "the broadcast address of"
			   : ip == cfg->gw	    ? "the gateway of"
						    : NULL;
	if (what) {
		fleet_err_set(c->err, kv->line, "IP %s is %s %s/%u", kv->value, what, net,
			      cfg->prefix);
		return -EINVAL;
	}
	c->spec->has_ip = true;
	c->spec->ip = ip;
	c->spec->ip_line = kv->line;
	return 0;
}

/* Resolve a comma list of slugs into svcs; cfg NULL = built-ins only. */
static int resolve_services(const struct fleet_config *cfg, const char *list,
			    const struct fleet_service **svcs, unsigned *n, unsigned line,
			    struct fleet_error *err)
{
	const char *item;
	size_t len;
	int r;
	*n = 0;
	while ((r = fleet_list_next(&list, &item, &len)) > 0) {
		char slug[FLEET_NAME_MAX];
		snprintf(slug, sizeof(slug), "%.*s", (int)len, item);
		const struct fleet_service *svc =
			len < sizeof(slug) ? fleet_config_service_find(cfg, slug) : NULL;
		if (!svc) {
			fleet_err_set(err, line, "unknown service '%.*s' (see `decnet services`)",
				      (int)len, item);
			return -EINVAL;
		}
		for (unsigned i = 0; i < *n; i++) {
			if (svcs[i] == svc) {
				fleet_err_set(err, line, "service '%s' listed twice", slug);
				return -EINVAL;
			}
		}
		if (*n == FLEET_MAX_SERVICES) {
			fleet_err_set(err, line, "more than %d services", FLEET_MAX_SERVICES);
			return -EINVAL;
		}
		svcs[(*n)++] = svc;
	}
	if (r < 0 || *n == 0) {
		fleet_err_set(err, line, "services= needs a comma-separated list of service slugs");
		return -EINVAL;
	}
	return 0;
}

static int key_services(struct spec_ctx *c, const struct fleet_kv *kv)
{
	c->spec->has_services = true;
	return resolve_services(c->cfg, kv->value, c->spec->svcs, &c->spec->n_svcs, kv->line,
				c->err);
}

static int key_archetype(struct spec_ctx *c, const struct fleet_kv *kv)
{
	c->spec->archetype = fleet_archetype_find(kv->value);
	if (c->spec->archetype)
		return 0;
	fleet_err_set(c->err, kv->line, "unknown archetype '%s' (see `decnet archetypes`)",
		      kv->value);
	return -EINVAL;
}

static int key_nmap_os(struct spec_ctx *c, const struct fleet_kv *kv)
{
	char choices[96];
	if (fleet_nmap_os_resolve(kv->value, c->spec->nmap_os, &c->spec->family) == 0)
		return 0;
	nmap_os_choices(choices, sizeof(choices));
	const struct fleet_os_resolver *os = c->cfg->os_resolver;
	if (!os) {
		fleet_err_set(c->err, kv->line, "unknown nmap_os '%s' (one of: %s)", kv->value, choices);
		return -EINVAL;
	}
	char hint[200];
	hint[0] = 0;
	if (os->resolve(os->ctx, kv->value, c->spec->nmap_os, &c->spec->family, hint, sizeof(hint)) == 0)
		return 0;
	fleet_err_set(c->err, kv->line, "unknown nmap_os '%s': %s (families: %s)", kv->value, hint,
		      choices);
	return -EINVAL;
}

static int key_amount(struct spec_ctx *c, const struct fleet_kv *kv)
{
	unsigned long n;
	if (!c->allow_amount) {
		fleet_err_set(c->err, kv->line, "amount= is only accepted in a config file");
		return -EINVAL;
	}
	if (fleet_parse_uint(kv->value, FLEET_AMOUNT_MAX, &n) < 0 || n == 0) {
		fleet_err_set(c->err, kv->line, "amount must be a number in 1..%d, not '%s'",
			      FLEET_AMOUNT_MAX, kv->value);
		return -EINVAL;
	}
	c->spec->has_amount = true;
	c->spec->amount = (unsigned)n;
	c->amount_line = kv->line;
	return 0;
}

static int key_mac(struct spec_ctx *c, const struct fleet_kv *kv)
{
	uint8_t *mac = c->spec->mac;
	if (fleet_parse_mac(kv->value, mac) < 0) {
		fleet_err_set(c->err, kv->line, "bad MAC '%s' (expected aa:bb:cc:dd:ee:ff)",
			      kv->value);
		return -EINVAL;
	}
	if (mac[0] & 1) {
		fleet_err_set(c->err, kv->line, "MAC %s is multicast (first octet must be even)",
			      kv->value);
		return -EINVAL;
	}
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])) {
		fleet_err_set(c->err, kv->line, "MAC %s is all zero", kv->value);
		return -EINVAL;
	}
	c->spec->has_mac = true;
	c->spec->mac_line = kv->line;
	return 0;
}

static int key_hostname(struct spec_ctx *c, const struct fleet_kv *kv)
{
	if (fleet_hostname_valid(kv->value)) {
		c->spec->hostname = kv->value;
		return 0;
	}
	fleet_err_set(c->err, kv->line,
		      "bad hostname '%s' (letters, digits, '-' and '.', at most %d bytes)",
		      kv->value, FLEET_NAME_MAX - 1);
	return -EINVAL;
}

static int key_distro(struct spec_ctx *c, const struct fleet_kv *kv)
{
	c->spec->distro = fleet_distro_find(kv->value);
	if (c->spec->distro)
		return 0;
	fleet_err_set(c->err, kv->line, "unknown distro '%s' (see `decnet distros`)", kv->value);
	return -EINVAL;
}

/* slot: keys with the same slot are one setting (nmap_os / nmap-os). */
static const struct decky_key {
	const char *key;
	unsigned slot;
	int (*parse)(struct spec_ctx *c, const struct fleet_kv *kv);
} decky_keys[] = {
	{"ip", 0, key_ip},
	{"services", 1, key_services},
	{"archetype", 2, key_archetype},
	{"nmap_os", 3, key_nmap_os},
	{"nmap-os", 3, key_nmap_os}, /* DECNET accepts both spellings */
	{"amount", 4, key_amount},
	{"mac", 5, key_mac},
	{"hostname", 6, key_hostname},
	{"distro", 7, key_distro},
};
#define N_DECKY_KEYS (sizeof(decky_keys) / sizeof(decky_keys[0]))

static const struct decky_key *decky_key_find(const char *key)
{
	for (size_t i = 0; i < N_DECKY_KEYS; i++)
		if (strcasecmp(decky_keys[i].key, key) == 0)
			return &decky_keys[i];
	return NULL;
}

/* Defaults and rules that need the whole section: services and nmap_os
 * from the archetype, the distro pool, combinations amount= forbids. */
static int spec_finish(struct spec_ctx *c)
{
	struct fleet_decky_spec *spec = c->spec;
	const struct fleet_archetype *at = spec->archetype;
	if (spec->has_amount && (spec->has_ip || spec->has_mac)) {
		fleet_err_set(c->err, c->amount_line,
			      "amount= cannot be combined with %s= (every copy needs its own)",
			      spec->has_ip ? "ip" : "mac");
		return -EINVAL;
	}
	if (!spec->has_services && !at) {
		fleet_err_set(c->err, spec->line, "decky [%s] needs services= or archetype=",
			      spec->name);
		return -EINVAL;
	}
	/* Priority: explicit services= over the archetype's. */
	if (!spec->has_services &&
	    resolve_services(NULL, at->services, spec->svcs, &spec->n_svcs, spec->line, c->err) < 0)
		return -EINVAL;
	/* Priority: explicit nmap_os= > archetype's > linux. */
	if (!spec->nmap_os[0] &&
	    fleet_nmap_os_resolve(at ? at->nmap_os : "linux", spec->nmap_os, &spec->family) < 0) {
		fleet_err_set(c->err, spec->line, "archetype '%s' has an unknown nmap_os", at->slug);
		return -EINVAL;
	}
	spec->n_pool = 0;
	if (at) {
		const char *list = at->distros, *item;
		size_t len;
		while (fleet_list_next(&list, &item, &len) > 0 && spec->n_pool < 16) {
			char slug[FLEET_NAME_MAX];
			snprintf(slug, sizeof(slug), "%.*s", (int)len, item);
			const struct fleet_distro *d = fleet_distro_find(slug);
			if (d)
				spec->pool[spec->n_pool++] = d;
		}
	}
	if (spec->n_pool == 0) {
		size_t n;
		const struct fleet_distro *all = fleet_distros(&n);
		for (size_t i = 0; i < n && i < 16; i++)
			spec->pool[spec->n_pool++] = &all[i];
	}
	return 0;
}

int fleet_spec_parse(const struct fleet_config *cfg, const char *name, unsigned line,
		     const struct fleet_kv *kv, size_t n_kv, bool allow_amount,
		     struct fleet_decky_spec *spec, struct fleet_error *err)
{
	struct spec_ctx c = {.cfg = cfg, .spec = spec, .err = err, .allow_amount = allow_amount};
	unsigned seen = 0;
	memset(spec, 0, sizeof(*spec));
	spec->name = name;
	spec->line = line;
	for (size_t i = 0; i < n_kv; i++) {
		const struct decky_key *k = decky_key_find(kv[i].key);
		if (!k) {
			fleet_err_set(err, kv[i].line,
				      "unknown key '%s' in decky [%s] (accepted: ip, services, "
				      "archetype, nmap_os, amount, mac, hostname, distro)",
				      kv[i].key, name);
			return -EINVAL;
		}
		if (seen & 1u << k->slot) {
			fleet_err_set(err, kv[i].line, "key '%s' given twice in [%s]", kv[i].key,
				      name);
			return -EINVAL;
		}
		seen |= 1u << k->slot;
		if (k->parse(&c, &kv[i]) < 0)
			return -EINVAL;
	}
	return spec_finish(&c);
}

/* ---- building deckies ------------------------------------------------- */

int fleet_uniq_init(struct fleet_uniq *u, const struct fleet_config *cfg, size_t expected)
{
	memset(u, 0, sizeof(*u));
	expected += cfg->n_deckies;
	if (fleet_strmap_init(&u->names, expected) < 0 || fleet_u64set_init(&u->ips, expected) < 0 ||
	    fleet_u64set_init(&u->macs, expected) < 0)
		goto err;
	for (size_t i = 0; i < cfg->n_deckies; i++) {
		const struct fleet_decky *d = &cfg->deckies[i];
		/* A config from the loader has no duplicates; -EEXIST is fine. */
		if (fleet_strmap_add(&u->names, d->name, 0) == -ENOMEM ||
		    fleet_u64set_add(&u->ips, d->ip) == -ENOMEM ||
		    fleet_u64set_add(&u->macs, fleet_mac_key(d->mac)) == -ENOMEM)
			goto err;
	}
	u->next_ip = cfg->net + 1;
	return 0;
err:
	fleet_uniq_free(u);
	return -ENOMEM;
}

void fleet_uniq_free(struct fleet_uniq *u)
{
	fleet_strmap_free(&u->names);
	fleet_u64set_free(&u->ips);
	fleet_u64set_free(&u->macs);
}

static void mac_format(const uint8_t m[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int fleet_decky_build(const struct fleet_decky_spec *spec, const char *name, size_t rr,
		      struct fleet_uniq *u, struct fleet_decky *d, struct fleet_error *err)
{
	int r;
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->line = spec->line;
	r = fleet_strmap_add(&u->names, d->name, 0);
	if (r == -EEXIST)
		fleet_err_set(err, spec->line, "duplicate decky name '%s'", d->name);
	if (r < 0)
		return r == -EEXIST ? -EINVAL : r;
	if (spec->has_ip) {
		char ip[16];
		d->ip = spec->ip;
		r = fleet_u64set_add(&u->ips, d->ip);
		fleet_ipv4_format(d->ip, ip, sizeof(ip));
		if (r == -EEXIST)
			fleet_err_set(err, spec->ip_line, "duplicate IP %s", ip);
		if (r < 0)
			return r == -EEXIST ? -EINVAL : r;
	}
	if (spec->has_mac) {
		char mac[18];
		memcpy(d->mac, spec->mac, 6);
		d->mac_explicit = true;
		r = fleet_u64set_add(&u->macs, fleet_mac_key(d->mac));
		mac_format(d->mac, mac, sizeof(mac));
		if (r == -EEXIST)
			fleet_err_set(err, spec->mac_line, "duplicate MAC %s", mac);
		if (r < 0)
			return r == -EEXIST ? -EINVAL : r;
	}
	snprintf(d->nmap_os, sizeof(d->nmap_os), "%s", spec->nmap_os);
	d->family = spec->family;
	d->archetype = spec->archetype;
	d->distro = spec->distro ? spec->distro : spec->pool[rr % spec->n_pool];
	if (spec->hostname)
		snprintf(d->hostname, sizeof(d->hostname), "%s", spec->hostname);
	else
		fleet_hostname_default(d->distro, d->name, d->hostname);
	for (unsigned i = 0; i < spec->n_svcs; i++)
		d->services[i].svc = spec->svcs[i];
	d->n_services = spec->n_svcs;
	return 0;
}

int fleet_assign_ip(const struct fleet_config *cfg, struct fleet_uniq *u,
		    struct fleet_decky *d, struct fleet_error *err)
{
	uint32_t bcast = cfg->net | ~fleet_prefix_mask(cfg->prefix);
	/* Deckies are served in file order and explicit IPs are all known
	 * up front, so the lowest free address only ever moves up. */
	while (u->next_ip < bcast && (u->next_ip == cfg->gw || fleet_u64set_has(&u->ips, u->next_ip)))
		u->next_ip++;
	if (u->next_ip >= bcast) {
		char net[16];
		fleet_ipv4_format(cfg->net, net, sizeof(net));
		fleet_err_set(err, d->line, "no free address left in %s/%u for decky '%s'", net,
			      cfg->prefix, d->name);
		return -EINVAL;
	}
	d->ip = u->next_ip++;
	return fleet_u64set_add(&u->ips, d->ip) == -ENOMEM ? -ENOMEM : 0;
}

void fleet_mac_derive(const struct fleet_os_resolver *os, const struct fleet_decky *d,
		      const char *seed, uint8_t mac[6])
{
	char canon[FLEET_OS_MAX];
	enum fp_family fam;
	uint8_t oui[3];
	/* A family name never asks the resolver: fleets of families keep
	 * exactly the MACs they always had. */
	if (os && os->vendor_oui && fleet_nmap_os_resolve(d->nmap_os, canon, &fam) != 0 &&
	    os->vendor_oui(os->ctx, d->nmap_os, fp_family_name_hash(seed), oui) == 0)
		fp_family_mac_with_oui(oui, seed, mac);
	else
		fp_family_mac(d->family, seed, mac);
}

int fleet_assign_mac(const struct fleet_os_resolver *os, struct fleet_uniq *u,
		     struct fleet_decky *d, struct fleet_error *err)
{
	/* The hash of the name alone is the stable answer; only when two
	 * names collide (likely somewhere in 100 000 deckies) does the later
	 * one in file order move on to "name#1", "name#2"... */
	char salted[FLEET_NAME_MAX + 8];
	for (unsigned k = 0; k < 64; k++) {
		if (k)
			snprintf(salted, sizeof(salted), "%s#%u", d->name, k);
		fleet_mac_derive(os, d, k ? salted : d->name, d->mac);
		int r = fleet_u64set_add(&u->macs, fleet_mac_key(d->mac));
		if (r != -EEXIST)
			return r;
	}
	fleet_err_set(err, d->line, "no unique MAC for decky '%s'; set mac=", d->name);
	return -EINVAL;
}

int fleet_decky_from_kv(const struct fleet_config *cfg, const char *name,
			const struct fleet_kv *kv, size_t n_kv, struct fleet_decky *out,
			struct fleet_error *err)
{
	struct fleet_decky_spec spec;
	struct fleet_uniq u;
	struct fleet_decky d;
	int r;

	fleet_err_init(err, cfg ? cfg->file : NULL);
	memset(out, 0, sizeof(*out));
	if (!cfg || !name || (n_kv && !kv)) {
		fleet_err_set(err, 0, "no config, name or keys");
		return -EINVAL;
	}
	for (size_t i = 0; i < n_kv; i++) {
		if (!kv[i].key || !kv[i].value) {
			fleet_err_set(err, kv[i].line, "key or value missing");
			return -EINVAL;
		}
	}
	if (!fleet_name_valid(name, FLEET_NAME_MAX)) {
		fleet_err_set(err, 0, "bad decky name '%s' (letters, digits, '-', '_', at most %d)",
			      name, FLEET_NAME_MAX - 1);
		return -EINVAL;
	}
	if (cfg->n_deckies >= FLEET_MAX_DECKIES) {
		fleet_err_set(err, 0, "fleet already has %d deckies", FLEET_MAX_DECKIES);
		return -EINVAL;
	}
	r = fleet_spec_parse(cfg, name, 0, kv, n_kv, false, &spec, err);
	if (r < 0)
		return r;
	r = fleet_uniq_init(&u, cfg, 1);
	if (r < 0) {
		fleet_err_set(err, 0, "out of memory");
		return r;
	}
	r = fleet_decky_build(&spec, name, cfg->n_deckies, &u, &d, err);
	if (r == 0 && !spec.has_ip)
		r = fleet_assign_ip(cfg, &u, &d, err);
	if (r == 0 && !spec.has_mac)
		r = fleet_assign_mac(cfg->os_resolver, &u, &d, err);
	fleet_uniq_free(&u);
	if (r == -ENOMEM)
		fleet_err_set(err, 0, "out of memory");
	if (r == 0)
		*out = d;
	return r;
}
