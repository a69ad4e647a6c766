"""Mirror state files and the bucketed diff (local and in-memory object storage, no network)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.freshness import ListState, StaleSnapshotError
from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
    MAGIC,
    TRAILER_TAG,
    DigestBuckets,
    MirrorPlan,
    as_state_path,
    pending_path_for,
    plan_mirror,
    read_state_headers,
    save_pending,
    save_snapshot,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from tests.object_storage import attach_memory_store

LIST_ID = "10000000000042"


def digest(n: int) -> bytes:
    return hashlib.sha256(f"member-{n}".encode()).digest()


def digests(numbers: Iterable[int]) -> set[bytes]:
    return {digest(n) for n in numbers}


def read_records(path: str) -> list[bytes]:
    data = Path(path).read_bytes()
    return [data[i : i + 32] for i in range(0, len(data), 32)]


def plan(state: Any, tmp_path: Path, members: set[bytes], list_id: str | None = LIST_ID) -> MirrorPlan:
    workdir = tmp_path / f"work-{len(list(tmp_path.iterdir()))}"
    workdir.mkdir()
    with DigestBuckets(str(workdir)) as desired:
        ordered = sorted(members)
        desired.add(b"".join(ordered[::2]))
        desired.add(b"".join(ordered))  # duplicates collapse
        return plan_mirror(
            state, list_type="EMAIL", customer_list_id=list_id, desired=desired, directory=str(workdir)
        )


def generation(state: Any) -> int:
    snapshot = read_state_headers(state, list_type="EMAIL", customer_list_id=LIST_ID).snapshot
    return snapshot.generation if snapshot else 0


def commit(state: Any, done: MirrorPlan) -> None:
    save_snapshot(state, done, list_type="EMAIL", customer_list_id=LIST_ID)


def record_pending(state: Any, started: MirrorPlan) -> None:
    save_pending(state, started, list_type="EMAIL", customer_list_id=LIST_ID)


@pytest.fixture
def state(tmp_path: Path) -> Any:
    return as_state_path(str(tmp_path / "state" / "list.snapshot"))


def test_first_run_adds_everything_and_snapshot_is_sorted_with_header_and_trailer(
    state: Any, tmp_path: Path
) -> None:
    members = digests(range(3000))
    first = plan(state, tmp_path, members)
    assert (first.desired_count, first.add_count, first.remove_count) == (3000, 3000, 0)
    assert not first.had_snapshot
    assert read_records(first.adds_path) == sorted(members)
    commit(state, first)
    data = Path(state.path).read_bytes()
    magic, header, rest = data.split(b"\n", 2)
    assert magic + b"\n" == MAGIC
    assert json.loads(header) == {
        "kind": "snapshot",
        "customer_list_id": LIST_ID,
        "list_type": "EMAIL",
        "count": 3000,
        "record_size": 32,
        "generation": 1,
        "list_state": None,
    }
    body, trailer = rest[: 3000 * 32], rest[3000 * 32 :]
    assert [body[i : i + 32] for i in range(0, len(body), 32)] == sorted(members)
    assert trailer == TRAILER_TAG + hashlib.sha256(data[: -len(trailer)]).digest()
    assert [p.name for p in state.parent.iterdir()] == [state.name]


def test_diff_adds_new_and_removes_departed_members(state: Any, tmp_path: Path) -> None:
    save_snapshot(
        state, plan(state, tmp_path, digests(range(1000))), list_type="EMAIL", customer_list_id=LIST_ID
    )
    second = plan(state, tmp_path, digests(range(100, 1200)))
    assert second.had_snapshot
    assert set(read_records(second.adds_path)) == digests(range(1000, 1200))
    assert set(read_records(second.removes_path)) == digests(range(100))
    commit(state, second)
    unchanged = plan(state, tmp_path, digests(range(100, 1200)))
    assert not unchanged.changes_list


def test_pending_file_makes_a_retry_with_a_changed_source_converge(state: Any, tmp_path: Path) -> None:
    save_snapshot(
        state, plan(state, tmp_path, digests(range(100))), list_type="EMAIL", customer_list_id=LIST_ID
    )
    # A run wanting 50..149 records its pending file, sends some batches, then fails.
    failed = plan(state, tmp_path, digests(range(50, 150)))
    save_pending(state, failed, list_type="EMAIL", customer_list_id=LIST_ID)
    assert pending_path_for(state).exists()
    # The retry's source changed back to 0..99: 100..149 may have been added, 0..49 may have been removed.
    retry = plan(state, tmp_path, digests(range(100)))
    assert retry.had_pending
    assert set(read_records(retry.adds_path)) == digests(range(50))
    assert set(read_records(retry.removes_path)) == digests(range(100, 150))
    commit(state, retry)
    assert not pending_path_for(state).exists()
    assert not plan(state, tmp_path, digests(range(100))).changes_list


def test_uncertainty_accumulates_over_several_failed_runs(state: Any, tmp_path: Path) -> None:
    save_snapshot(
        state, plan(state, tmp_path, digests(range(10))), list_type="EMAIL", customer_list_id=LIST_ID
    )
    for wanted in (range(5, 15), range(0, 3), range(20, 25)):
        save_pending(
            state, plan(state, tmp_path, digests(wanted)), list_type="EMAIL", customer_list_id=LIST_ID
        )
    final = plan(state, tmp_path, digests(range(8, 12)))
    possibly_present = digests(range(15)) | digests(range(20, 25))
    assert set(read_records(final.adds_path)) == digests(range(8, 12))
    assert set(read_records(final.removes_path)) == possibly_present - digests(range(8, 12))


def test_pending_written_before_the_list_existed_is_accepted(state: Any, tmp_path: Path) -> None:
    first = plan(state, tmp_path, digests(range(10)), list_id=None)
    save_pending(state, first, list_type="EMAIL", customer_list_id=None)
    retry = plan(state, tmp_path, digests(range(5)))
    assert set(read_records(retry.adds_path)) == digests(range(5))
    assert set(read_records(retry.removes_path)) == digests(range(5, 10))


@pytest.mark.parametrize(
    ("list_type", "list_id", "message"),
    [
        ("EMAIL", "999", "belongs to customer list"),
        ("EMAIL", None, "no list has the given name"),
        ("IDFA", LIST_ID, "belongs to a EMAIL list"),
    ],
)
def test_snapshot_of_another_list_is_refused(
    state: Any, tmp_path: Path, list_type: str, list_id: str | None, message: str
) -> None:
    save_snapshot(
        state, plan(state, tmp_path, digests(range(5))), list_type="EMAIL", customer_list_id=LIST_ID
    )
    with DigestBuckets(str(tmp_path)) as desired, pytest.raises(PinterestInvalidArgumentError, match=message):
        plan_mirror(
            state, list_type=list_type, customer_list_id=list_id, desired=desired, directory=str(tmp_path)
        )


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1],
        lambda data: data[:-40],
        lambda data: data[:200] + bytes([data[200] ^ 1]) + data[201:],
        lambda data: b"not a snapshot\n" + data,
        lambda data: data + b"extra",
    ],
)
def test_damaged_snapshot_is_detected(state: Any, tmp_path: Path, damage: Any) -> None:
    save_snapshot(
        state, plan(state, tmp_path, digests(range(500))), list_type="EMAIL", customer_list_id=LIST_ID
    )
    Path(state.path).write_bytes(damage(Path(state.path).read_bytes()))
    with pytest.raises(PinterestInvalidArgumentError, match="'state_path'"):
        plan(state, tmp_path, digests(range(500)))


def test_failed_write_keeps_the_previous_snapshot(state: Any, tmp_path: Path) -> None:
    commit(state, plan(state, tmp_path, digests(range(5))))
    before = Path(state.path).read_bytes()
    following = plan(state, tmp_path, digests(range(8)))
    broken = MirrorPlan(**{**following.__dict__, "desired_path": str(tmp_path / "vanished")})
    with pytest.raises(FileNotFoundError):
        commit(state, broken)
    assert Path(state.path).read_bytes() == before
    assert [p.name for p in state.parent.iterdir()] == [state.name]


def test_state_in_memory_object_storage(tmp_path: Path) -> None:

    attach_memory_store()
    state = as_state_path("memory://bucket/mirror/list.snapshot")
    save_snapshot(
        state, plan(state, tmp_path, digests(range(50))), list_type="EMAIL", customer_list_id=LIST_ID
    )
    second = plan(state, tmp_path, digests(range(25, 75)))
    assert (second.add_count, second.remove_count) == (25, 25)


def test_generation_counts_saves_and_the_list_state_is_recorded(state: Any, tmp_path: Path) -> None:
    seen = ListState(1_700_000_000, 100, 0)
    save_snapshot(
        state, plan(state, tmp_path, digests(range(100))), list_type="EMAIL", customer_list_id=LIST_ID
    )
    second = plan(state, tmp_path, digests(range(50)))
    save_pending(state, second, list_type="EMAIL", customer_list_id=LIST_ID)
    headers = read_state_headers(state, list_type="EMAIL", customer_list_id=LIST_ID)
    assert headers.snapshot is not None and headers.pending is not None
    assert (headers.snapshot.generation, headers.pending.generation) == (1, 1)
    save_snapshot(state, second, list_type="EMAIL", customer_list_id=LIST_ID, list_state=seen)
    headers = read_state_headers(state, list_type="EMAIL", customer_list_id=LIST_ID)
    assert headers.snapshot is not None
    assert (headers.snapshot.generation, headers.snapshot.list_state, headers.pending) == (2, seen, None)


def test_saving_over_a_snapshot_another_run_wrote_meanwhile_is_refused(state: Any, tmp_path: Path) -> None:
    save_snapshot(
        state, plan(state, tmp_path, digests(range(10))), list_type="EMAIL", customer_list_id=LIST_ID
    )
    mine = plan(state, tmp_path, digests(range(20)))  # diffed against generation 1 ...
    commit(state, plan(state, tmp_path, digests(range(5))))  # ... which another run replaced by 2
    before = Path(state.path).read_bytes()
    with pytest.raises(StaleSnapshotError, match="generation 1 when read, 2 now"):
        commit(state, mine)
    assert Path(state.path).read_bytes() == before


def _version_1_file(kind: str, records: list[bytes], record_size: int) -> bytes:
    fields = {"kind": kind, "customer_list_id": LIST_ID, "list_type": "EMAIL", "count": len(records)}
    head = (
        b"PINTEREST-AUDIENCE-DIGESTS 1\n"
        + json.dumps({**fields, "record_size": record_size}).encode()
        + b"\n"
    )
    data = head + b"".join(records)
    return data + TRAILER_TAG + hashlib.sha256(data).digest()


def test_version_1_files_are_still_read(state: Any, tmp_path: Path) -> None:
    Path(state.path).parent.mkdir(parents=True)
    Path(state.path).write_bytes(_version_1_file("snapshot", sorted(digests(range(10))), 32))
    pending = sorted(digest + b"+" for digest in digests(range(10, 12)))
    Path(pending_path_for(state).path).write_bytes(_version_1_file("pending", pending, 33))
    headers = read_state_headers(state, list_type="EMAIL", customer_list_id=LIST_ID)
    assert headers.snapshot is not None and headers.pending is not None
    assert (headers.snapshot.generation, headers.snapshot.list_state, headers.pending.generation) == (
        0,
        None,
        0,
    )
    retry = plan(state, tmp_path, digests(range(5)))
    assert set(read_records(retry.removes_path)) == digests(range(5, 12))
    save_snapshot(state, retry, list_type="EMAIL", customer_list_id=LIST_ID)
    assert Path(state.path).read_bytes().startswith(MAGIC)
    assert generation(state) == 1


def test_resync_adds_every_desired_member_and_removes_only_proven_departures(
    state: Any, tmp_path: Path
) -> None:
    save_snapshot(
        state, plan(state, tmp_path, digests(range(100))), list_type="EMAIL", customer_list_id=LIST_ID
    )
    record_pending(
        state, plan(state, tmp_path, digests(range(200, 210)))
    )  # a failed run may have added these
    workdir = tmp_path / "resync"
    workdir.mkdir()
    with DigestBuckets(str(workdir)) as desired:
        desired.add(b"".join(sorted(digests(range(50, 150)))))
        resync = plan_mirror(
            state,
            list_type="EMAIL",
            customer_list_id=LIST_ID,
            desired=desired,
            directory=str(workdir),
            resync=True,
        )
    assert set(read_records(resync.adds_path)) == digests(range(50, 150))
    assert set(read_records(resync.removes_path)) == digests(range(50)) | digests(range(200, 210))
    assert set(read_records(resync.desired_path)) == digests(range(50, 150))
    # If it fails too, its retry (no resync: the pending file explains the list) still trusts no old member.
    record_pending(state, resync)
    retry = plan(state, tmp_path, digests(range(50, 150)))
    assert set(read_records(retry.adds_path)) == digests(range(50, 150))


def test_local_state_files_are_private(state: Any, tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        first = plan(state, tmp_path, digests(range(10)))
        record_pending(state, first)
        commit(state, first)
        record_pending(state, plan(state, tmp_path, digests(range(5))))
    finally:
        os.umask(old_umask)
    for path in (state, pending_path_for(state)):
        assert stat.S_IMODE(os.stat(path.path).st_mode) == 0o600


def test_damaged_snapshot_message_never_invites_restoring_an_older_copy(state: Any, tmp_path: Path) -> None:
    commit(state, plan(state, tmp_path, digests(range(50))))
    Path(state.path).write_bytes(Path(state.path).read_bytes()[:-1])
    with pytest.raises(PinterestInvalidArgumentError) as failure:
        plan(state, tmp_path, digests(range(50)))
    message = str(failure.value)
    assert "Delete it" in message and "Do not put an older copy in its place" in message
    assert "restore it" not in message
