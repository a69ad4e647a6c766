"""``ids``: Pinterest ids checked before any HTTP call (``pinterest_ids``' flattening and de-duplication are
also exercised by ``test_audience_rules``)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.ids import flatten, pinterest_id, pinterest_ids


@pytest.mark.parametrize(
    ("value", "text"), [("123", "123"), (123, "123"), (" 42\n", "42"), ("9" * 18, "9" * 18), (0, "0")]
)
def test_an_id_is_a_string_of_ascii_digits(value: Any, text: str) -> None:
    assert pinterest_id(value, "customer_list_id") == text


@pytest.mark.parametrize(
    "value", ["", "12a", "-1", "1.0", 1.0, True, None, "9" * 19, "\u0661\u0662\u0663", "\uff11\uff12"]
)
def test_anything_else_is_refused_naming_the_argument(value: Any) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        pinterest_id(value, "audience_id")
    assert raised.value.argument == "audience_id"
    assert "expected a numeric id of 1-18 digits" in str(raised.value)


def test_a_list_of_ids_needs_one_unless_empty_is_allowed() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="expected at least one id") as raised:
        pinterest_ids([[]], "ad_account_ids")
    assert raised.value.argument == "ad_account_ids"


def test_a_bad_id_in_a_list_names_the_argument() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="got 'x'") as raised:
        pinterest_ids(["1", ["x"]], "include")
    assert raised.value.argument == "include"


def test_flatten_keeps_the_leaves_in_order() -> None:
    assert flatten([1, (2, [3, [4]]), "56"]) == [1, 2, 3, 4, "56"]
    assert flatten("7") == ["7"]
