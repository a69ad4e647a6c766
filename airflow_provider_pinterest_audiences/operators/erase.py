"""``PinterestEraseCustomersOperator``: honour deletion requests (GDPR, CCPA) in every customer list.

The identifiers are read and hashed as the upload operator reads them (same sources, normalisation and
hashing), merged into the suppression set (``customer_lists.suppression``) so no later upload given it
sends them again, removed from every customer list of the ad accounts, and purged from the named mirror
snapshots. Every step can be repeated, so a retried task ends as a clean run does.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pinterest_audiences.arguments import ArgumentCheck, optional
from airflow_provider_pinterest_audiences.customer_lists.batches import (
    DEFAULT_MAX_RECORDS_PER_REQUEST,
    DEFAULT_MAX_REQUEST_BYTES,
    records_per_request,
)
from airflow_provider_pinterest_audiences.customer_lists.lease import DEFAULT_LEASE_TTL
from airflow_provider_pinterest_audiences.customer_lists.plan import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_INVALID_RATIO,
    UploadPlan,
)
from airflow_provider_pinterest_audiences.customer_lists.records import DEFAULT_DEVICE_ID_CASE, IdentifierType
from airflow_provider_pinterest_audiences.customer_lists.suppression import (
    SnapshotPurge,
    add_to_suppression,
    finish_purge,
    open_purge,
    prepare_purge,
    suppression_path_argument,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.base import PinterestBaseOperator
from airflow_provider_pinterest_audiences.operators.identifier_source import IdentifierSourceMixin
from airflow_provider_pinterest_audiences.operators.share import id_list

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_pinterest_audiences.customer_lists.snapshot import DigestBuckets

#: The name the erase's scratch directory is keyed by (it writes to no list of that name).
SCRATCH_KEY = "privacy-erasure"


def _paths(value: Any, argument: str) -> tuple[Any, ...]:
    """One path, URI or ObjectStoragePath, or a list of them, none rendered empty."""
    items = [value] if isinstance(value, str | os.PathLike) or hasattr(value, "protocol") else value
    if not isinstance(items, Sequence):
        raise PinterestInvalidArgumentError(argument, f"expected a path or a list of paths, got {value!r}")
    return tuple(dict.fromkeys(suppression_path_argument(item, argument) for item in items))


class PinterestEraseCustomersOperator(IdentifierSourceMixin, PinterestBaseOperator):
    """Remove customers' identifiers from every customer list, and keep them out of later uploads.

    The whole source is read, normalised and hashed before the first API call (bad input fails the task
    with nothing changed). Then, holding the lease of each state file it writes:

    1. the erased digests are merged into the suppression set at ``suppression_path``: every upload given
       the same ``suppression_path`` drops them as it reads its source;
    2. the ad accounts are ``ad_account_ids``, or every account the token can see (``GET /ad_accounts``);
       the digests are sent as REMOVE batches to each of their customer lists. Pinterest does not report a
       list's identifier type, so every list is treated as possibly holding them (removing an absent
       member changes nothing but the list's record counters), except a list whose snapshot in
       ``state_paths`` says it holds another type;
    3. each mirror snapshot in ``state_paths`` is purged of them. Name the ``state_path`` of every mirror
       upload of these accounts: the REMOVE batches move its list's record counters, and the mirror's next
       run would find a snapshot not named here stale and fail (``on_stale_snapshot``).

    Every step can be repeated (a merge, a removal, a purge), so a retry ends as a clean run does. Returns
    the ``erase_summary``: counts per list and per file, never an identifier.

    :param source: what to erase: a CSV (local path, URI or ``ObjectStoragePath``) or an iterable of
        identifiers (an XCom). Or use ``sql`` with ``sql_conn_id``. Read as
        :class:`~airflow_provider_pinterest_audiences.operators.customer_list.PinterestUploadCustomerListOperator`
        reads it (``column``, ``has_header``, ``delimiter``, ``encoding``, ``max_invalid_ratio``).
    :param list_type: the identifiers' type: ``EMAIL``, ``MAID``, ``IDFA``, ``LR_ID``, ``DLX_ID`` or
        ``HASHED_PINNER_ID``.
    :param ad_account_ids: the ad accounts (templated; a list or a comma-separated string); empty or
        ``None``: every ad account the connection's token can see.
    :param suppression_path: the suppression set (templated): a digest file, created on first use, one
        per identifier type. Give it to every upload of these lists.
    :param state_paths: the ``state_path`` of each mirror upload of these accounts (templated; one or a
        list); needs ``suppression_path``, or the mirror would add the erased customers back.
    :param lease_ttl: seconds a lease on a state file lasts unless renewed (at least 30).
    :param device_id_case: MAID and IDFA only: ``"lower"`` (default), ``"upper"`` or ``"as_is"``; give the
        value the uploads of these lists were given, or the erased digests are not the uploaded ones.
    :param hash_identifiers: only ``True`` (the default): the REMOVE batches carry SHA-256 digests. A list
        uploaded with ``hash_identifiers=False`` holds partner ids as given; remove them with the upload
        operator (``mode="remove"``, ``hash_identifiers=False``). The suppression set still holds them: an
        upload's digests are the same whether it hashes or not.

    ``max_records_per_request``, ``max_request_bytes``, ``hashing_processes``, ``max_concurrent_requests``,
    ``pinterest_conn_id``, ``hook_params``: as for the upload operator.
    """

    template_fields: Sequence[str] = (
        "source",
        "sql",
        "sql_conn_id",
        "ad_account_ids",
        "suppression_path",
        "state_paths",
    )
    template_fields_renderers = {"sql": "sql"}
    argument_checks: ClassVar[Mapping[str, ArgumentCheck]] = {
        **PinterestBaseOperator.argument_checks,
        "ad_account_ids": id_list,
        "suppression_path": optional(suppression_path_argument),
        "state_paths": _paths,
    }
    ui_color = "#fde4e6"
    ui_fgcolor = "#000000"

    def __init__(
        self,
        *,
        source: Any = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        list_type: str = "EMAIL",
        column: str | int | None = None,
        has_header: bool = False,
        delimiter: str = ",",
        encoding: str = "utf-8",
        on_malformed_row: str = "fail",
        ad_account_ids: Sequence[str] | str | None = None,
        suppression_path: Any = None,
        state_paths: Any = (),
        max_invalid_ratio: float = DEFAULT_MAX_INVALID_RATIO,
        max_records_per_request: int = DEFAULT_MAX_RECORDS_PER_REQUEST,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        hashing_processes: int | None = None,
        max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        device_id_case: str = DEFAULT_DEVICE_ID_CASE,
        hash_identifiers: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.list_type = IdentifierType.parse(list_type)
        self.device_id_case = device_id_case
        self.hash_identifiers = hash_identifiers
        self.column = column
        self.has_header = has_header
        self.delimiter = delimiter
        self.encoding = encoding
        self.on_malformed_row = on_malformed_row
        self.ad_account_ids = ad_account_ids
        self.suppression_path = suppression_path
        self.state_paths = state_paths
        self.max_invalid_ratio = max_invalid_ratio
        self.records_per_request = records_per_request(max_records_per_request, max_request_bytes)
        self.hashing_processes = hashing_processes
        self.max_concurrent_requests = max_concurrent_requests
        self.lease_ttl = lease_ttl
        self._check_arguments()
        self.check_literal_arguments()

    def _check_arguments(self) -> None:
        if self.hash_identifiers is not True:
            raise PinterestInvalidArgumentError(
                "hash_identifiers",
                f"got {self.hash_identifiers!r}: the erase sends SHA-256 digests only. To take partner ids "
                "uploaded as given out of a list, run PinterestUploadCustomerListOperator with mode='remove' "
                "and hash_identifiers=False on it; this operator's suppression set covers those uploads too",
            )
        if self.state_paths and self.suppression_path is None:
            raise PinterestInvalidArgumentError(
                "state_paths",
                "needs suppression_path: a purged mirror snapshot without a suppression set lets the "
                "mirror's next run add the erased customers back",
            )
        self.check_source_arguments()

    def read_plan(self) -> UploadPlan:
        """How the identifiers are read and sent; ``ad_account_id`` and the list are set per list."""
        return UploadPlan(
            ad_account_id="",
            source=self.customer_source(),
            list_type=self.list_type,
            mode="remove",
            customer_list_name=SCRATCH_KEY,
            max_invalid_ratio=self.max_invalid_ratio,
            records_per_request=self.records_per_request,
            hashing_processes=self.hashing_processes,
            max_concurrent_requests=self.max_concurrent_requests,
            lease_ttl=float(self.lease_ttl),
            identifier_options=self.identifier_options(),
        )

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_pinterest_audiences.customer_lists.reading import read_digests
        from airflow_provider_pinterest_audiences.customer_lists.scratch import scratch_directory
        from airflow_provider_pinterest_audiences.customer_lists.snapshot import DigestBuckets

        checked = self.checked_arguments()
        plan = self.read_plan()
        try:
            with scratch_directory(plan, self.log) as workdir, DigestBuckets(workdir) as erased:
                counts = read_digests(plan, erased.add, self.log)
                erased_path = os.path.join(workdir, "erased.bin")
                with open(erased_path, "wb") as out:
                    distinct = erased.write_distinct(out)
                summary: dict[str, Any] = {
                    "list_type": plan.list_type.value,
                    "read": counts.read,
                    "valid": counts.valid,
                    "invalid": {str(reason): count for reason, count in sorted(counts.invalid.items())},
                    "prehashed": counts.prehashed_by_kind(),
                    "distinct": distinct,
                }
                summary.update(self._erase(plan, checked, erased, erased_path, distinct, workdir))
        finally:
            self.hook.close()
        self.log.info(
            "Erased %d distinct %s identifiers from %d customer lists in %d ad accounts; suppression set: %s",
            distinct,
            plan.list_type.value,
            len(summary["lists"]),
            len(summary["ad_account_ids"]),
            summary["suppression"],
        )
        return summary

    def _erase(
        self,
        plan: UploadPlan,
        checked: dict[str, Any],
        erased: DigestBuckets,
        erased_path: str,
        distinct: int,
        workdir: str,
    ) -> dict[str, Any]:
        """Under the state files' leases: suppression set, pending files, REMOVE batches, purges."""
        from airflow_provider_pinterest_audiences.customer_lists.freshness import ListState
        from airflow_provider_pinterest_audiences.customer_lists.lease import StateLease, lock_path_for
        from airflow_provider_pinterest_audiences.customer_lists.list_writer import ListWriter
        from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
            as_state_path,
            pending_path_for,
        )
        from airflow_provider_pinterest_audiences.customer_lists.state_files import remove_leftovers
        from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

        hook, list_type = self.hook, plan.list_type.value
        accounts = checked["ad_account_ids"] or tuple(str(item["id"]) for item in hook.list_ad_accounts())
        owners = {
            str(item["id"]): account for account in accounts for item in hook.list_customer_lists(account)
        }
        suppression_path = checked["suppression_path"]
        state_paths = [as_state_path(path) for path in checked["state_paths"]]
        leased = ([as_state_path(suppression_path)] if suppression_path is not None else []) + state_paths
        if len(set(leased)) < len(leased):
            raise PinterestInvalidArgumentError(
                "state_paths", f"names the suppression set {suppression_path}: give mirror snapshots only"
            )
        with ExitStack() as stack:
            leases = [
                stack.enter_context(StateLease(path, ttl=plan.lease_ttl, log=self.log)) for path in leased
            ]
            for path in leased:
                remove_leftovers([path, pending_path_for(path), lock_path_for(path)], self.log)
            purges, other_type = self._purges(state_paths, owners, list_type)
            suppression = None
            if suppression_path is not None:
                added, total = add_to_suppression(suppression_path, list_type, erased, workdir)
                suppression = {"added": added, "total": total}
            for purge in purges:
                list_id = purge.customer_list_id
                prepare_purge(
                    purge,
                    ListState.from_api(hook.get_customer_list(owners[list_id], list_id)),
                    erased,
                    workdir,
                )
            lists: dict[str, dict[str, Any]] = {}
            for list_id, account in owners.items():
                if list_id in other_type:
                    continue
                list_plan = dataclasses.replace(plan, ad_account_id=account, customer_list_id=list_id)
                writer = ListWriter(
                    list_plan,
                    hook,
                    lambda: PinterestHook(self.pinterest_conn_id, **self.hook_params),
                    self.log,
                )
                writer.send(list_id, writer.batches_of(erased_path, "REMOVE"), distinct)
                lists[list_id] = {
                    "ad_account_id": account,
                    "removed": writer.sent["REMOVE"],
                    "batches": writer.batches,
                }
            for lease in leases:
                lease.verify()
            for purge in purges:
                list_id = purge.customer_list_id
                after = ListState.from_api(hook.get_customer_list(owners[list_id], list_id))
                finish_purge(purge, after, erased, workdir)
                self.log.info(
                    "Snapshot %s of list %s: %d erased members purged",
                    purge.state_path,
                    list_id,
                    purge.purged,
                )
                for note in purge.notes:
                    self.log.warning("Snapshot %s: %s", purge.state_path, note)
        return {
            "ad_account_ids": list(accounts),
            "lists": lists,
            "skipped_lists": sorted(other_type),
            "suppression": suppression,
            "snapshots": {
                str(purge.state_path): {
                    "customer_list_id": purge.customer_list_id,
                    "purged": purge.purged,
                    "fresh": purge.fresh,
                }
                for purge in purges
            },
        }

    def _purges(
        self, state_paths: list[Any], owners: Mapping[str, str], list_type: str
    ) -> tuple[list[SnapshotPurge], set[str]]:
        """The named snapshots of this type to purge, and the lists named snapshots show hold another type."""
        purges: list[SnapshotPurge] = []
        other_type: set[str] = set()
        for path in state_paths:
            purge = open_purge(path)
            if purge is None:
                self.log.info("No mirror snapshot at %s yet: nothing to purge there", path)
                continue
            if purge.header.list_type != list_type:
                other_type.add(purge.customer_list_id)
                continue
            if purge.customer_list_id not in owners:
                raise PinterestInvalidArgumentError(
                    "state_paths",
                    f"{path} belongs to customer list {purge.customer_list_id}, which is in none of the "
                    f"ad accounts erased ({', '.join(sorted(set(owners.values())))}); nothing was sent",
                )
            purges.append(purge)
        return purges, other_type
