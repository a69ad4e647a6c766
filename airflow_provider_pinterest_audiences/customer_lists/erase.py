"""The erase orchestrator: one ``ErasePlan`` in, one ``EraseResult`` out.

The identifiers are read and hashed as an upload reads them (``reading``), before the first API call. Then,
holding the lease of every state file it writes (``lease``): the erased digests are merged into the
suppression set (``suppression``), each named mirror snapshot records the coming removals in a pending
file, every customer list of the ad accounts is sent them as REMOVE batches (``list_writer``), and the
snapshots are purged of them. Every step can be repeated, so a retried erase ends as a clean run does.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_pinterest_audiences.customer_lists.freshness import ListState
from airflow_provider_pinterest_audiences.customer_lists.lease import StateLease, lock_path_for
from airflow_provider_pinterest_audiences.customer_lists.list_writer import ListWriter
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.reading import read_digests
from airflow_provider_pinterest_audiences.customer_lists.scratch import scratch_directory
from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
    DigestBuckets,
    as_state_path,
    pending_path_for,
)
from airflow_provider_pinterest_audiences.customer_lists.state_files import remove_leftovers
from airflow_provider_pinterest_audiences.customer_lists.suppression import (
    ReadCounts,
    SnapshotPurge,
    add_to_suppression,
    finish_purge,
    open_purge,
    prepare_purge,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

if TYPE_CHECKING:
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

SCRATCH_KEY = "privacy-erasure"
"""The name the erase's scratch directory is keyed by (it writes to no list of that name)."""


@dataclass(frozen=True)
class ErasePlan:
    """One erase, every argument rendered and checked."""

    identifiers: UploadPlan
    """How the identifiers are read, hashed and sent (mode ``remove``); the list is set per list."""
    ad_account_ids: tuple[str, ...] = ()
    """The ad accounts; empty: every account the token can see."""
    suppression_path: Any = None
    state_paths: tuple[Any, ...] = ()
    """The mirror snapshots to purge."""

    def leased_paths(self) -> list[Any]:
        """The state files the erase writes: the suppression set, then the snapshots."""
        suppression = [] if self.suppression_path is None else [as_state_path(self.suppression_path)]
        leased = suppression + [as_state_path(path) for path in self.state_paths]
        if len(set(leased)) < len(leased):
            raise PinterestInvalidArgumentError(
                "state_paths",
                f"names the suppression set {self.suppression_path}: give mirror snapshots only",
            )
        return leased


@dataclass(frozen=True)
class ListErasure:
    """What went to one customer list: REMOVE records sent (members or not) and requests."""

    ad_account_id: str
    sent: int
    batches: int


@dataclass
class EraseResult:
    """What one erase did: the counts read, the lists sent to, the suppression set, the snapshots purged."""

    list_type: str
    counts: ReadCounts
    distinct: int
    ad_account_ids: tuple[str, ...] = ()
    lists: dict[str, ListErasure] = field(default_factory=dict)
    skipped_lists: list[str] = field(default_factory=list)
    """Lists a named snapshot shows hold another identifier type: nothing sent to them."""
    suppression: dict[str, int] | None = None
    """Digests new to the suppression set (``added``) and in it now (``total``); None: no set."""
    purges: list[SnapshotPurge] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The ``erase_summary`` XCom: ids and counts only, never an identifier.

        Per list, ``sent`` counts the records sent in REMOVE batches, whether the list held them or not:
        Pinterest does not report how many were members.
        """
        counts = self.counts
        return {
            "list_type": self.list_type,
            "read": counts.read,
            "valid": counts.valid,
            "invalid": {str(reason): count for reason, count in sorted(counts.invalid.items())},
            "prehashed": counts.prehashed_by_kind(),
            "distinct": self.distinct,
            "ad_account_ids": list(self.ad_account_ids),
            "lists": {list_id: dataclasses.asdict(erased) for list_id, erased in self.lists.items()},
            "skipped_lists": self.skipped_lists,
            "suppression": self.suppression,
            "snapshots": {
                str(purge.state_path): {
                    "customer_list_id": purge.customer_list_id,
                    "purged": purge.purged,
                    "fresh": purge.fresh,
                }
                for purge in self.purges
            },
        }


def run_erase(
    plan: ErasePlan,
    hook: PinterestHook,
    new_hook: Callable[[], PinterestHook],
    log: logging.Logger,
) -> EraseResult:
    """Read the identifiers, then erase them from every customer list of the plan's ad accounts."""
    leased = plan.leased_paths()
    reading = plan.identifiers
    with scratch_directory(reading, log) as workdir, DigestBuckets(workdir) as erased:
        counts = read_digests(reading, erased.add, log, empty_ok=True)
        if counts.read == 0:
            log.info("The source holds no rows: nothing to erase, no API call made")
            return EraseResult(reading.list_type.value, counts, 0, plan.ad_account_ids)
        erased_path = os.path.join(workdir, "erased.bin")
        with open(erased_path, "wb") as out:
            distinct = erased.write_distinct(out, ordered=False)  # REMOVE batches need no order
        accounts = plan.ad_account_ids or tuple(str(item["id"]) for item in hook.list_ad_accounts())
        result = EraseResult(reading.list_type.value, counts, distinct, accounts)
        owners = {
            str(item["id"]): account for account in accounts for item in hook.list_customer_lists(account)
        }
        with ExitStack() as stack:
            leases = [
                stack.enter_context(StateLease(path, ttl=reading.lease_ttl, log=log)) for path in leased
            ]
            for path in leased:
                remove_leftovers([path, pending_path_for(path), lock_path_for(path)], log)
            _erase_leased(plan, result, owners, hook, new_hook, erased, erased_path, workdir, log)
            for lease in leases:
                lease.verify()
            for purge in result.purges:
                finish_purge(purge, _list_state(hook, owners, purge), erased, workdir)
                log.info(
                    "Snapshot %s of list %s: %d erased members purged",
                    purge.state_path,
                    purge.customer_list_id,
                    purge.purged,
                )
                for note in purge.notes:
                    log.warning("Snapshot %s: %s", purge.state_path, note)
    log.info(
        "Sent %d distinct %s identifiers as REMOVE batches to %d customer lists in %d ad accounts; "
        "suppression set: %s",
        distinct,
        result.list_type,
        len(result.lists),
        len(accounts),
        result.suppression,
    )
    return result


def _erase_leased(
    plan: ErasePlan,
    result: EraseResult,
    owners: Mapping[str, str],
    hook: PinterestHook,
    new_hook: Callable[[], PinterestHook],
    erased: DigestBuckets,
    erased_path: str,
    workdir: str,
    log: logging.Logger,
) -> None:
    """Under the leases: the suppression set, the pending files, then every list's REMOVE batches."""
    result.purges, skipped = _purges(plan, owners, result, log)
    result.skipped_lists = sorted(skipped)
    if plan.suppression_path is not None:
        added, total = add_to_suppression(plan.suppression_path, result.list_type, erased, workdir)
        result.suppression = {"added": added, "total": total}
    for purge in result.purges:
        prepare_purge(purge, _list_state(hook, owners, purge), erased, workdir)
    for list_id, account in owners.items():
        if list_id in skipped:
            continue
        list_plan = dataclasses.replace(plan.identifiers, ad_account_id=account, customer_list_id=list_id)
        writer = ListWriter(list_plan, hook, new_hook, log)
        writer.send(list_id, writer.batches_of(erased_path, "REMOVE"), result.distinct)
        result.lists[list_id] = ListErasure(account, writer.sent["REMOVE"], writer.batches)


def _list_state(hook: PinterestHook, owners: Mapping[str, str], purge: SnapshotPurge) -> ListState:
    """What the purged snapshot's list reports now."""
    list_id = purge.customer_list_id
    return ListState.from_api(hook.get_customer_list(owners[list_id], list_id))


def _purges(
    plan: ErasePlan, owners: Mapping[str, str], result: EraseResult, log: logging.Logger
) -> tuple[list[SnapshotPurge], set[str]]:
    """The named snapshots of this type to purge, and the lists named snapshots show hold another type."""
    purges: list[SnapshotPurge] = []
    other_type: set[str] = set()
    for path in map(as_state_path, plan.state_paths):
        purge = open_purge(path)
        if purge is None:
            log.info("No mirror snapshot at %s yet: nothing to purge there", path)
            continue
        if purge.header.list_type != result.list_type:
            other_type.add(purge.customer_list_id)
            continue
        if purge.customer_list_id not in owners:
            raise PinterestInvalidArgumentError(
                "state_paths",
                f"{purge.state_path} belongs to customer list {purge.customer_list_id}, which is in none of "
                f"the ad accounts erased ({', '.join(result.ad_account_ids)}); nothing was sent",
            )
        purges.append(purge)
    return purges, other_type
