"""``PinterestEraseCustomersOperator``: honour deletion requests (GDPR, CCPA) in every customer list.

The identifiers are read and hashed as the upload operator reads them (same sources, normalisation and
hashing), merged into the suppression set (``customer_lists.suppression``) so no later upload given it
sends them again, removed from every customer list of the ad accounts, and purged from the named mirror
snapshots. Every step can be repeated, so a retried task ends as a clean run does.

The operator only checks its arguments, builds an ``ErasePlan`` and returns the summary; the erase engine
(``customer_lists.erase``) reads, hashes and sends.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
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
from airflow_provider_pinterest_audiences.customer_lists.suppression import suppression_path_argument
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.base import PinterestBaseOperator
from airflow_provider_pinterest_audiences.operators.identifier_source import IdentifierSourceMixin
from airflow_provider_pinterest_audiences.operators.share import id_list

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_pinterest_audiences.customer_lists.erase import ErasePlan


def _paths(value: Any, argument: str) -> tuple[Any, ...]:
    """One path, URI or ObjectStoragePath, or a list of them, none rendered empty."""
    items = [value] if isinstance(value, str | os.PathLike) or hasattr(value, "protocol") else value
    if not isinstance(items, Sequence):
        raise PinterestInvalidArgumentError(argument, f"expected a path or a list of paths, got {value!r}")
    return tuple(dict.fromkeys(suppression_path_argument(item, argument) for item in items))


class PinterestEraseCustomersOperator(IdentifierSourceMixin, PinterestBaseOperator):
    """Remove customers' identifiers from every customer list, and keep them out of later uploads.

    The whole source is read, normalised and hashed before the first API call (bad input fails the task
    with nothing changed; a source without rows, a night with no deletion requests, erases nothing and
    makes no API call). Then, holding the lease of each state file it writes:

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
    the ``erase_summary``: counts per list and per file, never an identifier. Per list, ``sent`` counts the
    records sent in REMOVE batches, members of the list or not (Pinterest does not say which were).

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
        **IdentifierSourceMixin.argument_checks,
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
        from airflow_provider_pinterest_audiences.customer_lists.erase import SCRATCH_KEY

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

    def erase_plan(self) -> ErasePlan:
        """The erase the rendered arguments ask for (checked)."""
        from airflow_provider_pinterest_audiences.customer_lists.erase import ErasePlan

        checked = self.checked_arguments()
        return ErasePlan(
            identifiers=self.read_plan(),
            ad_account_ids=checked["ad_account_ids"],
            suppression_path=checked["suppression_path"],
            state_paths=checked["state_paths"],
        )

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_pinterest_audiences.customer_lists.erase import run_erase

        plan = self.erase_plan()
        try:
            result = run_erase(plan, self.hook, self.new_hook, self.log)
        finally:
            self.hook.close()
        return result.summary()
