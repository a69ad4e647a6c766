"""End-to-end customer-list upload throughput and memory, against the emulator in its own process.

For each N: write N plain emails as CSV, then in fresh interpreters (so peak RSS belongs to one run)
1. time a bare single-core loop of strip + lower + sha256 + hexdigest over the same rows (the ceiling);
2. run ``PinterestUploadCustomerListOperator`` (append, default settings unless
   ``--max-concurrent-requests`` is given) on the file against the emulator (``--no-store-records``: counts
   only), and measure wall time and the task process's peak RSS.
Prints records/s, the ratio to the ceiling and peak RSS for each of ``--repeat`` runs (the ceiling measured
just before its upload), then the median of those ratios and, the conservative figure on a machine whose
speed drifts, the best upload over the best ceiling. Also the read phase alone (read, validate and hash
every row, on all CPUs): the operator uploads nothing before that phase has checked the whole input.
Targets: ratio >= 0.7; RSS(largest N) <= 1.2x RSS(smallest N), each the largest of its runs.

    uv run python benchmarks/upload.py --rows 1000000 10000000 [--repeat 3] [--max-concurrent-requests 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from probe import print_peak_growth, run_json  # benchmarks/ is on sys.path when a benchmark runs as a script

CEILING = """
import hashlib, json, sys, time
elapsed, rows = 0.0, 0
with open(sys.argv[1], encoding="utf-8") as handle:
    while lines := handle.readlines(1 << 26):
        start = time.perf_counter()
        for line in lines:
            hashlib.sha256(line.strip().lower().encode()).hexdigest()
        elapsed += time.perf_counter() - start
        rows += len(lines)
print(json.dumps({"rows": rows, "seconds": elapsed}))
"""

UPLOAD = """
import json, logging, os, resource, sys, time
logging.disable(logging.INFO)
from airflow_provider_pinterest_audiences.customer_lists import upload
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator

class TaskInstance:
    def xcom_push(self, key, value):
        self.summary = value

read_seconds = []
original_read = upload.read_typed_digests

def timed_read(*args, **kwargs):
    start = time.perf_counter()
    try:
        return original_read(*args, **kwargs)
    finally:
        read_seconds.append(time.perf_counter() - start)

upload.read_typed_digests = timed_read
settings = json.loads(sys.argv[3])
operator = PinterestUploadCustomerListOperator(
    task_id="benchmark", customer_list_name=sys.argv[2], source=sys.argv[1], **settings
)
ti = TaskInstance()
start = time.perf_counter()
operator.execute({"ti": ti})
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds,
    "read_seconds": read_seconds[0],
    "summary": ti.summary,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "workers_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def write_emails(path: Path, rows: int) -> None:
    """N distinct plain emails, mixed case and padded like a real export."""
    if path.exists() and path.stat().st_size > 0:
        return
    with path.open("w", encoding="utf-8") as handle:
        step = 100_000
        for start in range(0, rows, step):
            stop = min(start + step, rows)
            handle.write("".join(f" Customer.{i}@Example{i % 1000}.com\n" for i in range(start, stop)))


class Emulator:
    """``python -m airflow_provider_pinterest_audiences.emulator`` as a subprocess on a free port."""

    def __enter__(self) -> Emulator:
        command = [
            sys.executable,
            "-m",
            "airflow_provider_pinterest_audiences.emulator",
            "--port",
            "0",
            "--no-store-records",
            "--ads-write-per-minute",
            "1000000000",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if match := re.match(r"AIRFLOW_CONN_PINTEREST_DEFAULT='(.*)'", line.strip()):
                self.connection = match.group(1)
                return self
        raise RuntimeError("the emulator did not start")

    def __exit__(self, *exc_info: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--max-concurrent-requests",
        type=int,
        default=None,
        help="the operator's max_concurrent_requests (default: the operator's default)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each (ceiling, upload) pair per N (default 3)"
    )
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "pinterest-upload-bench"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    settings = {}
    if args.max_concurrent_requests is not None:
        settings["max_concurrent_requests"] = args.max_concurrent_requests
    print(
        f"CPUs: {os.cpu_count()}, Python {sys.version.split()[0]}, operator settings: {settings or 'default'}"
    )
    header = f"{'rows':>11} {'seconds':>8} {'records/s':>11} {'ceiling/s':>11} {'ratio':>6} {'peak RSS':>9}"
    print(header + f" {'worker RSS':>10} {'read s':>7} {'read ratio':>10}")
    peaks: dict[int, float] = {}
    with Emulator() as emulator:
        env = {**os.environ, "AIRFLOW_CONN_PINTEREST_DEFAULT": emulator.connection}
        for rows in args.rows:
            path = workdir / f"emails-{rows}.csv"
            write_emails(path, rows)
            upload_seconds: list[float] = []
            ceiling_rates: list[float] = []
            for _ in range(args.repeat):  # ceiling and upload side by side, so a slow spell hits both
                ceiling = run_json(CEILING, str(path))
                ceiling_rate = float(ceiling["rows"]) / float(ceiling["seconds"])
                name = f"benchmark-{rows}-{time.time_ns()}"
                result = run_json(UPLOAD, str(path), name, json.dumps(settings), env=env)
                seconds = float(result["seconds"])
                summary = result["summary"]
                assert isinstance(summary, dict) and summary["added"] == rows, summary
                rate = rows / seconds
                peak = float(result["peak_rss_mb"])
                peaks[rows] = max(peaks.get(rows, 0.0), peak)
                workers_peak = float(result["workers_peak_rss_mb"])
                read_seconds = float(result["read_seconds"])
                print(
                    f"{rows:>11,} {seconds:>8.2f} {rate:>11,.0f} {ceiling_rate:>11,.0f}"
                    f" {rate / ceiling_rate:>6.2f} {peak:>7.0f}MB {workers_peak:>8.0f}MB"
                    f" {read_seconds:>7.2f} {rows / read_seconds / ceiling_rate:>10.2f}"
                )
                upload_seconds.append(seconds)
                ceiling_rates.append(ceiling_rate)
            ratios = [rows / up / ceil for up, ceil in zip(upload_seconds, ceiling_rates, strict=True)]
            best_rate, best_ceiling = rows / min(upload_seconds), max(ceiling_rates)
            print(
                f"{rows:>11,} ratio: median of the {args.repeat} runs {statistics.median(ratios):.2f};"
                f" best upload ({best_rate:,.0f} records/s) over best ceiling"
                f" ({best_ceiling:,.0f}/s) {best_rate / best_ceiling:.2f}"
            )
    print_peak_growth(peaks, "rows")


if __name__ == "__main__":
    main()
