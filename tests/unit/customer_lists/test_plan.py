"""``customer_lists.plan``: the requests a plan takes, and the ``upload_summary`` a result makes."""

from __future__ import annotations

from collections import Counter

import pytest

from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan, UploadResult, list_health
from airflow_provider_pinterest_audiences.customer_lists.records import IdentifierType, RecordCounts
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.customer_lists.suppression import ReadCounts

PLAN = UploadPlan(ad_account_id="1", source=CustomerSource(source=[]), records_per_request=10, mode="mirror")


@pytest.mark.parametrize(("records", "requests"), [(0, 0), (1, 1), (10, 1), (11, 2), (25, 3)])
def test_batches_for_rounds_up_to_whole_requests(records: int, requests: int) -> None:
    assert PLAN.batches_for(records) == requests


def test_list_health_keeps_the_status_and_counters_only() -> None:
    customer_list = {"id": "9", "name": "newsletter", "status": "READY", "num_batches": 4}
    assert list_health(customer_list) == {
        "status": "READY",
        "num_uploaded_user_records": None,
        "num_removed_user_records": None,
        "num_batches": 4,
    }
    assert list_health(None) is None


def test_summary_counts_duplicates_among_the_valid_rows_not_suppressed() -> None:
    counts = ReadCounts(read=12, valid=10, invalid=Counter({"malformed_email": 2}), suppressed=3)
    result = UploadResult(
        "9",
        counts,
        sent=Counter({"ADD": 4, "REMOVE": 1}),
        batches=2,
        desired_members=5,
        list_after={"status": "READY", "num_batches": 2},
        planned=Counter({"ADD": 4, "REMOVE": 1}),
        exceptions=Counter({"b": 1, "a": 2}),
        planned_batches=2,
    )
    summary = result.summary(PLAN, {"count": 1, "seconds": 2.0})
    assert summary["duplicates"] == 10 - 3 - 5
    assert (summary["added"], summary["removed"], summary["suppressed"]) == (4, 1, 3)
    assert summary["invalid"] == {"malformed_email": 2}
    assert list(summary["exceptions"].items()) == [("a", 2), ("b", 1)]
    assert summary["planned"] == {"add": 4, "remove": 1, "batches": 2}
    assert summary["rate_limit_waits"] == {"count": 1, "seconds": 2.0}
    assert (summary["mode"], summary["list_type"], summary["list_before"]) == ("mirror", "EMAIL", None)
    assert summary["list_after"] == list_health({"status": "READY", "num_batches": 2})


def test_summary_of_a_read_without_suppression_or_distinct_count() -> None:
    plan = UploadPlan(ad_account_id="1", source=CustomerSource(source=[]), list_type=IdentifierType.MAID)
    summary = UploadResult(None, RecordCounts(read=3, valid=3)).summary(plan)
    assert (summary["suppressed"], summary["duplicates"], summary["rate_limit_waits"]) == (0, None, None)
    assert (summary["customer_list_id"], summary["list_type"], summary["dry_run"]) == (None, "MAID", False)
