"""Import cost of the provider's operators and sensors over a bare ``import airflow.sdk``.

Each measurement runs in a fresh interpreter (best of several), so caches do not flatter the figure.
Target: under 100 ms added; nothing heavy (httpx, FastAPI, pandas, the emulator) imported by operators.

    uv run python benchmarks/import_cost.py
"""

from __future__ import annotations

import json
import subprocess
import sys

BASELINE = "import airflow.sdk"
PROVIDER = """
import airflow.sdk
import airflow_provider_pinterest_audiences.operators.customer_list
import airflow_provider_pinterest_audiences.operators.audience
import airflow_provider_pinterest_audiences.operators.ad_group
import airflow_provider_pinterest_audiences.sensors.audience
"""
HEAVY = ("httpx", "fastapi", "uvicorn", "pandas", "airflow_provider_pinterest_audiences.emulator")
PROBE = """
import json, sys, time
start = time.perf_counter()
exec(compile(sys.argv[1], "<bench>", "exec"))
print(json.dumps({"seconds": time.perf_counter() - start, "modules": sorted(sys.modules)}))
"""


def measure(code: str, repeats: int = 7) -> tuple[float, set[str]]:
    best, modules = float("inf"), set()
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", PROBE, code], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["seconds"] < best:
            best, modules = result["seconds"], set(result["modules"])
    return best, modules


def main() -> None:
    base, base_modules = measure(BASELINE)
    full, full_modules = measure(PROVIDER)
    added = full - base
    heavy = sorted(m for m in full_modules - base_modules if m.split(".")[0] in HEAVY or m in HEAVY)
    print(f"import airflow.sdk:                      {base * 1000:7.1f} ms")
    print(f"+ all operators and sensors:             {full * 1000:7.1f} ms")
    print(f"added by the provider:                   {added * 1000:7.1f} ms (target < 100 ms)")
    print(f"modules added:                           {len(full_modules - base_modules)}")
    print(f"heavy modules pulled in:                 {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
