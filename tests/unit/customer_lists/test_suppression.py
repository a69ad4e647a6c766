"""The suppression set and the purge of named mirror snapshots (local files, no network)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.freshness import ListState, stale_reason
from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
    MAYBE_ADDED,
    DigestBuckets,
    DigestFileHeader,
    as_state_path,
    pending_path_for,
    plan_mirror,
    read_state_headers,
    save_pending,
    save_snapshot,
    write_digest_file,
)
from airflow_provider_pinterest_audiences.customer_lists.suppression import (
    ReadCounts,
    add_to_suppression,
    finish_purge,
    open_purge,
    prepare_purge,
    suppressed_reading,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

LIST_ID = "10000000000042"
BEFORE = ListState(100.0, 10, 0)
AFTER = ListState(200.0, 10, 3)


def digest(n: int) -> bytes:
    return hashlib.sha256(f"member-{n}".encode()).digest()


def packed(numbers: Iterable[int]) -> bytes:
    return b"".join(digest(n) for n in numbers)


def records(path: Any, size: int = 32) -> list[bytes]:
    data = Path(str(as_state_path(path).path)).read_bytes()
    body = data[data.index(b"}\n") + 2 : -(3 + 32)]
    return [body[i : i + size] for i in range(0, len(body), size)]


@pytest.fixture
def buckets(tmp_path: Path) -> Iterator[Any]:
    """``make(numbers)``: DigestBuckets holding those members, in their own directory."""
    made: list[DigestBuckets] = []

    def make(numbers: Iterable[int]) -> DigestBuckets:
        directory = tmp_path / f"buckets-{len(made)}"
        directory.mkdir()
        bucket = DigestBuckets(str(directory))
        bucket.add(packed(numbers))
        made.append(bucket)
        return bucket

    yield make
    for bucket in made:
        bucket.close()


def test_merging_erased_digests_is_sorted_distinct_and_repeatable(tmp_path: Path, buckets: Any) -> None:
    path = str(tmp_path / "erased.suppression")
    assert add_to_suppression(path, "EMAIL", buckets([3, 1, 2, 1]), str(tmp_path)) == (3, 3)
    assert add_to_suppression(path, "EMAIL", buckets([2, 4]), str(tmp_path)) == (1, 4)
    assert add_to_suppression(path, "EMAIL", buckets([2, 4]), str(tmp_path)) == (0, 4)
    assert records(path) == sorted(digest(n) for n in range(1, 5))
    with pytest.raises(PinterestInvalidArgumentError, match=r"'suppression_path'.*EMAIL digests, not MAID"):
        add_to_suppression(path, "MAID", buckets([5]), str(tmp_path))


def test_a_damaged_set_or_a_mirror_snapshot_is_refused_naming_suppression_path(
    tmp_path: Path, buckets: Any
) -> None:
    path = tmp_path / "erased.suppression"
    add_to_suppression(str(path), "EMAIL", buckets(range(50)), str(tmp_path))
    path.write_bytes(path.read_bytes()[:-5])
    counts = ReadCounts()
    with (
        pytest.raises(PinterestInvalidArgumentError, match=r"'suppression_path'.*damaged"),
        suppressed_reading(str(path), "EMAIL", lambda data: None, counts) as sink,
    ):
        sink(packed([1]))
    snapshot = tmp_path / "list.snapshot"
    body = tmp_path / "body"
    body.write_bytes(packed([1]))
    write_digest_file(
        as_state_path(str(snapshot)), DigestFileHeader("snapshot", LIST_ID, "EMAIL", 1), str(body)
    )
    with pytest.raises(PinterestInvalidArgumentError, match=r"'suppression_path'.*mirror state file"):
        add_to_suppression(str(snapshot), "EMAIL", buckets([2]), str(tmp_path))


def test_reading_through_the_set_drops_and_counts_suppressed_digests(tmp_path: Path, buckets: Any) -> None:
    path = str(tmp_path / "erased.suppression")
    add_to_suppression(path, "EMAIL", buckets([1, 2, 700]), str(tmp_path))
    received: list[bytes] = []
    counts = ReadCounts()
    with suppressed_reading(path, "EMAIL", received.append, counts) as sink:
        sink(packed([1, 3, 4]))
        sink(packed([2, 3, 1]))
        assert received == []  # nothing reaches the sink before the whole source is read
    kept = b"".join(received)
    kept_digests = sorted(kept[i : i + 32] for i in range(0, len(kept), 32))
    assert kept_digests == sorted([digest(3), digest(3), digest(4)])  # duplicates are rows: kept as read
    assert counts.suppressed == 3


def test_without_a_set_the_sink_is_used_as_it_is(tmp_path: Path) -> None:
    received: list[bytes] = []
    with suppressed_reading(None, "EMAIL", received.append, ReadCounts()) as sink:
        sink(packed([1]))
    assert received == [packed([1])]


def test_a_set_that_does_not_exist_yet_suppresses_nothing(tmp_path: Path) -> None:
    received: list[bytes] = []
    counts = ReadCounts()
    with suppressed_reading(str(tmp_path / "none"), "EMAIL", received.append, counts) as sink:
        sink(packed([1, 2]))
    assert (len(b"".join(received)), counts.suppressed) == (64, 0)


def mirror_snapshot(tmp_path: Path, members: Iterable[int], state: ListState) -> Any:
    """A snapshot as a successful mirror run leaves it (generation 1)."""
    path = as_state_path(str(tmp_path / "list.snapshot"))
    workdir = tmp_path / "mirror-work"
    workdir.mkdir(exist_ok=True)
    with DigestBuckets(str(workdir)) as desired:
        desired.add(packed(members))
        diff = plan_mirror(
            path, list_type="EMAIL", customer_list_id=LIST_ID, desired=desired, directory=str(workdir)
        )
    save_snapshot(path, diff, list_type="EMAIL", customer_list_id=LIST_ID, list_state=state)
    return path


def freshness(path: Any, current: ListState) -> str | None:
    headers = read_state_headers(path, list_type="EMAIL", customer_list_id=LIST_ID)
    assert headers.snapshot is not None
    return stale_reason(
        snapshot_generation=headers.snapshot.generation,
        recorded=headers.snapshot.list_state,
        pending_generation=headers.pending.generation if headers.pending else None,
        current=current,
    )


def test_purging_a_fresh_snapshot_records_the_list_after_the_erase(tmp_path: Path, buckets: Any) -> None:
    path = mirror_snapshot(tmp_path, range(10), BEFORE)
    erased = buckets([2, 3, 99])
    purge = open_purge(path)
    assert purge is not None and purge.customer_list_id == LIST_ID
    prepare_purge(purge, BEFORE, erased, str(tmp_path))
    # Killed here, after the REMOVE batches: the pending file explains the moved counters to a retry.
    assert freshness(path, AFTER) is None
    assert records(pending_path_for(path), 33) == sorted(digest(n) + b"-" for n in (2, 3))
    finish_purge(purge, AFTER, erased, str(tmp_path))
    assert (purge.fresh, purge.purged) == (True, 2)
    assert records(path) == sorted(digest(n) for n in range(10) if n not in (2, 3))
    headers = read_state_headers(path, list_type="EMAIL", customer_list_id=LIST_ID)
    assert headers.snapshot is not None and headers.pending is None
    assert (headers.snapshot.generation, headers.snapshot.list_state) == (2, AFTER)
    assert freshness(path, AFTER) is None


def test_a_stale_snapshot_stays_stale_and_a_failed_mirror_runs_pending_file_is_kept(
    tmp_path: Path, buckets: Any
) -> None:
    path = mirror_snapshot(tmp_path, range(10), BEFORE)
    moved = ListState(150.0, 11, 0)  # something else sent a batch since the snapshot
    purge = open_purge(path)
    assert purge is not None
    prepare_purge(purge, moved, buckets([1]), str(tmp_path))
    finish_purge(purge, AFTER, buckets([1]), str(tmp_path))
    assert not purge.fresh and purge.notes
    assert freshness(path, AFTER) is not None
    assert digest(1) not in records(path)

    other = tmp_path / "other"
    other.mkdir()
    path = mirror_snapshot(other, range(10), BEFORE)
    with DigestBuckets(str(other)) as desired:  # a mirror run that failed after recording its pending file
        desired.add(packed([*range(10), 50]))
        diff = plan_mirror(
            path, list_type="EMAIL", customer_list_id=LIST_ID, desired=desired, directory=str(other)
        )
        save_pending(path, diff, list_type="EMAIL", customer_list_id=LIST_ID)
    purge = open_purge(path)
    assert purge is not None
    prepare_purge(purge, ListState(150.0, 11, 0), buckets([4]), str(other))
    finish_purge(purge, AFTER, buckets([4]), str(other))
    assert purge.fresh
    pending = records(pending_path_for(path), 33)
    assert digest(50) + MAYBE_ADDED in pending and digest(4) + b"-" in pending


def test_write_sorted_writes_each_digest_once_in_order(tmp_path: Path, buckets: Any) -> None:
    out = tmp_path / "sorted"
    with open(out, "wb") as handle:
        assert buckets([5, 1, 5, 300, 1]).write_distinct(handle) == 3
    data = out.read_bytes()
    assert [data[i : i + 32] for i in range(0, len(data), 32)] == sorted(digest(n) for n in (1, 5, 300))


def test_write_distinct_unordered_writes_each_digest_once_grouped_by_first_byte(
    tmp_path: Path, buckets: Any
) -> None:
    numbers = [n % 700 for n in range(2_000)]
    out = tmp_path / "grouped"
    with open(out, "wb") as handle:
        assert buckets(numbers).write_distinct(handle, ordered=False) == 700
    data = out.read_bytes()
    written = [data[i : i + 32] for i in range(0, len(data), 32)]
    assert sorted(written) == sorted(digest(n) for n in range(700))  # each once
    assert [record[0] for record in written] == sorted(record[0] for record in written)  # bucket by bucket
