/* lob_i128.h: a signed 128-bit accumulator for traded notional (sum of price x qty).
 *
 * int64 prices in fine units (1e-9 dollars) times share counts overflow int64
 * within a day, and a double drifts; 128 bits keep VWAP exact until the final
 * division.  Native __int128 where the compiler has it, else two 64-bit halves.
 */
#ifndef LOB_I128_H
#define LOB_I128_H

#include <stdint.h>

typedef struct {
    uint64_t lo;
    int64_t hi;
} lob_i128;

static inline void lob_i128_zero(lob_i128 *a) { a->lo = 0; a->hi = 0; }

static inline void lob_i128_add(lob_i128 *a, uint64_t lo, int64_t hi) {
    uint64_t s = a->lo + lo;
    a->hi = (int64_t)((uint64_t)a->hi + (uint64_t)hi + (s < lo));
    a->lo = s;
}

/* a += x * y */
static inline void lob_i128_add_mul(lob_i128 *a, int64_t x, int64_t y) {
#if defined(__SIZEOF_INT128__) && !defined(LOB_NO_INT128)
    __int128 p = (__int128)x * (__int128)y;
    lob_i128_add(a, (uint64_t)p, (int64_t)(p >> 64));
#else
    /* |x| * |y| from 32-bit halves, then the sign. */
    int neg = (x < 0) != (y < 0);
    uint64_t ux = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
    uint64_t uy = y < 0 ? 0 - (uint64_t)y : (uint64_t)y;
    uint64_t x0 = ux & 0xFFFFFFFFu, x1 = ux >> 32, y0 = uy & 0xFFFFFFFFu, y1 = uy >> 32;
    uint64_t p00 = x0 * y0, p01 = x0 * y1, p10 = x1 * y0, p11 = x1 * y1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    uint64_t lo = (p00 & 0xFFFFFFFFu) | (mid << 32);
    uint64_t hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    if (neg) {  /* two's complement of the 128-bit value */
        lo = ~lo + 1;
        hi = ~hi + (lo == 0);
    }
    lob_i128_add(a, lo, (int64_t)hi);
#endif
}

static inline double lob_i128_to_double(const lob_i128 *a) {
    /* Convert the magnitude and restore the sign: hi * 2**64 + lo in doubles
     * would cancel catastrophically for small negative values (hi == -1). */
    uint64_t lo = a->lo, hi = (uint64_t)a->hi;
    double magnitude;
    int neg = a->hi < 0;
    if (neg) {
        lo = ~lo + 1;
        hi = ~hi + (lo == 0);
    }
    magnitude = (double)hi * 18446744073709551616.0 + (double)lo;
    return neg ? -magnitude : magnitude;
}

#endif /* LOB_I128_H */
