"""The streaming ITCH replay behind `lob replay FILE --symbol S` and each
lob.parallel ITCH task (lob.replay.replay_itch_stocks): every stock's feature
rows equal one OrderBook.apply over read_itch's events for that stock,
however the file, the batches and the waiting events are cut."""
import numpy as np
import pytest

import lob
import lob.io
import lob.replay
from lob.replay import BookConfig, itch_event_counts, replay_itch_stocks

pq = pytest.importorskip("pyarrow.parquet")


def rows_of(path):
    """A Parquet / .npy feature file as {column: flat NumPy array}."""
    if str(path).endswith(".npy"):
        data = np.load(path)
        return {name: np.ascontiguousarray(data[name]).reshape(len(data), -1) for name in data.dtype.names}
    table = pq.read_table(path)
    out = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        flat = np.asarray(column.flatten()) if hasattr(column, "flatten") else np.asarray(column)
        out[name] = flat.reshape(table.num_rows, -1)
    return out


def assert_equal_rows(path, expected):
    got = rows_of(path)
    assert list(got) == list(expected.dtype.names)
    for name in expected.dtype.names:
        want = np.ascontiguousarray(expected[name]).reshape(len(expected), -1)
        assert got[name].tobytes() == want.tobytes(), name      # bytes: nan equals nan, every bit counts


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    folder = tmp_path_factory.mktemp("itch")
    streams = {"AAA": lob.synth.generate(9_000, seed=1, target_orders=300),
               "BBB": lob.synth.generate(4_000, seed=2, target_orders=200, first_id=10**7),
               "CCC": lob.synth.generate(700, seed=3, target_orders=50, first_id=2 * 10**7)}
    path = folder / "day.itch"
    lob.synth.write_itch(streams, path)
    return path, lob.io.read_itch(path)


@pytest.mark.parametrize("depth,signals", [(0, False), (4, True)])
def test_every_cut_gives_the_rows_of_one_apply(day, tmp_path, monkeypatch, depth, signals):
    path, events = day
    config = BookConfig(3, 5_000_000, 1_000_000)
    # small batches, a 4 KiB file chunk, and few waiting events: every boundary falls inside a stock's stream
    monkeypatch.setattr(lob.replay, "CHUNK", 1000)
    monkeypatch.setattr(lob.replay, "PENDING_EVENTS", 2500)
    features = {s: tmp_path / f"{s}.parquet" for s in ("AAA", "CCC")}
    features["BBB"] = tmp_path / "BBB.npy"
    run = replay_itch_stocks(path, None, depth=depth, signals=signals, features=features, config=config,
                             chunk_size=4096)
    assert sorted(run.replays) == ["AAA", "BBB", "CCC"]
    for symbol, target in features.items():
        book = config.new_book()
        expected = book.apply(events[symbol], depth=depth, signals=signals, on_error="skip")
        assert_equal_rows(target, expected)
        assert run.replays[symbol].events == len(events[symbol])
        assert run.replays[symbol].book.snapshot().tobytes() == book.snapshot().tobytes()
    assert sum(parser_count for parser_count in run.parser.counts.values()) > 0


def test_counts_and_one_stock(day, tmp_path):
    path, events = day
    counts, parser = itch_event_counts(path)
    assert counts == {s: len(e) for s, e in events.items()}
    assert itch_event_counts(path, ["BBB"])[0] == {"BBB": len(events["BBB"])}
    run = replay_itch_stocks(path, ["BBB"], features={"BBB": tmp_path / "b.parquet"})
    assert list(run.replays) == ["BBB"] and run.replays["BBB"].events == len(events["BBB"])
    assert_equal_rows(tmp_path / "b.parquet", BookConfig().new_book().apply(events["BBB"], on_error="skip"))


def test_a_corrupt_file_leaves_no_feature_file(day, tmp_path):
    path, _ = day
    data = path.read_bytes()
    cut = tmp_path / "cut.itch"
    cut.write_bytes(data[: len(data) * 2 // 3] + b"\x00\x05Z" + b"\x00" * 4)     # an unknown type mid-file
    targets = {s: tmp_path / f"{s}.parquet" for s in ("AAA", "BBB")}
    with pytest.raises(ValueError) as info:
        replay_itch_stocks(cut, ["AAA", "BBB"], features=targets, rows={"AAA": 10**6, "BBB": 10**6})
    assert "cut.itch" in str(getattr(info.value, "source", "")) + str(info.value)
    assert not list(tmp_path.glob("*.parquet"))
