"""What a customer-list answer's ``exceptions`` field counts as (codes and counts, never values)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.list_writer import exception_codes


@pytest.mark.parametrize(
    ("exceptions", "expected"),
    [
        (None, {}),
        ({}, {}),
        ({"2662": 3, "2663": 1}, {"2662": 3, "2663": 1}),
        ({"2662": ["a@x.com", "b@x.com"]}, {"2662": 2}),
        ({"invalid": {"first": 1}, "flag": True}, {"invalid": 1, "flag": 1}),
        ([{"code": 7, "message": "bad record x@y.com"}, {"code": 7}, "oops"], {"7": 2, "unknown": 1}),
        ("something went wrong", {"unknown": 1}),
    ],
)
def test_exceptions_are_counted_by_code(exceptions: Any, expected: dict[str, int]) -> None:
    counted = exception_codes(exceptions)
    assert dict(counted) == expected
    assert "x.com" not in repr(counted)
