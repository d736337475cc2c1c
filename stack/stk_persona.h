/* stk_persona: an OS persona compiled from nmap-os-db (fingerprints/
 * fp_persona.h) turned into the stack's policy tables (stk_tcp_policy.h and
 * the host's TTL/echo answers).
 *
 * The policy model answers any SYN by rules conditional on the SYN's
 * options, so what nmap's six probes see is reproduced through those rules:
 * the SYN-ACK layout comes from the answer to probe 1 (all options, each
 * kept only when the SYN offered it) and the window rules from the probes
 * that lack MSS, window scale or SACK and from the ECN probe. Probe answers
 * the rules cannot express (per-probe option quirks, a different TTL for
 * ICMP than for TCP, RST data, Q quirks) are exact answers
 * (stk_tcp_policy.exact, stk_tcp_exact.c): the SYN-ACK recorded for each of
 * nmap's probe layouts, the T2..T7 answers field by field, controlled ISN
 * steps between SEQ probes, and the U1/IE details.
 */
#ifndef STK_PERSONA_H
#define STK_PERSONA_H

#include "fingerprints/fp_persona.h"
#include "stack/stk_hosts.h"
#include "stack/stk_tcp_policy.h"

/* Fill *pol (timers and rates from the persona's family defaults) and the
 * host answers *host (ttl, echo code, echo DF; host->tcp is set to pol).
 * pol must outlive every host using it. 0, or -EINVAL when the result
 * fails stk_tcp_policy_check(). */
int stk_policy_from_persona(const struct fp_persona *p, struct stk_tcp_policy *pol,
			    struct stk_host_policy *host);

/* CRC-32 as nmap computes RD (IEEE 802.3, reflected), and four bytes of
 * RST data with a given CRC (what a persona's RD= asks for). */
uint32_t stk_crc32(const uint8_t *d, unsigned len);
void stk_crc32_forge(uint32_t want, uint8_t out[4]);

#endif
