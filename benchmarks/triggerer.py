"""Triggerer scale: many ``PinterestAudienceTrigger`` waiting in one event loop against the emulator.

The emulator runs as a subprocess (its memory is not counted) on a fast clock. All triggers start at
once, as after a triggerer restart; each spreads its own first poll over one interval. Printed: RSS
added per waiting trigger, requests per trigger per poll interval, requests per minute at the poll
interval (ads_read allows 1,000/min), and the time from READY to event.
Targets: < 100 KB per trigger, <= 1 request per trigger per interval.

The emulator's rate-limit windows run on real time, so ``ads_read_per_minute`` is set to 1,000 x the
clock speed: the same budget per emulated minute as Pinterest's. ``ads_write_per_minute`` is raised only
so that creating the audiences (set-up, not measured) is quick.

    .venv/bin/python benchmarks/triggerer.py [--triggers 1000] [--poll-interval 300] [--clock-speed 30]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import requests

ADS_READ_LIMIT_PER_MINUTE = 1000
NEVER_READY_SECONDS = 30 * 24 * 3600  # audiences stay PROCESSING until the clock is jumped this far
KB = 1024


@contextmanager
def emulator(clock_speed: float) -> Iterator[tuple[str, str]]:
    """The emulator in a subprocess; yields (control root URL, Airflow connection JSON)."""
    command = [
        sys.executable,
        "-m",
        "airflow_provider_pinterest_audiences.emulator",
        "--port=0",
        f"--clock-speed={clock_speed}",
        "--audience-initializing-seconds=0",
        f"--audience-processing-seconds={NEVER_READY_SECONDS}",
        f"--ads-read-per-minute={int(ADS_READ_LIMIT_PER_MINUTE * clock_speed)}",
        "--ads-write-per-minute=1000000",
        "--no-store-records",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = connection = ""
        while not connection:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the emulator exited before serving")
            if line.startswith("Pinterest API emulator serving at "):
                base_url = line.rsplit(" ", 1)[1].strip()
            elif line.startswith("AIRFLOW_CONN_PINTEREST_DEFAULT="):
                connection = line.split("=", 1)[1].strip().strip("'")
        yield base_url.removesuffix("/v5"), connection
    finally:
        process.terminate()
        process.wait(timeout=10)


class Control:
    def __init__(self, root: str) -> None:
        self.root = f"{root}/_emulator"

    def get(self, path: str) -> Any:
        return requests.get(self.root + path, timeout=30).json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = requests.post(self.root + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    async def counters(self) -> dict[str, int]:
        """Pinterest requests so far: total, ads_read, oauth, and 429 answers."""
        report = await asyncio.to_thread(self.get, "/requests")
        return {
            "total": report["total"],
            "ads_read": report["by_category"].get("ads_read", 0),
            "oauth": report["by_category"].get("oauth", 0),
            "429": report["by_status"].get("429", 0),
        }


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def create_audiences(count: int, account: str) -> list[str]:
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

    hook = PinterestHook()
    records = ",".join(hashlib.sha256(f"user{i}@example.com".encode()).hexdigest() for i in range(300))
    list_id = hook.create_customer_list(account, name="Benchmark buyers", records=records)["id"]
    rule = {"customer_list_id": list_id}
    ids = [
        str(
            hook.create_audience(account, name=f"Benchmark {i}", audience_type="CUSTOMER_LIST", rule=rule)[
                "id"
            ]
        )
        for i in range(count)
    ]
    hook.close()
    return ids


async def warm_up(control: Control, account: str, audience_id: str) -> None:
    """Run one trigger to completion so lazy imports and first-use caches are not counted per trigger."""
    from airflow_provider_pinterest_audiences.triggers.audience import PinterestAudienceTrigger

    await asyncio.to_thread(control.post, f"/audiences/{audience_id}/status", {"status": "READY"})
    trigger = PinterestAudienceTrigger("pinterest_default", account, audience_id=audience_id, poll_interval=1)
    events = [event async for event in trigger.run()]
    assert events[0].payload["status"] == "success", events[0].payload


async def wait_for_event(trigger: Any, finished: dict[int, tuple[float, str]], index: int) -> None:
    async for event in trigger.run():
        finished[index] = (time.monotonic(), event.payload["status"])


async def sample_peak(peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss())
        await asyncio.sleep(0.05)


async def until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the triggers did not all start polling in time")
        await asyncio.sleep(0.2)


async def benchmark(
    args: argparse.Namespace, control: Control, account: str, ids: list[str]
) -> dict[str, Any]:
    from airflow_provider_pinterest_audiences.triggers.audience import PinterestAudienceTrigger

    await warm_up(control, account, ids.pop())
    count = len(ids)
    real_interval = args.poll_interval / args.clock_speed
    gc.collect()
    baseline = rss()
    at_start = await control.counters()

    finished: dict[int, tuple[float, str]] = {}
    peak, stop = [baseline], asyncio.Event()
    sampler = asyncio.create_task(sample_peak(peak, stop))
    tasks = [
        asyncio.create_task(
            wait_for_event(
                PinterestAudienceTrigger(
                    "pinterest_default", account, audience_id=audience_id, poll_interval=real_interval
                ),
                finished,
                index,
            )
        )
        for index, audience_id in enumerate(ids)
    ]

    async def all_polled() -> bool:
        return (await control.counters())["ads_read"] - at_start["ads_read"] >= count

    await until(all_polled, timeout=60 * real_interval)
    await asyncio.sleep(real_interval)  # one more interval: every trigger has its client and connection
    window_start, window_begun = await control.counters(), time.monotonic()
    await asyncio.sleep(args.measure_intervals * real_interval)
    window_end, window_seconds = await control.counters(), time.monotonic() - window_begun
    steady = rss()

    await asyncio.to_thread(control.post, "/clock/advance", {"seconds": NEVER_READY_SECONDS})
    ready_at = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=10 * real_interval + 60)
    stop.set()
    await sampler
    at_end = await control.counters()

    intervals = window_seconds / real_interval
    polls = window_end["ads_read"] - window_start["ads_read"]
    latencies = sorted(done - ready_at for done, _ in finished.values())
    statuses: dict[str, int] = {}
    for _, status in finished.values():
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "triggers": count,
        "real_interval": real_interval,
        "baseline_rss": baseline,
        "steady_rss": steady,
        "peak_rss": peak[0],
        "window_intervals": intervals,
        "window_polls": polls,
        "window_429": window_end["429"] - window_start["429"],
        "total_requests": at_end["total"] - at_start["total"],
        "oauth_requests": at_end["oauth"] - at_start["oauth"],
        "total_429": at_end["429"] - at_start["429"],
        "latencies": latencies,
        "statuses": statuses,
    }


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    count, speed = r["triggers"], args.clock_speed
    per_interval = r["window_polls"] / (count * r["window_intervals"])
    per_minute = r["window_polls"] / (r["window_intervals"] * args.poll_interval / 60)
    lat = r["latencies"]
    median, p95, worst = statistics.median(lat), lat[int(0.95 * (len(lat) - 1))], lat[-1]
    print(f"triggers waiting in one event loop:       {count}")
    print(
        f"poll interval:                            {args.poll_interval:g} s emulated "
        f"({r['real_interval']:g} s real, clock x{speed:g})"
    )
    print(
        f"RSS baseline / steady / peak:             {r['baseline_rss'] / KB**2:.1f} / "
        f"{r['steady_rss'] / KB**2:.1f} / {r['peak_rss'] / KB**2:.1f} MB"
    )
    peak_added = (r["peak_rss"] - r["baseline_rss"]) / count / KB
    steady_added = (r["steady_rss"] - r["baseline_rss"]) / count / KB
    print(f"peak RSS added per waiting trigger:       {peak_added:.1f} KB (target < 100 KB)")
    print(f"steady RSS added per waiting trigger:     {steady_added:.1f} KB")
    print(
        f"polls in a {r['window_intervals']:.2f}-interval window:          {r['window_polls']} "
        f"({r['window_429']} answered 429)"
    )
    print(f"requests per trigger per poll interval:   {per_interval:.3f} (target <= 1)")
    print(
        f"requests per minute at this interval:     {per_minute:.0f} "
        f"(ads_read limit {ADS_READ_LIMIT_PER_MINUTE}/min)"
    )
    print(
        f"total requests made by the triggers:      {r['total_requests']} "
        f"({r['oauth_requests']} token refreshes, {r['total_429']} answered 429)"
    )
    print(
        f"READY -> event, emulated s:               median {median * speed:.0f}, p95 {p95 * speed:.0f}, "
        f"max {worst * speed:.0f} (poll interval {args.poll_interval:g})"
    )
    print(f"READY -> event, real s:                   median {median:.2f}, p95 {p95:.2f}, max {worst:.2f}")
    print(f"events:                                   {json.dumps(r['statuses'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=300.0, help="emulated seconds (default 300)")
    parser.add_argument("--clock-speed", type=float, default=30.0, help="emulated seconds per real second")
    parser.add_argument("--measure-intervals", type=int, default=4, help="poll intervals counted (default 4)")
    args = parser.parse_args()
    with emulator(args.clock_speed) as (root, connection):
        os.environ["AIRFLOW_CONN_PINTEREST_DEFAULT"] = connection
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")  # not 1,000 "is ready" lines
        account = json.loads(connection)["extra"]["ad_account_id"]
        control = Control(root)
        print(f"creating {args.triggers} audiences on the emulator ...", flush=True)
        ids = create_audiences(args.triggers + 1, account)
        result = asyncio.run(benchmark(args, control, account, ids))
    report(args, result)


if __name__ == "__main__":
    main()
