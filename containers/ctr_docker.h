/* ctr_docker: a small Docker Engine API client, libcurl over the unix
 * socket (default /var/run/docker.sock, or $DECNET_DOCKER_SOCKET). Only
 * what classic mode needs: ping/version, macvlan/ipvlan networks, image
 * inspect/build/import, and the container lifecycle. Requests are
 * unversioned (the daemon's own API version), so the same code talks to
 * Debian's 20.10 (API 1.41) and to current engines.
 *
 * Errors: every call returns 0 or -errno and leaves one line in
 * ctr_docker_error(): "cannot reach Docker at PATH: REASON" when the
 * socket does not answer, otherwise Docker's own "message" with the
 * request that failed. The mapping of HTTP statuses: 404 -ENOENT,
 * 409 -EEXIST, 400 -EINVAL, 403 -EPERM, other 4xx/5xx -EIO; 304 (already
 * started/stopped) is success.
 *
 * Ownership: the context owns its curl handle; cJSON trees returned
 * through out-parameters belong to the caller (cJSON_Delete). One context
 * per thread; no globals (curl_global_init is done once by the CLI's
 * process before the first context, through ctr_docker_open).
 */
#ifndef CTR_DOCKER_H
#define CTR_DOCKER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "containers/ctr_plan.h"

#define CTR_DOCKER_SOCKET "/var/run/docker.sock"
#define CTR_DOCKER_SOCKET_ENV "DECNET_DOCKER_SOCKET"
/* The label that marks every object DECNET creates; status and teardown
 * select by it and touch nothing else. */
#define CTR_LABEL_MANAGED CTR_LABEL_PREFIX "managed"
#define CTR_LABEL_DECKY CTR_LABEL_PREFIX "decky"
#define CTR_LABEL_SERVICE CTR_LABEL_PREFIX "service"
#define CTR_LABEL_ROLE CTR_LABEL_PREFIX "role"

struct ctr_docker;

/* socket_path NULL: $DECNET_DOCKER_SOCKET, else CTR_DOCKER_SOCKET. Connects
 * once and pings: -ENOENT/-ECONNREFUSED/-EACCES... when Docker is not
 * there, with the message in *err (which may be NULL). On success *out
 * is a context to free with ctr_docker_close. */
int ctr_docker_open(const char *socket_path, struct ctr_docker **out, char *err, size_t errlen);
void ctr_docker_close(struct ctr_docker *d);
/* The last error's message (never NULL; "" after a success). */
const char *ctr_docker_error(const struct ctr_docker *d);
const char *ctr_docker_socket(const struct ctr_docker *d);

int ctr_docker_ping(struct ctr_docker *d);
/* GET /version: *out is Docker's object (Version, ApiVersion, ...). */
int ctr_docker_version(struct ctr_docker *d, cJSON **out);

/* Generic JSON request, for what has no wrapper. body may be NULL; *out
 * (may be NULL) receives the parsed reply or NULL when it was empty. */
int ctr_docker_call(struct ctr_docker *d, const char *method, const char *path,
		    const cJSON *body, cJSON **out);

/* ---- networks ---- */
/* Creates net (macvlan with parent=, or ipvlan with ipvlan_mode=l2),
 * IPAM subnet/gateway, its labels plus decnet.managed=true. -EEXIST when
 * a network of that name exists. */
int ctr_docker_network_create(struct ctr_docker *d, const struct ctr_network *net);
int ctr_docker_network_remove(struct ctr_docker *d, const char *name_or_id);
/* Networks carrying label (e.g. "decnet.managed=true"): a cJSON array. */
int ctr_docker_network_list(struct ctr_docker *d, const char *label, cJSON **out);

/* ---- images ---- */
/* 1 present, 0 absent, -errno. */
int ctr_docker_image_exists(struct ctr_docker *d, const char *name);
/* POST /build from a tar of the build context (file at tar_path), tagged
 * tag, with build args ("BASE_IMAGE"...) and optional nocache. Docker's
 * build output goes to log (may be NULL); an error line in it fails the
 * call with that message. */
int ctr_docker_image_build(struct ctr_docker *d, const char *tar_path, const char *tag,
			   const struct ctr_kv *buildargs, size_t n_buildargs, bool nocache,
			   FILE *log);
/* POST /images/create?fromSrc=- : a rootfs tarball becomes image
 * repo:tag; changes are Dockerfile lines ("CMD [\"sleep\",\"infinity\"]"),
 * NULL-terminated, may be NULL. */
int ctr_docker_image_import(struct ctr_docker *d, const char *tar_path, const char *repo,
			    const char *tag, const char *const *changes);

/* ---- containers ---- */
/* Creates c (not started). A base joins net with its IPv4/MAC; a service
 * gets HostConfig.NetworkMode "container:BASE". Its labels plus
 * decnet.managed=true. -EEXIST on a name conflict. image overrides
 * c->image when not NULL (deploy's fallback for a missing distro image). */
int ctr_docker_container_create(struct ctr_docker *d, const struct ctr_container *c,
				const struct ctr_network *net, const char *image);
int ctr_docker_container_start(struct ctr_docker *d, const char *name);
int ctr_docker_container_stop(struct ctr_docker *d, const char *name, int timeout_s);
/* force: stop first if running. Removes anonymous volumes too. */
int ctr_docker_container_remove(struct ctr_docker *d, const char *name, bool force);
int ctr_docker_container_inspect(struct ctr_docker *d, const char *name, cJSON **out);
/* Containers (running or not) carrying label: a cJSON array as
 * GET /containers/json returns it. */
int ctr_docker_container_list(struct ctr_docker *d, const char *label, cJSON **out);

#endif
