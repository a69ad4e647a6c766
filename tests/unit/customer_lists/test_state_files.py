"""Files beside a mirror snapshot, locally and on object storage: exclusive create, whole replacement,
private (0600) local files, and the temporary siblings killed runs leave removed for one state only."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_pinterest_audiences.customer_lists import state_files
from airflow_provider_pinterest_audiences.customer_lists.snapshot import as_state_path
from airflow_provider_pinterest_audiences.customer_lists.state_files import (
    create_exclusive,
    is_local,
    open_new,
    remove_leftovers,
    replace_with,
)
from tests.object_storage import attach_memory_store
from tests.unit.customer_lists import test_lease

LOG = logging.getLogger("test-state-files")
state = test_lease.state  # the fixture: a state path in a directory not made yet, local or in memory://


@pytest.fixture
def umask_022() -> Iterator[None]:
    """A permissive umask, so a private mode comes from the code and not from the environment."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def names(state: Any) -> list[str]:
    return sorted(child.name for child in state.parent.iterdir())


def mode(path: Any) -> int:
    return stat.S_IMODE(os.stat(path.path).st_mode)


@pytest.mark.parametrize(
    ("path", "local"), [("/tmp/list.snapshot", True), ("memory://a/list.snapshot", False)]
)
def test_is_local(path: str, local: bool) -> None:
    attach_memory_store()
    assert is_local(as_state_path(path)) is local


def test_exclusive_create_has_one_winner_and_keeps_its_bytes(state: Any, umask_022: None) -> None:
    assert create_exclusive(state, b"first")
    assert not create_exclusive(state, b"second")
    assert state.read_bytes() == b"first"
    assert names(state) == ["list.snapshot"]  # no temporary sibling left
    if is_local(state):
        assert mode(state) == 0o600


def test_exclusive_create_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None
) -> None:
    def no_links(source: str, target: str) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(state_files.os, "link", no_links)
    lock = as_state_path(str(tmp_path / "list.snapshot.lock"))
    assert create_exclusive(lock, b"first")
    assert not create_exclusive(lock, b"second")
    assert lock.read_bytes() == b"first" and mode(lock) == 0o600
    assert names(lock) == ["list.snapshot.lock"]


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


def test_open_new_makes_the_directory_and_a_private_file_and_refuses_an_existing_one(
    tmp_path: Path, umask_022: None
) -> None:
    state = as_state_path(str(tmp_path / "new" / "list.snapshot"))
    with open_new(state) as out:
        out.write(b"snapshot")
    assert state.read_bytes() == b"snapshot" and mode(state) == 0o600
    with pytest.raises(FileExistsError):
        open_new(state)


def test_replace_with_swaps_the_whole_file_and_leaves_no_sibling(state: Any, umask_022: None) -> None:
    replace_with(state, b"old")
    replace_with(state, b"new")
    assert state.read_bytes() == b"new"
    assert names(state) == ["list.snapshot"]
    if is_local(state):
        assert mode(state) == 0o600


def test_a_failed_replacement_keeps_the_old_bytes_and_leaves_no_sibling(
    state: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace_with(state, b"old")

    def refuse(self: Any, target: Any) -> None:
        raise OSError("rename refused")

    monkeypatch.setattr(type(state), "rename", refuse)
    with pytest.raises(OSError, match="rename refused"):
        replace_with(state, b"new")
    assert state.read_bytes() == b"old"
    assert names(state) == ["list.snapshot"]


def test_state_files_beside_a_relative_state_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    state = as_state_path("list.snapshot")
    assert create_exclusive(state.with_name("list.snapshot.lock"), b"lock")
    with open_new(state) as out:
        out.write(b"snapshot")
    assert not create_exclusive(state.with_name("list.snapshot.lock"), b"other")
    assert {path.name for path in tmp_path.iterdir()} == {"list.snapshot", "list.snapshot.lock"}


def test_leftovers_of_killed_runs_are_removed_for_this_state_only(state: Any, tmp_path: Path) -> None:
    state.parent.mkdir(parents=True, exist_ok=True)
    names_before = [
        "list.snapshot",
        "list.snapshot.tmp-1a2b",
        "list.snapshot.pending",
        "list.snapshot.pending.tmp-3c4d",
        "list.snapshot.lock.tmp-5e6f",
        "other.snapshot.tmp-7a8b",
        "list.snapshots.tmp-9c0d",
    ]
    for name in names_before:
        with state.with_name(name).open("wb") as out:
            out.write(b"x")
    related = [state, state.with_name("list.snapshot.pending"), state.with_name("list.snapshot.lock")]
    assert remove_leftovers(related, LOG) == 3
    assert names(state) == [
        "list.snapshot",
        "list.snapshot.pending",
        "list.snapshots.tmp-9c0d",
        "other.snapshot.tmp-7a8b",
    ]
    assert remove_leftovers([as_state_path(str(tmp_path / "absent" / "list.snapshot"))], LOG) == 0
