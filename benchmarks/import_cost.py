"""Import cost of the provider's operators and sensors over a bare ``import airflow.sdk``.

Each run is a fresh interpreter that imports ``airflow.sdk`` first and then times importing every
operator and sensor module in the same process (best of several runs), so the figure is what the
provider adds to DAG parsing. Target: under 100 ms; nothing heavy (httpx, FastAPI, pandas, the emulator)
imported by operators beyond what Airflow itself already loaded.

    uv run python benchmarks/import_cost.py
"""

from __future__ import annotations

from probe import run_json  # benchmarks/ is on sys.path when a benchmark runs as a script

PROBE = """
import json, sys, time
start = time.perf_counter()
import airflow.sdk
baseline = time.perf_counter() - start
before = set(sys.modules)
start = time.perf_counter()
import airflow_provider_pinterest_audiences.operators.customer_list
import airflow_provider_pinterest_audiences.operators.audience
import airflow_provider_pinterest_audiences.operators.ad_group
import airflow_provider_pinterest_audiences.sensors.audience
added = time.perf_counter() - start
print(json.dumps({"baseline": baseline, "added": added, "modules": sorted(set(sys.modules) - before)}))
"""
HEAVY = ("httpx", "fastapi", "uvicorn", "pandas", "requests", "airflow_provider_pinterest_audiences.emulator")


def main(repeats: int = 7) -> None:
    runs = []
    for _ in range(repeats):
        runs.append(run_json(PROBE))
    best = min(runs, key=lambda run: run["added"])
    heavy = sorted(m for m in best["modules"] if any(m == h or m.startswith(h + ".") for h in HEAVY))
    print(f"import airflow.sdk (best of {repeats}):        {min(r['baseline'] for r in runs) * 1000:7.1f} ms")
    print(f"added by all operators and sensors:       {best['added'] * 1000:7.1f} ms (target < 100 ms)")
    print(f"modules the provider added:               {len(best['modules'])}")
    print(f"heavy modules the provider added:         {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
