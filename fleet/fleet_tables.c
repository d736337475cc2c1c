/* The static registries DECNET users already know: 25 services, 15
 * archetypes, 9 distros. Values are transcribed from DECNET's README tables
 * (shared/spec); the persona keys are its "Accepted keys per service" table.
 * Transport protocols are not in those tables: they come from what the
 * protocols are (TFTP, SNMP, LLMNR/mDNS ride on UDP; SIP listens on both).
 *
 * Everything here is const data plus linear lookups over tables of a few
 * dozen rows; no state.
 */
#include "fleet/fleet.h"

#include <string.h>

#define TCP(p) {(p), FLEET_PROTO_TCP}
#define UDP(p) {(p), FLEET_PROTO_UDP}
#define IMG(slug) "decnet/svc-" slug ":latest"

static const char *const keys_none[] = {NULL};
static const char *const keys_ssh[] = {"ssh_version", "kernel_version", "users", NULL};
static const char *const keys_http[] = {"server_header", "response_code", "fake_app", NULL};
static const char *const keys_smtp[] = {"smtp_banner", "smtp_mta", NULL};
static const char *const keys_smb[] = {"workgroup", "server_name", "os_version", NULL};
static const char *const keys_rdp[] = {"os_version", "build", NULL};
static const char *const keys_mysql[] = {"mysql_version", "mysql_banner", NULL};
static const char *const keys_redis[] = {"redis_version", NULL};
static const char *const keys_postgres[] = {"pg_version", NULL};
static const char *const keys_mongodb[] = {"mongo_version", NULL};
static const char *const keys_es[] = {"es_version", "cluster_name", NULL};
static const char *const keys_ldap[] = {"base_dn", "domain", NULL};
static const char *const keys_snmp[] = {"snmp_community", "sys_descr", "snmp_archetype", NULL};
static const char *const keys_mqtt[] = {"mqtt_version", NULL};
static const char *const keys_sip[] = {"sip_server", "sip_domain", NULL};
static const char *const keys_k8s[] = {"k8s_version", NULL};
static const char *const keys_docker[] = {"docker_version", NULL};
static const char *const keys_vnc[] = {"vnc_version", NULL};
static const char *const keys_mssql[] = {"mssql_version", NULL};

/* Order is the spec's table order, which is also `decnet services` order. */
static const struct fleet_service services[] = {
	{"ssh", "SSH (Cowrie honeypot)", {TCP(22)}, 1, keys_ssh, IMG("ssh")},
	{"http", "HTTP/HTTPS web server", {TCP(80), TCP(443)}, 2, keys_http, IMG("http")},
	{"ftp", "FTP file transfer", {TCP(21)}, 1, keys_none, IMG("ftp")},
	{"tftp", "TFTP (trivial file transfer)", {UDP(69)}, 1, keys_none, IMG("tftp")},
	{"smb", "SMB/CIFS file shares", {TCP(445), TCP(139)}, 2, keys_smb, IMG("smb")},
	{"rdp", "Remote Desktop Protocol", {TCP(3389)}, 1, keys_rdp, IMG("rdp")},
	{"telnet", "Telnet remote access", {TCP(23)}, 1, keys_none, IMG("telnet")},
	{"vnc", "VNC remote desktop", {TCP(5900)}, 1, keys_vnc, IMG("vnc")},
	{"smtp", "SMTP mail relay", {TCP(25), TCP(587)}, 2, keys_smtp, IMG("smtp")},
	{"imap", "IMAP mail access", {TCP(143), TCP(993)}, 2, keys_none, IMG("imap")},
	{"pop3", "POP3 mail access", {TCP(110), TCP(995)}, 2, keys_none, IMG("pop3")},
	{"ldap", "LDAP / Active Directory", {TCP(389), TCP(636)}, 2, keys_ldap, IMG("ldap")},
	{"llmnr", "LLMNR / mDNS (Windows name resolution)", {UDP(5355), UDP(5353)}, 2,
	 keys_none, IMG("llmnr")},
	{"mysql", "MySQL database", {TCP(3306)}, 1, keys_mysql, IMG("mysql")},
	{"postgres", "PostgreSQL database", {TCP(5432)}, 1, keys_postgres, IMG("postgres")},
	{"mssql", "Microsoft SQL Server", {TCP(1433)}, 1, keys_mssql, IMG("mssql")},
	{"mongodb", "MongoDB document store", {TCP(27017)}, 1, keys_mongodb, IMG("mongodb")},
	{"redis", "Redis key-value store", {TCP(6379)}, 1, keys_redis, IMG("redis")},
	{"elasticsearch", "Elasticsearch REST API", {TCP(9200)}, 1, keys_es, IMG("elasticsearch")},
	{"mqtt", "MQTT IoT broker", {TCP(1883)}, 1, keys_mqtt, IMG("mqtt")},
	{"snmp", "SNMP network management", {UDP(161)}, 1, keys_snmp, IMG("snmp")},
	{"sip", "SIP VoIP protocol", {UDP(5060), TCP(5060)}, 2, keys_sip, IMG("sip")},
	{"k8s", "Kubernetes API server", {TCP(6443), TCP(8080)}, 2, keys_k8s, IMG("k8s")},
	{"docker_api", "Docker Remote API", {TCP(2375), TCP(2376)}, 2, keys_docker, IMG("docker_api")},
	{"conpot", "ICS/SCADA (Modbus, S7, DNP3)", {TCP(502), UDP(161), TCP(80)}, 3, keys_none,
	 IMG("conpot")},
};

/* Services and families are the spec's table (v2, which adds deaddeck to
 * v1's fourteen). The spec names no preferred distros per archetype, only
 * that archetypes carry them; these lists are ours: the images a real host
 * of that role plausibly runs, Debian-family first because service images
 * build on apt. */
static const struct fleet_archetype archetypes[] = {
	{"deaddeck", "ssh", "linux", "debian, ubuntu22",
	 "Initial machine to be exploited. Real SSH container."},
	{"windows-workstation", "smb, rdp", "windows", "debian, ubuntu22",
	 "Corporate Windows desktop"},
	{"windows-server", "smb, rdp, ldap", "windows", "debian, ubuntu22",
	 "Windows domain member"},
	{"domain-controller", "ldap, smb, rdp, llmnr", "windows", "debian, ubuntu22",
	 "Active Directory DC"},
	{"linux-server", "ssh, http", "linux", "debian, ubuntu22, ubuntu20, rocky9, centos7",
	 "General-purpose Linux host"},
	{"web-server", "http, ftp", "linux", "debian, ubuntu22, rocky9, alpine",
	 "Public-facing web host"},
	{"database-server", "mysql, postgres, redis", "linux", "debian, ubuntu22, rocky9, centos7",
	 "Data tier host"},
	{"mail-server", "smtp, pop3, imap", "linux", "debian, ubuntu20, centos7",
	 "SMTP/IMAP/POP3 relay"},
	{"file-server", "smb, ftp, ssh", "linux", "debian, ubuntu22, rocky9",
	 "SMB/FTP/SFTP storage node"},
	{"printer", "snmp, ftp", "embedded", "alpine", "Network-attached printer"},
	{"iot-device", "mqtt, snmp, telnet", "embedded", "alpine", "Embedded/IoT device"},
	{"industrial-control", "conpot, snmp", "embedded", "alpine, debian", "ICS/SCADA node"},
	{"voip-server", "sip", "linux", "debian, centos7", "SIP PBX / VoIP gateway"},
	{"monitoring-node", "snmp, ssh", "linux", "debian, ubuntu22, rocky9",
	 "Infrastructure monitoring host"},
	{"devops-host", "docker_api, ssh, k8s", "linux", "ubuntu22, debian, fedora, arch",
	 "CI/CD / container host"},
};

/* Round-robin order for deckies without distro= is this table's order. */
static const struct fleet_distro distros[] = {
	{"debian", "debian:bookworm-slim", "Debian 12 (Bookworm)", FLEET_HOSTNAME_GENERIC},
	{"ubuntu22", "ubuntu:22.04", "Ubuntu 22.04 LTS (Jammy)", FLEET_HOSTNAME_GENERIC},
	{"ubuntu20", "ubuntu:20.04", "Ubuntu 20.04 LTS (Focal)", FLEET_HOSTNAME_GENERIC},
	{"rocky9", "rockylinux:9-minimal", "Rocky Linux 9", FLEET_HOSTNAME_RHEL},
	{"centos7", "centos:7", "CentOS 7", FLEET_HOSTNAME_RHEL},
	{"alpine", "alpine:3.19", "Alpine Linux 3.19", FLEET_HOSTNAME_MINIMAL},
	{"fedora", "fedora:39", "Fedora 39", FLEET_HOSTNAME_RHEL},
	{"kali", "kalilinux/kali-rolling", "Kali Linux (Rolling)", FLEET_HOSTNAME_ROLLING},
	{"arch", "archlinux:latest", "Arch Linux", FLEET_HOSTNAME_ROLLING},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const struct fleet_service *fleet_services(size_t *count)
{
	*count = COUNT(services);
	return services;
}

const struct fleet_archetype *fleet_archetypes(size_t *count)
{
	*count = COUNT(archetypes);
	return archetypes;
}

const struct fleet_distro *fleet_distros(size_t *count)
{
	*count = COUNT(distros);
	return distros;
}

const struct fleet_service *fleet_service_find(const char *slug)
{
	for (size_t i = 0; slug && i < COUNT(services); i++)
		if (strcmp(services[i].slug, slug) == 0)
			return &services[i];
	return NULL;
}

const struct fleet_archetype *fleet_archetype_find(const char *slug)
{
	for (size_t i = 0; slug && i < COUNT(archetypes); i++)
		if (strcmp(archetypes[i].slug, slug) == 0)
			return &archetypes[i];
	return NULL;
}

const struct fleet_distro *fleet_distro_find(const char *slug)
{
	for (size_t i = 0; slug && i < COUNT(distros); i++)
		if (strcmp(distros[i].slug, slug) == 0)
			return &distros[i];
	return NULL;
}

const char *fleet_proto_name(uint8_t proto)
{
	return proto == FLEET_PROTO_UDP ? "udp" : "tcp";
}
