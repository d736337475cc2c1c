#!/usr/bin/python3
"""Generic DECNET listener: logs every TCP connection and UDP datagram.

DECNET_PORTS   "21/tcp,69/udp" (tcp when no /proto)
DECNET_SERVICE name used in the log lines
DECNET_BANNER  optional text sent on TCP accept (\\r\\n escapes honoured)

One JSON line per event on stdout. Reads at most 4 KiB per connection and
closes it after 10 s of silence; never answers UDP.
"""
import json, os, selectors, socket, sys, time

service = os.environ.get("DECNET_SERVICE", "listener")
banner = os.environ.get("DECNET_BANNER", "").encode().decode("unicode_escape").encode("latin-1")


def log(**kv):
    kv = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "service": service, **kv}
    sys.stdout.write(json.dumps(kv) + "\n")
    sys.stdout.flush()


def main():
    sel = selectors.DefaultSelector()
    spec = [p.strip() for p in os.environ.get("DECNET_PORTS", "").split(",") if p.strip()]
    if not spec:
        log(event="error", message="DECNET_PORTS is empty")
        return 1
    for item in spec:
        port, _, proto = item.partition("/")
        proto = proto or "tcp"
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(port)))
        if proto == "tcp":
            s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", proto, int(port)))
        log(event="listening", port=int(port), proto=proto)
    conns = {}
    while True:
        now = time.monotonic()
        for c, (t0, _) in list(conns.items()):
            if now - t0 > 10:
                sel.unregister(c)
                c.close()
                del conns[c]
        for key, _ in sel.select(timeout=1.0):
            what = key.data
            s = key.fileobj
            if what[0] == "listen" and what[1] == "tcp":
                try:
                    c, peer = s.accept()
                except OSError:
                    continue
                log(event="connection", proto="tcp", port=what[2], src_ip=peer[0], src_port=peer[1])
                c.setblocking(False)
                if banner:
                    try:
                        c.send(banner)
                    except OSError:
                        pass
                conns[c] = (time.monotonic(), 0)
                sel.register(c, selectors.EVENT_READ, ("conn", what[2], peer))
            elif what[0] == "listen":
                try:
                    data, peer = s.recvfrom(4096)
                except OSError:
                    continue
                log(event="datagram", proto="udp", port=what[2], src_ip=peer[0], src_port=peer[1],
                    data=data[:256].hex())
            else:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                t0, n = conns.get(s, (0, 0))
                if data and n < 4096:
                    log(event="data", proto="tcp", port=what[1], src_ip=what[2][0], data=data[:512].hex())
                    conns[s] = (t0, n + len(data))
                else:
                    sel.unregister(s)
                    s.close()
                    conns.pop(s, None)


if __name__ == "__main__":
    sys.exit(main())
