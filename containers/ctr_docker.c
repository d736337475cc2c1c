/* Docker Engine API over the unix socket. One request at a time on one
 * curl easy handle (keeps the connection); replies are collected in a
 * bounded buffer and parsed with cJSON. See ctr_docker.h for the error
 * contract. */
#include "containers/ctr_docker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

/* A reply larger than this is refused (container lists of a 100 000
 * decky fleet stay well below). */
#define REPLY_MAX (256u << 20)
#define CALL_TIMEOUT_S 300L

struct ctr_docker {
	CURL *curl;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char err[512];
	char curl_err[CURL_ERROR_SIZE];
};

struct reply_buf {
	char *p;
	size_t len, cap;
	bool overflow;
};

struct upload {
	FILE *f;
};

static void set_err(struct ctr_docker *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct ctr_docker *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
}

const char *ctr_docker_error(const struct ctr_docker *d)
{
	return d->err;
}

const char *ctr_docker_socket(const struct ctr_docker *d)
{
	return d->path;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct reply_buf *b = ctx;
	size_t n = size * nmemb;
	if (b->len + n + 1 > REPLY_MAX) {
		b->overflow = true;
		return 0; /* curl aborts the transfer */
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
	return n;
}

static size_t on_read(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct upload *u = ctx;
	size_t n = fread(data, 1, size * nmemb, u->f);
	if (n == 0 && ferror(u->f))
		return CURL_READFUNC_ABORT;
	return n;
}

/* Docker's error body is {"message":"..."}; fall back to the raw text. */
static void api_error(struct ctr_docker *d, const char *method, const char *path, long status,
		      const struct reply_buf *b)
{
	const char *msg = b->p ? b->p : "";
	cJSON *j = b->p ? cJSON_Parse(b->p) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (cJSON_IsString(m))
		msg = m->valuestring;
	char clean[320];
	snprintf(clean, sizeof(clean), "%s", msg);
	clean[strcspn(clean, "\r\n")] = 0;
	/* The query string can be long (filters); the path alone says enough. */
	int plen = (int)strcspn(path, "?");
	set_err(d, "Docker %s %.*s: %s (HTTP %ld)", method, plen, path, clean, status);
	cJSON_Delete(j);
}

static int status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 304: return 0;
	case 400: return -EINVAL;
	case 403: return -EPERM;
	case 404: return -ENOENT;
	case 409: return -EEXIST;
	default: return -EIO;
	}
}

/* One HTTP exchange. body/ctype for an in-memory body, or upload for a
 * file body (size bytes). The reply lands in *b (caller frees b->p). */
static int http(struct ctr_docker *d, const char *method, const char *path, const char *body,
		const char *ctype, struct upload *upload, curl_off_t size, long timeout_s,
		struct reply_buf *b, long *status)
{
	char url[4096];
	if ((size_t)snprintf(url, sizeof(url), "http://docker%s", path) >= sizeof(url)) {
		set_err(d, "Docker request path too long");
		return -ENAMETOOLONG;
	}
	CURL *c = d->curl;
	curl_easy_reset(c);
	struct curl_slist *hdr = NULL;
	char ct[128];
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, d->curl_err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdr = curl_slist_append(hdr, ct);
	}
	/* Uploads of a few hundred MB: no "Expect: 100-continue" round trip. */
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (upload) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, upload);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, size);
	} else if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	d->curl_err[0] = 0;
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		if (b->overflow) {
			set_err(d, "Docker %s %s: reply larger than %u MiB", method, path, REPLY_MAX >> 20);
			return -EMSGSIZE;
		}
		if (rc == CURLE_COULDNT_CONNECT) {
			set_err(d, "cannot reach Docker at %s: %s", d->path, d->curl_err[0] ? d->curl_err : curl_easy_strerror(rc));
			return -ECONNREFUSED;
		}
		set_err(d, "Docker %s %.*s at %s: %s", method, (int)strcspn(path, "?"), path, d->path,
			d->curl_err[0] ? d->curl_err : curl_easy_strerror(rc));
		return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	int e = status_errno(*status);
	if (e < 0)
		api_error(d, method, path, *status, b);
	else
		d->err[0] = 0;
	return e;
}

int ctr_docker_call(struct ctr_docker *d, const char *method, const char *path,
		    const cJSON *body, cJSON **out)
{
	if (out)
		*out = NULL;
	char *text = NULL;
	if (body && !(text = cJSON_PrintUnformatted(body))) {
		set_err(d, "out of memory");
		return -ENOMEM;
	}
	struct reply_buf b = {0};
	long status = 0;
	int e = http(d, method, path, text, text ? "application/json" : NULL, NULL, 0,
		     CALL_TIMEOUT_S, &b, &status);
	free(text);
	if (e == 0 && out && b.len) {
		*out = cJSON_Parse(b.p);
		if (!*out) {
			set_err(d, "Docker %s %.*s: reply is not JSON", method, (int)strcspn(path, "?"), path);
			e = -EPROTO;
		}
	}
	free(b.p);
	return e;
}

/* Connect once by hand: curl's message for a missing socket names a TCP
 * port; ours names the socket and the errno. */
static int probe_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "cannot reach Docker at %s: path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot reach Docker at %s: socket: %s", path, strerror(e));
		return -e;
	}
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close(fd);
	if (rc == 0)
		return 0;
	snprintf(err, errlen, "cannot reach Docker at %s: %s%s", path, strerror(e),
		 e == ENOENT || e == ECONNREFUSED ? " (is dockerd running?)" : "");
	return -e;
}

int ctr_docker_open(const char *socket_path, struct ctr_docker **out, char *err, size_t errlen)
{
	char dummy[8];
	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	*out = NULL;
	err[0] = 0;
	if (!socket_path) {
		socket_path = getenv(CTR_DOCKER_SOCKET_ENV);
		if (!socket_path || !*socket_path)
			socket_path = CTR_DOCKER_SOCKET;
	}
	int e = probe_socket(socket_path, err, errlen);
	if (e < 0)
		return e;
	struct ctr_docker *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(d->path, sizeof(d->path), "%s", socket_path);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		e = -ENOMEM;
		goto err_free;
	}
	d->curl = curl_easy_init();
	if (!d->curl) {
		snprintf(err, errlen, "curl_easy_init failed");
		e = -ENOMEM;
		goto err_global;
	}
	e = ctr_docker_ping(d);
	if (e < 0) {
		snprintf(err, errlen, "%s", d->err);
		goto err_curl;
	}
	*out = d;
	return 0;
err_curl:
	curl_easy_cleanup(d->curl);
err_global:
	curl_global_cleanup();
err_free:
	free(d);
	return e;
}

void ctr_docker_close(struct ctr_docker *d)
{
	if (!d)
		return;
	curl_easy_cleanup(d->curl);
	curl_global_cleanup();
	free(d);
}

int ctr_docker_ping(struct ctr_docker *d)
{
	struct reply_buf b = {0};
	long status = 0;
	int e = http(d, "GET", "/_ping", NULL, NULL, NULL, 0, 10L, &b, &status);
	if (e == 0 && (!b.p || strcmp(b.p, "OK") != 0)) {
		set_err(d, "cannot reach Docker at %s: /_ping answered '%.40s', not OK", d->path,
			b.p ? b.p : "");
		e = -EPROTO;
	}
	free(b.p);
	return e;
}

int ctr_docker_version(struct ctr_docker *d, cJSON **out)
{
	return ctr_docker_call(d, "GET", "/version", NULL, out);
}

/* Names that go into a URL path unescaped: container and network names,
 * image references (repo/name:tag, @sha256:...). */
static int check_ref(struct ctr_docker *d, const char *what, const char *s)
{
	if (!s || !*s || strlen(s) > 255)
		goto bad;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._-:/@", *p)))
			goto bad;
	return 0;
bad:
	set_err(d, "invalid %s name '%.64s'", what, s ? s : "");
	return -EINVAL;
}

/* "?filters={"label":["LABEL"]}" URL-encoded into buf. */
static int label_filter(struct ctr_docker *d, const char *label, char *buf, size_t len)
{
	cJSON *f = cJSON_CreateObject();
	cJSON *arr = f ? cJSON_AddArrayToObject(f, "label") : NULL;
	cJSON *s = arr ? cJSON_CreateString(label) : NULL;
	char *text = NULL, *esc = NULL;
	int e = -ENOMEM;
	if (!s || !cJSON_AddItemToArray(arr, s)) {
		cJSON_Delete(s);
		goto out;
	}
	if (!(text = cJSON_PrintUnformatted(f)) || !(esc = curl_easy_escape(d->curl, text, 0)))
		goto out;
	e = (size_t)snprintf(buf, len, "filters=%s", esc) < len ? 0 : -ENAMETOOLONG;
out:
	if (e == -ENOMEM)
		set_err(d, "out of memory");
	else if (e < 0)
		set_err(d, "label filter too long");
	curl_free(esc);
	free(text);
	cJSON_Delete(f);
	return e;
}

static bool add_kv_object(cJSON *parent, const char *name, const struct ctr_kv *kv, size_t n)
{
	cJSON *o = cJSON_AddObjectToObject(parent, name);
	if (!o)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!cJSON_AddStringToObject(o, kv[i].key, kv[i].value))
			return false;
	return true;
}

static bool add_labels(cJSON *parent, const struct ctr_kv *kv, size_t n)
{
	if (!add_kv_object(parent, "Labels", kv, n))
		return false;
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, "Labels");
	cJSON_DeleteItemFromObjectCaseSensitive(o, CTR_LABEL_MANAGED);
	return cJSON_AddStringToObject(o, CTR_LABEL_MANAGED, "true") != NULL;
}

/* ---- networks ---- */

int ctr_docker_network_create(struct ctr_docker *d, const struct ctr_network *net)
{
	cJSON *req = cJSON_CreateObject(), *ipam, *cfgs, *cfg, *opts;
	bool ok = req && cJSON_AddStringToObject(req, "Name", net->name) &&
		  cJSON_AddStringToObject(req, "Driver", net->driver) &&
		  cJSON_AddTrueToObject(req, "CheckDuplicate") &&
		  (ipam = cJSON_AddObjectToObject(req, "IPAM")) &&
		  cJSON_AddStringToObject(ipam, "Driver", "default") &&
		  (cfgs = cJSON_AddArrayToObject(ipam, "Config")) &&
		  (cfg = cJSON_CreateObject()) && cJSON_AddItemToArray(cfgs, cfg) &&
		  cJSON_AddStringToObject(cfg, "Subnet", net->subnet) &&
		  (!net->gateway || cJSON_AddStringToObject(cfg, "Gateway", net->gateway)) &&
		  (opts = cJSON_AddObjectToObject(req, "Options")) &&
		  cJSON_AddStringToObject(opts, "parent", net->parent) &&
		  (!net->ipvlan_l2 || cJSON_AddStringToObject(opts, "ipvlan_mode", "l2")) &&
		  add_labels(req, net->labels, net->n_labels);
	int e = ok ? ctr_docker_call(d, "POST", "/networks/create", req, NULL) : -ENOMEM;
	if (!ok)
		set_err(d, "out of memory");
	cJSON_Delete(req);
	return e;
}

int ctr_docker_network_remove(struct ctr_docker *d, const char *name)
{
	char path[320];
	int e = check_ref(d, "network", name);
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "/networks/%s", name);
	return ctr_docker_call(d, "DELETE", path, NULL, NULL);
}

int ctr_docker_network_list(struct ctr_docker *d, const char *label, cJSON **out)
{
	char q[1024], path[1100];
	int e = label_filter(d, label, q, sizeof(q));
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "/networks?%s", q);
	e = ctr_docker_call(d, "GET", path, NULL, out);
	if (e == 0 && !cJSON_IsArray(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		set_err(d, "Docker GET /networks: reply is not an array");
		return -EPROTO;
	}
	return e;
}

/* ---- images ---- */

int ctr_docker_image_exists(struct ctr_docker *d, const char *name)
{
	char path[320];
	int e = check_ref(d, "image", name);
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "/images/%s/json", name);
	e = ctr_docker_call(d, "GET", path, NULL, NULL);
	if (e == -ENOENT) {
		d->err[0] = 0;
		return 0;
	}
	return e < 0 ? e : 1;
}

/* Build and import answer 200 and then stream JSON lines; a failure is a
 * line with "error". Copies "stream"/"status" text to log. */
static int stream_result(struct ctr_docker *d, const char *what, const struct reply_buf *b, FILE *log)
{
	const char *p = b->p ? b->p : "";
	while (*p) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n);
		cJSON *j = line ? cJSON_Parse(line) : NULL;
		free(line);
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "stream");
		if (!cJSON_IsString(s))
			s = cJSON_GetObjectItemCaseSensitive(j, "status");
		if (cJSON_IsString(err)) {
			set_err(d, "%s: %s", what, err->valuestring);
			cJSON_Delete(j);
			return -EIO;
		}
		if (log && cJSON_IsString(s))
			fputs(s->valuestring, log);
		cJSON_Delete(j);
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static int upload_file(struct ctr_docker *d, const char *path, const char *tar_path,
		       const char *what, FILE *log)
{
	FILE *f = fopen(tar_path, "rb");
	if (!f) {
		int e = errno;
		set_err(d, "%s: %s: %s", what, tar_path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fileno(f), &st) < 0) {
		int e = errno;
		fclose(f);
		set_err(d, "%s: %s: %s", what, tar_path, strerror(e));
		return -e;
	}
	struct upload u = {f};
	struct reply_buf b = {0};
	long status = 0;
	int e = http(d, "POST", path, NULL, "application/x-tar", &u, (curl_off_t)st.st_size, 0L, &b,
		     &status);
	fclose(f);
	if (e == 0)
		e = stream_result(d, what, &b, log);
	free(b.p);
	return e;
}

int ctr_docker_image_build(struct ctr_docker *d, const char *tar_path, const char *tag,
			   const struct ctr_kv *buildargs, size_t n_buildargs, bool nocache,
			   FILE *log)
{
	int e = check_ref(d, "image", tag);
	if (e < 0)
		return e;
	cJSON *args = cJSON_CreateObject();
	char *text = NULL, *esc_args = NULL, *esc_tag = NULL;
	bool ok = args != NULL;
	for (size_t i = 0; ok && i < n_buildargs; i++)
		ok = cJSON_AddStringToObject(args, buildargs[i].key, buildargs[i].value) != NULL;
	ok = ok && (text = cJSON_PrintUnformatted(args)) &&
	     (esc_args = curl_easy_escape(d->curl, text, 0)) &&
	     (esc_tag = curl_easy_escape(d->curl, tag, 0));
	char *path = NULL;
	if (ok && asprintf(&path, "/build?t=%s&buildargs=%s&rm=1&forcerm=1%s", esc_tag, esc_args,
			   nocache ? "&nocache=1" : "") < 0)
		path = NULL;
	if (!path) {
		set_err(d, "out of memory");
		e = -ENOMEM;
	} else {
		char what[320];
		snprintf(what, sizeof(what), "building %s", tag);
		e = upload_file(d, path, tar_path, what, log);
	}
	free(path);
	curl_free(esc_tag);
	curl_free(esc_args);
	free(text);
	cJSON_Delete(args);
	return e;
}

int ctr_docker_image_import(struct ctr_docker *d, const char *tar_path, const char *repo,
			    const char *tag, const char *const *changes)
{
	int e = check_ref(d, "image", repo);
	if (e < 0 || (e = check_ref(d, "image", tag)) < 0)
		return e;
	char *path = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&path, &cap);
	if (!m) {
		set_err(d, "out of memory");
		return -ENOMEM;
	}
	fprintf(m, "/images/create?fromSrc=-&repo=%s&tag=%s", repo, tag);
	for (size_t i = 0; changes && changes[i]; i++) {
		char *esc = curl_easy_escape(d->curl, changes[i], 0);
		if (esc)
			fprintf(m, "&changes=%s", esc);
		curl_free(esc);
	}
	if (fclose(m) != 0 || !path) {
		free(path);
		set_err(d, "out of memory");
		return -ENOMEM;
	}
	char what[320];
	snprintf(what, sizeof(what), "importing %s:%s", repo, tag);
	e = upload_file(d, path, tar_path, what, NULL);
	free(path);
	return e;
}

/* ---- containers ---- */

static bool add_strings(cJSON *parent, const char *name, char *const *argv)
{
	cJSON *arr = cJSON_AddArrayToObject(parent, name);
	for (size_t i = 0; arr && argv[i]; i++) {
		cJSON *s = cJSON_CreateString(argv[i]);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return false;
		}
	}
	return arr != NULL;
}

static bool add_env(cJSON *parent, const struct ctr_kv *env, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(parent, "Env");
	for (size_t i = 0; arr && i < n; i++) {
		char *kv = NULL;
		if (asprintf(&kv, "%s=%s", env[i].key, env[i].value) < 0)
			return false;
		cJSON *s = cJSON_CreateString(kv);
		free(kv);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return false;
		}
	}
	return arr != NULL;
}

/* The plan's log driver (syslog to the log target) and its options. */
static bool add_log_config(cJSON *host, const struct ctr_container *c)
{
	cJSON *lc;
	return (lc = cJSON_AddObjectToObject(host, "LogConfig")) &&
	       cJSON_AddStringToObject(lc, "Type", c->log_driver) &&
	       add_kv_object(lc, "Config", c->log_opts, c->n_log_opts);
}

/* "HOST:CONTAINER" bind mounts. */
static bool add_binds(cJSON *host, const struct ctr_kv *binds, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(host, "Binds");
	for (size_t i = 0; arr && i < n; i++) {
		char *b = NULL;
		if (asprintf(&b, "%s:%s", binds[i].key, binds[i].value) < 0)
			return false;
		cJSON *s = cJSON_CreateString(b);
		free(b);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return false;
		}
	}
	return arr != NULL;
}

static cJSON *container_body(const struct ctr_container *c, const struct ctr_network *net,
			     const char *image)
{
	cJSON *req = cJSON_CreateObject(), *host, *rp;
	char mode[300];
	bool ok = req && cJSON_AddStringToObject(req, "Image", image ? image : c->image) &&
		  (!c->hostname || !c->is_base || cJSON_AddStringToObject(req, "Hostname", c->hostname)) &&
		  (!c->command || add_strings(req, "Cmd", c->command)) &&
		  add_env(req, c->env, c->n_env) && add_labels(req, c->labels, c->n_labels) &&
		  (host = cJSON_AddObjectToObject(req, "HostConfig")) &&
		  (!c->restart || ((rp = cJSON_AddObjectToObject(host, "RestartPolicy")) &&
				   cJSON_AddStringToObject(rp, "Name", c->restart))) &&
		  add_kv_object(host, "Sysctls", c->sysctls, c->n_sysctls) &&
		  (!c->log_driver || add_log_config(host, c)) &&
		  (!c->n_binds || add_binds(host, c->binds, c->n_binds));
	if (ok && c->is_base) {
		cJSON *nc, *eps, *ep, *ipam;
		/* Before API 1.44 the MAC is a container field; from 1.44 on,
		 * the endpoint's. Both carry the same value. */
		ok = cJSON_AddStringToObject(host, "NetworkMode", net->name) &&
		     (!c->mac || cJSON_AddStringToObject(req, "MacAddress", c->mac)) &&
		     (nc = cJSON_AddObjectToObject(req, "NetworkingConfig")) &&
		     (eps = cJSON_AddObjectToObject(nc, "EndpointsConfig")) &&
		     (ep = cJSON_AddObjectToObject(eps, net->name)) &&
		     (!c->ipv4 || ((ipam = cJSON_AddObjectToObject(ep, "IPAMConfig")) &&
				   cJSON_AddStringToObject(ipam, "IPv4Address", c->ipv4))) &&
		     (!c->mac || cJSON_AddStringToObject(ep, "MacAddress", c->mac));
	} else if (ok) {
		snprintf(mode, sizeof(mode), "container:%s", c->network_of ? c->network_of : "");
		ok = cJSON_AddStringToObject(host, "NetworkMode", mode) != NULL;
	}
	if (!ok) {
		cJSON_Delete(req);
		return NULL;
	}
	return req;
}

int ctr_docker_container_create(struct ctr_docker *d, const struct ctr_container *c,
				const struct ctr_network *net, const char *image)
{
	char path[320];
	int e = check_ref(d, "container", c->name);
	if (e < 0)
		return e;
	if (!c->is_base && !c->network_of) {
		set_err(d, "container %s: a service needs the base it shares", c->name);
		return -EINVAL;
	}
	cJSON *req = container_body(c, net, image);
	if (!req) {
		set_err(d, "out of memory");
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "/containers/create?name=%s", c->name);
	e = ctr_docker_call(d, "POST", path, req, NULL);
	cJSON_Delete(req);
	return e;
}

static int container_post(struct ctr_docker *d, const char *name, const char *verb, const char *query)
{
	char path[400];
	int e = check_ref(d, "container", name);
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "/containers/%s/%s%s", name, verb, query ? query : "");
	return ctr_docker_call(d, "POST", path, NULL, NULL);
}

int ctr_docker_container_start(struct ctr_docker *d, const char *name)
{
	return container_post(d, name, "start", NULL);
}

int ctr_docker_container_stop(struct ctr_docker *d, const char *name, int timeout_s)
{
	char q[32];
	snprintf(q, sizeof(q), "?t=%d", timeout_s < 0 ? 0 : timeout_s);
	return container_post(d, name, "stop", q);
}

int ctr_docker_container_remove(struct ctr_docker *d, const char *name, bool force)
{
	char path[400];
	int e = check_ref(d, "container", name);
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "/containers/%s?v=1%s", name, force ? "&force=1" : "");
	return ctr_docker_call(d, "DELETE", path, NULL, NULL);
}

int ctr_docker_container_inspect(struct ctr_docker *d, const char *name, cJSON **out)
{
	char path[400];
	int e = check_ref(d, "container", name);
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "/containers/%s/json", name);
	return ctr_docker_call(d, "GET", path, NULL, out);
}

int ctr_docker_container_list(struct ctr_docker *d, const char *label, cJSON **out)
{
	char q[1024], path[1100];
	int e = label_filter(d, label, q, sizeof(q));
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "/containers/json?all=1&%s", q);
	e = ctr_docker_call(d, "GET", path, NULL, out);
	if (e == 0 && !cJSON_IsArray(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		set_err(d, "Docker GET /containers/json: reply is not an array");
		return -EPROTO;
	}
	return e;
}
