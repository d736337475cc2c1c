/* fp_macdb: nmap's nmap-mac-prefixes (OUI -> registered vendor), read at
 * run time from nmap's installed data directory and never vendored (its
 * licence is not ours), and the matcher that finds the OUIs registered to
 * the vendor an nmap-os-db Class line names ("Cisco" -> "Cisco Systems",
 * "HP" -> "Hewlett Packard", "Brother" -> "Brother Industries").
 *
 * Matching works on normalised names: lowercase, every run of punctuation
 * or blanks one space ("D-Link" == "d link"). A registered vendor matches
 * when its words start with the Class vendor's words and
 *   strict: every further word is a company-form word ("systems", "inc",
 *           "communications", ...): "Cisco" -> "Cisco Systems", not
 *           "Cisco Meraki" nor "Cisco-Linksys";
 *   loose:  anything follows ("Synology" -> "Synology Incorporated"); used
 *           only when no strict match exists.
 * A small alias table maps the notable names that differ (HP, DEC, SGI,
 * MikroTik -> Routerboard.com, ...). Vendors that are operating systems,
 * not hardware (Linux, Microsoft, FreeBSD, ...), are a separate table: a
 * decky of theirs keeps its family's hardware OUI.
 *
 * A loaded database is immutable: safe to share between threads.
 * Ownership: fp_macdb_load's *out is freed with fp_macdb_free.
 */
#ifndef FP_MACDB_H
#define FP_MACDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fp_macdb;

/* Load nmap-mac-prefixes. Only 24-bit prefixes ("001122 Vendor") that are
 * globally administered unicast are kept; other lines are skipped. 0, or
 * -errno with a one-line reason in err (-ENOENT: file missing). */
int fp_macdb_load(const char *path, struct fp_macdb **out, char *err, size_t errlen);
void fp_macdb_free(struct fp_macdb *db);
size_t fp_macdb_count(const struct fp_macdb *db);
/* The vendor an OUI is registered to, as the file writes it, or NULL.
 * O(n): for tests and tools, not per packet. */
const char *fp_macdb_lookup(const struct fp_macdb *db, const uint8_t oui[3]);

/* The default file beside an nmap-os-db path ("/usr/share/nmap/nmap-os-db"
 * -> "/usr/share/nmap/nmap-mac-prefixes"). 0 or -ENAMETOOLONG. */
int fp_macdb_path_beside(const char *osdb_path, char *out, size_t len);

/* True when an nmap-os-db Class vendor names an operating system's maker
 * rather than hardware (a data table; case-insensitive). */
bool fp_macdb_os_vendor(const char *class_vendor);

/* The OUIs registered to class_vendor, in a stable order (by normalised
 * vendor name, then OUI): writes up to max of them to out and returns how
 * many match in all (0: no vendor matches). *registered, when not NULL,
 * gets the first matching vendor's name as the file spells it (valid as
 * long as db). */
size_t fp_macdb_vendor_ouis(const struct fp_macdb *db, const char *class_vendor,
			    uint8_t (*out)[3], size_t max, const char **registered);

#endif
