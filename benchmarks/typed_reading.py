"""Several identifier types in one source: one read with ``columns`` against one read per type.

Writes a CRM export of N rows (``id,email,gaid``: every row an email, every other row a GAID, the rest
blank), then in fresh interpreters (so peak RSS is that read's own) runs the upload's read phase as
``run_uploads`` does: ``read_typed_digests`` on every CPU into one ``DigestBuckets`` per type, then each
type's distinct digests written sorted (what append sends). Three reads: EMAIL alone, MAID alone, and
both with ``columns``. Prints wall and CPU seconds (best of --repeat runs), peak RSS of the task process
and of its hashing workers (largest run), and the two-type read against the two single-type reads.
Targets: the two-type read faster than the two single reads together; peak RSS flat in N.

    uv run python benchmarks/typed_reading.py --rows 100000 1000000 [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from probe import print_peak_growth, run_json  # benchmarks/ is on sys.path when a benchmark runs as a script

READ = """
import json, logging, os, resource, sys, tempfile, time
logging.disable(logging.CRITICAL)
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.reading import read_typed_digests
from airflow_provider_pinterest_audiences.customer_lists.records import IdentifierType
from airflow_provider_pinterest_audiences.customer_lists.snapshot import DigestBuckets
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource

def cpu_seconds():
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime

path, columns = sys.argv[1], json.loads(sys.argv[2])
plans = {
    key: UploadPlan(
        ad_account_id="1",
        source=CustomerSource(source=path, column=column, has_header=True),
        list_type=IdentifierType(key),
        customer_list_name=key,
        max_invalid_ratio=1.0,
    )
    for key, column in columns.items()
}
cpu_start, start = cpu_seconds(), time.perf_counter()
with tempfile.TemporaryDirectory() as directory:
    buckets = {key: DigestBuckets(directory) for key in plans}
    counts = read_typed_digests(plans, {key: b.add for key, b in buckets.items()}, logging.getLogger())
    distinct = {}
    for key, bucket in buckets.items():
        with open(os.path.join(directory, key), "wb") as spool:
            distinct[key] = bucket.write_distinct(spool)
        bucket.close()
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "cpu_seconds": cpu_seconds() - cpu_start,
    "read": {key: count.read for key, count in counts.items()},
    "distinct": distinct,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "workers_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""
READS = {
    "EMAIL alone": {"EMAIL": "email"},
    "MAID alone": {"MAID": "gaid"},
    "EMAIL + MAID (columns)": {"EMAIL": "email", "MAID": "gaid"},
}


def write_crm(path: Path, rows: int) -> None:
    if path.exists() and path.stat().st_size > 0:
        return
    with path.open("w", encoding="utf-8") as handle:
        handle.write("id,email,gaid\n")
        for start in range(0, rows, 10_000):
            handle.write(
                "".join(
                    f"{n},Customer.{n}@Example{n % 1000}.com,"
                    + (f"{n:08X}-0000-4000-8000-{n:012X}\n" if n % 2 else "\n")
                    for n in range(start, min(rows, start + 10_000))
                )
            )


def best_read(path: Path, columns: dict[str, str], repeat: int) -> dict[str, object]:
    runs = [run_json(READ, str(path), json.dumps(columns)) for _ in range(repeat)]
    best = min(runs, key=lambda run: float(run["seconds"]))
    best["cpu_seconds"] = min(float(run["cpu_seconds"]) for run in runs)
    best["peak_rss_mb"] = max(float(run["peak_rss_mb"]) for run in runs)
    best["workers_peak_rss_mb"] = max(float(run["workers_peak_rss_mb"]) for run in runs)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--directory", default=os.path.join(tempfile.gettempdir(), "pinterest-typed-bench"))
    arguments = parser.parse_args()
    directory = Path(arguments.directory)
    directory.mkdir(parents=True, exist_ok=True)
    peaks: dict[int, float] = {}
    print(f"{'rows':>10}  {'read':<24} {'wall s':>7} {'cpu s':>7} {'RSS MB':>7} {'workers MB':>10}  distinct")
    for rows in arguments.rows:
        path = directory / f"crm-{rows}.csv"
        write_crm(path, rows)
        results = {label: best_read(path, columns, arguments.repeat) for label, columns in READS.items()}
        for label, result in results.items():
            print(
                f"{rows:>10,}  {label:<24} {result['seconds']:>7.2f} {result['cpu_seconds']:>7.2f} "
                f"{result['peak_rss_mb']:>7.0f} {result['workers_peak_rss_mb']:>10.0f}  {result['distinct']}"
            )
        single = [results["EMAIL alone"], results["MAID alone"]]
        both = results["EMAIL + MAID (columns)"]
        print(
            f"{rows:>10,}  two types in one read / two single reads: wall "
            f"{float(both['seconds']) / sum(float(r['seconds']) for r in single):.2f}x, cpu "
            f"{float(both['cpu_seconds']) / sum(float(r['cpu_seconds']) for r in single):.2f}x; peak RSS "
            f"{float(both['peak_rss_mb']) / max(float(r['peak_rss_mb']) for r in single):.2f}x the larger "
            "single read's"
        )
        peaks[rows] = float(both["peak_rss_mb"])
    print_peak_growth(peaks, "rows")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
