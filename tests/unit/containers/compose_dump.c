/* compose_dump: the dry run's output for a fleet file, for the schema
 * test (test_compose_schema.py) until the CLI's deploy --dry-run exists.
 *
 *   compose_dump [--ipvlan] [--interface IF] [--distro SLUG]
 *                [--log-target IP:PORT] [--log-file PATH] FILE.ini
 *
 * Prints the compose document on stdout; exits 1 with one line on stderr
 * when the file does not load or the plan is refused, 2 on bad usage. */
#include <stdio.h>
#include <string.h>

#include "containers/ctr_plan.h"

static int usage(void)
{
	fprintf(stderr, "usage: compose_dump [--ipvlan] [--interface IF] [--distro SLUG] "
			"[--log-target IP:PORT] [--log-file PATH] FILE.ini\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct ctr_plan_opts opts = {0};
	struct fleet_config cfg;
	struct fleet_error ferr;
	struct ctr_plan plan;
	const char *file = NULL;
	char msg[600];
	int i, r;

	for (i = 1; i < argc; i++) {
		const char **val = strcmp(argv[i], "--interface") == 0    ? &opts.interface
				   : strcmp(argv[i], "--distro") == 0     ? &opts.distro
				   : strcmp(argv[i], "--log-target") == 0 ? &opts.log_target
				   : strcmp(argv[i], "--log-file") == 0   ? &opts.log_file
									  : NULL;
		if (val) {
			if (++i == argc)
				return usage();
			*val = argv[i];
		} else if (strcmp(argv[i], "--ipvlan") == 0) {
			opts.ipvlan = true;
		} else if (argv[i][0] == '-' || file) {
			return usage();
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return usage();
	if (fleet_load_file(file, &cfg, &ferr) < 0) {
		fleet_error_format(&ferr, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	r = ctr_plan_build(&cfg, &opts, &plan, msg, sizeof(msg));
	fleet_config_free(&cfg);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", file, msg);
		return 1;
	}
	r = ctr_compose_write(&plan, stdout);
	ctr_plan_free(&plan);
	if (r < 0) {
		fprintf(stderr, "compose_dump: cannot write the document: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
