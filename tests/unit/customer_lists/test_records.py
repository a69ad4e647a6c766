"""Identifier normalisation, hashing, validation, the hashing pool and batching (no network, no Airflow DB).

The readers have their own tests (``test_readers``, ``test_csv_rows``, ``test_text_encoding``) and the whole
reading path its properties (``test_reading_properties``)."""

from __future__ import annotations

import hashlib
import random
import string
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.batches import read_batches, records_per_request
from airflow_provider_pinterest_audiences.customer_lists.hashing_pool import hash_chunks
from airflow_provider_pinterest_audiences.customer_lists.readers import read_csv
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
        (IdentifierType.IDFA, UUID, UUID.lower()),
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
        (EMAIL, "'quoted@example.com'", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "quoted@example.com'", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "'quoted@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "\u201cquoted@example.com\u201d", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "mailto:someone@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "some\xa0one@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "some\u200bone@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "a" * 243 + "@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "x" * 10_000_000 + "@example.com", InvalidReason.MALFORMED_EMAIL),
        (EMAIL, "nul\x00byte@example.com", InvalidReason.CONTROL_CHARACTER),
        (EMAIL, "tab\tinside@example.com", InvalidReason.CONTROL_CHARACTER),
        (EMAIL, "del\x7f@example.com", InvalidReason.CONTROL_CHARACTER),
        (EMAIL, "c1\x9b@example.com", InvalidReason.CONTROL_CHARACTER),
        (IdentifierType.LR_ID, "XY\x00123", InvalidReason.CONTROL_CHARACTER),
        (IdentifierType.LR_ID, "XY\r123", InvalidReason.CONTROL_CHARACTER),
        (IdentifierType.DLX_ID, "dlx\x85-1", InvalidReason.CONTROL_CHARACTER),
        (IdentifierType.MAID, UUID[:8] + "\x00" + UUID[9:], InvalidReason.CONTROL_CHARACTER),
        (IdentifierType.IDFA, "not-a-uuid", InvalidReason.MALFORMED_DEVICE_ID),
        (IdentifierType.IDFA, UUID.replace("-", "")[1:], InvalidReason.MALFORMED_DEVICE_ID),
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
    alphabet = string.ascii_letters + string.digits + "@@..-_ ,\t+;<':\x00\x1c\x7f\x85\xa0é\u201c\ufeff"
    shapes = [
        lambda: "".join(rng.choices(alphabet, k=rng.randint(0, 20))),
        lambda: f"{rng.choice(['a', 'B.c', '', '.x'])}@{rng.choice(['d.com', 'e', 'f..g', 'h.', '.i.j'])}",
        lambda: sha(str(rng.random())),
        lambda: hashlib.md5(str(rng.random()).encode(), usedforsecurity=False).hexdigest().upper(),
        lambda: hashlib.sha1(str(rng.random()).encode(), usedforsecurity=False).hexdigest(),
        lambda: UUID if rng.random() < 0.5 else UUID.lower().replace("a", "z"),
        lambda: "b" * rng.randint(240, 250) + "@c.com",
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
    assert whole.prehashed == expected.prehashed


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("o'brien@example.com", "o'brien@example.com"),  # an apostrophe inside the local part is an address
        ("a" * 242 + "@example.com", "a" * 242 + "@example.com"),  # 254 characters
        ("é" * 200 + "@example.com", "é" * 200 + "@example.com"),  # 212 characters in 412 bytes
        ("\x1c\x1fsep@example.com\x1e ", "sep@example.com"),  # information separators are whitespace
        ("\xa0nbsp@example.com\u3000", "nbsp@example.com"),
    ],
)
def test_email_edge_cases_that_stay_valid(raw: str, normalised: str) -> None:
    assert hexes(hash_chunk([raw], EMAIL)) == [sha(normalised)]


@pytest.mark.parametrize(
    "value", ["\x1cpadded@example.com\x1f", "  padded@example.com\t", "\x0bpadded@example.com"]
)
def test_byte_and_text_paths_strip_the_same_characters(value: str) -> None:
    as_text = hash_chunk([value, "é@example.com"], EMAIL)  # non-ASCII: the text path
    as_bytes = hash_chunk(CsvBlock(value.encode() + b"\n"), EMAIL)  # ASCII block: the byte path
    assert hexes(as_bytes) == hexes(as_text)[:1] == [sha("padded@example.com")]


def test_a_csv_block_counts_its_malformed_rows_as_read_and_invalid() -> None:
    chunk = hash_chunk(CsvBlock(b"a@x.com\n\nb@y.com\n", malformed=3), EMAIL)
    assert (chunk.read, chunk.valid, dict(chunk.invalid)) == (5, 2, {"malformed_csv_row": 3})
    only_malformed = hash_chunk(CsvBlock(b"", malformed=2), EMAIL)
    assert (only_malformed.read, dict(only_malformed.invalid)) == (2, {"malformed_csv_row": 2})


def test_quoted_line_breaks_go_from_the_block_through_hashing_into_the_counts() -> None:
    multi_line = CsvBlock(b'"a\nb",c@d.com\nx,x@y.com\n', 1, quoted_line_breaks=1)
    blocks = [multi_line, CsvBlock(b"z@y.com\n")]
    counts = RecordCounts()
    for block in blocks:
        counts.add(hash_chunk(block, EMAIL))
    assert (counts.read, counts.valid, counts.quoted_line_breaks) == (3, 3, 1)
    counts.add(hash_chunk(["a\nb@x.com"], EMAIL))  # a value with a line break is no quoted CSV field
    assert counts.quoted_line_breaks == 1


def test_a_quoted_field_longer_than_the_csv_module_limit_is_read() -> None:
    block = CsvBlock(b'a@x.com,"' + b"n" * 200_000 + b'"\n', 0)
    assert hexes(hash_chunk(block, EMAIL)) == [sha("a@x.com")]


def test_clean_block_of_emails_hashes_like_a_plain_loop() -> None:
    emails = [f" User{i}@Example{i % 7}.COM" for i in range(5000)]
    chunk = hash_chunk(emails, EMAIL)
    assert hexes(chunk) == [sha(email.strip().lower()) for email in emails]


def test_unknown_list_type_names_the_argument_and_the_choices() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=r"'list_type'.*PHONE.*EMAIL, MAID, IDFA"):
        IdentifierType.parse("PHONE")


def write(tmp_path: Path, text: str, name: str = "input.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --- pool and batching ------------------------------------------------------------------------------------


def test_process_pool_gives_the_same_digests_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, "".join(f"user{i}@example.com\n" for i in range(3000)) + "junk\n")
    blocks = list(read_csv(path, block_bytes=4096))
    serial = list(hash_chunks(blocks, EMAIL, processes=1))
    parallel = list(hash_chunks(blocks, EMAIL, processes=2))
    assert [c.digests for c in parallel] == [c.digests for c in serial]
    assert sum((c.invalid for c in parallel), Counter()) == {InvalidReason.MALFORMED_EMAIL: 1}


def test_the_process_pool_carries_the_quoted_line_breaks(tmp_path: Path) -> None:
    path = write(
        tmp_path, "".join(f'u{i}@x.com,"a\nb"\n' if i % 7 == 0 else f"u{i}@x.com\n" for i in range(700))
    )
    parallel = hash_chunks(read_csv(path, block_bytes=512), EMAIL, processes=2)
    assert sum(chunk.quoted_line_breaks for chunk in parallel) == 100


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
