"""The `lob` command (also `python -m lob`)."""
import argparse
import math
import sys
import time

import numpy as np

import lob
from lob.kinds import ADD, CANCEL, CLEAR, EXECUTE, MODIFY, REDUCE, TRADE


def replay_calls(book, events, sample_signals=True):
    """Apply an EVENT_DTYPE array one call at a time; returns per-event
    microprice, top-level imbalance and volume delta (NumPy arrays), or None
    when sample_signals is false."""
    n = len(events)
    if sample_signals:
        micro = np.empty(n)
        imb = np.empty(n)
        vdelta = np.empty(n, dtype=np.int64)
    add, cancel, execute, reduce_, modify, trade = (
        book.add, book.cancel, book.execute, book.reduce, book.modify, book.trade)
    columns = zip(events["kind"].tolist(), events["side"].tolist(), events["order_id"].tolist(),
                  events["price"].tolist(), events["qty"].tolist())
    for i, (kind, side, oid, price, qty) in enumerate(columns):
        if kind == ADD:
            add(oid, side, price, qty)
        elif kind == CANCEL:
            cancel(oid)
        elif kind == EXECUTE:
            execute(oid, qty)
        elif kind == REDUCE:
            reduce_(oid, qty)
        elif kind == MODIFY:
            modify(oid, price, qty)
        elif kind == TRADE:
            trade(side, price, qty)
        elif kind == CLEAR:
            book.clear()
        else:
            raise ValueError(f"event {i}: unknown kind {kind}")
        if sample_signals:
            micro[i] = book.microprice()
            imb[i] = book.imbalance()
            vdelta[i] = book.volume_delta
    return (micro, imb, vdelta) if sample_signals else None


class RunningStats:
    """Mean, std, min and max of a float stream, chunk by chunk (nan skipped)."""

    def __init__(self, name):
        self.name, self.n, self.total, self.squares = name, 0, 0.0, 0.0
        self.low, self.high = math.inf, -math.inf

    def update(self, values):
        values = values[np.isfinite(values)]
        if len(values):
            self.n += len(values)
            self.total += float(values.sum())
            self.squares += float((values * values).sum())
            self.low = min(self.low, float(values.min()))
            self.high = max(self.high, float(values.max()))

    def __str__(self):
        if not self.n:
            return f"  {self.name:<13} (undefined throughout)"
        mean = self.total / self.n
        std = math.sqrt(max(self.squares / self.n - mean * mean, 0.0))
        return (f"  {self.name:<13} mean {mean:14.4f}  std {std:12.4f}  "
                f"min {self.low:14.4f}  max {self.high:14.4f}")


CHUNK = 1 << 16


def demo(args) -> int:
    events = lob.synth.generate(args.events, seed=args.seed)
    book = lob.OrderBook()
    chunk = np.empty(CHUNK, dtype=lob.FEATURE_DTYPE)
    stats = [RunningStats("microprice"), RunningStats("imbalance"), RunningStats("volume delta")]
    start = time.perf_counter()
    for lo in range(0, len(events), CHUNK):
        # as a live feed would: one reused buffer, signals folded in per chunk
        rows = book.apply(events[lo:lo + CHUNK], out=chunk)
        stats[0].update(rows["microprice"])
        stats[1].update(rows["imbalance"])
        stats[2].update(rows["volume_delta"].astype(float))
    batch_s = time.perf_counter() - start
    book.check()
    # the same stream again through the per-call API, reading signals after each event
    calls_book = lob.OrderBook()
    start = time.perf_counter()
    replay_calls(calls_book, events)
    calls_s = time.perf_counter() - start
    if calls_book.snapshot().tobytes() != book.snapshot().tobytes():
        raise SystemExit("demo: the batch and per-call replays disagree (a bug; please report it)")
    n = max(len(events), 1)
    kinds = np.bincount(events["kind"], minlength=8)
    print(f"lobcore {lob.__version__}: replayed {len(events):,} synthetic L3 events (lob.synth, seed {args.seed})")
    print(f"  mix           {', '.join(f'{lob.EventKind(k).name.lower()} {kinds[k]:,}' for k in range(1, 8) if kinds[k])}")
    print(f"  batch apply   {batch_s:.3f} s, {len(events) / batch_s:,.0f} events/s, {batch_s / n * 1e9:.0f} ns/event "
          f"(chunks of 65,536; signals after every event, folded into the statistics below)")
    print(f"  per-call API  {calls_s:.3f} s, {len(events) / calls_s:,.0f} events/s, {calls_s / n * 1e9:.0f} ns/event "
          f"(a Python call per event, then microprice(), imbalance(), volume_delta)")
    print(f"  final book    {len(book):,} orders, {book.level_count(lob.BID)} bid / "
          f"{book.level_count(lob.ASK)} ask levels")
    print(f"  top of book   bid {book.best_bid} x {book.best_bid_qty}   ask {book.best_ask} x {book.best_ask_qty}"
          f"   spread {book.spread}   mid {book.mid}")
    depth = book.depth(5)
    print("  depth (5)     " + "  ".join(f"{p}x{q}" for p, q in zip(depth.bid_price, depth.bid_qty))
          + "  |  " + "  ".join(f"{p}x{q}" for p, q in zip(depth.ask_price, depth.ask_qty)))
    for line in stats:
        print(line)
    vwap = book.vwap
    print(f"  trade flow    {book.trade_count:,} trades, buy {book.buy_volume:,} / sell {book.sell_volume:,}, "
          f"vwap {vwap:.4f}" if not math.isnan(vwap) else "  trade flow    no trades")
    return 0


def lobster_check(args) -> int:
    from lob.io import check_lobster

    start = time.perf_counter()
    result = check_lobster(args.message_csv, args.orderbook_csv, max_mismatches=args.show)
    elapsed = time.perf_counter() - start
    print(f"{args.message_csv}: {result.total:,} rows, {result.levels} levels a side, replayed in {elapsed:.3f} s")
    for row, reason in result.rejected[: args.show]:
        print(f"  row {row}: the book refused the message ({reason})")
    for row, side, ours, theirs in result.mismatches:
        print(f"  row {row} {side}: book {ours}")
        print(f"  {'':>{len(str(row)) + 4}}   file {theirs}")
    print(f"matched {result.matched}/{result.total} rows, {result.resynced} resynced")
    return 0 if result.ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lob", description="lobcore: a C-level limit order book for Python")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="replay a synthetic L3 stream and print the book and signal statistics")
    p_demo.add_argument("--events", type=int, default=1_000_000, help="events to generate (default 1,000,000)")
    p_demo.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    p_demo.set_defaults(func=demo)
    p_check = sub.add_parser(
        "lobster-check", help="replay a LOBSTER message file and compare every orderbook row at every level")
    p_check.add_argument("message_csv")
    p_check.add_argument("orderbook_csv")
    p_check.add_argument("--show", type=int, default=5, help="mismatches to print (default 5)")
    p_check.set_defaults(func=lobster_check)
    p_version = sub.add_parser("version", help="print the version")
    p_version.set_defaults(func=lambda args: print(lob.__version__) or 0)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:   # `lob demo | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
