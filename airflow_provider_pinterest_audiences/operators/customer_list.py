"""``PinterestUploadCustomerListOperator``: customers from a file, object storage, an XCom or SQL, hashed
and streamed into a Pinterest customer list (append, remove, or mirror the source)."""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_pinterest_audiences.customer_lists.batches import (
    DEFAULT_MAX_RECORDS_PER_REQUEST,
    DEFAULT_MAX_REQUEST_BYTES,
    records_per_request,
)
from airflow_provider_pinterest_audiences.customer_lists.readers import (
    check_csv_format,
    read_csv,
    read_iterable,
    read_sql,
)
from airflow_provider_pinterest_audiences.customer_lists.records import IdentifierType, RawChunk, RecordCounts
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.ids import pinterest_id

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_pinterest_audiences.customer_lists.batches import Batch
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

MODES = ("append", "remove", "mirror")
DEFAULT_MAX_INVALID_RATIO = 0.5
DEFAULT_MAX_CONCURRENT_REQUESTS = 2


class _Outcome(NamedTuple):
    customer_list_id: str
    counts: RecordCounts
    progress: _Progress
    desired_members: int | None


class _Progress:
    """Per-batch progress lines (counts and rates only) and the totals of one run."""

    def __init__(self, log: Any, total: int) -> None:
        self._log = log
        self._total = total
        self._started = time.monotonic()
        self.batches = 0
        self.sent: Counter[str] = Counter()

    def record(self, operation: str, record_count: int) -> None:
        self.batches += 1
        self.sent[operation] += record_count
        done = sum(self.sent.values())
        rate = done / max(time.monotonic() - self._started, 1e-9)
        self._log.info(
            "Batch %d: %s %d records (%d of %d sent, %.0f records/s)",
            self.batches,
            operation,
            record_count,
            done,
            self._total,
            rate,
        )


class PinterestUploadCustomerListOperator(BaseOperator):  # type: ignore[misc]  # Airflow is untyped here
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

    Returns the customer list id; pushes an ``upload_summary`` XCom with the counts. Logs counts and rates,
    never an identifier.

    :param customer_list_name: list name: get-or-create (append, mirror) or look up (remove).
    :param customer_list_id: id of an existing list. Give exactly one of name or id.
    :param source: a CSV file (local path, URI such as ``s3://...`` or ``ObjectStoragePath``) or an
        iterable of identifiers (an XCom list of strings, mappings or sequences). Or use ``sql``.
    :param sql: a query returning identifiers in ``column``; needs ``sql_conn_id``.
    :param sql_conn_id: Airflow connection of any DB-API database hook.
    :param list_type: one of ``EMAIL``, ``MAID``, ``IDFA``, ``LR_ID``, ``DLX_ID``, ``HASHED_PINNER_ID``.
    :param column: the identifier column: a name (CSV with header, SQL, mapping items) or a 0-based index.
        Default: the first column.
    :param has_header: whether the CSV's first row is a header.
    :param delimiter: CSV delimiter (one ASCII character).
    :param encoding: CSV text encoding (ASCII-compatible: utf-8, latin-1, cp1252...).
    :param mode: ``append``, ``remove`` or ``mirror``.
    :param state_path: mirror only (required there): where the snapshot of uploaded hashes is kept, e.g.
        ``s3://bucket/pinterest/newsletter.snapshot``. One per list, and one mirror run of a list at a
        time (``max_active_runs=1``).
    :param max_invalid_ratio: fail before any API call when more than this share of rows is invalid.
    :param ad_account_id: ad account; default: the connection's ``ad_account_id`` extra.
    :param pinterest_conn_id: Airflow connection of type ``pinterest``.
    :param max_records_per_request: records per API call (Pinterest documents no limit).
    :param max_request_bytes: size bound of one call's ``records`` string.
    :param hashing_processes: worker processes for hashing; None: one per CPU, 1: no extra process.
    :param max_concurrent_requests: upload requests in flight at once (at least 1; 1: one after the other on
        the task's own hook). Pinterest's ``ads_write`` rate limit counts per user per app, not per
        connection, so more than a few in flight only earns 429 replies (which the hook waits out and
        retries) and no extra throughput; the default, 2, keeps the API busy while the next request is
        being prepared.
    """

    template_fields: Sequence[str] = (
        "ad_account_id",
        "customer_list_name",
        "customer_list_id",
        "source",
        "sql",
        "sql_conn_id",
        "state_path",
    )
    template_fields_renderers = {"sql": "sql"}
    ui_color = "#fde4e6"

    def __init__(
        self,
        *,
        customer_list_name: str | None = None,
        customer_list_id: str | None = None,
        source: Any = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        list_type: str = "EMAIL",
        column: str | int | None = None,
        has_header: bool = False,
        delimiter: str = ",",
        encoding: str = "utf-8",
        mode: str = "append",
        state_path: Any = None,
        max_invalid_ratio: float = DEFAULT_MAX_INVALID_RATIO,
        ad_account_id: str | None = None,
        pinterest_conn_id: str = "pinterest_default",
        max_records_per_request: int = DEFAULT_MAX_RECORDS_PER_REQUEST,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        hashing_processes: int | None = None,
        max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.customer_list_name = customer_list_name
        self.customer_list_id = customer_list_id
        self.source = source
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.list_type = IdentifierType.parse(list_type)
        self.column = column
        self.has_header = has_header
        self.delimiter = delimiter
        self.encoding = encoding
        self.mode = mode
        self.state_path = state_path
        self.max_invalid_ratio = max_invalid_ratio
        self.ad_account_id = ad_account_id
        self.pinterest_conn_id = pinterest_conn_id
        self.max_records_per_request = max_records_per_request
        self.max_request_bytes = max_request_bytes
        self.hashing_processes = hashing_processes
        self.max_concurrent_requests = max_concurrent_requests
        self._check_arguments()

    def _check_arguments(self) -> None:
        """Every check that needs no rendered template: bad DAGs fail at parse time."""
        if self.mode not in MODES:
            raise PinterestInvalidArgumentError("mode", f"{self.mode!r} is not one of {', '.join(MODES)}")
        if (self.customer_list_name is None) == (self.customer_list_id is None):
            raise PinterestInvalidArgumentError(
                "customer_list_name", "give exactly one of customer_list_name or customer_list_id"
            )
        if (self.source is None) == (self.sql is None):
            raise PinterestInvalidArgumentError(
                "source", "give exactly one of source or sql (with sql_conn_id)"
            )
        if self.sql is not None and not self.sql_conn_id:
            raise PinterestInvalidArgumentError("sql_conn_id", "required with sql")
        if self.mode == "mirror" and self.state_path is None:
            raise PinterestInvalidArgumentError(
                "state_path", "required with mode='mirror': where the snapshot of uploaded hashes is kept"
            )
        if self.mode != "mirror" and self.state_path is not None:
            raise PinterestInvalidArgumentError("state_path", "only used with mode='mirror'")
        if not 0.0 <= self.max_invalid_ratio <= 1.0:
            raise PinterestInvalidArgumentError(
                "max_invalid_ratio", f"must be between 0 and 1, got {self.max_invalid_ratio}"
            )
        if self.hashing_processes is not None and self.hashing_processes < 1:
            raise PinterestInvalidArgumentError(
                "hashing_processes", f"must be at least 1 (or None), got {self.hashing_processes}"
            )
        concurrency = self.max_concurrent_requests
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise PinterestInvalidArgumentError(
                "max_concurrent_requests", f"must be an integer of at least 1, got {concurrency!r}"
            )
        check_csv_format(self.delimiter, self.encoding)
        records_per_request(self.max_records_per_request, self.max_request_bytes)

    # -- reading ---------------------------------------------------------------------------------

    def _raw_chunks(self) -> Iterator[RawChunk]:
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        if self.sql is not None:
            if not str(self.sql).strip():
                raise PinterestInvalidArgumentError("sql", "the query is empty")
            return read_sql(self.sql, str(self.sql_conn_id), column=self.column)
        source = self.source
        if source is None or (isinstance(source, str) and not source.strip()):
            raise PinterestInvalidArgumentError("source", "no source given (it rendered empty)")
        if isinstance(source, str | os.PathLike | ObjectStoragePath):
            return read_csv(
                source,
                column=self.column,
                has_header=self.has_header,
                delimiter=self.delimiter,
                encoding=self.encoding,
            )
        if isinstance(source, bytes | bytearray) or not hasattr(source, "__iter__"):
            raise PinterestInvalidArgumentError(
                "source",
                f"expected a path, a URI, an ObjectStoragePath or an iterable of identifiers, "
                f"got {type(source).__name__}",
            )
        return read_iterable(source, column=self.column)

    def _read(self, sink: Callable[[bytes], object]) -> RecordCounts:
        """Read, hash and count the whole source into ``sink(packed_digests)``; fail on bad input."""
        from airflow_provider_pinterest_audiences.customer_lists.hashing_pool import hash_chunks

        started = time.monotonic()
        counts = RecordCounts()
        for chunk in hash_chunks(self._raw_chunks(), self.list_type, processes=self.hashing_processes):
            counts.add(chunk)
            sink(chunk.digests)
        elapsed = time.monotonic() - started
        self.log.info(
            "Read %d rows in %.1f s (%.0f rows/s): %d valid %s identifiers, %d invalid (%s)",
            counts.read,
            elapsed,
            counts.read / max(elapsed, 1e-9),
            counts.valid,
            self.list_type,
            counts.invalid_total,
            counts.describe_invalid(),
        )
        self._check_counts(counts)
        return counts

    def _check_counts(self, counts: RecordCounts) -> None:
        origin = "sql" if self.sql is not None else "source"
        if counts.read == 0:
            raise PinterestInvalidArgumentError(origin, "it holds no rows; nothing was sent")
        if counts.valid == 0:
            raise PinterestInvalidArgumentError(
                origin,
                f"none of its {counts.read} rows holds a valid {self.list_type} identifier "
                f"({counts.describe_invalid()}); check list_type and column. Nothing was sent",
            )
        ratio = counts.invalid_total / counts.read
        if ratio > self.max_invalid_ratio:
            raise PinterestInvalidArgumentError(
                "max_invalid_ratio",
                f"{counts.invalid_total} of {counts.read} rows ({ratio:.1%}) are invalid "
                f"({counts.describe_invalid()}), above the limit of {self.max_invalid_ratio:.1%}. Nothing "
                "was sent: fix the input (list_type, column, delimiter) or raise max_invalid_ratio",
            )

    # -- sending ---------------------------------------------------------------------------------

    def _find_list_id(self, hook: PinterestHook, ad_account_id: str, given_id: str | None) -> str | None:
        """The id given, or the id of the list with the given name (None when there is none)."""
        if given_id is not None:
            return given_id
        found = hook.find_customer_list(ad_account_id, str(self.customer_list_name))
        if found is None:
            return None
        self.log.info("Found customer list %s named %r", found["id"], self.customer_list_name)
        return str(found["id"])

    def _batches(self, path: str, operation: str) -> Iterator[Batch]:
        from airflow_provider_pinterest_audiences.customer_lists.batches import read_batches

        per_request = records_per_request(self.max_records_per_request, self.max_request_bytes)
        return read_batches(path, operation, per_request)

    def _send(
        self,
        hook: PinterestHook,
        ad_account_id: str,
        customer_list_id: str | None,
        batches: Iterator[Batch],
        progress: _Progress,
    ) -> str | None:
        """Send the batches; with no list id yet, the first batch (an ADD) creates the list, alone and first.

        The rest go out with up to ``max_concurrent_requests`` in flight, each worker thread on its own hook.
        """
        from airflow_provider_pinterest_audiences.customer_lists.batches import send_batches
        from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

        if customer_list_id is None:
            first = next(batches, None)
            if first is None:
                return None
            assert first.operation == "ADD"  # no list yet means nothing to remove
            created = hook.create_customer_list(
                ad_account_id,
                name=str(self.customer_list_name),
                records=first.records,
                list_type=self.list_type.value,
            )
            customer_list_id = str(created["id"])
            self.log.info("Created customer list %s named %r", customer_list_id, self.customer_list_name)
            progress.record(first.operation, first.record_count)
        list_id = customer_list_id

        def send(batch_hook: PinterestHook, batch: Batch) -> None:
            batch_hook.update_customer_list(
                ad_account_id, list_id, operation_type=batch.operation, records=batch.records
            )

        def stopped(finished: int, failed: int) -> None:
            self.log.error(
                "Upload stopped at a failed batch; %d batches already in flight finished (%d failed too)",
                finished,
                failed,
            )

        send_batches(
            batches,
            send,
            main_hook=hook,
            new_hook=lambda: PinterestHook(pinterest_conn_id=self.pinterest_conn_id),
            max_in_flight=self.max_concurrent_requests,
            on_sent=lambda batch: progress.record(batch.operation, batch.record_count),
            on_stopped=stopped,
        )
        return customer_list_id

    def _append_or_remove(
        self, hook: PinterestHook, ad_account_id: str, given_id: str | None, workdir: str
    ) -> _Outcome:
        spool_path = os.path.join(workdir, "digests.bin")
        with open(spool_path, "wb") as spool:
            counts = self._read(spool.write)
        customer_list_id = self._find_list_id(hook, ad_account_id, given_id)
        operation = "ADD" if self.mode == "append" else "REMOVE"
        if customer_list_id is None and operation == "REMOVE":
            raise PinterestInvalidArgumentError(
                "customer_list_name",
                f"no customer list named {self.customer_list_name!r} in ad account {ad_account_id}",
            )
        progress = _Progress(self.log, counts.valid)
        final_id = self._send(
            hook, ad_account_id, customer_list_id, self._batches(spool_path, operation), progress
        )
        assert final_id is not None  # counts.valid > 0, so at least one batch went out
        return _Outcome(final_id, counts, progress, None)

    def _mirror(
        self, hook: PinterestHook, ad_account_id: str, given_id: str | None, workdir: str
    ) -> _Outcome:
        from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
            DigestBuckets,
            as_state_path,
            discard_pending,
            plan_mirror,
            save_pending,
            save_snapshot,
        )

        state_path = as_state_path(self.state_path)
        with DigestBuckets(workdir) as desired:
            counts = self._read(desired.add)
            customer_list_id = self._find_list_id(hook, ad_account_id, given_id)
            plan = plan_mirror(
                state_path,
                list_type=self.list_type.value,
                customer_list_id=customer_list_id,
                desired=desired,
                directory=workdir,
            )
        self.log.info(
            "Mirror diff against %s: %d distinct members wanted, %d to add, %d to remove",
            state_path,
            plan.desired_count,
            plan.add_count,
            plan.remove_count,
        )
        if customer_list_id is not None and not (plan.had_snapshot or plan.had_pending):
            self.log.warning(
                "No snapshot at %s for existing list %s: members uploaded outside this task are kept",
                state_path,
                customer_list_id,
            )
        if not plan.changes_list:  # the snapshot already equals the source, so the list exists
            if plan.had_pending:
                discard_pending(state_path)
            assert customer_list_id is not None
            return _Outcome(customer_list_id, counts, _Progress(self.log, 0), plan.desired_count)
        save_pending(state_path, plan, list_type=self.list_type.value, customer_list_id=customer_list_id)
        progress = _Progress(self.log, plan.add_count + plan.remove_count)
        # ADD and REMOVE batches are disjoint, so they may be in flight together; the snapshot is saved only
        # after the last of them succeeded.
        batches = chain(self._batches(plan.adds_path, "ADD"), self._batches(plan.removes_path, "REMOVE"))
        customer_list_id = self._send(hook, ad_account_id, customer_list_id, batches, progress)
        assert customer_list_id is not None  # no list yet means no snapshot: every member is an ADD
        save_snapshot(state_path, plan, list_type=self.list_type.value, customer_list_id=customer_list_id)
        return _Outcome(customer_list_id, counts, progress, plan.desired_count)

    def execute(self, context: Context) -> str:
        from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

        hook = PinterestHook(pinterest_conn_id=self.pinterest_conn_id)
        account = self.ad_account_id or hook.default_ad_account_id
        if not account:
            raise PinterestInvalidArgumentError(
                "ad_account_id", f"not given, and connection {self.pinterest_conn_id!r} has no ad_account_id"
            )
        ad_account_id = pinterest_id(account, "ad_account_id")
        if self.customer_list_name is not None and not str(self.customer_list_name).strip():
            raise PinterestInvalidArgumentError("customer_list_name", "must not be empty")
        given_id = None
        if self.customer_list_id is not None:
            given_id = pinterest_id(self.customer_list_id, "customer_list_id")
        run = self._mirror if self.mode == "mirror" else self._append_or_remove
        try:
            with tempfile.TemporaryDirectory(prefix="pinterest-customer-list-") as workdir:
                outcome = run(hook, ad_account_id, given_id, workdir)
        finally:
            hook.close()
        customer_list_id, counts, progress, desired_members = outcome
        summary = {
            "customer_list_id": customer_list_id,
            "mode": self.mode,
            "list_type": self.list_type.value,
            "read": counts.read,
            "valid": counts.valid,
            "invalid": {str(reason): count for reason, count in sorted(counts.invalid.items())},
            "desired_members": desired_members,
            "added": progress.sent["ADD"],
            "removed": progress.sent["REMOVE"],
            "batches": progress.batches,
        }
        context["ti"].xcom_push(key="upload_summary", value=summary)
        self.log.info(
            "Customer list %s (%s, %s): read %d, valid %d, invalid %d (%s), added %d, removed %d, %d batches",
            customer_list_id,
            self.list_type.value,
            self.mode,
            counts.read,
            counts.valid,
            counts.invalid_total,
            counts.describe_invalid(),
            summary["added"],
            summary["removed"],
            progress.batches,
        )
        return customer_list_id
