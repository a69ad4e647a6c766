"""Mirror state: sorted SHA-256 digest files kept in object storage, and the bucketed diff against them.

Pinterest cannot list a customer list's members, so a mirror upload remembers what it sent. Two files live
at the user's ``state_path`` (any ``ObjectStoragePath``: ``file://``, ``s3://``, ``gs://``...):

* ``<state_path>``: the snapshot, the membership after the last successful run, its generation (one more
  at every save) and what the list reported right after that run's last batch (``freshness.ListState``);
* ``<state_path>.pending``: written before a run touches the list, deleted after its snapshot is saved. It
  holds the digests that run may have added (``+``) or removed (``-``), so a retry, even with a changed
  source, knows which members are uncertain and re-sends them: the end state never depends on where a
  failed run stopped. Its ``generation`` is that of the snapshot it extends (0: none).

File format, version 2 (both files; version 1 files, without generation and list state, are still read)::

    PINTEREST-AUDIENCE-DIGESTS 2\\n
    {"kind": "snapshot"|"pending", "customer_list_id": ..., "list_type": ..., "count": N, "record_size": R,
     "generation": G, "list_state": {"updated_time": ..., "num_uploaded_user_records": ...,
     "num_removed_user_records": ...} or null}\\n
    N records of R bytes, ascending, each digest once: a 32-byte SHA-256, plus b"+"/b"-" in pending files
    b"END" + SHA-256 of everything above (the file is valid only if it ends with this trailer)

Files are written under a private temporary sibling name (``state_files``) and then moved into place; a
run holds the state's lease (``lease``) while it reads and writes them. Work is split into 256 buckets
by the first digest byte (uniform for SHA-256): memory holds one bucket of each set at a time, temporary
files hold the rest, and every set operation inside a bucket runs in C.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import chain, filterfalse
from typing import IO, Any, Literal

from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_pinterest_audiences.customer_lists.freshness import ListState, StaleSnapshotError
from airflow_provider_pinterest_audiences.customer_lists.records import DIGEST_SIZE
from airflow_provider_pinterest_audiences.customer_lists.state_files import open_new, temporary_sibling
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

MAGIC = b"PINTEREST-AUDIENCE-DIGESTS 2\n"
MAGIC_V1 = b"PINTEREST-AUDIENCE-DIGESTS 1\n"
TRAILER_TAG = b"END"
PENDING_SUFFIX = ".pending"
MAYBE_ADDED = b"+"
MAYBE_REMOVED = b"-"
BUCKETS = 256
IO_BLOCK_BYTES = 1 << 20
_SPILL_BYTES = 1 << 16

Kind = Literal["snapshot", "pending"]
RECORD_SIZE: dict[Kind, int] = {"snapshot": DIGEST_SIZE, "pending": DIGEST_SIZE + 1}


def _state_error(location: object, problem: str) -> PinterestInvalidArgumentError:
    return PinterestInvalidArgumentError("state_path", f"{location}: {problem}")


@dataclass(frozen=True)
class DigestFileHeader:
    """What a digest file says about itself."""

    kind: Kind
    customer_list_id: str | None
    list_type: str
    count: int
    generation: int = 0
    list_state: ListState | None = None

    @property
    def record_size(self) -> int:
        """Bytes per record for this kind of file."""
        return RECORD_SIZE[self.kind]

    def encode(self) -> bytes:
        """Magic line and JSON header line."""
        fields = {
            "kind": self.kind,
            "customer_list_id": self.customer_list_id,
            "list_type": self.list_type,
            "count": self.count,
            "record_size": self.record_size,
            "generation": self.generation,
            "list_state": self.list_state.to_json() if self.list_state else None,
        }
        return MAGIC + json.dumps(fields, sort_keys=True).encode("ascii") + b"\n"


class DigestBuckets:
    """A set of digests under construction: 256 buckets by first byte, spilled to one local file."""

    def __init__(self, directory: str) -> None:
        self._spill = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (closed in close(); never named)
        self._buffers = [bytearray() for _ in range(BUCKETS)]
        self._segments: list[list[tuple[int, int]]] = [[] for _ in range(BUCKETS)]

    def add(self, packed: bytes) -> None:
        """Add packed digests (duplicates allowed; they collapse when a bucket is read)."""
        buffers = self._buffers
        for start in range(0, len(packed), DIGEST_SIZE):
            buffers[packed[start]] += packed[start : start + DIGEST_SIZE]
        for first_byte, buffer in enumerate(buffers):
            if len(buffer) >= _SPILL_BYTES:
                self._segments[first_byte].append((self._spill.tell(), len(buffer)))
                self._spill.write(buffer)
                buffer.clear()

    def bucket(self, first_byte: int) -> bytes:
        """The packed digests starting with ``first_byte``, in arrival order, duplicates included."""
        parts = []
        for offset, size in self._segments[first_byte]:
            self._spill.seek(offset)
            parts.append(self._spill.read(size))
        self._spill.seek(0, os.SEEK_END)
        return b"".join(parts) + self._buffers[first_byte]

    def distinct(self, first_byte: int) -> set[bytes]:
        """The distinct digests of one bucket."""
        return set(split_records(self.bucket(first_byte)))

    def write_distinct(self, handle: IO[bytes], *, ordered: bool = True) -> int:
        """Write the distinct digests to ``handle``, one bucket in memory at a time; how many there are.

        ``ordered``: in ascending order; else grouped by first byte only (sorting costs about a third of
        the time, and sending needs no order).
        """
        count = 0
        for first_byte in range(BUCKETS):
            distinct = self.distinct(first_byte)
            count += len(distinct)
            handle.write(b"".join(sorted(distinct) if ordered else distinct))
        return count

    def close(self) -> None:
        """Release the spill file."""
        self._spill.close()

    def __enter__(self) -> DigestBuckets:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def split_records(packed: bytes, size: int = DIGEST_SIZE) -> list[bytes]:
    """Packed fixed-size records as a list (the regex engine does the slicing in C)."""
    return re.findall(b"(?s).{%d}" % size, packed)


def _diff_bucket(desired: bytes, snapshot: bytes, pending: bytes, resync: bool) -> dict[str, list[bytes]]:
    """One bucket of the mirror diff (see ``plan_mirror``); every output sorted.

    Set algebra runs in C. The new snapshot body is the old sorted one minus the departed plus the joined,
    which timsort merges in near-linear time instead of sorting from scratch.
    """
    wanted = set(split_records(desired))
    previous = split_records(snapshot)
    present = set(previous)
    joined, left = wanted - present, present - wanted
    flagged = split_records(pending, DIGEST_SIZE + 1)
    maybe_added = {record[:DIGEST_SIZE] for record in flagged if record[DIGEST_SIZE:] == MAYBE_ADDED}
    maybe_removed = {record[:DIGEST_SIZE] for record in flagged if record[DIGEST_SIZE:] == MAYBE_REMOVED}
    if resync:
        maybe_removed |= present
    if pending or resync:
        adds, removes = wanted - (present - maybe_removed), (present | maybe_added) - wanted
    else:
        adds, removes = joined, left
    body = sorted(chain(filterfalse(left.__contains__, previous), joined)) if joined or left else previous
    next_pending = [digest + MAYBE_ADDED for digest in (maybe_added - present) | joined]
    next_pending += [digest + MAYBE_REMOVED for digest in (maybe_removed & present) | left]
    return {
        "desired": body,
        "adds": sorted(adds),
        "removes": sorted(removes),
        "pending": sorted(next_pending),
    }


class DigestFileReader:
    """Reads a digest file bucket by bucket, in order; ``finish`` proves it was complete and intact."""

    def __init__(self, handle: IO[bytes], location: object) -> None:
        self._handle = handle
        self._location = location
        self._checksum = hashlib.sha256()
        self.header = self._read_header()
        self._body_left = self.header.count * self.header.record_size
        self._buffer = b""
        self._position = 0

    def _read_header(self) -> DigestFileHeader:
        magic = self._handle.readline(len(MAGIC))
        if magic not in (MAGIC, MAGIC_V1):
            raise _state_error(self._location, "not a customer-list snapshot written by this provider")
        line = self._handle.readline(4096)
        self._checksum.update(magic + line)
        try:
            fields: dict[str, Any] = json.loads(line)
            state = fields.get("list_state")
            header = DigestFileHeader(
                kind=fields["kind"],
                customer_list_id=fields["customer_list_id"],
                list_type=fields["list_type"],
                count=int(fields["count"]),
                generation=int(fields.get("generation", 0)),
                list_state=ListState.from_json(state) if state is not None else None,
            )
            valid = header.kind in RECORD_SIZE and fields["record_size"] == header.record_size
        except (ValueError, KeyError, TypeError, AttributeError):
            valid = False
        if not valid:
            raise _state_error(self._location, "unreadable snapshot header")
        return header

    def _corrupt(self, problem: str) -> PinterestInvalidArgumentError:
        return _state_error(
            self._location,
            f"{problem}; the file is damaged. Delete it: the next run then sends every wanted member and "
            "removes nobody (members who left meanwhile stay until removed by hand). Do not put an older "
            "copy in its place",
        )

    def _read_exactly(self, size: int) -> bytes:
        data = self._handle.read(size)
        while len(data) < size and (more := self._handle.read(size - len(data))):
            data += more
        if len(data) < size:
            raise self._corrupt("truncated")
        return data

    def take(self, first_byte: int) -> bytes:
        """Packed records whose digest starts with ``first_byte`` (call with 0, 1, ... 255 in turn)."""
        size = self.header.record_size
        taken = []
        while True:
            if self._position == len(self._buffer):
                if not self._body_left:
                    break
                block = min(self._body_left, IO_BLOCK_BYTES // size * size)
                self._buffer = self._read_exactly(block)
                self._checksum.update(self._buffer)
                self._body_left -= block
                self._position = 0
            buffer, start = self._buffer, self._position
            if buffer[start] < first_byte:
                raise self._corrupt("records out of order")
            records = (len(buffer) - start) // size
            run = bisect_right(range(records), first_byte, key=lambda index: buffer[start + index * size])
            taken.append(buffer[start : start + run * size])
            self._position = start + run * size
            if run < records:
                break
        return b"".join(taken)

    def finish(self) -> None:
        """Check every record was read and the trailer matches; raise if the file is incomplete."""
        if self._body_left or self._position != len(self._buffer):
            raise self._corrupt("records left unread")
        trailer = self._handle.read(len(TRAILER_TAG) + DIGEST_SIZE + 1)
        if trailer != TRAILER_TAG + self._checksum.digest():
            raise self._corrupt("checksum mismatch or missing end marker")


@dataclass(frozen=True)
class MirrorPlan:
    """A computed mirror diff: local files of packed digests, sorted, plus their counts."""

    desired_path: str
    desired_count: int
    adds_path: str
    add_count: int
    removes_path: str
    remove_count: int
    pending_path: str
    pending_count: int
    had_snapshot: bool
    had_pending: bool
    generation: int = 0
    """The generation of the snapshot diffed against (0: none)."""

    @property
    def changes_list(self) -> bool:
        """Whether the run has anything to send."""
        return bool(self.add_count or self.remove_count)


def pending_path_for(state_path: Any) -> Any:
    """Where the pending file of ``state_path`` lives."""
    return state_path.with_name(state_path.name + PENDING_SUFFIX)


def as_state_path(state_path: Any) -> Any:
    """``state_path`` (a string, a URI or an ObjectStoragePath) as an ObjectStoragePath.

    A relative local path is taken from the working directory (some Airflow versions would take it from
    ``/``).
    """
    if isinstance(state_path, ObjectStoragePath):
        return state_path
    text = os.fspath(state_path) if isinstance(state_path, os.PathLike) else str(state_path)
    return ObjectStoragePath(text if "://" in text else os.path.abspath(text))


@contextmanager
def _open_reader(
    path: Any, kind: Kind, list_type: str, customer_list_id: str | None
) -> Iterator[DigestFileReader | None]:
    """A reader over ``path`` after checking it belongs to this list; None when there is no file."""
    if not path.exists():
        yield None
        return
    with path.open("rb") as handle:
        reader = DigestFileReader(handle, path)
        header = reader.header
        if header.kind != kind:
            raise _state_error(path, f"holds a {header.kind} file where a {kind} file belongs")
        if header.list_type != list_type:
            raise _state_error(path, f"belongs to a {header.list_type} list, not {list_type}")
        pending_before_create = kind == "pending" and header.customer_list_id is None
        if header.customer_list_id != customer_list_id and not pending_before_create:
            if customer_list_id is None:
                raise _state_error(
                    path,
                    f"belongs to customer list {header.customer_list_id}, but no list has the given name: "
                    "if it was renamed, give its new name or customer_list_id; if it was deleted, delete "
                    "the snapshot and its .pending file to start a new list",
                )
            raise _state_error(
                path,
                f"belongs to customer list {header.customer_list_id}, not {customer_list_id}; "
                "give each list its own state_path",
            )
        yield reader


@dataclass(frozen=True)
class StateHeaders:
    """The headers of a state's snapshot and pending file (None for a missing file)."""

    snapshot: DigestFileHeader | None
    pending: DigestFileHeader | None


def read_state_headers(state_path: Any, *, list_type: str, customer_list_id: str | None) -> StateHeaders:
    """The snapshot's and pending file's headers, after checking they belong to this list."""
    with (
        _open_reader(state_path, "snapshot", list_type, customer_list_id) as snapshot,
        _open_reader(pending_path_for(state_path), "pending", list_type, customer_list_id) as pending,
    ):
        return StateHeaders(snapshot.header if snapshot else None, pending.header if pending else None)


def plan_mirror(
    state_path: Any,
    *,
    list_type: str,
    customer_list_id: str | None,
    desired: DigestBuckets,
    directory: str,
    resync: bool = False,
) -> MirrorPlan:
    """Diff the desired digests against the last snapshot (and any pending file) into local files.

    With S = snapshot, A/R = maybe-added/maybe-removed digests of failed runs, N = desired:
    certain members P = S - R, possible members Q = S | A; add N - P, remove Q - N. The next pending
    file holds (A | N) - S as maybe-added and (R & S) | (S - N) as maybe-removed. ``resync`` trusts no
    member of the snapshot (R = S): every desired member is added, and only Q - N is removed.
    """
    paths = {name: os.path.join(directory, name) for name in ("desired", "adds", "removes", "pending")}
    counts = dict.fromkeys(paths, 0)
    with ExitStack() as stack:
        snapshot = stack.enter_context(_open_reader(state_path, "snapshot", list_type, customer_list_id))
        pending = stack.enter_context(
            _open_reader(pending_path_for(state_path), "pending", list_type, customer_list_id)
        )
        outputs = {name: stack.enter_context(open(path, "wb")) for name, path in paths.items()}
        for first_byte in range(BUCKETS):
            results = _diff_bucket(
                desired.bucket(first_byte),
                snapshot.take(first_byte) if snapshot else b"",
                pending.take(first_byte) if pending else b"",
                resync,
            )
            for name, records in results.items():
                outputs[name].write(b"".join(records))
                counts[name] += len(records)
        for reader in (snapshot, pending):
            if reader:
                reader.finish()
        had_snapshot, had_pending = snapshot is not None, pending is not None
        generation = snapshot.header.generation if snapshot else 0
    return MirrorPlan(
        desired_path=paths["desired"],
        desired_count=counts["desired"],
        adds_path=paths["adds"],
        add_count=counts["adds"],
        removes_path=paths["removes"],
        remove_count=counts["removes"],
        pending_path=paths["pending"],
        pending_count=counts["pending"],
        had_snapshot=had_snapshot,
        had_pending=had_pending,
        generation=generation,
    )


def write_digest_file(path: Any, header: DigestFileHeader, body_path: str) -> None:
    """Write ``header``, the local file ``body_path`` and the trailer to ``path``, atomically where possible.

    The bytes go to a private temporary sibling first, which is then moved over ``path``: a crash mid-write
    leaves the old file or no file, never a half one taken as valid (readers also check the trailer), and a
    temporary file the next run removes.
    """
    temporary = temporary_sibling(path)
    checksum = hashlib.sha256()
    try:
        with open_new(temporary) as out, open(body_path, "rb") as body:
            prefix = header.encode()
            checksum.update(prefix)
            out.write(prefix)
            for block in iter(partial(body.read, IO_BLOCK_BYTES), b""):
                checksum.update(block)
                out.write(block)
            out.write(TRAILER_TAG + checksum.digest())
        temporary.rename(path)
    finally:
        if temporary.exists():
            temporary.unlink()


def save_pending(state_path: Any, plan: MirrorPlan, *, list_type: str, customer_list_id: str | None) -> None:
    """Record what the coming run may add or remove, before it touches the list (extends plan's snapshot)."""
    header = DigestFileHeader("pending", customer_list_id, list_type, plan.pending_count, plan.generation)
    write_digest_file(pending_path_for(state_path), header, plan.pending_path)


def save_snapshot(
    state_path: Any,
    plan: MirrorPlan,
    *,
    list_type: str,
    customer_list_id: str,
    list_state: ListState | None = None,
) -> None:
    """After every batch succeeded: the desired set becomes the next snapshot generation; pending goes.

    If the snapshot at ``state_path`` is no longer the one ``plan`` was diffed against, another run wrote
    it meanwhile and nothing is saved. ``list_state``: what the list reported after this run's last batch.
    """
    generation = plan.generation
    found = _generation_of(state_path, list_type, customer_list_id)
    if found != generation:
        raise StaleSnapshotError(
            f"{state_path} changed during this run (generation {generation} when read, {found} now): "
            "another run wrote it meanwhile, so this run's snapshot was not saved. Run again once no other "
            "run of this state is active: the pending file, or the stale-snapshot check, tells that run "
            "what this one may have changed"
        )
    header = DigestFileHeader(
        "snapshot", customer_list_id, list_type, plan.desired_count, generation + 1, list_state
    )
    write_digest_file(state_path, header, plan.desired_path)
    discard_pending(state_path)


def _generation_of(state_path: Any, list_type: str, customer_list_id: str) -> int:
    with _open_reader(state_path, "snapshot", list_type, customer_list_id) as reader:
        return reader.header.generation if reader else 0


def discard_pending(state_path: Any) -> None:
    """Delete the pending file if there is one."""
    pending = pending_path_for(state_path)
    if pending.exists():
        pending.unlink()
