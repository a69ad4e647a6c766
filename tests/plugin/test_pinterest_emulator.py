"""The ``pinterest_emulator`` fixture as the provider's own tests load it (the installed ``pytest11`` plugin):
the connection it sets, and its helpers read against what the provider's hook and operators did."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.operators.ad_group import PinterestUpdateAdGroupAudiencesOperator
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator
from airflow_provider_pinterest_audiences.testing.emulator_client import (
    EmulatorControlError,
    PinterestEmulator,
)
from airflow_provider_pinterest_audiences.testing.hashing import hash_identifiers

EMAILS = [f" Member{i}@Example.com" for i in range(150)]


class _TaskInstance:
    def xcom_push(self, key: str, value: Any) -> None:
        """The upload operator pushes its summary; these tests read the emulator instead."""


def upload(name: str, values: list[str], list_type: str = "EMAIL") -> str:
    operator = PinterestUploadCustomerListOperator(
        task_id="upload", customer_list_name=name, source=values, list_type=list_type, hashing_processes=1
    )
    list_id = operator.execute({"ti": _TaskInstance()})
    assert isinstance(list_id, str), list_id  # one list type: one list id
    return list_id


def customer_list_audience(name: str, list_id: str) -> str:
    hook = PinterestHook()
    rule = {"customer_list_id": list_id}
    created = hook.create_audience(
        hook.default_ad_account_id or "", name=name, audience_type="CUSTOMER_LIST", rule=rule
    )
    return str(created["id"])


def test_the_default_connection_points_at_this_tests_emulator(pinterest_emulator: PinterestEmulator) -> None:
    connection = json.loads(os.environ["AIRFLOW_CONN_PINTEREST_DEFAULT"])
    assert connection["host"] == pinterest_emulator.base_url
    assert connection["extra"]["ad_account_id"] == pinterest_emulator.ad_account_id
    assert pinterest_emulator.conn_id == "pinterest_default"
    assert PinterestHook().test_connection()[0] is True


@pytest.mark.parametrize(
    ("list_type", "values"),
    [
        ("EMAIL", [" Ann@Example.com", "bob@example.org\t"]),
        ("IDFA", ["6d92078a-8246-4ba4-ae5b-76104861e7dc"]),
        ("MAID", ["0F7C6A1E-3B2D-4C5E-9F8A-1B2C3D4E5F60"]),
        ("LR_ID", [" Xy123 "]),
    ],
)
def test_members_are_what_the_operator_uploaded_hashed_the_same_way(
    pinterest_emulator: PinterestEmulator, list_type: str, values: list[str]
) -> None:
    upload("Customers", values, list_type)
    assert pinterest_emulator.members("Customers") == set(hash_identifiers(values, list_type))
    assert pinterest_emulator.customer_list("Customers")["list_type"] == list_type


def test_hash_identifiers_normalises_like_pinterest_asks() -> None:
    assert hash_identifiers([" Ann@Example.COM "]) == [hashlib.sha256(b"ann@example.com").hexdigest()]
    digest = hashlib.sha256(b"pinner").hexdigest()
    assert hash_identifiers([digest.upper()], "HASHED_PINNER_ID") == [digest]


def test_hash_identifiers_refuses_what_the_operator_would_skip() -> None:
    with pytest.raises(ValueError, match="1 malformed_email"):
        hash_identifiers(["ann@example.com", "not an email"])


@pytest.mark.pinterest_emulator(clock_speed=0.001, min_audience_size=10)
def test_audience_status_and_size_follow_the_fast_forwarded_clock(
    pinterest_emulator: PinterestEmulator,
) -> None:
    customer_list_audience("Buyers", upload("Buyers", EMAILS))
    assert pinterest_emulator.audience("Buyers")["status"] != "READY"

    pinterest_emulator.advance_clock(60)

    buyers = pinterest_emulator.audience("Buyers")
    assert buyers["status"] == "READY"
    assert buyers["size"] == pinterest_emulator.customer_list("Buyers")["matched_count"] > 0


def test_configure_changes_live_settings(pinterest_emulator: PinterestEmulator) -> None:
    customer_list_audience("Few", upload("Few", EMAILS[:20]))
    pinterest_emulator.advance_clock(60)
    assert pinterest_emulator.audience("Few")["status"] == "TOO_SMALL"

    assert pinterest_emulator.configure(min_audience_size=1)["min_audience_size"] == 1
    assert pinterest_emulator.audience("Few")["status"] == "READY"


def test_targeting_shows_the_audiences_an_ad_group_includes_and_excludes(
    pinterest_emulator: PinterestEmulator,
) -> None:
    group = pinterest_emulator.ad_groups()[0]["id"]
    buyers = customer_list_audience("Buyers", upload("Buyers", EMAILS))
    PinterestUpdateAdGroupAudiencesOperator(
        task_id="target", ad_group_ids=[group], exclude=[buyers], mode="add"
    ).execute({})
    assert pinterest_emulator.targeting(group)["AUDIENCE_EXCLUDE"] == [buyers]
    assert "AUDIENCE_EXCLUDE" not in pinterest_emulator.targeting(pinterest_emulator.ad_groups()[1]["id"])


def test_requests_by_category(pinterest_emulator: PinterestEmulator) -> None:
    assert pinterest_emulator.request_counts() == {}
    hook = PinterestHook()
    assert hook.find_audience(pinterest_emulator.ad_account_id, "Nobody") is None
    upload("Buyers", EMAILS)

    counts = pinterest_emulator.request_counts()
    writes = pinterest_emulator.requests("ads_write")
    assert counts["ads_write"] == len(writes) >= 1
    assert {request["method"] for request in writes} <= {"POST", "PATCH"}
    assert {request["method"] for request in pinterest_emulator.requests("ads_read")} == {"GET"}
    assert len(pinterest_emulator.requests()) == sum(counts.values())


def test_lookups_by_name_say_what_exists(pinterest_emulator: PinterestEmulator) -> None:
    upload("Buyers", EMAILS[:3])
    with pytest.raises(LookupError, match=r"0 customer_lists named 'Sellers' \(there are: \['Buyers'\]\)"):
        pinterest_emulator.members("Sellers")
    with pytest.raises(LookupError, match="no ad group '1'"):
        pinterest_emulator.targeting("1")


def test_control_errors_carry_the_emulators_answer(pinterest_emulator: PinterestEmulator) -> None:
    with pytest.raises(EmulatorControlError, match=r"HTTP 400: .*seconds must be a number >= 0"):
        pinterest_emulator.advance_clock(-1)


def test_reset_forgets_everything(pinterest_emulator: PinterestEmulator) -> None:
    upload("Buyers", EMAILS[:3])
    pinterest_emulator.reset()
    with pytest.raises(LookupError):
        pinterest_emulator.customer_list("Buyers")
    assert pinterest_emulator.request_counts() == {}
