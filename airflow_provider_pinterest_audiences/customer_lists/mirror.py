"""A mirror run: make the customer list hold exactly the source, diffed against the last snapshot.

Read the source into digest buckets, diff it against the snapshot (and the pending file of a failed run),
record what this run may change (pending), send the ADD and REMOVE batches, then save the new snapshot.
A failed run can be retried, even with a changed source, and ends with the same membership as a clean run.
"""

from __future__ import annotations

import logging
from itertools import chain

from airflow_provider_pinterest_audiences.customer_lists.list_writer import ListWriter
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan, UploadResult
from airflow_provider_pinterest_audiences.customer_lists.reading import read_digests
from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
    DigestBuckets,
    as_state_path,
    discard_pending,
    plan_mirror,
    save_pending,
    save_snapshot,
)


def mirror_list(plan: UploadPlan, writer: ListWriter, workdir: str, log: logging.Logger) -> UploadResult:
    """Run ``plan`` (mode ``mirror``) through ``writer``, with local scratch files in ``workdir``."""
    state_path = as_state_path(plan.state_path)
    list_type = plan.list_type.value
    with DigestBuckets(workdir) as desired:
        counts = read_digests(plan, desired.add, log)
        customer_list_id = writer.find_list_id()
        diff = plan_mirror(
            state_path,
            list_type=list_type,
            customer_list_id=customer_list_id,
            desired=desired,
            directory=workdir,
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
    if not diff.changes_list:  # the snapshot already equals the source, so the list exists
        if diff.had_pending:
            discard_pending(state_path)
        assert customer_list_id is not None
        return UploadResult(customer_list_id, counts, desired_members=diff.desired_count)
    save_pending(state_path, diff, list_type=list_type, customer_list_id=customer_list_id)
    # ADD and REMOVE batches are disjoint, so they may be in flight together; the snapshot is saved only
    # after the last of them succeeded.
    batches = chain(writer.batches_of(diff.adds_path, "ADD"), writer.batches_of(diff.removes_path, "REMOVE"))
    sent_to = writer.send(customer_list_id, batches, diff.add_count + diff.remove_count)
    assert sent_to is not None  # no list yet means no snapshot: every member is an ADD
    save_snapshot(state_path, diff, list_type=list_type, customer_list_id=sent_to)
    return UploadResult(sent_to, counts, writer.sent, writer.batches, diff.desired_count)
