"""CSV reading time and memory: adversarial quoting against a clean file, through the real reader and hasher.

Writes files of --megabytes MB each (default 10): a clean file of plain emails (the upload benchmark's rows),
the same emails as a fully quoted two-column export, and adversarial files:

- ``stray_quotes``: every row has a quote inside an unquoted name (``O"Brien 7,customer.7@...``);
- ``mixed_quoting``: rows cycling through doubled quotes, quoted delimiters, quoted line breaks, CRLF,
  blank rows, a stray quote, text after a closing quote and an empty quoted field;
- ``unclosed_quote``: row 2 opens a quoted field that never closes, then clean rows (the old reader's worst
  case: its block splitter went quadratic and held the rest of the file as one block);
- ``quote_storm``: legal, dense quoting (runs of doubled quotes, quoted delimiters) on every row;
- ``lone_quotes``: a lone ``"`` as the name of every row, legal CSV that pairs rows into multi-line cells.

Each file is read in a fresh interpreter (so peak RSS is that read's own) by ``read_csv`` ->
``hash_chunks`` on every CPU with ``on_malformed_row="invalid"`` (malformed rows counted, the rest read),
best of --repeat runs. Two more runs use the default ``"fail"``: a stray quote in the last row (the whole
file is read before the error) and the unclosed quote (the error comes within the 1 MiB row limit).
Prints wall seconds (best run), MB/s, CPU seconds (the task process and its hashing workers, best run:
steadier than wall time on a shared machine), rows read, valid, malformed, both times over the clean
file's, and peak RSS. Target: every adversarial file within 3x of the clean one (wall time), and peak RSS
flat; the script exits 1 when the slowest adversarial file misses it.

    uv run python benchmarks/csv_reading.py [--megabytes 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from probe import run_json  # benchmarks/ is on sys.path when a benchmark runs as a script

TARGET_RATIO = 3.0
"""The slowest adversarial file's wall time over the clean file's may be at most this."""

READ = """
import json, logging, resource, sys, time
logging.disable(logging.CRITICAL)
from airflow_provider_pinterest_audiences.customer_lists.hashing_pool import hash_chunks
from airflow_provider_pinterest_audiences.customer_lists.readers import read_csv
from airflow_provider_pinterest_audiences.customer_lists.records import IdentifierType, RecordCounts
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

def cpu_seconds():
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime

path, column, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counts, error = RecordCounts(), None
cpu_start, start = cpu_seconds(), time.perf_counter()
try:
    for chunk in hash_chunks(read_csv(path, column=column, malformed_rows=mode), IdentifierType.EMAIL):
        counts.add(chunk)
except PinterestInvalidArgumentError as raised:
    error = str(raised)
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "cpu_seconds": cpu_seconds() - cpu_start,
    "read": counts.read,
    "valid": counts.valid,
    "malformed": counts.invalid.get("malformed_csv_row", 0),
    "error": error,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "workers_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def _email(i: int) -> bytes:
    return b"customer.%d@example%d.com" % (i, i % 1000)


_MIXED: list[Callable[[int], bytes]] = [
    lambda i: b'"Jane ""JJ"" Doe %d",%s,"likes ""quotes"""\n' % (i, _email(i)),
    lambda i: b'"Doe, Jane %d",%s,plain\r\n' % (i, _email(i)),
    lambda i: b'Jane %d,%s,"a note\nover two lines"\n' % (i, _email(i)),
    lambda i: b"\n",
    lambda i: b'O"Brien %d,%s,stray\n' % (i, _email(i)),
    lambda i: b'"Jane" Doe %d,%s,text after the closing quote\n' % (i, _email(i)),
    lambda i: b'"",%s,""\n' % _email(i),
]
SHAPES: dict[str, tuple[int, Callable[[int], bytes]]] = {  # identifier column, row i
    "clean": (0, lambda i: b" Customer.%d@Example%d.com\n" % (i, i % 1000)),
    "clean_quoted": (1, lambda i: b'"Jane Doe %d","%s"\n' % (i, _email(i))),
    "stray_quotes": (1, lambda i: b'O"Brien %d,%s\n' % (i, _email(i))),
    "mixed_quoting": (1, lambda i: _MIXED[i % len(_MIXED)](i)),
    "unclosed_quote": (
        1,
        lambda i: b'"never closed,%s\n' % _email(i) if i == 1 else b"Jane,%s\n" % _email(i),
    ),
    "quote_storm": (1, lambda i: b'"""""""""",%s,"a""b"",""c",""\n' % _email(i)),
    "lone_quotes": (1, lambda i: b'",%s\n' % _email(i)),
}


def write(path: Path, megabytes: int, row: Callable[[int], bytes], last: bytes = b"") -> None:
    if path.exists() and path.stat().st_size > 0:
        return
    target, size, i = megabytes * 1_000_000, 0, 0
    with path.open("wb") as handle:
        while size < target:
            rows = b"".join(row(n) for n in range(i, i + 10_000))
            handle.write(rows)
            size, i = size + len(rows), i + 10_000
        handle.write(last)


def best_read(path: Path, column: int, mode: str, repeat: int) -> dict[str, object]:
    runs = [run_json(READ, str(path), str(column), mode) for _ in range(repeat)]
    best = min(runs, key=lambda run: float(run["seconds"]))  # type: ignore[arg-type]
    best["cpu_seconds"] = min(float(run["cpu_seconds"]) for run in runs)  # type: ignore[arg-type]
    best["peak_rss_mb"] = max(float(run["peak_rss_mb"]) for run in runs)  # type: ignore[arg-type]
    best["workers_peak_rss_mb"] = max(float(run["workers_peak_rss_mb"]) for run in runs)  # type: ignore[arg-type]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs per file, the best kept (default 3)")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "pinterest-csv-bench"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"CPUs: {os.cpu_count()}, Python {sys.version.split()[0]}, {args.megabytes} MB per file")
    print(
        f"{'input':<22} {'mode':<8} {'seconds':>7} {'MB/s':>5} {'CPU s':>6} {'read':>9} {'valid':>9}"
        f" {'malformed':>9} {'x clean':>7} {'CPU x':>6} {'peak RSS':>8} {'workers':>8}"
    )
    runs: list[tuple[str, Path, int, str]] = []
    for name, (column, row) in SHAPES.items():
        path = workdir / f"{name}-{args.megabytes}mb.csv"
        write(path, args.megabytes, row)
        runs.append((name, path, column, "invalid"))
    last_stray = workdir / f"stray_quote_last_row-{args.megabytes}mb.csv"
    write(last_stray, args.megabytes, SHAPES["clean"][1], last=b'O"Brien,last@example.com\n')
    runs.append(("stray_quote_last_row", last_stray, 0, "fail"))
    runs.append(("unclosed_quote", workdir / f"unclosed_quote-{args.megabytes}mb.csv", 1, "fail"))
    clean_seconds = clean_cpu = 0.0
    worst = worst_cpu = 0.0
    for name, path, column, mode in runs:
        result = best_read(path, column, mode, args.repeat)
        seconds, cpu = float(result["seconds"]), float(result["cpu_seconds"])  # type: ignore[arg-type]
        clean_seconds, clean_cpu = clean_seconds or seconds, clean_cpu or cpu
        ratio, cpu_ratio = seconds / clean_seconds, cpu / clean_cpu
        if name not in ("clean", "clean_quoted"):
            worst, worst_cpu = max(worst, ratio), max(worst_cpu, cpu_ratio)
        megabytes = path.stat().st_size / 1e6
        print(
            f"{name:<22} {mode:<8} {seconds:>7.2f} {megabytes / seconds:>5.0f} {cpu:>6.2f}"
            f" {result['read']:>9,} {result['valid']:>9,} {result['malformed']:>9,}"
            f" {ratio:>6.2f}x {cpu_ratio:>5.2f}x"
            f" {result['peak_rss_mb']:>6.0f}MB {result['workers_peak_rss_mb']:>6.0f}MB"
        )
        if result["error"]:
            print(f"{'':<22} error: {str(result['error'])[:150]}")
    print(
        f"slowest adversarial file over the clean one: {worst:.2f}x wall, {worst_cpu:.2f}x CPU"
        f" (target <= {TARGET_RATIO:g}x wall)"
    )
    if worst > TARGET_RATIO:
        sys.exit(f"missed the target: the slowest adversarial file took {worst:.2f}x the clean one's time")


if __name__ == "__main__":
    main()
