/* Persona compilation: nmap-os-db entry -> concrete answers. See
 * fp_persona.h. The decoding follows nmap's published meaning of each
 * attribute (nmap book, "TCP/IP Fingerprinting Methods Supported by Nmap"). */
#include "fingerprints/fp_persona.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The entry each DECNET family stands for: a common OS of the family whose
 * fingerprint nmap 7.93 reports as the unique perfect match when answered
 * exactly (checked by the unit suite), recorded on an ordinary Ethernet LAN
 * (MSS 1460: the first "Linux 5.4" was recorded behind a 1328-byte MTU, the
 * first "Windows 10 1607" over loopback, MSS 65495 — tells on a LAN), and
 * whose SYN-ACK p0f 3 also labels with the family: Linux 3.10 (the RHEL /
 * CentOS 7 kernel, 14480 = 10 x 1448: p0f's "Linux 3.x") and a Windows 10
 * answering with 8192 and window scale 8 (p0f's "Windows 7 or 8"; newer
 * Windows 10 SYN-ACKs, 65535, are not in p0f's database). NAME#N is the
 * N-th entry of that name, as in nmap_os=. */
static const char *const family_entries[FP_FAMILY_COUNT] = {
	[FP_FAMILY_LINUX] = "Linux 3.10#4",
	[FP_FAMILY_WINDOWS] = "Microsoft Windows 10#2",
	[FP_FAMILY_BSD] = "FreeBSD 12.0-RELEASE",
	[FP_FAMILY_EMBEDDED] = "Dell 1720dn printer",
	[FP_FAMILY_CISCO] = "Cisco Catalyst 2960 switch (IOS 12.2)",
};

const char *fp_persona_family_entry_name(enum fp_family fam)
{
	return (unsigned)fam < FP_FAMILY_COUNT ? family_entries[fam] : NULL;
}

int fp_persona_family_entry(const struct fp_osdb *db, enum fp_family fam, size_t *idx)
{
	const char *name = fp_persona_family_entry_name(fam);
	if (!name)
		return -ENOENT;
	char base[128];
	unsigned variant;
	if (fp_osdb_split_variant(name, base, sizeof(base), &variant) != 0)
		return -ENOENT;
	return fp_osdb_find(db, base, variant, idx);
}

enum fp_family fp_persona_family_of(const struct fp_osdb *db, size_t idx)
{
	static const struct {
		const char *word;
		enum fp_family fam;
	} by_family[] = {
		{"Linux", FP_FAMILY_LINUX},     {"Windows", FP_FAMILY_WINDOWS},
		{"FreeBSD", FP_FAMILY_BSD},     {"OpenBSD", FP_FAMILY_BSD},
		{"NetBSD", FP_FAMILY_BSD},      {"DragonFly BSD", FP_FAMILY_BSD},
		{"macOS", FP_FAMILY_BSD},       {"Mac OS X", FP_FAMILY_BSD},
		{"iOS", FP_FAMILY_BSD},         {"BSD/OS", FP_FAMILY_BSD},
		{"IOS", FP_FAMILY_CISCO},       {"IOS XE", FP_FAMILY_CISCO},
	};
	struct fp_osdb_class c;
	if (fp_osdb_class(db, idx, 0, &c) != 0)
		return FP_FAMILY_EMBEDDED;
	if (c.vendor && strcasecmp(c.vendor, "Cisco") == 0)
		return FP_FAMILY_CISCO;
	/* A general-purpose Linux is linux; Linux inside a router or camera is
	 * what the attacker sees: an embedded device. */
	bool general = c.type && strcasecmp(c.type, "general purpose") == 0;
	for (size_t i = 0; i < sizeof(by_family) / sizeof(by_family[0]); i++) {
		if (!c.family || strcmp(c.family, by_family[i].word) != 0)
			continue;
		if (by_family[i].fam == FP_FAMILY_LINUX && !general)
			return FP_FAMILY_EMBEDDED;
		return by_family[i].fam;
	}
	return FP_FAMILY_EMBEDDED;
}

int fp_topts_parse(const char *s, struct fp_topts *out)
{
	out->n = 0;
	while (*s) {
		if (out->n == FP_MAX_TOPTS)
			return -EINVAL;
		struct fp_topt *o = &out->opt[out->n];
		memset(o, 0, sizeof(*o));
		char c = *s++;
		switch (c) {
		case 'L': o->kind = FP_TOPT_EOL; break;
		case 'N': o->kind = FP_TOPT_NOP; break;
		case 'S': o->kind = FP_TOPT_SACKOK; break;
		case 'T':
			if ((s[0] != '0' && s[0] != '1') || (s[1] != '0' && s[1] != '1'))
				return -EINVAL;
			o->kind = FP_TOPT_TS;
			o->tsval_nonzero = s[0] == '1';
			o->tsecr_nonzero = s[1] == '1';
			s += 2;
			break;
		case 'M':
		case 'W': {
			char *end;
			unsigned long v = strtoul(s, &end, 16);
			if (end == s || v > 0xffff)
				return -EINVAL;
			o->kind = c == 'M' ? FP_TOPT_MSS : FP_TOPT_WS;
			o->value = (uint16_t)v;
			s = end;
			break;
		}
		default:
			return -EINVAL;
		}
		out->n++;
	}
	return 0;
}

int fp_topts_format(const struct fp_topts *o, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < o->n; i++) {
		const struct fp_topt *t = &o->opt[i];
		int w;
		switch (t->kind) {
		case FP_TOPT_EOL: w = snprintf(buf + off, len - off, "L"); break;
		case FP_TOPT_NOP: w = snprintf(buf + off, len - off, "N"); break;
		case FP_TOPT_SACKOK: w = snprintf(buf + off, len - off, "S"); break;
		case FP_TOPT_TS:
			w = snprintf(buf + off, len - off, "T%d%d", t->tsval_nonzero, t->tsecr_nonzero);
			break;
		case FP_TOPT_MSS: w = snprintf(buf + off, len - off, "M%X", t->value); break;
		case FP_TOPT_WS: w = snprintf(buf + off, len - off, "W%X", t->value); break;
		default: return -EINVAL;
		}
		if (w < 0 || (size_t)w >= len - off)
			return -ENOSPC;
		off += (size_t)w;
	}
	return 0;
}

/* Decoding context: one subject, one error buffer. */
struct dec {
	const struct fp_subject *s;
	char *err;
	size_t errlen;
	int rc;
};

static bool get(struct dec *d, unsigned test, unsigned attr, struct fp_value *v)
{
	return fp_subject_get(d->s, test, attr, v);
}

static void bad(struct dec *d, unsigned test, unsigned attr, const char *why)
{
	if (d->rc)
		return;
	struct fp_value v;
	bool have = get(d, test, attr, &v);
	snprintf(d->err, d->errlen, "%s.%s=%s: %s", fp_vocab_test_name(test), fp_vocab_attr_name(attr),
		 have ? v.s : "", why);
	d->rc = -EINVAL;
}

/* A hex attribute (W, RD, IPL ...); def when absent. */
static uint32_t hexval(struct dec *d, unsigned test, unsigned attr, uint32_t def)
{
	struct fp_value v;
	if (!get(d, test, attr, &v))
		return def;
	if (!v.hex) {
		bad(d, test, attr, "expected a hex number");
		return def;
	}
	return v.num;
}

static bool is(struct dec *d, unsigned test, unsigned attr, const char *want)
{
	struct fp_value v;
	return get(d, test, attr, &v) && strcmp(v.s, want) == 0;
}

static struct fp_ipid ipid_class(struct dec *d, unsigned attr)
{
	static const struct {
		const char *code;
		uint8_t kind;
	} codes[] = {
		{"Z", FP_IPID_ZERO}, {"RD", FP_IPID_RANDOM}, {"RI", FP_IPID_RANDOM_INCR},
		{"BI", FP_IPID_BROKEN}, {"I", FP_IPID_INCR},
	};
	struct fp_ipid r = {0};
	struct fp_value v;
	if (!get(d, FP_TEST_SEQ, attr, &v))
		return r;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(v.s, codes[i].code) == 0) {
			r.kind = codes[i].kind;
			return r;
		}
	if (v.hex && v.num <= 0xffff) {
		r.kind = FP_IPID_FIXED;
		r.value = (uint16_t)v.num;
		return r;
	}
	bad(d, FP_TEST_SEQ, attr, "unknown IP-ID class");
	return r;
}

static void decode_seq(struct dec *d, struct fp_persona *p)
{
	struct fp_value v;
	if (!(d->s->tests & (1u << FP_TEST_SEQ)))
		return;
	p->seq.present = true;
	uint32_t isr = hexval(d, FP_TEST_SEQ, FP_ATTR_ISR, 0);
	p->seq.isn_rate_hz = isr ? pow(2.0, isr / 8.0) : 0.0;
	p->seq.respond = !is(d, FP_TEST_SEQ, FP_ATTR_R, "N");
	/* GCD 0: every ISN the same (constant generator). */
	p->seq.gcd = hexval(d, FP_TEST_SEQ, FP_ATTR_GCD, 1);
	uint32_t sp = hexval(d, FP_TEST_SEQ, FP_ATTR_SP, 0);
	p->seq.isn_sd = sp ? pow(2.0, sp / 8.0) : 0.0;
	p->seq.ti = ipid_class(d, FP_ATTR_TI);
	p->seq.ci = ipid_class(d, FP_ATTR_CI);
	p->seq.ii = ipid_class(d, FP_ATTR_II);
	p->seq.ss_shared = is(d, FP_TEST_SEQ, FP_ATTR_SS, "S");
	p->seq.ts_supported = true;
	if (get(d, FP_TEST_SEQ, FP_ATTR_TS, &v)) {
		if (strcmp(v.s, "U") == 0) {
			p->seq.ts_supported = false;
		} else if (v.hex && v.num <= 0xff) {
			/* nmap's TS classes: 0 = the clock never moves, 1 = ~2 Hz,
			 * 7 = ~100 Hz, 8 = ~200 Hz, else round(log2(Hz)); from 0x1F
			 * up the "rate" is TSvals jumping randomly between
			 * connections, not a clock. */
			static const uint32_t named[] = {[1] = 2, [7] = 100, [8] = 200};
			p->seq.ts_class = (uint8_t)v.num;
			if (v.num == 0)
				p->seq.ts_hz = 0;
			else if (v.num < sizeof(named) / sizeof(named[0]) && named[v.num])
				p->seq.ts_hz = named[v.num];
			else if (v.num < 0x1f)
				p->seq.ts_hz = 1u << v.num;
			else
				p->seq.ts_random = true;
		} else {
			bad(d, FP_TEST_SEQ, FP_ATTR_TS, "expected U or a hex class");
		}
	}
}

static void decode_opts(struct dec *d, unsigned test, unsigned attr, struct fp_topts *o)
{
	struct fp_value v;
	o->n = 0;
	if (get(d, test, attr, &v) && fp_topts_parse(v.s, o) != 0)
		bad(d, test, attr, "malformed option string");
}

static uint8_t seqack(struct dec *d, unsigned test, unsigned attr, const char *same)
{
	struct fp_value v;
	if (!get(d, test, attr, &v) || strcmp(v.s, "Z") == 0)
		return FP_SA_ZERO;
	if (strcmp(v.s, same) == 0)
		return FP_SA_SAME;
	if (strlen(v.s) == 2 && v.s[0] == same[0] && v.s[1] == '+')
		return FP_SA_PLUS;
	if (strcmp(v.s, "O") == 0)
		return FP_SA_OTHER;
	bad(d, test, attr, "unknown sequence/ack class");
	return FP_SA_ZERO;
}

static uint8_t flags(struct dec *d, unsigned test)
{
	static const char letters[] = "FSRPAUEC";
	struct fp_value v;
	uint8_t f = 0;
	if (!get(d, test, FP_ATTR_F, &v))
		return 0;
	for (const char *c = v.s; *c; c++) {
		const char *k = strchr(letters, *c);
		if (!k) {
			bad(d, test, FP_ATTR_F, "unknown TCP flag letter");
			return f;
		}
		f |= (uint8_t)(1u << (k - letters));
	}
	return f;
}

static void decode_tcp(struct dec *d, unsigned test, struct fp_tcp_answer *a)
{
	struct fp_value v;
	memset(a, 0, sizeof(*a));
	if (!(d->s->tests & (1u << test)))
		return;
	a->present = true;
	a->respond = !is(d, test, FP_ATTR_R, "N");
	if (!a->respond)
		return;
	a->df = is(d, test, FP_ATTR_DF, "Y");
	a->window = (uint16_t)hexval(d, test, FP_ATTR_W, 0);
	a->seq = seqack(d, test, FP_ATTR_S, "A");
	a->ack = seqack(d, test, FP_ATTR_A, "S");
	a->flags = flags(d, test);
	decode_opts(d, test, FP_ATTR_O, &a->opts);
	a->rd = hexval(d, test, FP_ATTR_RD, 0);
	if (get(d, test, FP_ATTR_Q, &v)) {
		a->quirk_reserved = strchr(v.s, 'R') != NULL;
		a->quirk_urgent = strchr(v.s, 'U') != NULL;
	}
	if (test == FP_TEST_ECN && get(d, test, FP_ATTR_CC, &v)) {
		static const char cc[] = "NYSO";
		const char *k = v.len == 1 ? strchr(cc, v.s[0]) : NULL;
		if (!k)
			bad(d, test, FP_ATTR_CC, "expected N, Y, S or O");
		else
			a->cc = (uint8_t)(FP_CC_N + (k - cc));
	}
}

static void decode_u1(struct dec *d, struct fp_persona *p)
{
	struct fp_value v;
	if (!(d->s->tests & (1u << FP_TEST_U1)))
		return;
	p->u1.present = true;
	p->u1.respond = !is(d, FP_TEST_U1, FP_ATTR_R, "N");
	if (!p->u1.respond)
		return;
	p->u1.df = is(d, FP_TEST_U1, FP_ATTR_DF, "Y");
	p->u1.ipl = (uint16_t)hexval(d, FP_TEST_U1, FP_ATTR_IPL, 0x38);
	p->u1.un = hexval(d, FP_TEST_U1, FP_ATTR_UN, 0);
	p->u1.ripl_good = !get(d, FP_TEST_U1, FP_ATTR_RIPL, &v) || strcmp(v.s, "G") == 0;
	if (!p->u1.ripl_good)
		p->u1.ripl = (uint16_t)hexval(d, FP_TEST_U1, FP_ATTR_RIPL, 0);
	p->u1.rid_good = !get(d, FP_TEST_U1, FP_ATTR_RID, &v) || strcmp(v.s, "G") == 0;
	if (!p->u1.rid_good)
		p->u1.rid = (uint16_t)hexval(d, FP_TEST_U1, FP_ATTR_RID, 0);
	if (get(d, FP_TEST_U1, FP_ATTR_RIPCK, &v))
		p->u1.ripck = strcmp(v.s, "Z") == 0 ? FP_RIPCK_ZERO
			      : strcmp(v.s, "I") == 0 ? FP_RIPCK_INVALID : FP_RIPCK_GOOD;
	p->u1.ruck_good = !get(d, FP_TEST_U1, FP_ATTR_RUCK, &v) || strcmp(v.s, "G") == 0;
	if (!p->u1.ruck_good)
		p->u1.ruck = (uint16_t)hexval(d, FP_TEST_U1, FP_ATTR_RUCK, 0);
	p->u1.rud_good = !is(d, FP_TEST_U1, FP_ATTR_RUD, "I");
}

static void decode_ie(struct dec *d, struct fp_persona *p)
{
	struct fp_value v;
	if (!(d->s->tests & (1u << FP_TEST_IE)))
		return;
	p->ie.present = true;
	p->ie.respond = !is(d, FP_TEST_IE, FP_ATTR_R, "N");
	if (!p->ie.respond)
		return;
	p->ie.dfi = get(d, FP_TEST_IE, FP_ATTR_DFI, &v) && v.len == 1 ? (uint8_t)v.s[0] : 'N';
	if (!strchr("NSYO", p->ie.dfi))
		bad(d, FP_TEST_IE, FP_ATTR_DFI, "expected N, S, Y or O");
	p->ie.cd = 'Z';
	if (get(d, FP_TEST_IE, FP_ATTR_CD, &v)) {
		if (v.len == 1 && strchr("ZSO", v.s[0])) {
			p->ie.cd = (uint8_t)v.s[0];
		} else if (v.hex && v.num <= 0xff) {
			p->ie.cd = 'V';
			p->ie.cd_value = (uint8_t)v.num;
		} else {
			bad(d, FP_TEST_IE, FP_ATTR_CD, "expected Z, S, O or a code");
		}
	}
}

/* Initial TTLs real stacks use, most common first. */
static const unsigned common_ttls[] = {64, 128, 255, 32, 60, 30, 200, 150, 100};

static bool ttl_fits(const struct fp_osdb *db, size_t idx, unsigned test, unsigned attr, unsigned ttl)
{
	struct fp_expr e;
	char b[12];
	struct fp_value v;
	if (fp_osdb_expr(db, idx, test, attr, &e) != 0)
		return false;
	snprintf(b, sizeof(b), "%X", ttl);
	fp_value_init(&v, b);
	return fp_expr_match(&e, &v, FP_EXPR_NMAP793) && fp_expr_match(&e, &v, FP_EXPR_STRICT);
}

/* A test's T is the answer's initial TTL as nmap reconstructs it. The
 * subject's example may be any value of the entry's range (T=3B-45 gives
 * 3B); a real host sends one of a few initial values, the same for every
 * answer when it can: prefer the host's TTL, then common ones. */
static unsigned settle_ttl(const struct fp_osdb *db, size_t idx, struct fp_subject *s, unsigned test,
			   unsigned prefer)
{
	struct fp_value v;
	bool has_t = fp_subject_get(s, test, FP_ATTR_T, &v);
	unsigned cur = has_t && v.hex ? v.num : 0;
	unsigned attr = has_t ? FP_ATTR_T : FP_ATTR_TG;
	if (!has_t) {
		if (!fp_subject_get(s, test, FP_ATTR_TG, &v))
			return 0;
		cur = v.hex ? v.num : 0;
	}
	unsigned pick = cur <= 255 ? cur : 0;
	bool fits = false;
	if (prefer && ttl_fits(db, idx, test, attr, prefer)) {
		pick = prefer;
		fits = true;
	} else {
		for (size_t i = 0; i < sizeof(common_ttls) / sizeof(common_ttls[0]); i++)
			if (ttl_fits(db, idx, test, attr, common_ttls[i])) {
				pick = common_ttls[i];
				fits = true;
				break;
			}
	}
	if (!fits && attr == FP_ATTR_T) {
		/* T beyond 255 (T=100 with TG=FF): recorded one router away; on
		 * a LAN nmap sees distance 1 and T cannot match. Send TG's
		 * value and leave T as the entry wants it (counted by the
		 * whole-database test as unmatchable on a LAN). */
		for (size_t i = 0; i < sizeof(common_ttls) / sizeof(common_ttls[0]); i++)
			if (ttl_fits(db, idx, test, FP_ATTR_TG, common_ttls[i]))
				return common_ttls[i];
		return pick;
	}
	if (pick && pick != cur) {
		char b[12];
		snprintf(b, sizeof(b), "%X", pick);
		fp_subject_set(s, test, attr, b);
	}
	return pick;
}

static void settle_ttls(const struct fp_osdb *db, size_t idx, struct fp_persona *p)
{
	static const unsigned order[] = {FP_TEST_T1, FP_TEST_ECN, FP_TEST_T2, FP_TEST_T3, FP_TEST_T4,
					 FP_TEST_T5, FP_TEST_T6, FP_TEST_T7, FP_TEST_U1, FP_TEST_IE};
	unsigned host = 0;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		unsigned t = settle_ttl(db, idx, &p->subject, order[i], host);
		if (!host && t)
			host = t;
	}
	p->ttl = (uint8_t)(host ? host : 64);
}

/* The TTL an answer carries: its test's T (or TG), else the host's. A
 * few devices really send TTLs near 0 in some answers (T=00-0A). */
static uint8_t test_ttl(struct dec *d, unsigned test, uint8_t host)
{
	struct fp_value v;
	if (get(d, test, FP_ATTR_T, &v) && v.hex && v.num <= 255)
		return (uint8_t)v.num;
	if (get(d, test, FP_ATTR_TG, &v) && v.hex && v.num <= 255)
		return (uint8_t)v.num;
	return host;
}

int fp_persona_compile(const struct fp_osdb *db, size_t idx, struct fp_persona *out,
		       char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int rc = fp_osmatch_distinct_subject(db, idx, &out->subject, &out->rivals);
	if (rc) {
		snprintf(err, errlen, "entry %zu (%s): no concrete answer satisfies it (%s)", idx,
			 fp_osdb_name(db, idx) ? fp_osdb_name(db, idx) : "?", strerror(-rc));
		return rc;
	}
	out->entry = (uint32_t)idx;
	snprintf(out->name, sizeof(out->name), "%s", fp_osdb_name(db, idx));
	out->family = fp_persona_family_of(db, idx);

	settle_ttls(db, idx, out);
	struct dec d = {.s = &out->subject, .err = err, .errlen = errlen};
	decode_seq(&d, out);
	out->ops_respond = !is(&d, FP_TEST_OPS, FP_ATTR_R, "N");
	out->win_respond = !is(&d, FP_TEST_WIN, FP_ATTR_R, "N");
	for (unsigned k = 0; k < 6; k++) {
		struct fp_syn_answer *a = &out->syn[k];
		struct fp_value v;
		a->present = get(&d, FP_TEST_OPS, FP_ATTR_O1 + k, &v) || get(&d, FP_TEST_WIN, FP_ATTR_W1 + k, &v);
		decode_opts(&d, FP_TEST_OPS, FP_ATTR_O1 + k, &a->opts);
		a->window = (uint16_t)hexval(&d, FP_TEST_WIN, FP_ATTR_W1 + k, 0);
	}
	decode_tcp(&d, FP_TEST_ECN, &out->ecn);
	out->ecn.ttl = test_ttl(&d, FP_TEST_ECN, out->ttl);
	for (unsigned k = 0; k < 7; k++) {
		decode_tcp(&d, FP_TEST_T1 + k, &out->t[k]);
		out->t[k].ttl = test_ttl(&d, FP_TEST_T1 + k, out->ttl);
	}
	decode_u1(&d, out);
	out->u1.ttl = test_ttl(&d, FP_TEST_U1, out->ttl);
	decode_ie(&d, out);
	out->ie.ttl = test_ttl(&d, FP_TEST_IE, out->ttl);
	if (d.rc) {
		/* Prefix the entry so a whole-database run names what failed. */
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "entry %zu (%s): %s", idx, out->name, why);
	}
	return d.rc;
}

/* ---- rendering: persona -> what nmap prints ---- */

static int put(struct fp_subject *s, unsigned test, unsigned attr, const char *v)
{
	return fp_subject_set(s, test, attr, v);
}

static int puthex(struct fp_subject *s, unsigned test, unsigned attr, uint32_t v)
{
	char b[16];
	snprintf(b, sizeof(b), "%X", v);
	return put(s, test, attr, b);
}

static int put_ipid(struct fp_subject *s, unsigned attr, const struct fp_ipid *c)
{
	static const char *const codes[] = {[FP_IPID_ZERO] = "Z", [FP_IPID_RANDOM] = "RD",
					    [FP_IPID_RANDOM_INCR] = "RI", [FP_IPID_BROKEN] = "BI",
					    [FP_IPID_INCR] = "I"};
	if (c->kind == FP_IPID_UNSET)
		return 0;
	if (c->kind == FP_IPID_FIXED)
		return puthex(s, FP_TEST_SEQ, attr, c->value);
	return put(s, FP_TEST_SEQ, attr, codes[c->kind]);
}

/* nmap: round(8 * log2(x)) for rates and deviations above 1, else 0. */
static uint32_t log_class(double x)
{
	return x > 1.0 ? (uint32_t)lround(8.0 * log2(x)) : 0;
}

static int render_tcp(const struct fp_subject *src, struct fp_subject *s, unsigned test,
		      const struct fp_tcp_answer *a)
{
	uint8_t ttl = a->ttl;
	static const char *const sa_seq[] = {"Z", "A", "A+", "O"};
	static const char *const sa_ack[] = {"Z", "S", "S+", "O"};
	static const char letters[] = "EUAPRSF";
	static const uint8_t bits[] = {FP_TH_ECE, FP_TH_URG, FP_TH_ACK, FP_TH_PSH,
				       FP_TH_RST, FP_TH_SYN, FP_TH_FIN};
	int rc = 0;
	if (!a->present)
		return 0;
	/* nmap prints only the attributes the reference has; render what the
	 * compiled subject carried so the comparison is like for like. */
	fp_attr_mask want = src->present[test];
	if (want & FP_ATTR_BIT(FP_ATTR_R))
		rc |= put(s, test, FP_ATTR_R, a->respond ? "Y" : "N");
	if (!a->respond)
		return rc;
	if (want & FP_ATTR_BIT(FP_ATTR_DF))
		rc |= put(s, test, FP_ATTR_DF, a->df ? "Y" : "N");
	if (want & FP_ATTR_BIT(FP_ATTR_T))
		rc |= puthex(s, test, FP_ATTR_T, ttl);
	if (want & FP_ATTR_BIT(FP_ATTR_TG))
		rc |= puthex(s, test, FP_ATTR_TG, ttl);
	if (want & FP_ATTR_BIT(FP_ATTR_W))
		rc |= puthex(s, test, FP_ATTR_W, a->window);
	if (want & FP_ATTR_BIT(FP_ATTR_S))
		rc |= put(s, test, FP_ATTR_S, sa_seq[a->seq & 3]);
	if (want & FP_ATTR_BIT(FP_ATTR_A))
		rc |= put(s, test, FP_ATTR_A, sa_ack[a->ack & 3]);
	if (want & FP_ATTR_BIT(FP_ATTR_F)) {
		char f[16];
		size_t n = 0;
		for (size_t i = 0; i < sizeof(bits); i++)
			if (a->flags & bits[i])
				f[n++] = letters[i];
		f[n] = 0;
		rc |= put(s, test, FP_ATTR_F, f);
	}
	if (want & FP_ATTR_BIT(FP_ATTR_O)) {
		char o[96];
		rc |= fp_topts_format(&a->opts, o, sizeof(o)) ? -ENOSPC : put(s, test, FP_ATTR_O, o);
	}
	if (want & FP_ATTR_BIT(FP_ATTR_RD))
		rc |= puthex(s, test, FP_ATTR_RD, a->rd);
	if (want & FP_ATTR_BIT(FP_ATTR_Q)) {
		char q[4];
		size_t n = 0;
		if (a->quirk_reserved)
			q[n++] = 'R';
		if (a->quirk_urgent)
			q[n++] = 'U';
		q[n] = 0;
		rc |= put(s, test, FP_ATTR_Q, q);
	}
	if (test == FP_TEST_ECN && (want & FP_ATTR_BIT(FP_ATTR_CC)) && a->cc) {
		static const char *const cc[] = {"", "N", "Y", "S", "O"};
		rc |= put(s, test, FP_ATTR_CC, cc[a->cc]);
	}
	return rc;
}

int fp_persona_render(const struct fp_persona *p, struct fp_subject *s)
{
	const struct fp_subject *src = &p->subject;
	int rc = 0;
	fp_subject_init(s);
	if (p->seq.present) {
		fp_attr_mask want = src->present[FP_TEST_SEQ];
		fp_subject_add_test(s, FP_TEST_SEQ);
		if (want & FP_ATTR_BIT(FP_ATTR_R))
			rc |= put(s, FP_TEST_SEQ, FP_ATTR_R, p->seq.respond ? "Y" : "N");
		if (want & FP_ATTR_BIT(FP_ATTR_SP))
			rc |= puthex(s, FP_TEST_SEQ, FP_ATTR_SP, log_class(p->seq.isn_sd));
		if (want & FP_ATTR_BIT(FP_ATTR_GCD))
			rc |= puthex(s, FP_TEST_SEQ, FP_ATTR_GCD, p->seq.gcd);
		if (want & FP_ATTR_BIT(FP_ATTR_ISR))
			rc |= puthex(s, FP_TEST_SEQ, FP_ATTR_ISR, log_class(p->seq.isn_rate_hz));
		rc |= put_ipid(s, FP_ATTR_TI, &p->seq.ti);
		rc |= put_ipid(s, FP_ATTR_CI, &p->seq.ci);
		rc |= put_ipid(s, FP_ATTR_II, &p->seq.ii);
		if (want & FP_ATTR_BIT(FP_ATTR_SS))
			rc |= put(s, FP_TEST_SEQ, FP_ATTR_SS, p->seq.ss_shared ? "S" : "O");
		if (want & FP_ATTR_BIT(FP_ATTR_TS)) {
			uint32_t ts = 0;
			if (!p->seq.ts_supported)
				rc |= put(s, FP_TEST_SEQ, FP_ATTR_TS, "U");
			else {
				if (p->seq.ts_random)
					ts = p->seq.ts_class;
				else if (p->seq.ts_hz == 2)
					ts = 1;
				else if (p->seq.ts_hz == 100)
					ts = 7;
				else if (p->seq.ts_hz == 200)
					ts = 8;
				else if (p->seq.ts_hz)
					ts = (uint32_t)lround(log2((double)p->seq.ts_hz));
				rc |= puthex(s, FP_TEST_SEQ, FP_ATTR_TS, ts);
			}
		}
	}
	if (src->present[FP_TEST_OPS] & FP_ATTR_BIT(FP_ATTR_R))
		rc |= put(s, FP_TEST_OPS, FP_ATTR_R, p->ops_respond ? "Y" : "N");
	if (src->present[FP_TEST_WIN] & FP_ATTR_BIT(FP_ATTR_R))
		rc |= put(s, FP_TEST_WIN, FP_ATTR_R, p->win_respond ? "Y" : "N");
	for (unsigned k = 0; k < 6; k++) {
		const struct fp_syn_answer *a = &p->syn[k];
		if (src->present[FP_TEST_OPS] & FP_ATTR_BIT(FP_ATTR_O1 + k)) {
			char o[96];
			rc |= fp_topts_format(&a->opts, o, sizeof(o)) ? -ENOSPC
								       : put(s, FP_TEST_OPS, FP_ATTR_O1 + k, o);
		}
		if (src->present[FP_TEST_WIN] & FP_ATTR_BIT(FP_ATTR_W1 + k))
			rc |= puthex(s, FP_TEST_WIN, FP_ATTR_W1 + k, a->window);
	}
	if (src->tests & (1u << FP_TEST_OPS))
		fp_subject_add_test(s, FP_TEST_OPS);
	if (src->tests & (1u << FP_TEST_WIN))
		fp_subject_add_test(s, FP_TEST_WIN);
	rc |= render_tcp(src, s, FP_TEST_ECN, &p->ecn);
	for (unsigned k = 0; k < 7; k++)
		rc |= render_tcp(src, s, FP_TEST_T1 + k, &p->t[k]);
	if (p->u1.present) {
		fp_attr_mask want = src->present[FP_TEST_U1];
		fp_subject_add_test(s, FP_TEST_U1);
		if (want & FP_ATTR_BIT(FP_ATTR_R))
			rc |= put(s, FP_TEST_U1, FP_ATTR_R, p->u1.respond ? "Y" : "N");
		if (p->u1.respond) {
			if (want & FP_ATTR_BIT(FP_ATTR_DF))
				rc |= put(s, FP_TEST_U1, FP_ATTR_DF, p->u1.df ? "Y" : "N");
			if (want & FP_ATTR_BIT(FP_ATTR_T))
				rc |= puthex(s, FP_TEST_U1, FP_ATTR_T, p->u1.ttl);
			if (want & FP_ATTR_BIT(FP_ATTR_TG))
				rc |= puthex(s, FP_TEST_U1, FP_ATTR_TG, p->u1.ttl);
			if (want & FP_ATTR_BIT(FP_ATTR_IPL))
				rc |= puthex(s, FP_TEST_U1, FP_ATTR_IPL, p->u1.ipl);
			if (want & FP_ATTR_BIT(FP_ATTR_UN))
				rc |= puthex(s, FP_TEST_U1, FP_ATTR_UN, p->u1.un);
			if (want & FP_ATTR_BIT(FP_ATTR_RIPL))
				rc |= p->u1.ripl_good ? put(s, FP_TEST_U1, FP_ATTR_RIPL, "G")
						      : puthex(s, FP_TEST_U1, FP_ATTR_RIPL, p->u1.ripl);
			if (want & FP_ATTR_BIT(FP_ATTR_RID))
				rc |= p->u1.rid_good ? put(s, FP_TEST_U1, FP_ATTR_RID, "G")
						     : puthex(s, FP_TEST_U1, FP_ATTR_RID, p->u1.rid);
			if (want & FP_ATTR_BIT(FP_ATTR_RIPCK)) {
				static const char *const ck[] = {"G", "Z", "I"};
				rc |= put(s, FP_TEST_U1, FP_ATTR_RIPCK, ck[p->u1.ripck]);
			}
			if (want & FP_ATTR_BIT(FP_ATTR_RUCK))
				rc |= p->u1.ruck_good ? put(s, FP_TEST_U1, FP_ATTR_RUCK, "G")
						      : puthex(s, FP_TEST_U1, FP_ATTR_RUCK, p->u1.ruck);
			if (want & FP_ATTR_BIT(FP_ATTR_RUD))
				rc |= put(s, FP_TEST_U1, FP_ATTR_RUD, p->u1.rud_good ? "G" : "I");
		}
	}
	if (p->ie.present) {
		fp_attr_mask want = src->present[FP_TEST_IE];
		fp_subject_add_test(s, FP_TEST_IE);
		if (want & FP_ATTR_BIT(FP_ATTR_R))
			rc |= put(s, FP_TEST_IE, FP_ATTR_R, p->ie.respond ? "Y" : "N");
		if (p->ie.respond) {
			char b[4] = {(char)p->ie.dfi, 0};
			if (want & FP_ATTR_BIT(FP_ATTR_DFI))
				rc |= put(s, FP_TEST_IE, FP_ATTR_DFI, b);
			if (want & FP_ATTR_BIT(FP_ATTR_T))
				rc |= puthex(s, FP_TEST_IE, FP_ATTR_T, p->ie.ttl);
			if (want & FP_ATTR_BIT(FP_ATTR_TG))
				rc |= puthex(s, FP_TEST_IE, FP_ATTR_TG, p->ie.ttl);
			if (want & FP_ATTR_BIT(FP_ATTR_CD)) {
				if (p->ie.cd == 'V')
					rc |= puthex(s, FP_TEST_IE, FP_ATTR_CD, p->ie.cd_value);
				else {
					b[0] = (char)p->ie.cd;
					rc |= put(s, FP_TEST_IE, FP_ATTR_CD, b);
				}
			}
		}
	}
	return rc ? -ENOSPC : 0;
}
