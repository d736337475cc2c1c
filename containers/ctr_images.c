/* Which image each container of a plan is created from, and building the
 * missing decnet/ ones with containers/images/build.sh (ctr_deploy.h).
 * The recipes live in one place, build.sh and its Dockerfiles, which
 * tests and CI also run directly; deploy only decides what is missing. */
#include "containers/ctr_deploy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "containers/ctr_exec.h"

#ifndef CTR_IMAGES_SRC_DIR
#define CTR_IMAGES_SRC_DIR "/usr/share/decnet/images"
#endif

static bool is_ours(const char *image)
{
	return strncmp(image, "decnet/", 7) == 0;
}

static bool has_build_sh(const char *dir)
{
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/build.sh", dir);
	return access(p, R_OK) == 0;
}

/* $DECNET_IMAGES_DIR, then EXE/../share/decnet/images (installed), then
 * the source tree this binary was built from. */
static const char *find_images_dir(const struct ctr_deploy_opts *o, char *buf, size_t len)
{
	const char *env = getenv(CTR_IMAGES_DIR_ENV);
	if (o->images_dir)
		return o->images_dir;
	if (env && *env)
		return env;
	char exe[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, len, "%s/../share/decnet/images", exe);
			if (has_build_sh(buf))
				return buf;
		}
	}
	return CTR_IMAGES_SRC_DIR;
}

/* build.sh asks `decnet services --json` for the ports; point it at us
 * when we are the decnet CLI. */
static void cli_env(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	buf[0] = 0;
	if (n <= 0)
		return;
	exe[n] = 0;
	const char *base = strrchr(exe, '/');
	if (base && strcmp(base + 1, "decnet") == 0)
		snprintf(buf, len, "DECNET_CLI=%s", exe);
}

static bool contains(char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static int add_unique(char ***list, size_t *n, const char *s)
{
	if (contains(*list, *n, s))
		return 0;
	char **grown = realloc(*list, (*n + 2) * sizeof(**list));
	if (!grown)
		return -ENOMEM;
	*list = grown;
	grown[*n] = (char *)s; /* borrowed: plan strings or a literal */
	grown[++*n] = NULL;
	return 0;
}

static int run_build(const struct ctr_deploy_opts *o, char **want, size_t n_want, char *err,
		     size_t errlen)
{
	char dir_buf[PATH_MAX], script[PATH_MAX + 16], env_cli[PATH_MAX + 16];
	const char *dir = find_images_dir(o, dir_buf, sizeof(dir_buf));
	snprintf(script, sizeof(script), "%s/build.sh", dir);
	if (access(script, X_OK) != 0) {
		snprintf(err, errlen, "cannot build images: %s not found (set %s)", script,
			 CTR_IMAGES_DIR_ENV);
		return -ENOENT;
	}
	char **argv = calloc(n_want + 4, sizeof(*argv));
	if (!argv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t k = 0;
	argv[k++] = "bash";
	argv[k++] = script;
	if (o->no_cache)
		argv[k++] = "--no-cache";
	for (size_t i = 0; i < n_want; i++)
		argv[k++] = want[i];
	cli_env(env_cli, sizeof(env_cli));
	char *envp[] = {env_cli[0] ? env_cli : NULL, NULL};
	if (o->progress) {
		fprintf(o->progress, "      building %zu image%s with %s%s\n", n_want,
			n_want == 1 ? "" : "s", script, o->no_cache ? " --no-cache" : "");
		fflush(o->progress);
	}
	int rc = ctr_exec(argv, NULL, o->progress ? fileno(o->progress) : -1, envp, err, errlen);
	free(argv);
	if (rc > 0) {
		snprintf(err, errlen, "building images failed (%s exited %d)", script, rc);
		return -EIO;
	}
	return rc;
}

void ctr_images_free(char **images, size_t n)
{
	for (size_t i = 0; images && i < n; i++)
		free(images[i]);
	free(images);
}

int ctr_images_ensure(struct ctr_docker *d, const struct ctr_plan *plan,
		      const struct ctr_deploy_opts *o, char ***images_out, char *err,
		      size_t errlen)
{
	char **images = calloc(plan->n_containers + 1, sizeof(*images));
	char **want = NULL, **noted = NULL;
	size_t n_want = 0, n_noted = 0;
	int rc = 0;
	if (!images) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < plan->n_containers && rc == 0; i++) {
		const struct ctr_container *c = &plan->containers[i];
		const char *img = c->image;
		if (!is_ours(img) || !o->no_cache) {
			rc = ctr_docker_image_exists(d, img);
			if (rc < 0) {
				snprintf(err, errlen, "%s", ctr_docker_error(d));
				break;
			}
		}
		bool present = rc == 1;
		rc = 0;
		if (is_ours(img)) {
			if (o->no_cache || !present)
				rc = add_unique(&want, &n_want, img);
		} else if (!present && c->is_base) {
			/* Distro images come from a registry; deploy never pulls.
			 * The local Debian base keeps the decky's identity
			 * (hostname, IP, MAC, sysctls); only the userland differs. */
			if (!contains(noted, n_noted, img) && add_unique(&noted, &n_noted, img) == 0 &&
			    o->progress)
				fprintf(o->progress, "note: %s is not present locally (deploy never "
					"pulls): bases that want it use %s\n", img, CTR_BASE_IMAGE);
			img = CTR_BASE_IMAGE;
			int e = ctr_docker_image_exists(d, img);
			if (e < 0) {
				snprintf(err, errlen, "%s", ctr_docker_error(d));
				rc = e;
			} else if (e == 0 || o->no_cache) {
				rc = add_unique(&want, &n_want, img);
			}
		} else if (!present) {
			snprintf(err, errlen, "image %s (container %s) is not present locally; deploy "
				 "never pulls: docker pull or build it first", img, c->name);
			rc = -ENOENT;
		}
		if (rc == 0 && !(images[i] = strdup(img)))
			rc = -ENOMEM;
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc == 0 && n_want)
		rc = run_build(o, want, n_want, err, errlen);
	for (size_t i = 0; rc == 0 && i < n_want; i++) {
		int e = ctr_docker_image_exists(d, want[i]);
		if (e <= 0) {
			snprintf(err, errlen, "image %s still missing after build.sh", want[i]);
			rc = e < 0 ? e : -ENOENT;
		}
	}
	free(want);
	free(noted);
	if (rc < 0) {
		ctr_images_free(images, plan->n_containers);
		return rc;
	}
	*images_out = images;
	return 0;
}
