"""``hash_identifiers=False`` against the emulator: partner ids appended and removed as given, a retried task
ending in the clean state, a known user matched by the plain id, and no raw identifier in the logs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.exceptions import PinterestApiError
from airflow_provider_pinterest_audiences.testing.emulator_client import PinterestEmulator
from tests.integration.emulator_api import emulator_settings, failing_from_update, server_fixture
from tests.integration.test_customer_list_operator import (
    lists_named,
    members,
    pinterest_connection,  # noqa: F401 (an autouse fixture: the connection to this module's server)
    run,
    sha,
)

server = server_fixture(emulator_settings(ads_write_per_minute=100_000))
_names = (f"partners-{n}" for n in itertools.count())


def ramp_ids(numbers: range) -> list[str]:
    """LiveRamp-like tokens: mixed case, hyphens and underscores, 50 characters."""
    return [f"XY{n:04d}Ab-cD_eF{'Gh' * 16}{n:04d}" for n in numbers]


@pytest.mark.parametrize("list_type", ["LR_ID", "DLX_ID"])
def test_append_then_remove_partner_ids_sent_as_given(server: EmulatorServer, list_type: str) -> None:
    name, ids = next(_names), ramp_ids(range(30))
    source = [f"  {value} " for value in ids] + ids[:5] + ["", "bad,id"]
    arguments = {"customer_list_name": name, "list_type": list_type, "hash_identifiers": False}

    list_id, summary = run(source=source, max_records_per_request=7, **arguments)

    assert members(server, list_id) == set(ids)
    assert (summary["valid"], summary["duplicates"], summary["added"]) == (35, 5, 30)
    assert summary["invalid"] == {"comma": 1, "missing": 1}

    _, removed = run(source=ids[:12], mode="remove", **arguments)
    assert members(server, list_id) == set(ids[12:])
    assert removed["removed"] == 12


def test_hashed_and_unhashed_uploads_of_one_source_differ_only_in_the_records_sent(
    server: EmulatorServer,
) -> None:
    ids = ramp_ids(range(10))
    hashed_id, _ = run(customer_list_name=next(_names), source=ids, list_type="LR_ID")
    plain_id, _ = run(customer_list_name=next(_names), source=ids, list_type="LR_ID", hash_identifiers=False)
    assert members(server, hashed_id) == {sha(value) for value in ids}
    assert members(server, plain_id) == set(ids)


@pytest.mark.parametrize("mode", ["append", "remove"])
def test_a_retried_task_ends_in_the_clean_state(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    name, ids = next(_names), ramp_ids(range(100))
    arguments = {"customer_list_name": name, "list_type": "LR_ID", "hash_identifiers": False}
    list_id, _ = run(source=ids if mode == "remove" else ids[:3], **arguments)
    with failing_from_update(server, monkeypatch, 3), pytest.raises(PinterestApiError):
        run(source=ids[10:], mode=mode, max_records_per_request=20, **arguments)
    assert members(server, list_id) not in (set(ids[:10]), set(ids[:3]) | set(ids[10:]))  # half done

    retried_id, _ = run(source=ids[10:], mode=mode, **arguments)

    assert retried_id == list_id
    expected = set(ids[:10]) if mode == "remove" else set(ids[:3]) | set(ids[10:])
    assert members(server, list_id) == expected
    assert len(lists_named(server, name)) == 1


def test_logs_show_counts_never_partner_ids(
    server: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    ids = [f"SecretRamp{n:03d}-Private" for n in range(40)]
    with caplog.at_level("DEBUG"):
        run(customer_list_name=next(_names), source=ids, list_type="LR_ID", hash_identifiers=False)
    output = caplog.text + "".join(capfd.readouterr())
    assert "sent as given (hash_identifiers=False)" in output
    assert "secretramp" not in output.lower()


@pytest.mark.pinterest_emulator(known_users=("LR_ID:Xy-123", "DLX_ID:Dlx-42"))
def test_a_known_user_matches_the_partner_id_sent_as_given(pinterest_emulator: PinterestEmulator) -> None:
    for list_type, known in (("LR_ID", "Xy-123"), ("DLX_ID", "Dlx-42")):
        name = f"known {list_type}"
        run(
            customer_list_name=name,
            source=[f" {known} ", "Zz-999"],
            list_type=list_type,
            hash_identifiers=False,
        )
        assert pinterest_emulator.members(name) == {known, "Zz-999"}
        assert pinterest_emulator.customer_list(name)["matched_count"] == 1


def test_an_erase_suppression_set_keeps_erased_ids_out_of_an_unhashed_upload(
    server: EmulatorServer, tmp_path: Path
) -> None:
    from airflow_provider_pinterest_audiences.operators.erase import PinterestEraseCustomersOperator

    ids, suppression_path = ramp_ids(range(20)), str(tmp_path / "erased-lr.suppression")
    PinterestEraseCustomersOperator(
        task_id="erase", source=ids[:4], list_type="LR_ID", suppression_path=suppression_path,
        ad_account_ids=[], hashing_processes=1,
    ).execute({})  # fmt: skip

    list_id, summary = run(
        customer_list_name=next(_names),
        source=ids,
        list_type="LR_ID",
        hash_identifiers=False,
        suppression_path=suppression_path,
    )

    assert members(server, list_id) == set(ids[4:])
    assert summary["suppressed"] == 4
