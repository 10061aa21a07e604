/* lob_ladder.h: one side's occupied price levels, sorted, best last.
 *
 * Keys ascend and the best level is the last entry, so the touch is O(1) to
 * read, a level emptying at the touch is a pop, and a level appearing at or
 * near the touch moves only the few entries above it.  The side maps its
 * prices to keys so that "better" is always "larger": bids use the price,
 * asks use ~price (= -price - 1, which is monotone and cannot overflow).
 * Lookup gallops down from the touch (where nearly all traffic lands), so any
 * int64 price costs O(log distance) and memory is one entry per occupied level.
 */
#ifndef LOB_LADDER_H
#define LOB_LADDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* First position whose key is >= key (n if none).  Galloping down from the
 * touch: 1, 2, 4, ... entries, then binary search inside the bracket, so a
 * level d entries from the touch costs O(log d) and the touch itself O(1). */
static inline size_t lob_ladder_lower_bound(const lob_ladder *l, int64_t key) {
    const int64_t *keys = l->keys;
    size_t n = l->n, hi, lo, step = 1;
    if (n == 0 || keys[n - 1] < key) return n;
    hi = n - 1;  /* keys[hi] >= key throughout */
    for (;;) {
        if (hi < step) { lo = 0; break; }
        if (keys[hi - step] < key) { lo = hi - step + 1; break; }
        hi -= step;
        step <<= 1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < key) lo = mid + 1; else hi = mid;
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
