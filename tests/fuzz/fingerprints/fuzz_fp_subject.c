/* Fuzz parsing of nmap's printed subject fingerprint (text DECNET reads
 * back from scans of its own deckies), then print and re-parse it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprints/fp_osmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fp_subject s, again;
	static char out[8192], out2[8192];
	char err[128];

	if (fp_subject_parse((const char *)data, size, &s, err, sizeof(err)))
		return 0;
	int n = fp_subject_format(&s, out, sizeof(out));
	if (n < 0)
		return 0;
	/* What we print, we read back the same, unless a value holds text
	 * that ends a test (')') or starts a new one. */
	if (fp_subject_parse(out, (size_t)n, &again, err, sizeof(err)) == 0 &&
	    fp_subject_format(&again, out2, sizeof(out2)) == n && memcmp(out, out2, (size_t)n) != 0)
		abort();
	return 0;
}
