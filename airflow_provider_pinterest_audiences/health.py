"""Audience health after a wait: the figures a run reports, the match-rate estimate, and the guards.

The figures of a READY audience are pushed as XComs (``audience_size``, ``audience_status`` and, where
it can be estimated, ``match_rate``) by the create operators and the sensor. The match rate is an
**estimate**: the audience's ``size`` (which Pinterest rounds, and which lags an upload by up to
48 hours) divided by the unique valid identifiers sent (``sent_count``, e.g. the upload's
``upload_summary``). It can exceed 1 when the list holds members of earlier runs.

Guards (``min_audience_size``, ``min_match_rate``) fail the task with a message saying what was
expected and what was seen, or only log a warning with ``on_low_match="warn"``. The failure is an
ordinary task failure, so the task's retries apply (a size that lags may have grown by then).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_pinterest_audiences.arguments import ascii_number, optional, whole_number
from airflow_provider_pinterest_audiences.exceptions import PinterestError, PinterestInvalidArgumentError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_pinterest_audiences.arguments import ArgumentCheck

SIZE_XCOM_KEY = "audience_size"
STATUS_XCOM_KEY = "audience_status"
MATCH_RATE_XCOM_KEY = "match_rate"
ON_LOW_MATCH_CHOICES = ("fail", "warn")
#: ``upload_summary`` keys that count the unique valid identifiers sent, best first.
_SUMMARY_SENT_KEYS = ("desired_members", "added")


class PinterestAudienceHealthError(PinterestError):
    """A READY audience is smaller, or matched fewer identifiers, than a guard asks."""


def sent_count(value: Any, argument: str) -> int:
    """Unique valid identifiers sent: a count, or an ``upload_summary`` mapping (``desired_members``
    in mirror mode, else ``added``)."""
    if isinstance(value, Mapping):
        for key in _SUMMARY_SENT_KEYS:
            if value.get(key) is not None:
                return whole_number(value[key], argument)
        raise PinterestInvalidArgumentError(
            argument,
            f"an upload_summary needs one of {', '.join(_SUMMARY_SENT_KEYS)}; got keys {sorted(value)}",
        )
    return whole_number(value, argument)


def match_rate_bound(value: Any, argument: str) -> float:
    """A share: a number above 0 and at most 1."""
    rate = ascii_number(value)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
        raise PinterestInvalidArgumentError(
            argument, f"expected a share above 0 and at most 1, got {value!r}"
        )
    return float(rate)


def on_low_match(value: Any, argument: str) -> str:
    if value not in ON_LOW_MATCH_CHOICES:
        raise PinterestInvalidArgumentError(
            argument, f"expected one of {', '.join(ON_LOW_MATCH_CHOICES)}, got {value!r}"
        )
    return str(value)


#: The health arguments' checks, for a task's ``argument_checks``.
HEALTH_ARGUMENT_CHECKS: Mapping[str, ArgumentCheck] = {
    "sent_count": optional(sent_count),
    "min_audience_size": optional(whole_number),
    "min_match_rate": optional(match_rate_bound),
    "on_low_match": on_low_match,
}
#: The health arguments that may be templated (``sent_count`` usually comes from the upload's XCom).
HEALTH_TEMPLATE_FIELDS = ("sent_count", "min_audience_size", "min_match_rate")


@dataclass(frozen=True)
class AudienceHealth:
    """One run's figures for an audience or customer list: ids, status and counts only."""

    object_id: str
    status: str | None
    size: int | None
    sent: int | None

    @classmethod
    def of(cls, found: Mapping[str, Any], sent: int | None) -> AudienceHealth:
        size = found.get("size")
        return cls(
            object_id=str(found.get("id")),
            status=found.get("status"),
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            sent=sent,
        )

    @property
    def match_rate(self) -> float | None:
        """Estimated share of the identifiers sent that Pinterest matched: ``size / sent``."""
        if self.size is None or not self.sent:
            return None
        return round(self.size / self.sent, 4)

    def figures(self) -> dict[str, Any]:
        """The figures as one JSON-able mapping (Asset event extra, health table row)."""
        return {
            "id": self.object_id,
            "status": self.status,
            "size": self.size,
            "sent": self.sent,
            "match_rate": self.match_rate,
        }


@dataclass(frozen=True)
class HealthGuard:
    """``min_audience_size`` and ``min_match_rate``, and what a shortfall does (``on_low_match``)."""

    min_audience_size: int | None = None
    min_match_rate: float | None = None
    on_low_match: str = "fail"

    @classmethod
    def from_checked(cls, checked: Mapping[str, Any]) -> HealthGuard:
        """The guard of a task's checked arguments (``HEALTH_ARGUMENT_CHECKS``)."""
        return cls(checked["min_audience_size"], checked["min_match_rate"], checked["on_low_match"])

    def shortfalls(self, health: AudienceHealth) -> list[str]:
        """What falls short, each as "expected ..., saw ..."; empty when all is well."""
        problems = []
        if self.min_audience_size is not None and (health.size or 0) < self.min_audience_size:
            problems.append(
                f"expected a size of at least {self.min_audience_size:,}, saw {_shown(health.size)}"
            )
        rate = health.match_rate
        if self.min_match_rate is not None and (rate is None or rate < self.min_match_rate):
            seen = (
                f"{rate:.1%} ({_shown(health.size)} of {health.sent:,} identifiers sent)"
                if rate is not None
                else f"no estimate (size {_shown(health.size)}, sent {_shown(health.sent)})"
            )
            problems.append(f"expected a match rate of at least {self.min_match_rate:.1%}, saw {seen}")
        return problems

    def check(self, health: AudienceHealth, label: str, log: logging.Logger) -> None:
        """Raise :class:`PinterestAudienceHealthError` on a shortfall (or warn: ``on_low_match="warn"``)."""
        problems = self.shortfalls(health)
        if not problems:
            return
        message = f"Pinterest {label} {health.object_id} is {health.status}, but " + "; ".join(problems)
        if self.on_low_match == "warn":
            log.warning("%s (on_low_match='warn': carrying on).", message)
            return
        raise PinterestAudienceHealthError(
            f"{message}. Add records to the list or widen the rule, or set on_low_match='warn'."
        )


def _shown(count: int | None) -> str:
    return "unknown" if count is None else f"{count:,}"


def check_guard_target(checked: Mapping[str, Any], *, has_size: bool, reason: str) -> None:
    """Guards need a size: an error naming the guard when the task cannot read one (``reason``)."""
    for argument in ("min_audience_size", "min_match_rate"):
        if checked.get(argument) is not None and not has_size:
            raise PinterestInvalidArgumentError(argument, f"needs an audience size, but {reason}")
    if checked.get("min_match_rate") is not None and checked.get("sent_count") is None:
        raise PinterestInvalidArgumentError(
            "min_match_rate",
            "needs sent_count (the identifiers sent, e.g. the upload's upload_summary XCom) to estimate it",
        )


def upload_figures(summary: Mapping[str, Any]) -> dict[str, Any]:
    """An upload's figures for its outlet Asset events: the list id and counts (``upload_summary``)."""
    invalid = summary.get("invalid") or {}
    waits = summary.get("rate_limit_waits") or {}
    return {
        "id": summary.get("customer_list_id"),
        "read": summary.get("read"),
        "valid": summary.get("valid"),
        "invalid": sum(invalid.values()) if isinstance(invalid, Mapping) else invalid,
        "duplicates": summary.get("duplicates"),
        "added": summary.get("added"),
        "removed": summary.get("removed"),
        "desired_members": summary.get("desired_members"),
        "rate_limit_waits": waits.get("count"),
        "dry_run": bool(summary.get("dry_run")),
    }


def push_health(context: Context, health: AudienceHealth) -> None:
    """Push ``audience_size``, ``audience_status`` and ``match_rate``, each only when known: one not pushed
    pulls as ``None`` all the same, and Airflow 3.0 refuses to store a ``None`` XCom (apache/airflow#55062).
    """
    figures = {
        SIZE_XCOM_KEY: health.size,
        STATUS_XCOM_KEY: health.status,
        MATCH_RATE_XCOM_KEY: health.match_rate,
    }
    for key, value in figures.items():
        if value is not None:
            context["ti"].xcom_push(key=key, value=value)


def report_health(
    context: Context, found: Mapping[str, Any], checked: Mapping[str, Any], label: str, log: logging.Logger
) -> AudienceHealth:
    """After a wait: push the figures, emit them as metrics, then apply the guard (which may raise)."""
    from airflow_provider_pinterest_audiences.metrics import emit_audience_health

    health = AudienceHealth.of(found, checked["sent_count"])
    push_health(context, health)
    emit_audience_health(health)
    HealthGuard.from_checked(checked).check(health, label, log)
    return health
