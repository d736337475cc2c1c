/* Shared by the containers unit test files (one executable, test_ctr). */
#ifndef TEST_CTR_H
#define TEST_CTR_H

#include "containers/ctr_plan.h"
#include "tests/unit/tap.h"

/* Load $DECNET_SRC/examples/NAME (or ../examples relative to the source
 * tree when run by hand). 0 or the loader's error (printed). */
int load_example(const char *name, struct fleet_config *cfg);
/* fleet_load_buffer with file name "t.ini". */
int load_text(const char *text, struct fleet_config *cfg);

const char *kv_get(const struct ctr_kv *kv, size_t n, const char *key);
#define ENV(c, k) kv_get((c)->env, (c)->n_env, (k))
#define LABEL(c, k) kv_get((c)->labels, (c)->n_labels, (k))
#define SYSCTL(c, k) kv_get((c)->sysctls, (c)->n_sysctls, (k))
/* a && b && strcmp(a, b) == 0 */
int str_is(const char *a, const char *b);

void test_plan_example(void);
void test_plan_options(void);
void test_plan_errors(void);
void test_plan_exec_words(void);
void test_plan_scale(void);
void test_compose(void);

#endif
