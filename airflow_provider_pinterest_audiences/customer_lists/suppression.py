"""What makes an erasure stick: the suppression set, and mirror snapshots purged of erased digests.

The suppression set is a digest file at the user's ``suppression_path`` (snapshot format: sorted SHA-256
digests, a header and a checksummed trailer; its ``customer_list_id`` is null and its ``list_type`` is the
identifier type it holds, one type per file). An erase merges the digests it erased into it (under the
path's lease, so two erases never lose each other's digests). An upload given ``suppression_path`` drops
every suppressed digest of its source as it is read: they are never sent again and are counted as
``suppressed``. Both walk the 256 first-byte buckets in order, so memory holds one bucket of each set.

A mirror snapshot named in an erase is purged of the erased digests, so its next run neither re-adds nor
re-removes them. The erase's REMOVE batches move the list's record counters, which the mirror's freshness
check compares (``freshness``); so, when the snapshot still told the list's story before the erase, the
purge records what the list reports after it, and a pending file written before the first batch makes a
retried erase (killed after its batches, before the purge) find the snapshot fresh too. A snapshot that was
already stale stays stale (its recorded state and generation are kept): the mirror still reports it.
"""

from __future__ import annotations

import os
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pinterest_audiences.arguments import storage_path
from airflow_provider_pinterest_audiences.customer_lists.freshness import ListState, stale_reason
from airflow_provider_pinterest_audiences.customer_lists.records import DIGEST_SIZE, RecordCounts
from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
    BUCKETS,
    MAYBE_REMOVED,
    DigestBuckets,
    DigestFileHeader,
    DigestFileReader,
    as_state_path,
    discard_pending,
    pending_path_for,
    read_state_headers,
    split_records,
    write_digest_file,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

PENDING_RECORD_SIZE = DIGEST_SIZE + 1


@dataclass(slots=True)
class ReadCounts(RecordCounts):
    """``RecordCounts`` plus the valid rows held back because the suppression set holds their digest, and
    the generation of the suppression set they were checked against (None: no set, or no file yet)."""

    suppressed: int = 0
    suppression_generation: int | None = None


suppression_path_argument = storage_path(
    "the suppression set", "s3://bucket/pinterest/erased-emails.suppression"
)
"""The ``suppression_path`` argument's check: a path, URI or ObjectStoragePath that did not render empty."""


@contextmanager
def _digest_file(path: Any, argument: str) -> Iterator[DigestFileReader | None]:
    """A reader over the digest file at ``path`` (None when there is none); errors name ``argument``."""
    if not path.exists():
        yield None
        return
    with path.open("rb") as handle:
        try:
            yield DigestFileReader(handle, path)
        except PinterestInvalidArgumentError as exc:
            if exc.argument == argument:
                raise
            problem = str(exc).removeprefix(f"Invalid argument {exc.argument!r}: ")
            raise PinterestInvalidArgumentError(argument, problem) from None


def _check_suppression_header(reader: DigestFileReader | None, path: Any, list_type: str) -> None:
    if reader is None:
        return
    header = reader.header
    if header.kind != "snapshot" or header.customer_list_id is not None:
        raise PinterestInvalidArgumentError(
            "suppression_path", f"{path} is a mirror state file, not a suppression set"
        )
    if header.list_type != list_type:
        raise PinterestInvalidArgumentError(
            "suppression_path",
            f"{path} holds {header.list_type} digests, not {list_type}: keep one suppression set per "
            "identifier type",
        )


def _finished(reader: DigestFileReader | None) -> None:
    if reader is not None:
        reader.finish()


def _holds(sorted_digests: bytes, digest: bytes) -> bool:
    """Whether packed ascending digests hold ``digest`` (a binary search: no record is copied but those
    it compares)."""
    count = len(sorted_digests) // DIGEST_SIZE
    index = bisect_left(
        range(count), digest, key=lambda i: sorted_digests[i * DIGEST_SIZE : (i + 1) * DIGEST_SIZE]
    )
    return index < count and sorted_digests[index * DIGEST_SIZE : (index + 1) * DIGEST_SIZE] == digest


def add_to_suppression(
    suppression_path: Any, list_type: str, erased: DigestBuckets, directory: str
) -> tuple[int, int]:
    """Merge the ``erased`` digests into the suppression set (the caller holds its lease).

    Returns (digests new to the set, digests in the set now). Merging what is there already changes
    nothing, so a retried erase ends with the same set. A bucket with nothing new is copied as it is.
    """
    path = as_state_path(suppression_path)
    body_path = os.path.join(directory, "suppression.body")
    added = total = 0
    with _digest_file(path, "suppression_path") as reader, open(body_path, "wb") as body:
        _check_suppression_header(reader, path, list_type)
        for first_byte in range(BUCKETS):
            present = reader.take(first_byte) if reader else b""
            new = [digest for digest in erased.distinct(first_byte) if not _holds(present, digest)]
            added += len(new)
            total += len(present) // DIGEST_SIZE + len(new)
            body.write(b"".join(sorted([*split_records(present), *new])) if new else present)
        _finished(reader)
        generation = reader.header.generation + 1 if reader else 1
    header = DigestFileHeader("snapshot", None, list_type, total, generation)
    write_digest_file(path, header, body_path)
    return added, total


class SuppressionFilter:
    """Collects an upload's packed digests, then hands ``sink`` those the suppression set does not hold.

    The digests are spilled into first-byte buckets as they come (``add``); ``drain`` walks them beside
    the sorted suppression set, one bucket of each in memory at a time, and returns how many it held back.
    """

    def __init__(self, suppression_path: Any, list_type: str, directory: str) -> None:
        self._path = as_state_path(suppression_path)
        self._list_type = list_type
        self._buckets = DigestBuckets(directory)
        self.generation: int | None = None
        """The generation of the suppression set the last ``drain`` read (None: there was no file)."""

    def add(self, packed: bytes) -> None:
        """Take packed digests of the source (in any order, duplicates allowed)."""
        self._buckets.add(packed)

    def drain(self, sink: Callable[[bytes], object]) -> int:
        """Send ``sink`` every unsuppressed digest, bucket by bucket; the number of digests held back."""
        held_back = 0
        with _digest_file(self._path, "suppression_path") as reader:
            _check_suppression_header(reader, self._path, self._list_type)
            self.generation = reader.header.generation if reader else None
            for first_byte in range(BUCKETS):
                packed = self._buckets.bucket(first_byte)
                suppressed = set(split_records(reader.take(first_byte))) if reader else set()
                if suppressed:
                    kept = [digest for digest in split_records(packed) if digest not in suppressed]
                    held_back += len(packed) // DIGEST_SIZE - len(kept)
                    packed = b"".join(kept)
                if packed:
                    sink(packed)
            _finished(reader)
        return held_back

    def close(self) -> None:
        """Release the spill file."""
        self._buckets.close()


@contextmanager
def suppressed_reading(
    suppression_path: Any, list_type: str, sink: Callable[[bytes], object], counts: ReadCounts
) -> Iterator[Callable[[bytes], object]]:
    """The sink to read a source into: ``sink`` itself without a suppression set, else a filter that
    forwards the unsuppressed digests to ``sink`` when the block ends and counts the rest in ``counts``."""
    if suppression_path is None:
        yield sink
        return
    with tempfile.TemporaryDirectory(prefix="pinterest-suppression-") as directory:
        held = SuppressionFilter(suppression_path, list_type, directory)
        try:
            yield held.add
            counts.suppressed = held.drain(sink)
            counts.suppression_generation = held.generation
        finally:
            held.close()


def suppression_generation(suppression_path: Any) -> int | None:
    """The generation of the suppression set now (its header only; None when there is no file)."""
    with _digest_file(as_state_path(suppression_path), "suppression_path") as reader:
        return reader.header.generation if reader else None


def refilter(
    desired: DigestBuckets, suppression_path: Any, list_type: str, directory: str, counts: ReadCounts
) -> DigestBuckets:
    """``desired`` less what the suppression set holds now, as new buckets (the caller closes them).

    For a mirror whose suppression set changed (an erase merged into it) between reading the source and
    taking the state's lease: the digests are checked against the set once more; ``counts`` follows.
    """
    refiltered = DigestBuckets(directory)
    held = SuppressionFilter(suppression_path, list_type, directory)
    try:
        for first_byte in range(BUCKETS):
            held.add(desired.bucket(first_byte))
        counts.suppressed += held.drain(refiltered.add)
        counts.suppression_generation = held.generation
    except BaseException:
        refiltered.close()
        raise
    finally:
        held.close()
    return refiltered


# --- mirror snapshots named in an erase -----------------------------------------------------------------


@dataclass
class SnapshotPurge:
    """One mirror snapshot named in an erase: what it said before, and whether it told the list's story."""

    state_path: Any
    header: DigestFileHeader
    had_pending: bool
    fresh: bool = False
    purged: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def customer_list_id(self) -> str:
        assert self.header.customer_list_id is not None
        return self.header.customer_list_id


def _argument_error(state_path: Any, problem: str) -> PinterestInvalidArgumentError:
    return PinterestInvalidArgumentError("state_paths", f"{state_path}: {problem}")


def open_purge(state_path: Any) -> SnapshotPurge | None:
    """The named snapshot's headers, checked (None when no snapshot exists there yet); its ``list_type``
    tells whether the erase applies to its list."""
    path = as_state_path(state_path)
    with _digest_file(path, "state_paths") as reader:
        header = reader.header if reader else None
    if header is None:
        return None
    if header.kind != "snapshot" or header.customer_list_id is None:
        raise _argument_error(path, "not a mirror snapshot (a suppression set or a pending file?)")
    headers = read_state_headers(path, list_type=header.list_type, customer_list_id=header.customer_list_id)
    return SnapshotPurge(path, header, headers.pending is not None)


def prepare_purge(purge: SnapshotPurge, current: ListState, erased: DigestBuckets, directory: str) -> None:
    """Before the erase touches the purge's list: judge freshness; when fresh, record the coming removals
    as a pending file extending the snapshot (merged with any pending file already there)."""
    path = purge.state_path
    headers = read_state_headers(
        path, list_type=purge.header.list_type, customer_list_id=purge.customer_list_id
    )
    snapshot, pending = headers.snapshot, headers.pending
    assert snapshot is not None
    reason = stale_reason(
        snapshot_generation=snapshot.generation,
        recorded=snapshot.list_state,
        pending_generation=pending.generation if pending else None,
        current=current,
    )
    purge.header, purge.had_pending, purge.fresh = snapshot, pending is not None, reason is None
    if reason is not None:
        purge.notes.append(f"stale before the erase ({reason}); its next mirror run reports it")
        return
    body_path = os.path.join(directory, "pending.body")
    count = 0
    with ExitStack() as stack:
        snapshot_reader = stack.enter_context(_digest_file(path, "state_paths"))
        pending_reader = stack.enter_context(_digest_file(pending_path_for(path), "state_paths"))
        body = stack.enter_context(open(body_path, "wb"))
        assert snapshot_reader is not None  # checked above, under the lease
        for first_byte in range(BUCKETS):
            flagged = (
                split_records(pending_reader.take(first_byte), PENDING_RECORD_SIZE) if pending_reader else []
            )
            known = {record[:DIGEST_SIZE] for record in flagged}
            members = set(split_records(snapshot_reader.take(first_byte)))
            leaving = (members & erased.distinct(first_byte)) - known
            records = sorted([*flagged, *(digest + MAYBE_REMOVED for digest in leaving)])
            count += len(records)
            body.write(b"".join(records))
        for reader in (snapshot_reader, pending_reader):
            _finished(reader)
    generation = max(snapshot.generation, pending.generation) if pending else snapshot.generation
    header = DigestFileHeader("pending", purge.customer_list_id, snapshot.list_type, count, generation)
    write_digest_file(pending_path_for(path), header, body_path)


def finish_purge(purge: SnapshotPurge, after: ListState, erased: DigestBuckets, directory: str) -> None:
    """After every REMOVE batch of the purge's list: the snapshot without the erased digests.

    Fresh: the next generation, recording ``after``; the pending file written by ``prepare_purge`` goes
    unless one was there before (a failed mirror run's, kept for its next run). Stale: same header.
    """
    path, snapshot = purge.state_path, purge.header
    body_path = os.path.join(directory, "snapshot.body")
    count = 0
    with _digest_file(path, "state_paths") as reader, open(body_path, "wb") as body:
        assert reader is not None
        for first_byte in range(BUCKETS):
            gone = erased.distinct(first_byte)
            members = split_records(reader.take(first_byte))
            kept = [digest for digest in members if digest not in gone]
            purge.purged += len(members) - len(kept)
            count += len(kept)
            body.write(b"".join(kept))
        _finished(reader)
    generation, list_state = snapshot.generation, snapshot.list_state
    if purge.fresh:
        generation, list_state = generation + 1, after
    header = DigestFileHeader(
        "snapshot", purge.customer_list_id, snapshot.list_type, count, generation, list_state
    )
    write_digest_file(path, header, body_path)
    if purge.fresh and not purge.had_pending:
        discard_pending(path)
