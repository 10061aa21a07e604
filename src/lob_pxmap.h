/* lob_pxmap.h: open-addressing hash map from a price to its level slot, one
 * per side.
 *
 * The ladder (lob_ladder.h) orders the levels; this map finds the level of a
 * price in one or two probes of a small, cache-resident table, wherever the
 * price sits in the book.  An add to an existing level (nearly all adds) then
 * never searches the ladder; only creating or dropping a level does.  Linear
 * probing, load at most 1/2, backward-shift deletion.
 */
#ifndef LOB_PXMAP_H
#define LOB_PXMAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


#define LOB_PXMAP_EMPTY 0xFFFFFFFFu
#define LOB_PXMAP_MIN_BITS 6

typedef struct {
    int64_t price;
    uint32_t level;   /* LOB_PXMAP_EMPTY marks a free bucket */
    uint32_t _pad;
} lob_pxmap_entry;

typedef struct {
    lob_pxmap_entry *e;
    uint64_t mask;
    uint64_t count;
    int shift;
} lob_pxmap;

static inline uint64_t lob_pxmap_slot_of(int64_t price, int shift) {
    return ((uint64_t)price * 0x9E3779B97F4A7C15ull) >> shift;
}

static inline lob_pxmap_entry *lob_pxmap_alloc(uint64_t cap) {
    lob_pxmap_entry *e = (lob_pxmap_entry *)malloc((size_t)cap * sizeof *e);
    if (e) memset(e, 0xFF, (size_t)cap * sizeof *e);  /* every level = EMPTY */
    return e;
}

/* 0 on success, -1 when out of memory. */
static inline int lob_pxmap_init(lob_pxmap *m) {
    uint64_t cap = (uint64_t)1 << LOB_PXMAP_MIN_BITS;
    m->e = lob_pxmap_alloc(cap);
    m->mask = m->e ? cap - 1 : 0;
    m->count = 0;
    m->shift = 64 - LOB_PXMAP_MIN_BITS;
    return m->e ? 0 : -1;
}

static inline void lob_pxmap_free(lob_pxmap *m) {
    free(m->e);
    m->e = NULL;
    m->mask = 0;
    m->count = 0;
}

static inline void lob_pxmap_clear(lob_pxmap *m) {
    memset(m->e, 0xFF, (size_t)(m->mask + 1) * sizeof *m->e);
    m->count = 0;
}

static inline size_t lob_pxmap_bytes(const lob_pxmap *m) {
    return m->e ? (size_t)(m->mask + 1) * sizeof *m->e : 0;
}

/* The level at `price`, or LOB_PXMAP_EMPTY. */
static inline uint32_t lob_pxmap_find(const lob_pxmap *m, int64_t price) {
    uint64_t i = lob_pxmap_slot_of(price, m->shift);
    for (;;) {
        const lob_pxmap_entry *e = &m->e[i];
        if (e->level == LOB_PXMAP_EMPTY || e->price == price) return e->level;
        i = (i + 1) & m->mask;
    }
}

/* Room for one more price. 0 on success, -1 when out of memory (unchanged). */
static inline int lob_pxmap_reserve(lob_pxmap *m) {
    uint64_t old_cap = m->mask + 1, new_cap, new_mask, j;
    int new_shift;
    lob_pxmap_entry *ne;
    if ((m->count + 1) * 2 <= old_cap) return 0;
    new_cap = old_cap * 2;
    new_mask = new_cap - 1;
    new_shift = m->shift - 1;
    ne = lob_pxmap_alloc(new_cap);
    if (!ne) return -1;
    for (j = 0; j < old_cap; j++) {
        uint64_t i;
        if (m->e[j].level == LOB_PXMAP_EMPTY) continue;
        i = lob_pxmap_slot_of(m->e[j].price, new_shift);
        while (ne[i].level != LOB_PXMAP_EMPTY) i = (i + 1) & new_mask;
        ne[i] = m->e[j];
    }
    free(m->e);
    m->e = ne;
    m->mask = new_mask;
    m->shift = new_shift;
    return 0;
}

/* Insert a price known to be absent; lob_pxmap_reserve must have succeeded. */
static inline void lob_pxmap_insert(lob_pxmap *m, int64_t price, uint32_t level) {
    uint64_t i = lob_pxmap_slot_of(price, m->shift);
    while (m->e[i].level != LOB_PXMAP_EMPTY) i = (i + 1) & m->mask;
    m->e[i].price = price;
    m->e[i].level = level;
    m->count++;
}

/* Remove a price known to be present. */
static inline void lob_pxmap_erase(lob_pxmap *m, int64_t price) {
    uint64_t i = lob_pxmap_slot_of(price, m->shift), j;
    while (m->e[i].price != price || m->e[i].level == LOB_PXMAP_EMPTY) i = (i + 1) & m->mask;
    j = i;
    for (;;) {
        uint64_t home;
        j = (j + 1) & m->mask;
        if (m->e[j].level == LOB_PXMAP_EMPTY) break;
        home = lob_pxmap_slot_of(m->e[j].price, m->shift);
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->e[i] = m->e[j];
            i = j;
        }
    }
    m->e[i].level = LOB_PXMAP_EMPTY;
    m->count--;
}

#endif /* LOB_PXMAP_H */
