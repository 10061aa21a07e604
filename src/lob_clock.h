/* A cheap per-event timer for latency distributions: the TSC where there is
 * one (x86-64: ~25 cycles to read, constant rate on every CPU this targets),
 * CLOCK_MONOTONIC elsewhere.  lob_ticks_per_ns() calibrates ticks against
 * CLOCK_MONOTONIC over the caller's whole run, so no fixed frequency is
 * assumed. */
#ifndef LOB_CLOCK_H
#define LOB_CLOCK_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <x86intrin.h>
#define LOB_CLOCK_TSC 1
static inline uint64_t lob_ticks(void) {
    _mm_lfence();               /* the read waits for the work before it */
    uint64_t t = __rdtsc();
    _mm_lfence();               /* and the work after it waits for the read */
    return t;
}
#else
#define LOB_CLOCK_TSC 0
static inline uint64_t lob_ticks(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

static inline uint64_t lob_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
