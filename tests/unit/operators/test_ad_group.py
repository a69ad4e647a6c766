"""PinterestUpdateAdGroupAudiencesOperator without HTTP: argument checks and the targeting merge.

See tests/integration/test_ad_group_operator.py for the operator against the emulator.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import responses
from responses import matchers

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.ad_group import (
    PinterestLowReachError,
    PinterestUpdateAdGroupAudiencesOperator,
    merged_targeting,
)
from tests.conftest import AD_ACCOUNT_ID, MOCK_BASE_URL

TEXT_RULE = " (a number as text takes the ASCII digits 0-9)"
FULL_WIDTH_100 = "\uff11\uff10\uff10"  # int() reads it as 100

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
        (
            dict(ad_group_ids="1", include=["2"], min_reach=-1),
            "'min_reach': expected a whole number >= 0, got -1",
        ),
        (
            dict(ad_group_ids="1", include=["2"], min_reach=1e5),
            "'min_reach': expected a whole number >= 0, got 100000.0",
        ),
        (
            dict(ad_group_ids="1", include=["2"], min_reach=True),
            "'min_reach': expected a whole number >= 0, got True",
        ),
        (
            dict(ad_group_ids="1", include=["2"], min_reach="many"),
            "'min_reach': expected a whole number >= 0, got 'many'" + TEXT_RULE,
        ),
        (  # str.isdigit() accepts it, int() does not: no raw ValueError at DAG parse
            dict(ad_group_ids="1", include=["2"], min_reach="²"),
            "'min_reach': expected a whole number >= 0, got '²'" + TEXT_RULE,
        ),
        (  # full-width digits: int() would read them as 100
            dict(ad_group_ids="1", include=["2"], min_reach=FULL_WIDTH_100),
            f"'min_reach': expected a whole number >= 0, got {FULL_WIDTH_100!r}" + TEXT_RULE,
        ),
    ],
)
def test_literal_arguments_fail_when_the_dag_is_parsed(arguments: dict[str, Any], problem: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=f"^{re.escape(f'Invalid argument {problem}')}$"):
        PinterestUpdateAdGroupAudiencesOperator(task_id="t", **arguments)


@pytest.mark.parametrize(("min_reach", "checked"), [(None, None), (0, 0), (50_000, 50_000), ("1200", 1200)])
def test_min_reach_takes_a_whole_number_or_none(min_reach: Any, checked: int | None) -> None:
    operator = PinterestUpdateAdGroupAudiencesOperator(
        task_id="t", ad_group_ids="1", include=["2"], min_reach=min_reach
    )

    assert operator.checked_arguments()["min_reach"] == checked


def test_a_templated_min_reach_is_checked_once_rendered() -> None:
    operator = PinterestUpdateAdGroupAudiencesOperator(
        task_id="t", ad_group_ids="1", include=["2"], min_reach="{{ params.min_reach }}"
    )
    assert "min_reach" in operator.template_fields
    operator.min_reach = "-5"  # what rendering produced

    with pytest.raises(
        PinterestInvalidArgumentError, match="'min_reach': expected a whole number >= 0, got '-5'"
    ):
        operator.execute({})


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


@pytest.mark.usefixtures("pinterest_conn")
@responses.activate
def test_min_reach_sizes_the_new_targeting_with_the_ad_groups_own_settings() -> None:
    ad_groups = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/ad_groups"
    group = {
        "id": "1",
        "targeting_spec": {"GEO": ["US"]},
        "placement_group": "SEARCH",
        "auto_targeting_enabled": False,
    }
    responses.get(f"{ad_groups}/1", json=group)
    sizing = responses.post(
        f"{ad_groups}/audience_sizing",
        json={"audience_size_lower_bound": 10_000, "audience_size_upper_bound": 20_000},
        match=[
            matchers.json_params_matcher(
                {
                    "targeting_spec": {"GEO": ["US"], "AUDIENCE_INCLUDE": ["2"]},
                    "placement_group": "SEARCH",
                    "auto_targeting_enabled": False,
                }
            )
        ],
    )
    operator = PinterestUpdateAdGroupAudiencesOperator(
        task_id="t", ad_account_id=AD_ACCOUNT_ID, ad_group_ids="1", include=["2"], min_reach=10_001
    )

    with pytest.raises(PinterestLowReachError) as raised:
        operator.execute({})

    assert str(raised.value) == (
        "min_reach=10001: expected an estimated monthly reach of at least 10,001 people (the lower bound of "
        "Pinterest's audience sizing), saw ad group 1 10,000-20,000. No ad group was updated."
    )
    assert sizing.call_count == 1
    assert [call.request.method for call in responses.calls] == ["GET", "POST"]
