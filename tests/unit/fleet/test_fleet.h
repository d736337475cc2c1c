/* Shared by the fleet unit test files (one executable, test_fleet). */
#ifndef TEST_FLEET_H
#define TEST_FLEET_H

#include "fleet/fleet.h"
#include "tests/unit/tap.h"

/* fleet_load_buffer with file name "t.ini". */
int load_text(const char *text, struct fleet_config *cfg, struct fleet_error *err);
const struct fleet_decky *find_decky(const struct fleet_config *cfg, const char *name);

void test_tables(void);
void test_ctl_tables(void);
void test_ini(void);
void test_parsers(void);
void test_load_errors(void);
void test_load_good(void);
void test_decky_from_kv(void);
void test_examples(void);
void test_scale(void);
void test_mac_vendor(void);

#endif
