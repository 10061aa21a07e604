/* lob_book.h: the order-by-order (L3) book core, price-time priority.
 *
 * Orders live in one pooled array with a free list; each price level is an
 * intrusive doubly linked FIFO of its orders with their total; an
 * open-addressing id map (lob_idmap.h) maps order ids to pool slots; each side
 * keeps its occupied levels sorted, best last (lob_ladder.h), and a price map
 * (lob_pxmap.h) finds a price's level without searching the ladder.
 *
 * This is the surface every Cython module builds on (the Python OrderBook,
 * the batch loop, the matching engine, the ITCH parser, the generator, the
 * simulator): functions on a lob_book, no Python objects, status codes out
 * (lob_status.h) with the failure's context in b->fail.  Every operation
 * validates and reserves memory before it changes anything, so a refused
 * one leaves the book exactly as it was, clock and signals included.
 *
 * Anonymous qty: a level's qty whose orders are unknown (seeded from a level
 * snapshot, or set by an ANON event); it queues ahead of every known order at
 * the level and counts in its total.  A level lives while it has orders or
 * anonymous qty.
 */
#ifndef LOB_BOOK_H
#define LOB_BOOK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lob_status.h"
#include "lob_idmap.h"
#include "lob_ladder.h"
#include "lob_pxmap.h"
#include "lob_i128.h"
#include "lob_signals.h"
#include "lob_event.h"

#define LOB_BID 0
#define LOB_ASK 1
#define LOB_NO_AGGRESSOR 2
/* Pools stop doubling here, so a slot number never reaches LOB_NIL. */
#define LOB_MAX_SLOTS 0x80000000ull

/* Operations beyond the event kinds, for the per-call methods. */
enum {
    LOB_OP_SEED = 16,           /* rest anonymous qty (state, like ANON) */
    LOB_OP_DRAW = 17,           /* cancel anonymous qty */
    LOB_OP_DRAW_EXECUTE = 18    /* execute anonymous qty */
};

/* How lob_book_after treats the event that just happened. */
enum {
    LOB_AFTER_FLOW = 0,         /* order flow: counts in OFI */
    LOB_AFTER_STATE = 1         /* seeding / a snapshot's level size: not flow */
};

/* One resting order: 32 bytes.  Price and side live on its level. */
typedef struct {
    uint64_t order_id;   /* first: the id map reads it at offset 0 */
    int64_t qty;
    uint32_t prev;       /* FIFO neighbours at the level (LOB_NIL at the ends) */
    uint32_t next;       /* also the free-list link of an unused slot */
    uint32_t level;      /* level slot */
    uint32_t flags;      /* the matching engine's; 0 when the slot is reused */
} lob_order;

typedef struct {
    int64_t price;
    int64_t qty;         /* anonymous + every order's qty */
    int64_t anon;
    uint32_t head;       /* also the free-list link of an unused slot */
    uint32_t tail;
    uint32_t count;
    uint32_t side;
} lob_level;

typedef struct lob_book {
    lob_order *orders;
    uint32_t orders_cap;
    uint32_t orders_used;     /* slots ever handed out (high-water mark) */
    uint32_t free_order;      /* head of the free list, LOB_NIL if empty */
    lob_level *levels;
    uint32_t levels_cap;
    uint32_t levels_used;
    uint32_t free_level;
    lob_idmap ids;
    lob_ladder ladder[2];
    lob_pxmap pxmap[2];       /* price -> level slot, per side */
    uint32_t top_level[2];    /* the best level's slot per side (LOB_NIL: empty): ladder's last entry */
    int allow_cross;
    int busy;                 /* a batch runs without the GIL: the Python face refuses every call */
    /* trade flow since the last reset */
    int64_t flow_buy;
    int64_t flow_sell;
    int64_t flow_cross;       /* qty of trades with no aggressor (crosses) */
    int64_t flow_trades;
    int64_t flow_last_price;
    int flow_has_last;
    lob_i128 flow_notional;
    lob_signals sig;
    lob_failure fail;
} lob_book;

/* ------------------------------------------------------------------ */
/* Life */

static inline void lob_book_zero(lob_book *b) {
    memset(b, 0, sizeof *b);
    b->free_order = LOB_NIL;
    b->free_level = LOB_NIL;
    b->top_level[0] = b->top_level[1] = LOB_NIL;
}

/* 0, or LOB_E_NOMEM (then lob_book_free it). */
static inline int lob_book_init(lob_book *b, int allow_cross, int ofi_levels, int64_t window_ns,
                                int64_t halflife_ns) {
    lob_book_zero(b);
    lob_ladder_init(&b->ladder[0]);
    lob_ladder_init(&b->ladder[1]);
    b->allow_cross = allow_cross;
    lob_sig_init(&b->sig, ofi_levels, window_ns, halflife_ns);
    b->sig.vwap = NAN;                 /* no trade yet */
    b->sig.trade_imbalance = NAN;
    b->sig.flow_stale = 0;
    if (lob_pxmap_init(&b->pxmap[0]) || lob_pxmap_init(&b->pxmap[1]) || lob_idmap_init(&b->ids, 10))
        return LOB_E_NOMEM;
    return LOB_OK;
}

static inline void lob_book_free(lob_book *b) {
    free(b->orders);
    free(b->levels);
    b->orders = NULL;
    b->levels = NULL;
    b->orders_cap = b->levels_cap = 0;
    lob_idmap_free(&b->ids);
    lob_ladder_free(&b->ladder[0]);
    lob_ladder_free(&b->ladder[1]);
    lob_pxmap_free(&b->pxmap[0]);
    lob_pxmap_free(&b->pxmap[1]);
    lob_sig_free(&b->sig);
}

static inline size_t lob_book_bytes(const lob_book *b) {
    return (size_t)b->orders_cap * sizeof(lob_order) + (size_t)b->levels_cap * sizeof(lob_level)
           + lob_idmap_bytes(&b->ids) + lob_pxmap_bytes(&b->pxmap[0]) + lob_pxmap_bytes(&b->pxmap[1])
           + (b->ladder[0].cap + b->ladder[1].cap) * (sizeof(int64_t) + sizeof(uint32_t))
           + b->sig.ring_cap * sizeof(lob_sig_trade) + b->sig.run_prices_cap * sizeof(int64_t);
}

/* ------------------------------------------------------------------ */
/* Reading */

LOB_INLINE uint32_t lob_book_find(const lob_book *b, uint64_t order_id) {
    return lob_idmap_find(&b->ids, order_id, (const char *)b->orders, sizeof(lob_order));
}

/* The touch price of a non-empty side (ladder keys are negated for asks). */
LOB_INLINE int64_t lob_book_best(const lob_book *b, int side) {
    int64_t key = b->ladder[side].keys[b->ladder[side].n - 1];
    return side == LOB_BID ? key : ~key;
}

/* The m-th best level of a side (0 = best), NULL beyond the last. */
static inline const lob_level *lob_book_level_at(const lob_book *b, int side, size_t m) {
    const lob_ladder *lad = &b->ladder[side];
    return m < lad->n ? &b->levels[lad->levels[lad->n - 1 - m]] : NULL;
}

/* The best level of `side`: its price and total qty, (0, 0) when empty. */
LOB_INLINE void lob_book_touch(const lob_book *b, int side, int64_t *price, int64_t *qty) {
    const lob_ladder *lad = &b->ladder[side];
    if (lad->n) {
        const lob_level *lvl = &b->levels[lad->levels[lad->n - 1]];
        *price = lvl->price;
        *qty = lvl->qty;
    } else {
        *price = 0;
        *qty = 0;
    }
}

/* The level slot at (side, price), or LOB_NIL. */
LOB_INLINE uint32_t lob_book_level_of(const lob_book *b, int side, int64_t price) {
    uint32_t level = lob_pxmap_find(&b->pxmap[side], price);
    return level == LOB_PXMAP_EMPTY ? LOB_NIL : level;
}

/* Does a change at (side, price) reach the levels the signals watch, the
 * ofi_levels best of the side as they were after the last event (a price at
 * or better than the last of them, or any price while the side has fewer)?
 * Operations mark the book dirty then (sig.dirty), and lob_book_after looks
 * at the book only after such events. */
LOB_INLINE int lob_book_watched(const lob_book *b, int side, int64_t price) {
    /* price ^ -side is the ladder key (~price for asks) without a branch on side */
    return (price ^ -(int64_t)side) >= b->sig.watch_key[side];
}

/* The dirty bit of a change at a level slot: 1 << side when watched, else 0. */
LOB_INLINE int lob_book_level_watched(const lob_book *b, uint32_t level) {
    const lob_level *lvl = &b->levels[level];
    return lob_book_watched(b, (int)lvl->side, lvl->price) << lvl->side;
}

/* Total qty of the best `levels` levels of a side, in doubles (several int64
 * totals may pass int64; exact below 2**53). */
static inline double lob_book_side_qty(const lob_book *b, int side, size_t levels) {
    const lob_ladder *lad = &b->ladder[side];
    size_t i, n = levels < lad->n ? levels : lad->n;
    double total = 0;
    for (i = 0; i < n; i++) total += (double)b->levels[lad->levels[lad->n - 1 - i]].qty;
    return total;
}

/* The signal formulas, one home for the per-call reads and the batch rows. */
LOB_INLINE double lob_microprice_of(int64_t bid, int64_t bid_qty, int64_t ask, int64_t ask_qty) {
    double bq = (double)bid_qty, aq = (double)ask_qty;
    if (bid_qty == 0 || ask_qty == 0) return NAN;
    return ((double)bid * aq + (double)ask * bq) / (bq + aq);
}

LOB_INLINE double lob_imbalance_of(double bid_qty, double ask_qty) {
    if (bid_qty + ask_qty == 0) return NAN;
    return (bid_qty - ask_qty) / (bid_qty + ask_qty);
}

static inline double lob_book_microprice(const lob_book *b) {
    int64_t bid, bq, ask, aq;
    lob_book_touch(b, LOB_BID, &bid, &bq);
    lob_book_touch(b, LOB_ASK, &ask, &aq);
    return lob_microprice_of(bid, bq, ask, aq);
}

static inline double lob_book_imbalance(const lob_book *b, size_t levels) {
    return lob_imbalance_of(lob_book_side_qty(b, LOB_BID, levels), lob_book_side_qty(b, LOB_ASK, levels));
}

/* (bid + ask) / 2 in doubles, nan when a side is empty. */
static inline double lob_book_mid(const lob_book *b) {
    if (!b->ladder[0].n || !b->ladder[1].n) return NAN;
    return ((double)lob_book_best(b, LOB_BID) + (double)lob_book_best(b, LOB_ASK)) * 0.5;
}

/* The session vwap and the trade imbalance change only with a trade: a
 * trade marks them stale and the first read after it computes both. */
static inline void lob_book_flow_derived(lob_book *b) {
    double buy = (double)b->flow_buy, sell = (double)b->flow_sell;
    b->sig.vwap = b->flow_buy == 0 && b->flow_sell == 0 && b->flow_cross == 0 ? NAN
                  : lob_i128_to_double(&b->flow_notional) / (buy + sell + (double)b->flow_cross);
    b->sig.trade_imbalance = b->flow_buy == 0 && b->flow_sell == 0 ? NAN : (buy - sell) / (buy + sell);
    b->sig.flow_stale = 0;
}

static inline double lob_book_vwap(lob_book *b) {
    if (b->sig.flow_stale) lob_book_flow_derived(b);
    return b->sig.vwap;
}

static inline double lob_book_trade_imbalance(lob_book *b) {
    if (b->sig.flow_stale) lob_book_flow_derived(b);
    return b->sig.trade_imbalance;
}

static inline double lob_book_rolling_vwap(lob_book *b) {
    return b->sig.window_ns > 0 ? lob_sig_rolling_vwap(&b->sig) : lob_book_vwap(b);
}

/* (mid - vwap) / vwap in bps; nan when either is undefined or the VWAP is 0 */
static inline double lob_vwap_deviation_of(double mid, double rv) {
    if (mid != mid || rv != rv || rv == 0.0) return NAN;
    return (mid - rv) / rv * 1e4;
}

static inline double lob_book_vwap_deviation_bps(lob_book *b) {
    return lob_vwap_deviation_of(lob_book_mid(b), lob_book_rolling_vwap(b));
}

static inline double lob_book_volume_delta_ewm(const lob_book *b) {
    return lob_sig_ewm(&b->sig, b->flow_buy - b->flow_sell);
}

static inline double lob_book_absorption(const lob_book *b, int side) {
    int64_t price, qty;
    lob_book_touch(b, side, &price, &qty);
    if (qty == 0) return NAN;
    return (double)b->sig.absorbed[side] / (double)qty;
}

/* ------------------------------------------------------------------ */
/* Memory */

/* Make the order pool hold at least `cap` slots. */
static inline int lob_book_grow_orders(lob_book *b, uint64_t cap) {
    lob_order *grown;
    if (cap <= b->orders_cap) return LOB_OK;
    if (cap > LOB_MAX_SLOTS) return LOB_E_FULL;
    grown = (lob_order *)realloc(b->orders, (size_t)cap * sizeof(lob_order));
    if (!grown) return LOB_E_NOMEM;
    b->orders = grown;
    b->orders_cap = (uint32_t)cap;
    return LOB_OK;
}

/* Room for one more order in the pool and the id map. */
LOB_INLINE int lob_book_reserve_order(lob_book *b) {
    if (b->free_order == LOB_NIL && b->orders_used == b->orders_cap) {
        int status = lob_book_grow_orders(b, b->orders_cap == 0 ? 1024 : (uint64_t)b->orders_cap * 2);
        if (status) return status;
    }
    return lob_idmap_reserve(&b->ids) ? LOB_E_NOMEM : LOB_OK;
}

/* Room for one more level on `side`, in the level pool, the ladder and the price map. */
static inline int lob_book_reserve_level(lob_book *b, int side) {
    if (b->free_level == LOB_NIL && b->levels_used == b->levels_cap) {
        uint32_t cap;
        lob_level *grown;
        if ((uint64_t)b->levels_cap >= LOB_MAX_SLOTS) return LOB_E_FULL;
        cap = b->levels_cap == 0 ? 256 : b->levels_cap * 2;
        grown = (lob_level *)realloc(b->levels, (size_t)cap * sizeof(lob_level));
        if (!grown) return LOB_E_NOMEM;
        b->levels = grown;
        b->levels_cap = cap;
    }
    if (lob_ladder_reserve(&b->ladder[side]) || lob_pxmap_reserve(&b->pxmap[side])) return LOB_E_NOMEM;
    return LOB_OK;
}

/* ------------------------------------------------------------------ */
/* Structure */

/* Open an empty level at `price` (lob_book_reserve_level first). */
static inline uint32_t lob_book_new_level(lob_book *b, int side, int64_t price) {
    lob_ladder *lad = &b->ladder[side];
    int64_t key = lob_ladder_key(side, price);
    uint32_t slot;
    size_t pos;
    lob_level *lvl;
    if (b->free_level != LOB_NIL) {
        slot = b->free_level;
        b->free_level = b->levels[slot].head;
    } else {
        slot = b->levels_used++;
    }
    lvl = &b->levels[slot];
    lvl->price = price;
    lvl->qty = 0;
    lvl->anon = 0;
    lvl->head = LOB_NIL;
    lvl->tail = LOB_NIL;
    lvl->count = 0;
    lvl->side = (uint32_t)side;
    pos = lob_ladder_lower_bound(lad, key);
    if (pos == lad->n) b->top_level[side] = slot;   /* a new best level */
    lob_ladder_insert_at(lad, pos, key, slot);
    lob_pxmap_insert(&b->pxmap[side], price, slot);
    return slot;
}

static inline void lob_book_drop_level(lob_book *b, uint32_t level) {
    lob_level *lvl = &b->levels[level];
    lob_ladder *lad = &b->ladder[lvl->side];
    int64_t key = lob_ladder_key((int)lvl->side, lvl->price);
    size_t pos = lad->keys[lad->n - 1] == key ? lad->n - 1 : lob_ladder_lower_bound(lad, key);
    lob_ladder_erase_at(lad, pos);
    if (pos == lad->n)                /* the best level went: the next is the best */
        b->top_level[lvl->side] = lad->n ? lad->levels[lad->n - 1] : LOB_NIL;
    lob_pxmap_erase(&b->pxmap[lvl->side], lvl->price);
    lvl->head = b->free_level;
    b->free_level = level;
}

/* The level at `price` into *level (LOB_NIL if none); LOB_E_OVERFLOW if
 * `qty` more would take its total past int64. */
LOB_INLINE int lob_book_room_at(const lob_book *b, int side, int64_t price, int64_t qty, uint32_t *level) {
    uint32_t found = lob_pxmap_find(&b->pxmap[side], price);
    if (found == LOB_PXMAP_EMPTY) {
        *level = LOB_NIL;
        return LOB_OK;
    }
    *level = found;
    return qty > INT64_MAX - b->levels[found].qty ? LOB_E_OVERFLOW : LOB_OK;
}

/* The level at `price` into *level, opened if absent, with room for `qty`
 * more: the last step that can fail, so callers change nothing before it. */
LOB_INLINE int lob_book_open_level(lob_book *b, int side, int64_t price, int64_t qty, uint32_t *level) {
    int status = lob_book_room_at(b, side, price, qty, level);
    if (status || *level != LOB_NIL) return status;
    status = lob_book_reserve_level(b, side);
    if (status) return status;
    *level = lob_book_new_level(b, side, price);
    return LOB_OK;
}

/* Queue an order at the tail of a level; the caller marks sig.dirty. */
LOB_INLINE void lob_book_link_tail_unmarked(lob_book *b, uint32_t slot, uint32_t level) {
    lob_order *o = &b->orders[slot];
    lob_level *lvl = &b->levels[level];
    o->level = level;
    o->next = LOB_NIL;
    o->prev = lvl->tail;
    if (lvl->tail != LOB_NIL) b->orders[lvl->tail].next = slot;
    else lvl->head = slot;
    lvl->tail = slot;
    lvl->qty += o->qty;
    lvl->count++;
}

LOB_INLINE void lob_book_link_tail(lob_book *b, uint32_t slot, uint32_t level) {
    lob_book_link_tail_unmarked(b, slot, level);
    b->sig.dirty |= lob_book_level_watched(b, level);
}

/* Take an order out of its level's FIFO; drops the level if it empties. */
LOB_INLINE void lob_book_unlink(lob_book *b, uint32_t slot) {
    lob_order *o = &b->orders[slot];
    lob_level *lvl = &b->levels[o->level];
    b->sig.dirty |= lob_book_level_watched(b, o->level);
    if (o->prev != LOB_NIL) b->orders[o->prev].next = o->next;
    else lvl->head = o->next;
    if (o->next != LOB_NIL) b->orders[o->next].prev = o->prev;
    else lvl->tail = o->prev;
    lvl->qty -= o->qty;
    lvl->count--;
    if (lvl->count == 0 && lvl->anon == 0) lob_book_drop_level(b, o->level);
}

/* Forget an unlinked order whose id-map bucket is known (lob_idmap_locate). */
LOB_INLINE void lob_book_release_at(lob_book *b, uint32_t slot, uint64_t bucket) {
    lob_idmap_erase_at(&b->ids, bucket);
    b->orders[slot].next = b->free_order;
    b->free_order = slot;
}

/* Forget an unlinked order: id map entry and pool slot. */
LOB_INLINE void lob_book_release(lob_book *b, uint32_t slot) {
    lob_idmap_erase(&b->ids, b->orders[slot].order_id, slot);
    b->orders[slot].next = b->free_order;
    b->free_order = slot;
}

/* Unlink and release the order at `slot` (no trade recorded). */
LOB_INLINE void lob_book_remove(lob_book *b, uint32_t slot) {
    lob_book_unlink(b, slot);
    lob_book_release(b, slot);
}

/* LOB_E_CROSSED (context filled) if a `side` order at `price` would lock or
 * cross the book and the book does not allow it. */
LOB_INLINE int lob_book_check_cross(lob_book *b, int side, int64_t price, uint64_t order_id, int64_t qty) {
    const lob_ladder *opp = &b->ladder[1 - side];
    int64_t best;
    if (b->allow_cross || opp->n == 0) return LOB_OK;
    best = lob_book_best(b, 1 - side);
    if (side == LOB_BID ? price >= best : price <= best) {
        lob_fail(&b->fail, LOB_E_CROSSED, order_id, side, price, qty);
        b->fail.other = best;
        return LOB_E_CROSSED;
    }
    return LOB_OK;
}

/* Give a resting order `qty` (> 0) and move it to the back of its level's
 * queue (the matching engine's iceberg refill). */
static inline int lob_book_requeue(lob_book *b, uint32_t slot, int64_t qty) {
    lob_order *o = &b->orders[slot];
    uint32_t level = o->level;
    lob_level *lvl = &b->levels[level];
    if (qty > o->qty && qty - o->qty > INT64_MAX - lvl->qty)
        return lob_fail(&b->fail, LOB_E_OVERFLOW, o->order_id, lvl->side, lvl->price, qty);
    if (lvl->tail != slot) {
        /* not the tail, so not alone: unlink keeps the level */
        lob_book_unlink(b, slot);
        o->qty = qty;
        lob_book_link_tail(b, slot, level);
    } else {
        lvl->qty += qty - o->qty;
        o->qty = qty;
        b->sig.dirty |= lob_book_level_watched(b, level);
    }
    return LOB_OK;
}

/* ------------------------------------------------------------------ */
/* Trade flow */

/* LOB_E_OVERFLOW if recording `qty` would take a volume counter past int64. */
LOB_INLINE int lob_book_flow_room(const lob_book *b, int aggressor, int64_t qty) {
    int64_t counter = aggressor == LOB_BID ? b->flow_buy : (aggressor == LOB_ASK ? b->flow_sell : b->flow_cross);
    return qty > INT64_MAX - counter ? LOB_E_OVERFLOW : LOB_OK;
}

/* Room to record one more trade of `qty` (flow counters and signal buffers). */
LOB_INLINE int lob_book_trade_room(lob_book *b, int aggressor, int64_t qty) {
    if (lob_book_flow_room(b, aggressor, qty)) return LOB_E_OVERFLOW;
    return lob_sig_reserve(&b->sig, 1, 1);
}

LOB_INLINE void lob_book_record_trade(lob_book *b, int aggressor, int64_t price, int64_t qty) {
    if (aggressor == LOB_BID) b->flow_buy += qty;
    else if (aggressor == LOB_ASK) b->flow_sell += qty;
    else b->flow_cross += qty;
    b->flow_trades++;
    b->flow_last_price = price;
    b->flow_has_last = 1;
    lob_i128_add_mul(&b->flow_notional, price, qty);
    b->sig.flow_stale = 1;
    lob_sig_trade_at(&b->sig, aggressor, price, qty);
}

/* Zero the trade flow and every flow signal (reset_flow). */
static inline void lob_book_reset_flow(lob_book *b) {
    b->flow_buy = b->flow_sell = b->flow_cross = b->flow_trades = 0;
    b->flow_last_price = 0;
    b->flow_has_last = 0;
    lob_i128_zero(&b->flow_notional);
    lob_sig_reset(&b->sig);
    lob_book_flow_derived(b);
}

/* ------------------------------------------------------------------ */
/* Signals after an event */

/* One watched level after an event against its baseline (np, nq: the m-th
 * best level of `side` now): its part of OFI (the other side, unchanged,
 * adds nothing), absorption at the best (it restarts when the best price
 * changes or the side empties), the new baseline.  `mode` LOB_AFTER_STATE
 * (seeding) only moves the baseline. */
LOB_INLINE void lob_sig_level(lob_signals *s, int side, int m, int64_t np, int64_t nq, int mode) {
    int64_t pp = s->top_price[side][m], pq = s->top_qty[side][m];
    if (np == pp && nq == pq) return;
    if (mode == LOB_AFTER_FLOW) {
        /* bid: [b >= b'] B - [b <= b'] B';  ask: [a >= a'] A' - [a <= a'] A */
        uint64_t pos = np >= pp ? (uint64_t)(side == LOB_BID ? nq : pq) : 0;
        uint64_t neg = np <= pp ? (uint64_t)(side == LOB_BID ? pq : nq) : 0;
        if (pos != neg) lob_i128_add_diff(&s->ofi[m], pos, neg);
    }
    if (m == 0 && (np != pp || nq == 0)) s->absorbed[side] = 0;
    s->top_price[side][m] = np;
    s->top_qty[side][m] = nq;
}

/* One side's watched levels after an event: lob_sig_level for each of the
 * ofi_levels best, then the side's watch key. */
LOB_INLINE void lob_book_after_side(lob_book *b, int side, int mode) {
    lob_signals *s = &b->sig;
    const lob_ladder *lad = &b->ladder[side];
    int64_t empty = side == LOB_BID ? INT64_MIN : INT64_MAX;
    int m;
    if (LOB_LIKELY(s->ofi_levels == 1)) {
        /* the default: the best level is top_level's, no loop over the ladder */
        uint32_t top = b->top_level[side];
        if (top != LOB_NIL) lob_sig_level(s, side, 0, b->levels[top].price, b->levels[top].qty, mode);
        else lob_sig_level(s, side, 0, empty, 0, mode);
        s->watch_key[side] = lob_ladder_key(side, s->top_price[side][0]);
        return;
    }
    for (m = 0; m < s->ofi_levels; m++) {
        if ((size_t)m < lad->n) {
            const lob_level *l = &b->levels[lad->levels[lad->n - 1 - m]];
            lob_sig_level(s, side, m, l->price, l->qty, mode);
        } else {
            lob_sig_level(s, side, m, empty, 0, mode);
        }
    }
    s->watch_key[side] = lob_ladder_key(side, s->top_price[side][s->ofi_levels - 1]);
}

/* The signals' work after a successful event (each engine fill is one):
 * OFI and absorption look at a side only when the event changed one of the
 * levels they watch there (sig.dirty bit 1 << side, see lob_book_watched). */
LOB_INLINE void lob_book_after(lob_book *b, int mode) {
    int dirty = b->sig.dirty;
    if (LOB_UNLIKELY(dirty)) {      /* most events change no watched level */
        b->sig.dirty = 0;
        if (dirty & 1) lob_book_after_side(b, LOB_BID, mode);
        if (dirty & 2) lob_book_after_side(b, LOB_ASK, mode);
    }
}

/* Baseline the signals on the book as it is (after a restore). */
static inline void lob_book_sync_signals(lob_book *b) {
    lob_book_flow_derived(b);
    b->sig.dirty = 3;
    lob_book_after(b, LOB_AFTER_STATE);
}

/* The run fields of a feature row: the run through this event after a
 * (sided) trade event, 0 after any other. */
LOB_INLINE int lob_event_traded(const lob_event *ev, int status) {
    return status == LOB_OK && (ev->kind == LOB_EXECUTE || (ev->kind == LOB_TRADE && ev->side >= 0 && ev->side <= 1));
}

/* ------------------------------------------------------------------ */
/* Events.  Each validates, reserves, then changes; failures fill b->fail. */

LOB_INLINE int lob_book_add(lob_book *b, uint64_t order_id, int side, int64_t price, int64_t qty) {
    int status;
    uint32_t slot, level;
    uint64_t bucket;
    lob_order *o;
    if ((unsigned)side > 1) return lob_fail(&b->fail, LOB_E_SIDE, order_id, side, price, qty);
    if (qty <= 0) return lob_fail(&b->fail, LOB_E_QTY, order_id, side, price, qty);
    /* grow first (harmless if the add is then refused), so one probe both
       checks for a duplicate and finds the bucket to insert at */
    status = lob_book_reserve_order(b);
    if (status) return lob_fail(&b->fail, status, order_id, side, price, qty);
    if (lob_idmap_probe(&b->ids, order_id, (const char *)b->orders, sizeof(lob_order), &bucket) != LOB_NIL)
        return lob_fail(&b->fail, LOB_E_DUPLICATE, order_id, side, price, qty);
    status = lob_book_check_cross(b, side, price, order_id, qty);
    if (status) return status;
    status = lob_book_open_level(b, side, price, qty, &level);
    if (status) return lob_fail(&b->fail, status, order_id, side, price, qty);
    if (b->free_order != LOB_NIL) {
        slot = b->free_order;
        b->free_order = b->orders[slot].next;
    } else {
        slot = b->orders_used++;
    }
    o = &b->orders[slot];
    o->order_id = order_id;
    o->qty = qty;
    o->flags = 0;
    lob_idmap_insert_at(&b->ids, bucket, order_id, slot);
    lob_book_link_tail_unmarked(b, slot, level);
    /* side and price are at hand: no reload through the level */
    b->sig.dirty |= lob_book_watched(b, side, price) << side;
    return LOB_OK;
}

LOB_INLINE int lob_book_cancel(lob_book *b, uint64_t order_id, int64_t *out_qty) {
    uint64_t bucket;
    uint32_t slot = lob_idmap_locate(&b->ids, order_id, (const char *)b->orders, sizeof(lob_order), &bucket);
    if (slot == LOB_NIL) return lob_fail(&b->fail, LOB_E_UNKNOWN, order_id, -1, 0, 0);
    *out_qty = b->orders[slot].qty;
    lob_book_unlink(b, slot);
    lob_book_release_at(b, slot, bucket);
    return LOB_OK;
}

LOB_INLINE int lob_book_reduce(lob_book *b, uint64_t order_id, int64_t qty, int64_t *out_left) {
    uint32_t slot;
    uint64_t bucket;
    lob_order *o;
    if (qty <= 0) return lob_fail(&b->fail, LOB_E_QTY, order_id, -1, 0, qty);
    slot = lob_idmap_locate(&b->ids, order_id, (const char *)b->orders, sizeof(lob_order), &bucket);
    if (slot == LOB_NIL) return lob_fail(&b->fail, LOB_E_UNKNOWN, order_id, -1, 0, qty);
    o = &b->orders[slot];
    if (qty > o->qty) {
        lob_fail(&b->fail, LOB_E_QTY_ABOVE, order_id, b->levels[o->level].side, b->levels[o->level].price, qty);
        b->fail.resting = o->qty;
        return LOB_E_QTY_ABOVE;
    }
    if (qty == o->qty) {
        lob_book_unlink(b, slot);
        lob_book_release_at(b, slot, bucket);
        *out_left = 0;
    } else {
        o->qty -= qty;
        b->levels[o->level].qty -= qty;
        b->sig.dirty |= lob_book_level_watched(b, o->level);
        *out_left = o->qty;
    }
    return LOB_OK;
}

/* A resting order trades `qty` at its price; the aggressor is the other side. */
LOB_INLINE int lob_book_execute(lob_book *b, uint64_t order_id, int64_t qty, int64_t *out_left) {
    uint32_t slot;
    uint64_t bucket;
    lob_order *o;
    lob_level *lvl;
    int status;
    if (qty <= 0) return lob_fail(&b->fail, LOB_E_QTY, order_id, -1, 0, qty);
    slot = lob_idmap_locate(&b->ids, order_id, (const char *)b->orders, sizeof(lob_order), &bucket);
    if (slot == LOB_NIL) return lob_fail(&b->fail, LOB_E_UNKNOWN, order_id, -1, 0, qty);
    o = &b->orders[slot];
    lvl = &b->levels[o->level];
    if (qty > o->qty) {
        lob_fail(&b->fail, LOB_E_QTY_ABOVE, order_id, lvl->side, lvl->price, qty);
        b->fail.resting = o->qty;
        return LOB_E_QTY_ABOVE;
    }
    status = lob_book_trade_room(b, 1 - (int)lvl->side, qty);
    if (status) return lob_fail(&b->fail, status, order_id, lvl->side, lvl->price, qty);
    lob_book_record_trade(b, 1 - (int)lvl->side, lvl->price, qty);
    if (qty == o->qty) {
        lob_book_unlink(b, slot);
        lob_book_release_at(b, slot, bucket);
        *out_left = 0;
    } else {
        o->qty -= qty;
        lvl->qty -= qty;
        b->sig.dirty |= lob_book_level_watched(b, o->level);
        *out_left = o->qty;
    }
    return LOB_OK;
}

/* Cancel-replace: keeps its place only at the same price without growing. */
static inline int lob_book_modify(lob_book *b, uint64_t order_id, int64_t price, int64_t qty) {
    uint32_t slot, level;
    lob_order *o;
    lob_level *lvl;
    int side, status;
    int64_t others;
    if (qty <= 0) return lob_fail(&b->fail, LOB_E_QTY, order_id, -1, price, qty);
    slot = lob_book_find(b, order_id);
    if (slot == LOB_NIL) return lob_fail(&b->fail, LOB_E_UNKNOWN, order_id, -1, price, qty);
    o = &b->orders[slot];
    lvl = &b->levels[o->level];
    side = (int)lvl->side;
    if (price == lvl->price && qty <= o->qty) {
        lvl->qty -= o->qty - qty;
        o->qty = qty;
        b->sig.dirty |= lob_book_level_watched(b, o->level);
        return LOB_OK;
    }
    status = lob_book_check_cross(b, side, price, order_id, qty);
    if (status) return status;
    /* the total at the new price without this order must take qty more */
    level = lob_book_level_of(b, side, price);
    if (level != LOB_NIL) {
        others = b->levels[level].qty - (level == o->level ? o->qty : 0);
        if (qty > INT64_MAX - others) return lob_fail(&b->fail, LOB_E_OVERFLOW, order_id, side, price, qty);
    }
    status = lob_book_reserve_level(b, side);
    if (status) return lob_fail(&b->fail, status, order_id, side, price, qty);
    lob_book_unlink(b, slot);            /* may drop the old level */
    b->orders[slot].qty = qty;
    level = lob_book_level_of(b, side, price);
    if (level == LOB_NIL) level = lob_book_new_level(b, side, price);
    lob_book_link_tail(b, slot, level);
    return LOB_OK;
}

/* A trade print that touches no visible order; side = the aggressor's (2: none). */
static inline int lob_book_trade(lob_book *b, int side, int64_t price, int64_t qty) {
    int status;
    if ((unsigned)side > 2) return lob_fail(&b->fail, LOB_E_SIDE, 0, side, price, qty);
    if (qty <= 0) return lob_fail(&b->fail, LOB_E_QTY, 0, side, price, qty);
    status = lob_book_trade_room(b, side, qty);
    if (status) return lob_fail(&b->fail, status, 0, side, price, qty);
    lob_book_record_trade(b, side, price, qty);
    return LOB_OK;
}

/* Every resting order goes; memory and trade flow stay. */
static inline void lob_book_clear(lob_book *b) {
    lob_idmap_clear(&b->ids);
    b->orders_used = 0;
    b->free_order = LOB_NIL;
    b->levels_used = 0;
    b->free_level = LOB_NIL;
    b->ladder[0].n = 0;
    b->ladder[1].n = 0;
    b->top_level[0] = b->top_level[1] = LOB_NIL;
    lob_pxmap_clear(&b->pxmap[0]);
    lob_pxmap_clear(&b->pxmap[1]);
    b->sig.dirty = 3;
}

/* Anonymous qty at (side, price), ahead of every known order there. */
static inline int lob_book_seed(lob_book *b, int side, int64_t price, int64_t qty) {
    int status;
    uint32_t level;
    if ((unsigned)side > 1) return lob_fail(&b->fail, LOB_E_SIDE, 0, side, price, qty);
    if (qty <= 0) return lob_fail(&b->fail, LOB_E_QTY, 0, side, price, qty);
    if (lob_book_level_of(b, side, price) == LOB_NIL) {
        status = lob_book_check_cross(b, side, price, 0, qty);
        if (status) {
            b->fail.anonymous = 1;
            return status;
        }
    }
    status = lob_book_open_level(b, side, price, qty, &level);
    if (status) {
        lob_fail(&b->fail, status, 0, side, price, qty);
        b->fail.anonymous = 1;
        return status;
    }
    b->levels[level].anon += qty;
    b->levels[level].qty += qty;
    b->sig.dirty |= lob_book_level_watched(b, level);
    return LOB_OK;
}

/* Take qty from the anonymous qty at (side, price): a cancel, or with
 * `execute` a trade at that price against it (aggressor: the other side). */
static inline int lob_book_draw(lob_book *b, int side, int64_t price, int64_t qty, int execute, int64_t *out_left) {
    uint32_t level;
    lob_level *lvl;
    int status;
    if ((unsigned)side > 1) return lob_fail(&b->fail, LOB_E_SIDE, 0, side, price, qty);
    if (qty <= 0) return lob_fail(&b->fail, LOB_E_QTY, 0, side, price, qty);
    level = lob_book_level_of(b, side, price);
    if (level == LOB_NIL || b->levels[level].anon == 0) {
        lob_fail(&b->fail, LOB_E_UNKNOWN, 0, side, price, qty);
        b->fail.anonymous = 1;
        return LOB_E_UNKNOWN;
    }
    lvl = &b->levels[level];
    if (qty > lvl->anon) {
        lob_fail(&b->fail, LOB_E_QTY_ABOVE, 0, side, price, qty);
        b->fail.anonymous = 1;
        b->fail.resting = lvl->anon;
        return LOB_E_QTY_ABOVE;
    }
    if (execute) {
        status = lob_book_trade_room(b, 1 - side, qty);
        if (status) {
            lob_fail(&b->fail, status, 0, side, price, qty);
            b->fail.anonymous = 1;
            return status;
        }
        lob_book_record_trade(b, 1 - side, price, qty);
    }
    lvl->anon -= qty;
    lvl->qty -= qty;
    *out_left = lvl->anon;
    b->sig.dirty |= lob_book_level_watched(b, level);
    if (lvl->anon == 0 && lvl->count == 0) lob_book_drop_level(b, level);
    return LOB_OK;
}

/* Does anonymous qty rest at (side, price)? */
static inline int lob_book_has_anon(const lob_book *b, int side, int64_t price) {
    uint32_t level;
    if ((unsigned)side > 1) return 0;
    level = lob_book_level_of(b, side, price);
    return level != LOB_NIL && b->levels[level].anon > 0;
}

/* The anonymous qty at (side, price) becomes qty (>= 0): an ANON event. */
static inline int lob_book_set_anon(lob_book *b, int side, int64_t price, int64_t qty) {
    uint32_t level;
    int64_t current = 0, left;
    if ((unsigned)side > 1) return lob_fail(&b->fail, LOB_E_SIDE, 0, side, price, qty);
    if (qty < 0) {
        lob_fail(&b->fail, LOB_E_ANON, 0, side, price, qty);
        b->fail.anonymous = 1;
        return LOB_E_ANON;
    }
    level = lob_book_level_of(b, side, price);
    if (level != LOB_NIL) current = b->levels[level].anon;
    if (qty > current) return lob_book_seed(b, side, price, qty - current);
    if (qty < current) return lob_book_draw(b, side, price, current - qty, 0, &left);
    return LOB_OK;
}

/* ------------------------------------------------------------------ */
/* One operation with its clock and signals: the body of every event of a
 * batch and of every per-call method (which passes its arguments as an
 * event).
 *
 * ev->kind: an event kind (1-8) or LOB_OP_*.  ev->ts: the event's time (the
 * clock moves to it unless it is older).  draw: a CANCEL / REDUCE / EXECUTE
 * of an unknown id takes its qty from the anonymous qty at (side, price)
 * when some rests there (batches; the per-call methods have no price to go
 * by).  *out: the qty the per-call method returns.  Fields are read in each
 * case, so an event costs only the loads it needs. */
LOB_INLINE int lob_book_op(lob_book *b, const lob_event *ev, int draw, int64_t *out) {
    int status, mode = LOB_AFTER_FLOW;
    int64_t before = b->sig.ts, ts = ev->ts;
    if (ts > before) b->sig.ts = ts;
    switch (ev->kind) {
    case LOB_ADD:
        status = lob_book_add(b, ev->order_id, ev->side, ev->price, ev->qty);
        break;
    case LOB_CANCEL:
        status = lob_book_cancel(b, ev->order_id, out);
        if (status == LOB_E_UNKNOWN && draw && lob_book_has_anon(b, ev->side, ev->price))
            status = lob_book_draw(b, ev->side, ev->price, ev->qty, 0, out);
        break;
    case LOB_EXECUTE:
        status = lob_book_execute(b, ev->order_id, ev->qty, out);
        if (status == LOB_E_UNKNOWN && draw && lob_book_has_anon(b, ev->side, ev->price))
            status = lob_book_draw(b, ev->side, ev->price, ev->qty, 1, out);
        break;
    case LOB_REDUCE:
        status = lob_book_reduce(b, ev->order_id, ev->qty, out);
        if (status == LOB_E_UNKNOWN && draw && lob_book_has_anon(b, ev->side, ev->price))
            status = lob_book_draw(b, ev->side, ev->price, ev->qty, 0, out);
        break;
    case LOB_MODIFY:
        status = lob_book_modify(b, ev->order_id, ev->price, ev->qty);
        break;
    case LOB_TRADE:
        status = lob_book_trade(b, ev->side, ev->price, ev->qty);
        break;
    case LOB_CLEAR:
        lob_book_clear(b);
        status = LOB_OK;
        break;
    case LOB_ANON:
        status = lob_book_set_anon(b, ev->side, ev->price, ev->qty);
        mode = LOB_AFTER_STATE;
        break;
    case LOB_OP_SEED:
        status = lob_book_seed(b, ev->side, ev->price, ev->qty);
        mode = LOB_AFTER_STATE;
        break;
    case LOB_OP_DRAW:
        status = lob_book_draw(b, ev->side, ev->price, ev->qty, 0, out);
        break;
    case LOB_OP_DRAW_EXECUTE:
        status = lob_book_draw(b, ev->side, ev->price, ev->qty, 1, out);
        break;
    default:
        status = lob_fail(&b->fail, LOB_E_KIND, ev->order_id, ev->side, ev->price, ev->qty);
    }
    if (status) {
        b->fail.kind = ev->kind;
        b->sig.ts = before;
        return status;
    }
    lob_book_after(b, mode);
    return LOB_OK;
}

LOB_INLINE int lob_book_apply(lob_book *b, const lob_event *ev) {
    int64_t out;
    return lob_book_op(b, ev, 1, &out);
}

/* The per-call form: one operation from its arguments (no anonymous draws). */
LOB_INLINE int lob_book_call(lob_book *b, int op, uint64_t order_id, int side, int64_t price, int64_t qty,
                                int64_t ts, int64_t *out) {
    lob_event ev;
    ev.ts = ts;
    ev.kind = (uint8_t)op;
    ev.side = (int8_t)(side < -128 || side > 127 ? -1 : side);
    ev.order_id = order_id;
    ev.price = price;
    ev.qty = qty;
    return lob_book_op(b, &ev, 0, out);
}

#endif /* LOB_BOOK_H */
