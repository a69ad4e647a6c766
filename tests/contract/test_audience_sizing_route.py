"""The emulator's ``POST /ad_accounts/{id}/ad_groups/audience_sizing`` against Pinterest's OpenAPI
description: every request field the spec lists is accepted, the answer has exactly the spec's properties,
and refusals are the spec's ``Error`` with its 400 example code."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.emulator_api import ACCOUNT, Api, api_fixture, server_fixture
from tests.openapi_spec import spec_dict

SIZING = f"/ad_accounts/{ACCOUNT}/ad_groups/audience_sizing"
EVERY_FIELD = {
    "auto_targeting_enabled": False,
    "creative_types": ["REGULAR", "VIDEO"],
    "keywords": [{"match_type": "BROAD", "value": "running shoes"}],
    "placement_group": "SEARCH",
    "product_group_ids": ["23423422123"],
    "targeting_spec": {"GEO": ["US"], "AGE_BUCKET": ["25-34"]},
}

server = server_fixture()
api = api_fixture(Api)


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec_dict()["components"]["schemas"][name]
    return schema


def test_the_body_uses_every_field_the_spec_lists() -> None:
    assert set(EVERY_FIELD) == set(_schema("AdGroupAudienceSizingRequest")["properties"])


@pytest.mark.parametrize("body", [EVERY_FIELD, {"targeting_spec": {"GEO": ["US"]}}, {}])
def test_an_answer_has_exactly_the_specs_bounds(api: Api, body: dict[str, Any]) -> None:
    answer = api.call("POST", SIZING, json=body).json()  # request and answer validated against the spec

    assert set(answer) == set(_schema("AdGroupAudienceSizingResponse")["properties"])
    assert 0 < answer["audience_size_lower_bound"] < answer["audience_size_upper_bound"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"placement_group": "EVERYWHERE"}, "placement_group"),
        ({"auto_targeting_enabled": "yes"}, "auto_targeting_enabled"),
        ({"targeting_spec": {"AUDIENCE_INCLUDE": "123"}}, "targeting_spec.AUDIENCE_INCLUDE"),
        ({"targeting_spec": ["US"]}, "targeting_spec"),
    ],
)
def test_a_bad_field_is_the_specs_400(api: Api, body: dict[str, Any], field: str) -> None:
    example = spec_dict()["paths"]["/ad_accounts/{ad_account_id}/ad_groups/audience_sizing"]["post"]
    example_code = example["responses"]["400"]["content"]["application/json"]["example"]["code"]

    error = api.call("POST", SIZING, expect=400, json=body).json()  # answer validated as the spec's Error

    assert error["code"] == example_code
    assert field in error["message"]
