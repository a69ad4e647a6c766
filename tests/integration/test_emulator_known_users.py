"""The emulator's ``known_users``: a record matches only if it stands for one of them in a form Pinterest's
spec allows, after the normalisation the README documents: a wrongly normalised identifier matches nobody."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.emulator.__main__ import build_parser
from airflow_provider_pinterest_audiences.emulator.population import matching_records, user_records
from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator
from airflow_provider_pinterest_audiences.testing.emulator_client import (
    EmulatorControlError,
    PinterestEmulator,
)
from tests.integration.emulator_api import ACCOUNT, Api, emulator_settings

IDFAS = ["6D92078A-8246-4BA4-AE5B-76104861E7DC", "0F7C6A1E-3B2D-4C5E-9F8A-1B2C3D4E5F60"]
KNOWN = (
    "EMAIL: Ann@Example.com ",
    "EMAIL:bob@example.org",
    *(f"IDFA:{idfa}" for idfa in IDFAS),
    "MAID:0f7c6a1e-3b2d-4c5e-9f8a-1b2c3d4e5f61",
    "LR_ID:Xy-123",
    "HASHED_PINNER_ID:1000000000000000042",
)


def hexdigest(algorithm: str, text: str) -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


# --- the population -----------------------------------------------------------------------------------------


def test_each_known_user_stands_for_the_forms_its_type_allows() -> None:
    assert user_records("EMAIL", "Ann@Example.com") == {
        "ann@example.com",
        hexdigest("md5", "ann@example.com"),
        hexdigest("sha1", "ann@example.com"),
        hexdigest("sha256", "ann@example.com"),
    }
    assert user_records("IDFA", IDFAS[0]) == {
        hexdigest(name, IDFAS[0].lower()) for name in ("md5", "sha1", "sha256")
    }
    assert user_records("LR_ID", "Xy-123") == {"Xy-123", hexdigest("sha256", "Xy-123")}
    assert user_records("HASHED_PINNER_ID", "42") == {hexdigest("sha256", "42")}


@pytest.mark.parametrize(
    "record",
    [
        hexdigest("sha256", IDFAS[0]),  # an IDFA hashed upper-case, as Apple's uuidString prints it
        hexdigest("sha256", "Ann@Example.com"),  # an email hashed before lower-casing
        hexdigest("sha256", "ann@example.com").upper(),  # hex Pinterest asks in lower case
        "Ann@Example.com",
        IDFAS[0].lower(),  # a device id in plain text: the spec wants it hashed
        hexdigest("sha256", "xy-123"),  # a partner id's case changed
    ],
)
def test_a_wrongly_normalised_record_matches_nobody(record: str) -> None:
    assert record not in matching_records(KNOWN)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"known_users": ("ann@example.com",)}, "TYPE:identifier"),
        ({"known_users": ("PHONE:+15555550100",)}, "TYPE:identifier"),
        ({"known_users": ("EMAIL:  ",)}, "TYPE:identifier"),
        ({"known_users": "EMAIL:ann@example.com"}, "known_users must be a tuple"),
    ],
)
def test_bad_known_users_are_refused_naming_the_setting(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        EmulatorSettings(**changes)


def test_a_list_of_entries_is_kept_as_a_tuple() -> None:
    assert EmulatorSettings(known_users=["EMAIL:ann@example.com"]).known_users == ("EMAIL:ann@example.com",)


def test_the_cli_flag_takes_comma_separated_entries() -> None:
    args = build_parser().parse_args(["--known-users", "EMAIL:ann@example.com, IDFA:" + IDFAS[0]])
    assert args.known_users == ("EMAIL:ann@example.com", "IDFA:" + IDFAS[0])


# --- matching through the API -------------------------------------------------------------------------------


def test_matched_count_counts_only_records_of_known_users() -> None:
    records = [
        hexdigest("sha256", "ann@example.com"),
        hexdigest("md5", "bob@example.org"),
        hexdigest("sha1", "bob@example.org"),  # the same person again: a second record, a second match
        hexdigest("sha256", IDFAS[0]),  # upper-case IDFA: nobody
        hexdigest("sha256", "stranger@example.com"),
    ]
    with EmulatorServer(emulator_settings(known_users=KNOWN)) as server:
        api = Api(server)
        list_id = api.call(
            "POST",
            f"/ad_accounts/{ACCOUNT}/customer_lists",
            json={"name": "mixed", "records": ",".join(records)},
        ).json()["id"]
        report = api.control("GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
        assert (report["member_count"], report["matched_count"]) == (5, 3)
        api.call(
            "PATCH",
            f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}",
            json={"operation_type": "REMOVE", "records": ",".join(records[1:])},
        )
        report = api.control("GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
    assert (report["member_count"], report["matched_count"]) == (1, 1)


# --- the provider's uploads against a known population (the pytest plugin's marker) -------------------------


class _TaskInstance:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def upload(name: str, values: list[str], list_type: str, **kwargs: Any) -> dict[str, Any]:
    operator = PinterestUploadCustomerListOperator(
        task_id="upload",
        customer_list_name=name,
        source=values,
        list_type=list_type,
        hashing_processes=1,
        **kwargs,
    )
    ti = _TaskInstance()
    operator.execute({"ti": ti})
    summary: dict[str, Any] = ti.xcom["upload_summary"]
    return summary


@pytest.mark.pinterest_emulator(known_users=KNOWN)
def test_idfas_match_only_in_the_case_the_readme_documents(pinterest_emulator: PinterestEmulator) -> None:
    as_apple_prints_them = [idfa.upper() for idfa in IDFAS]
    upload("default case", as_apple_prints_them, "IDFA")
    upload("upper case", as_apple_prints_them, "IDFA", device_id_case="upper")
    assert pinterest_emulator.customer_list("default case")["matched_count"] == len(IDFAS)
    upper = pinterest_emulator.customer_list("upper case")
    assert (upper["member_count"], upper["matched_count"]) == (len(IDFAS), 0)


@pytest.mark.pinterest_emulator(known_users=KNOWN)
def test_a_prehashed_md5_email_of_a_known_user_is_accepted_and_matches(
    pinterest_emulator: PinterestEmulator,
) -> None:
    summary = upload(
        "md5 emails",
        [hexdigest("md5", "ann@example.com").upper(), hexdigest("md5", "Bob@Example.org"), "Bob@Example.org"],
        "EMAIL",
    )
    assert summary["prehashed"] == {"md5": 2, "sha1": 0, "sha256": 0}
    assert (summary["valid"], summary["invalid"]) == (3, {})
    assert pinterest_emulator.members("md5 emails") == {
        hexdigest("md5", "ann@example.com"),
        hexdigest("md5", "Bob@Example.org"),  # hashed before lower-casing upstream: sent as given
        hexdigest("sha256", "bob@example.org"),
    }
    assert pinterest_emulator.customer_list("md5 emails")["matched_count"] == 2


def test_known_users_can_be_set_live_from_the_client(pinterest_emulator: PinterestEmulator) -> None:
    pinterest_emulator.set_known_users(EMAIL=["Ann@Example.com"], IDFA=IDFAS[:1])
    upload("live", ["ann@example.com", "zed@example.com", IDFAS[0]], "EMAIL", max_invalid_ratio=0.5)
    live = pinterest_emulator.customer_list("live")
    assert (live["member_count"], live["matched_count"]) == (2, 1)  # the IDFA is no email: skipped


def test_a_bad_live_entry_is_refused_naming_known_users(pinterest_emulator: PinterestEmulator) -> None:
    with pytest.raises(EmulatorControlError, match="known_users"):
        pinterest_emulator.configure(known_users=["PHONE:+15555550100"])
    with pytest.raises(EmulatorControlError, match="known_users"):
        pinterest_emulator.configure(known_users="EMAIL:ann@example.com")
