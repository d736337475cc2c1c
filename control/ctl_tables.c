/* The three listing commands share one engine: a listing names its
 * columns, how to render a cell as text, and how to render a row as a
 * JSON object. Text output measures every cell first so the columns line
 * up whatever the tables hold; JSON keeps lists as arrays (services,
 * ports, distros, persona keys) instead of the comma strings the text
 * shows.
 */
#include "control/ctl_tables.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fleet/fleet.h"

#define CELL_MAX 256
#define COLS_MAX 5

struct listing {
	const char *command;
	const char *what; /* for --help */
	const char *headers[COLS_MAX];
	unsigned n_cols;
	size_t (*count)(void);
	void (*cell)(size_t row, unsigned col, char *buf, size_t len);
	cJSON *(*row_json)(size_t row);
};

/* Append a comma list "a, b" to obj as a JSON array of strings. */
static bool add_list(cJSON *obj, const char *name, const char *list)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, name);
	const char *item;
	size_t len;
	char buf[CELL_MAX];
	if (!arr)
		return false;
	while (fleet_list_next(&list, &item, &len) > 0) {
		snprintf(buf, sizeof(buf), "%.*s", (int)len, item);
		cJSON *s = cJSON_CreateString(buf);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return false;
		}
	}
	return true;
}

static void ports_text(const struct fleet_service *svc, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < svc->n_ports && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%u/%s", i ? ", " : "",
				 svc->ports[i].port, fleet_proto_name(svc->ports[i].proto));
		off += n > 0 ? (size_t)n : 0;
	}
}

/* ---- services --------------------------------------------------------- */

static const struct fleet_service *service_row(size_t row)
{
	size_t n;
	return &fleet_services(&n)[row];
}

static size_t services_count(void)
{
	size_t n;
	fleet_services(&n);
	return n;
}

static void services_cell(size_t row, unsigned col, char *buf, size_t len)
{
	const struct fleet_service *s = service_row(row);
	if (col == 1)
		ports_text(s, buf, len);
	else
		snprintf(buf, len, "%s",
			 col == 0 ? s->slug : col == 2 ? s->default_image : s->description);
}

static cJSON *services_json(size_t row)
{
	const struct fleet_service *s = service_row(row);
	cJSON *o = cJSON_CreateObject(), *ports = NULL, *keys = NULL;
	bool ok = o && cJSON_AddStringToObject(o, "slug", s->slug) &&
		  cJSON_AddStringToObject(o, "description", s->description) &&
		  (ports = cJSON_AddArrayToObject(o, "ports")) &&
		  cJSON_AddStringToObject(o, "image", s->default_image) &&
		  (keys = cJSON_AddArrayToObject(o, "persona_keys"));
	for (unsigned i = 0; ok && i < s->n_ports; i++) {
		cJSON *p = cJSON_CreateObject();
		if (!p || !cJSON_AddItemToArray(ports, p)) {
			cJSON_Delete(p); /* not in the array: still ours */
			ok = false;
			break;
		}
		ok = cJSON_AddNumberToObject(p, "port", s->ports[i].port) &&
		     cJSON_AddStringToObject(p, "proto", fleet_proto_name(s->ports[i].proto));
	}
	for (const char *const *k = s->persona_keys; ok && *k; k++) {
		cJSON *str = cJSON_CreateString(*k);
		ok = str && cJSON_AddItemToArray(keys, str);
		if (!ok)
			cJSON_Delete(str);
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- archetypes ------------------------------------------------------- */

static const struct fleet_archetype *archetype_row(size_t row)
{
	size_t n;
	return &fleet_archetypes(&n)[row];
}

static size_t archetypes_count(void)
{
	size_t n;
	fleet_archetypes(&n);
	return n;
}

static void archetypes_cell(size_t row, unsigned col, char *buf, size_t len)
{
	const struct fleet_archetype *a = archetype_row(row);
	const char *cols[] = {a->slug, a->services, a->nmap_os, a->distros, a->description};
	snprintf(buf, len, "%s", cols[col]);
}

static cJSON *archetypes_json(size_t row)
{
	const struct fleet_archetype *a = archetype_row(row);
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "slug", a->slug) &&
		  add_list(o, "services", a->services) &&
		  cJSON_AddStringToObject(o, "nmap_os", a->nmap_os) &&
		  add_list(o, "distros", a->distros) &&
		  cJSON_AddStringToObject(o, "description", a->description);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- distros ---------------------------------------------------------- */

static const struct fleet_distro *distro_row(size_t row)
{
	size_t n;
	return &fleet_distros(&n)[row];
}

static size_t distros_count(void)
{
	size_t n;
	fleet_distros(&n);
	return n;
}

static void distros_cell(size_t row, unsigned col, char *buf, size_t len)
{
	const struct fleet_distro *d = distro_row(row);
	snprintf(buf, len, "%s", col == 0 ? d->slug : col == 1 ? d->image : d->display_name);
}

static cJSON *distros_json(size_t row)
{
	const struct fleet_distro *d = distro_row(row);
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "slug", d->slug) &&
		  cJSON_AddStringToObject(o, "image", d->image) &&
		  cJSON_AddStringToObject(o, "display_name", d->display_name);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static const struct listing services_listing = {
	"services", "the 25 honeypot services: ports, image, role",
	{"SLUG", "PORTS", "IMAGE", "DESCRIPTION"}, 4,
	services_count, services_cell, services_json,
};
static const struct listing archetypes_listing = {
	"archetypes", "machine archetypes: services, OS family, preferred distros",
	{"SLUG", "SERVICES", "NMAP_OS", "DISTROS", "DESCRIPTION"}, 5,
	archetypes_count, archetypes_cell, archetypes_json,
};
static const struct listing distros_listing = {
	"distros", "distro profiles: base image and display name",
	{"SLUG", "IMAGE", "DISPLAY NAME"}, 3,
	distros_count, distros_cell, distros_json,
};

/* ---- output ----------------------------------------------------------- */

static int print_text(const struct listing *l, FILE *out)
{
	size_t width[COLS_MAX], rows = l->count();
	char buf[CELL_MAX];
	for (unsigned c = 0; c < l->n_cols; c++)
		width[c] = strlen(l->headers[c]);
	for (size_t r = 0; r < rows; r++) {
		for (unsigned c = 0; c < l->n_cols; c++) {
			l->cell(r, c, buf, sizeof(buf));
			if (strlen(buf) > width[c])
				width[c] = strlen(buf);
		}
	}
	/* Row -1 is the header; the last column is not padded. */
	for (size_t r = 0; r <= rows; r++) {
		for (unsigned c = 0; c < l->n_cols; c++) {
			const char *text = l->headers[c];
			if (r > 0) {
				l->cell(r - 1, c, buf, sizeof(buf));
				text = buf;
			}
			if (c + 1 < l->n_cols)
				fprintf(out, "%-*s  ", (int)width[c], text);
			else
				fprintf(out, "%s\n", text);
		}
	}
	return ferror(out) ? 1 : 0;
}

static int print_json(const struct listing *l, FILE *out)
{
	cJSON *arr = cJSON_CreateArray();
	size_t rows = l->count();
	int rc = 1;
	for (size_t r = 0; arr && r < rows; r++) {
		cJSON *o = l->row_json(r);
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto out;
		}
	}
	char *text = arr ? cJSON_Print(arr) : NULL;
	if (text) {
		fprintf(out, "%s\n", text);
		rc = ferror(out) ? 1 : 0;
		cJSON_free(text);
	}
out:
	if (rc)
		fprintf(stderr, "decnet %s: cannot write JSON\n", l->command);
	cJSON_Delete(arr);
	return rc;
}

static int run(const struct listing *l, int argc, char **argv, FILE *out)
{
	bool json = false;
	/* argv[0] is the command's own name. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fprintf(out, "Usage: decnet %s [--json]\nList %s.\n", l->command, l->what);
			return 0;
		} else {
			fprintf(stderr, "decnet %s: unexpected argument '%s' (usage: decnet %s "
				"[--json])\n", l->command, argv[i], l->command);
			return 2;
		}
	}
	return json ? print_json(l, out) : print_text(l, out);
}

int ctl_cmd_services(int argc, char **argv, FILE *out)
{
	return run(&services_listing, argc, argv, out);
}

int ctl_cmd_archetypes(int argc, char **argv, FILE *out)
{
	return run(&archetypes_listing, argc, argv, out);
}

int ctl_cmd_distros(int argc, char **argv, FILE *out)
{
	return run(&distros_listing, argc, argv, out);
}
