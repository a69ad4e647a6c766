"""Every request the hooks can send validates against Pinterest's official OpenAPI description."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
import respx

from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestAsyncHook, PinterestHook
from tests.conftest import AD_ACCOUNT_ID, MOCK_BASE_URL, connection_json
from tests.openapi_spec import require_spec, validate_request

pytestmark = pytest.mark.usefixtures("pinterest_conn")

AUDIENCE = {"id": "2542620905473", "name": "n", "audience_type": "VISITOR", "status": "READY"}
CANNED: dict[tuple[str, str], Any] = {
    ("GET", "customer_lists"): {"items": [{"id": "1", "name": "crm"}], "bookmark": None},
    ("POST", "customer_lists"): {"id": "1", "name": "crm"},
    ("GET", "audiences"): {"items": [AUDIENCE], "bookmark": None},
    ("POST", "audiences"): AUDIENCE,
    ("GET", "ad_groups"): {"items": [{"id": "3"}], "bookmark": None},
    ("PATCH", "ad_groups"): {"items": [{"data": {"id": "3"}, "exceptions": []}]},
    ("GET", "ad_accounts"): {"items": [{"id": AD_ACCOUNT_ID}], "bookmark": None},
    ("POST", "audience_sizing"): {"audience_size_lower_bound": 85_000, "audience_size_upper_bound": 115_000},
    ("GET", "shared/accounts"): {"items": [{"account_id": "549755885176"}], "bookmark": None},
    ("POST", "oauth/token"): {
        "access_token": "new",
        "refresh_token": "r2",
        "expires_in": 100,
        "token_type": "bearer",
    },
}


def _canned(method: str, path: str) -> Any:
    for (canned_method, fragment), body in CANNED.items():
        if canned_method == method and re.search(rf"/{fragment}/?$", path.split("?")[0]):
            return body
    return {"id": "1"}  # one object, e.g. GET or PATCH /customer_lists/{id}


@pytest.fixture
def validated_requests() -> Iterator[list[str]]:
    """Mock Pinterest; fail any request that does not match the spec. Yields 'METHOD path' of each."""
    require_spec()
    seen: list[str] = []

    class _Validating(requests.adapters.BaseAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            validate_request(request)
            seen.append(f"{request.method} {request.path_url.split('?')[0]}")
            response = requests.Response()
            response.status_code = 200
            response._content = json.dumps(_canned(request.method or "", request.path_url)).encode()
            response.headers["Content-Type"] = "application/json"
            response.request = request
            return response

        def close(self) -> None:
            pass

    original = PinterestHook.get_conn

    def get_conn(self: PinterestHook) -> requests.Session:
        session = original(self)
        session.mount(MOCK_BASE_URL, _Validating())
        return session

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PinterestHook, "get_conn", get_conn)
        yield seen


SYNC_CALLS: dict[str, Callable[[PinterestHook], Any]] = {
    "create_customer_list": lambda h: h.create_customer_list(AD_ACCOUNT_ID, name="crm", records="a" * 64),
    "create_customer_list MAID": lambda h: h.create_customer_list(
        AD_ACCOUNT_ID, name="m", records="b" * 64 + "," + "c" * 64, list_type="MAID"
    ),
    "get_customer_list": lambda h: h.get_customer_list(AD_ACCOUNT_ID, "1"),
    "update_customer_list ADD": lambda h: h.update_customer_list(
        AD_ACCOUNT_ID, "1", operation_type="ADD", records="d" * 64
    ),
    "update_customer_list REMOVE": lambda h: h.update_customer_list(
        AD_ACCOUNT_ID, "1", operation_type="REMOVE", records="d" * 64
    ),
    "list_customer_lists": lambda h: list(h.list_customer_lists(AD_ACCOUNT_ID)),
    "find_customer_list": lambda h: h.find_customer_list(AD_ACCOUNT_ID, "crm"),
    "create_audience CUSTOMER_LIST": lambda h: h.create_audience(
        AD_ACCOUNT_ID,
        name="a",
        audience_type="CUSTOMER_LIST",
        rule={"customer_list_id": "1"},
        description="d",
    ),
    "create_audience VISITOR": lambda h: h.create_audience(
        AD_ACCOUNT_ID,
        name="v",
        audience_type="VISITOR",
        rule={
            "visitor_source_id": "2613484614072",
            "retention_days": 30,
            "event": "checkout",
            "ingestion_source": {"=": ["tag"]},
            "event_source": {"=": ["web", "mobile"]},
        },
    ),
    "create_audience ENGAGEMENT": lambda h: h.create_audience(
        AD_ACCOUNT_ID,
        name="e",
        audience_type="ENGAGEMENT",
        rule={"engagement_domain": ["www.example.com"], "engagement_type": "click", "engager_type": 1},
    ),
    "create_audience ACTALIKE": lambda h: h.create_audience(
        AD_ACCOUNT_ID,
        name="l",
        audience_type="ACTALIKE",
        rule={"seed_id": ["2542620905473"], "country": "US", "percentage": 5},
    ),
    "get_audience": lambda h: h.get_audience(AD_ACCOUNT_ID, "2542620905473"),
    "update_audience": lambda h: h.update_audience(
        AD_ACCOUNT_ID, "2542620905473", name="n2", rule={"customer_list_id": "1"}, description="d"
    ),
    "archive_audience": lambda h: h.archive_audience(AD_ACCOUNT_ID, "2542620905473"),
    "list_audiences": lambda h: list(h.list_audiences(AD_ACCOUNT_ID, ownership_type="OWNED")),
    "find_audience": lambda h: h.find_audience(AD_ACCOUNT_ID, "n"),
    "share_audience_with_ad_accounts": lambda h: h.share_audience_with_ad_accounts(
        AD_ACCOUNT_ID,
        audience_id="2542620905473",
        recipient_account_ids=["549755885176"],
        operation_type="SHARE",
    ),
    "share_audience_with_businesses": lambda h: h.share_audience_with_businesses(
        AD_ACCOUNT_ID, audience_id="2542620905473", recipient_business_ids=["12345"], operation_type="REVOKE"
    ),
    "list_audience_shares": lambda h: list(h.list_audience_shares(AD_ACCOUNT_ID, "2542620905473")),
    "list_audience_shares BUSINESS_ACCOUNT": lambda h: list(
        h.list_audience_shares(AD_ACCOUNT_ID, "2542620905473", account_type="BUSINESS_ACCOUNT")
    ),
    "list_ad_accounts": lambda h: list(h.list_ad_accounts()),
    "get_ad_group": lambda h: h.get_ad_group(AD_ACCOUNT_ID, "3"),
    "list_ad_groups": lambda h: list(
        h.list_ad_groups(
            AD_ACCOUNT_ID, ad_group_ids=["3", "4"], campaign_ids=["5"], entity_statuses=["ACTIVE"]
        )
    ),
    "update_ad_groups": lambda h: h.update_ad_groups(
        AD_ACCOUNT_ID,
        [{"id": "3", "targeting_spec": {"AUDIENCE_INCLUDE": ["2542620905473"], "GEO": ["US"]}}],
    ),
    "audience_sizing": lambda h: h.audience_sizing(
        AD_ACCOUNT_ID,
        {"AUDIENCE_INCLUDE": ["2542620905473"]},
        placement_group="ALL",
        auto_targeting_enabled=False,
    ),
    "test_connection": lambda h: h.test_connection(),
}


@pytest.mark.parametrize("name", SYNC_CALLS)
def test_sync_hook_requests_match_the_spec(validated_requests: list[str], name: str) -> None:
    result = SYNC_CALLS[name](PinterestHook())
    if name == "test_connection":
        assert result[0], result
    assert validated_requests, "the call sent no request"


def test_test_connection_without_an_ad_account_matches_the_spec(
    validated_requests: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json(ad_account_id=None))
    assert PinterestHook().test_connection()[0]
    assert validated_requests == ["GET /v5/ad_accounts"]


def test_refresh_request_matches_the_spec(
    validated_requests: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json(password=None, continuous_refresh=True)
    )
    PinterestHook().get_audience(AD_ACCOUNT_ID, "2542620905473")
    assert validated_requests == [
        "POST /v5/oauth/token",
        "GET /v5/ad_accounts/549755885175/audiences/2542620905473",
    ]


def test_every_public_sync_method_has_a_contract_case() -> None:
    public = {
        name
        for name, value in vars(PinterestHook).items()
        if callable(value) and not name.startswith("_") and name not in {"get_conn", "close"}
    } - {"get_ui_field_behaviour", "get_connection_form_widgets"}
    covered = {name.split(" ")[0] for name in SYNC_CALLS}
    assert public <= covered, public - covered


def _as_prepared(request: httpx.Request) -> requests.PreparedRequest:
    return requests.Request(
        request.method, str(request.url), headers=dict(request.headers), data=request.content or None
    ).prepare()


@pytest.mark.parametrize("method", ["get_audience", "get_customer_list"])
async def test_async_hook_requests_match_the_spec(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    require_spec()
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json(password=None))
    seen: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        validate_request(_as_prepared(request))
        seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json=_canned(request.method, request.url.path))

    with respx.mock(base_url=MOCK_BASE_URL, assert_all_called=False) as mock:
        mock.route().mock(side_effect=respond)
        async with PinterestAsyncHook() as hook:
            await getattr(hook, method)(AD_ACCOUNT_ID, "2542620905473")

    assert seen[0] == "POST /v5/oauth/token"
    assert len(seen) == 2
