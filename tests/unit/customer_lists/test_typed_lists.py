"""One list per identifier type: the ``columns`` check, list names, per-type state paths and summaries."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.records import IdentifierType
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.customer_lists.typed_lists import (
    check_list_names,
    parse_columns,
    state_path_for,
    typed_plans,
    typed_summary,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

ALLOWED = "EMAIL, MAID, IDFA, LR_ID, DLX_ID, HASHED_PINNER_ID"


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ({}, f"is empty: map at least one list type ({ALLOWED})"),
        (["email"], "expected a mapping of list type to column"),
        ({"PHONE": "phone"}, f"'PHONE' is not a list type; use one of {ALLOWED}"),
        ({1: "email"}, f"key 1 is not a list type; use one of {ALLOWED}"),
        ({"EMAIL": ""}, "the column of EMAIL must be a column name or a 0-based index, got ''"),
        ({"EMAIL": -1}, "got -1"),
        ({"EMAIL": True}, "got True"),
    ],
)
def test_bad_columns_are_refused_naming_the_argument_and_the_types(columns: Any, problem: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        parse_columns(columns)
    assert raised.value.argument == "columns"
    assert problem in str(raised.value)


def test_columns_keep_their_order() -> None:
    assert list(parse_columns({"MAID": 2, "EMAIL": "email"}).items()) == [("MAID", 2), ("EMAIL", "email")]


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        ({"EMAIL": "a"}, "its keys (EMAIL) must be the list types of columns (EMAIL, MAID)"),
        ({"EMAIL": "a", "MAID": " "}, "the name of the MAID list must be a non-empty string"),
        ({"EMAIL": "a", "MAID": "a"}, "two types share one name"),
        ("a", "expected a mapping of list type to list name"),
    ],
)
def test_bad_list_names_are_refused(names: Any, problem: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        check_list_names(names, {"EMAIL": "email", "MAID": "gaid"})
    assert raised.value.argument == "list_names"
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("state_path", "expected"),
    [
        ("s3://bucket/pinterest/crm.snapshot", "s3://bucket/pinterest/crm.MAID.snapshot"),
        ("file:///state/crm", "file:///state/crm.MAID"),
        ("file:///state/.hidden", "file:///state/.hidden.MAID"),
    ],
)
def test_each_type_has_its_own_state_path(state_path: str, expected: str) -> None:
    assert str(state_path_for(state_path, "MAID")) == expected


def test_typed_plans_give_each_type_its_column_name_state_and_suppression_set() -> None:
    plan = UploadPlan(
        ad_account_id="1",
        source=CustomerSource(source="s3://bucket/crm.csv", has_header=True),
        mode="mirror",
        customer_list_name="CRM",
        state_path="file:///state/crm.snapshot",
        suppression_path="ignored: the per-type mapping decides",
    )
    plans = typed_plans(plan, {"EMAIL": "email", "MAID": 3}, suppression_paths={"MAID": "file:///erased"})
    email, maid = plans["EMAIL"], plans["MAID"]
    assert (email.list_type, maid.list_type) == (IdentifierType.EMAIL, IdentifierType.MAID)
    assert (email.source.column, maid.source.column) == ("email", 3)
    assert email.source.has_header and maid.source.source == "s3://bucket/crm.csv"
    assert (email.customer_list_name, maid.customer_list_name) == ("CRM (EMAIL)", "CRM (MAID)")
    assert [str(p.state_path) for p in plans.values()] == [
        "file:///state/crm.EMAIL.snapshot",
        "file:///state/crm.MAID.snapshot",
    ]
    assert (email.suppression_path, maid.suppression_path) == (None, "file:///erased")
    named = typed_plans(plan, {"EMAIL": "email"}, list_names={"EMAIL": "Newsletter"})
    assert named["EMAIL"].customer_list_name == "Newsletter"


def _summary(list_id: str, valid: int, invalid: dict[str, int], added: int) -> dict[str, Any]:
    return {
        "customer_list_id": list_id,
        "mode": "append",
        "read": 10,
        "quoted_line_breaks": 2,
        "valid": valid,
        "invalid": invalid,
        "desired_members": valid - 1,
        "added": added,
        "removed": 0,
        "suppressed": 0,
        "duplicates": 1,
        "batches": 1,
        "exceptions": {},
        "dry_run": False,
        "planned": {"add": added, "remove": 0, "batches": 1},
        "prehashed": {"md5": 0, "sha1": 1, "sha256": 2},
        "rate_limit_waits": None,
    }


def test_the_summary_holds_each_type_and_their_total() -> None:
    email = _summary("11", 9, {"malformed_email": 1}, 8)
    maid = _summary("22", 4, {"missing": 5, "malformed_device_id": 1}, 3)
    summary = typed_summary({"EMAIL": email, "MAID": maid}, {"count": 3, "seconds": 1.5})
    assert (summary["EMAIL"], summary["MAID"]) == (email, maid)
    total = summary["total"]
    assert total["customer_list_ids"] == {"EMAIL": "11", "MAID": "22"}
    assert (total["read"], total["quoted_line_breaks"]) == (10, 2)  # rows, read once
    assert (total["valid"], total["added"], total["duplicates"], total["desired_members"]) == (13, 11, 2, 11)
    assert total["invalid"] == {"malformed_device_id": 1, "malformed_email": 1, "missing": 5}
    assert total["planned"] == {"add": 11, "remove": 0, "batches": 2}
    assert total["prehashed"] == {"md5": 0, "sha1": 2, "sha256": 4}
    assert total["rate_limit_waits"] == {"count": 3, "seconds": 1.5}  # the task's hooks served both lists
