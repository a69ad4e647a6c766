"""Mirror-run housekeeping without the API: snapshot freshness, leftovers of killed runs, scratch dirs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_pinterest_audiences.customer_lists.freshness import ListState, stale_reason
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.scratch import (
    PREFIX,
    list_key,
    owner_prefix,
    remove_dead_scratch,
    scratch_directory,
)
from airflow_provider_pinterest_audiences.customer_lists.snapshot import as_state_path
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.customer_lists.state_files import (
    create_exclusive,
    open_new,
    remove_leftovers,
)
from tests.object_storage import attach_memory_store

LOG = logging.getLogger("test-mirror")
WRITTEN = ListState(1_764_547_200, 1_000, 40)


@pytest.mark.parametrize(
    ("snapshot", "recorded", "pending", "current", "stale"),
    [
        (3, WRITTEN, None, WRITTEN, None),
        (3, WRITTEN, 3, ListState(1_764_550_000, 1_200, 40), None),  # a failed run's batches
        (None, None, 0, ListState(1_764_550_000, 100, 0), None),  # failed after creating the list
        (3, None, None, ListState(1_764_550_000, 1_200, 40), None),  # version 1: nothing recorded
        (3, WRITTEN, None, None, None),  # no list found: the snapshot's list id is checked elsewhere
        (3, WRITTEN, None, ListState(1_764_550_000, 1_000, 40), None),  # renamed: no batch since
        (3, ListState(5, None, None), None, ListState(6, None, None), "updated_time 5 -> 6"),  # no counters
        (
            3,
            WRITTEN,
            None,
            ListState(1_764_550_000, 1_000, 90),
            "list changed since snapshot generation 3 was written (num_removed_user_records 40 -> 90, "
            "updated_time 1764547200 -> 1764550000) and no pending file",
        ),
        (
            3,
            WRITTEN,
            5,
            WRITTEN,
            "pending file of a failed run extends snapshot generation 5, but the snapshot is generation 3",
        ),
        (None, None, 4, WRITTEN, "extends snapshot generation 4, but the snapshot is none"),
        (4, WRITTEN, 3, WRITTEN, None),  # left by the run that saved generation 4, killed before deleting it
        (4, WRITTEN, 3, ListState(1_764_550_000, 1_001, 40), "num_uploaded_user_records 1000 -> 1001"),
    ],
)
def test_stale_reason(
    snapshot: int | None,
    recorded: ListState | None,
    pending: int | None,
    current: ListState | None,
    stale: str | None,
) -> None:
    reason = stale_reason(
        snapshot_generation=snapshot, recorded=recorded, pending_generation=pending, current=current
    )
    if stale is None:
        assert reason is None
    else:
        assert reason is not None and stale in reason


def test_list_state_from_an_api_object_ignores_other_fields() -> None:
    api_object = {"id": "1", "updated_time": 5, "num_uploaded_user_records": 7, "status": "READY"}
    assert ListState.from_api(api_object) == ListState(5, 7, None)
    assert ListState.from_json(ListState(5, 7, 1).to_json()) == ListState(5, 7, 1)


@pytest.mark.parametrize("store", ["local", "memory"])
def test_leftovers_of_killed_runs_are_removed_for_this_state_only(store: str, tmp_path: Path) -> None:
    if store == "memory":
        attach_memory_store()
        state = as_state_path(f"memory://leftovers/{tmp_path.name}/list.snapshot")
    else:
        state = as_state_path(str(tmp_path / "list.snapshot"))
    state.parent.mkdir(parents=True, exist_ok=True)
    names = [
        "list.snapshot",
        "list.snapshot.tmp-1a2b",
        "list.snapshot.pending",
        "list.snapshot.pending.tmp-3c4d",
        "list.snapshot.lock.tmp-5e6f",
        "other.snapshot.tmp-7a8b",
        "list.snapshots.tmp-9c0d",
    ]
    for name in names:
        with state.with_name(name).open("wb") as out:
            out.write(b"x")
    related = [state, state.with_name("list.snapshot.pending"), state.with_name("list.snapshot.lock")]
    assert remove_leftovers(related, LOG) == 3
    assert sorted(child.name for child in state.parent.iterdir()) == [
        "list.snapshot",
        "list.snapshot.pending",
        "list.snapshots.tmp-9c0d",
        "other.snapshot.tmp-7a8b",
    ]
    assert remove_leftovers([as_state_path(str(tmp_path / "absent" / "list.snapshot"))], LOG) == 0


def plan(name: str) -> UploadPlan:
    return UploadPlan(
        ad_account_id="549755885175", source=CustomerSource(source=["a@x.com"]), customer_list_name=name
    )


def dead_pid() -> int:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(finished.stdout)


def test_scratch_directories_of_dead_runs_of_the_same_list_are_removed(tmp_path: Path) -> None:
    mine, other = list_key(plan("newsletter")), list_key(plan("churned"))
    assert mine != other and len(mine) == 16
    dead, alive = dead_pid(), os.getppid()
    here = owner_prefix(mine)
    leftovers = {
        "killed": tmp_path / f"{here}{dead}-abc",
        "live": tmp_path / f"{here}{alive}-def",
        "other list": tmp_path / f"{owner_prefix(other)}{dead}-ghi",
        "other host": tmp_path / f"{PREFIX}{mine}-{'0' * 16}-{dead}-jkl",
        "unrelated": tmp_path / f"{here}notapid",
    }
    for directory in leftovers.values():
        directory.mkdir()
        (directory / "desired.spill").write_bytes(b"\0" * 64)
    assert remove_dead_scratch(mine, LOG, str(tmp_path)) == 1
    assert {label for label, directory in leftovers.items() if directory.exists()} == {
        "live",
        "other list",
        "other host",
        "unrelated",
    }


def test_scratch_directory_is_named_for_its_list_and_process_and_removed_after() -> None:
    with scratch_directory(plan("newsletter"), LOG) as workdir:
        name = Path(workdir).name
        assert name.startswith(f"{owner_prefix(list_key(plan('newsletter')))}{os.getpid()}-")
        assert os.stat(workdir).st_mode & 0o077 == 0
    assert not Path(workdir).exists()


def test_state_files_beside_a_relative_state_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    state = as_state_path("list.snapshot")
    assert create_exclusive(state.with_name("list.snapshot.lock"), b"lock")
    with open_new(state) as out:
        out.write(b"snapshot")
    assert not create_exclusive(state.with_name("list.snapshot.lock"), b"other")
    assert {path.name for path in tmp_path.iterdir()} == {"list.snapshot", "list.snapshot.lock"}


def test_exclusive_create_falls_back_where_the_filesystem_refuses_mode_xb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = MemoryFileSystem._open

    def no_exclusive_mode(
        fs: MemoryFileSystem, path: str, mode: str = "rb", *args: Any, **kwargs: Any
    ) -> Any:
        if "x" in mode:
            raise NotImplementedError("File mode not supported")  # as some fsspec backends do
        return real_open(fs, path, mode, *args, **kwargs)

    monkeypatch.setattr(MemoryFileSystem, "_open", no_exclusive_mode)
    attach_memory_store()
    lock = as_state_path(f"memory://locks/{tmp_path.name}/list.snapshot.lock")
    assert create_exclusive(lock, b"first")
    assert not create_exclusive(lock, b"second")
    assert lock.read_bytes() == b"first"
