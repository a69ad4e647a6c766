"""Audience rule builders: the rules they build and every error they raise (argument and allowed values)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.audience_rules import (
    actalike_rule,
    audience_rule,
    creatable_audience_type,
    customer_list_rule,
    engagement_rule,
    visitor_rule,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.ids import pinterest_ids

EVENTS = "pagevisit, signup, checkout, viewcategory, search, addtocart, watchvideo, lead, custom"


def test_customer_list_rule_accepts_an_id_string_or_number() -> None:
    assert customer_list_rule("3969491") == {"customer_list_id": "3969491"}
    assert customer_list_rule(3969491) == {"customer_list_id": "3969491"}


def test_visitor_rule_normalises_every_named_argument_and_passes_guide_keys_through() -> None:
    rule = visitor_rule(
        "2613484614072",
        event="PAGE_VISIT",
        retention_days="30",
        event_source=["web", "Mobile"],
        ingestion_source={"in": ["tag", "conversions_api"]},
        url="https://shop.example.com/checkout",
        prefill=False,
        event_data={"currency": "USD"},
        extra_rule={"lookback_window": 30, "event_type": "PAGE_VISIT"},
    )

    assert rule == {
        "visitor_source_id": "2613484614072",
        "event": "pagevisit",
        "retention_days": 30,
        "event_source": {"=": ["web", "mobile"]},
        "ingestion_source": {"in": ["tag", "conversions_api"]},
        "url": ["https://shop.example.com/checkout"],
        "prefill": False,
        "event_data": {"currency": "USD"},
        "lookback_window": 30,
        "event_type": "PAGE_VISIT",
    }


def test_visitor_rule_sends_only_what_was_given_and_keeps_partner_events() -> None:
    assert visitor_rule("1", event="partner_signup_v2", ingestion_source="tag") == {
        "visitor_source_id": "1",
        "event": "partner_signup_v2",
        "ingestion_source": {"=": ["tag"]},
    }


def test_engagement_rule_normalises_and_checks_spec_filters_given_as_extra_rule() -> None:
    rule = engagement_rule(
        "www.example.com",
        engagement_type="CLICK",
        engager_type=2,
        retention_days=30,
        extra_rule={"pin_id": ["34567"], "objective_type": ["awareness"], "lookback_window": 30},
    )

    assert rule == {
        "engagement_domain": ["www.example.com"],
        "engagement_type": "click",
        "engager_type": 2,
        "retention_days": 30,
        "pin_id": ["34567"],
        "objective_type": ["AWARENESS"],
        "lookback_window": 30,
    }


def test_actalike_rule_flattens_and_deduplicates_seeds() -> None:
    assert actalike_rule(["11", ["12"], 11], country="gb", percentage="10") == {
        "seed_id": ["11", "12"],
        "country": "GB",
        "percentage": 10,
    }
    assert actalike_rule("11", percentage=1) == {"seed_id": ["11"], "country": "US", "percentage": 1}


def test_general_rule_checks_spec_keys_by_type_and_keeps_unknown_keys() -> None:
    rule = audience_rule("engagement", {"engagement_domain": "a.example.com", "lookback_window": 7})

    assert rule == {"engagement_domain": ["a.example.com"], "lookback_window": 7}
    assert audience_rule("CUSTOMER_LIST", {"customer_list_id": "5", "description_hint": None}) == {
        "customer_list_id": "5"
    }


def test_ids_may_be_empty_only_when_allowed() -> None:
    assert pinterest_ids([], "include", allow_empty=True) == []
    assert pinterest_ids(("1", ["2", ["1"]]), "include") == ["1", "2"]


ERRORS: list[tuple[Callable[[], Any], str]] = [
    # customer list
    (
        lambda: customer_list_rule("abc"),
        "'customer_list_id': expected a numeric id of 1-18 digits, got 'abc'",
    ),
    (lambda: customer_list_rule(None), "'customer_list_id': is required for CUSTOMER_LIST audiences"),
    (lambda: customer_list_rule(True), "'customer_list_id': expected a numeric id of 1-18 digits, got True"),
    (
        lambda: customer_list_rule("1234567890123456789"),
        "'customer_list_id': expected a numeric id of 1-18 digits, got '1234567890123456789'",
    ),
    # visitor
    (lambda: visitor_rule(None), "'visitor_source_id': is required for VISITOR audiences"),
    (lambda: visitor_rule("tag-1"), "'visitor_source_id': expected a numeric id of 1-18 digits, got 'tag-1'"),
    (
        lambda: visitor_rule("1", event="page visit now"),
        f"'event': expected one of {EVENTS} or a partner-defined event name without spaces, "
        "got 'page visit now'",
    ),
    (
        lambda: visitor_rule("1", event=5),
        f"'event': expected one of {EVENTS} or a partner-defined event name without spaces, got 5",
    ),
    (
        lambda: visitor_rule("1", retention_days=0),
        "'retention_days': expected an integer from 1 to 540, got 0",
    ),
    (
        lambda: visitor_rule("1", retention_days=541),
        "'retention_days': expected an integer from 1 to 540, got 541",
    ),
    (
        lambda: visitor_rule("1", retention_days=True),
        "'retention_days': expected an integer from 1 to 540, got True",
    ),
    (
        lambda: visitor_rule("1", retention_days=30.5),
        "'retention_days': expected an integer from 1 to 540, got 30.5",
    ),
    (
        lambda: visitor_rule("1", retention_days="thirty"),
        "'retention_days': expected an integer from 1 to 540, got 'thirty'",
    ),
    (
        lambda: visitor_rule("1", event_source=["web", "tv"]),
        "'event_source': expected one of web, mobile, offline, got 'tv'",
    ),
    (
        lambda: visitor_rule("1", event_source={"contains": ["web"]}),
        "'event_source': expected a list, or an object with one operator (= or in) mapping to a list, "
        "got {'contains': ['web']}",
    ),
    (
        lambda: visitor_rule("1", event_source={"=": ["web"], "in": ["mobile"]}),
        "'event_source': expected a list, or an object with one operator (= or in) mapping to a list, "
        "got {'=': ['web'], 'in': ['mobile']}",
    ),
    (
        lambda: visitor_rule("1", event_source=[]),
        "'event_source': expected at least one of web, mobile, offline",
    ),
    (
        lambda: visitor_rule("1", ingestion_source={"in": ["tag", "api"]}),
        "'ingestion_source': expected one of tag, mmp, file_upload, conversions_api, got 'api'",
    ),
    (lambda: visitor_rule("1", url=[""]), "'url': expected a non-empty string or a list of them, got ['']"),
    (lambda: visitor_rule("1", url=5), "'url': expected a non-empty string or a list of them, got 5"),
    (lambda: visitor_rule("1", prefill="yes"), "'prefill': expected true or false, got 'yes'"),
    (
        lambda: visitor_rule("1", event_data={"value": 1}),
        "'event_data': needs an event: Pinterest only evaluates event_data with one",
    ),
    (
        lambda: visitor_rule("1", event="checkout", event_data=["value"]),
        "'event_data': expected an object with string keys, got ['value']",
    ),
    (
        lambda: visitor_rule("1", extra_rule=[("lookback_window", 30)]),
        "'extra_rule': expected an object with string keys, got [('lookback_window', 30)]",
    ),
    (
        lambda: visitor_rule("1", extra_rule={1: "x"}),
        "'extra_rule': expected an object with string keys, got {1: 'x'}",
    ),
    (
        lambda: visitor_rule("1", extra_rule={"retention_days": 30}),
        "'extra_rule.retention_days': is set by the 'retention_days' argument; pass it there",
    ),
    # engagement
    (lambda: engagement_rule(None), "'engagement_domain': is required for ENGAGEMENT audiences"),
    (
        lambda: engagement_rule([]),
        "'engagement_domain': expected a non-empty string or a list of them, got []",
    ),
    (
        lambda: engagement_rule("https://www.example.com/"),
        "'engagement_domain': expected verified domains such as 'www.example.com', got 'https://www.example.com/'",
    ),
    (
        lambda: engagement_rule("example.com", engagement_type="share"),
        "'engagement_type': expected one of click, save, closeup, comment, like, got 'share'",
    ),
    (
        lambda: engagement_rule("example.com", engagement_type="CLICK,SAVE"),
        "'engagement_type': expected one of click, save, closeup, comment, like, got 'CLICK,SAVE'",
    ),
    (
        lambda: engagement_rule("example.com", engager_type=3),
        "'engager_type': expected an integer from 1 to 2, got 3",
    ),
    (
        lambda: engagement_rule("example.com", retention_days=600),
        "'retention_days': expected an integer from 1 to 540, got 600",
    ),
    (
        lambda: engagement_rule("example.com", extra_rule={"pin_id": ["pin-1"]}),
        "'extra_rule.pin_id': expected a numeric id of 1-18 digits, got 'pin-1'",
    ),
    (
        lambda: engagement_rule("example.com", extra_rule={"objective_type": ["SALES"]}),
        "'extra_rule.objective_type': expected one of AWARENESS, CONSIDERATION, WEB_CONVERSION, "
        "CATALOG_SALES, VIDEO_COMPLETION, got 'SALES'",
    ),
    (
        lambda: engagement_rule("example.com", extra_rule={"engagement_type": "click"}),
        "'extra_rule.engagement_type': is set by the 'engagement_type' argument; pass it there",
    ),
    # actalike
    (lambda: actalike_rule(None, percentage=5), "'seed_audience_ids': is required for ACTALIKE audiences"),
    (lambda: actalike_rule([], percentage=5), "'seed_audience_ids': expected at least one id, got none"),
    (
        lambda: actalike_rule(["seed"], percentage=5),
        "'seed_audience_ids': expected a numeric id of 1-18 digits, got 'seed'",
    ),
    (
        lambda: actalike_rule(["1"], country="USA", percentage=5),
        "'country': expected a two-letter country code (Pinterest documents US, CA, GB), got 'USA'",
    ),
    (
        lambda: actalike_rule(["1"], country=None, percentage=5),
        "'country': is required for ACTALIKE audiences",
    ),
    (lambda: actalike_rule(["1"], percentage=0), "'percentage': expected an integer from 1 to 10, got 0"),
    (lambda: actalike_rule(["1"], percentage=11), "'percentage': expected an integer from 1 to 10, got 11"),
    (lambda: actalike_rule(["1"], percentage=None), "'percentage': is required for ACTALIKE audiences"),
    # numbers and ids in other scripts' digits, and things that are not integers at all
    (lambda: actalike_rule(["1"], percentage="²"), "'percentage': expected an integer from 1 to 10, got '²'"),
    (
        lambda: actalike_rule(["1"], percentage="\u0665"),
        "'percentage': expected an integer from 1 to 10, got '\u0665'",
    ),
    (
        lambda: actalike_rule(["1"], percentage=True),
        "'percentage': expected an integer from 1 to 10, got True",
    ),
    (
        lambda: actalike_rule(["1"], percentage=float("nan")),
        "'percentage': expected an integer from 1 to 10, got nan",
    ),
    (lambda: actalike_rule(["1"], percentage=5.0), "'percentage': expected an integer from 1 to 10, got 5.0"),
    (
        lambda: actalike_rule(["1"], percentage="five"),
        "'percentage': expected an integer from 1 to 10, got 'five'",
    ),
    (
        lambda: actalike_rule(["١٢٣"], percentage=5),
        "'seed_audience_ids': expected a numeric id of 1-18 digits, got '١٢٣'",
    ),
    (
        lambda: customer_list_rule("\uff11\uff12\uff13"),
        "'customer_list_id': expected a numeric id of 1-18 digits, got '\uff11\uff12\uff13'",
    ),
    (
        lambda: visitor_rule("1", retention_days="٣٠"),
        "'retention_days': expected an integer from 1 to 540, got '٣٠'",
    ),
    # general form
    (
        lambda: creatable_audience_type("LOOKALIKE"),
        "'audience_type': expected one of CUSTOMER_LIST, VISITOR, ENGAGEMENT, ACTALIKE, got 'LOOKALIKE'",
    ),
    (
        lambda: creatable_audience_type(None),
        "'audience_type': expected one of CUSTOMER_LIST, VISITOR, ENGAGEMENT, ACTALIKE, got None",
    ),
    (
        lambda: audience_rule("VISITOR", "visitor_source_id=1"),
        "'rule': expected an object with string keys, got 'visitor_source_id=1'",
    ),
    (
        lambda: audience_rule("VISITOR", {"visitor_source_id": "1", "retention_days": 600}),
        "'rule.retention_days': expected an integer from 1 to 540, got 600",
    ),
    (
        lambda: audience_rule("ACTALIKE", {"seed_id": ["1"], "country": "US"}),
        "'rule.percentage': is required for ACTALIKE audiences",
    ),
    (
        lambda: audience_rule("ENGAGEMENT", {"engagement_type": "CLICK", "lookback_window": 30}),
        "'rule.engagement_domain': is required for ENGAGEMENT audiences",
    ),
]


@pytest.mark.parametrize(("build", "message"), ERRORS)
def test_every_invalid_argument_is_named_with_the_allowed_values(
    build: Callable[[], Any], message: str
) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        build()

    assert str(raised.value) == f"Invalid argument {message}"


@pytest.mark.parametrize("kind", ["PERSONA", "persona"])
def test_persona_explains_who_creates_it_and_how_to_use_one(kind: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        creatable_audience_type(kind)

    assert raised.value.argument == "audience_type"
    assert "Pinterest's sales team builds them" in str(raised.value)
    assert "include=['<persona audience id>']" in str(raised.value)


def test_open_audience_points_at_the_ad_group_operator() -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        audience_rule("OPEN", {})

    assert "removing AUDIENCE_INCLUDE" in str(raised.value)
    assert "PinterestUpdateAdGroupAudiencesOperator(include=[], mode='replace')" in str(raised.value)
