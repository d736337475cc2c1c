/* ctr_deploy: classic mode's lifecycle on a Docker daemon. deploy turns a
 * ctr_plan into running containers (network, then per decky its base and
 * its services, each created and started), status reads back what is
 * running, teardown removes it. Everything DECNET creates carries the
 * label decnet.managed=true, and status/teardown select by that label
 * only: containers and networks without it are never touched.
 *
 * Deploy is all or nothing: on any failure it removes what this run
 * created, in reverse order (containers, network, hairpin), and returns
 * the first error; what existed before the run is left alone (a name
 * conflict with an existing container or network fails the deploy).
 *
 * Images (ctr_images_ensure): decnet/ images missing locally are built
 * by containers/images/build.sh (always rebuilt with no_cache); a distro
 * image that is not present locally (deploy never pulls) is replaced by
 * the locally built decnet/base-debian:bookworm, with a note; any other
 * missing image (BYOS binary=) is an error.
 *
 * The host hairpin (ctr_hairpin_*): a host can not talk to its own
 * macvlan/ipvlan children through the parent, so deploy adds the plan's
 * hairpin interface (decnet_macvlan0 / decnet_ipvlan0) on the parent,
 * gives it the parent's own IPv4 address as /32 and one /32 route per
 * decky, by running ip(8) (`ip -batch -`): host-side status checks and log
 * collection then reach the deckies. When the parent has no IPv4 address
 * inside the fleet's subnet there is nothing to borrow, and the hairpin
 * is skipped with a note.
 *
 * Progress lines ("[3/12] creating decky-01-ssh") go to opts->progress.
 * Errors: 0 or -errno, one line in err.
 */
#ifndef CTR_DEPLOY_H
#define CTR_DEPLOY_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "containers/ctr_docker.h"
#include "containers/ctr_plan.h"

#define CTR_BASE_IMAGE "decnet/base-debian:bookworm"
#define CTR_IMAGES_DIR_ENV "DECNET_IMAGES_DIR"

struct ctr_deploy_opts {
	bool no_cache;          /* rebuild every decnet/ image the plan uses */
	bool no_hairpin;        /* do not create the host hairpin interface */
	const char *images_dir; /* build.sh's folder; NULL: $DECNET_IMAGES_DIR,
				 * then beside the binary, then the source tree */
	FILE *progress;         /* may be NULL */
};

int ctr_deploy(struct ctr_docker *d, const struct ctr_plan *plan,
	       const struct ctr_deploy_opts *opts, char *err, size_t errlen);

/* The deployed deckies as a JSON array, sorted by name: {"name", "ip",
 * "mac", "hostname", "nmap_os", "state" (the base's: running, exited...),
 * "services": [slug...], "containers": [{"name","service","state",
 * "status","image"}]}. Caller frees. */
int ctr_status(struct ctr_docker *d, cJSON **out, char *err, size_t errlen);

/* decky NULL: every decnet-labelled container and network, and the
 * hairpin; else that decky's containers (and its hairpin route). Returns
 * how many containers were removed, -ENOENT when decky names none. */
int ctr_teardown(struct ctr_docker *d, const char *decky, FILE *progress, char *err,
		 size_t errlen);

/* Images: see the header comment. *images gets one image per container
 * of plan (what to create it from; the caller frees the array and the
 * strings with ctr_images_free). */
int ctr_images_ensure(struct ctr_docker *d, const struct ctr_plan *plan,
		      const struct ctr_deploy_opts *opts, char ***images, char *err,
		      size_t errlen);
void ctr_images_free(char **images, size_t n);

/* Hairpin: returns 1 created, 0 skipped (note on progress), -errno. */
int ctr_hairpin_up(const struct ctr_plan *plan, const char *parent, FILE *progress, char *err,
		   size_t errlen);
/* Removes the interface if it exists: 1 removed, 0 absent, -errno. */
int ctr_hairpin_down(const char *ifname, char *err, size_t errlen);
/* Drops one decky's /32 route from the hairpin (teardown --id). */
void ctr_hairpin_forget(const char *ifname, const char *ipv4);

/* The interface of the IPv4 default route, for a plan without a parent.
 * 0 or -ENOENT. */
int ctr_default_interface(char *buf, size_t len);

#endif
