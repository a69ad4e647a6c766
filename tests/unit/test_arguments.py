"""The argument checks shared by the operators: literal at parse time, rendered at run time."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.arguments import (
    ascii_number,
    check_literal_arguments,
    checked_arguments,
    duration_seconds,
    has_unrendered_template,
    literal_ad_account_id,
    optional,
    optional_id,
    storage_path,
    whole_number,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.health import match_rate_bound, sent_count

TEXT_RULE = " (a number as text takes the ASCII digits 0-9)"
FULL_WIDTH_100 = "\uff11\uff10\uff10"  # int() reads it as 100
FULL_WIDTH_900 = "\uff19\uff10\uff10"  # float() reads it as 900.0
ARABIC_INDIC_123 = "\u0661\u0662\u0663"


class _XComReference:
    """Stands for ``task.output``: recognised by the methods Airflow resolves references with."""

    def resolve(self) -> None: ...

    def iter_references(self) -> None: ...


@pytest.mark.parametrize(
    "value",
    [
        "{{ ds }}",
        "{% if x %}1{% endif %}",
        ["1", "{{ x }}"],
        {"key": "{{ x }}"},
        {"{{ x }}": 1},
        _XComReference(),
    ],
)
def test_templates_and_xcom_references_are_unrendered(value: Any) -> None:
    assert has_unrendered_template(value)


@pytest.mark.parametrize("value", ["1200", 5, None, ["1", "2"], {"a": "b"}, ("x",)])
def test_literals_are_rendered(value: Any) -> None:
    assert not has_unrendered_template(value)


@pytest.mark.parametrize(("value", "number"), [(0, 0), (1200, 1200), ("1200", 1200), (" 7 ", 7)])
def test_whole_number_takes_ints_and_ascii_digits(value: Any, number: int) -> None:
    assert whole_number(value, "size") == number


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("²", TEXT_RULE),  # str.isdigit() says yes, int() refuses
        (FULL_WIDTH_100, TEXT_RULE),
        (ARABIC_INDIC_123, TEXT_RULE),
        ("1_000", TEXT_RULE),
        ("-1", TEXT_RULE),
        ("", TEXT_RULE),
        (-1, ""),
        (1.5, ""),
        (True, ""),
        (None, ""),
    ],
)
def test_whole_number_names_the_argument_and_what_is_allowed(value: Any, rule: str) -> None:
    expected = f"Invalid argument 'size': expected a whole number >= 0, got {value!r}{rule}"
    with pytest.raises(PinterestInvalidArgumentError, match=f"^{re.escape(expected)}$"):
        whole_number(value, "size")


@pytest.mark.parametrize(("value", "number"), [("900", 900.0), (" 0.5 ", 0.5), ("1e3", 1000.0)])
def test_ascii_number_reads_numbers_written_in_ascii(value: str, number: float) -> None:
    assert ascii_number(value) == number


@pytest.mark.parametrize(
    "value",
    [
        FULL_WIDTH_900,
        "\u0660.\u0665",  # Arabic-Indic 0.5
        "soon",
        3,
        None,
    ],
)
def test_ascii_number_leaves_anything_else_for_the_check_to_refuse(value: Any) -> None:
    assert ascii_number(value) is value


@pytest.mark.parametrize(
    ("value", "seconds"), [(timedelta(minutes=15), 900.0), (900, 900.0), (0.5, 0.5), ("900", 900.0)]
)
def test_duration_seconds_takes_timedeltas_numbers_and_ascii_text(value: Any, seconds: float) -> None:
    assert duration_seconds(value, "timeout") == seconds


@pytest.mark.parametrize("value", [FULL_WIDTH_900, "inf", "nan", "soon", 0, timedelta(0), True])
def test_duration_seconds_names_the_argument_and_what_is_allowed(value: Any) -> None:
    expected = f"Invalid argument 'timeout': expected a duration > 0 seconds, got {value!r}"
    with pytest.raises(PinterestInvalidArgumentError, match=f"^{re.escape(expected)}$"):
        duration_seconds(value, "timeout")


def test_optional_lets_none_through_and_checks_the_rest() -> None:
    check = optional(whole_number)
    assert check(None, "size") is None
    assert check("3", "size") == 3
    with pytest.raises(PinterestInvalidArgumentError, match="'size': expected a whole number"):
        check(FULL_WIDTH_100, "size")


@pytest.mark.parametrize(("value", "checked"), [(None, None), ("", None), ("549755885175", "549755885175")])
def test_optional_id_is_an_id_or_none_when_empty(value: Any, checked: str | None) -> None:
    assert optional_id(value, "ad_account_id") == checked


def test_optional_id_refuses_non_ascii_digits() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="'ad_account_id': expected a numeric id"):
        optional_id(FULL_WIDTH_100, "ad_account_id")


def test_literal_ad_account_id_waits_for_templates_and_checks_literals() -> None:
    assert literal_ad_account_id("{{ var.value.account }}") is None
    assert literal_ad_account_id(" 42 ") == "42"
    with pytest.raises(PinterestInvalidArgumentError, match="'ad_account_id'"):
        literal_ad_account_id("account")


@pytest.mark.parametrize("value", ["", "  ", "None", None])
def test_storage_path_refuses_empty_and_none_renderings(value: Any) -> None:
    check = storage_path("the snapshot", "s3://bucket/state.json")
    expected = (
        f"'state_path': rendered as {str(value).strip()!r}: give the path or URI of the snapshot, e.g. "
    )
    with pytest.raises(PinterestInvalidArgumentError, match=re.escape(expected)):
        check(value, "state_path")


def test_storage_path_keeps_the_value_as_given() -> None:
    value = ["not", "a", "str"]  # e.g. an ObjectStoragePath: returned as is, not as its text
    assert storage_path("the snapshot", "s3://b/k")(value, "state_path") is value


class _Task:
    def __init__(self, **arguments: Any) -> None:
        self.__dict__.update(arguments)


def test_literal_arguments_are_checked_at_parse_time_and_templates_wait() -> None:
    checks = {"min_reach": whole_number, "timeout": duration_seconds, "unset": whole_number}
    check_literal_arguments(_Task(min_reach="{{ params.n }}", timeout=60), checks)  # nothing to refuse yet
    with pytest.raises(PinterestInvalidArgumentError, match="'min_reach'"):
        check_literal_arguments(_Task(min_reach="²", timeout=60), checks)


def test_checked_arguments_are_the_rendered_values_normalised() -> None:
    task = _Task(min_reach="1200", timeout="90")
    assert checked_arguments(task, {"min_reach": whole_number, "timeout": duration_seconds}) == {
        "min_reach": 1200,
        "timeout": 90.0,
    }
    task.min_reach = FULL_WIDTH_100
    with pytest.raises(PinterestInvalidArgumentError, match="'min_reach'"):
        checked_arguments(task, {"min_reach": whole_number})


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (sent_count, FULL_WIDTH_100),
        (sent_count, {"added": "²"}),
        (match_rate_bound, "\uff10.\uff15"),  # full-width 0.5: float() reads it
    ],
)
def test_health_guards_take_ascii_numbers_only(check: Any, value: Any) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=r"^Invalid argument 'guard': expected a "):
        check(value, "guard")
