/* Wire layouts the stack reads and writes: offsets and constants only (no
 * packed structs; see stk_wire.h for why). */
#ifndef STK_PROTO_H
#define STK_PROTO_H

#define STK_ETH_ALEN 6
#define STK_ETH_HLEN 14
#define STK_ETH_MIN_FRAME 60 /* without FCS: what a NIC pads short frames to */
#define STK_ETH_O_DST 0
#define STK_ETH_O_SRC 6
#define STK_ETH_O_TYPE 12
#define STK_ETHERTYPE_IPV4 0x0800
#define STK_ETHERTYPE_ARP 0x0806
#define STK_ETHERTYPE_VLAN 0x8100
#define STK_ETHERTYPE_QINQ 0x88a8

/* ARP for IPv4 over Ethernet (RFC 826), offsets from the ARP header. */
#define STK_ARP_LEN 28
#define STK_ARP_O_HTYPE 0
#define STK_ARP_O_PTYPE 2
#define STK_ARP_O_HLEN 4
#define STK_ARP_O_PLEN 5
#define STK_ARP_O_OP 6
#define STK_ARP_O_SHA 8
#define STK_ARP_O_SPA 14
#define STK_ARP_O_THA 18
#define STK_ARP_O_TPA 24
#define STK_ARP_OP_REQUEST 1
#define STK_ARP_OP_REPLY 2

/* IPv4 (RFC 791). */
#define STK_IP4_MIN_HLEN 20
#define STK_IP4_O_VIHL 0
#define STK_IP4_O_TOS 1
#define STK_IP4_O_LEN 2
#define STK_IP4_O_ID 4
#define STK_IP4_O_FRAG 6
#define STK_IP4_O_TTL 8
#define STK_IP4_O_PROTO 9
#define STK_IP4_O_CSUM 10
#define STK_IP4_O_SRC 12
#define STK_IP4_O_DST 16
#define STK_IP4_DF 0x4000
#define STK_IP4_MF 0x2000
#define STK_IP4_OFFMASK 0x1fff
#define STK_IPPROTO_ICMP 1
#define STK_IPPROTO_TCP 6
#define STK_IPPROTO_UDP 17

/* ICMP (RFC 792). */
#define STK_ICMP_HLEN 8
#define STK_ICMP_O_TYPE 0
#define STK_ICMP_O_CODE 1
#define STK_ICMP_O_CSUM 2
#define STK_ICMP_ECHO_REPLY 0
#define STK_ICMP_ECHO_REQUEST 8

#endif
