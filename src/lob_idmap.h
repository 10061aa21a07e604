/* lob_idmap.h: open-addressing hash map from a 64-bit order id to a pool slot.
 *
 * A bucket is 8 bytes: the slot (+1, so 0 means empty) and a 32-bit tag, the
 * top bits of the id's hash.  A probe compares tags
 * and reads the id back from the pool entry only when the tag matches (a
 * false match needs all 32 tag bits equal), so probing past other ids never touches the
 * pool; and the tag alone gives an entry's home bucket, so rehashing and
 * deleting never touch it either.  Linear probing with backward-shift
 * deletion: no tombstones, so probe lengths stay short under endless churn.
 * Load at most 1/2: 8 to 16 bytes of table per resting order.
 *
 * Each id's hash picks its home bucket (Fibonacci hashing).  Blocked
 * hashing (8 sequential ids on one 64-byte line, LOB_IDMAP_BLOCK_BITS=3) is
 * still here as a build option: it keeps the newest of a million sequential
 * ids on a few hot lines (1M resting orders: 60 vs 72 ns/event in apply before
 * removals erased at the bucket found; 57-60 unblocked now), but on the
 * realistic 18k-order stream its blocks sit side by side, their
 * linear-probing runs merge, and it costs 33 vs 24 ns/event (bench/,
 * bench/compare.py).  Real feeds number orders across the whole market
 * (ITCH, LOBSTER, DBN), so one book's ids are not sequential anyway:
 * unblocked is the default.
 *
 * The caller passes `base` and `stride` (the pool array and its element size;
 * the id is the first 8 bytes of each element) to the calls that compare ids,
 * because the pool may be reallocated between calls.  Tables up to 2**32
 * buckets (2**31 orders).
 */
#ifndef LOB_IDMAP_H
#define LOB_IDMAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


#define LOB_NIL 0xFFFFFFFFu
#define LOB_IDMAP_MIN_BITS 10
#ifndef LOB_IDMAP_BLOCK_BITS
#define LOB_IDMAP_BLOCK_BITS 0   /* 3: 8 ids a block, one 64-byte line of buckets */
#endif
#define LOB_IDMAP_BLOCK_MASK ((1u << LOB_IDMAP_BLOCK_BITS) - 1u)

typedef struct {
    uint32_t slot1;  /* pool slot + 1; 0 = empty */
    uint32_t tag;    /* top bits of the (block) hash, then the id's low BLOCK_BITS bits */
} lob_idmap_bucket;

typedef struct {
    lob_idmap_bucket *buckets;
    uint64_t mask;      /* capacity - 1 (capacity is a power of two) */
    uint64_t count;     /* ids stored */
    int bits;           /* log2(capacity), LOB_IDMAP_MIN_BITS to 32 */
} lob_idmap;

static inline uint32_t lob_idmap_tag(uint64_t id) {
    uint64_t h = (id >> LOB_IDMAP_BLOCK_BITS) * 0x9E3779B97F4A7C15ull;
    return ((uint32_t)(h >> 32) & ~LOB_IDMAP_BLOCK_MASK) | (uint32_t)(id & LOB_IDMAP_BLOCK_MASK);
}

/* Home bucket of a tag in a table of 2**bits buckets: the block (the top
 * bits - 3 bits of the hash) times 8, plus the id's low 3 bits. */
static inline uint64_t lob_idmap_home_of(uint32_t tag, int bits) {
    return ((uint64_t)(tag >> (32 + LOB_IDMAP_BLOCK_BITS - bits)) << LOB_IDMAP_BLOCK_BITS)
           | (tag & LOB_IDMAP_BLOCK_MASK);
}

static inline uint64_t lob_idmap_key(const char *base, size_t stride, uint32_t slot) {
    uint64_t id;
    memcpy(&id, base + (size_t)slot * stride, sizeof id);
    return id;
}

static inline lob_idmap_bucket *lob_idmap_alloc(uint64_t cap) {
    /* calloc: pages the table never touches are never faulted in */
    return (lob_idmap_bucket *)calloc((size_t)cap, sizeof(lob_idmap_bucket));
}

/* 0 on success, -1 when out of memory (the map is then left empty). */
static inline int lob_idmap_init(lob_idmap *m, int bits) {
    if (bits < LOB_IDMAP_MIN_BITS) bits = LOB_IDMAP_MIN_BITS;
    m->buckets = lob_idmap_alloc((uint64_t)1 << bits);
    m->mask = m->buckets ? ((uint64_t)1 << bits) - 1 : 0;
    m->count = 0;
    m->bits = bits;
    return m->buckets ? 0 : -1;
}

static inline void lob_idmap_free(lob_idmap *m) {
    free(m->buckets);
    m->buckets = NULL;
    m->mask = 0;
    m->count = 0;
}

static inline void lob_idmap_clear(lob_idmap *m) {
    memset(m->buckets, 0, (size_t)(m->mask + 1) * sizeof(lob_idmap_bucket));
    m->count = 0;
}

static inline size_t lob_idmap_bytes(const lob_idmap *m) {
    return m->buckets ? (size_t)(m->mask + 1) * sizeof(lob_idmap_bucket) : 0;
}

/* The slot holding `id`, or LOB_NIL; when absent, *bucket is where it would
 * go (valid for lob_idmap_insert_at until the map next changes). */
static inline uint32_t lob_idmap_probe(const lob_idmap *m, uint64_t id, const char *base,
                                       size_t stride, uint64_t *bucket) {
    uint32_t tag = lob_idmap_tag(id);
    uint64_t i = lob_idmap_home_of(tag, m->bits);
    for (;;) {
        const lob_idmap_bucket *b = &m->buckets[i];
        if (b->slot1 == 0) { *bucket = i; return LOB_NIL; }
        if (b->tag == tag && lob_idmap_key(base, stride, b->slot1 - 1) == id) return b->slot1 - 1;
        i = (i + 1) & m->mask;
    }
}

/* The slot holding `id`, or LOB_NIL; *bucket is where it sits (or would
 * go), so a removal right after needs no second probe (lob_idmap_erase_at). */
static inline uint32_t lob_idmap_locate(const lob_idmap *m, uint64_t id, const char *base, size_t stride,
                                        uint64_t *bucket) {
    uint32_t tag = lob_idmap_tag(id);
    uint64_t i = lob_idmap_home_of(tag, m->bits);
    for (;;) {
        const lob_idmap_bucket *b = &m->buckets[i];
        *bucket = i;
        if (b->slot1 == 0) return LOB_NIL;
        if (b->tag == tag && lob_idmap_key(base, stride, b->slot1 - 1) == id) return b->slot1 - 1;
        i = (i + 1) & m->mask;
    }
}

/* The slot holding `id`, or LOB_NIL. */
static inline uint32_t lob_idmap_find(const lob_idmap *m, uint64_t id, const char *base, size_t stride) {
    uint64_t unused;
    return lob_idmap_probe(m, id, base, stride, &unused);
}

/* Rebuild with 2**bits buckets (no pool reads: homes come from the tags).
 * 0 on success, -1 when out of memory or too large (the map is unchanged). */
static inline int lob_idmap_rehash(lob_idmap *m, int bits) {
    uint64_t old_cap = m->mask + 1, new_mask = ((uint64_t)1 << bits) - 1, j;
    lob_idmap_bucket *nb;
    if (bits > 32) return -1;
    nb = lob_idmap_alloc(new_mask + 1);
    if (!nb) return -1;
    for (j = 0; j < old_cap; j++) {
        lob_idmap_bucket b = m->buckets[j];
        uint64_t i;
        if (b.slot1 == 0) continue;
        i = lob_idmap_home_of(b.tag, bits);
        while (nb[i].slot1 != 0) i = (i + 1) & new_mask;
        nb[i] = b;
    }
    free(m->buckets);
    m->buckets = nb;
    m->mask = new_mask;
    m->bits = bits;
    return 0;
}

/* Room for `count` ids in all at a load of at most 1/2 (doubling as needed).
 * 0 on success, -1 when out of memory (the map is then unchanged). */
static inline int lob_idmap_reserve_total(lob_idmap *m, uint64_t count) {
    int bits = m->bits;
    if (count * 2 <= m->mask + 1) return 0;
    while (((uint64_t)1 << bits) < count * 2) bits++;
    return lob_idmap_rehash(m, bits);
}

/* Room for one more id. */
static inline int lob_idmap_reserve(lob_idmap *m) {
    return lob_idmap_reserve_total(m, m->count + 1);
}

/* Insert at the bucket lob_idmap_probe gave (reserve first, then probe). */
static inline void lob_idmap_insert_at(lob_idmap *m, uint64_t bucket, uint64_t id, uint32_t slot) {
    m->buckets[bucket].slot1 = slot + 1;
    m->buckets[bucket].tag = lob_idmap_tag(id);
    m->count++;
}

/* Empty the bucket at `i` (found by lob_idmap_locate). */
static inline void lob_idmap_erase_at(lob_idmap *m, uint64_t i) {
    uint64_t j = i;
    /* Backward shift: pull later members of the probe run into the hole when
     * their home bucket is not between the hole and where they sit. */
    for (;;) {
        uint64_t home;
        j = (j + 1) & m->mask;
        if (m->buckets[j].slot1 == 0) break;
        home = lob_idmap_home_of(m->buckets[j].tag, m->bits);
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->buckets[i] = m->buckets[j];
            i = j;
        }
    }
    m->buckets[i].slot1 = 0;
    m->count--;
}

/* Remove an id known to be present (it maps to `slot`). */
static inline void lob_idmap_erase(lob_idmap *m, uint64_t id, uint32_t slot) {
    uint64_t i = lob_idmap_home_of(lob_idmap_tag(id), m->bits);
    while (m->buckets[i].slot1 != slot + 1) i = (i + 1) & m->mask;
    lob_idmap_erase_at(m, i);
}

#endif /* LOB_IDMAP_H */
