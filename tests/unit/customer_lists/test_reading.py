"""``customer_lists.reading``: the read phase, one source read once for every list, and the counts that stop
an upload before its first API call."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.reading import check_counts, read_typed_digests
from airflow_provider_pinterest_audiences.customer_lists.records import (
    DIGEST_SIZE,
    IdentifierType,
    InvalidReason,
    RecordCounts,
)
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

LOG = logging.getLogger(__name__)
MAID = "8d3f6a4e-1b2c-4d5e-9f60-7a8b9c0d1e2f"


def plan(
    source: CustomerSource, list_type: IdentifierType = IdentifierType.EMAIL, **kwargs: Any
) -> UploadPlan:
    return UploadPlan(ad_account_id="1", source=source, list_type=list_type, hashing_processes=1, **kwargs)


def digests(packed: list[bytes]) -> list[str]:
    joined = b"".join(packed)
    return [joined[start : start + DIGEST_SIZE].hex() for start in range(0, len(joined), DIGEST_SIZE)]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class CountingSource(CustomerSource):
    """A ``CustomerSource`` that counts how often it is opened."""

    opened = 0

    def column_chunks(self, columns: Any) -> Any:
        CountingSource.opened += 1
        return super().column_chunks(columns)


def test_one_source_is_read_once_and_each_column_goes_to_its_own_sink() -> None:
    rows = [{"email": "A@example.com", "gaid": MAID}, {"email": "b@example.com", "gaid": ""}]
    CountingSource.opened = 0
    plans = {
        "EMAIL": plan(CountingSource(source=rows, column="email")),
        "MAID": plan(CountingSource(source=rows, column="gaid"), IdentifierType.MAID, max_invalid_ratio=0.0),
    }
    sinks: dict[str, list[bytes]] = {"EMAIL": [], "MAID": []}
    counts = read_typed_digests(plans, {key: sink.append for key, sink in sinks.items()}, LOG)
    assert CountingSource.opened == 1
    assert sorted(digests(sinks["EMAIL"])) == sorted([sha("a@example.com"), sha("b@example.com")])
    assert digests(sinks["MAID"]) == [sha(MAID)]
    # A customer without a device id is counted as missing but not held against max_invalid_ratio.
    assert (counts["MAID"].valid, counts["MAID"].invalid) == (1, Counter({InvalidReason.MISSING: 1}))


@pytest.mark.parametrize(
    ("source", "counts", "argument", "problem"),
    [
        (CustomerSource(source="s3://b/x.csv"), RecordCounts(), "source", "it holds no rows"),
        (
            CustomerSource(sql="select 1", sql_conn_id="db"),
            RecordCounts(read=2, invalid=Counter({InvalidReason.MALFORMED_EMAIL: 2})),
            "sql",
            "none of its 2 rows holds a valid EMAIL identifier (malformed_email=2); check list_type",
        ),
        (
            CustomerSource(source="s3://b/x.csv"),
            RecordCounts(read=4, valid=1, invalid=Counter({InvalidReason.MALFORMED_EMAIL: 3})),
            "max_invalid_ratio",
            "3 of 4 rows (75.0%) are invalid",
        ),
    ],
)
def test_bad_counts_stop_the_upload_naming_the_argument(
    source: CustomerSource, counts: RecordCounts, argument: str, problem: str
) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        check_counts(plan(source), counts)
    assert raised.value.argument == argument
    assert problem in str(raised.value)


def test_with_several_types_blank_cells_are_left_out_of_the_ratio() -> None:
    counts = RecordCounts(
        read=10, valid=4, invalid=Counter({InvalidReason.MISSING: 4, InvalidReason.MALFORMED_EMAIL: 2})
    )
    email = plan(CustomerSource(source=[], column="email"))
    check_counts(email, counts, blank_is_invalid=False)  # 2 of 6 non-blank cells: within the default 50%
    with pytest.raises(PinterestInvalidArgumentError, match="2 of 6 non-blank EMAIL cells"):
        check_counts(
            plan(CustomerSource(source=[], column="email"), max_invalid_ratio=0.3),
            counts,
            blank_is_invalid=False,
        )
    with pytest.raises(PinterestInvalidArgumentError, match="6 of 10 rows"):
        check_counts(email, counts)
