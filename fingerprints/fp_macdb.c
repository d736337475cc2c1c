/* nmap-mac-prefixes and the Class-vendor matcher (see fp_macdb.h). */
#include "fingerprints/fp_macdb.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NORM_MAX 128

struct macdb_entry {
	uint8_t oui[3];
	size_t norm_off, vendor_off; /* in pool, while loading (it moves) */
	const char *norm;            /* normalised vendor, once loaded */
	const char *vendor;          /* as the file writes it */
};

struct fp_macdb {
	struct macdb_entry *e; /* sorted by (normalised vendor, OUI) */
	size_t n;
	char *pool;
};

/* Operating systems' makers: a decky wearing their OS runs on somebody
 * else's hardware, so it keeps the family's OUI. Normalised spellings. */
static const char *const os_vendors[] = {
	"linux", "microsoft", "freebsd", "openbsd", "netbsd", "dragonfly bsd", "bsd",
	"bsdi", "pc bsd", "freenas", "gnu", "haiku", "illumos", "qnx", "ecoscentric",
	"lwip", "ka9q", "wind river", "green hills", "express logic", "microware",
	"sco", "caldera", "novell", "cyanogenmod", "nexenta", "barrelfish",
	"riscos ltd", "bell labs", "interpeak", "google", "red hat", "mandriva",
	"debian", "ubuntu", "gentoo", "slackware", "suse",
};

/* Class vendor -> the name nmap-mac-prefixes registers it under, both
 * normalised. Found by running every Class vendor of nmap-os-db through
 * the matcher (tests/unit/fingerprints/test_fp_macdb.c prints the
 * coverage): the vendors with many entries that matched nothing or the
 * wrong company. A target that matches nothing suppresses a wrong loose
 * match ("digi" would otherwise find "Digi-data"). */
static const struct {
	const char *cls, *registered;
} aliases[] = {
	{"hp", "hewlett packard"},
	{"compaq", "hewlett packard"},       /* bought by HP */
	{"linksys", "cisco linksys"},
	{"mikrotik", "routerboard com"},
	{"dec", "digital equipment"},
	{"sgi", "silicon graphics"},
	{"sun", "oracle"},                   /* Sun's OUIs are Oracle's now */
	{"epson", "seiko epson"},
	{"kodak", "eastman kodak"},
	{"w t", "wiesemann theis"},
	{"allen bradley", "rockwell automation"},
	{"h3c", "new h3c technologies"},
	{"minolta", "konica minolta"},
	{"sagem communication", "sagemcom broadband"},
	{"rim", "blackberry rts"},
	{"foundry", "brocade communications systems"}, /* bought by Brocade */
	{"allied telesyn", "allied telesis"},
	{"supermicro", "super micro computer"},
	{"symbol", "zebra technologies"},    /* bought by Zebra */
	{"digi", "digi international"},
};

/* Words that may follow a company's name in its registration. */
static const char *const company_words[] = {
	"inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited",
	"llc", "gmbh", "ag", "sa", "sas", "spa", "srl", "bv", "nv", "ab", "as", "oy",
	"kk", "plc", "pte", "pty", "holdings", "systems", "system", "communications",
	"communication", "networks", "network", "technologies", "technology", "tech",
	"international", "industries", "industrial", "electronics", "electronic",
	"enterprise", "computer", "computers", "group", "labs", "laboratories",
	"solutions", "devices", "products", "japan", "usa", "america", "europe",
};

/* Lowercase words of ASCII letters and digits (bytes >= 0x80 kept as
 * letters), single spaces between them. */
static void normalise(const char *s, char *out, size_t len)
{
	size_t o = 0;
	bool gap = false;
	for (; *s && o + 2 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c >= 0x80) {
			if (gap && o)
				out[o++] = ' ';
			out[o++] = (char)tolower(c);
			gap = false;
		} else {
			gap = true;
		}
	}
	out[o] = 0;
}

static bool in_table(const char *const *t, size_t n, const char *w, size_t wl)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i]) == wl && memcmp(t[i], w, wl) == 0)
			return true;
	return false;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

bool fp_macdb_os_vendor(const char *class_vendor)
{
	char n[NORM_MAX];
	normalise(class_vendor, n, sizeof(n));
	return in_table(os_vendors, COUNT(os_vendors), n, strlen(n));
}

/* Only company words after the matched name (rest is "" or " word..."). */
static bool rest_is_company(const char *rest)
{
	while (*rest == ' ') {
		const char *w = rest + 1;
		size_t wl = strcspn(w, " ");
		if (!in_table(company_words, COUNT(company_words), w, wl))
			return false;
		rest = w + wl;
	}
	return true;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct macdb_entry *x = a, *y = b;
	int c = strcmp(x->norm, y->norm);
	return c ? c : memcmp(x->oui, y->oui, 3);
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* "001122 Vendor name": 0 with the OUI and the vendor, or -EINVAL. */
static int parse_line(const char *l, uint8_t oui[3], const char **vendor)
{
	for (int i = 0; i < 6; i++)
		if (hexval((unsigned char)l[i]) < 0)
			return -EINVAL;
	if (l[6] != ' ' && l[6] != '\t')
		return -EINVAL;
	for (int i = 0; i < 3; i++)
		oui[i] = (uint8_t)(hexval((unsigned char)l[2 * i]) << 4 |
				   hexval((unsigned char)l[2 * i + 1]));
	*vendor = l + 7;
	while (**vendor == ' ' || **vendor == '\t')
		(*vendor)++;
	return **vendor ? 0 : -EINVAL;
}

static int db_add(struct fp_macdb *db, size_t *cap, size_t *pool_len, size_t *pool_cap,
		  const uint8_t oui[3], const char *vendor)
{
	char norm[NORM_MAX];
	normalise(vendor, norm, sizeof(norm));
	size_t vl = strlen(vendor) + 1, nl = strlen(norm) + 1;
	if (*pool_len + vl + nl > *pool_cap) {
		size_t c = *pool_cap ? *pool_cap * 2 : 1u << 20;
		while (c < *pool_len + vl + nl)
			c *= 2;
		char *p = realloc(db->pool, c);
		if (!p)
			return -ENOMEM;
		db->pool = p;
		*pool_cap = c;
	}
	if (db->n == *cap) {
		size_t c = *cap ? *cap * 2 : 4096;
		struct macdb_entry *e = realloc(db->e, c * sizeof(*e));
		if (!e)
			return -ENOMEM;
		db->e = e;
		*cap = c;
	}
	struct macdb_entry *e = &db->e[db->n++];
	memcpy(e->oui, oui, 3);
	e->vendor_off = *pool_len;
	memcpy(db->pool + *pool_len, vendor, vl);
	*pool_len += vl;
	e->norm_off = *pool_len;
	memcpy(db->pool + *pool_len, norm, nl);
	*pool_len += nl;
	return 0;
}

int fp_macdb_load(const char *path, struct fp_macdb **out, char *err, size_t errlen)
{
	int rc = 0;
	size_t cap = 0, pool_len = 0, pool_cap = 0;
	char line[512];
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	struct fp_macdb *db = calloc(1, sizeof(*db));
	if (!db) {
		rc = -ENOMEM;
		goto err_close;
	}
	bool continued = false;
	while (fgets(line, sizeof(line), f)) {
		/* The tail of an over-long line is never a line of its own. */
		bool tail = continued;
		continued = !strchr(line, '\n') && !feof(f);
		if (tail)
			continue;
		line[strcspn(line, "\r\n")] = 0;
		uint8_t oui[3];
		const char *vendor;
		/* Multicast or locally administered prefixes (the file's
		 * unregistered additions, e.g. QEMU's 52:54:00) never go on
		 * a decky. */
		if (parse_line(line, oui, &vendor) != 0 || (oui[0] & 0x03))
			continue;
		rc = db_add(db, &cap, &pool_len, &pool_cap, oui, vendor);
		if (rc)
			goto err_free;
	}
	if (ferror(f)) {
		rc = -EIO;
		goto err_free;
	}
	if (!db->n) {
		rc = -ENODATA;
		snprintf(err, errlen, "%s: no OUI lines", path);
		goto err_free_quiet;
	}
	for (size_t i = 0; i < db->n; i++) {
		db->e[i].norm = db->pool + db->e[i].norm_off;
		db->e[i].vendor = db->pool + db->e[i].vendor_off;
	}
	qsort(db->e, db->n, sizeof(*db->e), entry_cmp);
	fclose(f);
	*out = db;
	return 0;

err_free:
	snprintf(err, errlen, "%s: %s", path, strerror(-rc));
err_free_quiet:
	fp_macdb_free(db);
	fclose(f);
	return rc;
err_close:
	snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	fclose(f);
	return rc;
}

void fp_macdb_free(struct fp_macdb *db)
{
	if (!db)
		return;
	free(db->e);
	free(db->pool);
	free(db);
}

size_t fp_macdb_count(const struct fp_macdb *db)
{
	return db ? db->n : 0;
}

const char *fp_macdb_lookup(const struct fp_macdb *db, const uint8_t oui[3])
{
	for (size_t i = 0; db && i < db->n; i++)
		if (memcmp(db->e[i].oui, oui, 3) == 0)
			return db->e[i].vendor;
	return NULL;
}

int fp_macdb_path_beside(const char *osdb_path, char *out, size_t len)
{
	const char *slash = strrchr(osdb_path, '/');
	int n = slash ? snprintf(out, len, "%.*s/nmap-mac-prefixes", (int)(slash - osdb_path), osdb_path)
		      : snprintf(out, len, "nmap-mac-prefixes");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* First entry whose normalised vendor is >= key. */
static size_t lower_bound(const struct fp_macdb *db, const char *key)
{
	size_t lo = 0, hi = db->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(db->e[mid].norm, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Walk the entries whose vendor starts with the words of key; strict
 * keeps those followed by company words only. Returns the match count. */
static size_t walk(const struct fp_macdb *db, const char *key, bool strict, uint8_t (*out)[3],
		   size_t max, const char **registered)
{
	size_t kl = strlen(key), n = 0;
	for (size_t i = lower_bound(db, key); i < db->n; i++) {
		const char *v = db->e[i].norm;
		if (strncmp(v, key, kl) != 0)
			break;
		if (v[kl] != 0 && v[kl] != ' ')
			continue;
		if (strict && !rest_is_company(v + kl))
			continue;
		if (n < max)
			memcpy(out[n], db->e[i].oui, 3);
		if (!n && registered)
			*registered = db->e[i].vendor;
		n++;
	}
	return n;
}

size_t fp_macdb_vendor_ouis(const struct fp_macdb *db, const char *class_vendor,
			    uint8_t (*out)[3], size_t max, const char **registered)
{
	char key[NORM_MAX];
	if (registered)
		*registered = NULL;
	if (!db || !class_vendor)
		return 0;
	normalise(class_vendor, key, sizeof(key));
	if (!key[0])
		return 0;
	for (size_t i = 0; i < COUNT(aliases); i++) {
		if (strcmp(key, aliases[i].cls) == 0) {
			snprintf(key, sizeof(key), "%s", aliases[i].registered);
			break;
		}
	}
	size_t n = walk(db, key, true, out, max, registered);
	return n ? n : walk(db, key, false, out, max, registered);
}
