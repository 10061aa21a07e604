/* lob_mem.h: allocation for the book's big arrays (order pool, id map).
 *
 * Random access over tens of megabytes (a book of a million orders) misses
 * the TLB on nearly every touch with 4 KiB pages.  Where the kernel offers
 * transparent huge pages on request (Linux, THP in "madvise" mode), blocks of
 * 4 MiB and more ask for them; elsewhere this is plain malloc.
 */
#ifndef LOB_MEM_H
#define LOB_MEM_H

#include <stdint.h>
#include <stdlib.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#define LOB_HUGE_MIN ((size_t)4 << 20)
#define LOB_HUGE_PAGE ((size_t)2 << 20)

static inline void lob_mem_advise(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t start, end;
    if (p == NULL || bytes < LOB_HUGE_MIN) return;
    start = ((uintptr_t)p + LOB_HUGE_PAGE - 1) & ~(uintptr_t)(LOB_HUGE_PAGE - 1);
    end = ((uintptr_t)p + bytes) & ~(uintptr_t)(LOB_HUGE_PAGE - 1);
    if (end > start) madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

static inline void *lob_mem_realloc(void *p, size_t bytes) {
    void *q = realloc(p, bytes);
    lob_mem_advise(q, bytes);
    return q;
}

static inline void *lob_mem_calloc(size_t n, size_t size) {
    void *q = calloc(n, size);
    lob_mem_advise(q, n * size);
    return q;
}

#endif /* LOB_MEM_H */
