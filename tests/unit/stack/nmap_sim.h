/* nmap_sim: nmap 7.93's OS detection probes (osscan2.cc: six SEQ probes,
 * ECN, T2..T7, U1, two ICMP echoes), sent through the real stack of a
 * one-decky lab (tcp_lab.h), and the fingerprint nmap would compute from
 * the answers, by nmap's own measurement rules (ISR/SP/GCD from ISN
 * differences over send times, IP-ID classes, timestamp rate, option
 * strings, T1..T7 fields, U1 quote checks, IE DFI/CD) re-implemented here.
 *
 * It lets the unit suite check every compiled persona against its own
 * nmap-os-db entry end to end — compiler, policy, stack — without a real
 * nmap, in milliseconds per entry. What it cannot see (nmap's pacing under
 * load, its retries, the wire) is the integration test's job.
 */
#ifndef NMAP_SIM_H
#define NMAP_SIM_H

#include "fingerprints/fp_osmatch.h"
#include "tests/unit/stack/tcp_lab.h"

struct nmap_sim_cfg {
	uint16_t open_port, closed_port, closed_udp_port;
	unsigned seq_gap_ms;    /* nmap: 100 (more when it scans many hosts) */
	unsigned jitter_ms;     /* added to every other gap */
};

/* Probe the lab's decky and fill *out with the subject fingerprint (tests
 * SEQ..IE as nmap prints them on a LAN, distance 1). Advances the lab's
 * clock. Returns 0 or -ENOSPC. */
int nmap_sim_run(struct tl *l, const struct nmap_sim_cfg *cfg, struct fp_subject *out);

/* nmap's SYN probe k (0..5: SEQ probes 1..6, 6: the ECN probe) from
 * sport to dport, as nmap_sim_run sends it. Returns the answers' count. */
#define NMAP_SIM_SYN_PROBES 7
unsigned nmap_sim_syn(struct tl *l, unsigned k, uint16_t sport, uint16_t dport);

#endif
