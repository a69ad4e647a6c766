"""Where an upload's identifiers come from: a file or URI, an iterable (an XCom), or a SQL query.

``CustomerSource`` holds the rendered reading arguments and opens the matching reader. ``redacted_source``
wraps an iterable of identifiers (or a string that is not a path, or bytes) in a ``RedactedSource``: the
task still reads the value it holds, but Airflow's rendered fields (the metadata database, the UI) store
only its one-line summary, never a customer identifier.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_pinterest_audiences.arguments import has_unrendered_template, non_empty_text
from airflow_provider_pinterest_audiences.customer_lists.readers import (
    looks_like_path,
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
    """A string worth showing as it is: one line holding a URI, an existing file or a path's shape (a ``/``
    or a file suffix, no ``@`` or comma: never an identifier, nor a list of them)."""
    if "\n" in text or "\r" in text:
        return False
    if "://" in text and "," not in text and " " not in text:
        return True
    return os.path.isfile(text) or looks_like_path(text)


def _is_object_storage_path(value: Any) -> bool:
    """An ``ObjectStoragePath`` (or anything shaped like one), without importing Airflow's io."""
    return hasattr(value, "protocol") and hasattr(value, "open")


def redacted_source(source: Any, origin: str = "") -> Any:
    """``source`` as it may be shown: paths, URIs and ``ObjectStoragePath`` as they are, values summarised."""
    if source is None or isinstance(source, RedactedSource | os.PathLike):
        return source
    if isinstance(source, str):
        if not source.strip() or _is_path_like(source.strip()):
            return source
        return RedactedSource(source, f"<text of {len(source):,} characters{origin}, not a path>")
    if isinstance(source, bytes | bytearray):
        kind = type(source).__name__
        return RedactedSource(source, f"<{kind} of {len(source):,} bytes{origin}, not a source>")
    if not hasattr(source, "__iter__") or _is_object_storage_path(source):
        return source
    size = f"{len(source):,} " if hasattr(source, "__len__") else ""
    return RedactedSource(source, f"<{type(source).__name__} of {size}identifiers{origin}>")


#: The check of ``sql``: the query that returns the identifiers.
sql_query = non_empty_text("a SQL query")
_SOURCES = (
    "a CSV path or URI (e.g. s3://bucket/customers.csv), an ObjectStoragePath or an iterable of identifiers"
)


def readable_source(value: Any, argument: str) -> Any:
    """``source`` checked, as it is read (a ``RedactedSource`` unwrapped): a path, URI or
    ``ObjectStoragePath`` that is not empty, or an iterable of identifiers."""
    source = value.value if isinstance(value, RedactedSource) else value
    if source is None or isinstance(source, str | os.PathLike):
        text = str(source).strip()
        if not text or text == "None":
            raise PinterestInvalidArgumentError(argument, f"rendered as {text!r}: give {_SOURCES}")
        return source
    if isinstance(source, bytes | bytearray) or not (
        hasattr(source, "__iter__") or _is_object_storage_path(source)
    ):
        raise PinterestInvalidArgumentError(argument, f"expected {_SOURCES}, got {type(source).__name__}")
    return source


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
        if self.sql is not None:
            return read_sql_columns(sql_query(self.sql, "sql"), str(self.sql_conn_id), columns=columns)
        source = readable_source(self.source, "source")
        if isinstance(source, str | os.PathLike) or _is_object_storage_path(source):
            return read_csv_columns(
                source,
                columns=columns,
                has_header=self.has_header,
                delimiter=self.delimiter,
                encoding=self.encoding,
                malformed_rows=self.on_malformed_row,
            )
        return read_iterable_columns(source, columns=columns)
