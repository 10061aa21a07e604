/* lob_refmap.h: the ITCH parser's live orders: order reference -> side,
 * price and shares left, so a replace (U) can name its side, an execution
 * (E, C) can name its price, and the map forgets an order once it is fully
 * executed, cancelled or deleted.  Open addressing, 24-byte entries, load at
 * most 1/2, backward-shift deletion.
 */
#ifndef LOB_REFMAP_H
#define LOB_REFMAP_H

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint64_t ref;
    uint32_t shares;
    uint32_t price;   /* ITCH's Price(4): the order's limit */
    uint8_t side;     /* 0 bid, 1 ask */
    uint8_t used;
    uint16_t _pad;
    uint32_t _pad2;
} lob_refmap_entry;

typedef struct {
    lob_refmap_entry *e;
    uint64_t mask, count;
    int shift;
} lob_refmap;

static inline uint64_t lob_refmap_home(const lob_refmap *m, uint64_t ref) {
    return (ref * 0x9E3779B97F4A7C15ull) >> m->shift;
}

static inline int lob_refmap_init(lob_refmap *m) {
    m->e = (lob_refmap_entry *)calloc(1024, sizeof(lob_refmap_entry));
    m->mask = m->e ? 1023 : 0;
    m->count = 0;
    m->shift = 64 - 10;
    return m->e ? 0 : -1;
}

static inline void lob_refmap_free(lob_refmap *m) {
    free(m->e);
    m->e = NULL;
    m->mask = m->count = 0;
}

/* Start loading the bucket of `ref` (the parser calls it a few messages
 * ahead: the map is bigger than the caches and each lookup would stall). */
static inline void lob_refmap_prefetch(const lob_refmap *m, uint64_t ref) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(&m->e[lob_refmap_home(m, ref)], 1, 1);
#else
    (void)m;
    (void)ref;
#endif
}

/* The entry of `ref`, or NULL. */
static inline lob_refmap_entry *lob_refmap_find(lob_refmap *m, uint64_t ref) {
    uint64_t i = lob_refmap_home(m, ref);
    for (;;) {
        lob_refmap_entry *e = &m->e[i];
        if (!e->used) return NULL;
        if (e->ref == ref) return e;
        i = (i + 1) & m->mask;
    }
}

/* Insert or overwrite. 0 on success, -1 when out of memory (unchanged). */
static inline int lob_refmap_put(lob_refmap *m, uint64_t ref, uint8_t side, uint32_t shares, uint32_t price) {
    lob_refmap_entry *e = lob_refmap_find(m, ref);
    uint64_t i;
    if (e) { e->side = side; e->shares = shares; e->price = price; return 0; }
    if ((m->count + 1) * 2 > m->mask + 1) {
        uint64_t cap = (m->mask + 1) * 2, j;
        lob_refmap_entry *ne = (lob_refmap_entry *)calloc((size_t)cap, sizeof *ne);
        lob_refmap old = *m;
        if (!ne) return -1;
        m->e = ne;
        m->mask = cap - 1;
        m->shift -= 1;
        for (j = 0; j <= old.mask; j++) {
            if (!old.e[j].used) continue;
            i = lob_refmap_home(m, old.e[j].ref);
            while (m->e[i].used) i = (i + 1) & m->mask;
            m->e[i] = old.e[j];
        }
        free(old.e);
    }
    i = lob_refmap_home(m, ref);
    while (m->e[i].used) i = (i + 1) & m->mask;
    m->e[i].ref = ref;
    m->e[i].side = side;
    m->e[i].shares = shares;
    m->e[i].price = price;
    m->e[i].used = 1;
    m->count++;
    return 0;
}

/* Remove the entry `e` points at (from lob_refmap_find). */
static inline void lob_refmap_erase(lob_refmap *m, lob_refmap_entry *e) {
    uint64_t i = (uint64_t)(e - m->e), j = i;
    for (;;) {
        uint64_t home;
        j = (j + 1) & m->mask;
        if (!m->e[j].used) break;
        home = lob_refmap_home(m, m->e[j].ref);
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->e[i] = m->e[j];
            i = j;
        }
    }
    m->e[i].used = 0;
    m->count--;
}

#endif /* LOB_REFMAP_H */
