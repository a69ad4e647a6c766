"""Where an upload's identifiers come from: a file or URI, an iterable (an XCom), or a SQL query.

``CustomerSource`` holds the rendered reading arguments and opens the matching reader. ``redacted_source``
wraps an iterable of identifiers (or a string that is not a path) in a ``RedactedSource``: the upload still
reads the value it holds, but Airflow's rendered fields (the metadata database, the UI) store only its
one-line summary, never a customer identifier.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_pinterest_audiences.arguments import has_unrendered_template
from airflow_provider_pinterest_audiences.customer_lists.readers import (
    read_csv_columns,
    read_iterable_columns,
    read_sql_columns,
)
from airflow_provider_pinterest_audiences.customer_lists.records import RawChunk
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError


class RedactedSource:
    """A rendered ``source`` holding identifiers: ``value`` is read, ``str``/``repr`` show a summary."""

    def __init__(self, value: Any, summary: str) -> None:
        self.value = value
        self._summary = summary

    def __str__(self) -> str:
        return self._summary

    __repr__ = __str__


def source_origin(unrendered: Any) -> str:
    """Where a not-yet-rendered ``source`` comes from, for the summary: an XCom, a template or the DAG."""
    operator = getattr(unrendered, "operator", None)
    task_id = getattr(operator, "task_id", None)
    if task_id is not None:
        return f" from XCom {task_id!r}"
    return " from a template" if has_unrendered_template(unrendered) else ""


def _is_path_like(text: str) -> bool:
    """A string worth showing as it is: a URI, or the path of an existing local file."""
    return "://" in text.split("\n", 1)[0] or os.path.isfile(text)


def redacted_source(source: Any, origin: str = "") -> Any:
    """``source`` as it may be shown: paths, URIs and ``ObjectStoragePath`` as they are, values summarised."""
    if source is None or isinstance(source, RedactedSource | os.PathLike):
        return source
    if isinstance(source, str):
        if not source.strip() or _is_path_like(source.strip()):
            return source
        return RedactedSource(source, f"<text of {len(source):,} characters{origin}, not a path>")
    if isinstance(source, bytes | bytearray) or not hasattr(source, "__iter__"):
        return source
    if hasattr(source, "protocol") and hasattr(source, "open"):  # an ObjectStoragePath
        return source
    size = f"{len(source):,} " if hasattr(source, "__len__") else ""
    return RedactedSource(source, f"<{type(source).__name__} of {size}identifiers{origin}>")


@dataclass(frozen=True)
class CustomerSource:
    """The rendered reading arguments of one upload; ``chunks()`` opens the matching reader."""

    source: Any = None
    sql: str | None = None
    sql_conn_id: str | None = None
    column: str | int | None = None
    has_header: bool = False
    delimiter: str = ","
    encoding: str = "utf-8"
    on_malformed_row: str = "fail"

    @property
    def argument(self) -> str:
        """The argument that named the identifiers (``source`` or ``sql``), for error messages."""
        return "sql" if self.sql is not None else "source"

    def chunks(self) -> Iterator[RawChunk]:
        """Raw chunks of the whole source; a clear error naming the argument when it cannot be read."""
        return (chunk for (chunk,) in self.column_chunks([self.column]))

    def column_chunks(self, columns: Sequence[str | int | None]) -> Iterator[Sequence[RawChunk]]:
        """The whole source read once, each chunk as one raw chunk per column of ``columns`` (``column``
        is not used)."""
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        if self.sql is not None:
            if not str(self.sql).strip():
                raise PinterestInvalidArgumentError("sql", "the query is empty")
            return read_sql_columns(self.sql, str(self.sql_conn_id), columns=columns)
        source = self.source.value if isinstance(self.source, RedactedSource) else self.source
        if source is None or (isinstance(source, str) and not source.strip()):
            raise PinterestInvalidArgumentError("source", "no source given (it rendered empty)")
        if isinstance(source, str | os.PathLike | ObjectStoragePath):
            return read_csv_columns(
                source,
                columns=columns,
                has_header=self.has_header,
                delimiter=self.delimiter,
                encoding=self.encoding,
                malformed_rows=self.on_malformed_row,
            )
        if isinstance(source, bytes | bytearray) or not hasattr(source, "__iter__"):
            raise PinterestInvalidArgumentError(
                "source",
                "expected a path, a URI, an ObjectStoragePath or an iterable of identifiers, "
                f"got {type(source).__name__}",
            )
        return read_iterable_columns(source, columns=columns)
