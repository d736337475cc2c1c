/* Family table. The OUIs are vendors whose hardware really runs the family's
 * OS (servers and workstations for linux/windows/bsd, printers, boards and
 * cameras for embedded, Cisco for cisco), so nmap's "MAC Address: ... (Vendor)"
 * line reads naturally instead of "(Unknown)". */
#include "fingerprints/fp_family.h"

#include <errno.h>
#include <strings.h>

static const struct fp_oui linux_ouis[] = {
	{{0x00, 0x25, 0x90}, "Super Micro Computer"},
	{{0xac, 0x1f, 0x6b}, "Super Micro Computer"},
	{{0x00, 0x14, 0x22}, "Dell"},
	{{0xd4, 0xbe, 0xd9}, "Dell"},
	{{0x3c, 0xd9, 0x2b}, "Hewlett Packard"},
	{{0x3c, 0xfd, 0xfe}, "Intel Corporate"},
};
static const struct fp_oui windows_ouis[] = {
	{{0xf8, 0xbc, 0x12}, "Dell"},
	{{0x5c, 0xf9, 0xdd}, "Dell"},
	{{0x00, 0x19, 0xb9}, "Dell"},
	{{0x00, 0x17, 0xa4}, "Hewlett Packard"},
	{{0xa0, 0x36, 0x9f}, "Intel Corporate"},
	{{0x00, 0x1b, 0x21}, "Intel Corporate"},
};
static const struct fp_oui bsd_ouis[] = {
	{{0x00, 0x1b, 0x63}, "Apple"},
	{{0x3c, 0x07, 0x54}, "Apple"},
	{{0xa4, 0x5e, 0x60}, "Apple"},
	{{0x00, 0x25, 0x90}, "Super Micro Computer"},
};
static const struct fp_oui embedded_ouis[] = {
	{{0x00, 0x80, 0x77}, "Brother industries"},
	{{0xb8, 0x27, 0xeb}, "Raspberry Pi Foundation"},
	{{0xdc, 0xa6, 0x32}, "Raspberry Pi Trading"},
	{{0x24, 0x0a, 0xc4}, "Espressif"},
	{{0x00, 0x40, 0x8c}, "Axis Communications AB"},
};
static const struct fp_oui cisco_ouis[] = {
	{{0x00, 0x00, 0x0c}, "Cisco Systems"},
	{{0x00, 0x1b, 0xd4}, "Cisco Systems"},
	{{0x00, 0x26, 0x0b}, "Cisco Systems"},
	{{0x58, 0xac, 0x78}, "Cisco Systems"},
	{{0x70, 0xe4, 0x22}, "Cisco Systems"},
};

#define OUIS(a) a, sizeof(a) / sizeof((a)[0])
static const struct fp_family_info families[FP_FAMILY_COUNT] = {
	{FP_FAMILY_LINUX, "linux", 64, OUIS(linux_ouis)},
	{FP_FAMILY_WINDOWS, "windows", 128, OUIS(windows_ouis)},
	{FP_FAMILY_BSD, "bsd", 64, OUIS(bsd_ouis)},
	{FP_FAMILY_EMBEDDED, "embedded", 255, OUIS(embedded_ouis)},
	{FP_FAMILY_CISCO, "cisco", 255, OUIS(cisco_ouis)},
};

const struct fp_family_info *fp_family_info(enum fp_family family)
{
	if ((unsigned)family >= FP_FAMILY_COUNT)
		family = FP_FAMILY_LINUX;
	return &families[family];
}

int fp_family_from_name(const char *name, enum fp_family *out)
{
	for (unsigned i = 0; i < FP_FAMILY_COUNT; i++) {
		if (strcasecmp(name, families[i].name) == 0) {
			*out = families[i].family;
			return 0;
		}
	}
	return -ENOENT;
}

/* FNV-1a 64: stable across builds and architectures, which is all we need
 * (the MAC must not change when the engine restarts). */
uint64_t fp_family_name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

void fp_family_mac(enum fp_family family, const char *decky_name, uint8_t mac[6])
{
	const struct fp_family_info *fi = fp_family_info(family);
	uint64_t h = fp_family_name_hash(decky_name);
	fp_family_mac_with_oui(fi->ouis[(h >> 40) % fi->n_ouis].prefix, decky_name, mac);
}

void fp_family_mac_with_oui(const uint8_t oui[3], const char *decky_name, uint8_t mac[6])
{
	uint64_t h = fp_family_name_hash(decky_name);
	mac[0] = oui[0];
	mac[1] = oui[1];
	mac[2] = oui[2];
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}
