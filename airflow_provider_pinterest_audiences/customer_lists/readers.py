"""Sources of customer identifiers as raw chunks: CSV files (local or object storage), iterables, SQL.

Readers run in the task's own process and only cut the input: a CSV file into ``CsvBlock`` slices of whole,
well-formed rows (``csv_rows`` checks the quoting, ``text_encoding`` the byte-order mark and encoding), an
iterable or a query into lists of values. Parsing cells, normalising and hashing happen in ``records`` (on
the hashing pool's workers). No error message quotes the source's content.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import IO, Any

from airflow_provider_pinterest_audiences.customer_lists.csv_rows import (
    MAX_ROW_BYTES,
    CsvRowSplitter,
    check_malformed_rows,
)
from airflow_provider_pinterest_audiences.customer_lists.records import (
    DEFAULT_CSV_BLOCK_BYTES,
    DEFAULT_VALUES_PER_CHUNK,
    CsvBlock,
    IdentifierType,
    InvalidReason,
    hash_chunk,
)
from airflow_provider_pinterest_audiences.customer_lists.text_encoding import (
    ascii_compatible_stream,
    codec_name,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

CsvSource = str | os.PathLike[str] | Any
"""A local path, a URI with a scheme (``s3://``, ``gs://``, ``file://``...) or an ``ObjectStoragePath``."""

log = logging.getLogger(__name__)

_PATH_SUFFIXES = (".csv", ".tsv", ".psv", ".txt", ".dat", ".gz", ".bz2", ".xz", ".zst", ".zip")
_NEVER_IN_SHOWN_PATHS = frozenset("@,;'\"<>[]{}|\n\r\t")
# Header cells that are identifiers, not column names: a valid EMAIL, a device id, or a SHA-256.
_IDENTIFIER_SHAPES = (
    (IdentifierType.EMAIL, "EMAIL"),
    (IdentifierType.MAID, "MAID/IDFA (a device id)"),
    (IdentifierType.HASHED_PINNER_ID, "SHA-256"),
)


def check_csv_format(delimiter: str, encoding: str) -> None:
    """Reject a delimiter or an encoding the CSV reader cannot use (every text encoding can be read)."""
    if (
        not isinstance(delimiter, str)
        or len(delimiter) != 1
        or not delimiter.isascii()
        or delimiter.isalnum()
        or delimiter in '"\r\n\x00'
    ):
        raise PinterestInvalidArgumentError(
            "delimiter",
            f"{delimiter!r} must be one ASCII character, not a letter, digit, quote, line break or NUL",
        )
    codec_name(encoding)


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


def looks_like_path(text: str) -> bool:
    """Whether a string source may be quoted in a message: one short line shaped like a path or a URI.

    A template can render a list of identifiers as text; such a string is described, never shown.
    """
    if not text or len(text) > 1024 or text != text.strip() or not _NEVER_IN_SHOWN_PATHS.isdisjoint(text):
        return False
    return "/" in text or "\\" in text or text.lower().endswith(_PATH_SUFFIXES)


def _shown(source: CsvSource) -> str:
    """``source`` as a message may show it: quoted when it looks like a path or a URI, else described."""
    text = str(source)  # a path's or an ObjectStoragePath's own text (os.fspath would warn on the latter)
    if looks_like_path(text):
        return repr(text)
    given = f"text of {len(source):,} characters" if isinstance(source, str) else f"a {type(source).__name__}"
    return f"the source given ({given}, not shown: it does not look like a path or a URI)"


@contextmanager
def open_source(source: CsvSource) -> Iterator[IO[bytes]]:
    """Open a local path, a URI or an ``ObjectStoragePath`` for binary reading; clear error when missing.

    Messages show ``source`` only when it looks like a path or a URI (``looks_like_path``).
    """
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    if isinstance(source, str) and "://" in source:
        try:
            source = ObjectStoragePath(source)
        except Exception as error:
            detail = f": {error}" if looks_like_path(source) else ""
            raise PinterestInvalidArgumentError(
                "source", f"cannot open {_shown(source)} ({type(error).__name__}{detail})"
            ) from None
    if isinstance(source, ObjectStoragePath):
        if not source.is_file():
            raise PinterestInvalidArgumentError("source", f"no file at {_shown(source)}")
        with source.open("rb") as handle:
            yield handle
        return
    path = os.fspath(source)
    if not os.path.isfile(path):
        if isinstance(source, str) and not looks_like_path(source):
            raise PinterestInvalidArgumentError(
                "source",
                f"{_shown(source)} is not an existing file. Pass a path, a URI, an ObjectStoragePath, or "
                "the identifiers themselves as a list (a list rendered by a template is text, not a list)",
            )
        raise PinterestInvalidArgumentError("source", f"no file at {_shown(source)}")
    with open(path, "rb") as handle:
        yield handle


def _header_names(header: bytes, delimiter: str, encoding: str) -> list[str]:
    text = header.decode(encoding, errors="replace")
    if sys.version_info < (3, 11):  # csv before 3.11 rejects NUL
        text = text.replace("\x00", "\ufffd")
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def _warn_if_identifier(names: Sequence[str], index: int) -> None:
    """Warn (naming no value) when the header's identifier cell is an identifier: has_header=True on a
    file without a header row drops its first customer."""
    if index >= len(names):
        return
    for identifier_type, shape in _IDENTIFIER_SHAPES:
        hashed = hash_chunk([names[index]], identifier_type)
        if hashed.valid or hashed.invalid.get(InvalidReason.ZEROED_DEVICE_ID):
            log.warning(
                "has_header=True, but the header row's cell in column %d is itself a valid %s identifier, "
                "not a column name: if the file has no header row, set has_header=False, or its first "
                "customer is not uploaded",
                index + 1,
                shape,
            )
            return


def read_csv(source: CsvSource, *, column: str | int | None = None, **options: Any) -> Iterator[CsvBlock]:
    """Stream one column of a CSV file as ``CsvBlock`` chunks (``options``: as ``read_csv_columns``)."""
    return (block for (block,) in read_csv_columns(source, columns=[column], **options))


def read_csv_columns(
    source: CsvSource,
    *,
    columns: Sequence[str | int | None],
    has_header: bool = False,
    delimiter: str = ",",
    encoding: str = "utf-8",
    block_bytes: int = DEFAULT_CSV_BLOCK_BYTES,
    malformed_rows: str = "fail",
    max_row_bytes: int = MAX_ROW_BYTES,
) -> Iterator[list[CsvBlock]]:
    """Stream a CSV file as blocks of whole, well-formed rows (strict quoting, see ``csv_rows``), each block
    as one ``CsvBlock`` per column of ``columns`` (the same bytes, each naming its column): the file is
    read once however many columns are taken.

    ``columns`` are resolved against the header row if any. ``malformed_rows`` (the operator's
    ``on_malformed_row``): ``"fail"`` raises on the first malformed row naming its row and column,
    ``"invalid"`` counts it as ``malformed_csv_row`` and reads on from the next line. ``encoding`` is any
    text encoding; a byte-order mark is handled as ``text_encoding`` says.
    """
    check_csv_format(delimiter, encoding)
    check_malformed_rows(malformed_rows, "malformed_rows")
    with open_source(source) as handle:
        stream, text_encoding = ascii_compatible_stream(handle, encoding)
        rows = CsvRowSplitter(
            stream,
            delimiter,
            block_bytes=block_bytes,
            malformed_rows=malformed_rows,
            max_row_bytes=max_row_bytes,
        )
        names = None
        if has_header:
            header = rows.header()
            names = None if header is None else _header_names(header, delimiter, text_encoding)
        indexes = [column_index(column, names, _column_argument(columns)) for column in columns]
        if names is not None:
            for column, index in zip(columns, indexes, strict=True):
                if not isinstance(column, str):
                    _warn_if_identifier(names, index)
        for block in rows.blocks():
            yield [
                CsvBlock(
                    block.data, index, delimiter, text_encoding, block.malformed, block.quoted_line_breaks
                )
                for index in indexes
            ]


def _column_argument(columns: Sequence[object]) -> str:
    """The argument an error about ``columns`` names: ``column`` for one, ``columns`` for several."""
    return "column" if len(columns) == 1 else "columns"


def _text(value: Any) -> str | None:
    """A cell as text: None stays None, bytes are read as UTF-8 (undecodable bytes are caught later)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="surrogateescape")
    return str(value)


def _item_cell(item: Any, column: str | int | None, argument: str = "column") -> str | None:
    """The identifier in one iterable item: a string, or a field of a mapping or a sequence."""
    if isinstance(item, Mapping):
        if not isinstance(column, str):
            raise PinterestInvalidArgumentError(
                argument, "the items are mappings: give the key holding the identifier"
            )
        return _text(item.get(column))
    if isinstance(item, Sequence) and not isinstance(item, str | bytes | bytearray):
        index = column_index(column, None, argument)
        return _text(item[index]) if index < len(item) else None
    if column not in (None, 0):
        raise PinterestInvalidArgumentError(
            argument, f"the items are single values ({type(item).__name__}); leave it unset"
        )
    return _text(item)


def read_iterable(
    items: Iterable[Any], *, column: str | int | None = None, chunk_size: int = DEFAULT_VALUES_PER_CHUNK
) -> Iterator[list[str | None]]:
    """Stream an iterable (an XCom list...) of strings, mappings or sequences as lists of values."""
    return (values for (values,) in read_iterable_columns(items, columns=[column], chunk_size=chunk_size))


def read_iterable_columns(
    items: Iterable[Any],
    *,
    columns: Sequence[str | int | None],
    chunk_size: int = DEFAULT_VALUES_PER_CHUNK,
) -> Iterator[list[list[str | None]]]:
    """``read_iterable`` for several columns at once: each batch of items, read once, comes as one list of
    values per column of ``columns``."""
    iterator = iter(items)
    argument = _column_argument(columns)
    while batch := list(islice(iterator, chunk_size)):
        yield [
            batch
            if column is None and set(map(type, batch)) <= {str}
            else [_item_cell(item, column, argument) for item in batch]
            for column in columns
        ]


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
    chunks = read_sql_columns(
        sql, sql_conn_id, columns=[column], parameters=parameters, chunk_size=chunk_size
    )
    return (values for (values,) in chunks)


def read_sql_columns(
    sql: str,
    sql_conn_id: str,
    *,
    columns: Sequence[str | int | None],
    parameters: Mapping[str, Any] | Sequence[Any] | None = None,
    chunk_size: int = DEFAULT_VALUES_PER_CHUNK,
) -> Iterator[list[list[str | None]]]:
    """``read_sql`` for several columns of one query, run once: each ``fetchmany`` comes as one list of
    values per column of ``columns``."""
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
            indexes = [column_index(column, names, _column_argument(columns)) for column in columns]
            while rows := cursor.fetchmany(chunk_size):
                yield [[_text(row[index]) for row in rows] for index in indexes]
        finally:
            cursor.close()
    finally:
        connection.close()
