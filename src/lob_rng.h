/* lob_rng.h: splitmix64, a tiny seeded generator whose stream is the same on
 * every platform and compiler, so lob.synth streams are reproducible. */
#ifndef LOB_RNG_H
#define LOB_RNG_H

#include <stdint.h>

typedef struct { uint64_t state; } lob_rng;

static inline uint64_t lob_rng_next(lob_rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static inline double lob_rng_uniform(lob_rng *r) {
    return (double)(lob_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n > 0 (multiply-shift, bias below 2**-32, for n < 2**32). */
static inline uint64_t lob_rng_below(lob_rng *r, uint64_t n) {
    if (n <= 0xFFFFFFFFull) return ((lob_rng_next(r) >> 32) * n) >> 32;
    return lob_rng_next(r) % n;
}

/* Geometric count of successes before the first failure, each success with
 * probability p: mean p / (1 - p).  Integer compares only (no libm), so the
 * stream is bit-identical everywhere; capped at `cap`. */
static inline uint64_t lob_rng_geometric(lob_rng *r, double p, uint64_t cap) {
    uint64_t k = 0, threshold = (uint64_t)(p * 18446744073709551615.0);
    while (k < cap && lob_rng_next(r) < threshold) k++;
    return k;
}

#endif /* LOB_RNG_H */
