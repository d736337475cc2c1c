#include "engine/eng_index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint32_t hash_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

int eng_index_init(struct eng_index *ix, uint32_t capacity, eng_index_key_fn key, const void *ctx)
{
	uint32_t n = 16;
	while (n < 2 * (uint64_t)capacity)
		n <<= 1;
	ix->slots = calloc(n, sizeof(*ix->slots));
	if (!ix->slots)
		return -ENOMEM;
	ix->mask = n - 1;
	ix->key = key;
	ix->ctx = ctx;
	return 0;
}

void eng_index_destroy(struct eng_index *ix)
{
	free(ix->slots);
	ix->slots = NULL;
}

static bool item_has_key(const struct eng_index *ix, uint32_t item, const void *key, size_t len)
{
	size_t l;
	const void *k = ix->key(ix->ctx, item, &l);
	return l == len && memcmp(k, key, len) == 0;
}

uint32_t eng_index_find(const struct eng_index *ix, const void *key, size_t len)
{
	for (uint32_t i = hash_bytes(key, len) & ix->mask;; i = (i + 1) & ix->mask) {
		uint32_t s = ix->slots[i];
		if (!s)
			return ENG_INDEX_NONE;
		if (item_has_key(ix, s - 1, key, len))
			return s - 1;
	}
}

static uint32_t home_of(const struct eng_index *ix, uint32_t item)
{
	size_t l;
	const void *k = ix->key(ix->ctx, item, &l);
	return hash_bytes(k, l) & ix->mask;
}

void eng_index_insert(struct eng_index *ix, uint32_t item)
{
	uint32_t i = home_of(ix, item);
	while (ix->slots[i])
		i = (i + 1) & ix->mask;
	ix->slots[i] = item + 1;
}

void eng_index_remove(struct eng_index *ix, uint32_t item)
{
	uint32_t i = home_of(ix, item);
	while (ix->slots[i] && ix->slots[i] != item + 1)
		i = (i + 1) & ix->mask;
	if (!ix->slots[i])
		return;
	uint32_t hole = i, j = i;
	ix->slots[hole] = 0;
	for (;;) {
		j = (j + 1) & ix->mask;
		uint32_t s = ix->slots[j];
		if (!s)
			return;
		uint32_t home = home_of(ix, s - 1);
		bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!in_range) {
			ix->slots[hole] = s;
			ix->slots[j] = 0;
			hole = j;
		}
	}
}
