# The C core's declared surface (src/lob_book.h and the headers it includes):
# what the Python OrderBook, the batch loops, the matching engine, the ITCH
# parser, the generator and the simulator build on.  No Python objects, status
# codes out, the failure's context in lob_book.fail.
from libc.stdint cimport int64_t, uint64_t, uint32_t, int8_t, uint8_t

from lob._events cimport Event


cdef extern from "lob_status.h" nogil:
    enum:
        LOB_OK
        LOB_E_SIDE
        LOB_E_QTY
        LOB_E_QTY_ABOVE
        LOB_E_DUPLICATE
        LOB_E_UNKNOWN
        LOB_E_CROSSED
        LOB_E_NOMEM
        LOB_E_FULL
        LOB_E_KIND
        LOB_E_OVERFLOW
        LOB_E_TIF
        LOB_E_DISPLAY
        LOB_E_STP
        LOB_E_ANON
    bint LOB_FATAL(int code)
    ctypedef struct lob_failure:
        int code
        int kind
        int anonymous
        uint64_t order_id
        int64_t side
        int64_t price
        int64_t qty
        int64_t resting
        int64_t other
    int lob_fail(lob_failure *f, int code, uint64_t order_id, int64_t side, int64_t price, int64_t qty)


cdef extern from "lob_i128.h" nogil:
    ctypedef struct lob_i128:
        uint64_t lo
        int64_t hi
    void lob_i128_zero(lob_i128 *a)
    void lob_i128_add_mul(lob_i128 *a, int64_t x, int64_t y)
    double lob_i128_to_double(const lob_i128 *a)


cdef extern from "lob_idmap.h" nogil:
    ctypedef struct lob_idmap:
        uint64_t mask
        uint64_t count
    uint32_t LOB_NIL
    int lob_idmap_reserve_total(lob_idmap *m, uint64_t count)


cdef extern from "lob_ladder.h" nogil:
    ctypedef struct lob_ladder:
        int64_t *keys
        uint32_t *levels
        size_t n
        size_t cap
    int64_t lob_ladder_key(int side, int64_t price)


cdef extern from "lob_pxmap.h" nogil:
    ctypedef struct lob_pxmap:
        uint64_t count
    uint32_t lob_pxmap_find(const lob_pxmap *m, int64_t price)
    uint32_t LOB_PXMAP_EMPTY


cdef extern from "lob_signals.h" nogil:
    enum:
        LOB_OFI_MAX
    ctypedef struct lob_sig_trade:
        int64_t ts
        int64_t price
        int64_t qty
    ctypedef struct lob_signals:
        int64_t ts
        int dirty
        double vwap
        double trade_imbalance
        int flow_stale
        int ofi_levels
        lob_i128 ofi[10]
        int64_t top_price[2][10]
        int64_t top_qty[2][10]
        int64_t halflife_ns
        double ewm
        int64_t ewm_ts
        int64_t window_ns
        lob_sig_trade *ring
        size_t ring_cap, ring_head, ring_n
        lob_i128 win_notional
        lob_i128 win_qty
        int run_open
        int run_side
        int64_t run_ts
        int64_t run_qty
        int64_t run_levels
        int64_t *run_prices
        size_t run_prices_cap
        int64_t sweeps
        int64_t absorbed[2]
    int lob_sig_reserve(lob_signals *s, size_t trades, size_t prices)
    void lob_sig_trade_at(lob_signals *s, int aggressor, int64_t price, int64_t qty)
    int64_t lob_i128_to_int64_sat(const lob_i128 *a)


cdef extern from "lob_book.h" nogil:
    enum:
        LOB_BID
        LOB_ASK
        LOB_NO_AGGRESSOR
        LOB_OP_SEED
        LOB_OP_DRAW
        LOB_OP_DRAW_EXECUTE
        LOB_AFTER_FLOW
        LOB_AFTER_STATE
    ctypedef struct lob_order:
        uint64_t order_id
        int64_t qty
        uint32_t prev
        uint32_t next
        uint32_t level
        uint32_t flags
    ctypedef struct lob_level:
        int64_t price
        int64_t qty
        int64_t anon
        uint32_t head
        uint32_t tail
        uint32_t count
        uint32_t side
    ctypedef struct lob_book:
        lob_order *orders
        uint32_t orders_cap
        uint32_t orders_used
        uint32_t free_order
        lob_level *levels
        uint32_t levels_cap
        uint32_t levels_used
        uint32_t free_level
        lob_idmap ids
        lob_ladder ladder[2]
        lob_pxmap pxmap[2]
        uint32_t top_level[2]
        int allow_cross
        int busy
        int64_t flow_buy
        int64_t flow_sell
        int64_t flow_cross
        int64_t flow_trades
        int64_t flow_last_price
        int flow_has_last
        lob_i128 flow_notional
        lob_signals sig
        lob_failure fail

    void lob_book_zero(lob_book *b)
    int lob_book_init(lob_book *b, int allow_cross, int ofi_levels, int64_t window_ns, int64_t halflife_ns)
    void lob_book_free(lob_book *b)
    size_t lob_book_bytes(const lob_book *b)
    # reading
    uint32_t lob_book_find(const lob_book *b, uint64_t order_id)
    int64_t lob_book_best(const lob_book *b, int side)
    const lob_level *lob_book_level_at(const lob_book *b, int side, size_t m)
    void lob_book_touch(const lob_book *b, int side, int64_t *price, int64_t *qty)
    uint32_t lob_book_level_of(const lob_book *b, int side, int64_t price)
    double lob_book_side_qty(const lob_book *b, int side, size_t levels)
    double lob_microprice_of(int64_t bid, int64_t bid_qty, int64_t ask, int64_t ask_qty)
    double lob_imbalance_of(double bid_qty, double ask_qty)
    double lob_book_microprice(const lob_book *b)
    double lob_book_imbalance(const lob_book *b, size_t levels)
    double lob_book_mid(const lob_book *b)
    double lob_book_vwap(lob_book *b)
    double lob_book_trade_imbalance(lob_book *b)
    double lob_book_rolling_vwap(lob_book *b)
    double lob_book_vwap_deviation_bps(lob_book *b)
    double lob_vwap_deviation_of(double mid, double rv)
    double lob_book_volume_delta_ewm(const lob_book *b)
    double lob_book_absorption(const lob_book *b, int side)
    bint lob_event_traded(const Event *ev, int status)
    # memory and structure (the engine's matching loop)
    int lob_book_grow_orders(lob_book *b, uint64_t cap)
    int lob_book_reserve_order(lob_book *b)
    int lob_book_reserve_level(lob_book *b, int side)
    void lob_book_unlink(lob_book *b, uint32_t slot)
    void lob_book_remove(lob_book *b, uint32_t slot)
    int lob_book_requeue(lob_book *b, uint32_t slot, int64_t qty)
    int lob_book_flow_room(const lob_book *b, int aggressor, int64_t qty)
    void lob_book_record_trade(lob_book *b, int aggressor, int64_t price, int64_t qty)
    void lob_book_reset_flow(lob_book *b)
    void lob_book_after(lob_book *b, int mode)
    void lob_book_sync_signals(lob_book *b)
    # events
    int lob_book_add(lob_book *b, uint64_t order_id, int side, int64_t price, int64_t qty)
    int lob_book_cancel(lob_book *b, uint64_t order_id, int64_t *out_qty)
    int lob_book_reduce(lob_book *b, uint64_t order_id, int64_t qty, int64_t *out_left)
    int lob_book_execute(lob_book *b, uint64_t order_id, int64_t qty, int64_t *out_left)
    int lob_book_trade(lob_book *b, int side, int64_t price, int64_t qty)
    int lob_book_modify(lob_book *b, uint64_t order_id, int64_t price, int64_t qty)
    void lob_book_clear(lob_book *b)
    int lob_book_seed(lob_book *b, int side, int64_t price, int64_t qty)
    int lob_book_call(lob_book *b, int op, uint64_t order_id, int side, int64_t price, int64_t qty,
                      int64_t ts, int64_t *out)
    int lob_book_apply(lob_book *b, const Event *ev)


# The one place that marks a book busy while a loop runs on it without the
# GIL (every Python method of the book refuses then) and clears the mark.
cdef inline int core_enter(lob_book *b) except -1:
    if b.busy:
        raise RuntimeError("OrderBook is busy: another thread is running a batch on it")
    b.busy = 1
    return 0


cdef inline void core_leave(lob_book *b) noexcept:
    b.busy = 0


# The context of a failure, as keywords of lob.errors.error().
cdef inline dict failure_context(const lob_failure *f):
    return {"order_id": f.order_id, "side": f.side, "price": f.price, "qty": f.qty, "resting": f.resting,
            "other": f.other, "kind": f.kind, "anonymous": bool(f.anonymous)}
