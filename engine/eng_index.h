/* eng_index: an open-addressing index of array items by a byte-string key
 * (decky name, MAC), so decky.add/remove/find are O(1) at 100 000 deckies.
 *
 * The index stores item numbers only; the key of an item is read back
 * through key_fn, so there is one copy of every name. Linear probing at
 * <= 50 % load, backward-shift deletion (no tombstones under churn).
 */
#ifndef ENG_INDEX_H
#define ENG_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define ENG_INDEX_NONE UINT32_MAX

typedef const void *(*eng_index_key_fn)(const void *ctx, uint32_t item, size_t *len);

struct eng_index {
	uint32_t *slots;      /* 0 = empty, else item + 1 */
	uint32_t mask;
	eng_index_key_fn key;
	const void *ctx;
};

int eng_index_init(struct eng_index *ix, uint32_t capacity, eng_index_key_fn key, const void *ctx);
void eng_index_destroy(struct eng_index *ix);
uint32_t eng_index_find(const struct eng_index *ix, const void *key, size_t len);
/* The caller guarantees the key is not present (find first). */
void eng_index_insert(struct eng_index *ix, uint32_t item);
void eng_index_remove(struct eng_index *ix, uint32_t item);

#endif
