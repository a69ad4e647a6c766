"""Emulator: audience endpoints, per-type rules, lifecycle, sizes, archiving and sharing."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.emulator.models import record_matches
from tests.integration.emulator_api import ACCOUNT, OTHER_ACCOUNT, Api, api_fixture, server_fixture

OTHER = OTHER_ACCOUNT
AUDIENCES = f"/ad_accounts/{ACCOUNT}/audiences"
ENGAGED = {"engagement_domain": ["www.example.com"], "engagement_type": "click"}
BUSINESS = "729090764583391194"


class AudienceApi(Api):
    """The shared client plus the requests these tests make again and again."""

    def customer_list(self, size: int, account: str = ACCOUNT) -> tuple[str, int]:
        """A new list of ``size`` hashed emails and its expected matched count."""
        records = [hashlib.sha256(f"{time.perf_counter_ns()}-{i}".encode()).hexdigest() for i in range(size)]
        body = {"name": f"list of {size}", "records": ",".join(records)}
        list_id = self.call("POST", f"/ad_accounts/{account}/customer_lists", json=body).json()["id"]
        return list_id, sum(1 for record in records if record_matches(record, 0.7))

    def audience(self, audience_type: str, rule: dict[str, Any], name: str = "aud") -> dict[str, Any]:
        body = {"audience_type": audience_type, "name": name, "rule": rule}
        return self.call("POST", AUDIENCES, json=body).json()  # type: ignore[no-any-return]

    def status(self, audience_id: str) -> str:
        return self.call("GET", f"{AUDIENCES}/{audience_id}").json()["status"]  # type: ignore[no-any-return]


server = server_fixture()
api = api_fixture(AudienceApi)


def test_customer_list_audience_lifecycle_and_size(api: AudienceApi) -> None:
    list_id, expected = api.customer_list(300)
    assert expected >= 100
    created = api.audience("CUSTOMER_LIST", {"customer_list_id": list_id}, name="Buyers")
    assert (created["status"], created["size"], created["type"]) == ("INITIALIZING", 0, "audience")
    assert created["audience_type"] == "CUSTOMER_LIST"
    assert created["rule"] == {"customer_list_id": list_id}
    api.control("POST", "/clock/advance", json={"seconds": 1.0})
    assert api.status(created["id"]) == "PROCESSING"
    api.control("POST", "/clock/advance", json={"seconds": 2.0})
    ready = api.call("GET", f"{AUDIENCES}/{created['id']}").json()
    assert (ready["status"], ready["size"]) == ("READY", expected)


def test_sped_up_clock_makes_an_audience_ready_within_a_second(api: AudienceApi) -> None:
    list_id, _ = api.customer_list(300)
    audience_id = api.audience("CUSTOMER_LIST", {"customer_list_id": list_id})["id"]
    api.control("POST", "/faults", json={"clock_speed": 100})
    deadline = time.monotonic() + 2
    while api.status(audience_id) != "READY":
        assert time.monotonic() < deadline, "the audience never became READY"
        time.sleep(0.01)


def test_customer_list_audience_is_too_small_below_100_matched(api: AudienceApi) -> None:
    list_id, expected = api.customer_list(110)
    assert expected < 100
    audience_id = api.audience("CUSTOMER_LIST", {"customer_list_id": list_id})["id"]
    api.control("POST", "/clock/advance", json={"seconds": 10})
    audience = api.call("GET", f"{AUDIENCES}/{audience_id}").json()
    assert (audience["status"], audience["size"]) == ("TOO_SMALL", expected)


def test_other_types_get_deterministic_sizes(api: AudienceApi) -> None:
    seed_list, _ = api.customer_list(300)
    seed = api.audience("CUSTOMER_LIST", {"customer_list_id": seed_list})["id"]
    visitor = api.audience(
        "VISITOR",
        {"visitor_source_id": "2612345678", "retention_days": 30, "event": "checkout", "lookback_window": 30},
    )
    engagement = api.audience("ENGAGEMENT", {"engagement_domain": ["www.example.com"], "engager_type": 1})
    actalike = api.audience("ACTALIKE", {"seed_id": [seed], "country": "US", "percentage": 5})
    assert visitor["rule"]["lookback_window"] == 30
    api.control("POST", "/clock/advance", json={"seconds": 5})
    sizes = {
        a["id"]: api.call("GET", f"{AUDIENCES}/{a['id']}").json() for a in (visitor, engagement, actalike)
    }
    assert all(item["status"] == "READY" for item in sizes.values())
    assert sizes[visitor["id"]]["size"] >= 1000
    assert sizes[engagement["id"]]["size"] >= 1000
    assert sizes[actalike["id"]]["size"] >= 5_000_000
    again = api.audience("ACTALIKE", {"seed_id": [seed], "country": "US", "percentage": 5}, name="twin")
    api.control("POST", "/clock/advance", json={"seconds": 5})
    assert api.call("GET", f"{AUDIENCES}/{again['id']}").json()["size"] == sizes[actalike["id"]]["size"]


def test_list_paginates_and_get_unknown_is_404(api: AudienceApi) -> None:
    ids = [api.audience("ENGAGEMENT", ENGAGED, name=f"engaged {i}")["id"] for i in range(5)]
    first = api.call("GET", AUDIENCES, params={"page_size": 2}).json()
    second = api.call("GET", AUDIENCES, params={"page_size": 2, "bookmark": first["bookmark"]}).json()
    third = api.call("GET", AUDIENCES, params={"page_size": 2, "bookmark": second["bookmark"]}).json()
    assert [a["id"] for page in (first, second, third) for a in page["items"]] == ids
    assert third["bookmark"] is None
    missing = api.call("GET", f"{AUDIENCES}/123", expect=404).json()
    assert missing["code"] == 404
    assert "123" in missing["message"]
    bad = api.call("GET", AUDIENCES, expect=400, params={"ownership_type": "X"}).json()
    # audiences/list's 400 example: {"code": 400, "message": "Invalid ad account audience parameters."}
    assert (bad["code"], "ownership_type" in bad["message"]) == (400, True)


def test_update_then_remove_archives_for_good(api: AudienceApi) -> None:
    list_id, _ = api.customer_list(300)
    other_list, _ = api.customer_list(150)
    audience_id = api.audience("CUSTOMER_LIST", {"customer_list_id": list_id}, name="old")["id"]
    updated = api.call(
        "PATCH",
        f"{AUDIENCES}/{audience_id}",
        json={"name": "new", "description": "renamed", "rule": {"customer_list_id": other_list}},
    ).json()
    assert (updated["name"], updated["description"], updated["rule"]) == (
        "new",
        "renamed",
        {"customer_list_id": other_list},
    )
    removed = api.call("PATCH", f"{AUDIENCES}/{audience_id}", json={"operation_type": "REMOVE"}).json()
    assert removed["status"] == "ARCHIVED"
    api.control("POST", "/clock/advance", json={"seconds": 30})
    api.call("PATCH", f"{AUDIENCES}/{audience_id}", json={"name": "still archived"})
    assert api.status(audience_id) == "ARCHIVED"


def test_forced_statuses_include_unknown_values_and_freeze(api: AudienceApi) -> None:
    audience_id = api.audience("ENGAGEMENT", {**ENGAGED, "engagement_type": "save"})["id"]
    for status in ("SOMETHING_NEW", "ERROR"):
        api.control("POST", f"/audiences/{audience_id}/status", json={"status": status})
        api.control("POST", "/clock/advance", json={"seconds": 30})
        assert api.status(audience_id) == status


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "n", "rule": {}}, "audience_type"),
        ({"audience_type": "LOOKALIKE", "name": "n", "rule": {}}, "audience_type"),
        ({"audience_type": "PERSONA", "name": "n", "rule": {}}, "PERSONA"),
        ({"audience_type": "VISITOR", "rule": {"visitor_source_id": "1"}}, "name"),
        ({"audience_type": "VISITOR", "name": "n"}, "rule"),
        ({"audience_type": "VISITOR", "name": "n", "rule": "all"}, "rule"),
        ({"audience_type": "CUSTOMER_LIST", "name": "n", "rule": {}}, "rule.customer_list_id"),
        (
            {"audience_type": "CUSTOMER_LIST", "name": "n", "rule": {"customer_list_id": "42"}},
            "rule.customer_list_id",
        ),
        ({"audience_type": "VISITOR", "name": "n", "rule": {"retention_days": 30}}, "rule.visitor_source_id"),
        (
            {
                "audience_type": "VISITOR",
                "name": "n",
                "rule": {"visitor_source_id": "1", "retention_days": 541},
            },
            "rule.retention_days",
        ),
        ({"audience_type": "ENGAGEMENT", "name": "n", "rule": {"engager_type": 1}}, "rule.engagement_domain"),
        # AudienceRule: engagement_domain is "**Required** for ENGAGEMENT"; engagement_type is no substitute
        (
            {"audience_type": "ENGAGEMENT", "name": "n", "rule": {"engagement_type": "click"}},
            "rule.engagement_domain",
        ),
        (
            {"audience_type": "ENGAGEMENT", "name": "n", "rule": {**ENGAGED, "engagement_type": "stare"}},
            "rule.engagement_type",
        ),
        (
            {"audience_type": "ACTALIKE", "name": "n", "rule": {"country": "US", "percentage": 1}},
            "rule.seed_id",
        ),
        (
            {
                "audience_type": "ACTALIKE",
                "name": "n",
                "rule": {"seed_id": ["9"], "country": "US", "percentage": 1},
            },
            "rule.seed_id",
        ),
        ({"audience_type": "ENGAGEMENT", "name": "n", "rule": ENGAGED, "x": 1}, "x"),
    ],
)
def test_create_rejects_bad_bodies_naming_the_field(
    api: AudienceApi, body: dict[str, Any], field: str
) -> None:
    error = api.call("POST", AUDIENCES, expect=400, json=body).json()
    assert error["code"] == 1
    assert field in error["message"]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"country": "US", "percentage": 11}, "rule.percentage"),
        ({"country": "US", "percentage": "10"}, "rule.percentage"),
        ({"country": "US"}, "rule.percentage"),
        ({"percentage": 3}, "rule.country"),
    ],
)
def test_actalike_rule_checks(api: AudienceApi, rule: dict[str, Any], field: str) -> None:
    seed = api.audience("ENGAGEMENT", ENGAGED)["id"]
    body = {"audience_type": "ACTALIKE", "name": "n", "rule": {"seed_id": [seed], **rule}}
    assert field in api.call("POST", AUDIENCES, expect=400, json=body).json()["message"]


def test_update_rejects_bad_operation_and_rule(api: AudienceApi) -> None:
    list_id, _ = api.customer_list(10)
    audience_id = api.audience("CUSTOMER_LIST", {"customer_list_id": list_id})["id"]
    bad_op = api.call("PATCH", f"{AUDIENCES}/{audience_id}", expect=400, json={"operation_type": "DELETE"})
    assert "operation_type" in bad_op.json()["message"]
    bad_rule = api.call(
        "PATCH", f"{AUDIENCES}/{audience_id}", expect=400, json={"rule": {"customer_list_id": "5"}}
    )
    assert "rule.customer_list_id" in bad_rule.json()["message"]
    api.call("PATCH", f"{AUDIENCES}/999", expect=404, json={"name": "x"})


def shared_accounts(api: AudienceApi, audience_id: str, account_type: str) -> list[dict[str, Any]]:
    params = {"audience_id": audience_id, "account_type": account_type}
    return api.call("GET", f"{AUDIENCES}/shared/accounts", params=params).json()["items"]  # type: ignore[no-any-return]


def test_sharing_with_accounts_shows_up_as_received(api: AudienceApi) -> None:
    audience_id = api.audience("ENGAGEMENT", ENGAGED, name="shared")["id"]
    undeclared = "777000111"
    shared = api.call(
        "PATCH",
        f"{AUDIENCES}/ad_accounts/shared",
        json={
            "audience_id": audience_id,
            "operation_type": "SHARE",
            "recipient_account_ids": [OTHER, undeclared],
        },
    ).json()
    assert shared["audience_id"] == audience_id
    assert shared["recipient_account_ids"] == [OTHER, undeclared]
    recipients = shared_accounts(api, audience_id, "AD_ACCOUNT")
    assert [(r["account_id"], r["account_type"]) for r in recipients] == [
        (undeclared, "AD_ACCOUNT"),
        (OTHER, "AD_ACCOUNT"),
    ]
    assert all(r["account_name"] and r["shared_on_timestamp"] > 0 for r in recipients)
    assert shared_accounts(api, audience_id, "BUSINESS_ACCOUNT") == []
    api.call("GET", f"/ad_accounts/{undeclared}/audiences", expect=403, params={"ownership_type": "RECEIVED"})
    received = api.call(
        "GET", f"/ad_accounts/{OTHER}/audiences", params={"ownership_type": "RECEIVED"}
    ).json()
    assert [a["id"] for a in received["items"]] == [audience_id]
    assert api.call("GET", f"/ad_accounts/{OTHER}/audiences").json()["items"] == []
    api.call("GET", f"/ad_accounts/{OTHER}/audiences/{audience_id}")

    api.call(
        "PATCH",
        f"{AUDIENCES}/ad_accounts/shared",
        json={"audience_id": audience_id, "operation_type": "REVOKE", "recipient_account_ids": [OTHER]},
    )
    received = api.call(
        "GET", f"/ad_accounts/{OTHER}/audiences", params={"ownership_type": "RECEIVED"}
    ).json()
    assert received["items"] == []
    assert [r["account_id"] for r in shared_accounts(api, audience_id, "AD_ACCOUNT")] == [undeclared]


def test_sharing_with_businesses_and_bad_share_requests(api: AudienceApi) -> None:
    audience_id = api.audience("ENGAGEMENT", ENGAGED)["id"]
    api.audience("ENGAGEMENT", ENGAGED, name="not shared")
    shared = api.call(
        "PATCH",
        f"{AUDIENCES}/businesses/shared",
        json={"audience_id": audience_id, "operation_type": "SHARE", "recipient_business_ids": [BUSINESS]},
    ).json()
    assert shared["recipient_business_ids"] == [BUSINESS]
    summary = api.control("GET", "/summary")["ad_accounts"][ACCOUNT]["audiences"]
    assert summary[0]["shared_business_ids"] == [BUSINESS]
    [recipient] = shared_accounts(api, audience_id, "BUSINESS_ACCOUNT")
    assert (recipient["account_id"], recipient["account_type"]) == (BUSINESS, "BUSINESS_ACCOUNT")
    received = api.call("GET", f"/businesses/{BUSINESS}/audiences").json()
    assert [a["id"] for a in received["items"]] == [audience_id]
    assert api.call("GET", "/businesses/5550001/audiences").json()["items"] == []
    missing = api.call(
        "PATCH",
        f"{AUDIENCES}/ad_accounts/shared",
        expect=400,
        json={"audience_id": audience_id, "operation_type": "SHARE"},
    ).json()
    # The sharing PATCHes' 400 example: {"code": 400, "message": "Invalid ad account id"}
    assert (missing["code"], "recipient_account_ids" in missing["message"]) == (400, True)
    api.call(
        "PATCH",
        f"{AUDIENCES}/ad_accounts/shared",
        expect=404,
        json={"audience_id": "31337", "operation_type": "SHARE", "recipient_account_ids": [OTHER]},
    )


def test_sharing_listings_refuse_bad_parameters(api: AudienceApi) -> None:
    audience_id = api.audience("ENGAGEMENT", ENGAGED)["id"]
    listing = f"{AUDIENCES}/shared/accounts"
    for params, field in (
        ({"account_type": "AD_ACCOUNT"}, "audience_id"),
        ({"audience_id": audience_id, "account_type": "PERSON"}, "account_type"),
        ({"audience_id": audience_id, "account_type": "AD_ACCOUNT", "page_size": 0}, "page_size"),
    ):
        error = api.call("GET", listing, expect=400, params=params).json()
        assert (error["code"], field in error["message"]) == (400, True)
    not_owned = {"audience_id": "31337", "account_type": "AD_ACCOUNT"}
    api.call("GET", listing, expect=404, params=not_owned)
    bad_business = api.call("GET", "/businesses/12x/audiences", expect=400).json()
    assert (bad_business["code"], "business_id" in bad_business["message"]) == (400, True)
