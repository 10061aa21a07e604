/* lob_signals.h: the book's clock and the signals it keeps per event.
 *
 * The definitions are the API contract's ("Time" and "Signals"); docs/signals.md
 * gives them with references.  This header holds the state and the operations
 * that need no book internals: recording a trade into the trade-flow
 * signals, the decayed volume delta, the rolling-VWAP ring.  lob_book.h calls
 * them, and computes order-flow imbalance and absorption from its ladders
 * after every event (lob_book_after).
 *
 * Nothing here allocates on the hot path: the VWAP ring and the run's price
 * list grow in lob_sig_reserve, which every trade path calls before it
 * changes anything, so a refused event changes nothing.
 */
#ifndef LOB_SIGNALS_H
#define LOB_SIGNALS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "lob_i128.h"
#include "lob_status.h"

#define LOB_OFI_MAX 10

typedef struct {
    int64_t ts;
    int64_t price;
    int64_t qty;
} lob_sig_trade;

typedef struct lob_signals {
    int64_t ts;                 /* the clock: the latest ts the book has seen */
    int dirty;                  /* bit 1 << side: an operation changed a watched level of that side */
    /* the ladder key (price, ~price for asks) of top_price[side][ofi_levels - 1]:
       every level operation asks whether it is watched, so one load and one
       compare answer it (the empty level's key is INT64_MIN: all watched) */
    int64_t watch_key[2];
    double vwap;                /* the session vwap and the trade imbalance, as of flow_stale's last clear */
    double trade_imbalance;
    int flow_stale;             /* a trade came since vwap and trade_imbalance were computed */
    int ofi_levels;             /* M: levels of multi-level OFI, 1..LOB_OFI_MAX */
    lob_i128 ofi[LOB_OFI_MAX];  /* sum of e(n) at the m-th best level */
    /* the M best levels of each side after the last event: OFI's "before";
       an empty level is price INT64_MIN (bid) / INT64_MAX (ask) with qty 0
       (the contract's -inf / +inf: with qty 0 the sentinels compare alike) */
    int64_t top_price[2][LOB_OFI_MAX];
    int64_t top_qty[2][LOB_OFI_MAX];
    /* volume delta decayed with halflife_ns: ewm at time ewm_ts */
    int64_t halflife_ns;
    double ewm;
    int64_t ewm_ts;
    /* rolling VWAP over window_ns: the window's trades in a ring */
    int64_t window_ns;
    lob_sig_trade *ring;
    size_t ring_cap, ring_head, ring_n;
    lob_i128 win_notional;
    lob_i128 win_qty;
    /* aggressor runs: trades with one ts and one aggressor side.  The clock
       only moves forward, so a trade extends the run exactly when the clock
       is still at run_ts (no event of another time came between) */
    int run_open;               /* 0 after reset_flow and before an engine taker: a new run starts */
    int run_side;               /* -1 before any run */
    int64_t run_ts;
    int64_t run_qty;
    int64_t run_levels;         /* distinct prices, listed in run_prices */
    int64_t *run_prices;
    size_t run_prices_cap;
    int64_t sweeps;
    /* absorption: qty traded at the best price since it became the best (the
       best is top_price[side][0] while top_qty[side][0] > 0) */
    int64_t absorbed[2];
} lob_signals;

/* a += pos - neg, for two sums of non-negative int64 (each < 2**64) */
static inline void lob_i128_add_diff(lob_i128 *a, uint64_t pos, uint64_t neg) {
    lob_i128_add(a, pos, 0);
    lob_i128_add(a, 0 - neg, neg ? -1 : 0);
}

static inline void lob_i128_add64(lob_i128 *a, int64_t x) {
    lob_i128_add(a, (uint64_t)x, x < 0 ? -1 : 0);
}

static inline void lob_i128_sub64(lob_i128 *a, int64_t x) {
    /* a += -x, with -x taken in 128 bits (x may be INT64_MIN) */
    lob_i128_add(a, 0 - (uint64_t)x, x > 0 ? -1 : 0);
}

/* The value clamped to int64 (the batch rows' int64 fields). */
static inline int64_t lob_i128_to_int64_sat(const lob_i128 *a) {
    if (((int64_t)a->lo >> 63) == a->hi) return (int64_t)a->lo;   /* fits: hi is lo's sign */
    return a->hi < 0 ? INT64_MIN : INT64_MAX;
}

static inline void lob_sig_empty_top(lob_signals *s) {
    int m;
    for (m = 0; m < LOB_OFI_MAX; m++) {
        s->top_price[0][m] = INT64_MIN;
        s->top_price[1][m] = INT64_MAX;
        s->top_qty[0][m] = 0;
        s->top_qty[1][m] = 0;
    }
    s->watch_key[0] = s->watch_key[1] = INT64_MIN;
}

/* Zero the flow signals (reset_flow); the OFI baseline and the clock stay. */
static inline void lob_sig_reset(lob_signals *s) {
    int m;
    for (m = 0; m < LOB_OFI_MAX; m++) lob_i128_zero(&s->ofi[m]);
    s->ewm = 0.0;
    s->ewm_ts = s->ts;
    s->ring_head = 0;
    s->ring_n = 0;
    lob_i128_zero(&s->win_notional);
    lob_i128_zero(&s->win_qty);
    s->run_open = 0;
    s->run_side = -1;
    s->run_ts = 0;
    s->run_qty = 0;
    s->run_levels = 0;
    s->sweeps = 0;
    s->absorbed[0] = 0;
    s->absorbed[1] = 0;
}

static inline void lob_sig_init(lob_signals *s, int ofi_levels, int64_t window_ns, int64_t halflife_ns) {
    s->ts = 0;
    s->dirty = 0;
    s->ofi_levels = ofi_levels;
    s->halflife_ns = halflife_ns;
    s->window_ns = window_ns;
    s->ring = NULL;
    s->ring_cap = 0;
    s->run_prices = NULL;
    s->run_prices_cap = 0;
    lob_sig_empty_top(s);
    lob_sig_reset(s);
}

static inline void lob_sig_free(lob_signals *s) {
    free(s->ring);
    free(s->run_prices);
    s->ring = NULL;
    s->run_prices = NULL;
    s->ring_cap = s->run_prices_cap = 0;
    s->ring_n = s->ring_head = 0;
}

/* Room for `trades` more trades in the VWAP ring and `prices` more distinct
 * prices in the current run, so recording them cannot fail. */
static inline int lob_sig_reserve(lob_signals *s, size_t trades, size_t prices) {
    size_t need, cap, i;
    if (s->window_ns > 0 && s->ring_n + trades > s->ring_cap) {
        lob_sig_trade *grown;
        need = s->ring_n + trades;
        cap = s->ring_cap ? s->ring_cap : 64;
        while (cap < need) cap *= 2;
        grown = (lob_sig_trade *)malloc(cap * sizeof *grown);
        if (!grown) return LOB_E_NOMEM;
        for (i = 0; i < s->ring_n; i++) grown[i] = s->ring[(s->ring_head + i) % s->ring_cap];
        free(s->ring);
        s->ring = grown;
        s->ring_cap = cap;
        s->ring_head = 0;
    }
    need = (size_t)s->run_levels + prices;
    if (need > s->run_prices_cap) {
        int64_t *grown;
        cap = s->run_prices_cap ? s->run_prices_cap : 16;
        while (cap < need) cap *= 2;
        grown = (int64_t *)realloc(s->run_prices, cap * sizeof *grown);
        if (!grown) return LOB_E_NOMEM;
        s->run_prices = grown;
        s->run_prices_cap = cap;
    }
    return LOB_OK;
}

/* Drop the ring's trades that left the window (ts <= clock - window). */
static inline void lob_sig_evict(lob_signals *s) {
    while (s->ring_n) {
        const lob_sig_trade *t = &s->ring[s->ring_head];
        /* the clock never runs behind a recorded trade: the difference fits uint64 */
        if ((uint64_t)s->ts - (uint64_t)t->ts < (uint64_t)s->window_ns) break;
        lob_i128_add_mul(&s->win_notional, t->price, -t->qty);
        lob_i128_sub64(&s->win_qty, t->qty);
        s->ring_head = s->ring_head + 1 == s->ring_cap ? 0 : s->ring_head + 1;
        s->ring_n--;
    }
}

/* A trade at the clock's time: aggressor 0 (buy), 1 (sell) or 2 (none).
 * lob_sig_reserve(s, 1, 1) must have succeeded. */
LOB_INLINE void lob_sig_trade_at(lob_signals *s, int aggressor, int64_t price, int64_t qty) {
    int64_t i;
    if (s->window_ns > 0) {
        lob_sig_trade *t;
        lob_sig_evict(s);
        t = &s->ring[(s->ring_head + s->ring_n) % s->ring_cap];
        t->ts = s->ts;
        t->price = price;
        t->qty = qty;
        s->ring_n++;
        lob_i128_add_mul(&s->win_notional, price, qty);
        lob_i128_add64(&s->win_qty, qty);
    }
    if (aggressor > 1) return;           /* no aggressor: not in runs, deltas or absorption */
    if (s->halflife_ns > 0) {
        if (s->ts != s->ewm_ts) {
            s->ewm *= exp2(-(double)((uint64_t)s->ts - (uint64_t)s->ewm_ts) / (double)s->halflife_ns);
            s->ewm_ts = s->ts;
        }
        s->ewm += aggressor == 0 ? (double)qty : -(double)qty;
    }
    /* absorption: a sell hits the bid, a buy lifts the ask, at the best price */
    if (s->top_qty[1 - aggressor][0] > 0 && price == s->top_price[1 - aggressor][0])
        s->absorbed[1 - aggressor] += qty;
    if (!(s->run_open && s->ts == s->run_ts && aggressor == s->run_side)) {   /* a new run */
        s->run_open = 1;
        s->run_ts = s->ts;
        s->run_side = aggressor;
        s->run_qty = 0;
        s->run_levels = 0;
    }
    s->run_qty += qty;
    for (i = s->run_levels - 1; i >= 0; i--)
        if (s->run_prices[i] == price) break;
    if (i < 0) {
        s->run_prices[s->run_levels++] = price;
        if (s->run_levels == 2) s->sweeps++;
    }
}

/* The decayed volume delta at the clock; `delta` (buy - sell) when halflife is 0. */
static inline double lob_sig_ewm(const lob_signals *s, int64_t delta) {
    if (s->halflife_ns <= 0) return (double)delta;
    if (s->ts == s->ewm_ts) return s->ewm;
    return s->ewm * exp2(-(double)((uint64_t)s->ts - (uint64_t)s->ewm_ts) / (double)s->halflife_ns);
}

/* VWAP of the window's trades (nan when none); evicts first. */
static inline double lob_sig_rolling_vwap(lob_signals *s) {
    double qty;
    lob_sig_evict(s);
    qty = lob_i128_to_double(&s->win_qty);
    if (qty == 0.0) return NAN;
    return lob_i128_to_double(&s->win_notional) / qty;
}

#endif /* LOB_SIGNALS_H */
