"""``PinterestUploadCustomerListOperator``: customers from a file, object storage, an XCom or SQL, hashed
and streamed into a Pinterest customer list (append, remove, or mirror the source).

The operator only checks its arguments, builds an ``UploadPlan`` and pushes the result; the upload engine
(``customer_lists``) reads, hashes, diffs and sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pinterest_audiences import arguments
from airflow_provider_pinterest_audiences.arguments import (
    ArgumentCheck,
    non_empty_text,
    optional,
    storage_path,
)
from airflow_provider_pinterest_audiences.assets import add_outlets_extra
from airflow_provider_pinterest_audiences.customer_lists.batches import (
    DEFAULT_MAX_RECORDS_PER_REQUEST,
    DEFAULT_MAX_REQUEST_BYTES,
    records_per_request,
)
from airflow_provider_pinterest_audiences.customer_lists.freshness import STALE_SNAPSHOT_CHOICES
from airflow_provider_pinterest_audiences.customer_lists.lease import DEFAULT_LEASE_TTL
from airflow_provider_pinterest_audiences.customer_lists.plan import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_INVALID_RATIO,
    MODES,
    UploadPlan,
)
from airflow_provider_pinterest_audiences.customer_lists.records import DEFAULT_DEVICE_ID_CASE, IdentifierType
from airflow_provider_pinterest_audiences.customer_lists.suppression import suppression_path_argument
from airflow_provider_pinterest_audiences.customer_lists.typed_lists import (
    TOTAL_KEY,
    check_list_names,
    parse_columns,
    typed_plans,
    typed_summary,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.health import upload_figures
from airflow_provider_pinterest_audiences.ids import pinterest_id
from airflow_provider_pinterest_audiences.metrics import emit_upload
from airflow_provider_pinterest_audiences.operators.base import PinterestBaseOperator
from airflow_provider_pinterest_audiences.operators.identifier_source import IdentifierSourceMixin

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage


class PinterestUploadCustomerListOperator(IdentifierSourceMixin, PinterestBaseOperator):
    """Hash customer identifiers from a source and upload them to a Pinterest customer list.

    The whole source is read, normalised and SHA-256 hashed (on every CPU) before the first API call, so
    bad input fails the task without touching the list. Then, by ``mode``:

    * ``append``: add every valid identifier; the list is found by name or created with the first batch,
      so a re-run never creates a second list.
    * ``remove``: remove every valid identifier from an existing list.
    * ``mirror``: make the list hold exactly the source: add the new identifiers and remove the ones that
      left since the last successful run, whose hashes are kept at ``state_path``. A failed run can be
      retried (even with a changed source) and ends with the same membership as a clean run.

    Batches go out with up to ``max_concurrent_requests`` requests in flight, each worker thread on its own
    hook (same connection). The list is always created by the first batch alone, before any other request;
    in mirror mode the ADD and REMOVE batches (disjoint sets) may overlap, and the snapshot is written only
    once every batch has succeeded. The first failed batch stops the sending: the requests already in flight
    finish, then its error is raised, and a retry of the task ends with the same membership as a clean run.

    ``dry_run=True`` reads, validates and plans (the records to add and remove, the requests) and stops
    there: no write call, no lease, the snapshot untouched; it returns the list id if the list exists.

    Several identifier types in one source (a CRM export with an email and a mobile ad id column): give
    ``columns`` instead of ``column`` and ``list_type``. The source is read once and each type goes to its
    own list (a Pinterest list holds one type), named by ``list_names`` or by ``customer_list_name`` plus
    the type (``"CRM customers (EMAIL)"``); the lists are sent one after the other, and a retry redoes each
    (see ``customer_lists.typed_lists`` for the names and the per-type mirror state).

    Returns the customer list id; pushes an ``upload_summary`` XCom with the counts (also what the list
    reported before and after the run: status, ``num_uploaded_user_records``, ``num_removed_user_records``,
    ``num_batches``). Logs counts and rates, never an identifier. An iterable ``source`` (an XCom list) is
    read in full but recorded in Airflow's rendered fields only as a summary such as
    ``<list of 3,000 identifiers from XCom 'extract'>``. With ``columns``: returns ``{type: list id}`` and
    the summary holds each type's summary under its name plus their ``total``.

    :param customer_list_name: list name: get-or-create (append, mirror) or look up (remove).
    :param customer_list_id: id of an existing list. Give exactly one of name or id.
    :param source: a CSV file (local path, URI such as ``s3://...`` or ``ObjectStoragePath``) or an
        iterable of identifiers (an XCom list of strings, mappings or sequences). Or use ``sql``.
    :param sql: a query returning identifiers in ``column``; needs ``sql_conn_id``.
    :param sql_conn_id: Airflow connection of any DB-API database hook.
    :param list_type: one of ``EMAIL`` (default), ``MAID``, ``IDFA``, ``LR_ID``, ``DLX_ID``,
        ``HASHED_PINNER_ID``.
    :param device_id_case: MAID and IDFA only: the case device ids take before hashing, ``"lower"``
        (default: what X's audience docs and Snap document; Pinterest documents none), ``"upper"`` or
        ``"as_is"``. See the README's identifier table.
    :param hash_identifiers: LR_ID and DLX_ID only: ``True`` (default, what Pinterest's guide recommends)
        sends partner ids SHA-256 hashed; ``False`` sends them as given (trimmed, case kept; a value holding
        a comma is invalid, ``comma``). Refused with other types (personal data is always hashed) and with
        ``mode="mirror"`` (the snapshot keeps digests only, so a later run could not remove a member by its
        text). With ``columns`` it applies to the partner-id types among them.
    :param column: the identifier column: a name (CSV with header, SQL, mapping items) or a 0-based index.
        Default: the first column.
    :param columns: several identifier types in one source, one list each: ``{list type: column}``, e.g.
        ``{"EMAIL": "email", "MAID": "gaid"}``. Replaces ``column`` and ``list_type``. Invalid values,
        duplicates and ``max_invalid_ratio`` count per type; a blank cell (a customer without that
        identifier) is counted as ``missing`` but left out of the ratio.
    :param list_names: with ``columns``: ``{list type: list name}`` instead of ``customer_list_name``.
    :param has_header: whether the CSV's first row is a header.
    :param delimiter: CSV delimiter (one ASCII character).
    :param encoding: CSV text encoding (ASCII-compatible: utf-8, latin-1, cp1252...).
    :param on_malformed_row: ``fail`` (default): a malformed CSV row (a stray quote, an unclosed quoted
        field) fails the task naming its row and column; ``invalid``: it counts as ``malformed_csv_row``.
    :param mode: ``append``, ``remove`` or ``mirror``.
    :param state_path: mirror only (required there): where the snapshot of uploaded hashes is kept, e.g.
        ``s3://bucket/pinterest/newsletter.snapshot``. One per list; with ``columns`` one per type, the type
        joined before the suffix (``newsletter.EMAIL.snapshot``). A run leases the state
        (``<state_path>.lock``) and fails at once while another live run holds it.
    :param on_stale_snapshot: mirror only: what to do when the list changed since the snapshot in a way
        it cannot explain (e.g. an older snapshot was put back): ``fail`` (default: nothing is sent) or
        ``resync`` (send every wanted member again, remove only those the snapshot proves left).
    :param dry_run: plan only; send nothing and save nothing.
    :param max_list_exceptions: Pinterest's answers may carry ``exceptions`` ("customer list errors", shape
        undocumented): they are always logged as codes and counts and put in ``upload_summary``; above this
        many the task fails after sending. None (default): never fail on them.
    :param lease_ttl: mirror only: seconds a lease lasts unless renewed (every third of it, while the run
        lives); a killed run's lease is taken over after it. At least 30; default 600.
    :param suppression_path: a suppression set kept by
        :class:`~airflow_provider_pinterest_audiences.operators.erase.PinterestEraseCustomersOperator`
        (templated; any mode): identifiers it holds are dropped as the source is read, never sent, and
        counted as ``suppressed`` in the summary. With ``columns``: ``{list type: path}`` (a set holds one
        type; types left out are not filtered).
    :param max_invalid_ratio: fail before any API call when more than this share of rows is invalid.
    :param max_records_per_request: records per API call (Pinterest documents no limit).
    :param max_request_bytes: size bound of one call's ``records`` string.
    :param hashing_processes: worker processes for hashing; None: one per CPU, 1: no extra process.
    :param max_concurrent_requests: upload requests in flight at once (at least 1; 1: one after the other on
        the task's own hook). Pinterest's ``ads_write`` rate limit counts per user per app, not per
        connection, so more than a few in flight only earns 429 replies (which the hook waits out and
        retries) and no extra throughput; the default, 2, keeps the API busy while the next request is
        being prepared.

    Other arguments (``ad_account_id``, ``pinterest_conn_id``, ``hook_params``): see
    :class:`~airflow_provider_pinterest_audiences.operators.base.PinterestBaseOperator`.
    """

    template_fields: Sequence[str] = (
        "ad_account_id",
        "customer_list_name",
        "customer_list_id",
        "source",
        "sql",
        "sql_conn_id",
        "state_path",
        "suppression_path",
        "list_names",
    )
    template_fields_renderers = {"sql": "sql"}
    argument_checks: ClassVar[Mapping[str, ArgumentCheck]] = {
        **PinterestBaseOperator.argument_checks,
        **IdentifierSourceMixin.argument_checks,
        "customer_list_name": optional(non_empty_text("a customer list name")),
        "customer_list_id": optional(pinterest_id),
        "state_path": optional(
            storage_path("the mirror snapshot", "s3://bucket/pinterest/newsletter.snapshot")
        ),
    }
    ui_color = "#fde4e6"
    ui_fgcolor = "#000000"
    _lineage_run: tuple[str, dict[str, Any]]

    def __init__(
        self,
        *,
        customer_list_name: str | None = None,
        customer_list_id: str | None = None,
        source: Any = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        list_type: str | None = None,
        column: str | int | None = None,
        columns: Mapping[str, str | int] | None = None,
        list_names: Mapping[str, str] | None = None,
        has_header: bool = False,
        delimiter: str = ",",
        encoding: str = "utf-8",
        on_malformed_row: str = "fail",
        mode: str = "append",
        state_path: Any = None,
        max_invalid_ratio: float = DEFAULT_MAX_INVALID_RATIO,
        ad_account_id: str | None = None,
        max_records_per_request: int = DEFAULT_MAX_RECORDS_PER_REQUEST,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        hashing_processes: int | None = None,
        max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
        on_stale_snapshot: str = "fail",
        lease_ttl: float = DEFAULT_LEASE_TTL,
        dry_run: bool = False,
        max_list_exceptions: int | None = None,
        suppression_path: Any = None,
        device_id_case: str = DEFAULT_DEVICE_ID_CASE,
        hash_identifiers: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(ad_account_id=ad_account_id, **kwargs)
        self.customer_list_name = customer_list_name
        self.customer_list_id = customer_list_id
        self.source = source
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.columns = None if columns is None else parse_columns(columns)
        self.list_names = list_names
        for argument, value in (("list_type", list_type), ("column", column)):
            if self.columns is not None and value is not None:
                raise PinterestInvalidArgumentError(
                    argument, "give either columns (several types) or list_type and column, not both"
                )
        self.list_type = None if self.columns else IdentifierType.parse(list_type or "EMAIL")
        self.device_id_case = device_id_case
        self.hash_identifiers = hash_identifiers
        self.column = column
        self.has_header = has_header
        self.delimiter = delimiter
        self.encoding = encoding
        self.on_malformed_row = on_malformed_row
        self.mode = mode
        self.state_path = state_path
        self.max_invalid_ratio = max_invalid_ratio
        self.max_records_per_request = max_records_per_request
        self.max_request_bytes = max_request_bytes
        self.hashing_processes = hashing_processes
        self.max_concurrent_requests = max_concurrent_requests
        self.on_stale_snapshot = on_stale_snapshot
        self.lease_ttl = lease_ttl
        self.suppression_path = suppression_path
        self.dry_run = dry_run
        self.max_list_exceptions = max_list_exceptions
        self._check_arguments()
        self.check_literal_arguments()

    def _argument_checks(self) -> dict[str, ArgumentCheck]:
        """``argument_checks`` and the checks of ``list_names`` and ``suppression_path``, which read
        ``columns``."""
        return {
            **self.argument_checks,
            "list_names": self._list_names,
            "suppression_path": self._suppression_paths,
        }

    def check_literal_arguments(self) -> None:
        arguments.check_literal_arguments(self, self._argument_checks())

    def checked_arguments(self) -> dict[str, Any]:
        return arguments.checked_arguments(self, self._argument_checks())

    def _list_names(self, value: Any, argument: str) -> dict[str, str] | None:
        """One distinct name per type of ``columns`` (given only with them: ``_check_typed_lists``)."""
        return None if value is None else check_list_names(value, self.columns or {})

    def _suppression_paths(self, value: Any, argument: str) -> Any:
        """One suppression set; with ``columns`` a mapping of some of their types to sets."""
        if value is None:
            return None
        if self.columns is None:
            if isinstance(value, Mapping):
                raise PinterestInvalidArgumentError(
                    argument, "a mapping of list types to sets is only used with columns"
                )
            return suppression_path_argument(value, argument)
        if not isinstance(value, Mapping) or not set(value) <= set(self.columns):
            raise PinterestInvalidArgumentError(
                argument,
                f"with columns give a mapping of list types ({', '.join(self.columns)}) to their sets",
            )
        return {key: suppression_path_argument(path, argument) for key, path in value.items()}

    def _check_typed_lists(self) -> None:
        """Which list arguments go with ``columns`` (their values are checked by ``_argument_checks``)."""
        if self.columns is None:
            if self.list_names is not None:
                raise PinterestInvalidArgumentError("list_names", "only used with columns")
            return
        if self.customer_list_id is not None:
            raise PinterestInvalidArgumentError(
                "customer_list_id",
                "not used with columns (one list per type): give customer_list_name (each list is named "
                "'<name> (<TYPE>)') or list_names",
            )
        if (self.customer_list_name is None) == (self.list_names is None):
            raise PinterestInvalidArgumentError(
                "list_names", "with columns give exactly one of customer_list_name or list_names"
            )

    def _check_arguments(self) -> None:
        """Every check that needs no rendered template: bad DAGs fail at parse time."""
        if self.mode not in MODES:
            raise PinterestInvalidArgumentError("mode", f"{self.mode!r} is not one of {', '.join(MODES)}")
        if self.columns is None and (self.customer_list_name is None) == (self.customer_list_id is None):
            raise PinterestInvalidArgumentError(
                "customer_list_name", "give exactly one of customer_list_name or customer_list_id"
            )
        if self.mode == "mirror" and self.state_path is None:
            raise PinterestInvalidArgumentError(
                "state_path", "required with mode='mirror': where the snapshot of uploaded hashes is kept"
            )
        if self.mode != "mirror" and self.state_path is not None:
            raise PinterestInvalidArgumentError("state_path", "only used with mode='mirror'")
        if self.on_stale_snapshot not in STALE_SNAPSHOT_CHOICES:
            raise PinterestInvalidArgumentError(
                "on_stale_snapshot",
                f"{self.on_stale_snapshot!r} is not one of {', '.join(STALE_SNAPSHOT_CHOICES)}",
            )
        if self.mode != "mirror" and self.on_stale_snapshot != "fail":
            raise PinterestInvalidArgumentError("on_stale_snapshot", "only used with mode='mirror'")
        if not isinstance(self.dry_run, bool):
            raise PinterestInvalidArgumentError("dry_run", f"must be True or False, got {self.dry_run!r}")
        limit = self.max_list_exceptions
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise PinterestInvalidArgumentError(
                "max_list_exceptions", f"must be an integer of at least 0 (or None), got {limit!r}"
            )
        self._check_typed_lists()
        self.check_source_arguments()
        self._check_hash_identifiers()
        records_per_request(self.max_records_per_request, self.max_request_bytes)

    def _check_hash_identifiers(self) -> None:
        """``hash_identifiers=False``: partner-id types only, and not with a mirror."""
        columns = self.columns or {}
        types = [IdentifierType(key) for key in columns] or [self.list_type or IdentifierType.EMAIL]
        self.identifier_options().check_types(types)
        if not self.hash_identifiers and self.mode == "mirror":
            raise PinterestInvalidArgumentError(
                "hash_identifiers",
                "False is not supported with mode='mirror': a mirror run removes the members that left the "
                "source, known then only by the digests of its snapshot, and the texts sent as given are not "
                "kept between runs. Use mode='append' or 'remove', or keep hash_identifiers=True",
            )

    def upload_plan(self, checked: Mapping[str, Any] | None = None) -> UploadPlan:
        """The rendered arguments, checked (unless given ``checked_arguments()``), as the upload engine
        takes them (no API call).

        With ``columns``: the plan the lists share (``typed_plans`` makes one per type from it).
        """
        checked = self.checked_arguments() if checked is None else checked
        return UploadPlan(
            ad_account_id=self.resolve_ad_account_id(),
            source=self.customer_source(),
            list_type=self.list_type or IdentifierType.EMAIL,
            mode=self.mode,
            customer_list_name=checked.get("customer_list_name"),
            customer_list_id=checked.get("customer_list_id"),
            state_path=checked.get("state_path"),
            max_invalid_ratio=self.max_invalid_ratio,
            records_per_request=records_per_request(self.max_records_per_request, self.max_request_bytes),
            hashing_processes=self.hashing_processes,
            max_concurrent_requests=self.max_concurrent_requests,
            on_stale_snapshot=self.on_stale_snapshot,
            lease_ttl=float(self.lease_ttl),
            suppression_path=None if self.columns else checked["suppression_path"],
            dry_run=self.dry_run,
            max_list_exceptions=self.max_list_exceptions,
            identifier_options=self.identifier_options(),
        )

    def upload_plans(self) -> dict[str, UploadPlan]:
        """One plan per list, keyed by list type: the types of ``columns``, else ``list_type`` alone."""
        checked = self.checked_arguments()
        plan = self.upload_plan(checked)
        if self.columns is None:
            return {plan.list_type.value: plan}
        return typed_plans(plan, self.columns, checked["list_names"], checked["suppression_path"])

    def _finished_upload(self, context: Context, plan: UploadPlan, summary: dict[str, Any]) -> None:
        """Emit the run's metrics, put its figures on the outlet Asset events, keep them for OpenLineage."""
        lists = [summary] if self.columns is None else [summary[key] for key in self.columns]
        for part in lists:
            emit_upload(part)
        figures = (
            upload_figures(summary)
            if self.columns is None
            else {key: upload_figures(summary[key]) for key in self.columns}
        )
        add_outlets_extra(context, self.outlets, figures)
        self._lineage_run = (plan.ad_account_id, summary)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage: the file, object-storage path or SQL tables read (with the row and invalid counts)
        in, the customer list out (what ``execute`` kept: the listener may run in a forked process)."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        from airflow_provider_pinterest_audiences.lineage import source_location, sql_tables, upload_lineage

        account, summary = self._lineage_run
        if self.sql is not None:
            locations = sql_tables(self.sql, str(self.sql_conn_id))
        else:
            location = source_location(self.source)
            locations = [location] if location is not None else []
        if self.columns is None:
            return upload_lineage(account, locations, summary)
        read = {key: summary[TOTAL_KEY][key] for key in ("read", "valid", "invalid")}
        outputs = [
            output for key in self.columns for output in upload_lineage(account, [], summary[key]).outputs
        ]
        return OperatorLineage(inputs=upload_lineage(account, locations, read).inputs, outputs=outputs)

    def execute(self, context: Context) -> str | dict[str, str | None] | None:
        from airflow_provider_pinterest_audiences.customer_lists.upload import run_uploads

        plans = self.upload_plans()
        try:
            results = run_uploads(
                plans,
                self.hook,
                # the upload's 429 waits counted together
                new_hook=lambda: self.new_hook(rate_limit_waits=self.hook.rate_limit_waits),
                log=self.log,
            )
        finally:
            self.hook.close()
        waits = self.hook.rate_limit_waits.figures()
        several = self.columns is not None
        summaries = {
            key: results[key].summary(plan, None if several else waits) for key, plan in plans.items()
        }
        for key, plan in plans.items():
            result, part = results[key], summaries[key]
            self.log.info(
                "Customer list %s (%s, %s): read %d, valid %d, invalid %d (%s), duplicates %s, added %d, "
                "removed %d, %d batches",
                result.customer_list_id,
                key,
                plan.mode,
                result.counts.read,
                result.counts.valid,
                result.counts.invalid_total,
                result.counts.describe_invalid(),
                part["duplicates"],
                part["added"],
                part["removed"],
                result.batches,
            )
        first = next(iter(plans.values()))
        if self.columns is None:
            summary = summaries[first.list_type.value]
            context["ti"].xcom_push(key="upload_summary", value=summary)
            self._finished_upload(context, first, summary)
            return results[first.list_type.value].customer_list_id
        summary = typed_summary(summaries, waits)
        context["ti"].xcom_push(key="upload_summary", value=summary)
        self._finished_upload(context, first, summary)
        return {key: result.customer_list_id for key, result in results.items()}
