"""Sources of customer identifiers as raw chunks: CSV files (local or object storage), iterables, SQL.

Readers run in the task's own process and only cut the input: a CSV file into ``CsvBlock`` slices of whole
rows, an iterable or a query into lists of values. Parsing, normalising and hashing happen in ``records``
(on the hashing pool's workers).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain, islice
from typing import IO, Any

from airflow_provider_pinterest_audiences.customer_lists.records import (
    DEFAULT_CSV_BLOCK_BYTES,
    DEFAULT_VALUES_PER_CHUNK,
    CsvBlock,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

CsvSource = str | os.PathLike[str] | Any
"""A local path, a URI with a scheme (``s3://``, ``gs://``, ``file://``...) or an ``ObjectStoragePath``."""

_UTF8_BOM = b"\xef\xbb\xbf"


def check_csv_format(delimiter: str, encoding: str) -> None:
    """Reject a delimiter or encoding the streaming CSV reader cannot split on safely."""
    if len(delimiter) != 1 or not delimiter.isascii() or delimiter.isalnum() or delimiter in '"\r\n':
        raise PinterestInvalidArgumentError(
            "delimiter",
            f"{delimiter!r} must be one ASCII character, not a letter, digit, quote or line break",
        )
    try:
        ascii_safe = f'{delimiter}"\n'.encode(encoding) == f'{delimiter}"\n'.encode("ascii")
    except LookupError:
        raise PinterestInvalidArgumentError(
            "encoding", f"{encoding!r} is not a known text encoding"
        ) from None
    if not ascii_safe:
        raise PinterestInvalidArgumentError(
            "encoding", f"{encoding!r} does not keep ASCII bytes as they are; use utf-8, latin-1, cp1252..."
        )


def column_index(column: str | int | None, names: Sequence[str] | None, argument: str = "column") -> int:
    """0-based index of ``column`` (a name looked up in ``names``, or an index); 0 when unset."""
    if column is None:
        return 0
    if isinstance(column, bool) or not isinstance(column, int | str):
        raise PinterestInvalidArgumentError(
            argument, f"must be a column name or a 0-based index, got {type(column).__name__}"
        )
    if isinstance(column, int):
        if column < 0 or (names is not None and column >= len(names)):
            width = "" if names is None else f" (the header has {len(names)} columns)"
            raise PinterestInvalidArgumentError(argument, f"index {column} is out of range{width}")
        return column
    if names is None:
        raise PinterestInvalidArgumentError(
            argument, f"{column!r} is a name but there is no header row; give a 0-based index"
        )
    cleaned = [name.strip().lower() for name in names]
    if column.strip().lower() in cleaned:
        return cleaned.index(column.strip().lower())
    # Names are not listed: a "header" that is really a data row would put identifiers in the log.
    raise PinterestInvalidArgumentError(
        argument,
        f"{column!r} is not in the header row ({len(names)} columns); check the name, or set "
        "has_header=False if the first row is data",
    )


@contextmanager
def open_source(source: CsvSource) -> Iterator[IO[bytes]]:
    """Open a local path, a URI or an ``ObjectStoragePath`` for binary reading; clear error when missing."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    if isinstance(source, str) and "://" in source:
        source = ObjectStoragePath(source)
    if isinstance(source, ObjectStoragePath):
        if not source.is_file():
            raise PinterestInvalidArgumentError("source", f"no file at {source}")
        with source.open("rb") as handle:
            yield handle
        return
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise PinterestInvalidArgumentError("source", f"no file at {path!r}")
    with open(path, "rb") as handle:
        yield handle


def _last_row_end(data: bytes) -> int:
    """Offset just past the last line break outside double quotes (0 when there is none)."""
    quotes = data.count(b'"')
    end = len(data)
    while (newline := data.rfind(b"\n", 0, end)) >= 0:
        if (quotes - data.count(b'"', newline)) % 2 == 0:
            return newline + 1
        end = newline
    return 0


def _first_row_end(data: bytes) -> int:
    """Offset just past the first line break outside double quotes (``len(data)`` when there is none)."""
    newline = data.find(b"\n")
    while newline >= 0:
        if data.count(b'"', 0, newline) % 2 == 0:
            return newline + 1
        newline = data.find(b"\n", newline + 1)
    return len(data)


def _row_aligned_blocks(handle: IO[bytes], block_bytes: int) -> Iterator[bytes]:
    """The stream in slices of about ``block_bytes`` that each end at a row boundary."""
    pending = b""
    while data := handle.read(block_bytes):
        pending += data
        end = _last_row_end(pending)
        if end:
            yield pending[:end]
            pending = pending[end:]
    if pending:
        yield pending


def read_csv(
    source: CsvSource,
    *,
    column: str | int | None = None,
    has_header: bool = False,
    delimiter: str = ",",
    encoding: str = "utf-8",
    block_bytes: int = DEFAULT_CSV_BLOCK_BYTES,
) -> Iterator[CsvBlock]:
    """Stream a CSV file as ``CsvBlock`` chunks, resolving ``column`` against the header row if any."""
    check_csv_format(delimiter, encoding)
    with open_source(source) as handle:
        blocks = _row_aligned_blocks(handle, block_bytes)
        first = next(blocks, b"")
        if first.startswith(_UTF8_BOM) and codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
            first = first[len(_UTF8_BOM) :]
        names = None
        if has_header and first:
            header_end = _first_row_end(first)
            header_text = first[:header_end].decode(encoding, errors="replace")
            names = next(csv.reader(io.StringIO(header_text, newline=""), delimiter=delimiter), [])
            first = first[header_end:]
        index = column_index(column, names)
        for data in chain([first] if first else [], blocks):
            yield CsvBlock(data, index, delimiter, encoding)


def _text(value: Any) -> str | None:
    """A cell as text: None stays None, bytes are read as UTF-8 (undecodable bytes are caught later)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="surrogateescape")
    return str(value)


def _item_cell(item: Any, column: str | int | None) -> str | None:
    """The identifier in one iterable item: a string, or a field of a mapping or a sequence."""
    if isinstance(item, Mapping):
        if not isinstance(column, str):
            raise PinterestInvalidArgumentError(
                "column", "the items are mappings: give the key holding the identifier"
            )
        return _text(item.get(column))
    if isinstance(item, Sequence) and not isinstance(item, str | bytes | bytearray):
        index = column_index(column, None)
        return _text(item[index]) if index < len(item) else None
    if column not in (None, 0):
        raise PinterestInvalidArgumentError(
            "column", f"the items are single values ({type(item).__name__}); leave it unset"
        )
    return _text(item)


def read_iterable(
    items: Iterable[Any], *, column: str | int | None = None, chunk_size: int = DEFAULT_VALUES_PER_CHUNK
) -> Iterator[list[str | None]]:
    """Stream an iterable (an XCom list...) of strings, mappings or sequences as lists of values."""
    iterator = iter(items)
    while batch := list(islice(iterator, chunk_size)):
        if column is None and set(map(type, batch)) <= {str}:
            yield batch
        else:
            yield [_item_cell(item, column) for item in batch]


def _streaming_cursor(connection: Any) -> Any:
    """A server-side cursor where the driver has named cursors (psycopg), else the default cursor."""
    try:
        return connection.cursor(name="pinterest_customer_list_source")
    except TypeError:
        return connection.cursor()


def read_sql(
    sql: str,
    sql_conn_id: str,
    *,
    column: str | int | None = None,
    parameters: Mapping[str, Any] | Sequence[Any] | None = None,
    chunk_size: int = DEFAULT_VALUES_PER_CHUNK,
) -> Iterator[list[str | None]]:
    """Stream one column of a query on any DB-API connection, ``chunk_size`` rows per ``fetchmany``."""
    from airflow.providers.common.compat.sdk import BaseHook

    hook = BaseHook.get_hook(sql_conn_id)
    if not callable(getattr(hook, "get_conn", None)):
        raise PinterestInvalidArgumentError("sql_conn_id", f"{sql_conn_id!r} is not a database connection")
    connection = hook.get_conn()
    try:
        cursor = _streaming_cursor(connection)
        try:
            cursor.execute(sql) if parameters is None else cursor.execute(sql, parameters)
            names = [str(description[0]) for description in cursor.description or ()]
            index = column_index(column, names)
            while rows := cursor.fetchmany(chunk_size):
                yield [_text(row[index]) for row in rows]
        finally:
            cursor.close()
    finally:
        connection.close()
