/* lob_status.h: status codes of the C layer and the failure context.
 *
 * A C-level operation returns LOB_OK (0) or a code below, and on failure
 * fills a lob_failure with what it knew where it failed (the order id, the
 * side, price and qty it was given, the qty resting, the best opposite
 * price).  The Python edge turns the code and its context into an exception
 * through one table (lob/errors.py FAILURES); no caller looks state up again
 * to write a message.  The numbers are that table's keys.
 */
#ifndef LOB_STATUS_H
#define LOB_STATUS_H

#include <stdint.h>

enum lob_status {
    LOB_OK = 0,
    LOB_E_SIDE = 1,        /* side not 0/1 (trades: 0..2) */
    LOB_E_QTY = 2,         /* qty <= 0 (anonymous qty: < 0) */
    LOB_E_QTY_ABOVE = 3,   /* qty above what rests */
    LOB_E_DUPLICATE = 4,   /* id already resting */
    LOB_E_UNKNOWN = 5,     /* id not resting (or no anonymous qty there) */
    LOB_E_CROSSED = 6,     /* would lock or cross the book */
    LOB_E_NOMEM = 7,       /* allocation failed */
    LOB_E_FULL = 8,        /* more than 2**31 orders or levels */
    LOB_E_KIND = 9,        /* event or request kind unknown */
    LOB_E_OVERFLOW = 10,   /* a level total or a volume counter would pass int64 */
    LOB_E_TIF = 11,        /* engine: tif not 0..2, or post only / iceberg without GTC */
    LOB_E_DISPLAY = 12,    /* engine: display_qty < 0 */
    LOB_E_STP = 13,        /* engine: stp not 0..3 */
    LOB_E_ANON = 14        /* anonymous qty < 0 */
};

/* Codes 7 and 8 stop a batch even when bad events are skipped. */
#define LOB_FATAL(code) ((code) == LOB_E_NOMEM || (code) == LOB_E_FULL)

typedef struct lob_failure {
    int code;
    int kind;           /* event kind (batches), request kind (engine), 0 per call */
    int anonymous;      /* it concerns the anonymous qty at (side, price), not an id */
    uint64_t order_id;
    int64_t side;       /* as given, valid or not */
    int64_t price;
    int64_t qty;        /* asked */
    int64_t resting;    /* qty resting (LOB_E_QTY_ABOVE) */
    int64_t other;      /* best opposite price (LOB_E_CROSSED) */
} lob_failure;

#if defined(__GNUC__)
#define LOB_COLD __attribute__((cold, noinline, unused))
/* the per-event path: gcc declines to inline the event dispatch into the
   batch loops otherwise, which costs ~20 instructions an event */
#define LOB_INLINE static inline __attribute__((always_inline, unused))
/* branch hints on the per-event path: the common case falls through */
#define LOB_LIKELY(x) __builtin_expect(!!(x), 1)
#define LOB_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LOB_COLD
#define LOB_INLINE static inline
#define LOB_LIKELY(x) (x)
#define LOB_UNLIKELY(x) (x)
#endif

/* Fill `f` and return `code`: the one way a C-level operation fails. */
static LOB_COLD int lob_fail(lob_failure *f, int code, uint64_t order_id, int64_t side, int64_t price,
                             int64_t qty) {
    f->code = code;
    f->kind = 0;
    f->anonymous = 0;
    f->order_id = order_id;
    f->side = side;
    f->price = price;
    f->qty = qty;
    f->resting = 0;
    f->other = 0;
    return code;
}

#endif /* LOB_STATUS_H */
