"""``customer_lists.upload``: plans in, results out, against a fake API that keeps each list's members."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan, UploadResult
from airflow_provider_pinterest_audiences.customer_lists.records import IdentifierType
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.customer_lists.upload import run_uploads
from airflow_provider_pinterest_audiences.exceptions import (
    PinterestApiError,
    PinterestError,
    PinterestInvalidArgumentError,
)

LOG = logging.getLogger(__name__)
EMAILS = [f"person{index}@example.com" for index in range(5)]


def digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


class FakeApi:
    """Just enough of ``PinterestHook``: lists by name, their members and counters, every request kept.

    ``before_update`` is called with each update's number (from 1) before it changes anything: it may raise
    (the worker dies mid-upload) or act meanwhile.
    """

    def __init__(self) -> None:
        self.lists: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.exceptions: list[dict[str, Any]] = []
        self.before_update: Callable[[int], object] = lambda number: None

    def find_customer_list(self, account: str, name: str) -> dict[str, Any] | None:
        return next(({"id": key} for key, found in self.lists.items() if found["name"] == name), None)

    def get_customer_list(self, account: str, list_id: str) -> dict[str, Any]:
        if list_id not in self.lists:
            raise PinterestApiError("get_customer_list", 404, 2, "Customer list not found")
        found = self.lists[list_id]
        return {
            "id": list_id,
            "status": "READY",
            "num_uploaded_user_records": found["uploaded"],
            "num_removed_user_records": found["removed"],
            "num_batches": found["batches"],
        }

    def create_customer_list(
        self, account: str, *, name: str, records: str, list_type: str
    ) -> dict[str, Any]:
        list_id = str(len(self.lists) + 1)
        self.lists[list_id] = {"name": name, "members": set(), "uploaded": 0, "removed": 0, "batches": 0}
        self.update_customer_list(account, list_id, operation_type="ADD", records=records)
        return {"id": list_id}

    def update_customer_list(
        self, account: str, list_id: str, *, operation_type: str, records: str
    ) -> dict[str, Any]:
        self.before_update(len(self.requests) + 1)
        found, sent = self.lists[list_id], records.split(",")
        self.requests.append((list_id, operation_type, len(sent)))
        found["batches"] += 1
        if operation_type == "ADD":
            found["members"].update(sent)
            found["uploaded"] += len(sent)
        else:
            found["members"].difference_update(sent)
            found["removed"] += len(sent)
        return {"exceptions": self.exceptions}

    def close(self) -> None:
        pass


def plan(values: list[Any], **kwargs: Any) -> UploadPlan:
    settings: dict[str, Any] = {
        "ad_account_id": "1",
        "source": CustomerSource(source=values),
        "customer_list_name": "newsletter",
        "records_per_request": 2,
        "hashing_processes": 1,
        "max_concurrent_requests": 1,
        **kwargs,
    }
    return UploadPlan(**settings)


def upload(api: FakeApi, values: list[Any], **kwargs: Any) -> UploadResult:
    return run_uploads({"EMAIL": plan(values, **kwargs)}, api, lambda: api, LOG)["EMAIL"]  # type: ignore[arg-type]


def test_append_creates_the_list_with_its_first_batch_and_sends_each_identifier_once() -> None:
    api = FakeApi()
    result = upload(api, [*EMAILS, EMAILS[0], "not an email"])
    assert result.customer_list_id == "1"
    assert api.lists["1"]["members"] == {digest(email) for email in EMAILS}
    assert [(operation, size) for _, operation, size in api.requests] == [("ADD", 2), ("ADD", 2), ("ADD", 1)]
    assert (result.counts.read, result.counts.valid, result.sent, result.batches) == (7, 6, {"ADD": 5}, 3)
    assert result.list_before is None
    assert result.list_after is not None and result.list_after["num_uploaded_user_records"] == 5


def test_append_run_again_finds_the_list_by_name() -> None:
    api = FakeApi()
    upload(api, EMAILS[:2])
    result = upload(api, EMAILS[2:])
    assert result.customer_list_id == "1" and list(api.lists) == ["1"]
    assert result.list_before is not None and result.list_before["num_uploaded_user_records"] == 2
    assert len(api.lists["1"]["members"]) == 5


def test_remove_takes_the_identifiers_out_of_the_named_list() -> None:
    api = FakeApi()
    upload(api, EMAILS)
    result = upload(api, EMAILS[:3], mode="remove")
    assert api.lists["1"]["members"] == {digest(email) for email in EMAILS[3:]}
    assert result.sent == {"REMOVE": 3}


def test_remove_from_a_list_that_does_not_exist_names_the_list_and_sends_nothing() -> None:
    api = FakeApi()
    with pytest.raises(PinterestInvalidArgumentError, match="no customer list named 'newsletter'") as raised:
        upload(api, EMAILS, mode="remove")
    assert raised.value.argument == "customer_list_name"
    assert api.requests == []


def test_mirror_adds_the_newcomers_and_removes_those_who_left(tmp_path: Path) -> None:
    api, state = FakeApi(), str(tmp_path / "newsletter.snapshot")
    upload(api, EMAILS[:3], mode="mirror", state_path=state)
    result = upload(api, EMAILS[1:], mode="mirror", state_path=state)
    assert api.lists["1"]["members"] == {digest(email) for email in EMAILS[1:]}
    assert result.sent == {"ADD": 2, "REMOVE": 1}
    assert result.desired_members == 4


def test_dry_run_plans_the_requests_and_sends_nothing() -> None:
    api = FakeApi()
    upload(api, EMAILS[:3])
    sent_before = list(api.requests)
    result = upload(api, EMAILS[3:], dry_run=True)
    assert api.requests == sent_before
    assert result.planned == Counter({"ADD": 2})
    assert result.planned_batches == 1
    assert result.sent == Counter()


def test_too_many_invalid_rows_fail_before_any_request() -> None:
    api = FakeApi()
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        upload(api, [EMAILS[0], "x", "y"], max_invalid_ratio=0.5)
    assert raised.value.argument == "max_invalid_ratio"
    assert api.requests == []


def test_list_exceptions_above_the_limit_fail_after_sending() -> None:
    api = FakeApi()
    api.exceptions = [{"code": 7, "message": "bad record"}]
    with pytest.raises(PinterestError, match="above max_list_exceptions=1"):
        upload(api, EMAILS, max_list_exceptions=1)
    assert api.lists["1"]["members"] == {digest(email) for email in EMAILS}


def test_one_source_feeds_one_list_per_type() -> None:
    api = FakeApi()
    maid = "8d3f6a4e-1b2c-4d5e-9f60-7a8b9c0d1e2f"
    rows = [{"email": EMAILS[0], "gaid": maid}, {"email": EMAILS[1], "gaid": ""}]
    plans = {
        "EMAIL": plan(
            rows, source=CustomerSource(source=rows, column="email"), customer_list_name="crm email"
        ),
        "MAID": plan(
            rows,
            source=CustomerSource(source=rows, column="gaid"),
            list_type=IdentifierType.MAID,
            customer_list_name="crm maid",
        ),
    }
    results = run_uploads(plans, api, lambda: api, LOG)  # type: ignore[arg-type]
    members = {found["name"]: found["members"] for found in api.lists.values()}
    assert members == {"crm email": {digest(EMAILS[0]), digest(EMAILS[1])}, "crm maid": {digest(maid)}}
    assert {key: result.sent["ADD"] for key, result in results.items()} == {"EMAIL": 2, "MAID": 1}
