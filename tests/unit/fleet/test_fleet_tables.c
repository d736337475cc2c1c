/* The static registries against the spec's tables, and the `decnet
 * services / archetypes / distros` listings built on them. */
#include "tests/unit/fleet/test_fleet.h"
#include "control/ctl_tables.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* "22/tcp,80/tcp" for a service, to compare with the expectations. */
static void ports_str(const struct fleet_service *s, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < s->n_ports; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%u/%s", i ? "," : "",
			 s->ports[i].port, fleet_proto_name(s->ports[i].proto));
}

static void keys_str(const struct fleet_service *s, char *buf, size_t len)
{
	buf[0] = '\0';
	for (const char *const *k = s->persona_keys; *k; k++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", k == s->persona_keys ? "" : ",",
			 *k);
}

/* The spec's Services table, with transport added, and its accepted
 * persona keys (v2 "Accepted keys per service"). */
static const struct {
	const char *slug, *ports, *keys, *description;
} want_services[] = {
	{"ssh", "22/tcp", "ssh_version,kernel_version,users", "SSH (Cowrie honeypot)"},
	{"http", "80/tcp,443/tcp", "server_header,response_code,fake_app", "HTTP/HTTPS web server"},
	{"ftp", "21/tcp", "", "FTP file transfer"},
	{"tftp", "69/udp", "", "TFTP (trivial file transfer)"},
	{"smb", "445/tcp,139/tcp", "workgroup,server_name,os_version", "SMB/CIFS file shares"},
	{"rdp", "3389/tcp", "os_version,build", "Remote Desktop Protocol"},
	{"telnet", "23/tcp", "", "Telnet remote access"},
	{"vnc", "5900/tcp", "vnc_version", "VNC remote desktop"},
	{"smtp", "25/tcp,587/tcp", "smtp_banner,smtp_mta", "SMTP mail relay"},
	{"imap", "143/tcp,993/tcp", "", "IMAP mail access"},
	{"pop3", "110/tcp,995/tcp", "", "POP3 mail access"},
	{"ldap", "389/tcp,636/tcp", "base_dn,domain", "LDAP / Active Directory"},
	{"llmnr", "5355/udp,5353/udp", "", "LLMNR / mDNS (Windows name resolution)"},
	{"mysql", "3306/tcp", "mysql_version,mysql_banner", "MySQL database"},
	{"postgres", "5432/tcp", "pg_version", "PostgreSQL database"},
	{"mssql", "1433/tcp", "mssql_version", "Microsoft SQL Server"},
	{"mongodb", "27017/tcp", "mongo_version", "MongoDB document store"},
	{"redis", "6379/tcp", "redis_version", "Redis key-value store"},
	{"elasticsearch", "9200/tcp", "es_version,cluster_name", "Elasticsearch REST API"},
	{"mqtt", "1883/tcp", "mqtt_version", "MQTT IoT broker"},
	{"snmp", "161/udp", "snmp_community,sys_descr,snmp_archetype", "SNMP network management"},
	{"sip", "5060/udp,5060/tcp", "sip_server,sip_domain", "SIP VoIP protocol"},
	{"k8s", "6443/tcp,8080/tcp", "k8s_version", "Kubernetes API server"},
	{"docker_api", "2375/tcp,2376/tcp", "docker_version", "Docker Remote API"},
	{"conpot", "502/tcp,161/udp,80/tcp", "", "ICS/SCADA (Modbus, S7, DNP3)"},
};

static const struct {
	const char *slug, *services, *nmap_os, *description;
} want_archetypes[] = {
	{"deaddeck", "ssh", "linux", "Initial machine to be exploited. Real SSH container."},
	{"windows-workstation", "smb, rdp", "windows", "Corporate Windows desktop"},
	{"windows-server", "smb, rdp, ldap", "windows", "Windows domain member"},
	{"domain-controller", "ldap, smb, rdp, llmnr", "windows", "Active Directory DC"},
	{"linux-server", "ssh, http", "linux", "General-purpose Linux host"},
	{"web-server", "http, ftp", "linux", "Public-facing web host"},
	{"database-server", "mysql, postgres, redis", "linux", "Data tier host"},
	{"mail-server", "smtp, pop3, imap", "linux", "SMTP/IMAP/POP3 relay"},
	{"file-server", "smb, ftp, ssh", "linux", "SMB/FTP/SFTP storage node"},
	{"printer", "snmp, ftp", "embedded", "Network-attached printer"},
	{"iot-device", "mqtt, snmp, telnet", "embedded", "Embedded/IoT device"},
	{"industrial-control", "conpot, snmp", "embedded", "ICS/SCADA node"},
	{"voip-server", "sip", "linux", "SIP PBX / VoIP gateway"},
	{"monitoring-node", "snmp, ssh", "linux", "Infrastructure monitoring host"},
	{"devops-host", "docker_api, ssh, k8s", "linux", "CI/CD / container host"},
};

static const struct {
	const char *slug, *image, *display;
} want_distros[] = {
	{"debian", "debian:bookworm-slim", "Debian 12 (Bookworm)"},
	{"ubuntu22", "ubuntu:22.04", "Ubuntu 22.04 LTS (Jammy)"},
	{"ubuntu20", "ubuntu:20.04", "Ubuntu 20.04 LTS (Focal)"},
	{"rocky9", "rockylinux:9-minimal", "Rocky Linux 9"},
	{"centos7", "centos:7", "CentOS 7"},
	{"alpine", "alpine:3.19", "Alpine Linux 3.19"},
	{"fedora", "fedora:39", "Fedora 39"},
	{"kali", "kalilinux/kali-rolling", "Kali Linux (Rolling)"},
	{"arch", "archlinux:latest", "Arch Linux"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

void test_tables(void)
{
	size_t ns, na, nd;
	const struct fleet_service *svc = fleet_services(&ns);
	const struct fleet_archetype *arch = fleet_archetypes(&na);
	const struct fleet_distro *dis = fleet_distros(&nd);
	char buf[256], img[64];
	CHECK_EQ(ns, 25);
	CHECK_EQ(na, 15);
	CHECK_EQ(nd, 9);
	for (size_t i = 0; i < ns && i < N(want_services); i++) {
		CHECK(strcmp(svc[i].slug, want_services[i].slug) == 0);
		CHECK(strcmp(svc[i].description, want_services[i].description) == 0);
		ports_str(&svc[i], buf, sizeof(buf));
		CHECK(strcmp(buf, want_services[i].ports) == 0);
		keys_str(&svc[i], buf, sizeof(buf));
		CHECK(strcmp(buf, want_services[i].keys) == 0);
		snprintf(img, sizeof(img), "decnet/svc-%s:latest", svc[i].slug);
		CHECK(strcmp(svc[i].default_image, img) == 0);
		CHECK(fleet_service_find(svc[i].slug) == &svc[i]);
	}
	for (size_t i = 0; i < na && i < N(want_archetypes); i++) {
		CHECK(strcmp(arch[i].slug, want_archetypes[i].slug) == 0);
		CHECK(strcmp(arch[i].services, want_archetypes[i].services) == 0);
		CHECK(strcmp(arch[i].nmap_os, want_archetypes[i].nmap_os) == 0);
		CHECK(strcmp(arch[i].description, want_archetypes[i].description) == 0);
		CHECK(fleet_archetype_find(arch[i].slug) == &arch[i]);
		/* every preferred distro exists, and there is at least one */
		const char *list = arch[i].distros, *item;
		size_t len;
		int r, count = 0;
		while ((r = fleet_list_next(&list, &item, &len)) > 0) {
			snprintf(buf, sizeof(buf), "%.*s", (int)len, item);
			CHECK(fleet_distro_find(buf) != NULL);
			count++;
		}
		CHECK(r == 0 && count > 0);
	}
	for (size_t i = 0; i < nd && i < N(want_distros); i++) {
		CHECK(strcmp(dis[i].slug, want_distros[i].slug) == 0);
		CHECK(strcmp(dis[i].image, want_distros[i].image) == 0);
		CHECK(strcmp(dis[i].display_name, want_distros[i].display) == 0);
		CHECK(fleet_distro_find(dis[i].slug) == &dis[i]);
	}
	CHECK(fleet_service_find("nope") == NULL && fleet_service_find(NULL) == NULL);
	CHECK(fleet_archetype_find("SSH") == NULL && fleet_distro_find("") == NULL);
}

/* Run a listing command into a string (caller frees). */
/* noinline: inlined, gcc -O3 (-Wdangling-pointer) mistakes open_memstream's
 * buffer for the local that receives its address. */
__attribute__((noinline)) static char *run_cmd(int (*fn)(int, char **, FILE *), const char *arg, int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	char name[] = "cmd", opt[32];
	char *argv[] = {name, opt, NULL};
	snprintf(opt, sizeof(opt), "%s", arg ? arg : "");
	*rc = fn(arg ? 2 : 1, argv, out);
	fclose(out);
	return text;
}

static void check_json(int (*fn)(int, char **, FILE *), size_t want_rows, const char *first_slug)
{
	int rc;
	char *text = run_cmd(fn, "--json", &rc);
	cJSON *j = cJSON_Parse(text);
	CHECK_EQ(rc, 0);
	CHECK(cJSON_IsArray(j) && (size_t)cJSON_GetArraySize(j) == want_rows);
	cJSON *slug = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, 0), "slug");
	CHECK(cJSON_IsString(slug) && strcmp(slug->valuestring, first_slug) == 0);
	cJSON_Delete(j);
	free(text);
}

void test_ctl_tables(void)
{
	int rc;
	check_json(ctl_cmd_services, 25, "ssh");
	check_json(ctl_cmd_archetypes, 15, "deaddeck");
	check_json(ctl_cmd_distros, 9, "debian");

	/* JSON details: ports as objects, lists as arrays */
	char *text = run_cmd(ctl_cmd_services, "--json", &rc);
	cJSON *j = cJSON_Parse(text);
	cJSON *sip = cJSON_GetArrayItem(j, 21);
	cJSON *ports = cJSON_GetObjectItemCaseSensitive(sip, "ports");
	cJSON *p0 = cJSON_GetArrayItem(ports, 0);
	CHECK(cJSON_GetArraySize(ports) == 2 &&
	      cJSON_GetObjectItemCaseSensitive(p0, "port")->valuedouble == 5060 &&
	      strcmp(cJSON_GetObjectItemCaseSensitive(p0, "proto")->valuestring, "udp") == 0);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sip, "persona_keys")) == 2);
	CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(sip, "image")->valuestring,
		     "decnet/svc-sip:latest") == 0);
	cJSON_Delete(j);
	free(text);
	text = run_cmd(ctl_cmd_archetypes, "--json", &rc);
	j = cJSON_Parse(text);
	cJSON *dc = cJSON_GetArrayItem(j, 3);
	cJSON *svcs = cJSON_GetObjectItemCaseSensitive(dc, "services");
	CHECK(cJSON_GetArraySize(svcs) == 4 &&
	      strcmp(cJSON_GetArrayItem(svcs, 3)->valuestring, "llmnr") == 0);
	CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(dc, "distros")));
	cJSON_Delete(j);
	free(text);

	/* Text: header plus one line per row, columns aligned: "PORTS"
	 * starts where every row's second column starts. */
	text = run_cmd(ctl_cmd_services, NULL, &rc);
	CHECK_EQ(rc, 0);
	size_t lines = 0;
	for (const char *p = text; p && *p; p++)
		lines += *p == '\n';
	CHECK_EQ(lines, 26);
	const char *ports_col = strstr(text, "PORTS"), *ssh = strstr(text, "\nssh ");
	const char *ssh_ports = ssh ? strstr(ssh, "22/tcp") : NULL;
	CHECK(ports_col && ssh_ports && (ports_col - text) == (ssh_ports - (ssh + 1)));
	CHECK(strstr(text, "5060/udp, 5060/tcp") && strstr(text, "conpot "));
	free(text);
	text = run_cmd(ctl_cmd_distros, NULL, &rc);
	CHECK(rc == 0 && strstr(text, "kalilinux/kali-rolling") && strstr(text, "DISPLAY NAME"));
	free(text);
	text = run_cmd(ctl_cmd_archetypes, NULL, &rc);
	CHECK(rc == 0 && strstr(text, "ldap, smb, rdp, llmnr"));
	free(text);

	/* usage */
	text = run_cmd(ctl_cmd_services, "--yaml", &rc);
	CHECK_EQ(rc, 2);
	free(text);
	text = run_cmd(ctl_cmd_distros, "--help", &rc);
	CHECK(rc == 0 && strstr(text, "Usage: decnet distros"));
	free(text);
}
