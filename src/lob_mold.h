/* lob_mold.h: NASDAQ MoldUDP64 framing (protocol specification V 1.00).
 *
 * Downstream packet: session (10 bytes, ASCII), sequence number of the first
 * message (u64 big-endian), message count (u16 big-endian), then `count`
 * message blocks of a u16 big-endian length and that many payload bytes.
 * Count 0 is a heartbeat and count 0xFFFF the end of session; both carry the
 * next expected sequence number and no blocks.  A request packet is the same
 * 20-byte header sent to the re-request server: the first sequence number
 * wanted and how many messages; the server answers with ordinary downstream
 * packets sent to the request's source address.
 *
 * Sequence numbers start at 1.  Nothing here allocates or blocks.
 */
#ifndef LOB_MOLD_H
#define LOB_MOLD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lob_be.h"

#define LOB_MOLD_SESSION 10
#define LOB_MOLD_HEADER 20
#define LOB_MOLD_HEARTBEAT 0
#define LOB_MOLD_EOS 0xFFFF

/* why a datagram was refused (index into the listener's malformed counters) */
enum {
    LOB_MOLD_OK = 0,
    LOB_MOLD_SHORT = 1,        /* fewer than 20 bytes: no full header */
    LOB_MOLD_WRONG_SESSION = 2,
    LOB_MOLD_TRUNCATED = 3,    /* a message block runs past the datagram's end */
    LOB_MOLD_TRAILING = 4,     /* bytes left after `count` blocks (or after a heartbeat / EOS) */
    LOB_MOLD_BAD_SEQUENCE = 5, /* sequence 0, or sequence + count past 2**64 */
    LOB_MOLD_REASONS = 6
};

typedef struct {
    uint64_t seq;       /* first message's sequence number (next expected for heartbeat / EOS) */
    uint16_t count;     /* raw count: 0 heartbeat, 0xFFFF end of session */
    uint16_t messages;  /* message blocks carried (0 for heartbeat / EOS) */
} lob_mold_header;

/* Check a whole downstream datagram: header, session (when `session` is not
 * NULL) and that exactly `count` blocks fill it.  Returns LOB_MOLD_OK and
 * fills *h, or the reason it is malformed. */
static inline int lob_mold_check(const unsigned char *p, size_t n, const unsigned char *session,
                                 lob_mold_header *h) {
    size_t pos = LOB_MOLD_HEADER;
    unsigned k;
    if (n < LOB_MOLD_HEADER)
        return LOB_MOLD_SHORT;
    if (session != NULL && memcmp(p, session, LOB_MOLD_SESSION) != 0)
        return LOB_MOLD_WRONG_SESSION;
    h->seq = lob_be64(p + 10);
    h->count = lob_be16(p + 18);
    h->messages = (h->count == LOB_MOLD_EOS) ? 0 : h->count;
    for (k = 0; k < h->messages; k++) {
        if (pos + 2 > n)
            return LOB_MOLD_TRUNCATED;
        pos += 2 + (size_t)lob_be16(p + pos);
        if (pos > n)
            return LOB_MOLD_TRUNCATED;
    }
    if (pos != n)
        return LOB_MOLD_TRAILING;
    if (h->seq == 0 || h->seq + h->messages < h->seq)
        return LOB_MOLD_BAD_SEQUENCE;
    return LOB_MOLD_OK;
}

static inline void lob_mold_put_u16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static inline void lob_mold_put_u64(unsigned char *p, uint64_t v) {
    int i;
    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

/* The 20-byte header of a downstream or request packet. */
static inline void lob_mold_put_header(unsigned char *p, const unsigned char *session, uint64_t seq,
                                       uint16_t count) {
    memcpy(p, session, LOB_MOLD_SESSION);
    lob_mold_put_u64(p + 10, seq);
    lob_mold_put_u16(p + 18, count);
}

#endif /* LOB_MOLD_H */
