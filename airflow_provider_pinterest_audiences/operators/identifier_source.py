"""``IdentifierSourceMixin``: what every task that reads customer identifiers shares.

Where the identifiers come from (``source``, or ``sql`` with ``sql_conn_id``), how they are read, hashed and
sent, the checks of those arguments when the DAG is parsed, and the rule that an iterable ``source`` is
recorded in Airflow's rendered fields only as a summary. Used by the upload and the erase operators.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pinterest_audiences.arguments import ArgumentCheck, non_empty_text, optional
from airflow_provider_pinterest_audiences.customer_lists.csv_rows import check_malformed_rows
from airflow_provider_pinterest_audiences.customer_lists.lease import MIN_LEASE_TTL
from airflow_provider_pinterest_audiences.customer_lists.readers import check_csv_format
from airflow_provider_pinterest_audiences.customer_lists.records import IdentifierOptions
from airflow_provider_pinterest_audiences.customer_lists.source import (
    CustomerSource,
    readable_source,
    redacted_source,
    source_origin,
    sql_query,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

if TYPE_CHECKING:
    import jinja2
    from airflow.providers.common.compat.sdk import Context


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _is_integer(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int)


def _expanded_source(task: Any) -> Any:
    """The unrendered ``source`` a mapped task expands over (``.expand(source=...)``), when ``task`` is one
    of its expansions; else ``None``."""
    if not task.has_dag():
        return None
    mapped = task.dag.task_dict.get(task.task_id)
    expanded = getattr(getattr(mapped, "expand_input", None), "value", None)
    return expanded.get("source") if isinstance(expanded, Mapping) else None


class IdentifierSourceMixin:
    """Reading arguments and their checks; mixed into an operator before ``PinterestBaseOperator``.

    The operator's ``argument_checks`` include this class's: the templated reading arguments.
    """

    argument_checks: ClassVar[Mapping[str, ArgumentCheck]] = {
        "source": optional(readable_source),
        "sql": optional(sql_query),
        "sql_conn_id": optional(non_empty_text("an Airflow connection id")),
    }
    source: Any
    sql: str | None
    sql_conn_id: str | None
    device_id_case: str
    hash_identifiers: bool
    column: str | int | None
    has_header: bool
    delimiter: str
    encoding: str
    on_malformed_row: str
    max_invalid_ratio: float
    hashing_processes: int | None
    max_concurrent_requests: int
    lease_ttl: float

    def check_source_arguments(self) -> None:
        """The checks of the untemplated reading arguments, and which of ``source`` and ``sql`` is given:
        bad DAGs fail at parse time, naming the argument."""
        if (self.source is None) == (self.sql is None):
            raise PinterestInvalidArgumentError(
                "source", "give exactly one of source or sql (with sql_conn_id)"
            )
        if self.sql is not None and not self.sql_conn_id:
            raise PinterestInvalidArgumentError("sql_conn_id", "required with sql")
        ratio, processes = self.max_invalid_ratio, self.hashing_processes
        if not _is_number(ratio) or not 0.0 <= ratio <= 1.0:
            raise PinterestInvalidArgumentError(
                "max_invalid_ratio", f"must be a number between 0 and 1, got {ratio!r}"
            )
        if processes is not None and (not _is_integer(processes) or processes < 1):
            raise PinterestInvalidArgumentError(
                "hashing_processes", f"must be an integer of at least 1 (or None), got {processes!r}"
            )
        concurrency, ttl = self.max_concurrent_requests, self.lease_ttl
        if not _is_integer(concurrency) or concurrency < 1:
            raise PinterestInvalidArgumentError(
                "max_concurrent_requests", f"must be an integer of at least 1, got {concurrency!r}"
            )
        if not _is_number(ttl) or not MIN_LEASE_TTL <= ttl < float("inf"):
            raise PinterestInvalidArgumentError(
                "lease_ttl", f"must be a number of seconds of at least {MIN_LEASE_TTL:g}, got {ttl!r}"
            )
        check_csv_format(self.delimiter, self.encoding)
        check_malformed_rows(self.on_malformed_row)
        self.identifier_options()

    def identifier_options(self) -> IdentifierOptions:
        """How identifiers are normalised beyond their type's fixed rules (``device_id_case``) and whether
        partner ids are hashed (``hash_identifiers``), checked."""
        return IdentifierOptions(device_id_case=self.device_id_case, hash_identifiers=self.hash_identifiers)

    def customer_source(self) -> CustomerSource:
        """The rendered reading arguments, as the upload engine reads them."""
        return CustomerSource(
            source=self.source,
            sql=self.sql,
            sql_conn_id=self.sql_conn_id,
            column=self.column,
            has_header=self.has_header,
            delimiter=self.delimiter,
            encoding=self.encoding,
            on_malformed_row=self.on_malformed_row,
        )

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Any,
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        """Render as Airflow does, then keep only a summary of identifier values in ``source``.

        Airflow stores rendered fields in its metadata database and shows them in the UI; an XCom list of
        emails must not land there. Paths, URIs and SQL stay visible as they are. This is the one method
        both plain and mapped tasks (Airflow 2.11 and 3) render through; a mapped task's ``source`` arrives
        resolved, so its origin is read from the mapped operator's expand input.
        """
        origin = source_origin(getattr(parent, "source", None))
        if not origin and parent is self:
            origin = source_origin(_expanded_source(self))
        super()._do_render_template_fields(  # type: ignore[misc]
            parent, template_fields, context, jinja_env, seen_oids
        )
        if parent is self and "source" in template_fields:
            self.source = redacted_source(self.source, origin)
