"""`lob feed serve` and `lob feed listen`: an ITCH file over MoldUDP64, and a
listener that applies it to one book per stock (lob.feed)."""
import argparse
import sys


class _OneLineParser(argparse.ArgumentParser):
    """Bad arguments: one line on stderr and exit status 2, no usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message}\n")


def _float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    return value


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def register(subparsers) -> None:
    """Add `feed serve` and `feed listen` to the `lob` command's subparsers."""
    feed = subparsers.add_parser("feed", help="a live ITCH feed over MoldUDP64: serve a file, listen to a stream",
                                 description="MoldUDP64 (NASDAQ) with gap recovery: `serve` publishes an ITCH "
                                             "file and answers retransmission requests, `listen` applies the "
                                             "stream to one book per stock.")
    sub = feed.add_subparsers(dest="feed_command", required=True, parser_class=_OneLineParser)

    serve = sub.add_parser("serve", help="publish an ITCH 5.0 file as a MoldUDP64 stream and answer requests")
    serve.add_argument("file", help="ITCH 5.0 file (plain or gzip)")
    serve.add_argument("--port", type=_int, required=True, help="UDP port the stream goes to")
    serve.add_argument("--request-port", type=_int, required=True, help="UDP port of the re-request server")
    serve.add_argument("--host", default="127.0.0.1", help="address the stream goes to (default 127.0.0.1; "
                                                           "a multicast group works too)")
    serve.add_argument("--rate", type=_float, help="messages per second (default: as fast as possible)")
    serve.add_argument("--drop", type=_float, default=0.0, help="fraction of packets dropped on purpose (tests)")
    serve.add_argument("--reorder", type=_float, default=0.0, help="fraction of packets sent late (tests)")
    serve.add_argument("--duplicate", type=_float, default=0.0, help="fraction of packets sent twice (tests)")
    serve.add_argument("--seed", type=_int, default=0, help="seed of the drops (default 0)")
    serve.add_argument("--session", default="0000000001", help="MoldUDP64 session, <= 10 characters")
    serve.add_argument("--start-seq", type=_int, default=1,
                       help="first sequence number to send live (a restart; earlier ones are served on request)")
    serve.add_argument("--packet-size", type=_int, default=1400, help="most bytes per packet (default 1400)")
    serve.add_argument("--max-per-packet", type=_int, default=0, help="most messages per packet (default: fill)")
    serve.add_argument("--heartbeat", type=_float, default=1.0, help="seconds of silence before a heartbeat")
    serve.add_argument("--linger", type=_float, default=1.0,
                       help="seconds to keep sending end of session after the last request (default 1)")
    serve.set_defaults(func=serve_command, prog="feed serve")

    listen = sub.add_parser("listen", help="join a MoldUDP64 ITCH stream, recover what is lost, keep the books")
    listen.add_argument("--port", type=_int, required=True, help="UDP port the stream comes to")
    listen.add_argument("--request-port", type=_int, required=True, help="UDP port of the re-request server")
    listen.add_argument("--host", default="127.0.0.1", help="address to bind, or multicast group to join")
    listen.add_argument("--session", help="accept only this session (default: the first one seen)")
    listen.add_argument("--top", metavar="OUT.csv",
                        help="write symbol,best_bid,best_bid_qty,best_ask,best_ask_qty per stock at the end")
    listen.add_argument("--request-host", help="re-request server address (default: the stream's source)")
    listen.add_argument("--timeout", type=_float, help="stop after this many seconds in all (default: none)")
    listen.add_argument("--idle-timeout", type=_float, default=30.0,
                        help="stop after this many seconds without a packet (default 30)")
    listen.add_argument("--give-up", type=_float, default=5.0,
                        help="seconds of unanswered requests before a message counts as lost (default 5)")
    listen.add_argument("--ring-size", type=_int, default=1 << 18, help="messages the ring holds (default 262144)")
    listen.add_argument("--stats", action="store_true", help="print every counter and the latency to stderr")
    listen.set_defaults(func=listen_command, prog="feed listen")


def serve_command(args) -> int:
    from lob.errors import LobError
    from lob.feed import Publisher

    prog = f"lob {args.prog}"
    try:
        pub = Publisher(args.file, args.port, args.request_port, host=args.host, session=args.session,
                        rate=args.rate, drop=args.drop, reorder=args.reorder, duplicate=args.duplicate,
                        seed=args.seed, packet_size=args.packet_size, max_per_packet=args.max_per_packet,
                        heartbeat=args.heartbeat, linger=args.linger, start_seq=args.start_seq)
    except FileNotFoundError:
        raise SystemExit(f"{prog}: no such file: {args.file}") from None
    except (LobError, ValueError, TypeError, OSError) as exc:
        raise SystemExit(f"{prog}: {exc}") from None
    try:
        with pub:
            pub.wait()
    except KeyboardInterrupt:
        pub.close()
    s = pub.stats()
    print(f"sent {s['messages']:,} messages in {s['packets']:,} packets ({s['dropped']:,} dropped on purpose), "
          f"answered {s['requests']:,} requests ({s['retransmitted']:,} messages resent)")
    return 0


def listen_command(args) -> int:
    from lob.feed import Listener

    prog = f"lob {args.prog}"
    for name in ("timeout", "idle_timeout"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise SystemExit(f"{prog}: --{name.replace('_', '-')} must be > 0, got {value}")
    try:
        lst = Listener(args.port, args.request_port, host=args.host, session=args.session,
                       request_host=args.request_host, give_up=args.give_up, ring_size=args.ring_size)
    except (ValueError, TypeError, OSError) as exc:
        raise SystemExit(f"{prog}: {exc}") from None
    interrupted = False
    with lst:
        try:
            complete = lst.run(timeout=args.timeout, idle_timeout=args.idle_timeout)
        except KeyboardInterrupt:
            complete, interrupted = False, True
        except OSError as exc:
            raise SystemExit(f"{prog}: {exc}") from None
        lst.stop(give_up=not complete)
        stats = lst.stats()
        print(stats.summary(), flush=True)
        if args.top:
            try:
                lst.write_top(args.top)
            except OSError as exc:
                raise SystemExit(f"{prog}: cannot write {args.top}: {exc.strerror}") from None
    if args.stats:
        lat = stats.latency_ns
        print(f"packets {stats.packets}, heartbeats {stats.heartbeats}, duplicates {stats.duplicates}, "
              f"overflow {stats.overflow}, requests {stats.requests} ({stats.requested} messages), "
              f"malformed {sum(stats.malformed.values())}, bad messages {stats.bad_messages}, "
              f"refused by the books {sum(stats.rejected.values())}, ring high-water {stats.high_water}/"
              f"{stats.ring_size}, blocked {stats.blocked_s:.3f} s; latency p50 {lat['p50'] / 1e3:.1f} us, "
              f"p99 {lat['p99'] / 1e3:.1f} us, p99.9 {lat['p99.9'] / 1e3:.1f} us", file=sys.stderr)
    if interrupted:
        print(f"{prog}: interrupted before the end of session", file=sys.stderr)
        return 130
    if not complete:
        print(f"{prog}: stopped before the end of session (next sequence number {stats.next_seq})",
              file=sys.stderr)
        return 1
    return 1 if stats.lost else 0
