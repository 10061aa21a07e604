/* lob_event.h: one row of lob.EVENT_DTYPE, and the event kinds.
 *
 * Packed (34 bytes, no padding) like the NumPy dtype: NumPy leaves padding
 * bytes uninitialised when it copies structured arrays, so an aligned layout
 * would make equal streams unequal bytes.  Unaligned loads cost nothing
 * measurable on x86-64 and ARM64.
 */
#ifndef LOB_EVENT_H
#define LOB_EVENT_H

#include <stdint.h>

/* lob.EventKind; 1 to 5 as LOBSTER numbers its message types. */
enum lob_kind {
    LOB_ADD = 1,
    LOB_REDUCE = 2,
    LOB_CANCEL = 3,
    LOB_EXECUTE = 4,
    LOB_TRADE = 5,
    LOB_MODIFY = 6,
    LOB_CLEAR = 7,
    LOB_ANON = 8
};

#if defined(_MSC_VER)
#pragma pack(push, 1)
typedef struct lob_event {
#else
typedef struct __attribute__((packed)) lob_event {
#endif
    int64_t ts;          /* ns */
    uint8_t kind;
    int8_t side;
    uint64_t order_id;
    int64_t price;
    int64_t qty;
} lob_event;
#if defined(_MSC_VER)
#pragma pack(pop)
#endif

#endif /* LOB_EVENT_H */
