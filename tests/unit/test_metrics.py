"""Metrics through Airflow's Stats client: names, values and tags (ids and counts only)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.health import AudienceHealth
from airflow_provider_pinterest_audiences.metrics import airflow_stats, emit_audience_health, emit_upload
from tests.unit.test_health import FakeStats

SUMMARY = {
    "customer_list_id": "3969491",
    "mode": "mirror",
    "list_type": "EMAIL",
    "read": 1_050,
    "valid": 1_000,
    "invalid": {"malformed_email": 30, "missing": 20},
    "desired_members": 990,
    "added": 600,
    "removed": 25,
    "batches": 3,
}
LIST_TAGS = {"customer_list_id": "3969491", "mode": "mirror", "list_type": "EMAIL"}


def test_upload_counters() -> None:
    stats = FakeStats()

    emit_upload(SUMMARY, stats)

    assert stats.sent == [
        ("incr", "pinterest.customer_list.3969491.records_sent", 625, LIST_TAGS),
        ("incr", "pinterest.customer_list.3969491.records_added", 600, LIST_TAGS),
        ("incr", "pinterest.customer_list.3969491.records_removed", 25, LIST_TAGS),
        ("incr", "pinterest.customer_list.3969491.records_invalid", 50, LIST_TAGS),
    ]


def test_duplicates_and_suppressed_are_counted_when_the_summary_has_them() -> None:
    stats = FakeStats()

    emit_upload({**SUMMARY, "duplicates": 12, "suppressed": 3}, stats)

    assert ("incr", "pinterest.customer_list.3969491.records_duplicate", 12, LIST_TAGS) in stats.sent
    assert ("incr", "pinterest.customer_list.3969491.records_suppressed", 3, LIST_TAGS) in stats.sent


def test_rate_limit_waits_are_counted_when_the_summary_has_them() -> None:
    stats = FakeStats()

    emit_upload({**SUMMARY, "rate_limit_waits": {"count": 3, "seconds": 1.25}}, stats)

    assert ("incr", "pinterest.customer_list.3969491.rate_limit_waits", 3, LIST_TAGS) in stats.sent
    assert ("incr", "pinterest.customer_list.3969491.rate_limit_wait_ms", 1_250, LIST_TAGS) in stats.sent


@pytest.mark.parametrize("change", [{"customer_list_id": None}, {"dry_run": True}])
def test_an_upload_that_wrote_nothing_emits_nothing(change: dict[str, Any]) -> None:
    stats = FakeStats()

    emit_upload({**SUMMARY, **change}, stats)

    assert stats.sent == []


def test_audience_gauges_only_for_known_figures() -> None:
    stats = FakeStats()
    tags = {"audience_id": "77"}

    emit_audience_health(AudienceHealth("77", "READY", 700, 1_000), stats)
    emit_audience_health(AudienceHealth("77", "PROCESSING", None, None), stats)

    assert stats.sent == [
        ("gauge", "pinterest.audience.77.size", 700, tags),
        ("gauge", "pinterest.audience.77.match_rate", 0.7, tags),
    ]


EMIT = """
from airflow.configuration import conf
try:  # Airflow 3.2+: a task process points the Task SDK's Stats at the configured backend as it starts
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics import stats_utils
except ImportError:  # Airflow 2.11-3.1: Stats reads the configuration on first use
    pass
else:
    if hasattr(stats, "initialize"):  # 3.3+, as the task runner's main() does
        legacy_names = conf.getboolean("metrics", "legacy_names_on")
        stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=legacy_names)
    else:  # 3.2, as the task runner's main() does
        stats.Stats.initialize(factory=stats_utils.get_stats_factory(stats.Stats))
from airflow_provider_pinterest_audiences.health import AudienceHealth
from airflow_provider_pinterest_audiences.metrics import emit_audience_health, emit_upload
emit_upload({"customer_list_id": "3969491", "mode": "append", "list_type": "EMAIL", "added": 600,
             "removed": 0, "invalid": {"missing": 4}})
emit_audience_health(AudienceHealth("77", "READY", 700, 1000))
"""


def test_airflows_own_stats_client_sends_them_to_statsd_on_loopback() -> None:
    """A fresh process set up for StatsD as a task process is; a UDP socket plays StatsD."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as statsd:
        statsd.bind(("127.0.0.1", 0))
        statsd.settimeout(10)
        env = {
            **os.environ,
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(statsd.getsockname()[1]),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        }
        subprocess.run([sys.executable, "-c", EMIT], env=env, check=True, capture_output=True)
        received = set()
        while len(received) < 6:  # Airflow sends metrics of its own too
            packet = statsd.recv(4096).decode()
            received.update(line for line in packet.splitlines() if line.startswith("airflow.pinterest."))

    assert received == {
        "airflow.pinterest.customer_list.3969491.records_sent:600|c",
        "airflow.pinterest.customer_list.3969491.records_added:600|c",
        "airflow.pinterest.customer_list.3969491.records_removed:0|c",
        "airflow.pinterest.customer_list.3969491.records_invalid:4|c",
        "airflow.pinterest.audience.77.size:700|g",
        "airflow.pinterest.audience.77.match_rate:0.7|g",
    }


def test_airflow_stats_is_airflows_client() -> None:
    from airflow.providers.common.compat.sdk import Stats

    assert airflow_stats() is Stats


def test_the_upload_operator_emits_its_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_pinterest_audiences import metrics
    from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
    from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
    from airflow_provider_pinterest_audiences.operators.customer_list import (
        PinterestUploadCustomerListOperator,
    )
    from tests.integration.test_audience_operators import FakeTI

    stats = FakeStats()
    monkeypatch.setattr(metrics, "airflow_stats", lambda: stats)
    emails = [f"person{i}@example.com" for i in range(40)] + ["not-an-email"]
    with EmulatorServer(EmulatorSettings(), host="127.0.0.1", port=0) as server:
        monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", server.connection_json())
        upload = PinterestUploadCustomerListOperator(
            task_id="upload", customer_list_name="Metrics", source=emails, hashing_processes=1
        )
        list_id = upload.execute({"ti": FakeTI()})

    sent = {stat.rsplit(".", 1)[1]: count for _, stat, count, _ in stats.sent}
    assert {stat.rsplit(".", 1)[0] for _, stat, _, _ in stats.sent} == {f"pinterest.customer_list.{list_id}"}
    assert (sent["records_sent"], sent["records_added"], sent["records_invalid"]) == (40, 40, 1)


def test_an_upload_counts_the_429_waits_of_all_its_sending_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rate-limit storm armed by the first batch sent from a worker thread: the waits of every thread's
    hook reach ``upload_summary`` and the metrics."""
    import threading

    import requests

    from airflow_provider_pinterest_audiences import metrics
    from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
    from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
    from airflow_provider_pinterest_audiences.operators.customer_list import (
        PinterestUploadCustomerListOperator,
    )
    from tests.integration.test_audience_operators import FakeTI

    stats = FakeStats()
    monkeypatch.setattr(metrics, "airflow_stats", lambda: stats)
    storm = {"rate_limit_storm": 4, "storm_retry_after_seconds": 0.02}
    sending_hooks: set[int] = set()
    tallies: set[int] = set()
    armed = threading.Lock()
    update = PinterestHook.update_customer_list

    def arm_then_update(hook: PinterestHook, *args: Any, **kwargs: Any) -> Any:
        with armed:
            if not sending_hooks:
                requests.post(
                    f"{server.root_url}/_emulator/faults", json=storm, timeout=10
                ).raise_for_status()
            sending_hooks.add(id(hook))
            tallies.add(id(hook.rate_limit_waits))
        return update(hook, *args, **kwargs)

    monkeypatch.setattr(PinterestHook, "update_customer_list", arm_then_update)
    emails = [f"person{i}@example.com" for i in range(120)]
    ti = FakeTI()
    with EmulatorServer(EmulatorSettings(), host="127.0.0.1", port=0) as server:
        monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", server.connection_json())
        upload = PinterestUploadCustomerListOperator(
            task_id="upload",
            customer_list_name="Storm",
            source=emails,
            hashing_processes=1,
            max_records_per_request=10,
            max_concurrent_requests=2,
        )
        list_id = upload.execute({"ti": ti})

    waits = ti.xcoms["upload_summary"]["rate_limit_waits"]
    assert len(sending_hooks) == 2 and len(tallies) == 1  # two worker hooks, one tally
    assert waits == {"count": 4, "seconds": 0.08}  # four Retry-After: 0.02
    sent = {stat.rsplit(".", 1)[1]: count for _, stat, count, _ in stats.sent if list_id in stat}
    assert (sent["rate_limit_waits"], sent["rate_limit_wait_ms"]) == (4, round(waits["seconds"] * 1000))
