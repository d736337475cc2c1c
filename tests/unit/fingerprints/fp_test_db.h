/* Shared by the fingerprints unit tests: where nmap's database is, and
 * loading it with a failure that says what to do when it is missing. The
 * suite must fail, not skip, without it: the parser's whole purpose is
 * that file. */
#ifndef FP_TEST_DB_H
#define FP_TEST_DB_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "decnet_config.h"
#include "fingerprints/fp_osdb.h"

/* $DECNET_NMAP_OS_DB overrides the path meson was configured with. */
static inline const char *fp_test_db_path(void)
{
	const char *p = getenv("DECNET_NMAP_OS_DB");
	return p && *p ? p : DECNET_NMAP_OS_DB;
}

/* NULL (after printing why) when the database cannot be loaded. */
static inline struct fp_osdb *fp_test_load_db(void)
{
	struct fp_osdb *db = NULL;
	char err[256];
	const char *path = fp_test_db_path();
	int rc = fp_osdb_load(path, &db, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "FAIL: cannot load nmap's OS database: %s (rc %d)\n"
				"      install nmap (apt-get install nmap) or set "
				"DECNET_NMAP_OS_DB to its nmap-os-db\n", err, rc);
		return NULL;
	}
	return db;
}

static inline double fp_test_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
