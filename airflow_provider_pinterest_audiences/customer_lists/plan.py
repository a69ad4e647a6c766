"""What one upload is asked to do (``UploadPlan``) and what it did (``UploadResult``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pinterest_audiences.customer_lists.batches import (
    DEFAULT_MAX_RECORDS_PER_REQUEST,
    DEFAULT_MAX_REQUEST_BYTES,
    records_per_request,
)
from airflow_provider_pinterest_audiences.customer_lists.lease import DEFAULT_LEASE_TTL
from airflow_provider_pinterest_audiences.customer_lists.records import (
    DEFAULT_OPTIONS,
    IdentifierOptions,
    IdentifierType,
    RecordCounts,
)
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.customer_lists.suppression import ReadCounts

MODES = ("append", "remove", "mirror")
DEFAULT_MAX_INVALID_RATIO = 0.5
DEFAULT_MAX_CONCURRENT_REQUESTS = 2


@dataclass(frozen=True)
class UploadPlan:
    """One upload, every argument rendered and checked: which list, what to read, how to send."""

    ad_account_id: str
    source: CustomerSource
    list_type: IdentifierType = IdentifierType.EMAIL
    mode: str = "append"
    customer_list_name: str | None = None
    customer_list_id: str | None = None
    state_path: Any = None
    max_invalid_ratio: float = DEFAULT_MAX_INVALID_RATIO
    records_per_request: int = records_per_request(DEFAULT_MAX_RECORDS_PER_REQUEST, DEFAULT_MAX_REQUEST_BYTES)
    hashing_processes: int | None = None
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS
    on_stale_snapshot: str = "fail"
    lease_ttl: float = DEFAULT_LEASE_TTL
    suppression_path: Any = None
    dry_run: bool = False
    max_list_exceptions: int | None = None
    identifier_options: IdentifierOptions = DEFAULT_OPTIONS

    def batches_for(self, records: int) -> int:
        """Requests needed for ``records`` records of one operation."""
        return -(-records // self.records_per_request)


LIST_HEALTH_KEYS = ("status", "num_uploaded_user_records", "num_removed_user_records", "num_batches")


def list_health(customer_list: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a customer list says about its uploads (status and counters), for the summary."""
    if customer_list is None:
        return None
    return {key: customer_list.get(key) for key in LIST_HEALTH_KEYS}


@dataclass
class UploadResult:
    """What one upload did: the list, the counts read, the records sent (or, in a dry run, planned) per
    operation, the batches, and the list as Pinterest reported it before and after."""

    customer_list_id: str | None
    counts: RecordCounts
    sent: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    desired_members: int | None = None
    list_before: Mapping[str, Any] | None = None
    list_after: Mapping[str, Any] | None = None
    planned: Counter[str] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    planned_batches: int = 0
    """Requests the planned records take, in batches of the size sent (set by ``run_uploads``)."""

    def summary(
        self, plan: UploadPlan, rate_limit_waits: Mapping[str, float] | None = None
    ) -> dict[str, Any]:
        """The ``upload_summary`` XCom: ids and counts only, never an identifier. ``rate_limit_waits``: the
        hooks' waits on HTTP 429 (``count``, ``seconds``), when given.

        ``desired_members`` counts the distinct identifiers kept (valid, not suppressed); ``duplicates`` the
        valid rows that repeated one of them; ``prehashed`` the valid rows that arrived already hashed, by
        algorithm (``md5``, ``sha1``, ``sha256``: sent as they are); ``quoted_line_breaks`` the line breaks
        inside quoted fields of the CSV rows read (legal, but stray quotes also make them: see
        ``RecordCounts``).
        """
        suppressed = self.counts.suppressed if isinstance(self.counts, ReadCounts) else 0
        kept = self.counts.valid - suppressed
        return {
            "customer_list_id": self.customer_list_id,
            "mode": plan.mode,
            "list_type": plan.list_type.value,
            "read": self.counts.read,
            "valid": self.counts.valid,
            "invalid": {str(reason): count for reason, count in sorted(self.counts.invalid.items())},
            "prehashed": self.counts.prehashed_by_kind(),
            "quoted_line_breaks": self.counts.quoted_line_breaks,
            "desired_members": self.desired_members,
            "added": self.sent["ADD"],
            "removed": self.sent["REMOVE"],
            "suppressed": suppressed,
            "duplicates": None if self.desired_members is None else kept - self.desired_members,
            "batches": self.batches,
            "list_before": list_health(self.list_before),
            "list_after": list_health(self.list_after),
            "exceptions": dict(sorted(self.exceptions.items())),
            "dry_run": plan.dry_run,
            "rate_limit_waits": None if rate_limit_waits is None else dict(rate_limit_waits),
            "planned": {
                "add": self.planned["ADD"],
                "remove": self.planned["REMOVE"],
                "batches": self.planned_batches,
            },
        }
