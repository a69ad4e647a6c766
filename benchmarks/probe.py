"""Run a measurement in a fresh interpreter and read back the JSON object it prints last."""

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
