/* lob_hist.h: a log-linear histogram of nanosecond values (latencies), fixed
 * size, no allocation: 32 sub-buckets per power of two, so a percentile read
 * back is within 1/32 (3.1%) of the true value.  Values below 64 ns are
 * exact; everything from 2**46 ns (~20 h) up lands in the last bucket. */
#ifndef LOB_HIST_H
#define LOB_HIST_H

#include <stdint.h>
#include <string.h>

#define LOB_HIST_SUB_BITS 5
#define LOB_HIST_SUB (1u << LOB_HIST_SUB_BITS)
#define LOB_HIST_TOP 46
#define LOB_HIST_BUCKETS (2 * LOB_HIST_SUB + (LOB_HIST_TOP - LOB_HIST_SUB_BITS - 1) * LOB_HIST_SUB)

typedef struct {
    uint64_t count[LOB_HIST_BUCKETS];
    uint64_t total;
    uint64_t max;
    double sum;
} lob_hist;

static inline void lob_hist_clear(lob_hist *h) { memset(h, 0, sizeof(*h)); }

static inline unsigned lob_hist_index(uint64_t v) {
    unsigned top, shift;
    if (v < 2 * LOB_HIST_SUB)
        return (unsigned)v;
    top = 63u - (unsigned)__builtin_clzll(v);          /* v in [2**top, 2**(top+1)) */
    if (top >= LOB_HIST_TOP)
        return LOB_HIST_BUCKETS - 1;
    shift = top - LOB_HIST_SUB_BITS;
    /* 2*SUB exact buckets, then SUB per octave from 2**(SUB_BITS+1) up */
    return 2 * LOB_HIST_SUB + (top - LOB_HIST_SUB_BITS - 1) * LOB_HIST_SUB
           + (unsigned)((v >> shift) - LOB_HIST_SUB);
}

/* The largest value that lands in bucket i (what a percentile reports). */
static inline uint64_t lob_hist_upper(unsigned i) {
    unsigned octave, sub;
    if (i < 2 * LOB_HIST_SUB)
        return i;
    octave = (i - 2 * LOB_HIST_SUB) / LOB_HIST_SUB + LOB_HIST_SUB_BITS + 1;   /* 2**octave .. */
    sub = (i - 2 * LOB_HIST_SUB) % LOB_HIST_SUB;
    return ((uint64_t)(LOB_HIST_SUB + sub + 1) << (octave - LOB_HIST_SUB_BITS)) - 1;
}

static inline void lob_hist_add(lob_hist *h, uint64_t v, uint64_t times) {
    h->count[lob_hist_index(v)] += times;
    h->total += times;
    h->sum += (double)v * (double)times;
    if (v > h->max)
        h->max = v;
}

/* The value at quantile q in [0, 1] (the upper edge of its bucket, capped at
 * the maximum seen); 0 when empty. */
static inline uint64_t lob_hist_quantile(const lob_hist *h, double q) {
    uint64_t rank, seen = 0, up;
    unsigned i;
    if (h->total == 0)
        return 0;
    if (q <= 0)
        q = 0;
    rank = (uint64_t)(q * (double)h->total + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank > h->total)
        rank = h->total;
    for (i = 0; i < LOB_HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            up = lob_hist_upper(i);
            return up < h->max ? up : h->max;
        }
    }
    return h->max;
}

#endif /* LOB_HIST_H */
