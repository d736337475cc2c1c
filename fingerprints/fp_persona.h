/* fp_persona: one nmap-os-db entry compiled into the concrete answers a
 * decky gives, in nmap's own terms, ready for the stack to apply.
 *
 * Compiling starts from the subject fingerprint that nmap should measure
 * (fp_osmatch_distinct_subject: a value for every attribute the entry tests,
 * nudged away from look-alike entries) and decodes each value into what
 * the stack needs: initial TTL; the ISN generator's rate (ISR), granularity
 * (GCD) and randomness (SP); IP-ID generators (TI/CI/II, shared or not:
 * SS); the timestamp clock (TS); for each of nmap's six SYN probes the
 * SYN-ACK window and option layout (WIN/OPS); the ECN and T1..T7 answers
 * (respond or not, DF, window, sequence/ack choice, flags, options, RST
 * data CRC, quirks); the UDP closed-port ICMP error (U1); the echo replies
 * (IE).
 *
 * A compiled persona is a plain value (no pointers), ~3 KiB, shared by
 * every decky that wears the same entry. Pure functions; the db is only
 * read.
 */
#ifndef FP_PERSONA_H
#define FP_PERSONA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fingerprints/fp_family.h"
#include "fingerprints/fp_osdb.h"
#include "fingerprints/fp_osmatch.h"

enum fp_ipid_kind {
	FP_IPID_UNSET = 0, /* the entry does not say (no answers of that kind) */
	FP_IPID_ZERO,      /* Z */
	FP_IPID_RANDOM,    /* RD: random, some steps >= 20000 */
	FP_IPID_RANDOM_INCR, /* RI: random positive increments */
	FP_IPID_BROKEN,    /* BI: increments of 256 (byte-swapped counter) */
	FP_IPID_INCR,      /* I: +1 per packet */
	FP_IPID_FIXED,     /* a constant value */
};

struct fp_ipid {
	uint8_t kind;      /* enum fp_ipid_kind */
	uint16_t value;    /* FP_IPID_FIXED */
};

enum fp_topt_kind { FP_TOPT_EOL = 1, FP_TOPT_NOP, FP_TOPT_MSS, FP_TOPT_WS, FP_TOPT_SACKOK, FP_TOPT_TS };

struct fp_topt {
	uint8_t kind;          /* enum fp_topt_kind */
	uint8_t tsval_nonzero; /* FP_TOPT_TS: nmap's T<val><ecr> digits */
	uint8_t tsecr_nonzero;
	uint16_t value;        /* MSS / window-scale value */
};

#define FP_MAX_TOPTS 20

struct fp_topts {
	uint8_t n;
	struct fp_topt opt[FP_MAX_TOPTS];
};

/* S= and A= of a T test: how the answer's sequence/ack relate to the probe. */
enum fp_seqack { FP_SA_ZERO = 0, FP_SA_SAME, FP_SA_PLUS, FP_SA_OTHER };

/* TCP flag bits as on the wire. */
enum {
	FP_TH_FIN = 0x01, FP_TH_SYN = 0x02, FP_TH_RST = 0x04, FP_TH_PSH = 0x08,
	FP_TH_ACK = 0x10, FP_TH_URG = 0x20, FP_TH_ECE = 0x40, FP_TH_CWR = 0x80,
};

enum fp_cc { FP_CC_NONE = 0, FP_CC_N, FP_CC_Y, FP_CC_S, FP_CC_O };

struct fp_tcp_answer {     /* ECN and T1..T7 */
	bool present;          /* the entry describes this test */
	bool respond;          /* R=Y */
	uint8_t ttl;           /* initial TTL of this answer (see fp_persona.ttl) */
	bool df;
	uint16_t window;       /* W= */
	uint8_t seq;           /* enum fp_seqack, S= (A: our seq = probe's ack) */
	uint8_t ack;           /* enum fp_seqack, A= (S: our ack = probe's seq) */
	uint8_t flags;         /* F= */
	struct fp_topts opts;  /* O= */
	uint32_t rd;           /* RD=: CRC32 of the RST's data, 0 for none */
	bool quirk_reserved;   /* Q has R: reserved TCP bits set */
	bool quirk_urgent;     /* Q has U: urgent pointer set without URG */
	uint8_t cc;            /* ECN's CC= (enum fp_cc) */
};

struct fp_syn_answer {     /* SYN-ACK to nmap's SEQ probe k (OPS Ok, WIN Wk) */
	bool present;
	uint16_t window;
	struct fp_topts opts;
};

enum fp_ripck { FP_RIPCK_GOOD = 0, FP_RIPCK_ZERO, FP_RIPCK_INVALID };

struct fp_persona {
	uint32_t entry;                 /* index in the db */
	char name[128];                 /* the entry's Fingerprint name (truncated) */
	enum fp_family family;          /* from its Class lines */
	uint8_t ttl;                    /* the host's initial TTL (T1's); a few devices
					 * use another for some answers (e.g. ICMP from
					 * a router's control plane): per-answer ttl */
	struct {
		bool present;
		bool respond;           /* SEQ R=N: no SYN-ACKs to the SEQ probes */
		double isn_rate_hz;     /* ISR: 2^(ISR/8) increments per second */
		uint32_t gcd;           /* GCD of ISN steps (1 = none) */
		double isn_sd;          /* SP: target std-dev of the rate, 2^(SP/8) */
		struct fp_ipid ti, ci, ii;
		bool ss_shared;         /* SS=S: ICMP shares the TCP IP-ID counter */
		bool ts_supported;      /* TS != U */
		bool ts_random;         /* TS >= 0x1F: TSval jumps randomly between
					 * connections (per-connection offsets) */
		uint8_t ts_class;       /* TS as nmap prints it */
		uint32_t ts_hz;         /* clock rate: 0 (never moves) or ~2^TS Hz */
	} seq;
	bool ops_respond, win_respond;  /* OPS/WIN R=N: probes unanswered */
	struct fp_syn_answer syn[6];
	struct fp_tcp_answer ecn;
	struct fp_tcp_answer t[7];      /* t[0] is T1 */
	struct {
		bool present, respond, df;
		uint8_t ttl;
		uint16_t ipl;           /* total length of the ICMP error packet */
		uint32_t un;            /* the 4 "unused" bytes */
		bool ripl_good;         /* quoted IP total length as sent (G) ... */
		uint16_t ripl;          /* ... or this value */
		bool rid_good;          /* quoted IP ID as sent (G) ... */
		uint16_t rid;           /* ... or this value */
		uint8_t ripck;          /* enum fp_ripck */
		bool ruck_good;         /* quoted UDP checksum as sent (G) ... */
		uint16_t ruck;          /* ... or this value */
		bool rud_good;          /* quoted UDP data intact (G) or not (I) */
	} u1;
	struct {
		bool present, respond;
		uint8_t ttl;
		uint8_t dfi;            /* 'N', 'S', 'Y', 'O' */
		uint8_t cd;             /* 'Z', 'S', 'O', or 'V' for cd_value */
		uint8_t cd_value;
	} ie;
	unsigned rivals;                /* other OS names nmap would also call perfect */
	struct fp_subject subject;      /* what nmap should print, test by test */
};

/* Compile entry idx. 0, or -ENOENT (bad idx / an attribute nothing
 * satisfies), -EINVAL (a value this decoder cannot use; err says which),
 * -ENOMEM. */
int fp_persona_compile(const struct fp_osdb *db, size_t idx, struct fp_persona *out,
		       char *err, size_t errlen);

/* The family of an entry, from its Class lines (Linux, Windows, BSDs and
 * Apple, Cisco; everything else embedded). */
enum fp_family fp_persona_family_of(const struct fp_osdb *db, size_t idx);

/* The concrete entry each DECNET family name stands for (fp_persona.c
 * lists them and why). 0 and *idx, or -ENOENT if this nmap-os-db lacks it. */
int fp_persona_family_entry(const struct fp_osdb *db, enum fp_family fam, size_t *idx);
const char *fp_persona_family_entry_name(enum fp_family fam);

/* nmap's option string ("M5B4NW7SLL", "MFFD7ST11") into a list, and back.
 * 0 or -EINVAL. */
int fp_topts_parse(const char *s, struct fp_topts *out);
int fp_topts_format(const struct fp_topts *o, char *buf, size_t len);



/* The fingerprint nmap prints for a stack that obeys p exactly: the
 * inverse of compilation, used to check that every decoded value carries
 * what nmap measures (round trip) and to predict nmap's verdict. Returns 0
 * or -ENOSPC. */
int fp_persona_render(const struct fp_persona *p, struct fp_subject *out);
#endif
