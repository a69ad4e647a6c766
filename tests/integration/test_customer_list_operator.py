"""PinterestUploadCustomerListOperator against the emulator: exact hashes, modes, retries, sources."""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator
from tests.integration.emulator_api import ACCOUNT, control, emulator_settings, failing_from_update
from tests.object_storage import attach_memory_store

UUIDS = ["6D92078A-8246-4BA4-AE5B-76104861E7DC", "0f7c6a1e-3b2d-4c5e-9f8a-1b2c3d4e5f60"]
_names = (f"customers-{n}" for n in itertools.count())


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class FakeTaskInstance:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(emulator_settings(ads_write_per_minute=100_000), host="127.0.0.1", port=0) as running:
        yield running


@pytest.fixture(autouse=True)
def pinterest_connection(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_pinterest_audiences.hooks import pinterest

    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", server.connection_json())
    monkeypatch.setattr(pinterest, "_sleep", lambda seconds: None)


def run(**kwargs: Any) -> tuple[str, dict[str, Any]]:
    """Execute the operator as a task would; returns the XCom value and the upload summary."""
    kwargs.setdefault("hashing_processes", 1)
    operator = PinterestUploadCustomerListOperator(task_id="upload", **kwargs)
    ti = FakeTaskInstance()
    list_id = operator.execute({"ti": ti})
    return list_id, ti.xcom["upload_summary"]


def members(server: EmulatorServer, list_id: str) -> set[str]:
    return set(control(server, "GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")["members"])


def lists_named(server: EmulatorServer, name: str) -> list[dict[str, Any]]:
    lists = control(server, "GET", "/summary")["ad_accounts"][ACCOUNT]["customer_lists"]
    return [item for item in lists if item["name"] == name]


def request_total(server: EmulatorServer) -> int:
    total: int = control(server, "GET", "/requests")["total"]
    return total


# --- append and remove ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("list_type", "values", "expected"),
    [
        (
            "EMAIL",
            [" Ann@Example.com", "bob@example.org", "junk", ""],
            ["ann@example.com", "bob@example.org"],
        ),
        ("IDFA", [*UUIDS, "not-a-uuid"], [u.lower() for u in UUIDS]),
        ("MAID", [*UUIDS, "00000000-0000-0000-0000-000000000000"], [u.lower() for u in UUIDS]),
        ("LR_ID", ["XY123", " Ab9 "], ["XY123", "Ab9"]),
        ("DLX_ID", ["dlx-1", "dlx-2"], ["dlx-1", "dlx-2"]),
    ],
)
def test_append_sends_exactly_the_hashes_of_valid_rows(
    server: EmulatorServer, list_type: str, values: list[str], expected: list[str]
) -> None:
    name = next(_names)
    list_id, summary = run(customer_list_name=name, source=values, list_type=list_type)
    assert members(server, list_id) == {sha(value) for value in expected}
    assert summary["valid"] == len(expected)
    assert summary["read"] == len(values)
    assert sum(summary["invalid"].values()) == len(values) - len(expected)
    assert lists_named(server, name)[0]["list_type"] == list_type


def test_hashed_pinner_ids_pass_through(server: EmulatorServer) -> None:
    digest = sha("pinner-1")
    list_id, summary = run(
        customer_list_name=next(_names), source=[digest.upper(), "raw-id"], list_type="HASHED_PINNER_ID"
    )
    assert members(server, list_id) == {digest}
    assert summary["invalid"] == {"not_sha256": 1}


def test_append_batches_and_rerun_reuse_one_list(server: EmulatorServer, tmp_path: Path) -> None:
    name = next(_names)
    path = tmp_path / "customers.csv"
    path.write_text("id,email\n" + "".join(f"{i},user{i}@example.com\n" for i in range(250)))
    list_id, summary = run(
        customer_list_name=name,
        source=str(path),
        has_header=True,
        column="email",
        max_records_per_request=100,
    )
    assert summary["batches"] == 3
    assert summary["added"] == 250
    again, _ = run(customer_list_name=name, source=str(path), has_header=True, column="email")
    assert again == list_id
    assert len(lists_named(server, name)) == 1
    assert members(server, list_id) == {sha(f"user{i}@example.com") for i in range(250)}


def test_remove_takes_members_out_of_an_existing_list(server: EmulatorServer) -> None:
    name = next(_names)
    list_id, _ = run(customer_list_name=name, source=["a@x.com", "b@x.com", "c@x.com"])
    same, summary = run(customer_list_id=list_id, source=["B@x.com", "z@x.com"], mode="remove")
    assert same == list_id
    assert summary["removed"] == 2
    assert members(server, list_id) == {sha("a@x.com"), sha("c@x.com")}
    with pytest.raises(PinterestInvalidArgumentError, match="no customer list named"):
        run(customer_list_name=next(_names), source=["a@x.com"], mode="remove")


# --- mirror -----------------------------------------------------------------------------------------------


def test_mirror_over_three_runs(server: EmulatorServer, tmp_path: Path) -> None:
    name, state = next(_names), str(tmp_path / "state" / "mirror.snapshot")
    first_source = [f"user{i}@example.com" for i in range(40)]
    list_id, first = run(customer_list_name=name, source=first_source, mode="mirror", state_path=state)
    assert (first["added"], first["removed"], first["desired_members"]) == (40, 0, 40)
    assert members(server, list_id) == {sha(email) for email in first_source}

    second_source = [f"USER{i}@example.com" for i in range(10, 60)] * 2  # duplicates collapse
    same, second = run(customer_list_name=name, source=second_source, mode="mirror", state_path=state)
    assert same == list_id
    assert (second["added"], second["removed"], second["desired_members"]) == (20, 10, 50)
    assert members(server, list_id) == {sha(f"user{i}@example.com") for i in range(10, 60)}

    report_before = control(server, "GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
    _, third = run(customer_list_name=name, source=second_source, mode="mirror", state_path=state)
    report_after = control(server, "GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
    assert (third["added"], third["removed"], third["batches"]) == (0, 0, 0)
    assert report_after == report_before
    assert len(lists_named(server, name)) == 1


def _list_before_a_failed_run(mode: str, snapshot: Path) -> tuple[str, dict[str, str]]:
    """A fresh list name and the mode's state arguments; in mirror mode the list already has members
    that must leave, and a snapshot saying so."""
    name = next(_names)
    state = {"state_path": str(snapshot)} if mode == "mirror" else {}
    if mode == "mirror":
        run(customer_list_name=name, source=[f"old{i}@x.com" for i in range(30)], mode=mode, **state)
    return name, state


@pytest.mark.parametrize("mode", ["append", "mirror"])
def test_retry_after_a_failure_mid_upload_ends_in_the_clean_state(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    name, state = _list_before_a_failed_run(mode, tmp_path / "retry.snapshot")
    source = [f"new{i}@x.com" for i in range(100)]
    # from the third PATCH on, every request fails
    with failing_from_update(server, monkeypatch, 3), pytest.raises(PinterestApiError):
        run(customer_list_name=name, source=source, mode=mode, max_records_per_request=20, **state)
    list_id, summary = run(customer_list_name=name, source=source, mode=mode, **state)
    assert members(server, list_id) == {sha(email) for email in source}
    assert len(lists_named(server, name)) == 1
    if mode == "mirror":
        assert summary["removed"] == 30
        _, after = run(customer_list_name=name, source=source, mode=mode, **state)
        assert after["batches"] == 0


# --- concurrent upload ------------------------------------------------------------------------------------


class UploadSpy:
    """Wraps the hook's list calls: order of calls, overlap, which hook on which thread, hooks closed.

    The first PATCH calls wait (up to a few seconds) until ``hold_until`` of them run at once, so a pipeline
    that allows that many in flight shows it whatever the machine's load; later calls go straight through.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, hold_until: int = 1) -> None:
        from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

        self.events: list[str] = []
        self.errors: list[BaseException] = []
        self.threads_of_hook: dict[int, set[int]] = {}
        self.closed: set[int] = set()
        self.max_overlap = 0
        self.updates = 0
        self._running = 0
        self._lock = threading.Lock()
        self._overlap_reached = threading.Event()
        real_update = PinterestHook.update_customer_list
        real_create = PinterestHook.create_customer_list
        real_close = PinterestHook.close
        spy = self

        def update(hook: PinterestHook, *args: Any, **kwargs: Any) -> Any:
            with spy._lock:
                spy.updates += 1
                spy._running += 1
                spy.max_overlap = max(spy.max_overlap, spy._running)
                spy.events.append(f"start {kwargs['operation_type']}")
                spy.threads_of_hook.setdefault(id(hook), set()).add(threading.get_ident())
                if spy._running >= hold_until:
                    spy._overlap_reached.set()
            try:
                spy._overlap_reached.wait(timeout=5)
                return real_update(hook, *args, **kwargs)
            except BaseException as exc:
                spy.errors.append(exc)
                raise
            finally:
                with spy._lock:
                    spy._running -= 1
                    spy.events.append("end")

        def create(hook: PinterestHook, *args: Any, **kwargs: Any) -> Any:
            spy.events.append("create")
            return real_create(hook, *args, **kwargs)

        def close(hook: PinterestHook) -> None:
            spy.closed.add(id(hook))
            real_close(hook)

        monkeypatch.setattr(PinterestHook, "update_customer_list", update)
        monkeypatch.setattr(PinterestHook, "create_customer_list", create)
        monkeypatch.setattr(PinterestHook, "close", close)


def test_concurrent_append_creates_one_list_first_and_sends_every_record(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = UploadSpy(monkeypatch, hold_until=3)
    name = next(_names)
    source = [f"buyer{i}@example.com" for i in range(205)]
    list_id, summary = run(
        customer_list_name=name, source=source, max_records_per_request=10, max_concurrent_requests=3
    )
    assert members(server, list_id) == {sha(email) for email in source}
    assert len(lists_named(server, name)) == 1
    assert (summary["added"], summary["batches"]) == (205, 21)
    assert spy.events[0] == "create"  # alone, before any other batch
    assert spy.events.count("create") == 1
    assert spy.updates == 20
    assert spy.max_overlap == 3
    # Each worker thread has its own hook, never shared between threads; every hook is closed.
    assert len(spy.threads_of_hook) == 3
    assert all(len(threads) == 1 for threads in spy.threads_of_hook.values())
    assert set(spy.threads_of_hook) <= spy.closed

    again, rerun = run(customer_list_name=name, source=source, max_records_per_request=10)
    assert again == list_id
    assert rerun["batches"] == 21
    assert len(lists_named(server, name)) == 1
    assert members(server, list_id) == {sha(email) for email in source}


def test_one_request_at_a_time_uses_the_task_hook_only(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = UploadSpy(monkeypatch)
    source = [f"solo{i}@example.com" for i in range(50)]
    list_id, summary = run(
        customer_list_name=next(_names), source=source, max_records_per_request=10, max_concurrent_requests=1
    )
    assert members(server, list_id) == {sha(email) for email in source}
    assert summary["batches"] == 5
    assert spy.max_overlap == 1
    assert list(spy.threads_of_hook.values()) == [{threading.main_thread().ident}]


def test_concurrent_mirror_adds_and_removes_exactly(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = UploadSpy(monkeypatch, hold_until=3)
    name, state = next(_names), str(tmp_path / "concurrent.snapshot")
    options: dict[str, Any] = {"mode": "mirror", "state_path": state, "max_records_per_request": 7}
    first_source = [f"m{i}@example.com" for i in range(60)]
    list_id, first = run(customer_list_name=name, source=first_source, max_concurrent_requests=3, **options)
    assert members(server, list_id) == {sha(email) for email in first_source}
    assert spy.events[0] == "create"
    assert (first["added"], first["removed"], first["batches"]) == (60, 0, 9)

    second_source = [f"m{i}@example.com" for i in range(30, 100)]  # 40 new, 30 gone
    same, second = run(customer_list_name=name, source=second_source, max_concurrent_requests=3, **options)
    assert same == list_id
    assert (second["added"], second["removed"], second["batches"]) == (40, 30, 6 + 5)
    assert members(server, list_id) == {sha(email) for email in second_source}
    assert spy.events.count("create") == 1
    assert spy.max_overlap == 3
    assert len(lists_named(server, name)) == 1

    _, third = run(customer_list_name=name, source=second_source, max_concurrent_requests=3, **options)
    assert third["batches"] == 0


def test_upload_never_holds_more_than_one_batch_beyond_those_in_flight(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_pinterest_audiences.customer_lists import batches, list_writer

    spy = UploadSpy(monkeypatch, hold_until=2)
    real_read_batches = batches.read_batches
    read = itertools.count(1)
    outstanding: list[int] = []

    def counted_read_batches(*args: Any) -> Iterator[batches.Batch]:
        for batch in real_read_batches(*args):
            outstanding.append(next(read) - spy.events.count("end"))
            yield batch

    monkeypatch.setattr(list_writer, "read_batches", counted_read_batches)
    source = [f"bounded{i}@example.com" for i in range(300)]
    list_id, summary = run(
        customer_list_name=next(_names), source=source, max_records_per_request=5, max_concurrent_requests=2
    )
    assert members(server, list_id) == {sha(email) for email in source}
    assert summary["batches"] == 60
    # Read but not yet sent: the first (create) batch is done before the next is read, hence the 1.
    assert max(outstanding) - 1 <= 2 + 1


@pytest.mark.parametrize("mode", ["append", "mirror"])
def test_failure_with_requests_in_flight_stops_and_a_retry_ends_in_the_clean_state(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

    name, state = _list_before_a_failed_run(mode, tmp_path / "concurrent-retry.snapshot")
    snapshot_before = Path(state["state_path"]).read_bytes() if mode == "mirror" else b""
    spy = UploadSpy(monkeypatch, hold_until=3)
    source = [f"new{i}@x.com" for i in range(100)]
    calls = itertools.count(1)
    spied_update = PinterestHook.update_customer_list
    broken = threading.Event()

    def update_then_break(self: PinterestHook, *args: Any, **kwargs: Any) -> Any:
        call = next(calls)
        if call == 4:  # from the fourth PATCH on, every request fails
            control(server, "POST", "/faults", json={"fail_every_n": 1})
            broken.set()
        elif call > 4:
            broken.wait(timeout=5)
        return spied_update(self, *args, **kwargs)

    monkeypatch.setattr(PinterestHook, "update_customer_list", update_then_break)
    try:
        with pytest.raises(PinterestApiError) as raised:
            run(
                customer_list_name=name,
                source=source,
                mode=mode,
                max_records_per_request=5,
                max_concurrent_requests=3,
                **state,
            )
    finally:
        control(server, "POST", "/faults", json={"fail_every_n": 0})
    assert any(raised.value is error for error in spy.errors)  # the original error, raised again
    # Of the 19 (append) or 26 (mirror) batches: three before the fault, the fourth, and at most two more
    # (started as the first three finish): no new batch once a failure is seen.
    assert spy.updates <= 3 + 1 + 2
    assert spy.max_overlap == 3
    assert set(spy.threads_of_hook) <= spy.closed
    if mode == "mirror":  # the snapshot is only written once every batch succeeded
        assert Path(state["state_path"]).read_bytes() == snapshot_before

    monkeypatch.setattr(PinterestHook, "update_customer_list", spied_update)
    list_id, summary = run(
        customer_list_name=name, source=source, mode=mode, max_concurrent_requests=3, **state
    )
    assert members(server, list_id) == {sha(email) for email in source}
    assert len(lists_named(server, name)) == 1
    if mode == "mirror":
        assert summary["removed"] == 30
        _, after = run(customer_list_name=name, source=source, mode=mode, **state)
        assert after["batches"] == 0


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "2"])
def test_invalid_max_concurrent_requests_is_refused_before_any_api_call(
    server: EmulatorServer, value: Any
) -> None:
    before = request_total(server)
    with pytest.raises(PinterestInvalidArgumentError, match="at least 1") as raised:
        run(customer_list_name=next(_names), source=["a@x.com"], max_concurrent_requests=value)
    assert raised.value.argument == "max_concurrent_requests"
    assert request_total(server) == before


# --- sources ----------------------------------------------------------------------------------------------


def test_sql_source(server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.common.compat.sdk import BaseHook

    database = str(tmp_path / "crm.db")
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER, email TEXT)")
        connection.executemany(
            "INSERT INTO customers VALUES (?, ?)", [(i, f"c{i}@shop.com") for i in range(30)]
        )
    hook = SimpleNamespace(get_conn=lambda: sqlite3.connect(database))
    monkeypatch.setattr(BaseHook, "get_hook", classmethod(lambda cls, conn_id, **kwargs: hook))
    list_id, summary = run(
        customer_list_name=next(_names),
        sql="SELECT id, email FROM customers",
        sql_conn_id="crm",
        column="email",
    )
    assert members(server, list_id) == {sha(f"c{i}@shop.com") for i in range(30)}
    assert summary["read"] == 30


def test_object_storage_sources_and_state(server: EmulatorServer, tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    (tmp_path / "local.csv").write_text("a@files.com\nb@files.com\n")
    list_id, _ = run(customer_list_name=next(_names), source=f"file://{tmp_path}/local.csv")
    assert members(server, list_id) == {sha("a@files.com"), sha("b@files.com")}

    attach_memory_store()
    source = ObjectStoragePath("memory://exports/customers.csv")
    source.write_text("email\nm1@mem.com\nm2@mem.com\n")
    name, state = next(_names), "memory://state/mirror.snapshot"
    list_id, _ = run(customer_list_name=name, source=source, has_header=True, mode="mirror", state_path=state)
    source.write_text("email\nm2@mem.com\nm3@mem.com\n")
    _, summary = run(customer_list_name=name, source=source, has_header=True, mode="mirror", state_path=state)
    assert (summary["added"], summary["removed"]) == (1, 1)
    assert members(server, list_id) == {sha("m2@mem.com"), sha("m3@mem.com")}


def test_hashing_in_worker_processes_gives_the_same_list(server: EmulatorServer, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("".join(f"person{i}@example.com\n" for i in range(120_000)))
    list_id, summary = run(customer_list_name=next(_names), source=str(path), hashing_processes=2)
    assert summary["valid"] == 120_000
    assert members(server, list_id) == {sha(f"person{i}@example.com") for i in range(120_000)}


# --- bad input fails before any API call ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"source": ["a@x.com"], "list_type": "PHONE"}, "list_type"),
        ({"source": ["a@x.com"], "mode": "mirror"}, "state_path"),
        ({"source": ["a@x.com"], "mode": "upsert"}, "mode"),
        ({"source": ["a@x.com"], "customer_list_id": "1"}, "customer_list_name"),
        ({"source": ["a@x.com"], "sql": "SELECT 1", "sql_conn_id": "db"}, "source"),
        ({"source": ["a@x.com"], "max_invalid_ratio": 2}, "max_invalid_ratio"),
        ({"source": ["a@x.com"], "max_concurrent_requests": 0}, "max_concurrent_requests"),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_parsed(kwargs: dict[str, Any], argument: str) -> None:
    kwargs.setdefault("customer_list_name", "x")
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        PinterestUploadCustomerListOperator(task_id="upload", **kwargs)
    assert raised.value.argument == argument


def test_neither_name_nor_id_is_refused() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="exactly one of customer_list_name"):
        PinterestUploadCustomerListOperator(task_id="upload", source=["a@x.com"])


@pytest.mark.parametrize(
    ("source", "kwargs", "argument", "message"),
    [
        ("missing.csv", {}, "source", "no file at"),
        ("empty.csv", {}, "source", "holds no rows"),
        ("header_only.csv", {"has_header": True}, "source", "holds no rows"),
        ("customers.csv", {"has_header": True, "column": "mail"}, "column", "not in the header"),
        ("customers.csv", {"has_header": True, "column": "name"}, "source", "none of its 4 rows"),
        ("mostly_junk.csv", {}, "max_invalid_ratio", r"3 of 4 rows \(75.0%\) are invalid"),
    ],
)
def test_bad_input_fails_before_any_api_call(
    server: EmulatorServer, tmp_path: Path, source: str, kwargs: dict[str, Any], argument: str, message: str
) -> None:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header_only.csv").write_text("email\n")
    (tmp_path / "customers.csv").write_text(
        "email,name\n" + "".join(f"p{i}@x.com,Pat {i}\n" for i in range(4))
    )
    (tmp_path / "mostly_junk.csv").write_text("ok@x.com\nnope\nnada\nzip\n")
    before = request_total(server)
    with pytest.raises(PinterestInvalidArgumentError, match=message) as raised:
        run(customer_list_name=next(_names), source=str(tmp_path / source), **kwargs)
    assert raised.value.argument == argument
    assert request_total(server) == before


def test_logs_show_counts_never_identifiers(
    server: EmulatorServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    emails = [f"Secret.Person{i}@Private-Domain.com" for i in range(50)] + ["leaky-garbage-value"]
    state = str(tmp_path / "log.snapshot")
    with caplog.at_level("DEBUG"):
        name = next(_names)
        run(customer_list_name=name, source=emails, mode="mirror", state_path=state)
        run(customer_list_name=name, source=emails[:10], mode="mirror", state_path=state)
        run(customer_list_name=name, source=emails, max_records_per_request=7)
    output = caplog.text + "".join(capfd.readouterr())
    assert "Batch 1: ADD" in output
    assert "malformed_email=1" in output
    for secret in ["secret.person", "private-domain", "leaky-garbage"]:
        assert secret not in output.lower()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"customer_list_id": "not-a-number"}, "customer_list_id"),
        ({"customer_list_name": "x", "ad_account_id": "12x"}, "ad_account_id"),
        ({"customer_list_name": "  "}, "customer_list_name"),
        ({"customer_list_name": "x", "source": ""}, "source"),
        ({"customer_list_name": "x", "source": 42}, "source"),
    ],
)
def test_bad_rendered_arguments_fail_before_any_api_call(
    server: EmulatorServer, kwargs: dict[str, Any], argument: str
) -> None:
    kwargs.setdefault("source", ["a@x.com"])
    before = request_total(server)
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        run(**kwargs)
    assert raised.value.argument == argument
    assert request_total(server) == before


# --- dry runs and the list's own counters -----------------------------------------------------------------


def writes(server: EmulatorServer) -> int:
    count: int = control(server, "GET", "/requests")["by_category"].get("ads_write", 0)
    return count


def test_a_dry_run_append_plans_and_sends_nothing(server: EmulatorServer) -> None:
    name = next(_names)
    before = writes(server)
    list_id, summary = run(customer_list_name=name, source=[f"d{i}@x.com" for i in range(25)], dry_run=True)
    assert list_id is None
    assert writes(server) == before
    assert lists_named(server, name) == []
    assert summary["dry_run"] is True
    assert (summary["added"], summary["batches"]) == (0, 0)
    assert summary["planned"] == {"add": 25, "remove": 0, "batches": 1}
    assert (summary["list_before"], summary["list_after"]) == (None, None)


def test_a_dry_run_mirror_plans_the_diff_and_leaves_list_and_snapshot_alone(
    server: EmulatorServer, tmp_path: Path
) -> None:
    name, state = next(_names), tmp_path / "dry.snapshot"
    list_id, _ = run(
        customer_list_name=name,
        source=[f"m{i}@x.com" for i in range(30)],
        mode="mirror",
        state_path=str(state),
    )
    snapshot_bytes, listed = state.read_bytes(), members(server, list_id)
    before = writes(server)
    changed = [f"m{i}@x.com" for i in range(10, 45)]
    same, summary = run(
        customer_list_name=name,
        source=changed,
        mode="mirror",
        state_path=str(state),
        dry_run=True,
        max_records_per_request=10,
    )
    assert same == list_id
    assert writes(server) == before
    assert members(server, list_id) == listed
    assert state.read_bytes() == snapshot_bytes
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dry.snapshot"]  # no lock, no pending
    assert summary["planned"] == {"add": 15, "remove": 10, "batches": 3}
    assert (summary["added"], summary["removed"], summary["desired_members"]) == (0, 0, 35)
    assert summary["list_after"] == summary["list_before"]
    assert summary["list_before"]["num_uploaded_user_records"] == 30

    _, real = run(customer_list_name=name, source=changed, mode="mirror", state_path=str(state))
    assert (real["added"], real["removed"]) == (15, 10)


def test_the_summary_carries_the_lists_counters_before_and_after(server: EmulatorServer) -> None:
    name = next(_names)
    run(customer_list_name=name, source=[f"c{i}@x.com" for i in range(20)])
    _, summary = run(customer_list_name=name, source=[f"c{i}@x.com" for i in range(20, 50)])
    before, after = summary["list_before"], summary["list_after"]
    assert (
        set(before)
        == set(after)
        == {
            "status",
            "num_uploaded_user_records",
            "num_removed_user_records",
            "num_batches",
        }
    )
    assert after["num_uploaded_user_records"] - before["num_uploaded_user_records"] == 30
    assert after["num_batches"] == before["num_batches"] + summary["batches"]


@pytest.mark.parametrize("mode", ["append", "remove"])
def test_duplicates_are_sent_once_and_counted(server: EmulatorServer, mode: str) -> None:
    name = next(_names)
    unique = [f"dup{i}@x.com" for i in range(30)]
    if mode == "remove":
        run(customer_list_name=name, source=unique)
    source = unique + [email.upper() for email in unique[:10]] + unique[:5]  # the same people again
    list_id, summary = run(customer_list_name=name, source=source, mode=mode, max_records_per_request=7)
    assert (summary["valid"], summary["desired_members"], summary["duplicates"]) == (45, 30, 15)
    assert summary["added" if mode == "append" else "removed"] == 30
    assert summary["batches"] == 5  # 30 records in batches of 7, not 45
    expected = {sha(email) for email in unique} if mode == "append" else set()
    assert members(server, list_id) == expected


def test_exceptions_in_answers_are_summarised_and_fail_above_the_limit(
    server: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from airflow_provider_pinterest_audiences.exceptions import PinterestError
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

    real_update = PinterestHook.update_customer_list

    def answer_with_exceptions(self: PinterestHook, *args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = dict(real_update(self, *args, **kwargs))
        answer["exceptions"] = {"2662": ["leaked@example.com"]}
        return answer

    monkeypatch.setattr(PinterestHook, "update_customer_list", answer_with_exceptions)
    name, source = next(_names), [f"e{i}@x.com" for i in range(30)]
    run(customer_list_name=name, source=source[:10])
    _, summary = run(customer_list_name=name, source=source, max_records_per_request=10)
    assert summary["exceptions"] == {"2662": 3}
    output = caplog.text + "".join(capfd.readouterr())
    assert "2662=3" in output
    assert "leaked@example.com" not in output
    with pytest.raises(PinterestError, match="above max_list_exceptions=2"):
        run(customer_list_name=name, source=source, max_records_per_request=10, max_list_exceptions=2)
    with pytest.raises(PinterestInvalidArgumentError) as refused:
        run(customer_list_name=name, source=source, max_list_exceptions=-1)
    assert refused.value.argument == "max_list_exceptions"


def test_a_list_too_small_for_an_audience_is_warned_about(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    def logged_by(**kwargs: Any) -> str:
        caplog.clear()
        capfd.readouterr()
        run(**kwargs)
        return caplog.text + "".join(capfd.readouterr())

    name = next(_names)
    small = logged_by(customer_list_name=name, source=[f"s{i}@x.com" for i in range(60)])
    grown = logged_by(customer_list_name=name, source=[f"s{i}@x.com" for i in range(60, 120)])
    assert "will hold about 60 members: an audience needs at least 100" in small
    assert "an audience needs at least" not in grown


def test_on_malformed_row_chooses_between_failing_and_counting(
    server: EmulatorServer, tmp_path: Path
) -> None:
    csv_file = tmp_path / "quotes.csv"
    csv_file.write_text('email,name\nok1@x.com,Ann\nok2@x.com,O"Brien\nok3@x.com,Bo\n')
    before = request_total(server)
    with pytest.raises(PinterestInvalidArgumentError, match="row 3") as raised:
        run(customer_list_name=next(_names), source=str(csv_file), has_header=True, column="email")
    assert raised.value.argument == "source"
    assert request_total(server) == before
    list_id, summary = run(
        customer_list_name=next(_names),
        source=str(csv_file),
        has_header=True,
        column="email",
        on_malformed_row="invalid",
        max_invalid_ratio=0.5,
    )
    assert summary["invalid"] == {"malformed_csv_row": 1}
    assert members(server, list_id) == {sha("ok1@x.com"), sha("ok3@x.com")}
    with pytest.raises(PinterestInvalidArgumentError) as refused:
        run(customer_list_name="x", source=["a@x.com"], on_malformed_row="skip")
    assert refused.value.argument == "on_malformed_row"


def test_quoted_line_breaks_are_in_the_summary_of_every_upload(
    server: EmulatorServer, tmp_path: Path
) -> None:
    # Two lone quotes in the name column: legal CSV whose row 2 spans three lines (two quoted line breaks),
    # so two of the four customers are read. The summary says so; a clean file says 0.
    merged, clean = tmp_path / "merged.csv", tmp_path / "clean.csv"
    merged.write_text('name,email\n",a@x.com\nJoe,b@y.com\n",c@z.com\nAnn,d@w.com\n')
    clean.write_text('name,email\n"Joe, Jr.",b@y.com\nAnn,d@w.com\n')
    name, state = next(_names), str(tmp_path / "mirror.snapshot")
    reading = dict(customer_list_name=name, has_header=True, column="email")
    list_id, summary = run(source=str(merged), mode="mirror", state_path=state, **reading)
    assert (summary["read"], summary["quoted_line_breaks"]) == (2, 2)
    assert members(server, list_id) == {sha("c@z.com"), sha("d@w.com")}
    _, summary = run(source=str(clean), mode="mirror", state_path=state, **reading)
    assert (summary["read"], summary["quoted_line_breaks"]) == (2, 0)
    _, summary = run(source=str(merged), on_malformed_row="invalid", **reading)
    assert (summary["read"], summary["quoted_line_breaks"]) == (2, 2)
    assert run(customer_list_name=name, source=["b@y.com"])[1]["quoted_line_breaks"] == 0
