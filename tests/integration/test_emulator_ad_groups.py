"""Emulator: seeded ad groups per declared account, filters, PATCH with item exceptions, audience sizing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.emulator_api import ACCOUNT, OTHER_ACCOUNT, Api, api_fixture, server_fixture

AD_GROUPS = f"/ad_accounts/{ACCOUNT}/ad_groups"
SIZING = f"{AD_GROUPS}/audience_sizing"


def engagement_body(name: str) -> dict[str, Any]:
    rule = {"engagement_domain": ["www.example.com"], "engagement_type": "click"}
    return {"audience_type": "ENGAGEMENT", "name": name, "rule": rule}


class AdGroupApi(Api):
    """The shared client plus the requests these tests make again and again."""

    def engagement_audience(self, name: str = "engaged") -> str:
        return str(
            self.call("POST", f"/ad_accounts/{ACCOUNT}/audiences", json=engagement_body(name)).json()["id"]
        )

    def groups(self, **params: Any) -> list[dict[str, Any]]:
        return self.call("GET", AD_GROUPS, params=params).json()["items"]  # type: ignore[no-any-return]


server = server_fixture()
api = api_fixture(AdGroupApi)


def test_three_seeded_ad_groups_with_realistic_targeting(api: AdGroupApi) -> None:
    groups = api.groups()
    assert len(groups) == 3
    assert {g["status"] for g in groups} == {"ACTIVE", "PAUSED"}
    for group in groups:
        assert group["ad_account_id"] == ACCOUNT
        assert {"GEO", "AGE_BUCKET", "GENDER", "LOCALE", "INTEREST"} <= group["targeting_spec"].keys()
    one = api.call("GET", f"{AD_GROUPS}/{groups[0]['id']}").json()
    assert one == groups[0]


def test_each_declared_account_gets_its_own_seeded_groups(api: AdGroupApi) -> None:
    other = [g["id"] for g in api.call("GET", f"/ad_accounts/{OTHER_ACCOUNT}/ad_groups").json()["items"]]
    mine = [g["id"] for g in api.groups()]
    assert len(other) == 3
    assert not set(other) & set(mine)
    api.call("GET", f"{AD_GROUPS}/{other[0]}", expect=404)
    assert api.call("GET", "/ad_accounts/42/ad_groups", expect=403).json()["code"] == 29


def test_filters_and_pagination(api: AdGroupApi) -> None:
    groups = api.groups()
    active = api.groups(entity_statuses=["ACTIVE"])
    assert [g["id"] for g in active] == [g["id"] for g in groups if g["status"] == "ACTIVE"]
    assert api.groups(entity_statuses=["ARCHIVED"]) == []
    assert [g["id"] for g in api.groups(ad_group_ids=[groups[1]["id"]])] == [groups[1]["id"]]
    campaign = groups[0]["campaign_id"]
    assert [g["id"] for g in api.groups(campaign_ids=[campaign])] == [
        g["id"] for g in groups if g["campaign_id"] == campaign
    ]
    first = api.call("GET", AD_GROUPS, params={"page_size": 2}).json()
    second = api.call("GET", AD_GROUPS, params={"page_size": 2, "bookmark": first["bookmark"]}).json()
    assert [g["id"] for g in first["items"] + second["items"]] == [g["id"] for g in groups]
    assert second["bookmark"] is None
    bad = api.call("GET", AD_GROUPS, expect=400, params={"entity_statuses": ["LIVE"]}).json()
    # ad_groups/list's 400 example: {"code": 400, "message": "Invalid ad account group parameters."}
    assert (bad["code"], "entity_statuses" in bad["message"]) == (400, True)


def test_patch_replaces_fields_and_targeting_wholesale(api: AdGroupApi) -> None:
    group = api.groups()[0]
    audience = api.engagement_audience()
    spec = {"GEO": ["US"], "AUDIENCE_INCLUDE": [audience]}
    result = api.call(
        "PATCH", AD_GROUPS, json=[{"id": group["id"], "targeting_spec": spec, "name": "renamed"}]
    )
    [item] = result.json()["items"]
    assert item["exceptions"] == []
    assert item["data"]["targeting_spec"] == spec
    stored = api.call("GET", f"{AD_GROUPS}/{group['id']}").json()
    assert (stored["targeting_spec"], stored["name"], stored["budget_in_micro_currency"]) == (
        spec,
        "renamed",
        group["budget_in_micro_currency"],
    )
    paused = api.call("PATCH", AD_GROUPS, json=[{"id": group["id"], "status": "PAUSED"}]).json()
    assert paused["items"][0]["data"]["summary_status"] == "PAUSED"


def test_patch_reports_per_item_exceptions_and_leaves_failed_items_alone(api: AdGroupApi) -> None:
    first, second, third = api.groups()
    archived = api.engagement_audience("gone")
    api.call("PATCH", f"/ad_accounts/{ACCOUNT}/audiences/{archived}", json={"operation_type": "REMOVE"})
    good = api.engagement_audience("fine")
    body = [
        {"id": first["id"], "targeting_spec": {"AUDIENCE_INCLUDE": [good]}},
        {"id": "999999"},
        {"id": second["id"], "targeting_spec": {"AUDIENCE_EXCLUDE": ["123456"]}},
        {"id": third["id"], "targeting_spec": {"AUDIENCE_INCLUDE": [archived]}},
    ]
    items = api.call("PATCH", AD_GROUPS, json=body).json()["items"]
    assert len(items) == 4
    assert items[0]["exceptions"] == []
    assert items[0]["data"]["targeting_spec"] == {"AUDIENCE_INCLUDE": [good]}
    for item, words in zip(
        items[1:], (["999999"], ["AUDIENCE_EXCLUDE", "123456"], ["ARCHIVED", archived]), strict=True
    ):
        assert "data" not in item
        [exception] = item["exceptions"]
        assert isinstance(exception["code"], int)
        assert all(word in exception["message"] for word in words)
    assert api.call("GET", f"{AD_GROUPS}/{second['id']}").json()["targeting_spec"] == second["targeting_spec"]
    assert api.call("GET", f"{AD_GROUPS}/{third['id']}").json()["targeting_spec"] == third["targeting_spec"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "1"}, "array"),
        ([], "array"),
        ([{"id": "1"}] * 31, "array"),
        ([{"name": "no id"}], "[0].id"),
        ([{"id": "abc"}], "[0].id"),
        ([{"id": "1", "targeting_spec": {"AUDIENCE_INCLUDE": "123"}}], "[0].targeting_spec.AUDIENCE_INCLUDE"),
        ([{"id": "1"}, {"id": "2", "status": "LIVE"}], "[1].status"),
        ([{"id": "1", "budget": 5}], "[0].budget"),
    ],
)
def test_patch_rejects_malformed_bodies(api: AdGroupApi, body: Any, field: str) -> None:
    error = api.call("PATCH", AD_GROUPS, expect=400, json=body).json()
    assert error["code"] == 1
    assert field in error["message"]


def test_audience_sizing_is_deterministic_and_uses_audience_sizes(api: AdGroupApi) -> None:
    body = {"targeting_spec": {"GEO": ["US"], "AGE_BUCKET": ["25-34"]}, "placement_group": "ALL"}
    first = api.call("POST", SIZING, json=body).json()
    assert api.call("POST", SIZING, json=body).json() == first
    assert 0 < first["audience_size_lower_bound"] < first["audience_size_upper_bound"]

    audience = api.engagement_audience()
    api.control("POST", "/clock/advance", json={"seconds": 10})
    size = api.call("GET", f"/ad_accounts/{ACCOUNT}/audiences/{audience}").json()["size"]
    narrowed = api.call("POST", SIZING, json={"targeting_spec": {"AUDIENCE_INCLUDE": [audience]}}).json()
    assert narrowed["audience_size_lower_bound"] <= size <= narrowed["audience_size_upper_bound"]


def test_audience_sizing_answers_the_spec_errors(api: AdGroupApi) -> None:
    # audience_sizing's examples: 403 {"code": 403, "message": "You don't have access to the requested
    # audience list or product group."}; 400 {"code": 400, "message": "Invalid ad group audience sizing ..."}
    elsewhere = api.call("POST", f"/ad_accounts/{OTHER_ACCOUNT}/audiences", json=engagement_body("theirs"))
    for audience_id in ("4040", elsewhere.json()["id"]):
        inaccessible = api.call(
            "POST", SIZING, expect=403, json={"targeting_spec": {"AUDIENCE_INCLUDE": [audience_id]}}
        ).json()
        assert inaccessible["code"] == 403
        assert "don't have access" in inaccessible["message"]
        assert audience_id in inaccessible["message"]
    archived = api.engagement_audience("archived")
    api.call("PATCH", f"/ad_accounts/{ACCOUNT}/audiences/{archived}", json={"operation_type": "REMOVE"})
    refused = api.call("POST", SIZING, expect=400, json={"targeting_spec": {"AUDIENCE_EXCLUDE": [archived]}})
    assert (refused.json()["code"], "ARCHIVED" in refused.json()["message"]) == (400, True)
    unknown_field = api.call("POST", SIZING, expect=400, json={"keywordz": []}).json()
    assert (unknown_field["code"], "keywordz" in unknown_field["message"]) == (400, True)
