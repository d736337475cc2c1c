#!/usr/bin/env python3
"""rawsend.py IFACE N TARGET [arp|junk]: send N raw Ethernet frames on IFACE
as fast as the socket takes them: ARP requests for TARGET (from 10.77.0.2),
or junk frames of a local EtherType nobody answers. Standard library only;
bounded by N. Run inside a lab namespace."""
import socket
import struct
import sys

iface, n, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
kind = sys.argv[4] if len(sys.argv) > 4 else "arp"
if not 0 < n <= 100000:
    sys.exit("N must be 1..100000")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
src = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
if kind == "arp":
    frame = (b"\xff" * 6 + src + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src +
             socket.inet_aton("10.77.0.2") + b"\x00" * 6 + socket.inet_aton(target))
else:
    frame = b"\x02\x00\x00\x00\x00\x01" + src + b"\x88\xb5" + bytes(46)
for _ in range(n):
    s.send(frame)
