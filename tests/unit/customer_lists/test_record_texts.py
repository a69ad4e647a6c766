"""``RecordTexts``: the texts of records sent as given, stored on disk by digest and rendered per request."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from airflow_provider_pinterest_audiences.customer_lists.record_texts import FILE_NAME, RecordTexts


def sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def test_the_store_renders_texts_in_digest_order_and_keeps_the_first_text(tmp_path: Path) -> None:
    with RecordTexts(str(tmp_path)) as store:
        store.add(sha("a") + sha("b"), [b"first", b"\xc3\xa9b"])
        store.add(sha("a") + sha("c"), [b"second", b"c"])
        store.add(b"", [])
        assert store.records(sha("c") + sha("a") + sha("b")) == "c,first,\u00e9b"
        assert store.longest == len(b"second")
        with pytest.raises(LookupError, match="1 of 2 records have no stored text"):
            store.records(sha("a") + sha("unknown"))
    assert (tmp_path / FILE_NAME).is_file()  # on disk in the given (scratch) directory, not in memory


def test_the_store_refuses_texts_that_do_not_match_the_digests(tmp_path: Path) -> None:
    with RecordTexts(str(tmp_path)) as store, pytest.raises(ValueError, match="2 texts for 1 digests"):
        store.add(sha("a"), [b"a", b"b"])


@pytest.mark.parametrize(("longest", "expected"), [(10, 100), (64, 100), (129, 50), (10_000, 1)])
def test_requests_of_texts_are_no_larger_than_requests_of_hex(
    tmp_path: Path, longest: int, expected: int
) -> None:
    with RecordTexts(str(tmp_path)) as store:
        store.add(sha("x"), [b"x" * longest])
        assert store.records_per_request(100) == expected
