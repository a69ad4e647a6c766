"""Mirror state against the emulator: concurrent runs, a snapshot put back, outside changes, killed runs."""

from __future__ import annotations

import itertools
import logging
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.freshness import StaleSnapshotError
from airflow_provider_pinterest_audiences.customer_lists.lease import LeaseRecord, StateLease, StateLeaseError
from airflow_provider_pinterest_audiences.customer_lists.scratch import list_key, owner_prefix
from airflow_provider_pinterest_audiences.customer_lists.snapshot import as_state_path
from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator
from tests.integration.emulator_api import ACCOUNT, emulator_settings, server_fixture
from tests.integration.test_customer_list_operator import (
    members,
    pinterest_connection,  # noqa: F401 (the autouse fixture pointing the default connection at the server)
    request_total,
    run,
    sha,
)
from tests.unit.customer_lists.test_local_process import dead_pid

server = server_fixture(emulator_settings(ads_write_per_minute=100_000))
_names = (f"mirror-state-{n}" for n in itertools.count())


def emails(numbers: range) -> list[str]:
    return [f"person{i}@example.com" for i in numbers]


def hashed(numbers: range) -> set[str]:
    return {sha(email) for email in emails(numbers)}


def mirror(name: str, state: Path, numbers: range, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    return run(
        customer_list_name=name, source=emails(numbers), mode="mirror", state_path=str(state), **kwargs
    )


def state_files(state: Path) -> list[str]:
    return sorted(path.name for path in state.parent.iterdir())


def allow_operators_on_this_thread() -> None:
    """Airflow 2.11 checks ``execute`` through a thread-local that only the importing thread has."""
    try:
        from airflow.models.baseoperator import ExecutorSafeguard
    except ImportError:  # Airflow 3
        return
    ExecutorSafeguard._sentinel.callers = {}


def test_two_runs_at_once_one_fails_clearly_and_a_serial_rerun_is_exact(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

    name, state = next(_names), tmp_path / "shared.snapshot"
    list_id, _ = mirror(name, state, range(60))
    first_sending, second_done = threading.Event(), threading.Event()
    real_update = PinterestHook.update_customer_list

    def update_held_open(hook: PinterestHook, *args: Any, **kwargs: Any) -> Any:
        first_sending.set()
        second_done.wait(timeout=30)
        return real_update(hook, *args, **kwargs)

    monkeypatch.setattr(PinterestHook, "update_customer_list", update_held_open)
    outcome: dict[str, Any] = {}

    def first_run() -> None:
        allow_operators_on_this_thread()
        try:
            outcome["first"] = mirror(name, state, range(30, 100), max_concurrent_requests=1)
        except BaseException as exc:
            outcome["first"] = exc

    first = threading.Thread(target=first_run)
    first.start()
    try:
        assert first_sending.wait(timeout=30), outcome
        requests_before = request_total(server)
        with pytest.raises(StateLeaseError) as refused:
            mirror(name, state, range(80))
        assert request_total(server) == requests_before  # refused before any API call
    finally:
        second_done.set()
        first.join()
    message = str(refused.value)
    assert "Another mirror run holds the lease" in message and "expires" in message
    assert f"pid {os.getpid()}" in message
    assert outcome["first"][0] == list_id
    assert members(server, list_id) == hashed(range(30, 100))
    monkeypatch.setattr(PinterestHook, "update_customer_list", real_update)
    _, rerun = mirror(name, state, range(80))
    assert members(server, list_id) == hashed(range(80))
    assert (rerun["added"], rerun["removed"]) == (30, 20)
    assert state_files(state) == ["shared.snapshot"]


def test_an_older_snapshot_put_back_fails_clearly_and_resync_restores_exact_membership(
    server: EmulatorServer, tmp_path: Path
) -> None:
    name, state = next(_names), tmp_path / "restored.snapshot"
    list_id, _ = mirror(name, state, range(100))
    older = state.read_bytes()
    mirror(name, state, range(50, 150))  # 0..49 leave, 100..149 join
    state.write_bytes(older)  # a backup put back over the newer snapshot
    requests_before = request_total(server)
    with pytest.raises(StaleSnapshotError) as refused:
        mirror(name, state, range(150))
    message = str(refused.value)
    assert "is stale" in message and "num_removed_user_records 0 -> 50" in message
    assert "on_stale_snapshot='resync'" in message and "Nothing was sent" in message
    assert request_total(server) - requests_before == 2  # find the list, read its state: no update
    assert members(server, list_id) == hashed(range(50, 150))

    _, resync = mirror(name, state, range(150), on_stale_snapshot="resync")
    assert members(server, list_id) == hashed(range(150))  # the 50 the older snapshot lost are back
    assert (resync["added"], resync["removed"]) == (150, 0)
    _, after = mirror(name, state, range(150))
    assert after["batches"] == 0


def test_a_change_made_outside_the_task_is_caught_and_resync_removes_only_what_it_can_prove(
    server: EmulatorServer, tmp_path: Path
) -> None:
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

    name, state = next(_names), tmp_path / "outside.snapshot"
    list_id, _ = mirror(name, state, range(20))
    hook = PinterestHook()
    hook.update_customer_list(ACCOUNT, list_id, operation_type="ADD", records=sha("stranger@example.com"))
    hook.update_customer_list(ACCOUNT, list_id, operation_type="REMOVE", records=sha("person3@example.com"))
    hook.close()
    with pytest.raises(StaleSnapshotError, match="num_uploaded_user_records 20 -> 21"):
        mirror(name, state, range(10))
    _, resync = mirror(name, state, range(10), on_stale_snapshot="resync")
    # person3 is back; 10..19 left (the snapshot proves they were sent); the stranger is not ours to remove.
    assert members(server, list_id) == hashed(range(10)) | {sha("stranger@example.com")}
    assert (resync["added"], resync["removed"]) == (10, 10)


def test_a_live_lease_fails_the_run_before_any_api_call(server: EmulatorServer, tmp_path: Path) -> None:
    name, state = next(_names), tmp_path / "leased.snapshot"
    other = {
        "dag_id": "crm",
        "task_id": "mirror",
        "run_id": "manual__1",
        "try_number": "1",
        "host": "w2",
        "pid": "9",
    }
    holder = StateLease(as_state_path(str(state)), ttl=600, log=logging.getLogger("holder"), owner=other)
    holder.acquire()
    requests_before = request_total(server)
    with pytest.raises(StateLeaseError, match="dag_id crm, task_id mirror, run_id manual__1, try_number 1"):
        mirror(name, state, range(5))
    assert request_total(server) == requests_before
    holder.release()
    list_id, _ = mirror(name, state, range(5))
    assert members(server, list_id) == hashed(range(5))


def test_a_run_that_lost_its_lease_mid_upload_saves_no_snapshot_and_a_rerun_is_exact(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

    name, state = next(_names), tmp_path / "taken.snapshot"
    list_id, _ = mirror(name, state, range(40))
    snapshot_before = state.read_bytes()
    real_update = PinterestHook.update_customer_list
    lock = tmp_path / "taken.snapshot.lock"
    usurper = LeaseRecord("f" * 32, {"dag_id": "crm", "run_id": "usurper", "host": "w3", "pid": "4"}, 4e9)

    def update_then_lose_the_lease(hook: PinterestHook, *args: Any, **kwargs: Any) -> Any:
        lock.write_bytes(usurper.encode())  # this run stalled past its expiry; another took over
        return real_update(hook, *args, **kwargs)

    monkeypatch.setattr(PinterestHook, "update_customer_list", update_then_lose_the_lease)
    with pytest.raises(StateLeaseError, match=r"lost its lease .* run_id usurper"):
        mirror(name, state, range(20, 60), max_records_per_request=5)
    monkeypatch.setattr(PinterestHook, "update_customer_list", real_update)
    assert state.read_bytes() == snapshot_before
    assert (tmp_path / "taken.snapshot.pending").exists()
    assert lock.read_bytes() == usurper.encode()  # the new holder's lock is left alone
    lock.unlink()  # the usurper finished
    _, rerun = mirror(name, state, range(20, 60))
    assert members(server, list_id) == hashed(range(20, 60))
    assert state_files(state) == ["taken.snapshot"]
    assert (rerun["added"], rerun["removed"]) == (20, 20)


def test_the_next_run_cleans_what_a_killed_run_left(server: EmulatorServer, tmp_path: Path) -> None:
    name, state = next(_names), tmp_path / "killed.snapshot"
    mirror(name, state, range(30))
    # A run killed mid-save: temporary state files, its lock (expired: nobody renews it) and its scratch dir.
    killed = LeaseRecord("0" * 32, {"host": "gone", "pid": "1"}, expires_at=0.0)
    (tmp_path / "killed.snapshot.lock").write_bytes(killed.encode())
    for leftover in ("killed.snapshot.tmp-aa", "killed.snapshot.pending.tmp-bb", "another.snapshot.tmp-cc"):
        (tmp_path / leftover).write_bytes(b"half")
    key = list_key(
        PinterestUploadCustomerListOperator(
            task_id="key", customer_list_name=name, source=["x"], mode="mirror", state_path=str(state)
        ).upload_plan()
    )
    scratch = Path(tempfile.gettempdir()) / f"{owner_prefix(key)}{dead_pid()}-killed"
    scratch.mkdir()
    (scratch / "desired.spill").write_bytes(b"\0" * 1024)

    list_id, summary = mirror(name, state, range(10, 40))
    assert members(server, list_id) == hashed(range(10, 40))
    assert (summary["added"], summary["removed"]) == (10, 10)
    assert state_files(state) == ["another.snapshot.tmp-cc", "killed.snapshot"]
    assert not scratch.exists()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_a_run_killed_between_saving_the_snapshot_and_deleting_pending_is_no_stale_snapshot(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_pinterest_audiences.customer_lists import snapshot

    name, state = next(_names), tmp_path / "half-saved.snapshot"
    mirror(name, state, range(20))
    real_discard = snapshot.discard_pending

    def killed(state_path: Any) -> None:
        raise KeyboardInterrupt  # the worker died right after the snapshot was moved into place

    monkeypatch.setattr(snapshot, "discard_pending", killed)
    with pytest.raises(KeyboardInterrupt):
        mirror(name, state, range(10, 30))
    monkeypatch.setattr(snapshot, "discard_pending", real_discard)
    assert state_files(state) == ["half-saved.snapshot", "half-saved.snapshot.pending"]
    list_id, summary = mirror(name, state, range(10, 30))
    assert (summary["added"], summary["removed"]) == (0, 0)
    assert members(server, list_id) == hashed(range(10, 30))
    assert state_files(state) == ["half-saved.snapshot"]


def test_a_deleted_list_given_by_id_fails_with_the_recovery(tmp_path: Path) -> None:
    with pytest.raises(
        StaleSnapshotError, match=r"no longer exists .* delete the snapshot and its \.pending"
    ):
        run(
            customer_list_id="1234567890123",
            source=emails(range(3)),
            mode="mirror",
            state_path=str(tmp_path / "s"),
        )


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"mode": "mirror", "state_path": "/tmp/s", "on_stale_snapshot": "ignore"}, "on_stale_snapshot"),
        ({"mode": "append", "on_stale_snapshot": "resync"}, "on_stale_snapshot"),
        ({"mode": "mirror", "state_path": "/tmp/s", "lease_ttl": 5}, "lease_ttl"),
        ({"mode": "mirror", "state_path": "/tmp/s", "lease_ttl": "600"}, "lease_ttl"),
        ({"mode": "mirror", "state_path": "/tmp/s", "lease_ttl": float("nan")}, "lease_ttl"),
    ],
)
def test_bad_mirror_state_options_are_refused_when_the_dag_is_parsed(
    kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=f"'{argument}'"):
        PinterestUploadCustomerListOperator(
            task_id="bad", customer_list_name="n", source=["a@x.com"], **kwargs
        )


def test_an_erase_merged_while_the_source_is_read_is_still_honoured(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suppression set grows between a mirror's read and its lease: the run checks against it again."""
    from airflow_provider_pinterest_audiences.customer_lists import upload as upload_module
    from airflow_provider_pinterest_audiences.customer_lists.snapshot import DigestBuckets
    from airflow_provider_pinterest_audiences.customer_lists.suppression import add_to_suppression

    name, state, suppression = next(_names), tmp_path / "race.snapshot", tmp_path / "erased.suppression"
    erased_early, erased_during = range(0, 3), range(3, 8)

    def erase(numbers: range) -> None:
        with DigestBuckets(str(tmp_path)) as buckets:
            buckets.add(b"".join(bytes.fromhex(digest) for digest in hashed(numbers)))
            add_to_suppression(as_state_path(str(suppression)), "EMAIL", buckets, str(tmp_path))

    erase(erased_early)
    real_read = upload_module.read_typed_digests

    def read_then_an_erase_lands(*args: Any) -> Any:
        counts = real_read(*args)
        erase(erased_during)
        return counts

    monkeypatch.setattr(upload_module, "read_typed_digests", read_then_an_erase_lands)
    list_id, summary = mirror(name, state, range(40), suppression_path=str(suppression))

    assert members(server, list_id) == hashed(range(8, 40))
    assert (summary["suppressed"], summary["added"]) == (8, 32)
