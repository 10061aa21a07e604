/* lob_idmap.h: open-addressing hash map from a 64-bit order id to a pool slot.
 *
 * The table holds only 32-bit slot numbers (slot + 1, so 0 means empty); the id
 * itself is read back from the pool entry the slot names.  That keeps the map at
 * 4 bytes a bucket (8 to 16 bytes per resting order at a load factor of 1/4 to
 * 1/2), and the pool entry is touched anyway by every operation that looks an
 * id up.  Linear probing with backward-shift deletion: no tombstones, so probe
 * lengths stay short under endless add/cancel churn.
 *
 * The caller passes `base` and `stride` (the pool array and its element size;
 * the id is the first 8 bytes of each element) on every call, because the pool
 * may be reallocated between calls.
 */
#ifndef LOB_IDMAP_H
#define LOB_IDMAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lob_mem.h"

#define LOB_NIL 0xFFFFFFFFu
#define LOB_IDMAP_MIN_BITS 10

typedef struct {
    uint32_t *buckets;  /* slot + 1, 0 = empty */
    uint64_t mask;      /* capacity - 1 (capacity is a power of two) */
    uint64_t count;     /* ids stored */
    int shift;          /* 64 - log2(capacity), for Fibonacci hashing */
} lob_idmap;

/* Home bucket of an id at 2**(64 - shift) buckets.  Ids are hashed in blocks
 * of 16: the block number is scattered by Fibonacci hashing and the low four
 * bits pick a bucket inside the block's 64-byte line.  Venues hand out ids in
 * sequence, so the orders of the last few seconds, the ones that get
 * cancelled and executed, share a few hot cache lines even when a million
 * old orders fill the table; ids that are not sequential still spread evenly
 * over the blocks. */
static inline uint64_t lob_idmap_slot_of(uint64_t id, int shift) {
    return ((((id >> 4) * 0x9E3779B97F4A7C15ull) >> (shift + 4)) << 4) | (id & 15u);
}

static inline uint64_t lob_idmap_home(const lob_idmap *m, uint64_t id) {
    return lob_idmap_slot_of(id, m->shift);
}

static inline uint64_t lob_idmap_key(const char *base, size_t stride, uint32_t slot) {
    uint64_t id;
    memcpy(&id, base + (size_t)slot * stride, sizeof id);
    return id;
}

/* 0 on success, -1 when out of memory (the map is then left empty). */
static inline int lob_idmap_init(lob_idmap *m, int bits) {
    uint64_t cap;
    if (bits < LOB_IDMAP_MIN_BITS) bits = LOB_IDMAP_MIN_BITS;
    cap = (uint64_t)1 << bits;
    /* calloc: pages the table never touches are never faulted in. */
    m->buckets = (uint32_t *)lob_mem_calloc((size_t)cap, sizeof(uint32_t));
    m->mask = m->buckets ? cap - 1 : 0;
    m->count = 0;
    m->shift = 64 - bits;
    return m->buckets ? 0 : -1;
}

static inline void lob_idmap_free(lob_idmap *m) {
    free(m->buckets);
    m->buckets = NULL;
    m->mask = 0;
    m->count = 0;
}

static inline size_t lob_idmap_bytes(const lob_idmap *m) {
    return m->buckets ? (size_t)(m->mask + 1) * sizeof(uint32_t) : 0;
}

/* The slot holding `id`, or LOB_NIL. */
static inline uint32_t lob_idmap_find(const lob_idmap *m, uint64_t id,
                                      const char *base, size_t stride) {
    uint64_t i = lob_idmap_home(m, id);
    for (;;) {
        uint32_t b = m->buckets[i];
        if (b == 0) return LOB_NIL;
        if (lob_idmap_key(base, stride, b - 1) == id) return b - 1;
        i = (i + 1) & m->mask;
    }
}

/* Like lob_idmap_find, and when `id` is absent also the bucket where it
 * would go (valid for lob_idmap_insert_at until the map next changes). */
static inline uint32_t lob_idmap_probe(const lob_idmap *m, uint64_t id, const char *base,
                                       size_t stride, uint64_t *bucket) {
    uint64_t i = lob_idmap_home(m, id);
    for (;;) {
        uint32_t b = m->buckets[i];
        if (b == 0) { *bucket = i; return LOB_NIL; }
        if (lob_idmap_key(base, stride, b - 1) == id) return b - 1;
        i = (i + 1) & m->mask;
    }
}

/* Rebuild the table with 2**bits buckets.  0 on success, -1 when out of
 * memory (the map is then unchanged). */
static inline int lob_idmap_rehash(lob_idmap *m, int bits, const char *base, size_t stride) {
    uint64_t old_cap = m->mask + 1, new_cap = (uint64_t)1 << bits, new_mask = new_cap - 1, j;
    int new_shift = 64 - bits;
    uint32_t *nb = (uint32_t *)lob_mem_calloc((size_t)new_cap, sizeof(uint32_t));
    if (!nb) return -1;
    for (j = 0; j < old_cap; j++) {
        uint32_t b = m->buckets[j];
        uint64_t i;
        if (b == 0) continue;
        i = lob_idmap_slot_of(lob_idmap_key(base, stride, b - 1), new_shift);
        while (nb[i] != 0) i = (i + 1) & new_mask;
        nb[i] = b;
    }
    free(m->buckets);
    m->buckets = nb;
    m->mask = new_mask;
    m->shift = new_shift;
    return 0;
}

/* Room for `count` ids in all at a load of at most 1/2 (doubling as needed).
 * 0 on success, -1 when out of memory (the map is then unchanged). */
static inline int lob_idmap_reserve_total(lob_idmap *m, uint64_t count, const char *base, size_t stride) {
    int bits = 64 - m->shift;
    if (count * 2 <= m->mask + 1) return 0;
    while (((uint64_t)1 << bits) < count * 2) bits++;
    return lob_idmap_rehash(m, bits, base, stride);
}

/* Room for one more id. */
static inline int lob_idmap_reserve(lob_idmap *m, const char *base, size_t stride) {
    return lob_idmap_reserve_total(m, m->count + 1, base, stride);
}

/* Insert an id known to be absent; lob_idmap_reserve must have succeeded. */
static inline void lob_idmap_insert(lob_idmap *m, uint64_t id, uint32_t slot) {
    uint64_t i = lob_idmap_home(m, id);
    while (m->buckets[i] != 0) i = (i + 1) & m->mask;
    m->buckets[i] = slot + 1;
    m->count++;
}

/* Insert at the bucket lob_idmap_probe gave (reserve first, then probe). */
static inline void lob_idmap_insert_at(lob_idmap *m, uint64_t bucket, uint32_t slot) {
    m->buckets[bucket] = slot + 1;
    m->count++;
}

/* Remove an id known to be present (it maps to `slot`). */
static inline void lob_idmap_erase(lob_idmap *m, uint64_t id, uint32_t slot,
                                   const char *base, size_t stride) {
    uint64_t i = lob_idmap_home(m, id), j;
    while (m->buckets[i] != slot + 1) i = (i + 1) & m->mask;
    /* Backward shift: pull later members of the probe run into the hole when
     * their home bucket is not between the hole and where they sit. */
    j = i;
    for (;;) {
        uint32_t b;
        uint64_t home;
        j = (j + 1) & m->mask;
        b = m->buckets[j];
        if (b == 0) break;
        home = lob_idmap_home(m, lob_idmap_key(base, stride, b - 1));
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->buckets[i] = b;
            i = j;
        }
    }
    m->buckets[i] = 0;
    m->count--;
}

#endif /* LOB_IDMAP_H */
