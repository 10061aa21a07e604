"""`lob exec-sim` (parent-order strategies side by side on a real replay) and
`lob calc` (the value-recovery calculator); lob.cli registers them.

    lob exec-sim FILE --side buy --qty N --start T --horizon 60s \\
        --strategies market,passive,slices --latency 500us [--symbol S] [--json] [--plot OUT.png]
    lob calc --monthly-volume USD --bps N
    lob calc --monthly-volume USD --from-sim REPORT.json

Refusals are raised (lob.cli.Refused, ValueError, OSError, ...); lob.cli's
main() turns them into one line and a non-zero exit.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.util
import json
import math
import pathlib
import re
from typing import Any, Callable, Optional

import numpy as np
import numpy.typing as npt

__all__ = ["register", "exec_sim", "calc", "parse_start", "load_events"]

_DAY_NS = 86_400_000_000_000


def register(sub: Any) -> None:
    """Add `exec-sim` and `calc` to the `lob` command's subparsers."""
    from lob.cli import _int_between, duration_ns
    from lob.sim import STRATEGIES

    p = sub.add_parser(
        "exec-sim", help="run a parent order as market / passive / slices on a replay and compare them",
        description="Replay an exchange file with your parent order in the book's real FIFO queues "
                    "(lob.Simulator) and print each strategy side by side: filled, average price, slippage "
                    "against the arrival mid, spread captured, maker share, fills and markouts after 1, 10 and "
                    "60 s. A LOBSTER message file replays as the faithful stream of its pair (its orderbook "
                    "file beside it, or --orderbook); an ITCH file with several stocks needs --symbol.")
    p.add_argument("file", help="the message file (.csv LOBSTER, .itch/.gz ITCH, .dbn/.dbn.zst DBN)")
    p.add_argument("--format", choices=["lobster", "itch", "dbn"], help="default: from the file's first bytes")
    p.add_argument("--side", required=True, choices=["buy", "sell"])
    p.add_argument("--qty", required=True, type=_int_between(1, (1 << 62)), help="shares or contracts")
    p.add_argument("--start", required=True,
                   help="when the parent starts: HH:MM:SS[.f] (time of day; DBN: of the file's first UTC day), "
                        "+DURATION or DURATION after the first event (e.g. +30s, 1.5m), or ns of the file's clock")
    p.add_argument("--horizon", type=duration_ns, default=60_000_000_000,
                   help="how long it works before the rest goes as a market order (default 60s)")
    p.add_argument("--strategies", default=",".join(STRATEGIES),
                   help=f"comma-separated, of {', '.join(STRATEGIES)} (default all)")
    p.add_argument("--slices", type=_int_between(1, 10_000), default=10, help="children of 'slices' (default 10)")
    p.add_argument("--latency", type=duration_ns, default=0,
                   help="from sending an order or cancel to the venue (default 0), e.g. 500us")
    p.add_argument("--symbol", help="ITCH: the stock; DBN: the instrument_id")
    p.add_argument("--orderbook", help="LOBSTER: the orderbook file (default: the sibling _orderbook_ file)")
    p.add_argument("--json", action="store_true", help="print the reports as JSON (for lob calc --from-sim)")
    p.add_argument("--plot", metavar="OUT.png", help="draw the session with the own orders, fills and markouts")
    p.set_defaults(func=exec_sim)

    c = sub.add_parser(
        "calc", help="the value-recovery calculator: annual USD saved by trading N bps better",
        description="Annual USD recovered = monthly volume x 12 x bps / 10,000, with the monthly and per-fill "
                    "figures. --from-sim takes the bps from an `lob exec-sim --json` report: the slippage of "
                    "'market' minus that of the best other strategy of the same run.")
    c.add_argument("--monthly-volume", type=float, required=True, metavar="USD", help="USD traded a month")
    how = c.add_mutually_exclusive_group(required=True)
    how.add_argument("--bps", type=float, help="basis points saved per USD traded")
    how.add_argument("--from-sim", metavar="REPORT.json", help="an `lob exec-sim --json` output")
    c.add_argument("--fill-size", type=float, metavar="USD",
                   help="USD per fill for the per-fill figure (default with --from-sim: the best strategy's "
                        "average fill value, price x qty in the instrument's units: for futures give --fill-size "
                        "with the contract multiplier applied)")
    c.set_defaults(func=calc)


# ---- exec-sim

def parse_start(text: str, first_ts: int, epoch: bool) -> int:
    """--start as ns of the file's clock: an integer is taken as it is;
    HH:MM:SS[.f] is a time of day (ITCH and LOBSTER count ns from midnight;
    for DBN's epoch ns, of the UTC day of the first event); a duration
    (+30s, 30s, 1.5m) is after the first event."""
    from lob.cli import duration_ns

    value = text.strip()
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    clock = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?", value)
    if clock:
        hours, minutes, seconds, fraction = clock.groups()
        if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
            raise ValueError(f"--start {text!r}: not a time of day")
        ns = ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1_000_000_000
        ns += int((fraction or "0").ljust(9, "0"))
        return first_ts - first_ts % _DAY_NS + ns if epoch else ns
    try:
        return first_ts + duration_ns(value[1:] if value.startswith("+") else value)
    except argparse.ArgumentTypeError:
        raise ValueError(f"--start {text!r}: give HH:MM:SS[.f], +DURATION (e.g. +30s) or ns") from None


def load_events(args: argparse.Namespace) -> tuple[npt.NDArray[np.void], str, int, str]:
    """(events, format, price scale, what) of the file of `args`: the stream
    the simulator replays, the integer price units per instrument unit, and
    a name for the header (the stock, the instrument, the pair)."""
    import lob.io
    from lob.cli import (DBN_PRICES, ITCH_PRICES, LOBSTER_PRICES, Refused, _no_symbol, dbn_instrument,
                         naming_dbn_symbol)
    from lob.errors import error
    from lob.replay import detect_format, read_dbn_file

    path = pathlib.Path(args.file)
    fmt = detect_format(path, args.format)
    if fmt == "lobster":
        orderbook = pathlib.Path(args.orderbook) if args.orderbook else path.with_name(
            path.name.replace("_message_", "_orderbook_"))
        if orderbook == path or not orderbook.exists():
            raise Refused(f"{path}: LOBSTER replays as the faithful stream of its pair: no orderbook file "
                          f"{orderbook.name} beside it (--orderbook FILE)", str(path))
        stream = lob.io.read_lobster_stream(path, orderbook)
        return stream.events, fmt, LOBSTER_PRICES[0], f"LOBSTER {path.name} with {orderbook.name}"
    if fmt == "dbn":
        instrument = dbn_instrument(path, args.symbol)
        with naming_dbn_symbol(path, instrument, "--symbol ID picks one"):
            events = read_dbn_file(path, instrument)
        what = f"Databento MBO {path.name}" + (f" instrument {instrument}" if instrument is not None else "")
        return events, fmt, DBN_PRICES[0], what
    parser = lob.io.ItchParser(source=str(path))
    books = lob.io.read_itch(path, symbols=[args.symbol] if args.symbol else None, parser=parser)
    if not sum(parser.counts.values()):
        raise error(28, source=str(path), detail="no ITCH 5.0 messages in the file")
    if args.symbol:
        if args.symbol not in books:
            _no_symbol(path, args.symbol, parser)
        symbol = args.symbol
    elif len(books) == 1:
        symbol = next(iter(books))
    elif not books:
        raise error(20, source=str(path), detail="no order events (only directory and system messages)")
    else:
        busiest = sorted(books, key=lambda s: -len(books[s]))
        raise Refused(f"{path}: {len(books):,} stocks have order events; --symbol picks one (busiest: "
                      f"{', '.join(busiest[:5])})", str(path))
    return books[symbol], fmt, ITCH_PRICES[0], f"ITCH {path.name} {symbol}"


def _clock(ts: Optional[int], epoch: bool) -> str:
    """ns of the file's clock as a time: HH:MM:SS.fffffffff (UTC for epoch ns)."""
    if ts is None:
        return "-"
    if epoch:
        moment = datetime.datetime.fromtimestamp(ts // 1_000_000_000, tz=datetime.timezone.utc)
        return f"{moment:%Y-%m-%d %H:%M:%S}.{ts % 1_000_000_000:09d}"
    day = ts % _DAY_NS
    return f"{day // 3_600_000_000_000:02d}:{day // 60_000_000_000 % 60:02d}:{day // 1_000_000_000 % 60:02d}." \
           f"{day % 1_000_000_000:09d}"


def _duration(ns: int) -> str:
    for unit, scale in (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)):
        if ns >= scale and ns % scale == 0:
            return f"{ns // scale}{unit}"
    return f"{ns}ns"


def _strategies(text: str) -> list[str]:
    from lob.cli import Refused
    from lob.sim import STRATEGIES

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in STRATEGIES]
    if unknown or not names:
        raise Refused(f"--strategies: {', '.join(unknown) or 'none given'} not known; choose from "
                      f"{', '.join(STRATEGIES)}")
    return list(dict.fromkeys(names))


def _plot_module() -> Any:
    """lob.plot when it is there (and its matplotlib), else a refusal."""
    from lob.cli import Refused

    if importlib.util.find_spec("lob.plot") is None:
        raise Refused("--plot: this lobcore has no lob.plot (the pictures module); leave --plot out")
    try:
        plot = importlib.import_module("lob.plot")
    except ImportError as exc:
        raise Refused(f"--plot: lob.plot cannot load ({exc}); pip install 'lobcore[plot]'") from None
    return plot


def exec_sim(args: argparse.Namespace) -> int:
    """`lob exec-sim FILE ...`: every strategy on its own replay of the file,
    side by side (or --json)."""
    import lob.sim

    names = _strategies(args.strategies)
    plot = _plot_module() if args.plot else None
    side = lob.sim.side_code(args.side)
    events, fmt, scale, what = load_events(args)
    if not len(events):
        raise ValueError(f"{args.file}: no events to replay")
    epoch = fmt == "dbn"
    first_ts = int(events["ts"][0])
    start = parse_start(args.start, first_ts, epoch)
    probe = lob.OrderBook()                          # one fitting book for every strategy
    probe.apply(events, record=False, on_error="skip")
    book = lob.OrderBook(allow_cross="crossed" in probe.last_rejected)
    reports = {name: lob.sim.execute(events, side, args.qty, start=start, horizon_ns=args.horizon, strategy=name,
                                     slices=args.slices, latency_ns=args.latency, book=book) for name in names}
    if args.json:
        print(json.dumps({"file": str(args.file), "format": fmt, "source": what, "side": args.side,
                          "qty": args.qty, "start": start, "horizon_ns": args.horizon, "latency_ns": args.latency,
                          "slices": args.slices, "price_scale": scale, "events": int(len(events)),
                          "strategies": {n: r.as_dict(scale) for n, r in reports.items()}}, indent=2,
                         allow_nan=False))
    else:
        print(_table(reports, what, args, start, scale, epoch))
    if plot is not None:
        _draw(plot, events, reports, scale, start, args, what)
        if not args.json:
            print(f"  plot          {args.plot}")
    return 0


def _table(reports: dict[str, Any], what: str, args: argparse.Namespace, start: int, scale: int,
           epoch: bool) -> str:
    from lob.replay import price_unit

    first = next(iter(reports.values()))
    prices = np.concatenate([r.fills["price"] for r in reports.values()] + [np.array([first.arrival_spread])])
    unit = price_unit(prices, scale, "")
    lines = [f"{what}: {args.side} {args.qty:,} from {_clock(start, epoch)}, horizon {_duration(args.horizon)}, "
             f"latency {_duration(args.latency) if args.latency else '0'}",
             f"  arrival mid {unit.show(first.arrival_mid, 1)}, spread {unit.show(first.arrival_spread)}"]

    def pct(x: float) -> str:
        return "-" if math.isnan(x) else f"{100 * x:.1f}%"

    def num(x: float, digits: int = 2) -> str:
        return "-" if x is None or math.isnan(x) else f"{x:,.{digits}f}"

    rows: list[tuple[str, Callable[[Any], str]]] = [
        ("filled", lambda r: f"{r.filled:,}"),
        ("avg price", lambda r: unit.show(r.avg_price, 2)),
        ("slippage (bps)", lambda r: num(r.slippage_bps)),
        ("spread captured", lambda r: num(r.spread_captured)),
        ("maker share", lambda r: pct(r.maker_share)),
        ("fills", lambda r: f"{len(r.fills):,}"),
        ("orders sent", lambda r: f"{len(r.orders):,}")]
    def markout(seconds: int) -> Callable[[Any], str]:
        return lambda r: num(r.markout_bps[seconds])

    for h in lob_markouts():
        rows.append((f"markout {h}s (bps)", markout(h)))
    rows += [("last fill", lambda r: _clock(r.end_ts, epoch).split(" ")[-1]),
             ("reconciled", lambda r: f"{r.reconciled:,}")]
    width = max(18, *(len(_clock(r.end_ts, epoch).split(" ")[-1]) + 2 for r in reports.values()))
    lines.append(f"  {'':<18}" + "".join(f"{name:>{width}}" for name in reports))
    for label, cell in rows:
        lines.append(f"  {label:<18}" + "".join(f"{cell(r):>{width}}" for r in reports.values()))
    lines.append("  slippage: against the arrival mid, positive a cost; spread captured: 0 paid the half-spread, "
                 "2 earned it; markouts: the mid after the last fill, positive good for the order")
    rejected = sum(first.rejected.values())
    if rejected:
        lines.append(f"  note          the book refused {rejected:,} feed events of the file "
                     f"({', '.join(f'{k} {v:,}' for k, v in first.rejected.items())})")
    return "\n".join(lines)


def lob_markouts() -> tuple[int, ...]:
    from lob.sim import MARKOUT_S

    return MARKOUT_S


def _draw(plot: Any, events: npt.NDArray[np.void], reports: dict[str, Any], scale: int, start: int,
          args: argparse.Namespace, what: str) -> None:
    import lob.sim

    ends = [r.end_ts for r in reports.values() if r.end_ts is not None] + [start + args.horizon]
    margin = max(args.horizon // 5, 1_000_000_000)
    t0 = max(int(events["ts"][0]), start - margin)
    t1 = min(int(events["ts"].max()), max(ends) + margin)
    orders = np.concatenate([r.orders for r in reports.values()])
    fills = np.concatenate([r.fills for r in reports.values()])
    plot.session(events, price_scale=scale, t0=t0, t1=max(t1, t0 + 1),
                 title=f"{what}: {args.side} {args.qty:,} ({', '.join(reports)})",
                 own_orders=orders[~orders["market"]], own_fills=fills,
                 markouts=lob.sim.markouts_for_plot(reports), out=args.plot)


# ---- calc

def calc(args: argparse.Namespace) -> int:
    """`lob calc`: the value-recovery arithmetic, from --bps or an exec-sim report."""
    import lob.sim
    from lob.cli import Refused

    fill_value = args.fill_size
    source = ""
    if args.from_sim:
        bps, fill_from_sim, source = _bps_from_report(args.from_sim)
        if fill_value is None:
            fill_value = fill_from_sim
    else:
        bps = args.bps
    if not math.isfinite(args.monthly_volume) or args.monthly_volume < 0:
        raise Refused(f"--monthly-volume must be a USD amount >= 0, got {args.monthly_volume}")
    if fill_value is not None and (not math.isfinite(fill_value) or fill_value < 0):
        raise Refused(f"--fill-size must be a USD amount >= 0, got {fill_value}")
    result = lob.sim.value_recovery(args.monthly_volume, bps, fill_value=fill_value)
    lines = [f"value recovered at {bps:,.2f} bps on {usd(result.monthly_volume, 0)} a month"]
    if source:
        lines.append(f"  bps           {source}")
    lines.append(f"  monthly       {usd(result.monthly)}   (monthly volume x bps / 10,000)")
    lines.append(f"  annual        {usd(result.annual)}   (monthly volume x 12 x bps / 10,000)")
    if result.per_fill is not None and result.fill_value is not None:
        lines.append(f"  per fill      {usd(result.per_fill, 4)}   (on a {usd(result.fill_value)} fill)")
    else:
        lines.append("  per fill      - (give --fill-size USD)")
    print("\n".join(lines))
    return 0


def usd(amount: float, decimals: int = 2) -> str:
    """$1,234.56, or -$1,234.56."""
    return f"{'-' if amount < 0 else ''}${abs(amount):,.{decimals}f}"


def _bps_from_report(name: str) -> tuple[float, Optional[float], str]:
    """(bps saved, the best strategy's average fill value, a line saying so)
    from an `lob exec-sim --json` report."""
    from lob.cli import Refused

    with open(name, encoding="utf-8") as f:
        try:
            report = json.load(f)
        except json.JSONDecodeError as exc:
            raise Refused(f"{name}: line {exc.lineno}: not JSON ({exc.msg}); give an `lob exec-sim --json` "
                          f"output", name) from None
        except UnicodeDecodeError as exc:
            raise Refused(f"{name}: byte offset {exc.start}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                          f"give an `lob exec-sim --json` output", name) from None
    strategies = report.get("strategies") if isinstance(report, dict) else None
    if not isinstance(strategies, dict):
        raise Refused(f"{name}: no 'strategies' object: not an `lob exec-sim --json` output", name)
    slips = {}
    for key, value in strategies.items():
        slip = value.get("slippage_bps") if isinstance(value, dict) else None
        if isinstance(slip, (int, float)) and not isinstance(slip, bool) and math.isfinite(slip):
            slips[key] = float(slip)
    if "market" not in slips:
        raise Refused(f"{name}: the report has no 'market' strategy with a slippage (run exec-sim with "
                      f"--strategies market,...)", name)
    others = {k: v for k, v in slips.items() if k != "market"}
    if not others:
        raise Refused(f"{name}: the report has no strategy besides 'market' with a slippage to compare", name)
    best = min(others, key=lambda k: others[k])
    bps = slips["market"] - others[best]
    fill_value = strategies[best].get("avg_fill_value")
    fill = float(fill_value) if isinstance(fill_value, (int, float)) and not isinstance(fill_value, bool) else None
    line = (f"from {name}: market {slips['market']:,.2f} bps, best other '{best}' {others[best]:,.2f} bps: "
            f"{bps:,.2f} bps saved")
    return bps, fill, line
