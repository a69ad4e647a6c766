"""PinterestUpdateAdGroupAudiencesOperator without HTTP: argument checks and the targeting merge.

See tests/integration/test_ad_group_operator.py for the operator against the emulator.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.ad_group import (
    PinterestUpdateAdGroupAudiencesOperator,
    merged_targeting,
)

SPEC = {"GEO": ["US"], "LOCALE": ["en-US"], "AUDIENCE_INCLUDE": ["1", "2"], "AUDIENCE_EXCLUDE": ["9"]}


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (
            dict(ad_group_ids="1", include=["2"], mode="merge"),
            "'mode': expected one of add, replace, remove, got 'merge'",
        ),
        (
            dict(ad_group_ids="1"),
            "'include': pass include and/or exclude (audience ids); include=[] with mode='replace' makes an "
            "open audience",
        ),
        (dict(ad_group_ids=[], include=["2"]), "'ad_group_ids': expected at least one id, got none"),
        (
            dict(ad_group_ids="group", include=["2"]),
            "'ad_group_ids': expected a numeric id of 1-18 digits, got 'group'",
        ),
        (
            dict(ad_group_ids="1", exclude=["audience"]),
            "'exclude': expected a numeric id of 1-18 digits, got 'audience'",
        ),
        (
            dict(ad_group_ids="1", include=["2"], dry_run="yes"),
            "'dry_run': expected True or False, got 'yes'",
        ),
        (
            dict(ad_group_ids="1", include=["2", "3"], exclude=["3"]),
            "'exclude': ['3'] also appear in include; an audience cannot be both included and excluded",
        ),
    ],
)
def test_literal_arguments_fail_when_the_dag_is_parsed(arguments: dict[str, Any], problem: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=f"^{re.escape(f'Invalid argument {problem}')}$"):
        PinterestUpdateAdGroupAudiencesOperator(task_id="t", **arguments)


def test_rendered_ids_are_checked_before_any_call() -> None:
    operator = PinterestUpdateAdGroupAudiencesOperator(
        task_id="t", ad_group_ids="1", include="{{ params.include }}", exclude=["3"]
    )
    operator.include = ["2", ["3"]]  # what rendering produced

    with pytest.raises(PinterestInvalidArgumentError, match=r"'exclude': \['3'\] also appear in include"):
        operator.execute({})


@pytest.mark.parametrize(
    ("mode", "include", "exclude", "expected"),
    [
        ("add", ["2", "3"], None, {**SPEC, "AUDIENCE_INCLUDE": ["1", "2", "3"]}),
        ("add", None, ["8"], {**SPEC, "AUDIENCE_EXCLUDE": ["9", "8"]}),
        ("remove", ["1"], ["9"], {"GEO": ["US"], "LOCALE": ["en-US"], "AUDIENCE_INCLUDE": ["2"]}),
        ("replace", ["5"], None, {**SPEC, "AUDIENCE_INCLUDE": ["5"]}),
        ("replace", [], None, {"GEO": ["US"], "LOCALE": ["en-US"], "AUDIENCE_EXCLUDE": ["9"]}),
        ("replace", [], [], {"GEO": ["US"], "LOCALE": ["en-US"]}),
    ],
)
def test_merged_targeting_changes_only_the_audience_lists(
    mode: str, include: list[str] | None, exclude: list[str] | None, expected: dict[str, Any]
) -> None:
    assert merged_targeting(SPEC, include, exclude, mode) == expected
    assert SPEC["AUDIENCE_INCLUDE"] == ["1", "2"]  # the input is not modified


def test_merged_targeting_of_an_ad_group_without_a_spec() -> None:
    assert merged_targeting(None, ["4"], None, "add") == {"AUDIENCE_INCLUDE": ["4"]}
    assert merged_targeting(None, ["4"], None, "remove") == {}
