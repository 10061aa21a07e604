"""Resident memory per resting order, id map included.

A fresh interpreter adds N resting orders (10 million in a timed run) over
10,000 levels and reports the RSS growth per order; target: at most 64 bytes.
Run in a subprocess so nothing else this session allocated blurs the figure.
"""
import json
import subprocess
import sys

import pytest

PROBE = r"""
import json, sys
import lob

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

n = int(sys.argv[1])
before = rss()
book = lob.OrderBook()
add = book.add
for oid in range(n):
    level = (oid >> 1) % 5000
    if oid & 1:
        add(oid, 1, 1_000_001 + level, 100)
    else:
        add(oid, 0, 1_000_000 - level, 100)
after = rss()
book.check() if n <= 100_000 else None
print(json.dumps({"orders": len(book), "rss_growth": after - before,
                  "book_bytes": book.memory_bytes(), "levels": book.level_count(0) + book.level_count(1)}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.benchmark(group="memory")
def test_memory_per_resting_order(benchmark, full_run):
    n = 10_000_000 if full_run else 20_000
    result = {}

    def measure():
        out = subprocess.run([sys.executable, "-c", PROBE, str(n)], check=True, capture_output=True, text=True)
        result.update(json.loads(out.stdout))

    benchmark.pedantic(measure, rounds=1, iterations=1)
    per_order = result["rss_growth"] / result["orders"]
    benchmark.extra_info.update(result, bytes_per_order=round(per_order, 1))
    assert result["orders"] == n and result["levels"] == min(n, 10_000)
    print(f"\n{n:,} resting orders over {result['levels']:,} levels: RSS +{result['rss_growth'] / 2**20:.0f} MiB, "
          f"{per_order:.1f} bytes/order (book's own C memory {result['book_bytes'] / n:.1f} bytes/order)")
