/* docker_api_check: the parts of containers/ctr_docker.c that deploy does
 * not reach, against the live daemon (run by test_classic_docker.sh after
 * it made sure one answers): version, image import from a rootfs tar,
 * image build from a tar context with a build arg, image exists, Docker's
 * own error messages and their errno mapping (404, 409, 400), and a
 * socket path that leads nowhere. Everything it creates is named
 * decnet-apicheck-PID and removed before it exits.
 *
 * Usage: docker_api_check WORKDIR   (prints TAP-ish lines; exit 0 = all ok)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containers/ctr_docker.h"

static int fails;

static void check(int cond, const char *what, const char *detail)
{
	printf("%s: %s%s%s\n", cond ? "ok" : "FAIL", what, detail ? " — " : "", detail ? detail : "");
	if (!cond)
		fails++;
}

static int sh(const char *cmd)
{
	int rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

int main(int argc, char **argv)
{
	char err[512], cmd[1024], tag[64], repo[64], ref[128], path[300];
	struct ctr_docker *d = NULL;
	if (argc != 2) {
		fprintf(stderr, "usage: docker_api_check WORKDIR\n");
		return 2;
	}
	const char *dir = argv[1];
	int pid = (int)getpid();

	snprintf(path, sizeof(path), "%s/nowhere.sock", dir);
	int rc = ctr_docker_open(path, &d, err, sizeof(err));
	check(rc == -ENOENT && strstr(err, path) && strstr(err, "cannot reach Docker at"),
	      "open: missing socket is -ENOENT naming the path", err);

	if ((rc = ctr_docker_open(NULL, &d, err, sizeof(err))) < 0) {
		check(0, "open: the daemon", err);
		return 1;
	}
	cJSON *v = NULL;
	rc = ctr_docker_version(d, &v);
	const cJSON *api = cJSON_GetObjectItemCaseSensitive(v, "ApiVersion");
	check(rc == 0 && cJSON_IsString(api), "version", cJSON_IsString(api) ? api->valuestring : NULL);
	cJSON_Delete(v);

	/* import: a rootfs of one file (nothing runs it; inspect is enough). */
	snprintf(repo, sizeof(repo), "decnet-apicheck-%d/rootfs", pid);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %1$s/rootfs && echo decnet > %1$s/rootfs/marker && "
		 "tar -C %1$s/rootfs -cf %1$s/rootfs.tar . && mkdir -p %1$s/ctx && "
		 "printf 'ARG MARK=none\\nFROM scratch\\nCOPY marker /marker\\nARG MARK\\nLABEL mark=$MARK\\n' "
		 "> %1$s/ctx/Dockerfile && echo x > %1$s/ctx/marker && tar -C %1$s/ctx -cf %1$s/ctx.tar .",
		 dir);
	check(sh(cmd) == 0, "made the tarballs", NULL);
	const char *changes[] = {"LABEL decnet.apicheck=import", "CMD [\"/marker\"]", NULL};
	snprintf(path, sizeof(path), "%s/rootfs.tar", dir);
	rc = ctr_docker_image_import(d, path, repo, "v1", changes);
	check(rc == 0, "image import (fromSrc=-, changes)", rc ? ctr_docker_error(d) : NULL);
	snprintf(ref, sizeof(ref), "%s:v1", repo);
	check(ctr_docker_image_exists(d, ref) == 1, "imported image exists", ref);

	/* build: a tar context, a build arg reaching a label. */
	snprintf(tag, sizeof(tag), "decnet-apicheck-%d/built:v1", pid);
	struct ctr_kv args[] = {{"MARK", "from-buildargs"}};
	snprintf(path, sizeof(path), "%s/ctx.tar", dir);
	rc = ctr_docker_image_build(d, path, tag, args, 1, true, NULL);
	check(rc == 0, "image build (tar context, buildargs, nocache)", rc ? ctr_docker_error(d) : NULL);
	cJSON *img = NULL;
	snprintf(cmd, sizeof(cmd), "/images/%s/json", tag);
	rc = ctr_docker_call(d, "GET", cmd, NULL, &img);
	const cJSON *mark = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(img, "Config"), "Labels"),
		"mark");
	check(rc == 0 && cJSON_IsString(mark) && strcmp(mark->valuestring, "from-buildargs") == 0,
	      "build arg reached the image", cJSON_IsString(mark) ? mark->valuestring : NULL);
	cJSON_Delete(img);

	/* A failing build carries Docker's message. */
	snprintf(cmd, sizeof(cmd), "mkdir -p %1$s/bad && printf 'FROM scratch\\nCOPY nosuchfile /x\\n' > "
		 "%1$s/bad/Dockerfile && tar -C %1$s/bad -cf %1$s/bad.tar .", dir);
	sh(cmd);
	snprintf(path, sizeof(path), "%s/bad.tar", dir);
	rc = ctr_docker_image_build(d, path, tag, NULL, 0, false, NULL);
	check(rc < 0 && strstr(ctr_docker_error(d), "nosuchfile"), "failed build: Docker's message",
	      ctr_docker_error(d));

	/* Error mapping. */
	rc = ctr_docker_container_inspect(d, "decnet-apicheck-nosuch", &img);
	check(rc == -ENOENT && strstr(ctr_docker_error(d), "No such container"), "404 -> -ENOENT",
	      ctr_docker_error(d));
	check(ctr_docker_image_exists(d, "decnet-apicheck-nosuch:v0") == 0, "image_exists: absent is 0",
	      NULL);
	struct ctr_network net = {.name = "decnet-apicheck-net", .driver = "macvlan",
				  .parent = "decnet-nosuch0", .subnet = "10.79.0.0/24",
				  .gateway = "10.79.0.1"};
	rc = ctr_docker_network_create(d, &net);
	check(rc < 0 && strstr(ctr_docker_error(d), "decnet-nosuch0"),
	      "macvlan on a missing parent: Docker's message", ctr_docker_error(d));
	ctr_docker_network_remove(d, "decnet-apicheck-net");
	rc = ctr_docker_image_exists(d, "bad name with spaces");
	check(rc == -EINVAL, "refuses a name that would break the URL", ctr_docker_error(d));

	/* 409: a second container of one name (never started). */
	char *sleep_argv[] = {"/marker", NULL};
	struct ctr_container c = {.name = "decnet-apicheck-ctr", .image = ref, .command = sleep_argv,
				  .is_base = false, .network_of = NULL};
	char netmode_base[] = "none";
	struct ctr_container base = c;
	base.is_base = true;
	struct ctr_network none = {.name = netmode_base};
	rc = ctr_docker_container_create(d, &base, &none, NULL);
	check(rc == 0, "container create (not started)", rc ? ctr_docker_error(d) : NULL);
	rc = ctr_docker_container_create(d, &base, &none, NULL);
	check(rc == -EEXIST, "409 -> -EEXIST", ctr_docker_error(d));
	check(ctr_docker_container_remove(d, base.name, true) == 0, "container remove", NULL);

	snprintf(cmd, sizeof(cmd), "/images/%s?force=1", tag);
	ctr_docker_call(d, "DELETE", cmd, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "/images/%s?force=1", ref);
	ctr_docker_call(d, "DELETE", cmd, NULL, NULL);
	check(ctr_docker_image_exists(d, ref) == 0 && ctr_docker_image_exists(d, tag) == 0,
	      "test images removed", NULL);
	ctr_docker_close(d);
	printf("%d failed\n", fails);
	return fails ? 1 : 0;
}
