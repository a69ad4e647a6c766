"""PinterestEraseCustomersOperator against the emulator, with the upload operator honouring its suppression
set: erasure across ad accounts, the purged mirror snapshot, retries, and bad input."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists import suppression
from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator
from airflow_provider_pinterest_audiences.operators.erase import PinterestEraseCustomersOperator
from tests.integration.emulator_api import ACCOUNT, OTHER_ACCOUNT, control, failing_from_update
from tests.unit.customer_lists.test_erase import HEX_DIGEST, digests_in

CUSTOMERS = [f"user{n}@example.com" for n in range(20)]
ERASED = ["User3@Example.com ", "user7@example.com", "nobody@example.com"]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class FakeTI:
    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    settings = EmulatorSettings(ad_account_ids=(OTHER_ACCOUNT,), ads_write_per_minute=100_000)
    with EmulatorServer(settings) as running, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", running.connection_json())
        yield running


@pytest.fixture(autouse=True)
def fresh(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_pinterest_audiences.hooks import pinterest

    monkeypatch.setattr(pinterest, "_sleep", lambda seconds: None)
    control(server, "POST", "/reset")


def upload(**kwargs: Any) -> dict[str, Any]:
    ti = FakeTI()
    PinterestUploadCustomerListOperator(task_id="upload", hashing_processes=1, **kwargs).execute({"ti": ti})
    summary: dict[str, Any] = ti.xcoms["upload_summary"]
    return summary


def erase(**kwargs: Any) -> dict[str, Any]:
    operator = PinterestEraseCustomersOperator(task_id="erase", hashing_processes=1, **kwargs)
    summary: dict[str, Any] = operator.execute({"ti": FakeTI()})
    return summary


def members(server: EmulatorServer, account: str, list_id: str) -> set[str]:
    path = f"/ad_accounts/{account}/customer_lists/{list_id}/records"
    return set(control(server, "GET", path)["members"])


def writes(server: EmulatorServer) -> int:
    count: int = control(server, "GET", "/requests")["by_category"].get("ads_write", 0)
    return count


def mirror_newsletter(paths: dict[str, Any]) -> dict[str, Any]:
    """The nightly mirror of ``CUSTOMERS``, honouring the suppression set."""
    return upload(
        customer_list_name="newsletter",
        source=CUSTOMERS,
        mode="mirror",
        state_path=paths["state"],
        suppression_path=paths["suppression"],
    )


def setup_lists(tmp_path: Path) -> dict[str, Any]:
    """A nightly mirror in the first account, an appended list in the second."""
    paths = {
        "state": str(tmp_path / "newsletter.snapshot"),
        "suppression": str(tmp_path / "erased.suppression"),
    }
    mirror = mirror_newsletter(paths)
    appended = upload(customer_list_name="partners", source=CUSTOMERS[:10], ad_account_id=OTHER_ACCOUNT)
    return {**paths, "mirror": mirror["customer_list_id"], "appended": appended["customer_list_id"]}


def test_erase_across_accounts_sticks_and_the_next_mirror_run_honours_it(
    server: EmulatorServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    lists = setup_lists(tmp_path)
    capfd.readouterr()
    with caplog.at_level(logging.DEBUG):
        summary = erase(source=ERASED, suppression_path=lists["suppression"], state_paths=[lists["state"]])
    gone = {sha("user3@example.com"), sha("user7@example.com")}
    assert summary["ad_account_ids"] == [ACCOUNT, OTHER_ACCOUNT]  # every account the token can see
    assert summary["distinct"] == 3
    assert summary["lists"] == {
        lists["mirror"]: {"ad_account_id": ACCOUNT, "sent": 3, "batches": 1},
        lists["appended"]: {"ad_account_id": OTHER_ACCOUNT, "sent": 3, "batches": 1},
    }
    assert summary["suppression"] == {"added": 3, "total": 3}
    assert summary["snapshots"] == {
        lists["state"]: {"customer_list_id": lists["mirror"], "purged": 2, "fresh": True}
    }
    assert not members(server, ACCOUNT, lists["mirror"]) & gone
    assert not members(server, OTHER_ACCOUNT, lists["appended"]) & gone
    told = f"{summary}\n{caplog.text}\n{capfd.readouterr()}".lower()  # Airflow 3 logs through structlog
    assert "sent 3 distinct email identifiers" in told and "batch 1: remove 3 records" in told
    assert not HEX_DIGEST.search(told)
    assert not any(email.strip().lower() in told for email in ERASED)

    # The nightly mirror still reads the erased customers in its source: they are held back, nothing moves.
    before = writes(server)
    nightly = mirror_newsletter(lists)
    assert (nightly["suppressed"], nightly["added"], nightly["removed"]) == (2, 0, 0)
    assert writes(server) == before
    assert not members(server, ACCOUNT, lists["mirror"]) & gone

    # An append given the set never sends them either; one whose every identifier is erased fails.
    again = upload(
        customer_list_id=lists["appended"],
        source=CUSTOMERS,
        ad_account_id=OTHER_ACCOUNT,
        suppression_path=lists["suppression"],
    )
    assert (again["suppressed"], again["added"]) == (2, 18)
    assert not members(server, OTHER_ACCOUNT, lists["appended"]) & gone
    with pytest.raises(PinterestInvalidArgumentError, match="suppression set"):
        upload(customer_list_name="partners", source=ERASED[:2], suppression_path=lists["suppression"])


def test_a_retried_erase_ends_as_a_clean_run(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lists = setup_lists(tmp_path)
    original = suppression.finish_purge

    def killed(*args: Any) -> None:
        raise RuntimeError("worker killed after the REMOVE batches")

    from airflow_provider_pinterest_audiences.customer_lists import erase as erase_module

    monkeypatch.setattr(erase_module, "finish_purge", killed)
    with pytest.raises(RuntimeError):
        erase(source=ERASED, suppression_path=lists["suppression"], state_paths=lists["state"])
    monkeypatch.setattr(erase_module, "finish_purge", original)
    retried = erase(source=ERASED, suppression_path=lists["suppression"], state_paths=lists["state"])
    assert retried["suppression"] == {"added": 0, "total": 3}
    assert retried["snapshots"][lists["state"]]["fresh"] is True
    nightly = mirror_newsletter(lists)
    assert (nightly["suppressed"], nightly["added"], nightly["removed"]) == (2, 0, 0)
    assert len(members(server, ACCOUNT, lists["mirror"])) == 18


def test_bad_input_and_foreign_snapshots_fail_before_any_write(
    server: EmulatorServer, tmp_path: Path
) -> None:
    lists = setup_lists(tmp_path)
    before = writes(server)
    with pytest.raises(PinterestInvalidArgumentError, match="source"):
        erase(source=["not an email", "nor this"], suppression_path=lists["suppression"])
    with pytest.raises(
        PinterestInvalidArgumentError, match=rf"state_paths.*ad accounts erased \({OTHER_ACCOUNT}\)"
    ):
        erase(
            source=ERASED,
            ad_account_ids=[OTHER_ACCOUNT],
            suppression_path=lists["suppression"],
            state_paths=[lists["state"]],
        )
    with pytest.raises(PinterestInvalidArgumentError, match=r"state_paths.*names the suppression set"):
        erase(source=ERASED, suppression_path=lists["state"], state_paths=[lists["state"]])
    assert writes(server) == before
    assert not (tmp_path / "erased.suppression").exists()
    with pytest.raises(PinterestInvalidArgumentError, match=r"state_paths.*needs suppression_path"):
        PinterestEraseCustomersOperator(task_id="erase", source=ERASED, state_paths=[lists["state"]])
    with pytest.raises(PinterestInvalidArgumentError, match="ad_account_ids"):
        PinterestEraseCustomersOperator(task_id="erase", source=ERASED, ad_account_ids="12,abc")


def test_a_named_snapshot_of_another_type_keeps_its_list_out_of_the_erase(
    server: EmulatorServer, tmp_path: Path
) -> None:
    maid_state = str(tmp_path / "devices.snapshot")
    devices = upload(
        customer_list_name="devices",
        source=["6D92078A-8246-4BA4-AE5B-76104861E7DC"],
        list_type="MAID",
        mode="mirror",
        state_path=maid_state,
    )
    summary = erase(
        source=ERASED,
        ad_account_ids=ACCOUNT,
        suppression_path=str(tmp_path / "erased.suppression"),
        state_paths=[maid_state],
    )
    assert summary["skipped_lists"] == [devices["customer_list_id"]]
    assert summary["lists"] == {}


def erase_in_batches_of_two(lists: dict[str, Any]) -> dict[str, Any]:
    """The erase of ``ERASED`` in two REMOVE batches per list, one at a time."""
    return erase(
        source=ERASED,
        suppression_path=lists["suppression"],
        state_paths=[lists["state"]],
        max_records_per_request=2,
        max_concurrent_requests=1,
    )


def end_state(server: EmulatorServer, lists: dict[str, Any]) -> dict[str, Any]:
    """Both lists' members, the suppression set, the snapshot, and what the nightly mirror then does."""
    state = {
        "mirror": members(server, ACCOUNT, lists["mirror"]),
        "appended": members(server, OTHER_ACCOUNT, lists["appended"]),
        "suppression": digests_in(lists["suppression"]),
        "snapshot": digests_in(lists["state"]),
    }
    before = writes(server)
    nightly = mirror_newsletter(lists)
    nightly_writes = writes(server) - before
    return {**state, "nightly": (nightly["suppressed"], nightly["added"], nightly["removed"], nightly_writes)}


@pytest.mark.parametrize("kill_at", [2, 3], ids=["midway-through-a-list", "between-lists"])
def test_a_retry_of_an_erase_killed_while_sending_ends_as_a_clean_run(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kill_at: int
) -> None:
    (tmp_path / "clean").mkdir()
    lists = setup_lists(tmp_path / "clean")
    clean = erase_in_batches_of_two(lists)
    assert clean["lists"] == {
        lists["mirror"]: {"ad_account_id": ACCOUNT, "sent": 3, "batches": 2},
        lists["appended"]: {"ad_account_id": OTHER_ACCOUNT, "sent": 3, "batches": 2},
    }
    expected = end_state(server, lists)
    assert expected["nightly"] == (2, 0, 0, 0)
    gone = {sha("user3@example.com"), sha("user7@example.com")}
    assert expected["mirror"] == {sha(email) for email in CUSTOMERS} - gone
    assert expected["appended"] == {sha(email) for email in CUSTOMERS[:10]} - gone

    control(server, "POST", "/reset")
    (tmp_path / "killed").mkdir()
    lists = setup_lists(tmp_path / "killed")
    # The kill_at-th REMOVE batch fails: the first list's second batch, or the second list's first.
    with failing_from_update(server, monkeypatch, kill_at), pytest.raises(PinterestApiError):
        erase_in_batches_of_two(lists)
    retried = erase_in_batches_of_two(lists)
    assert sorted(retried["lists"].values(), key=str) == sorted(clean["lists"].values(), key=str)
    assert retried["suppression"] == {"added": 0, "total": 3}
    assert end_state(server, lists) == expected
