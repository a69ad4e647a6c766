"""A mirror run: make the customer list hold exactly the source, diffed against the last snapshot.

Given the source's digests (read by ``upload``), take the state's lease, check the snapshot still tells
the list's story (``freshness``), diff the source against it (and the pending file of a failed run), record
what this run may change (pending), send the ADD and REMOVE batches, then save the new snapshot with what
the list reports afterwards. A failed run can be retried, even with a changed source, and ends with the same
membership as a clean run. A snapshot the list contradicts fails the run, or with
``on_stale_snapshot="resync"`` is trusted for nothing but removals: every desired member is sent again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from itertools import chain
from typing import Any

from airflow_provider_pinterest_audiences.customer_lists.batches import Batch
from airflow_provider_pinterest_audiences.customer_lists.freshness import (
    ListState,
    StaleSnapshotError,
    stale_reason,
)
from airflow_provider_pinterest_audiences.customer_lists.lease import StateLease, lock_path_for
from airflow_provider_pinterest_audiences.customer_lists.list_writer import ListWriter
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan, UploadResult
from airflow_provider_pinterest_audiences.customer_lists.records import RecordCounts
from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
    DigestBuckets,
    StateHeaders,
    as_state_path,
    pending_path_for,
    plan_mirror,
    read_state_headers,
    save_pending,
    save_snapshot,
)
from airflow_provider_pinterest_audiences.customer_lists.state_files import remove_leftovers
from airflow_provider_pinterest_audiences.customer_lists.suppression import (
    ReadCounts,
    refilter,
    suppression_generation,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestApiError


def _list_now(writer: ListWriter, customer_list_id: str | None) -> Mapping[str, Any] | None:
    """The list as Pinterest reports it now; None when there is no list yet; a clear error when it is gone."""
    if customer_list_id is None:
        return None
    try:
        return writer.read_list(customer_list_id)
    except PinterestApiError as exc:
        if exc.status_code != 404:
            raise
        raise StaleSnapshotError(
            f"Customer list {customer_list_id} no longer exists (HTTP 404). Nothing was sent. If it was "
            "deleted, delete the snapshot and its .pending file at state_path and give customer_list_name "
            "to start a new list"
        ) from None


def _check_fresh(
    plan: UploadPlan, state_path: Any, headers: StateHeaders, current: ListState | None, log: logging.Logger
) -> bool:
    """Whether this run must resync; raise when the snapshot is stale and ``on_stale_snapshot`` is fail."""
    snapshot, pending = headers.snapshot, headers.pending
    if snapshot is not None and snapshot.list_state is None and pending is None and current is not None:
        log.warning(
            "Snapshot %s predates list-state records: it is checked from its next save on", state_path
        )
    reason = stale_reason(
        snapshot_generation=snapshot.generation if snapshot else None,
        recorded=snapshot.list_state if snapshot else None,
        pending_generation=pending.generation if pending else None,
        current=current,
    )
    if reason is None:
        return False
    if plan.on_stale_snapshot != "resync":
        raise StaleSnapshotError(
            f"The mirror snapshot at {state_path} is stale: {reason}. It may be an older copy put back over "
            "a newer one, or something else changed the list. Nothing was sent. To recover, run once with "
            "on_stale_snapshot='resync': it sends every wanted member again and removes only those this "
            "snapshot proves left, then saves a fresh snapshot"
        )
    log.warning(
        "Resyncing: %s. Every wanted member is sent again; only proven departures are removed", reason
    )
    return True


def _while_leased(batches: Iterator[Batch], lease: StateLease) -> Iterator[Batch]:
    """``batches``, each handed out only while this run still holds the lease."""
    for batch in batches:
        lease.check()
        yield batch


def mirror_list(
    plan: UploadPlan,
    writer: ListWriter,
    desired: DigestBuckets,
    counts: ReadCounts,
    workdir: str,
    log: logging.Logger,
) -> UploadResult:
    """Run ``plan`` (mode ``mirror``) through ``writer``: make the list hold the ``desired`` digests (the
    source, read with ``counts``), with local scratch files in ``workdir``.

    The caller reads the source before this takes the lease, so bad input fails without touching the
    state. A dry run takes no lease and writes nothing: it reads the state and the list, and returns the
    diff's counts.
    """
    state_path = as_state_path(plan.state_path)
    if plan.dry_run:
        return _mirror_leased(plan, writer, desired, workdir, None, log, counts)
    with StateLease(state_path, ttl=plan.lease_ttl, log=log) as lease, ExitStack() as stack:
        remove_leftovers([state_path, pending_path_for(state_path), lock_path_for(state_path)], log)
        if plan.suppression_path is not None and (
            suppression_generation(plan.suppression_path) != counts.suppression_generation
        ):
            # An erase merged into the set while the source was read: check against it once more.
            log.info("Suppression set %s changed during the read; applying it again", plan.suppression_path)
            desired = stack.enter_context(
                refilter(desired, plan.suppression_path, plan.list_type.value, workdir, counts)
            )
        return _mirror_leased(plan, writer, desired, workdir, lease, log, counts)


def _mirror_leased(
    plan: UploadPlan,
    writer: ListWriter,
    desired: DigestBuckets,
    workdir: str,
    lease: StateLease | None,
    log: logging.Logger,
    counts: RecordCounts,
) -> UploadResult:
    """What a mirror run does under the lease (None: a dry run): check the snapshot, diff, record pending,
    send, save."""
    state_path = as_state_path(plan.state_path)
    list_type = plan.list_type.value
    customer_list_id = writer.find_list_id()
    before = _list_now(writer, customer_list_id)
    current = None if before is None else ListState.from_api(before)
    headers = read_state_headers(state_path, list_type=list_type, customer_list_id=customer_list_id)
    resync = _check_fresh(plan, state_path, headers, current, log)
    diff = plan_mirror(
        state_path,
        list_type=list_type,
        customer_list_id=customer_list_id,
        desired=desired,
        directory=workdir,
        resync=resync,
    )
    log.info(
        "Mirror diff against %s: %d distinct members wanted, %d to add, %d to remove",
        state_path,
        diff.desired_count,
        diff.add_count,
        diff.remove_count,
    )
    if customer_list_id is not None and not (diff.had_snapshot or diff.had_pending):
        log.warning(
            "No snapshot at %s for existing list %s: members uploaded outside this task are kept",
            state_path,
            customer_list_id,
        )
    planned = Counter({"ADD": diff.add_count, "REMOVE": diff.remove_count})
    unchanged = UploadResult(
        customer_list_id, counts, Counter(), 0, diff.desired_count, before, before, planned
    )
    if lease is None:
        return unchanged
    if not diff.changes_list:  # the snapshot already equals the source, so the list exists
        assert customer_list_id is not None
        if diff.had_pending or headers.snapshot is None or headers.snapshot.list_state != current:
            save_snapshot(
                state_path, diff, list_type=list_type, customer_list_id=customer_list_id, list_state=current
            )
        return unchanged
    save_pending(state_path, diff, list_type=list_type, customer_list_id=customer_list_id)
    # ADD and REMOVE batches are disjoint, so they may be in flight together; the snapshot is saved only
    # after the last of them succeeded, and only while this run still holds the lease.
    batches = chain(writer.batches_of(diff.adds_path, "ADD"), writer.batches_of(diff.removes_path, "REMOVE"))
    sent_to = writer.send(customer_list_id, _while_leased(batches, lease), diff.add_count + diff.remove_count)
    assert sent_to is not None  # no list yet means no snapshot: every member is an ADD
    lease.verify()
    after = writer.read_list(sent_to)
    save_snapshot(
        state_path, diff, list_type=list_type, customer_list_id=sent_to, list_state=ListState.from_api(after)
    )
    return UploadResult(
        sent_to, counts, writer.sent, writer.batches, diff.desired_count, before, after, planned
    )
