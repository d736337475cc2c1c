#!/usr/bin/python3
"""The dry run's compose document against the official compose-spec schema.

For each example fleet and each network variant (macvlan default, ipvlan
with a parent, explicit log target) this runs compose_dump (the plan and
ctr_compose_write, exactly what deploy --dry-run prints), then checks:

  * the text is YAML that loads to the same value as its JSON reading
    (compose reads it as YAML);
  * it validates against tests/data/compose-spec/compose-spec.json
    (draft-07) -- with python3-jsonschema; missing it is a FAILURE, not a
    skip, because then nothing here has been checked;
  * the container model: unique container names, every service container
    shares (network_mode service:BASE) a base of its own decky, unique IPs
    and MACs inside the subnet, the spec's sysctls per OS family, labels,
    logging and the example's own promises (25 services, BYOS, personas).

usage: test_compose_schema.py COMPOSE_DUMP SCHEMA.json FLEET.ini...
Ends with "N passed, N failed"; exit 1 on any failure.
"""
import ipaddress
import json
import os
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    print("FAIL: python3-jsonschema is not installed (apt-get install python3-jsonschema); "
          "the compose schema cannot be checked", file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(1)
try:
    import yaml
except ImportError:
    print("FAIL: python3-yaml is not installed (apt-get install python3-yaml)", file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(1)

# The spec's "OS Fingerprint Spoofing" table: family -> (TTL, tcp_syn_retries,
# "+ 8 MB recv buffer").
SPEC_FAMILIES = {
    "linux": ("64", "6", False),
    "windows": ("128", "2", True),
    "bsd": ("64", "6", False),
    "embedded": ("255", "3", False),
    "cisco": ("255", "2", False),
}
BUILTIN_SERVICES = {
    "ssh", "http", "ftp", "tftp", "smb", "rdp", "telnet", "vnc", "smtp", "imap", "pop3",
    "ldap", "llmnr", "mysql", "postgres", "mssql", "mongodb", "redis", "elasticsearch",
    "mqtt", "snmp", "sip", "k8s", "docker_api", "conpot",
}
# What examples/test-full.ini promises about some of its deckies.
FULL_FAMILIES = {
    "decky-webmail": "linux", "decky-winbox": "windows", "decky-dc": "windows",
    "decky-legacy": "bsd", "decky-iot": "embedded", "decky-plc": "embedded",
    "decky-core": "cisco", "corp-ws-01": "windows", "printers-01": "embedded",
}
DEMO_FAMILIES = {
    "web01": "linux", "ws-finance": "windows", "nas01": "bsd", "printer-2f": "embedded",
    "core-sw": "cisco",
}

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}", file=sys.stderr)
    return ok


def check_model(doc, where, ipvlan, log_target):
    """The container model, independent of the schema."""
    services = doc["services"]
    net_name, net = next(iter(doc["networks"].items()))
    check(net.get("name") == net_name == "decnet_lan", f"{where}: network name")
    check(net["driver"] == ("ipvlan" if ipvlan else "macvlan"), f"{where}: network driver")
    if ipvlan:
        check(net.get("driver_opts", {}).get("ipvlan_mode") == "l2", f"{where}: ipvlan l2")
    pool = net["ipam"]["config"][0]
    subnet = ipaddress.ip_network(pool["subnet"])
    gateway = ipaddress.ip_address(pool["gateway"])
    check(gateway in subnet, f"{where}: gateway in subnet")
    check(net["labels"].get("decnet.managed") == "true", f"{where}: network label")

    names = [s.get("container_name") for s in services.values()]
    check(len(names) == len(set(names)), f"{where}: container names unique")
    bases = {}
    ips, macs = set(), set()
    for key, svc in services.items():
        labels = svc.get("labels", {})
        check(svc.get("container_name") == key, f"{where}: {key} keyed by container name")
        check(labels.get("decnet.managed") == "true" and labels.get("decnet.version"),
              f"{where}: {key} managed/version labels")
        check(svc.get("restart") == "unless-stopped", f"{where}: {key} restart")
        if labels.get("decnet.role") != "base":
            continue
        bases[key] = svc
        check(labels.get("decnet.decky") == key, f"{where}: base {key} decky label")
        att = svc["networks"][net_name]
        ip = ipaddress.ip_address(att["ipv4_address"])
        check(ip in subnet and ip not in (subnet.network_address, subnet.broadcast_address,
                                          gateway), f"{where}: {key} IP {ip} usable in {subnet}")
        check(ip not in ips, f"{where}: {key} IP {ip} unique")
        ips.add(ip)
        if ipvlan:
            check("mac_address" not in att, f"{where}: {key} no MAC on ipvlan")
        else:
            mac = att.get("mac_address", "")
            check(len(mac) == 17 and not int(mac[:2], 16) & 1, f"{where}: {key} unicast MAC")
            check(mac not in macs, f"{where}: {key} MAC unique")
            macs.add(mac)
        check(svc.get("command") == ["sleep", "infinity"], f"{where}: {key} sleeps")
        check(svc.get("hostname"), f"{where}: {key} hostname")
        family = labels.get("decnet.nmap_os")
        ttl, syn, rcvbuf = SPEC_FAMILIES.get(family, (None, None, None))
        sysctls = svc.get("sysctls", {})
        check(sysctls.get("net.ipv4.ip_default_ttl") == ttl, f"{where}: {key} TTL ({family})")
        check(sysctls.get("net.ipv4.tcp_syn_retries") == syn,
              f"{where}: {key} tcp_syn_retries ({family})")
        rmem = sysctls.get("net.ipv4.tcp_rmem")
        check((rmem is not None and rmem.split()[-1] == "8388608") if rcvbuf else rmem is None,
              f"{where}: {key} receive buffer ({family})")
        check(all(k.startswith("net.ipv4.") for k in sysctls),
              f"{where}: {key} only per-namespace sysctls")

    seen_services = set()
    for key, svc in services.items():
        labels = svc.get("labels", {})
        if key in bases:
            continue
        check(labels.get("decnet.role") == "service", f"{where}: {key} role")
        mode = svc.get("network_mode", "")
        base = mode[len("service:"):] if mode.startswith("service:") else None
        decky = labels.get("decnet.decky")
        check(base in bases and base == decky, f"{where}: {key} shares its decky's base ({mode})")
        check(svc.get("depends_on") == [base], f"{where}: {key} depends on its base")
        check(key == f"{decky}-{labels.get('decnet.service')}", f"{where}: {key} DECKY-SERVICE")
        check("networks" not in svc and "hostname" not in svc,
              f"{where}: {key} no network config of its own")
        env = svc.get("environment", {})
        check(env.get("NODE_NAME") == decky, f"{where}: {key} NODE_NAME")
        check(env.get("HOSTNAME") == bases.get(base, {}).get("hostname"), f"{where}: {key} HOSTNAME")
        if log_target:
            check(env.get("LOG_TARGET") == log_target, f"{where}: {key} LOG_TARGET")
            logging = svc.get("logging", {})
            check(logging.get("driver") == "syslog" and
                  logging.get("options", {}).get("syslog-address") == f"udp://{log_target}",
                  f"{where}: {key} syslog logging driver")
        else:
            check("LOG_TARGET" not in env and "logging" not in svc, f"{where}: {key} no logging")
        seen_services.add(labels.get("decnet.service"))
    return bases, seen_services


def check_full(doc, where, bases, seen):
    services = doc["services"]
    check(BUILTIN_SERVICES <= seen, f"{where}: all 25 services ({sorted(BUILTIN_SERVICES - seen)} missing)")
    for decky, family in FULL_FAMILIES.items():
        check(bases.get(decky, {}).get("labels", {}).get("decnet.nmap_os") == family,
              f"{where}: {decky} is {family}")
    hmi = services.get("decky-plc-hmi", {})
    check(hmi.get("image") == "decnet/byos-hmi:latest" and
          hmi.get("command") == ["/usr/local/bin/hmi", "--listen", "8443"], f"{where}: BYOS hmi")
    ssh = services.get("decky-legacy-ssh", {}).get("environment", {})
    check(ssh.get("SSH_VERSION") == "OpenSSH_7.4p1 Debian-10+deb9u7", f"{where}: SSH_VERSION persona")
    for key, svc in services.items():
        if key not in bases:
            check(svc.get("environment", {}).get("LOG_FILE") == "/var/log/decnet/decnet.log" and
                  svc.get("volumes") == ["/var/log/decnet:/var/log/decnet"], f"{where}: {key} log file")


def run_variant(dump, validator, ini, args, log_target):
    where = f"{os.path.basename(ini)} {' '.join(args) or '(defaults)'}"
    proc = subprocess.run([dump, *args, ini], capture_output=True, text=True)
    if not check(proc.returncode == 0, f"{where}: compose_dump exit {proc.returncode}: {proc.stderr.strip()}"):
        return
    doc = json.loads(proc.stdout)
    check(yaml.safe_load(proc.stdout) == doc, f"{where}: the JSON reads as the same YAML")
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors[:10]:
        print(f"  schema: {'/'.join(str(p) for p in e.path)}: {e.message}", file=sys.stderr)
    check(not errors, f"{where}: valid against the compose-spec schema ({len(errors)} errors)")
    ipvlan = "--ipvlan" in args
    bases, seen = check_model(doc, where, ipvlan, log_target)
    name = os.path.basename(ini)
    if name == "test-full.ini":
        check_full(doc, where, bases, seen)
    elif name == "demo.ini":
        for decky, family in DEMO_FAMILIES.items():
            check(bases.get(decky, {}).get("labels", {}).get("decnet.nmap_os") == family,
                  f"{where}: {decky} is {family}")


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    dump, schema_path, inis = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)

    # The validator must be able to say no: a document compose refuses.
    bad = {"services": {"x": {"image": "i", "network_mode": 1, "bogus": True}}}
    check(len(list(validator.iter_errors(bad))) >= 2, "schema rejects a bad document")

    for ini in inis:
        full = os.path.basename(ini) == "test-full.ini"
        run_variant(dump, validator, ini, [], "10.77.0.250:5140" if full else None)
        run_variant(dump, validator, ini, ["--ipvlan", "--interface", "wlp6s0"],
                    "10.77.0.250:5140" if full else None)
        run_variant(dump, validator, ini, ["--interface", "eth0", "--log-target", "127.0.0.1:5140",
                                           "--distro", "debian"], "127.0.0.1:5140")
    # What a user runs: `decnet deploy -c FILE --dry-run` prints the same
    # document (the CLI and the test driver share the plan code).
    cli = os.environ.get("DECNET_CLI")
    check(bool(cli), "DECNET_CLI names the decnet binary")
    for ini in inis if cli else []:
        where = f"decnet deploy --dry-run -c {os.path.basename(ini)}"
        proc = subprocess.run([cli, "deploy", "--dry-run", "-c", ini], capture_output=True, text=True)
        if not check(proc.returncode == 0, f"{where}: exit {proc.returncode}: {proc.stderr.strip()}"):
            continue
        doc = json.loads(proc.stdout)
        ref = json.loads(subprocess.run([dump, ini], capture_output=True, text=True).stdout)
        check(doc == ref, f"{where}: same document as the plan renderer")
        check(not list(validator.iter_errors(doc)), f"{where}: valid against the compose-spec schema")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
