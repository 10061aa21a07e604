/* lob_ring.h: a bounded, preallocated ring of sequenced messages between one
 * producer thread (the receiver) and one consumer thread.
 *
 * Message `s` lives in slot s & mask.  The ring holds the window of sequence
 * numbers [base, base + size): base is the next message the consumer takes
 * (only the consumer moves it); the producer may store any message of the
 * window, in any order (out-of-order packets wait in their slots until the
 * hole before them is filled).  A slot is ready for sequence s when its tag
 * equals s: the producer writes the payload, then publishes the tag with a
 * release store; the consumer reads the tag with an acquire load, copies the
 * payload, then releases the slot by moving base past it (release store),
 * which the producer reads (acquire) before reusing the slot.
 *
 * Each slot stores the message block as it came (u16 big-endian length +
 * payload): the ITCH file framing, so consecutive slots copy out into a
 * buffer the ITCH parser takes as is.
 *
 * Besides the shared part, `want` is producer-private bookkeeping for the
 * sequence numbers still missing in the window (when each was noticed or
 * last requested, and how many times).
 */
#ifndef LOB_RING_H
#define LOB_RING_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LOB_RING_EMPTY UINT64_MAX        /* tag of a slot that never held a message */
#define LOB_RING_LOST 0xFFFFFFFFu        /* len of a message given up (never arrived) */
#define LOB_RING_OVERSIZE 0xFFFFFFFEu    /* len of a message longer than a slot: arrived, unusable */

typedef struct {
    uint64_t seq;        /* the sequence number stored here (acquire / release) */
    uint64_t arrival_ns; /* CLOCK_REALTIME arrival of its datagram */
    uint32_t len;        /* payload bytes, or LOB_RING_LOST / LOB_RING_OVERSIZE */
    uint32_t unused;
} lob_ring_meta;

typedef struct {
    uint64_t seq;        /* the missing sequence number this entry is about */
    uint64_t last_ns;    /* CLOCK_MONOTONIC: noticed (tries == 0) or last requested */
    uint32_t tries;      /* requests sent for it */
    uint32_t unused;
} lob_ring_want;

typedef struct {
    uint64_t size;        /* slots, a power of two */
    uint64_t mask;
    uint64_t slot_bytes;  /* bytes per slot: 2-byte length + payload */
    lob_ring_meta *meta;
    unsigned char *data;
    lob_ring_want *want;
    uint64_t base;        /* next sequence number the consumer takes */
} lob_ring;

/* 0, or -1 when out of memory.  size is rounded up to a power of two. */
static inline int lob_ring_init(lob_ring *r, uint64_t size, uint64_t slot_bytes, uint64_t base) {
    uint64_t n = 1, i;
    while (n < size)
        n <<= 1;
    memset(r, 0, sizeof(*r));
    r->size = n;
    r->mask = n - 1;
    r->slot_bytes = slot_bytes;
    r->base = base;
    r->meta = (lob_ring_meta *)calloc(n, sizeof(lob_ring_meta));
    r->want = (lob_ring_want *)calloc(n, sizeof(lob_ring_want));
    r->data = (unsigned char *)malloc(n * slot_bytes);
    if (!r->meta || !r->want || !r->data) {
        free(r->meta);
        free(r->want);
        free(r->data);
        memset(r, 0, sizeof(*r));
        return -1;
    }
    for (i = 0; i < n; i++) {
        r->meta[i].seq = LOB_RING_EMPTY;
        r->want[i].seq = LOB_RING_EMPTY;
    }
    return 0;
}

static inline void lob_ring_free(lob_ring *r) {
    free(r->meta);
    free(r->want);
    free(r->data);
    memset(r, 0, sizeof(*r));
}

static inline uint64_t lob_ring_base(const lob_ring *r) { return __atomic_load_n(&r->base, __ATOMIC_ACQUIRE); }

static inline int lob_ring_ready(const lob_ring *r, uint64_t s) {
    return __atomic_load_n(&r->meta[s & r->mask].seq, __ATOMIC_ACQUIRE) == s;
}

/* Producer: store message s (block = u16 length + payload, or NULL for a
 * lost marker) into its slot.  The caller has checked that s is in the
 * window and not stored yet. */
static inline void lob_ring_put(lob_ring *r, uint64_t s, const unsigned char *block, uint32_t len,
                                uint64_t arrival_ns) {
    uint64_t i = s & r->mask;
    lob_ring_meta *m = &r->meta[i];
    if (block == NULL) {
        m->len = LOB_RING_LOST;
    } else if (2 + (uint64_t)len > r->slot_bytes) {
        m->len = LOB_RING_OVERSIZE;
    } else {
        memcpy(r->data + i * r->slot_bytes, block, 2 + (size_t)len);
        m->len = len;
    }
    m->arrival_ns = arrival_ns;
    __atomic_store_n(&m->seq, s, __ATOMIC_RELEASE);
}

#endif /* LOB_RING_H */
