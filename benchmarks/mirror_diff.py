"""Mirror diff time and memory: N desired members against a snapshot of N members with 1% churn.

For each N, a fresh interpreter writes the previous snapshot (N digests) to a local ``file://`` state path;
then another fresh interpreter (so its peak RSS is the diff's alone) spreads the new N digests (1% left,
1% new) into buckets, computes the diff against the snapshot, and writes the new snapshot. Prints the
time of each step and the peak RSS. Target: RSS(largest N) <= 1.2x RSS(smallest N).

    uv run python benchmarks/mirror_diff.py --members 1000000 10000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from probe import print_peak_growth, run_json  # benchmarks/ is on sys.path when a benchmark runs as a script

STEP = """
import hashlib, json, resource, sys, tempfile, time
from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
    DigestBuckets, as_state_path, plan_mirror, save_snapshot
)

state_uri, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
state = as_state_path(state_uri)
if state.exists():  # Airflow loads its filesystem support lazily: keep that one-off cost out of the timing
    with state.open("rb") as handle:
        handle.read(1)
timings = {}
with tempfile.TemporaryDirectory() as workdir, DigestBuckets(workdir) as desired:
    start = time.perf_counter()
    spent_hashing = 0.0
    for low in range(first, last, 100_000):
        hashing = time.perf_counter()
        packed = b"".join(
            hashlib.sha256(b"member-%d" % i).digest() for i in range(low, min(low + 100_000, last))
        )
        spent_hashing += time.perf_counter() - hashing
        desired.add(packed)
    timings["bucket_seconds"] = time.perf_counter() - start - spent_hashing
    start = time.perf_counter()
    plan = plan_mirror(state, list_type="EMAIL", customer_list_id="1", desired=desired, directory=workdir)
    timings["diff_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    save_snapshot(state, plan, list_type="EMAIL", customer_list_id="1")
    timings["snapshot_write_seconds"] = time.perf_counter() - start
print(json.dumps({
    **timings,
    "added": plan.add_count,
    "removed": plan.remove_count,
    "members": plan.desired_count,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def step(state_uri: str, first: int, last: int) -> dict[str, float]:
    return run_json(STEP, state_uri, str(first), str(last))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "pinterest-mirror-bench"))
    args = parser.parse_args()
    print(f"CPUs: {os.cpu_count()}, Python {sys.version.split()[0]}")
    print(f"{'members':>11} {'buckets s':>9} {'diff s':>7} {'write s':>7} {'total s':>7} {'peak RSS':>9}")
    peaks: dict[int, float] = {}
    for members in args.members:
        churn = members // 100
        state = Path(args.workdir) / f"mirror-{members}.snapshot"
        state.unlink(missing_ok=True)
        state_uri = f"file://{state}"
        step(state_uri, 0, members)  # the previous run: members 0 .. N-1
        result = step(state_uri, churn, members + churn)  # 1% left, 1% joined
        assert (result["added"], result["removed"], result["members"]) == (churn, churn, members), result
        total = result["bucket_seconds"] + result["diff_seconds"] + result["snapshot_write_seconds"]
        peaks[members] = result["peak_rss_mb"]
        print(
            f"{members:>11,} {result['bucket_seconds']:>9.2f} {result['diff_seconds']:>7.2f}"
            f" {result['snapshot_write_seconds']:>7.2f} {total:>7.2f} {peaks[members]:>7.0f}MB"
        )
    print_peak_growth(peaks, "members")


if __name__ == "__main__":
    main()
