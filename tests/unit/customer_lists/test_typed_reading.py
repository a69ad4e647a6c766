"""Several identifier columns read at once: the same digests and counts as one read per column.

The property: for random rows (valid, blank, whitespace-padded, invalid and quoted values, short rows), a
CSV file, a list of mappings and a list of sequences read with ``columns`` and hashed per type give, for
each column, exactly what reading that column alone gives, block by block.

Cross-cutting: covers ``read_csv_columns`` and ``read_iterable_columns`` (``customer_lists.readers``),
``hash_column_chunks`` (``customer_lists.hashing_pool``) and ``CustomerSource.column_chunks``
(``customer_lists.source``); ``customer_lists.reading`` is tested in ``test_reading``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from airflow_provider_pinterest_audiences.customer_lists.hashing_pool import (  # noqa: E402
    hash_chunks,
    hash_column_chunks,
)
from airflow_provider_pinterest_audiences.customer_lists.readers import (  # noqa: E402
    read_csv,
    read_csv_columns,
    read_iterable,
    read_iterable_columns,
)
from airflow_provider_pinterest_audiences.customer_lists.records import (  # noqa: E402
    HashedChunk,
    IdentifierType,
    RecordCounts,
)
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource  # noqa: E402
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError  # noqa: E402

NAMES = ("email", "gaid", "idfa", "partner")
CELLS = st.one_of(
    st.sampled_from(["", " ", "Ann@Example.com", " bob@example.org ", "not-an-email", 'quo"te@x.com']),
    st.sampled_from(["6D92078A-8246-4BA4-AE5B-76104861E7DC", "00000000-0000-0000-0000-000000000000"]),
    st.sampled_from(["a,b@x.com", "line\nbreak@x.com", "tab\t@x.com", "ünï@exämple.com", "X" * 64]),
    st.text(alphabet="abcXYZ019@.-_ ,", max_size=12),
)
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=len(NAMES)), min_size=0, max_size=40)
TYPES = st.sampled_from(list(IdentifierType))
COLUMNS = st.lists(st.tuples(TYPES, st.sampled_from(NAMES)), min_size=1, max_size=3)


def outcome(chunks: Sequence[HashedChunk]) -> tuple[bytes, int, dict[str, int]]:
    counts = RecordCounts()
    for chunk in chunks:
        counts.add(chunk)
    return b"".join(chunk.digests for chunk in chunks), counts.read, dict(+counts.invalid)


def csv_file(directory: Path, rows: list[list[str]]) -> Path:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(NAMES)
    writer.writerows(rows)
    path = directory / "crm.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, columns=COLUMNS, block_bytes=st.integers(16, 400))
def test_a_csv_read_with_columns_equals_one_read_per_column(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    columns: list[tuple[IdentifierType, str]],
    block_bytes: int,
) -> None:
    path = csv_file(tmp_path_factory.mktemp("crm"), rows)
    types, names = [t for t, _ in columns], [name for _, name in columns]
    blocks = read_csv_columns(path, columns=names, has_header=True, block_bytes=block_bytes)
    together = list(hash_column_chunks(blocks, types, processes=1))
    for index, (list_type, name) in enumerate(columns):
        alone = hash_chunks(read_csv(path, column=name, has_header=True, block_bytes=block_bytes), list_type)
        assert outcome([hashed[index] for hashed in together]) == outcome(list(alone))


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, columns=COLUMNS, chunk_size=st.integers(1, 7), as_mappings=st.booleans())
def test_an_iterable_read_with_columns_equals_one_read_per_column(
    rows: list[list[str]], columns: list[tuple[IdentifierType, str]], chunk_size: int, as_mappings: bool
) -> None:
    items: list[object]
    if as_mappings:
        items = [dict(zip(NAMES, row, strict=False)) for row in rows]
        keys: list[str | int] = [name for _, name in columns]
    else:
        items = [tuple(row) for row in rows]
        keys = [NAMES.index(name) for _, name in columns]
    types = [t for t, _ in columns]
    together = list(
        hash_column_chunks(read_iterable_columns(items, columns=keys, chunk_size=chunk_size), types)
    )
    for index, (list_type, key) in enumerate(zip(types, keys, strict=True)):
        alone = hash_chunks(read_iterable(items, column=key, chunk_size=chunk_size), list_type)
        assert outcome([hashed[index] for hashed in together]) == outcome(list(alone))


def test_a_csv_block_is_cut_once_and_named_per_column(tmp_path: Path) -> None:
    path = csv_file(tmp_path, [["a@x.com", "6D92078A-8246-4BA4-AE5B-76104861E7DC"]])
    ((email, gaid),) = list(read_csv_columns(path, columns=["email", "gaid"], has_header=True))
    assert email.data is gaid.data
    assert (email.column, gaid.column) == (0, 1)


def test_several_columns_of_a_source_come_from_one_pass() -> None:
    consumed = []

    def rows() -> object:
        for number in range(3):
            consumed.append(number)
            yield {"email": f"u{number}@x.com", "gaid": ""}

    chunks = list(CustomerSource(source=rows()).column_chunks(["email", "gaid"]))
    assert chunks == [[["u0@x.com", "u1@x.com", "u2@x.com"], ["", "", ""]]]
    assert consumed == [0, 1, 2]


@pytest.mark.parametrize(
    ("columns", "problem"),
    [(["email", "missing"], "'missing' is not in the header row"), (["email", 9], "index 9 is out of range")],
)
def test_a_bad_column_among_several_names_columns(
    tmp_path: Path, columns: list[str | int], problem: str
) -> None:
    path = csv_file(tmp_path, [["a@x.com", "", "", ""]])
    with pytest.raises(PinterestInvalidArgumentError, match=problem) as raised:
        list(read_csv_columns(path, columns=columns, has_header=True))
    assert raised.value.argument == "columns"
