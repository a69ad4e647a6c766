"""Several identifier types in one source (``columns``) against the emulator: one list per type, each mode,
per-type state, summaries and retries."""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestInvalidArgumentError
from tests.integration.emulator_api import control, emulator_settings, server_fixture
from tests.integration.test_customer_list_operator import (
    lists_named,
    members,
    pinterest_connection,  # noqa: F401 (an autouse fixture: the connection to this module's server)
    run,
    sha,
)

server = server_fixture(emulator_settings(ads_write_per_minute=100_000))

COLUMNS = {"EMAIL": "email", "MAID": "gaid"}
_names = (f"crm-{n}" for n in itertools.count())


def gaid(number: int) -> str:
    return f"{number:08x}-0000-4000-8000-{number:012x}"


def crm_rows(numbers: range, *, with_gaid: int = 2) -> list[dict[str, str]]:
    """CRM rows: every customer has an email, every ``with_gaid``-th one a GAID too (others blank)."""
    return [
        {"email": f"User{n}@Example.com", "gaid": gaid(n + 1).upper() if n % with_gaid == 0 else ""}
        for n in numbers
    ]


def expected(rows: list[dict[str, str]]) -> dict[str, set[str]]:
    """The digests each list should hold: EMAIL lower-cased, MAID lower-cased, blanks left out."""
    return {
        "EMAIL": {sha(row["email"].lower()) for row in rows},
        "MAID": {sha(row["gaid"].lower()) for row in rows if row["gaid"]},
    }


def list_members(server: EmulatorServer, list_ids: dict[str, str]) -> dict[str, set[str]]:
    return {key: members(server, list_id) for key, list_id in list_ids.items()}


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(
        "id,email,gaid\n" + "".join(f"{i},{r['email']},{r['gaid']}\n" for i, r in enumerate(rows))
    )
    return path


def test_one_read_of_an_iterable_fills_one_list_per_type(server: EmulatorServer) -> None:
    rows = [*crm_rows(range(40)), {"email": "junk", "gaid": "not-a-uuid"}, {"email": "user0@example.com"}]
    name = next(_names)
    once = iter(rows)  # a generator: a second read would find it empty

    list_ids, summary = run(customer_list_name=name, source=once, columns=COLUMNS)

    assert set(list_ids) == {"EMAIL", "MAID"}
    assert list_members(server, list_ids) == expected(rows[:40])
    for key, list_id in list_ids.items():
        (found,) = lists_named(server, f"{name} ({key})")
        assert (found["id"], found["list_type"]) == (list_id, key)
    email, maid, total = summary["EMAIL"], summary["MAID"], summary["total"]
    assert (email["read"], email["valid"], email["duplicates"], email["invalid"]) == (
        42,
        41,
        1,
        {"malformed_email": 1},
    )
    assert (maid["read"], maid["valid"], maid["duplicates"]) == (42, 20, 0)
    assert maid["invalid"] == {"malformed_device_id": 1, "missing": 21}
    assert (total["read"], total["quoted_line_breaks"]) == (42, 0)
    assert total["customer_list_ids"] == list_ids
    assert total["added"] == email["added"] + maid["added"] == 40 + 20
    assert total["invalid"] == {"malformed_email": 1, "malformed_device_id": 1, "missing": 21}


def test_a_csv_file_with_list_names_and_a_sql_query(server: EmulatorServer, tmp_path: Path) -> None:
    rows = crm_rows(range(30), with_gaid=3)
    names = {"EMAIL": next(_names), "MAID": next(_names)}
    from_file, _ = run(
        list_names=names, source=str(write_csv(tmp_path / "crm.csv", rows)), has_header=True, columns=COLUMNS
    )
    assert list_members(server, from_file) == expected(rows)
    assert {key: lists_named(server, name)[0]["id"] for key, name in names.items()} == from_file

    database = tmp_path / "crm.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE crm (email TEXT, gaid TEXT)")
        db.executemany("INSERT INTO crm VALUES (?, ?)", [(r["email"], r["gaid"] or None) for r in rows])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_CRM_DB", json.dumps({"conn_type": "sqlite", "host": str(database)}))
        from_sql, _ = run(
            customer_list_name=next(_names),
            sql="SELECT email, gaid FROM crm",
            sql_conn_id="crm_db",
            columns=COLUMNS,
        )
    assert list_members(server, from_sql) == expected(rows)


def test_remove_takes_each_type_out_of_its_own_list(server: EmulatorServer) -> None:
    name = next(_names)
    rows = crm_rows(range(30))
    list_ids, _ = run(customer_list_name=name, source=rows, columns=COLUMNS)
    removed_ids, summary = run(customer_list_name=name, source=rows[:10], columns=COLUMNS, mode="remove")
    assert removed_ids == list_ids
    assert list_members(server, list_ids) == expected(rows[10:])
    assert (summary["EMAIL"]["removed"], summary["MAID"]["removed"]) == (10, 5)


def test_mirror_keeps_one_snapshot_per_type(server: EmulatorServer, tmp_path: Path) -> None:
    name, state = next(_names), tmp_path / "crm.snapshot"
    first = crm_rows(range(30))
    list_ids, _ = run(
        customer_list_name=name, source=first, columns=COLUMNS, mode="mirror", state_path=str(state)
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["crm.EMAIL.snapshot", "crm.MAID.snapshot"]

    second = crm_rows(range(10, 50))
    again, summary = run(
        customer_list_name=name, source=second, columns=COLUMNS, mode="mirror", state_path=str(state)
    )
    assert again == list_ids
    assert list_members(server, list_ids) == expected(second)
    assert (summary["EMAIL"]["added"], summary["EMAIL"]["removed"]) == (20, 10)
    assert (summary["MAID"]["added"], summary["MAID"]["removed"]) == (10, 5)


def test_a_retry_after_one_type_failed_ends_in_the_clean_state(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The EMAIL list is done, the MAID list fails midway: the retry sends EMAIL nothing, MAID the rest."""
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

    name, state = next(_names), str(tmp_path / "crm.snapshot")
    arguments = {"customer_list_name": name, "columns": COLUMNS, "mode": "mirror", "state_path": state}
    list_ids, _ = run(source=crm_rows(range(20)), **arguments)
    wanted = crm_rows(range(100, 300))
    real_update = PinterestHook.update_customer_list
    maid_calls = itertools.count(1)

    def break_the_maid_list(self: PinterestHook, account: str, list_id: str, **kwargs: Any) -> Any:
        if list_id == list_ids["MAID"] and next(maid_calls) == 3:  # its third request on fails
            control(server, "POST", "/faults", json={"fail_every_n": 1})
        return real_update(self, account, list_id, **kwargs)

    monkeypatch.setattr(PinterestHook, "update_customer_list", break_the_maid_list)
    try:
        with pytest.raises(PinterestApiError):
            run(source=wanted, max_records_per_request=20, **arguments)
    finally:
        control(server, "POST", "/faults", json={"fail_every_n": 0})
    assert members(server, list_ids["EMAIL"]) == expected(wanted)["EMAIL"]
    assert members(server, list_ids["MAID"]) != expected(wanted)["MAID"]
    monkeypatch.setattr(PinterestHook, "update_customer_list", real_update)

    retried, summary = run(source=wanted, **arguments)

    assert retried == list_ids
    assert list_members(server, list_ids) == expected(wanted)
    assert summary["EMAIL"]["batches"] == 0
    assert summary["MAID"]["removed"] == 10
    assert all(len(lists_named(server, f"{name} ({key})")) == 1 for key in COLUMNS)


def test_append_retry_reuses_each_list(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

    name, rows = next(_names), crm_rows(range(60))
    real_create = PinterestHook.create_customer_list

    def create_then_fail_maid(self: PinterestHook, *args: Any, list_type: str, **kwargs: Any) -> Any:
        if list_type == "MAID":
            raise PinterestApiError("create_customer_list", 500, None, "injected failure")
        return real_create(self, *args, list_type=list_type, **kwargs)

    monkeypatch.setattr(PinterestHook, "create_customer_list", create_then_fail_maid)
    with pytest.raises(PinterestApiError):
        run(customer_list_name=name, source=rows, columns=COLUMNS)
    monkeypatch.setattr(PinterestHook, "create_customer_list", real_create)
    list_ids, _ = run(customer_list_name=name, source=rows, columns=COLUMNS)
    assert list_members(server, list_ids) == expected(rows)
    assert all(len(lists_named(server, f"{name} ({key})")) == 1 for key in COLUMNS)


@pytest.mark.parametrize(
    ("rows", "argument"),
    [
        ([{"email": "a@x.com", "gaid": ""}] * 5, "source"),  # the MAID column is blank throughout
        ([{"email": "junk", "gaid": gaid(1)}] * 5, "source"),  # no valid EMAIL at all
        (
            [{"email": f"u{n}@x.com", "gaid": "bad" if n % 3 else gaid(n + 1)} for n in range(9)],
            "max_invalid_ratio",
        ),
    ],
)
def test_bad_input_in_one_type_fails_before_any_api_call(
    server: EmulatorServer, rows: list[dict[str, str]], argument: str
) -> None:
    before = control(server, "GET", "/requests")["total"]
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        run(customer_list_name=next(_names), source=rows, columns=COLUMNS)
    assert raised.value.argument == argument
    assert control(server, "GET", "/requests")["total"] == before


def test_blank_cells_stay_out_of_the_invalid_ratio(server: EmulatorServer) -> None:
    rows = crm_rows(range(40), with_gaid=10)  # 90% of GAID cells blank
    list_ids, summary = run(customer_list_name=next(_names), source=rows, columns=COLUMNS)
    assert summary["MAID"]["invalid"] == {"missing": 36}
    assert list_members(server, list_ids) == expected(rows)


def test_suppression_sets_apply_per_type(server: EmulatorServer, tmp_path: Path) -> None:
    from airflow_provider_pinterest_audiences.customer_lists.snapshot import DigestBuckets, as_state_path
    from airflow_provider_pinterest_audiences.customer_lists.suppression import add_to_suppression

    rows = crm_rows(range(20))
    erased = tmp_path / "erased-maids.suppression"
    with DigestBuckets(str(tmp_path)) as buckets:
        buckets.add(bytes.fromhex(sha(rows[0]["gaid"].lower())))
        add_to_suppression(as_state_path(str(erased)), "MAID", buckets, str(tmp_path))
    list_ids, summary = run(
        customer_list_name=next(_names), source=rows, columns=COLUMNS, suppression_path={"MAID": str(erased)}
    )
    assert members(server, list_ids["MAID"]) == expected(rows)["MAID"] - {sha(rows[0]["gaid"].lower())}
    assert members(server, list_ids["EMAIL"]) == expected(rows)["EMAIL"]
    assert (summary["MAID"]["suppressed"], summary["EMAIL"]["suppressed"]) == (1, 0)


def test_the_demo_prints_one_line_per_type_from_the_task_log(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    from scripts.demo import upload_lines

    rows = [*crm_rows(range(30)), crm_rows(range(1))[0], {"email": "junk", "gaid": ""}]
    with caplog.at_level(logging.INFO):
        list_ids, summary = run(customer_list_name=next(_names), source=rows, columns=COLUMNS)
    # The task log: stdlib logging on Airflow 2 (also echoed to stderr), structlog's output on Airflow 3.
    lines = upload_lines(caplog.text) or upload_lines("".join(capfd.readouterr()))
    assert [line.split()[0] for line in lines] == ["EMAIL", "MAID"]
    for line, key in zip(lines, COLUMNS, strict=True):
        part = summary[key]
        invalid = sum(part["invalid"].values())
        assert line.split() == [
            key,
            "sent",
            str(part["added"]),
            "invalid",
            str(invalid),
            "duplicates",
            str(part["duplicates"]),
            "customer",
            "list",
            list_ids[key],
        ]


def test_a_dry_run_plans_each_list_and_sends_nothing(server: EmulatorServer) -> None:
    name, rows = next(_names), crm_rows(range(30))
    existing, _ = run(customer_list_name=name, source=rows[:10], columns=COLUMNS)
    list_ids, summary = run(customer_list_name=name, source=rows, columns=COLUMNS, dry_run=True)
    assert list_ids == existing
    assert (summary["EMAIL"]["planned"]["add"], summary["MAID"]["planned"]["add"]) == (30, 15)
    assert (summary["total"]["planned"]["add"], summary["total"]["added"]) == (45, 0)
    assert list_members(server, existing) == expected(rows[:10])


def test_lineage_reads_the_source_once_and_writes_each_list(server: EmulatorServer, tmp_path: Path) -> None:
    from airflow_provider_pinterest_audiences.operators.customer_list import (
        PinterestUploadCustomerListOperator,
    )
    from tests.integration.test_customer_list_operator import FakeTaskInstance

    rows = crm_rows(range(20))
    path = write_csv(tmp_path / "crm.csv", rows)
    operator = PinterestUploadCustomerListOperator(
        task_id="upload", customer_list_name=next(_names), source=str(path), has_header=True, columns=COLUMNS
    )
    list_ids = operator.execute({"ti": FakeTaskInstance()})
    lineage = operator.get_openlineage_facets_on_complete(None)
    (source,) = lineage.inputs
    assert source.inputFacets["inputStatistics"].rowCount == 20
    assert sorted(output.name.rsplit("/", 1)[-1] for output in lineage.outputs) == sorted(list_ids.values())
