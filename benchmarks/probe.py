"""What the benchmarks share: a measurement run in a fresh interpreter, and the flat-memory figure."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def run_json(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    if output.returncode:
        raise RuntimeError(output.stderr[-3000:])
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def print_peak_growth(peaks: dict[int, float], unit: str) -> None:
    """Print peak RSS at the largest size over peak RSS at the smallest, when there are two sizes or more."""
    if len(peaks) > 1:
        smallest, largest = min(peaks), max(peaks)
        print(f"peak RSS {largest:,} {unit} / {smallest:,} {unit}: {peaks[largest] / peaks[smallest]:.2f}x")
