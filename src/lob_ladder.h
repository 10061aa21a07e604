/* lob_ladder.h: one side's occupied price levels, sorted, best last.
 *
 * Keys ascend and the best level is the last entry, so the touch is O(1) to
 * read, a level emptying at the touch is a pop, and a level appearing at or
 * near the touch moves only the few entries above it.  The side maps its
 * prices to keys so that "better" is always "larger": bids use the price,
 * asks use ~price (= -price - 1, which is monotone and cannot overflow).
 * Lookup scans down from the touch for a few entries (where nearly all
 * traffic lands) and falls back to binary search, so any int64 price costs
 * O(log levels) at worst and memory is one entry per occupied level.
 */
#ifndef LOB_LADDER_H
#define LOB_LADDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LOB_LADDER_SCAN 8

typedef struct {
    int64_t *keys;     /* ascending */
    uint32_t *levels;  /* level slot of each key */
    size_t n, cap;
} lob_ladder;

static inline int64_t lob_ladder_key(int side, int64_t price) {
    return side == 0 ? price : ~price;
}

static inline void lob_ladder_init(lob_ladder *l) {
    l->keys = NULL;
    l->levels = NULL;
    l->n = l->cap = 0;
}

static inline void lob_ladder_free(lob_ladder *l) {
    free(l->keys);
    free(l->levels);
    lob_ladder_init(l);
}

/* First position whose key is >= key (n if none). */
static inline size_t lob_ladder_lower_bound(const lob_ladder *l, int64_t key) {
    size_t hi = l->n, lo = 0, stop = l->n > LOB_LADDER_SCAN ? l->n - LOB_LADDER_SCAN : 0;
    while (hi > stop && l->keys[hi - 1] >= key) hi--;
    if (hi > stop || hi == 0) return hi;
    while (lo < hi) {  /* keys[stop..n) are all >= key: search below */
        size_t mid = lo + (hi - lo) / 2;
        if (l->keys[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo;
}

/* Room for one more entry. 0 on success, -1 when out of memory (unchanged). */
static inline int lob_ladder_reserve(lob_ladder *l) {
    size_t cap;
    int64_t *k;
    uint32_t *v;
    if (l->n < l->cap) return 0;
    cap = l->cap ? l->cap * 2 : 64;
    k = (int64_t *)realloc(l->keys, cap * sizeof *k);
    if (!k) return -1;
    l->keys = k;
    v = (uint32_t *)realloc(l->levels, cap * sizeof *v);
    if (!v) return -1;  /* keys grew; harmless, cap stays */
    l->levels = v;
    l->cap = cap;
    return 0;
}

/* Insert at pos; lob_ladder_reserve must have succeeded. */
static inline void lob_ladder_insert_at(lob_ladder *l, size_t pos, int64_t key, uint32_t level) {
    size_t tail = l->n - pos;
    if (tail) {
        memmove(l->keys + pos + 1, l->keys + pos, tail * sizeof *l->keys);
        memmove(l->levels + pos + 1, l->levels + pos, tail * sizeof *l->levels);
    }
    l->keys[pos] = key;
    l->levels[pos] = level;
    l->n++;
}

static inline void lob_ladder_erase_at(lob_ladder *l, size_t pos) {
    size_t tail = l->n - pos - 1;
    if (tail) {
        memmove(l->keys + pos, l->keys + pos + 1, tail * sizeof *l->keys);
        memmove(l->levels + pos, l->levels + pos + 1, tail * sizeof *l->levels);
    }
    l->n--;
}

#endif /* LOB_LADDER_H */
