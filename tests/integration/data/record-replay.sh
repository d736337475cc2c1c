#!/bin/bash
# Re-records the pcap replay fixtures (run by hand, as root, when the
# expected answers change on purpose; review the diff with tshark):
#   replay-in.pcap        what a scanner sent to three deckies: arping, ping
#                         of several sizes, a ping to a non-decky, and
#                         crafted oddities (bad checksums, a fragment, ICMP
#                         timestamp, UDP, a VLAN tag, a runt)
#   replay-expected.pcap  what decnetd answered live on the veth lab
# Usage: DECNET_BUILD=build DECNET_SRC=. tests/integration/data/record-replay.sh
set -eu
. "$DECNET_SRC/tests/lab/lab.sh"
lab_need_root
out=$DECNET_SRC/tests/integration/data
lab_up rec$$
scan tcpdump -q -i scan0 -w "$LAB_DIR/all.pcap" -U 2>/dev/null &
TCPD=$!
sleep 1
lab_engine "$DECNET_SRC/tests/integration/data/three-families.ini" --family-tables
for ip in 10.77.0.10 10.77.0.11 10.77.0.12; do scan arping -c 2 -W 0.1 -i scan0 $ip >/dev/null; done
scan arping -c 1 -w 1 -i scan0 10.77.0.99 >/dev/null || true
scan ping -c 2 -i 0.1 -s 100 10.77.0.10 >/dev/null
scan ping -c 1 -p 5a5a -s 1400 10.77.0.11 >/dev/null
scan ping -c 1 -s 0 10.77.0.12 >/dev/null
scan /usr/bin/python3 - <<'PY'
from scapy.all import Ether, IP, ICMP, UDP, Dot1Q, ARP, Raw, sendp, getmacbyip, get_if_hwaddr
import subprocess, json
conf_iface = "scan0"
me = get_if_hwaddr(conf_iface)
dmac = {}
for ip in ("10.77.0.10", "10.77.0.11", "10.77.0.12"):
    out = subprocess.run(["ip", "neigh", "show", ip], capture_output=True, text=True).stdout.split()
    dmac[ip] = out[out.index("lladdr") + 1]
d = "10.77.0.11"
frames = [
    Ether(src=me, dst=dmac[d]) / IP(src="10.77.0.2", dst=d, chksum=0x1234) / ICMP(id=1, seq=1),   # bad IP checksum
    Ether(src=me, dst=dmac[d]) / IP(src="10.77.0.2", dst=d) / ICMP(id=1, seq=2, chksum=0x4321),    # bad ICMP checksum
    Ether(src=me, dst=dmac[d]) / IP(src="10.77.0.2", dst=d, flags="MF") / ICMP(id=1, seq=3) / Raw(b"x" * 40),  # fragment
    Ether(src=me, dst=dmac[d]) / IP(src="10.77.0.2", dst=d) / ICMP(type=13, id=1, seq=4) / Raw(b"\0" * 12),  # timestamp
    Ether(src=me, dst=dmac[d]) / IP(src="10.77.0.2", dst=d) / UDP(sport=40000, dport=161) / Raw(b"probe"),
    Ether(src=me, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=7) / ARP(psrc="10.77.0.2", pdst=d, hwsrc=me),
    Ether(src=me, dst=dmac[d], type=0x0800) / Raw(b"\x45\x00\x00"),                               # runt IPv4
    Ether(src=me, dst=dmac[d]) / IP(src="10.77.0.2", dst=d, tos=0xb8) / ICMP(id=9, seq=9, code=9) / Raw(b"code9"),
    Ether(src=me, dst=dmac["10.77.0.10"]) / IP(src="10.77.0.2", dst="10.77.0.10") / ICMP(id=9, seq=9, code=9) / Raw(b"code9"),
]
sendp(frames, iface=conf_iface, verbose=False, inter=0.05)
PY
sleep 0.5
lab_stop_engine
sleep 0.5
kill -TERM $TCPD; wait $TCPD || true
smac=$(scan cat /sys/class/net/scan0/address)
tshark -r "$LAB_DIR/all.pcap" -Y "eth.src == $smac && !(arp.dst.proto_ipv4 == 10.77.0.1) && !(ip.dst == 10.77.0.1)" -w "$out/replay-in.pcap" -F pcap
tshark -r "$LAB_DIR/all.pcap" -Y "eth.src != $smac && !(arp.src.proto_ipv4 == 10.77.0.1)" -w "$out/replay-expected.pcap" -F pcap
tshark -r "$out/replay-in.pcap" | wc -l
tshark -r "$out/replay-expected.pcap"
