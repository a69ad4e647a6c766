"""Airflow metrics for each run, through Airflow's own Stats client (StatsD or OpenTelemetry, as configured).

Names carry the object's id, so plain StatsD (which drops tags) still tells audiences apart; the same
id also travels as a tag for backends that keep tags. Under Airflow's ``[metrics] statsd_prefix``:

* ``pinterest.audience.<id>.size`` and ``pinterest.audience.<id>.match_rate`` (gauges, when known);
* ``pinterest.customer_list.<id>.records_sent``, ``.records_added``, ``.records_removed``,
  ``.records_invalid`` and, when the upload summary counts them, ``.records_duplicate`` and
  ``.records_suppressed`` (counters; none for a dry run);
* ``pinterest.customer_list.<id>.rate_limit_waits`` and ``.rate_limit_wait_ms``: the upload's waits on
  HTTP 429 and the milliseconds they took (counters, when the summary has them).

Ids and counts only, never an identifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from airflow_provider_pinterest_audiences.health import AudienceHealth


class StatsClient(Protocol):
    """The part of Airflow's ``Stats`` used here."""

    def incr(
        self, stat: str, count: int = 1, rate: int = 1, *, tags: dict[str, Any] | None = None
    ) -> None: ...

    def gauge(
        self,
        stat: str,
        value: float,
        rate: int = 1,
        delta: bool = False,
        *,
        tags: dict[str, Any] | None = None,
    ) -> None: ...


def airflow_stats() -> StatsClient:
    """Airflow's Stats client: ``airflow.sdk.observability.stats`` on 3.x, ``airflow.stats`` on 2.11."""
    from airflow.providers.common.compat.sdk import Stats

    client: StatsClient = Stats
    return client


def emit_audience_health(health: AudienceHealth, stats: StatsClient | None = None) -> None:
    """Gauges for an audience's size and estimated match rate (each only when known)."""
    client = stats or airflow_stats()
    tags = {"audience_id": health.object_id}
    prefix = f"pinterest.audience.{health.object_id}"
    if health.size is not None:
        client.gauge(f"{prefix}.size", health.size, tags=tags)
    if health.match_rate is not None:
        client.gauge(f"{prefix}.match_rate", health.match_rate, tags=tags)


def emit_upload(summary: Mapping[str, Any], stats: StatsClient | None = None) -> None:
    """Counters for one upload, from its ``upload_summary``."""
    list_id = summary.get("customer_list_id")
    if list_id is None or summary.get("dry_run"):  # nothing was written
        return
    client = stats or airflow_stats()
    tags = {
        "customer_list_id": str(list_id),
        "mode": str(summary.get("mode")),
        "list_type": str(summary.get("list_type")),
    }
    invalid = summary.get("invalid") or {}
    counts = {
        "records_sent": int(summary.get("added", 0)) + int(summary.get("removed", 0)),
        "records_added": int(summary.get("added", 0)),
        "records_removed": int(summary.get("removed", 0)),
        "records_invalid": sum(invalid.values()) if isinstance(invalid, Mapping) else int(invalid),
    }
    for key, name in (("duplicates", "records_duplicate"), ("suppressed", "records_suppressed")):
        if summary.get(key) is not None:
            counts[name] = int(summary[key])
    waits = summary.get("rate_limit_waits")
    if waits is not None:
        counts["rate_limit_waits"] = int(waits["count"])
        counts["rate_limit_wait_ms"] = round(float(waits["seconds"]) * 1000)
    for name, count in counts.items():
        client.incr(f"pinterest.customer_list.{list_id}.{name}", count, tags=tags)
