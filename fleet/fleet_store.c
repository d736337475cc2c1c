/* The config's private store and the hash sets behind the loader's
 * duplicate checks.
 *
 * The store exists so that a fleet of 100 000 deckies made by one amount=
 * line costs one persona array, not 100 000 copies: persona key/values sit
 * in the store's vector, every expanded decky points at the same slice,
 * and fleet_config_free releases the whole store at once.
 */
#include "fleet/fleet_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64u * 1024u)

struct fleet_arena_chunk {
	struct fleet_arena_chunk *next;
	size_t used, size;
	char data[];
};

struct fleet_store *fleet_store_new(void)
{
	return calloc(1, sizeof(struct fleet_store));
}

void fleet_store_free(struct fleet_store *st)
{
	if (!st)
		return;
	while (st->chunks) {
		struct fleet_arena_chunk *next = st->chunks->next;
		free(st->chunks);
		st->chunks = next;
	}
	free(st->kv);
	free(st);
}

char *fleet_store_strndup(struct fleet_store *st, const char *s, size_t len)
{
	struct fleet_arena_chunk *c = st->chunks;
	if (len >= ARENA_CHUNK / 4) {
		/* Big strings get a chunk of their own behind the head, so
		 * the head's free space is not wasted. */
		struct fleet_arena_chunk *own = malloc(sizeof(*own) + len + 1);
		if (!own)
			return NULL;
		own->used = own->size = len + 1;
		if (c) {
			own->next = c->next;
			c->next = own;
		} else {
			own->next = NULL;
			st->chunks = own;
		}
		memcpy(own->data, s, len);
		own->data[len] = '\0';
		return own->data;
	}
	if (!c || c->size - c->used < len + 1) {
		c = malloc(sizeof(*c) + ARENA_CHUNK);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = ARENA_CHUNK;
		c->next = st->chunks;
		st->chunks = c;
	}
	char *out = c->data + c->used;
	memcpy(out, s, len);
	out[len] = '\0';
	c->used += len + 1;
	return out;
}

int fleet_store_push_kv(struct fleet_store *st, char *key, char *value, unsigned line)
{
	if (st->n_kv == st->cap_kv) {
		size_t cap = st->cap_kv ? st->cap_kv * 2 : 64;
		struct fleet_kv *kv = realloc(st->kv, cap * sizeof(*kv));
		if (!kv)
			return -ENOMEM;
		st->kv = kv;
		st->cap_kv = cap;
	}
	st->kv[st->n_kv++] = (struct fleet_kv){.key = key, .value = value, .line = line};
	return 0;
}

/* ---- hashing ---------------------------------------------------------- */

uint64_t fleet_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a: stable, good enough here */
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Integer keys (IPs, MACs) are dense and sequential: mix them so linear
 * probing does not build long runs. (splitmix64 finalizer) */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

uint64_t fleet_mac_key(const uint8_t mac[6])
{
	uint64_t k = 0;
	for (int i = 0; i < 6; i++)
		k = k << 8 | mac[i];
	return k;
}

static size_t cap_for(size_t expected)
{
	size_t cap = 16;
	while (cap < expected * 2)
		cap *= 2;
	return cap;
}

/* ---- u64 set ---------------------------------------------------------- */

int fleet_u64set_init(struct fleet_u64set *s, size_t expected)
{
	s->cap = cap_for(expected);
	s->n = 0;
	s->slots = calloc(s->cap, sizeof(*s->slots));
	return s->slots ? 0 : -ENOMEM;
}

void fleet_u64set_free(struct fleet_u64set *s)
{
	free(s->slots);
	s->slots = NULL;
	s->cap = s->n = 0;
}

static size_t u64_find(const uint64_t *slots, size_t cap, uint64_t stored)
{
	size_t i = (size_t)mix64(stored) & (cap - 1);
	while (slots[i] && slots[i] != stored)
		i = (i + 1) & (cap - 1);
	return i;
}

bool fleet_u64set_has(const struct fleet_u64set *s, uint64_t key)
{
	return s->slots[u64_find(s->slots, s->cap, key + 1)] != 0;
}

static int u64_grow(struct fleet_u64set *s)
{
	size_t cap = s->cap * 2;
	uint64_t *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i])
			slots[u64_find(slots, cap, s->slots[i])] = s->slots[i];
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

int fleet_u64set_add(struct fleet_u64set *s, uint64_t key)
{
	if ((s->n + 1) * 2 > s->cap && u64_grow(s) < 0)
		return -ENOMEM;
	size_t i = u64_find(s->slots, s->cap, key + 1);
	if (s->slots[i])
		return -EEXIST;
	s->slots[i] = key + 1;
	s->n++;
	return 0;
}

/* ---- string map ------------------------------------------------------- */

int fleet_strmap_init(struct fleet_strmap *m, size_t expected)
{
	m->cap = cap_for(expected);
	m->n = 0;
	m->keys = calloc(m->cap, sizeof(*m->keys));
	m->vals = calloc(m->cap, sizeof(*m->vals));
	if (!m->keys || !m->vals) {
		fleet_strmap_free(m);
		return -ENOMEM;
	}
	return 0;
}

void fleet_strmap_free(struct fleet_strmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}

static size_t str_find(const char **keys, size_t cap, const char *key)
{
	size_t i = (size_t)fleet_hash_str(key) & (cap - 1);
	while (keys[i] && strcmp(keys[i], key) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

bool fleet_strmap_get(const struct fleet_strmap *m, const char *key, uint32_t *val)
{
	size_t i = str_find(m->keys, m->cap, key);
	if (!m->keys[i])
		return false;
	if (val)
		*val = m->vals[i];
	return true;
}

static int str_grow(struct fleet_strmap *m)
{
	size_t cap = m->cap * 2;
	const char **keys = calloc(cap, sizeof(*keys));
	uint32_t *vals = calloc(cap, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = str_find(keys, cap, m->keys[i]);
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

int fleet_strmap_add(struct fleet_strmap *m, const char *key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap && str_grow(m) < 0)
		return -ENOMEM;
	size_t i = str_find(m->keys, m->cap, key);
	if (m->keys[i])
		return -EEXIST;
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}
