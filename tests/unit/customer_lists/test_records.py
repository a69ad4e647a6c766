"""Identifier normalisation, hashing, validation, readers and batching (no network, no Airflow DB)."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import string
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.batches import read_batches, records_per_request
from airflow_provider_pinterest_audiences.customer_lists.hashing_pool import hash_chunks
from airflow_provider_pinterest_audiences.customer_lists.readers import read_csv, read_iterable, read_sql
from airflow_provider_pinterest_audiences.customer_lists.records import (
    DIGEST_SIZE,
    CsvBlock,
    HashedChunk,
    IdentifierType,
    InvalidReason,
    RecordCounts,
    hash_chunk,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from tests.object_storage import attach_memory_store

EMAIL = IdentifierType.EMAIL
UUID = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
VALID_SAMPLE = {
    IdentifierType.EMAIL: "keep@example.com",
    IdentifierType.MAID: UUID,
    IdentifierType.IDFA: UUID,
    IdentifierType.LR_ID: "XY123",
    IdentifierType.DLX_ID: "dlx-1",
    IdentifierType.HASHED_PINNER_ID: hashlib.sha256(b"pinner").hexdigest(),
}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hexes(chunk: HashedChunk) -> list[str]:
    return [chunk.digests[i : i + DIGEST_SIZE].hex() for i in range(0, len(chunk.digests), DIGEST_SIZE)]


def hash_all(
    chunks: Iterator[Any], identifier_type: IdentifierType = EMAIL
) -> tuple[list[str], RecordCounts]:
    counts = RecordCounts()
    digests: list[str] = []
    for chunk in chunks:
        hashed = hash_chunk(chunk, identifier_type)
        counts.add(hashed)
        digests += hexes(hashed)
    return digests, counts


# --- normalisation and validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier_type", "raw", "normalised"),
    [
        (IdentifierType.EMAIL, "  John.Doe@Example.COM \t", "john.doe@example.com"),
        (IdentifierType.EMAIL, "Ünïcode@Exämple.com", "ünïcode@exämple.com"),
        (IdentifierType.IDFA, UUID.lower(), UUID),
        (IdentifierType.MAID, f" {UUID} ", UUID.lower()),
        (IdentifierType.LR_ID, " XY-AbC123 ", "XY-AbC123"),
        (IdentifierType.DLX_ID, "dlx:Mixed", "dlx:Mixed"),
    ],
)
def test_each_type_is_normalised_then_sha256_hex(
    identifier_type: IdentifierType, raw: str, normalised: str
) -> None:
    chunk = hash_chunk([raw], identifier_type)
    assert hexes(chunk) == [sha(normalised)]
    assert (chunk.read, chunk.valid, chunk.invalid) == (1, 1, {})


@pytest.mark.parametrize("identifier_type", list(IdentifierType))
def test_existing_sha256_passes_through_lowercased(identifier_type: IdentifierType) -> None:
    digest = sha("someone@example.com")
    assert hexes(hash_chunk([f" {digest.upper()} "], identifier_type)) == [digest]


@pytest.mark.parametrize(
    ("identifier_type", "raw", "reason"),
    [
        (EMAIL, "", InvalidReason.MISSING),
        (EMAIL, "   ", InvalidReason.MISSING),
        (EMAIL, None, InvalidReason.MISSING),
        (EMAIL, "not an email", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "no-at-sign.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "two@@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "a@b@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "someone@", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "someone@localhost", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "someone@.example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "someone@example.com.", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "some..one@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "some one@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "a@example.com,b@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "a@example.com; b@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "John <john@example.com>", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "line\nbreak@example.com", InvalidReason.MULTI_LINE),
        (EMAIL, "bad\udcffbyte@example.com", InvalidReason.UNDECODABLE),
        (IdentifierType.IDFA, "not-a-uuid", InvalidReason.MALFORMED_DEVICE_ID),
        (IdentifierType.IDFA, UUID.replace("-", ""), InvalidReason.MALFORMED_DEVICE_ID),
        (IdentifierType.MAID, UUID[:-1] + "G", InvalidReason.MALFORMED_DEVICE_ID),
        (IdentifierType.MAID, "00000000-0000-0000-0000-000000000000", InvalidReason.ZEROED_DEVICE_ID),
        (IdentifierType.HASHED_PINNER_ID, "12345", InvalidReason.NOT_SHA256),
        (IdentifierType.HASHED_PINNER_ID, sha("x")[:-1] + "g", InvalidReason.NOT_SHA256),
    ],
)
def test_invalid_values_are_counted_by_reason_and_never_hashed(
    identifier_type: IdentifierType, raw: str | None, reason: InvalidReason
) -> None:
    assert hash_chunk([raw], identifier_type) == HashedChunk(b"", 1, Counter({reason: 1}))
    valid = VALID_SAMPLE[identifier_type]
    mixed = hash_chunk([valid, raw, valid], identifier_type)
    assert (mixed.read, mixed.invalid) == (3, {reason: 1})
    assert mixed.digests == hash_chunk([valid, valid], identifier_type).digests


def _random_value(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "@@..-_ ,\t+;<"
    shapes = [
        lambda: "".join(rng.choices(alphabet, k=rng.randint(0, 20))),
        lambda: f"{rng.choice(['a', 'B.c', '', '.x'])}@{rng.choice(['d.com', 'e', 'f..g', 'h.', '.i.j'])}",
        lambda: sha(str(rng.random())),
        lambda: UUID if rng.random() < 0.5 else UUID.lower().replace("a", "z"),
    ]
    return rng.choice(shapes)()


@pytest.mark.parametrize("identifier_type", list(IdentifierType))
def test_block_fast_path_accepts_exactly_what_value_by_value_accepts(identifier_type: IdentifierType) -> None:
    rng = random.Random(7)
    values = [_random_value(rng) for _ in range(3000)]
    whole = hash_chunk(values, identifier_type)
    one_by_one = [hash_chunk([value], identifier_type) for value in values]
    assert whole.digests == b"".join(chunk.digests for chunk in one_by_one)
    expected = RecordCounts()
    for chunk in one_by_one:
        expected.add(chunk)
    assert whole.invalid == expected.invalid


def test_clean_block_of_emails_hashes_like_a_plain_loop() -> None:
    emails = [f" User{i}@Example{i % 7}.COM" for i in range(5000)]
    chunk = hash_chunk(emails, EMAIL)
    assert hexes(chunk) == [sha(email.strip().lower()) for email in emails]


def test_unknown_list_type_names_the_argument_and_the_choices() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=r"'list_type'.*PHONE.*EMAIL, MAID, IDFA"):
        IdentifierType.parse("PHONE")


# --- CSV reader -------------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "input.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_without_header_reads_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, "a@x.com\n\nB@Y.com\r\n  \n")
    digests, counts = hash_all(read_csv(path))
    assert digests == [sha("a@x.com"), sha("b@y.com")]
    assert (counts.read, counts.valid, dict(counts.invalid)) == (3, 2, {"missing": 1})


def test_csv_header_column_by_name_any_delimiter_and_quotes(tmp_path: Path) -> None:
    text = '\ufeffid;"E-mail";note\n1;"Quoted@X.com";"multi\nline; note"\n2;b@y.com;x\n3\n'
    digests, counts = hash_all(
        read_csv(write(tmp_path, text), column="e-mail", has_header=True, delimiter=";")
    )
    assert digests == [sha("quoted@x.com"), sha("b@y.com")]
    assert (counts.read, dict(counts.invalid)) == (3, {"missing": 1})


def test_csv_column_by_index_and_latin1(tmp_path: Path) -> None:
    path = write(tmp_path, "x|José@Exämple.com\ny|b@y.com\n", encoding="latin-1")
    digests, _ = hash_all(read_csv(path, column=1, delimiter="|", encoding="latin-1"))
    assert digests == [sha("josé@exämple.com"), sha("b@y.com")]


def test_csv_blocks_always_end_on_row_boundaries(tmp_path: Path) -> None:
    rows = [f'"user{i}@example.com","note, with\nbreak {i}"' for i in range(500)]
    path = write(tmp_path, "\n".join(rows))
    blocks = list(read_csv(path, block_bytes=97))
    assert len(blocks) > 10
    digests, counts = hash_all(iter(blocks))
    assert digests == [sha(f"user{i}@example.com") for i in range(500)]
    assert counts.read == 500


def test_csv_column_missing_from_header_fails_without_echoing_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, "secret.person@example.com,x\n")
    with pytest.raises(PinterestInvalidArgumentError, match=r"'column'.*not in the header") as raised:
        list(read_csv(path, column="email", has_header=True))
    assert "secret.person" not in str(raised.value)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"column": "email"}, "column"),
        ({"column": 5, "has_header": True}, "column"),
        ({"column": -1}, "column"),
        ({"delimiter": ",,"}, "delimiter"),
        ({"delimiter": "a"}, "delimiter"),
        ({"encoding": "utf-16"}, "encoding"),
        ({"encoding": "no-such-codec"}, "encoding"),
    ],
)
def test_csv_bad_arguments_name_the_argument(tmp_path: Path, kwargs: dict[str, Any], argument: str) -> None:
    path = write(tmp_path, "email,b\nx@y.com,1\n")
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        list(read_csv(path, **kwargs))
    assert raised.value.argument == argument


def test_missing_file_is_a_clear_source_error(tmp_path: Path) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="'source': no file at"):
        list(read_csv(tmp_path / "absent.csv"))
    with pytest.raises(PinterestInvalidArgumentError, match="'source': no file at"):
        list(read_csv(f"file://{tmp_path}/absent.csv"))


def test_object_storage_uris_and_memory_filesystem(tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    write(tmp_path, "email\na@x.com\n")
    assert hash_all(read_csv(f"file://{tmp_path}/input.csv", has_header=True))[0] == [sha("a@x.com")]
    attach_memory_store()
    path = ObjectStoragePath("memory://bucket/customers.csv")
    path.write_bytes(b"b@y.com\n")
    assert hash_all(read_csv(path))[0] == [sha("b@y.com")]


# --- iterable and SQL readers -----------------------------------------------------------------------------


def test_iterable_of_strings_mappings_and_sequences() -> None:
    assert hash_all(read_iterable(["a@x.com", None], chunk_size=1))[0] == [sha("a@x.com")]
    rows = [{"email": "A@x.com"}, {"other": 1}]
    digests, counts = hash_all(read_iterable(rows, column="email"))
    assert (digests, dict(counts.invalid)) == ([sha("a@x.com")], {"missing": 1})
    assert hash_all(read_iterable([(1, "b@y.com"), (2,)], column=1))[0] == [sha("b@y.com")]
    ids = [12345, "67890"]
    assert hash_all(read_iterable(ids), IdentifierType.LR_ID)[0] == [sha("12345"), sha("67890")]


def test_iterable_mappings_need_a_key() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="'column'"):
        list(read_iterable([{"email": "a@x.com"}]))


class _TrackingCursor(sqlite3.Cursor):
    fetch_sizes: list[int] = []

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        self.fetch_sizes.append(size or 1)
        return super().fetchmany(size)

    def fetchall(self) -> list[Any]:
        raise AssertionError("fetchall must never be used")


class _TrackingConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _TrackingCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


def test_sql_rows_are_fetched_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.common.compat.sdk import BaseHook

    database = str(tmp_path / "crm.db")
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER, Email TEXT)")
        connection.executemany(
            "INSERT INTO customers VALUES (?, ?)",
            [(i, f"User{i}@Example.com") for i in range(25)] + [(99, None)],
        )
    hook = SimpleNamespace(get_conn=lambda: sqlite3.connect(database, factory=_TrackingConnection))
    monkeypatch.setattr(BaseHook, "get_hook", classmethod(lambda cls, conn_id, **kwargs: hook))
    monkeypatch.setattr(_TrackingCursor, "fetch_sizes", [])
    chunks = read_sql("SELECT id, Email FROM customers ORDER BY id", "crm", column="email", chunk_size=10)
    digests, counts = hash_all(chunks)
    assert digests == [sha(f"user{i}@example.com") for i in range(25)]
    assert (counts.read, dict(counts.invalid)) == (26, {"missing": 1})
    assert set(_TrackingCursor.fetch_sizes) == {10}


# --- pool and batching ------------------------------------------------------------------------------------


def test_process_pool_gives_the_same_digests_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, "".join(f"user{i}@example.com\n" for i in range(3000)) + "junk\n")
    blocks = list(read_csv(path, block_bytes=4096))
    serial = list(hash_chunks(blocks, EMAIL, processes=1))
    parallel = list(hash_chunks(blocks, EMAIL, processes=2))
    assert [c.digests for c in parallel] == [c.digests for c in serial]
    assert sum((c.invalid for c in parallel), Counter()) == {InvalidReason.MALFORMED_EMAIL: 1}


def test_batches_respect_both_limits_and_keep_every_record(tmp_path: Path) -> None:
    digests = [hashlib.sha256(str(i).encode()).digest() for i in range(1000)]
    spool = tmp_path / "spool"
    spool.write_bytes(b"".join(digests))

    by_bytes = list(read_batches(str(spool), "ADD", records_per_request(300, 65 * 100 - 1)))
    by_count = list(read_batches(str(spool), "ADD", records_per_request(300, 1_000_000)))

    assert [b.record_count for b in by_bytes] == [100] * 10
    assert all(len(b.records) <= 65 * 100 - 1 for b in by_bytes)
    assert ",".join(b.records for b in by_bytes).split(",") == [d.hex() for d in digests]
    assert [b.record_count for b in by_count] == [300, 300, 300, 100]


def test_batch_limits_are_checked() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="'max_request_bytes'"):
        records_per_request(10, 63)
    with pytest.raises(PinterestInvalidArgumentError, match="'max_records_per_request'"):
        records_per_request(0, 1000)


def test_csv_block_is_picklable_and_self_contained() -> None:
    import pickle

    block = CsvBlock(b"a@x.com\n", 0, ",", "utf-8")
    copy = pickle.loads(pickle.dumps(block))  # noqa: S301 (our own bytes)
    assert hexes(hash_chunk(copy, EMAIL)) == [sha("a@x.com")]
