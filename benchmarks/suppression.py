"""Suppression set time and memory: an erase merging into it, an upload reading through it, N digests.

For each N, a fresh interpreter builds the suppression set (N digests, as erases would have merged them) at a
local ``file://`` path. Then, each in its own fresh interpreter (so its peak RSS is its own): an erase
merges 10,000 new digests into the set, and an upload reads 1,000,000 source digests through it (half of
them suppressed). Prints the time of each step and the peak RSS. Target: RSS(largest N) <= 1.2x
RSS(smallest N), i.e. memory flat in the size of the set.

    uv run python benchmarks/suppression.py --suppressed 1000000 10000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from probe import print_peak_growth, run_json  # benchmarks/ is on sys.path when a benchmark runs as a script

COMMON = """
import hashlib, json, resource, sys, tempfile, time
from airflow_provider_pinterest_audiences.customer_lists.snapshot import DigestBuckets, as_state_path
from airflow_provider_pinterest_audiences.customer_lists.suppression import (
    ReadCounts, add_to_suppression, suppressed_reading
)

path, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
as_state_path(path).exists()  # Airflow loads its filesystem support lazily: keep that cost out of the timing


def blocks(first, last):
    for low in range(first, last, 100_000):
        high = min(low + 100_000, last)
        yield b"".join(hashlib.sha256(b"member-%d" % i).digest() for i in range(low, high))


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

MERGE = (
    COMMON
    + """
with tempfile.TemporaryDirectory() as workdir, DigestBuckets(workdir) as erased:
    for block in blocks(first, last):
        erased.add(block)
    start = time.perf_counter()
    added, total = add_to_suppression(path, "EMAIL", erased, workdir)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "added": added, "total": total, "peak_mb": peak_mb()}))
"""
)

READ = (
    COMMON
    + """
counts = ReadCounts()
kept = 0

def sink(packed):
    global kept
    kept += len(packed) // 32

source = list(blocks(first, last))  # hashed beforehand: the timing is the filter's alone
start = time.perf_counter()
with suppressed_reading(path, "EMAIL", sink, counts) as target:
    for block in source:
        target(block)
seconds = time.perf_counter() - start
del source
print(json.dumps({"seconds": seconds, "kept": kept, "suppressed": counts.suppressed, "peak_mb": peak_mb()}))
"""
)

ERASED = 10_000
SOURCE = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suppressed", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--workdir", default=os.path.join(tempfile.gettempdir(), "pinterest-suppression-bench")
    )
    args = parser.parse_args()
    if min(args.suppressed) < SOURCE // 2:
        parser.error(f"--suppressed: at least {SOURCE // 2:,} (half the source is suppressed)")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    print(f"CPUs: {os.cpu_count()}, Python {sys.version.split()[0]}")
    print(f"{'suppressed':>11} {'build s':>8} {'merge s':>8} {'merge RSS':>10} {'read s':>7} {'read RSS':>9}")
    peaks: dict[int, float] = {}
    for size in args.suppressed:
        state = Path(args.workdir) / f"erased-{size}.suppression"
        state.unlink(missing_ok=True)
        uri = f"file://{state}"
        built = run_json(MERGE, uri, "0", str(size))
        merged = run_json(MERGE, uri, str(size), str(size + ERASED))
        assert (merged["added"], merged["total"]) == (ERASED, size + ERASED), merged
        read = run_json(READ, uri, str(size + ERASED - SOURCE // 2), str(size + ERASED + SOURCE // 2))
        assert (read["suppressed"], read["kept"]) == (SOURCE // 2, SOURCE // 2), read
        peaks[size] = max(merged["peak_mb"], read["peak_mb"])
        print(
            f"{size:>11,} {built['seconds']:>8.2f} {merged['seconds']:>8.2f} {merged['peak_mb']:>8.0f}MB"
            f" {read['seconds']:>7.2f} {read['peak_mb']:>7.0f}MB"
        )
        state.unlink()
    print_peak_growth(peaks, "suppressed")


if __name__ == "__main__":
    main()
