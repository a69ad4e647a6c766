"""What one upload is asked to do (``UploadPlan``) and what it did (``UploadResult``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pinterest_audiences.customer_lists.batches import (
    DEFAULT_MAX_RECORDS_PER_REQUEST,
    DEFAULT_MAX_REQUEST_BYTES,
    records_per_request,
)
from airflow_provider_pinterest_audiences.customer_lists.lease import DEFAULT_LEASE_TTL
from airflow_provider_pinterest_audiences.customer_lists.records import IdentifierType, RecordCounts
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource

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


@dataclass
class UploadResult:
    """What one upload did: the list, the counts read, the records sent per operation, the batches."""

    customer_list_id: str
    counts: RecordCounts
    sent: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    desired_members: int | None = None

    def summary(self, plan: UploadPlan) -> dict[str, Any]:
        """The ``upload_summary`` XCom: ids and counts only, never an identifier."""
        return {
            "customer_list_id": self.customer_list_id,
            "mode": plan.mode,
            "list_type": plan.list_type.value,
            "read": self.counts.read,
            "valid": self.counts.valid,
            "invalid": {str(reason): count for reason, count in sorted(self.counts.invalid.items())},
            "desired_members": self.desired_members,
            "added": self.sent["ADD"],
            "removed": self.sent["REMOVE"],
            "batches": self.batches,
        }
