"""``customer_lists.mirror``: mirror_list's own decisions, against the in-memory API of ``test_upload``."""

from __future__ import annotations

import functools
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists import mirror as mirror_module
from airflow_provider_pinterest_audiences.customer_lists import snapshot as snapshot_module
from airflow_provider_pinterest_audiences.customer_lists.freshness import StaleSnapshotError
from airflow_provider_pinterest_audiences.customer_lists.lease import LeaseRecord, StateLease, StateLeaseError
from airflow_provider_pinterest_audiences.customer_lists.list_writer import ListWriter
from airflow_provider_pinterest_audiences.customer_lists.mirror import mirror_list
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadResult
from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
    DigestBuckets,
    as_state_path,
    read_state_headers,
)
from airflow_provider_pinterest_audiences.customer_lists.suppression import (
    ReadCounts,
    add_to_suppression,
    suppression_generation,
)
from tests.unit.customer_lists.test_erase import Killed, digests_in
from tests.unit.customer_lists.test_upload import FakeApi, digest, plan

LOG = logging.getLogger("test-mirror")
LIST_ID = "1"  # the id FakeApi gives the first list it makes
OTHER_RUN = {"dag_id": "crm", "task_id": "mirror", "run_id": "manual__1", "try_number": "1", "host": "w2"}


def hexes(numbers: Iterable[int]) -> set[str]:
    return {digest(f"person{n}@example.com") for n in numbers}


class Mirror:
    """One list's mirror state in ``tmp_path/state`` and the fake API behind it; ``run`` is one mirror_list
    call with the given members as the source read."""

    def __init__(self, tmp_path: Path) -> None:
        self.api = FakeApi()
        self.state = tmp_path / "state" / "newsletter.snapshot"
        self.state.parent.mkdir()
        self._work = tmp_path / "work"
        self._work.mkdir()

    def run(self, numbers: Iterable[int], counts: ReadCounts | None = None, **kwargs: Any) -> UploadResult:
        upload_plan = plan([], mode="mirror", state_path=str(self.state), **kwargs)
        workdir = tempfile.mkdtemp(dir=self._work)
        with DigestBuckets(workdir) as desired:
            desired.add(b"".join(bytes.fromhex(member) for member in hexes(numbers)))
            writer = ListWriter(upload_plan, self.api, lambda: self.api, LOG)  # type: ignore[arg-type]
            return mirror_list(upload_plan, writer, desired, counts or ReadCounts(), workdir, LOG)

    def members(self) -> set[str]:
        return set(self.api.lists[LIST_ID]["members"])

    def files(self) -> list[str]:
        return sorted(path.name for path in self.state.parent.iterdir())

    def generation(self) -> int:
        headers = read_state_headers(
            as_state_path(str(self.state)), list_type="EMAIL", customer_list_id=LIST_ID
        )
        assert headers.snapshot is not None
        return headers.snapshot.generation

    def requests_since(self, start: int) -> list[tuple[str, int]]:
        return [(operation, size) for _, operation, size in self.api.requests[start:]]

    def kill_at(self, number: int) -> None:
        """The ``number``-th update from now (1: the next) kills the worker before it changes anything."""
        start = len(self.api.requests)

        def maybe_die(update: int) -> None:
            if update == start + number:
                raise Killed("killed mid-batch")

        self.api.before_update = maybe_die


@pytest.mark.parametrize(
    ("before", "now", "sent", "generation"),
    [
        pytest.param(None, range(5), {"ADD": 5}, 1, id="first-run-adds-everyone"),
        pytest.param(range(5), range(2, 7), {"ADD": 2, "REMOVE": 2}, 2, id="newcomers-and-leavers"),
        pytest.param(range(5), range(3), {"REMOVE": 2}, 2, id="leavers-only"),
        pytest.param(range(5), range(5), {}, 1, id="no-change-sends-and-saves-nothing"),
    ],
)
def test_a_run_sends_only_what_changed_since_the_snapshot_and_saves_the_source(
    tmp_path: Path, before: range | None, now: range, sent: dict[str, int], generation: int
) -> None:
    mirror = Mirror(tmp_path)
    if before is not None:
        mirror.run(before)
    start, snapshot_before = len(mirror.api.requests), mirror.state.read_bytes() if before else None
    result = mirror.run(now)
    assert mirror.members() == hexes(now)
    assert (result.customer_list_id, result.sent, result.planned) == (LIST_ID, sent, Counter(sent))
    assert sum(size for _, size in mirror.requests_since(start)) == sum(sent.values())
    assert result.desired_members == len(now)
    assert digests_in(mirror.state) == hexes(now)
    assert mirror.generation() == generation
    if not sent:
        assert mirror.state.read_bytes() == snapshot_before
    assert mirror.files() == ["newsletter.snapshot"]  # no pending file, no lock


def test_a_first_run_on_a_list_made_outside_the_task_keeps_its_other_members(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mirror = Mirror(tmp_path)
    stranger = digest("stranger@example.com")
    mirror.api.create_customer_list("1", name="newsletter", records=stranger, list_type="EMAIL")
    with caplog.at_level(logging.WARNING):
        result = mirror.run(range(3))
    assert mirror.members() == hexes(range(3)) | {stranger}
    assert result.sent == {"ADD": 3}
    assert "members uploaded outside this task are kept" in caplog.text
    assert mirror.run(range(1)).sent == {"REMOVE": 2}  # from now on the snapshot proves who left


@pytest.mark.parametrize(
    ("before", "now", "kill_at", "retry"),
    [
        pytest.param(None, range(6), 2, range(6), id="first-run-after-creating-the-list"),
        pytest.param(None, range(6), 2, range(3, 9), id="first-run-retried-with-another-source"),
        pytest.param(range(6), range(4, 10), 1, range(4, 10), id="at-the-first-add"),
        pytest.param(range(6), range(4, 10), 3, range(4, 10), id="at-the-first-remove"),
        pytest.param(range(6), range(4, 10), 4, range(2, 8), id="at-the-last-remove-retried-with-another"),
    ],
)
def test_a_run_killed_mid_batches_leaves_a_pending_file_and_the_retry_ends_exact(
    tmp_path: Path, before: range | None, now: range, kill_at: int, retry: range
) -> None:
    mirror = Mirror(tmp_path)
    if before is not None:
        mirror.run(before)
    snapshot_before = mirror.state.read_bytes() if before else None
    mirror.kill_at(kill_at)
    with pytest.raises(Killed):
        mirror.run(now)
    assert mirror.members() != hexes(now)
    expected_files = ["newsletter.snapshot.pending"]
    if before is not None:
        expected_files.insert(0, "newsletter.snapshot")
        assert mirror.state.read_bytes() == snapshot_before
    assert mirror.files() == expected_files  # the lease was released
    mirror.api.before_update = lambda number: None
    mirror.run(retry)
    assert mirror.members() == hexes(retry)
    assert digests_in(mirror.state) == hexes(retry)
    assert mirror.files() == ["newsletter.snapshot"]
    assert mirror.run(retry).sent == Counter()  # the snapshot saved tells the list's story


def outside_change(mirror: Mirror) -> None:
    """Someone adds a stranger and removes person3 with another tool."""
    mirror.api.update_customer_list(
        "1", LIST_ID, operation_type="ADD", records=digest("stranger@example.com")
    )
    mirror.api.update_customer_list(
        "1", LIST_ID, operation_type="REMOVE", records=digest("person3@example.com")
    )


def older_snapshot_put_back(mirror: Mirror) -> None:
    """A backup of the snapshot is restored over the one a later run (3..8 wanted) saved."""
    older = mirror.state.read_bytes()
    mirror.run(range(3, 9))
    mirror.state.write_bytes(older)


@pytest.mark.parametrize(
    ("make_stale", "now", "reason", "resync_sent", "members_after"),
    [
        pytest.param(
            outside_change,
            range(4),
            "num_uploaded_user_records 6 -> 7",
            {"ADD": 4, "REMOVE": 2},
            hexes(range(4)) | {digest("stranger@example.com")},
            id="changed-outside-the-task",
        ),
        pytest.param(
            older_snapshot_put_back,
            range(9),
            "num_removed_user_records 0 -> 3",
            {"ADD": 9},
            hexes(range(9)),
            id="older-snapshot-put-back",
        ),
    ],
)
def test_a_stale_snapshot_fails_before_any_write_and_resync_removes_only_proven_leavers(
    tmp_path: Path,
    make_stale: Callable[[Mirror], None],
    now: range,
    reason: str,
    resync_sent: dict[str, int],
    members_after: set[str],
) -> None:
    mirror = Mirror(tmp_path)
    mirror.run(range(6))
    make_stale(mirror)
    start, snapshot_before, members_before = (
        len(mirror.api.requests),
        mirror.state.read_bytes(),
        mirror.members(),
    )
    with pytest.raises(StaleSnapshotError) as refused:
        mirror.run(now)
    message = str(refused.value)
    assert "is stale" in message and reason in message and "Nothing was sent" in message
    assert "on_stale_snapshot='resync'" in message
    assert mirror.requests_since(start) == []
    assert mirror.members() == members_before
    assert (mirror.state.read_bytes(), mirror.files()) == (snapshot_before, ["newsletter.snapshot"])

    resync = mirror.run(now, on_stale_snapshot="resync")
    assert resync.sent == resync_sent  # every wanted member again; only leavers the snapshot proves
    assert mirror.members() == members_after
    assert mirror.run(now).sent == Counter()  # the fresh snapshot is trusted again


def test_a_list_given_by_id_that_is_gone_fails_with_the_recovery_and_writes_nothing(tmp_path: Path) -> None:
    mirror = Mirror(tmp_path)
    with pytest.raises(
        StaleSnapshotError, match=r"list 404 no longer exists \(HTTP 404\)\. Nothing was sent"
    ):
        mirror.run(range(3), customer_list_id="404")
    assert (mirror.api.requests, mirror.files()) == ([], [])


def refuse_every_call(api: FakeApi) -> None:
    """Make any call to ``api`` fail the test."""

    def called(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the API was called")

    for name in ("find_customer_list", "get_customer_list", "create_customer_list", "update_customer_list"):
        setattr(api, name, called)


def test_a_lease_held_by_another_live_run_fails_before_any_api_call(tmp_path: Path) -> None:
    mirror = Mirror(tmp_path)
    mirror.run(range(3))
    snapshot_before = mirror.state.read_bytes()
    holder = StateLease(as_state_path(str(mirror.state)), ttl=600, log=LOG, owner={**OTHER_RUN, "pid": "9"})
    holder.acquire()
    try:
        refuse_every_call(mirror.api)
        with pytest.raises(StateLeaseError, match=r"Another mirror run holds the lease.*run_id manual__1"):
            mirror.run(range(5))
        assert mirror.state.read_bytes() == snapshot_before
        assert mirror.files() == ["newsletter.snapshot", "newsletter.snapshot.lock"]
    finally:
        holder.release()


def test_a_lease_that_expires_mid_batches_stops_the_sending_and_saves_no_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The renewal never came (the worker stalled): the next batch is not sent, the pending file is kept."""
    mirror = Mirror(tmp_path)
    mirror.run(range(6))
    snapshot_before, start = mirror.state.read_bytes(), len(mirror.api.requests)
    now = [time.time()]
    monkeypatch.setattr(mirror_module, "StateLease", functools.partial(StateLease, clock=lambda: now[0]))

    def stall(number: int) -> None:
        now[0] += 10_000

    mirror.api.before_update = stall
    with pytest.raises(StateLeaseError, match=r"lost its lease .* expired"):
        mirror.run(range(4, 10))
    assert len(mirror.requests_since(start)) == 1
    assert mirror.state.read_bytes() == snapshot_before
    assert mirror.files() == ["newsletter.snapshot", "newsletter.snapshot.pending"]
    mirror.api.before_update = lambda number: None
    mirror.run(range(4, 10))
    assert mirror.members() == hexes(range(4, 10))


def test_a_lease_taken_over_mid_batches_saves_no_snapshot_and_leaves_the_new_holders_lock(
    tmp_path: Path,
) -> None:
    mirror = Mirror(tmp_path)
    mirror.run(range(6))
    snapshot_before = mirror.state.read_bytes()
    lock = mirror.state.with_name("newsletter.snapshot.lock")
    usurper = LeaseRecord("f" * 32, {**OTHER_RUN, "run_id": "usurper", "pid": "4"}, 4e9)
    mirror.api.before_update = lambda number: lock.write_bytes(usurper.encode())
    with pytest.raises(StateLeaseError, match=r"lost its lease .* run_id usurper"):
        mirror.run(range(4, 10))
    assert mirror.state.read_bytes() == snapshot_before
    assert (tmp_path / "state" / "newsletter.snapshot.pending").exists()
    assert lock.read_bytes() == usurper.encode()


@pytest.mark.parametrize(
    ("before", "now", "planned", "list_id"),
    [
        pytest.param(None, range(5), {"ADD": 5}, None, id="first-run-makes-no-list"),
        pytest.param(range(5), range(2, 8), {"ADD": 3, "REMOVE": 2}, LIST_ID, id="second-run"),
    ],
)
def test_a_dry_run_plans_the_diff_and_writes_nothing_not_even_a_lease(
    tmp_path: Path, before: range | None, now: range, planned: dict[str, int], list_id: str | None
) -> None:
    mirror = Mirror(tmp_path)
    if before is not None:
        mirror.run(before)
    files_before = {path.name: path.read_bytes() for path in mirror.state.parent.iterdir()}
    holder = StateLease(as_state_path(str(mirror.state)), ttl=600, log=LOG, owner={**OTHER_RUN, "pid": "9"})
    holder.acquire()  # a live run holds the lease: a dry run does not need it
    lock_before = holder.path.read_bytes()
    try:
        start = len(mirror.api.requests)
        result = mirror.run(now, dry_run=True)
    finally:
        assert holder.path.read_bytes() == lock_before
        holder.release()
    assert (result.customer_list_id, result.planned, result.sent) == (list_id, Counter(planned), Counter())
    assert result.desired_members == len(now)
    assert mirror.requests_since(start) == []
    assert {path.name: path.read_bytes() for path in mirror.state.parent.iterdir()} == files_before
    assert len(mirror.api.lists) == (0 if before is None else 1)


def erase(path: Path, numbers: Iterable[int], work: Path) -> None:
    """Merge these members into the suppression set at ``path``, as an erase does."""
    with DigestBuckets(str(work)) as erased:
        erased.add(b"".join(bytes.fromhex(member) for member in hexes(numbers)))
        add_to_suppression(as_state_path(str(path)), "EMAIL", erased, str(work))


@pytest.mark.parametrize(
    ("erased_before_read", "erased_during_read"),
    [
        pytest.param((), (2, 3), id="set-created-during-the-read"),
        pytest.param((0,), (0, 4), id="set-grown-during-the-read"),
    ],
)
def test_a_suppression_set_changed_during_the_read_is_applied_again_under_the_lease(
    tmp_path: Path, erased_before_read: tuple[int, ...], erased_during_read: tuple[int, ...]
) -> None:
    mirror, suppression = Mirror(tmp_path), tmp_path / "erased.suppression"
    if erased_before_read:
        erase(suppression, erased_before_read, tmp_path)
    counts = ReadCounts(
        suppressed=len(erased_before_read), suppression_generation=suppression_generation(str(suppression))
    )
    read = set(range(8)) - set(erased_before_read)  # what the read kept
    erase(suppression, erased_during_read, tmp_path)
    result = mirror.run(read, counts, suppression_path=str(suppression))
    kept = read - set(erased_during_read)
    assert mirror.members() == digests_in(mirror.state) == hexes(kept)
    assert result.sent == {"ADD": len(kept)}
    assert counts.suppressed == len(set(erased_before_read) | set(erased_during_read))
    assert counts.suppression_generation == suppression_generation(str(suppression))


def killed_before_deleting_pending(mirror: Mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run is killed right after moving its snapshot into place, before deleting its pending file."""

    def killed(state_path: Any) -> None:
        raise Killed("killed after saving the snapshot")

    monkeypatch.setattr(snapshot_module, "discard_pending", killed)
    with pytest.raises(Killed):
        mirror.run(range(2, 5))


def saved_without_list_state(mirror: Mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot was written by a version that recorded no list state."""
    save = mirror_module.save_snapshot
    monkeypatch.setattr(
        mirror_module, "save_snapshot", lambda *args, **kwargs: save(*args, **{**kwargs, "list_state": None})
    )
    mirror.run(range(2, 5))


@pytest.mark.parametrize("leave_state", [killed_before_deleting_pending, saved_without_list_state])
def test_a_run_with_nothing_to_send_completes_the_state_it_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leave_state: Callable[..., None]
) -> None:
    """The state is saved again, pending file gone and list state recorded, so the next check can trust it."""
    mirror = Mirror(tmp_path)
    mirror.run(range(3))
    leave_state(mirror, monkeypatch)
    monkeypatch.undo()
    generation, start = mirror.generation(), len(mirror.api.requests)
    assert mirror.run(range(2, 5)).sent == Counter()
    assert mirror.requests_since(start) == []
    assert (mirror.generation(), mirror.files()) == (generation + 1, ["newsletter.snapshot"])
    outside_change(mirror)
    with pytest.raises(StaleSnapshotError, match="num_uploaded_user_records"):
        mirror.run(range(2, 5))
