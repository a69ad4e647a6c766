"""The lease on a mirror state: exclusive, named holder and expiry, renewal, take-over, release."""

from __future__ import annotations

import logging
import os
import socket
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.lease import (
    LeaseRecord,
    StateLease,
    StateLeaseError,
    lease_owner,
    lock_path_for,
)
from airflow_provider_pinterest_audiences.customer_lists.snapshot import as_state_path
from tests.object_storage import attach_memory_store
from tests.unit.customer_lists.test_local_process import dead_pid

LOG = logging.getLogger("test-lease")
TASK = {
    "dag_id": "crm",
    "task_id": "mirror",
    "run_id": "scheduled__2026-12-01",
    "host": "worker-1",
    "pid": "7",
}


def owner(try_number: int, **changes: str) -> dict[str, str]:
    return {**TASK, "try_number": str(try_number), **changes}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["local", "memory"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        attach_memory_store()
        return as_state_path(f"memory://leases/{tmp_path.name}/list.snapshot")
    return as_state_path(str(tmp_path / "state" / "list.snapshot"))


def lease(state: Any, clock: Clock, **kwargs: Any) -> StateLease:
    kwargs.setdefault("owner", owner(1))
    return StateLease(state, ttl=600, log=LOG, clock=clock, **kwargs)


def held(state: Any) -> LeaseRecord:
    return LeaseRecord.decode(lock_path_for(state).read_bytes())


def test_second_run_fails_naming_the_holder_and_expiry_until_the_first_releases(state: Any) -> None:
    clock = Clock()
    first = lease(state, clock)
    first.acquire()
    record = held(state)
    assert record.owner == owner(1)
    assert record.expires_at == clock.now + 600
    second = lease(state, clock, owner=owner(1, run_id="manual__2026-12-01"))
    with pytest.raises(StateLeaseError) as failure:
        second.acquire()
    message = str(failure.value)
    assert "dag_id crm, task_id mirror, run_id scheduled__2026-12-01, try_number 1" in message
    assert "host worker-1, pid 7" in message
    assert "expires 2027-01-15T08:10:00+00:00" in message
    assert "Nothing was sent" in message
    first.release()
    assert not lock_path_for(state).exists()
    second.acquire()
    assert held(state).owner["run_id"] == "manual__2026-12-01"


def test_an_expired_lease_is_taken_over_with_a_warning(state: Any, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    lease(state, clock, owner=owner(1, run_id="killed")).acquire()  # never released: the run was killed
    clock.now += 601
    successor = lease(state, clock)
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        successor.acquire()
    assert held(state).owner == owner(1)
    assert "Taking over the lease" in caplog.text
    assert "run_id killed" in caplog.text


def test_a_retry_takes_over_the_lease_of_its_own_earlier_try_at_once(state: Any) -> None:
    clock = Clock()
    lease(state, clock, owner=owner(1)).acquire()
    lease(state, clock, owner=owner(2)).acquire()
    assert held(state).owner["try_number"] == "2"
    with pytest.raises(StateLeaseError):  # an earlier try never takes the lease back
        lease(state, clock, owner=owner(1)).acquire()
    with pytest.raises(StateLeaseError):  # nor does another task instance's later try
        lease(state, clock, owner=owner(3, task_id="other")).acquire()


def test_an_unreadable_lock_is_refused_with_what_to_do(state: Any) -> None:
    lock = lock_path_for(state)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("wb") as out:
        out.write(b"{half a lock")
    with pytest.raises(StateLeaseError, match=r"not a readable lease .* delete it"):
        lease(state, Clock()).acquire()


def test_a_lease_taken_over_is_lost_checked_and_left_to_its_new_holder(state: Any) -> None:
    clock = Clock()
    stalled = lease(state, clock, owner=owner(1, run_id="stalled"))
    stalled.acquire()
    stalled.check()
    clock.now += 601
    with pytest.raises(StateLeaseError, match=r"lost its lease .* expired"):
        stalled.check()
    successor = lease(state, clock)
    successor.acquire()
    stalled.renew()  # finds the successor's token: marks itself lost, writes nothing
    with pytest.raises(StateLeaseError, match=r"lost its lease .* now belongs to .*run_id scheduled"):
        stalled.check()
    stalled.release()
    assert held(state).owner == owner(1)


def test_renewal_pushes_the_expiry_while_the_run_lives(state: Any) -> None:
    with StateLease(state, ttl=0.3, log=LOG, owner=owner(1)) as running:
        first_expiry = held(state).expires_at
        deadline = time.monotonic() + 10
        while held(state).expires_at == first_expiry and time.monotonic() < deadline:
            time.sleep(0.02)
        assert held(state).expires_at > first_expiry
        running.check()
    assert not lock_path_for(state).exists()


def test_only_one_of_many_simultaneous_runs_gets_the_lease(state: Any) -> None:
    clock = Clock()
    start = threading.Barrier(8)
    winners: list[str] = []
    refused: list[str] = []

    def contend(number: int) -> None:
        candidate = lease(state, clock, owner=owner(1, run_id=f"run-{number}"))
        start.wait()
        try:
            candidate.acquire()
        except StateLeaseError as exc:
            refused.append(str(exc))
        else:
            winners.append(f"run-{number}")

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(refused) == 7
    assert held(state).owner["run_id"] == winners[0]
    assert all(f"run_id {winners[0]}" in message for message in refused)


def test_local_lock_is_private_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    state = as_state_path(str(tmp_path / "list.snapshot"))
    old_umask = os.umask(0o022)
    try:
        lease(state, Clock()).acquire()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(lock_path_for(state).path).st_mode) == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["list.snapshot.lock"]


def test_owner_comes_from_the_airflow_task_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "crm")
    monkeypatch.setenv("AIRFLOW_CTX_TASK_ID", "mirror")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "manual__1")
    monkeypatch.setenv("AIRFLOW_CTX_TRY_NUMBER", "3")
    found = lease_owner()
    assert {key: found[key] for key in ("dag_id", "task_id", "run_id", "try_number")} == {
        "dag_id": "crm",
        "task_id": "mirror",
        "run_id": "manual__1",
        "try_number": "3",
    }
    assert found["pid"] == str(os.getpid())


def test_verify_reads_the_lock_back_where_check_trusts_the_last_renewal(state: Any) -> None:
    clock = Clock()
    running = lease(state, clock)
    running.acquire()
    running.verify()
    usurper = LeaseRecord("f" * 32, owner(1, run_id="usurper"), clock.now + 600)
    with lock_path_for(state).open("wb") as out:
        out.write(usurper.encode())
    running.check()  # nothing read yet
    with pytest.raises(StateLeaseError, match=r"now belongs to .*run_id usurper"):
        running.verify()
    with pytest.raises(StateLeaseError):
        running.check()


def test_a_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(state: Any) -> None:
    clock = Clock()
    here = socket.gethostname()
    lease(state, clock, owner=owner(1, run_id="alive", host=here, pid=str(os.getpid()))).acquire()
    with pytest.raises(StateLeaseError, match="run_id alive"):  # a live process keeps its lease
        lease(state, clock).acquire()
    lock_path_for(state).unlink()
    lease(state, clock, owner=owner(1, run_id="killed", host=here, pid=str(dead_pid()))).acquire()
    lease(state, clock).acquire()
    assert held(state).owner == owner(1)
    lock_path_for(state).unlink()
    lease(state, clock, owner=owner(1, run_id="elsewhere", host="other-host", pid=str(dead_pid()))).acquire()
    with pytest.raises(StateLeaseError, match="run_id elsewhere"):  # another host's pid says nothing here
        lease(state, clock).acquire()
