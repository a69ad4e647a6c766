"""Answers that are not Pinterest's never count as a success; redirects are never followed (both hooks)."""

from __future__ import annotations

import httpx
import pytest
import responses
import respx

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestAsyncHook, PinterestHook
from airflow_provider_pinterest_audiences.hooks.replies import Reply, error_from_reply, success_body
from tests.conftest import AD_ACCOUNT_ID, MOCK_BASE_URL

pytestmark = pytest.mark.usefixtures("pinterest_conn")

LIST_URL = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/customer_lists/77"
LISTS_URL = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/customer_lists"
AUDIENCE_URL = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/audiences/42"
RECORDS = "a" * 64 + "," + "b" * 64
PORTAL = "<html><body>Please log in to the guest Wi-Fi</body></html>"
ELSEWHERE = "https://collector.example.net/v5/ad_accounts/1/customer_lists/77?session=abc123&user=x"


def update(hook: PinterestHook) -> object:
    return hook.update_customer_list(AD_ACCOUNT_ID, "77", operation_type="ADD", records=RECORDS)


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        ({"body": PORTAL, "content_type": "text/html"}, "a body that is not JSON (text/html)"),
        ({"json": ["a"]}, "a JSON array (application/json)"),
        ({"json": {"status": "ok"}}, "a JSON object (application/json) without 'id'"),
        ({"body": "", "content_type": "application/json"}, "a body that is not JSON (application/json)"),
    ],
)
@responses.activate
def test_a_2xx_that_is_not_the_documented_object_is_an_error(answer: dict[str, object], found: str) -> None:
    responses.patch(LIST_URL, status=200, **answer)  # type: ignore[arg-type]

    with pytest.raises(PinterestApiError) as raised:
        update(PinterestHook())

    error = raised.value
    assert (error.operation, error.status_code) == ("customer_lists/update", 200)
    assert found in str(error)
    assert "not counted as a success" in str(error)
    assert len(responses.calls) == 1


@responses.activate
def test_a_listing_page_without_items_is_an_error() -> None:
    responses.get(LISTS_URL, json={"bookmark": None})

    with pytest.raises(PinterestApiError, match=r"customer_lists/list.*without 'items'"):
        list(PinterestHook().list_customer_lists(AD_ACCOUNT_ID))


@pytest.mark.parametrize("status", [307, 308])
@responses.activate
def test_a_307_or_308_is_an_error_and_the_records_go_nowhere_else(status: int) -> None:
    responses.patch(LIST_URL, status=status, headers={"Location": ELSEWHERE})
    responses.patch(ELSEWHERE.split("?")[0], json={"id": "77"})

    with pytest.raises(PinterestApiError) as raised:
        update(PinterestHook())

    message = str(raised.value)
    assert f"HTTP {status}" in message
    assert "to host 'collector.example.net'" in message
    assert "session" not in message and "/customer_lists/77" not in message  # the host, never the URL
    assert [call.request.url for call in responses.calls] == [LIST_URL]


@responses.activate
def test_a_302_after_a_patch_never_becomes_a_get_that_counts_as_sent() -> None:
    responses.patch(LIST_URL, status=302, headers={"Location": "/v5/elsewhere"})
    responses.get(f"{MOCK_BASE_URL}/elsewhere", json={"id": "77"})

    with pytest.raises(PinterestApiError, match=r"HTTP 302.*redirect to a path on the same host"):
        update(PinterestHook())
    assert [call.request.method for call in responses.calls] == ["PATCH"]


@responses.activate
def test_the_token_endpoint_is_never_followed_either() -> None:
    responses.get(AUDIENCE_URL, status=401, json={"code": 2, "message": "Authentication failed."})
    responses.post(f"{MOCK_BASE_URL}/oauth/token", status=307, headers={"Location": ELSEWHERE})

    with pytest.raises(PinterestApiError, match=r"oauth/token failed: HTTP 307.*'collector.example.net'"):
        PinterestHook().get_audience(AD_ACCOUNT_ID, "42")
    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(200, text=PORTAL, headers={"Content-Type": "text/html"}), r"not JSON \(text/html\)"),
        (httpx.Response(200, json={"status": "READY"}), "without 'id'"),
        (httpx.Response(307, headers={"Location": ELSEWHERE}), "HTTP 307.*'collector.example.net'"),
    ],
)
async def test_the_async_hook_refuses_the_same_answers(answer: httpx.Response, expected: str) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(AUDIENCE_URL).mock(return_value=answer)
        elsewhere = mock.get(ELSEWHERE.split("?")[0]).mock(
            return_value=httpx.Response(200, json={"id": "42"})
        )
        async with PinterestAsyncHook() as hook:
            with pytest.raises(PinterestApiError, match=expected) as raised:
                await hook.get_audience(AD_ACCOUNT_ID, "42")

    assert raised.value.operation == "audiences/get"
    assert route.call_count == 1
    assert not elsewhere.called


def test_error_text_from_a_proxy_page_is_redacted_and_bounded() -> None:
    page = "<h1>Forbidden</h1> user jane.doe@example.com token pina_AbC123xyz" + " filler" * 500
    reply = Reply(403, {"Content-Type": "text/html"}, page, is_json=False)

    message = str(error_from_reply("audiences/get", reply))

    assert "HTTP 403" in message and "text/html" in message and "Forbidden" in message
    assert "jane.doe" not in message and "pina_" not in message
    assert len(message) < 450


def test_a_success_is_the_json_object_itself() -> None:
    body = {"id": "77", "num_batches": 1}

    assert success_body("customer_lists/update", Reply(200, {}, body)) is body
