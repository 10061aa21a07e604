"""NumPy structured dtypes of lobcore's arrays."""
from typing import Any

import numpy as np

__all__ = ["EVENT_DTYPE", "FEATURE_DTYPE", "SIGNAL_FIELDS", "FILL_DTYPE", "ORDER_DTYPE", "REPORT_DTYPE", "SELF_TRADE_DTYPE",
           "SIM_FILL_DTYPE", "feature_dtype"]

#: One book event (see lob.EventKind). For MODIFY, price/qty are the new
#: values; for TRADE, side is the aggressor's and order_id is ignored; for
#: CLEAR only ts counts.  Packed, 34 bytes a row with no padding, so equal
#: streams are equal bytes (NumPy leaves padding bytes uninitialised when it
#: copies, concatenates or indexes structured arrays); C reads it as a packed
#: struct (unaligned loads cost nothing measurable on x86-64 and ARM64).
EVENT_DTYPE = np.dtype(
    [
        ("ts", "<i8"),        # nanoseconds (since midnight or the epoch: the source's clock)
        ("kind", "u1"),
        ("side", "i1"),
        ("order_id", "<u8"),
        ("price", "<i8"),     # the caller's integer price unit
        ("qty", "<i8"),       # shares / contracts
    ],
)


#: The signal fields of a feature row (signals=True), after the depth arrays;
#: ofi_levels (shape (M,)) follows ofi when the book keeps M > 1 levels.
SIGNAL_FIELDS = ("ofi", "ofi_levels", "trade_imbalance", "volume_delta_ewm", "rolling_vwap",
                 "vwap_deviation_bps", "run_qty", "absorbed_bid", "absorbed_ask", "run_levels")


def feature_dtype(depth: int = 0, signals: bool = False, ofi_levels: int = 1) -> np.dtype:
    """The row of OrderBook.apply(events, depth, signals=...): top of book and
    signals after each event, plus `depth` levels a side (best first, padded
    with 0).

    Packed, C writes it by offset.  ts, best_bid, best_bid_qty, best_ask,
    best_ask_qty (int64; price 0 with qty 0 for an empty side), microprice,
    imbalance (float64, top level, nan where undefined), volume_delta
    (int64), then bid_price, bid_qty, ask_price, ask_qty, each int64 of shape
    (depth,).  With signals: ofi (int64, saturated at the int64 bounds),
    ofi_levels (int64, shape (ofi_levels,), only when ofi_levels > 1),
    trade_imbalance, volume_delta_ewm, rolling_vwap, vwap_deviation_bps
    (float64), run_qty, absorbed_bid, absorbed_ask (int64), run_levels
    (int32): see docs/signals.md.
    """
    depth = int(depth)
    ofi_levels = int(ofi_levels)
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    if not 1 <= ofi_levels <= 10:
        raise ValueError(f"ofi_levels must be 1 to 10, got {ofi_levels}")
    fields: list[tuple[Any, ...]] = [
        ("ts", "<i8"),
        ("best_bid", "<i8"),
        ("best_bid_qty", "<i8"),
        ("best_ask", "<i8"),
        ("best_ask_qty", "<i8"),
        ("microprice", "<f8"),
        ("imbalance", "<f8"),
        ("volume_delta", "<i8"),
    ]
    if depth:
        fields += [(name, "<i8", (depth,)) for name in ("bid_price", "bid_qty", "ask_price", "ask_qty")]
    if signals:
        fields.append(("ofi", "<i8"))
        if ofi_levels > 1:
            fields.append(("ofi_levels", "<i8", (ofi_levels,)))
        fields += [("trade_imbalance", "<f8"), ("volume_delta_ewm", "<f8"), ("rolling_vwap", "<f8"),
                   ("vwap_deviation_bps", "<f8"), ("run_qty", "<i8"), ("absorbed_bid", "<i8"),
                   ("absorbed_ask", "<i8"), ("run_levels", "<i4")]
    return np.dtype(fields)


#: OrderBook.apply's row with depth=0; see feature_dtype for depth > 0.
FEATURE_DTYPE = feature_dtype(0)


#: One fill of MatchingEngine (Report.fills), in execution order: the taker,
#: the resting maker it traded against, the maker's price, the qty, and the
#: maker's qty left after the fill, visible + hidden (0: it left the book).  Packed, 40 bytes.
FILL_DTYPE = np.dtype(
    [
        ("taker_id", "<u8"),
        ("maker_id", "<u8"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("maker_remaining", "<i8"),
    ]
)


#: One request of MatchingEngine.submit_many.  kind: 1 limit, 2 market, 3
#: cancel, 4 modify.  tif: 0 GTC, 1 IOC, 2 FOK.  flags: bit 0 post only.
#: display_qty: 0 for a plain order, else an iceberg's visible slice (GTC
#: limits only).  owner: 0 for none, else the account for self-trade
#: prevention; stp: its mode, an index into lob.STP_MODES (0 cancel_taker,
#: 1 cancel_maker, 2 cancel_both, 3 decrement).  Packed, 53 bytes.
ORDER_DTYPE = np.dtype(
    [
        ("ts", "<i8"),
        ("kind", "u1"),
        ("side", "i1"),
        ("tif", "u1"),
        ("flags", "u1"),
        ("order_id", "<u8"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("display_qty", "<i8"),
        ("owner", "<u8"),
        ("stp", "u1"),
    ]
)

#: One self-trade that MatchingEngine prevented (Report.self_trades,
#: submit_many(..., self_trades=True)): the taker, the resting maker of the
#: same owner, the qty taken off each by the taker's stp mode, and the
#: maker's visible + hidden qty left (0: it left the book).  Packed, 40 bytes.
SELF_TRADE_DTYPE = np.dtype(
    [
        ("taker_id", "<u8"),
        ("maker_id", "<u8"),
        ("taker_removed", "<i8"),
        ("maker_removed", "<i8"),
        ("maker_remaining", "<i8"),
    ]
)

#: One row per request of MatchingEngine.submit_many.  status: index into
#: lob.OUTCOMES ("filled", "partial", "resting", "cancelled", "rejected").
REPORT_DTYPE = np.dtype(
    [
        ("status", "u1"),
        ("filled", "<i8"),
        ("remaining", "<i8"),
        ("cancelled", "<i8"),
        ("first_fill", "<i8"),
        ("n_fills", "<i8"),
    ]
)

#: One fill of an own order in lob.Simulator (sim.fills), in time order: ts
#: (venue time, ns), the own order_id, its side, the price (the resting
#: order's: the own order's own price when it was the maker), qty,
#: liquidity (0 maker, 1 taker), queue_ahead (qty resting ahead of the own
#: order at its level when a maker fill happened, anonymous qty included;
#: 0 for a taker fill) and mid (the book's mid just before the fill, nan
#: when a side was empty).  Packed, 50 bytes.
SIM_FILL_DTYPE = np.dtype(
    [
        ("ts", "<i8"),
        ("order_id", "<u8"),
        ("side", "i1"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("liquidity", "u1"),
        ("queue_ahead", "<i8"),
        ("mid", "<f8"),
    ]
)
