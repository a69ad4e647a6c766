"""PinterestHook with HTTP mocked by ``responses``: paging, retries, refresh, masking, URL rules."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
import responses
from responses import matchers

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.hooks.pinterest import AudienceReach, PinterestHook
from airflow_provider_pinterest_audiences.hooks.rate_limit_waits import RateLimitWaits
from airflow_provider_pinterest_audiences.hooks.retry_policy import RetryPolicy
from tests.conftest import (
    ACCESS_TOKEN,
    AD_ACCOUNT_ID,
    CLIENT_SECRET,
    MOCK_BASE_URL,
    REFRESH_TOKEN,
    connection_json,
)

LISTS_URL = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/customer_lists"
AUDIENCES_URL = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/audiences"
TOKEN_URL = f"{MOCK_BASE_URL}/oauth/token"
SIZING_URL = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/ad_groups/audience_sizing"
NEW_ACCESS_TOKEN = "fresh-access-token-from-refresh-999"
NEW_REFRESH_TOKEN = "rotated-refresh-token-888"

pytestmark = pytest.mark.usefixtures("pinterest_conn")


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _grant(access: str = NEW_ACCESS_TOKEN, refresh: str = NEW_REFRESH_TOKEN) -> dict[str, object]:
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": 2592000,
        "scope": "ads:read,ads:write",
        "refresh_token": refresh,
        "refresh_token_expires_in": 5184000,
    }


@responses.activate
def test_list_customer_lists_follows_bookmarks_with_page_size_250() -> None:
    responses.get(LISTS_URL, json={"items": [{"id": "1"}, {"id": "2"}], "bookmark": "b1"})
    responses.get(LISTS_URL, json={"items": [{"id": "3"}], "bookmark": None})

    ids = [item["id"] for item in PinterestHook().list_customer_lists(AD_ACCOUNT_ID)]

    assert ids == ["1", "2", "3"]
    queries = [parse_qs(call.request.url.split("?", 1)[1]) for call in responses.calls]
    assert queries[0] == {"page_size": ["250"]}
    assert queries[1] == {"page_size": ["250"], "bookmark": ["b1"]}
    assert all(call.request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}" for call in responses.calls)


@responses.activate
def test_find_customer_list_returns_the_oldest_exact_name_match() -> None:
    items = [
        {"id": "7", "name": "crm", "created_time": 20},
        {"id": "5", "name": "crm", "created_time": 10},
        {"id": "6", "name": "crm-2", "created_time": 1},
    ]
    responses.get(LISTS_URL, json={"items": items, "bookmark": None})

    found = PinterestHook().find_customer_list(AD_ACCOUNT_ID, "crm")

    assert found is not None and found["id"] == "5"
    assert PinterestHook().find_customer_list(AD_ACCOUNT_ID, "absent") is None


@responses.activate
def test_find_audience_skips_archived_and_other_types() -> None:
    items = [
        {"id": "1", "name": "a", "audience_type": "VISITOR", "status": "READY"},
        {"id": "2", "name": "a", "audience_type": "ACTALIKE", "status": "ARCHIVED"},
        {"id": "3", "name": "a", "audience_type": "ACTALIKE", "status": "READY"},
    ]
    responses.get(AUDIENCES_URL, json={"items": items, "bookmark": None})

    found = PinterestHook().find_audience(AD_ACCOUNT_ID, "a", audience_type="ACTALIKE")

    assert found is not None and found["id"] == "3"


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [({"Retry-After": "7"}, 7.0), ({"X-RateLimit-Reset": "3"}, 3.0)],
)
@responses.activate
def test_429_waits_as_the_server_says(
    headers: dict[str, str], expected_wait: float, recorded_sleeps: list[float]
) -> None:
    responses.get(
        f"{AUDIENCES_URL}/42", status=429, json={"code": 8, "message": "rate limit"}, headers=headers
    )
    responses.get(f"{AUDIENCES_URL}/42", json={"id": "42", "status": "READY"})

    audience = PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    assert audience["status"] == "READY"
    assert recorded_sleeps == [expected_wait]


@responses.activate
def test_429_without_headers_backs_off_exponentially_with_jitter(recorded_sleeps: list[float]) -> None:
    for _ in range(3):
        responses.get(f"{AUDIENCES_URL}/42", status=429, json={"code": 8, "message": "rate limit"})
    responses.get(f"{AUDIENCES_URL}/42", json={"id": "42"})
    policy = RetryPolicy(backoff_base_seconds=2.0, backoff_cap_seconds=5.0)

    PinterestHook(retry_policy=policy).get_audience(AD_ACCOUNT_ID, "42")

    assert len(recorded_sleeps) == 3
    assert 1.0 <= recorded_sleeps[0] <= 2.0
    assert 2.0 <= recorded_sleeps[1] <= 4.0
    assert 2.5 <= recorded_sleeps[2] <= 5.0  # capped


@responses.activate
def test_503_is_retried(recorded_sleeps: list[float]) -> None:
    responses.get(f"{AUDIENCES_URL}/42", status=503, json={"code": 4197, "message": "unavailable"})
    responses.get(f"{AUDIENCES_URL}/42", json={"id": "42"})

    assert PinterestHook().get_audience(AD_ACCOUNT_ID, "42") == {"id": "42"}
    assert len(recorded_sleeps) == 1


@responses.activate
def test_gives_up_after_the_cap_with_a_clear_error(recorded_sleeps: list[float]) -> None:
    responses.get(f"{AUDIENCES_URL}/42", status=503, json={"code": 4197, "message": "Service unavailable"})

    with pytest.raises(PinterestApiError) as raised:
        PinterestHook(retry_policy=RetryPolicy(max_attempts=3)).get_audience(AD_ACCOUNT_ID, "42")

    error = raised.value
    assert (error.status_code, error.code, error.operation) == (503, 4197, "audiences/get")
    assert "Gave up after 3 attempts" in str(error)
    assert error.transient
    assert len(responses.calls) == 3
    assert len(recorded_sleeps) == 2


@responses.activate
def test_client_errors_are_not_retried() -> None:
    responses.get(f"{AUDIENCES_URL}/42", status=404, json={"code": 2601, "message": "Audience not found."})

    with pytest.raises(PinterestApiError, match="HTTP 404, code 2601: Audience not found") as raised:
        PinterestHook().get_audience(AD_ACCOUNT_ID, "42")
    assert len(responses.calls) == 1
    assert not raised.value.transient


@responses.activate
def test_connection_errors_are_retried(recorded_sleeps: list[float]) -> None:
    responses.get(f"{AUDIENCES_URL}/42", body=requests.ConnectionError("reset"))
    responses.get(f"{AUDIENCES_URL}/42", json={"id": "42"})

    assert PinterestHook().get_audience(AD_ACCOUNT_ID, "42") == {"id": "42"}
    assert len(recorded_sleeps) == 1


@responses.activate
def test_401_refreshes_once_and_replays_with_the_new_token() -> None:
    responses.get(f"{AUDIENCES_URL}/42", status=401, json={"code": 2, "message": "Authentication failed."})
    responses.post(
        TOKEN_URL,
        json=_grant(),
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}
            ),
            matchers.header_matcher({"Authorization": f"Basic {_basic('1234567', CLIENT_SECRET)}"}),
        ],
    )
    responses.get(f"{AUDIENCES_URL}/42", json={"id": "42"})

    assert PinterestHook().get_audience(AD_ACCOUNT_ID, "42") == {"id": "42"}

    assert responses.calls[2].request.headers["Authorization"] == f"Bearer {NEW_ACCESS_TOKEN}"


@responses.activate
def test_refresh_happens_only_once_per_call() -> None:
    responses.get(f"{AUDIENCES_URL}/42", status=401, json={"code": 2, "message": "Authentication failed."})
    responses.post(TOKEN_URL, json=_grant())

    with pytest.raises(PinterestApiError) as raised:
        PinterestHook().get_audience(AD_ACCOUNT_ID, "42")
    assert raised.value.status_code == 401
    assert [call.request.method for call in responses.calls] == ["GET", "POST", "GET"]


@responses.activate
def test_refresh_failure_names_what_to_fix() -> None:
    responses.get(f"{AUDIENCES_URL}/42", status=401, json={"code": 2, "message": "Authentication failed."})
    responses.post(TOKEN_URL, status=400, json={"code": 1104, "message": "Invalid refresh token"})

    with pytest.raises(PinterestApiError) as raised:
        PinterestHook().get_audience(AD_ACCOUNT_ID, "42")
    assert raised.value.operation == "oauth/token"
    assert "oauth_variable" in str(raised.value)


def test_no_refresh_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PINTEREST_DEFAULT",
        json.dumps({"conn_type": "pinterest", "host": MOCK_BASE_URL, "password": ACCESS_TOKEN}),
    )
    with responses.RequestsMock() as mocked:
        mocked.get(f"{AUDIENCES_URL}/42", status=401, json={"code": 2, "message": "Authentication failed."})
        with pytest.raises(PinterestApiError, match="HTTP 401"):
            PinterestHook().get_audience(AD_ACCOUNT_ID, "42")
        assert len(mocked.calls) == 1


@responses.activate
def test_create_after_an_ambiguous_503_checks_by_name_instead_of_replaying(
    recorded_sleeps: list[float],
) -> None:
    responses.post(LISTS_URL, status=503, json={"code": 4197, "message": "unavailable"})
    responses.get(
        LISTS_URL, json={"items": [{"id": "77", "name": "crm", "created_time": 1}], "bookmark": None}
    )

    created = PinterestHook().create_customer_list(AD_ACCOUNT_ID, name="crm", records="a" * 64)

    assert created["id"] == "77"
    assert [call.request.method for call in responses.calls] == ["POST", "GET"]


@responses.activate
def test_create_after_an_ambiguous_503_sends_again_when_nothing_was_created(
    recorded_sleeps: list[float],
) -> None:
    responses.post(AUDIENCES_URL, status=503, json={"code": 4197, "message": "unavailable"})
    responses.get(AUDIENCES_URL, json={"items": [], "bookmark": None})
    responses.post(AUDIENCES_URL, json={"id": "9", "name": "n"})

    created = PinterestHook().create_audience(
        AD_ACCOUNT_ID, name="n", audience_type="CUSTOMER_LIST", rule={"customer_list_id": "1"}
    )

    assert created["id"] == "9"
    assert [call.request.method for call in responses.calls] == ["POST", "GET", "POST"]


@responses.activate
def test_create_after_429_is_resent_without_a_lookup(recorded_sleeps: list[float]) -> None:
    responses.post(
        AUDIENCES_URL, status=429, json={"code": 8, "message": "rate"}, headers={"Retry-After": "1"}
    )
    responses.post(AUDIENCES_URL, json={"id": "9"})

    PinterestHook().create_audience(AD_ACCOUNT_ID, name="n", audience_type="VISITOR", rule={"x": 1})

    assert [call.request.method for call in responses.calls] == ["POST", "POST"]


@responses.activate
def test_update_ad_groups_rejects_more_than_30_before_any_call() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=r"'ad_groups'.*1 to 30"):
        PinterestHook().update_ad_groups(AD_ACCOUNT_ID, [{"id": str(i)} for i in range(1, 32)])
    assert len(responses.calls) == 0


@pytest.mark.parametrize("bad_id", ["", "12a", "1" * 19, None])
@responses.activate
def test_ids_are_checked_before_any_call(bad_id: object) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="'audience_id'"):
        PinterestHook().get_audience(AD_ACCOUNT_ID, bad_id)  # type: ignore[arg-type]
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        ("", "https://api.pinterest.com/v5"),
        ("https://api.pinterest.com/v5/", "https://api.pinterest.com/v5"),
        ("api.pinterest.com", "https://api.pinterest.com/v5"),
        ("http://127.0.0.1:8765/v5", "http://127.0.0.1:8765/v5"),
        ("http://localhost:8765/v5", "http://localhost:8765/v5"),
        ("http://[::1]:8765/v5", "http://[::1]:8765/v5"),
    ],
)
def test_base_url_from_host(monkeypatch: pytest.MonkeyPatch, host: str, base_url: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json(host=host))
    assert PinterestHook().config.base_url == base_url


@pytest.mark.parametrize("host", ["http://api.pinterest.com/v5", "http://10.0.0.5:8765/v5"])
def test_plain_http_to_a_remote_host_is_refused(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json(host=host))
    with pytest.raises(PinterestInvalidArgumentError, match=r"'host'.*loopback"):
        PinterestHook().config  # noqa: B018


@responses.activate
def test_no_secret_reaches_the_logs_or_the_error(caplog: pytest.LogCaptureFixture) -> None:
    responses.get(f"{AUDIENCES_URL}/42", status=401, json={"code": 2, "message": "Authentication failed."})
    responses.post(TOKEN_URL, json=_grant())
    responses.get(f"{AUDIENCES_URL}/42", status=503, json={"code": 4197, "message": "unavailable"})
    responses.get(f"{AUDIENCES_URL}/42", status=500, json={"code": 1, "message": "boom"})
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PinterestApiError) as raised:
        PinterestHook(retry_policy=RetryPolicy(max_attempts=2, backoff_base_seconds=0.0)).get_audience(
            AD_ACCOUNT_ID, "42"
        )

    text = caplog.text + str(raised.value) + repr(PinterestHook().config)
    assert "retry 1 of 1" in caplog.text  # the log capture did see the hook's messages
    for secret in (ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN, NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN):
        assert secret not in text


@responses.activate
def test_tokens_obtained_at_run_time_are_registered_with_the_masker(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_pinterest_audiences.hooks import pinterest

    masked: list[str] = []
    monkeypatch.setattr(pinterest, "mask_secret", masked.append)
    responses.get(f"{AUDIENCES_URL}/42", status=401, json={"code": 2, "message": "Authentication failed."})
    responses.post(TOKEN_URL, json=_grant())
    responses.get(f"{AUDIENCES_URL}/42", json={"id": "42"})

    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    assert {ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN, NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN} <= set(masked)


@responses.activate
def test_test_connection_reports_success_and_failure() -> None:
    responses.get(AUDIENCES_URL, json={"items": [], "bookmark": None})
    assert PinterestHook().test_connection() == (
        True,
        f"Connected to Pinterest; ad account {AD_ACCOUNT_ID} is readable.",
    )

    responses.replace(responses.GET, AUDIENCES_URL, status=403, json={"code": 29, "message": "Not permitted"})
    ok, message = PinterestHook().test_connection()
    assert not ok and "HTTP 403" in message and "Not permitted" in message


@responses.activate
def test_json_bodies_are_sent_as_json() -> None:
    records = "a" * 64 + "," + "b" * 64
    responses.patch(
        f"{LISTS_URL}/77",
        json={"id": "77"},
        match=[
            matchers.header_matcher({"Content-Type": "application/json"}),
            matchers.json_params_matcher({"operation_type": "ADD", "records": records}),
        ],
    )

    PinterestHook().update_customer_list(AD_ACCOUNT_ID, "77", operation_type="ADD", records=records)

    assert len(responses.calls) == 1


PROXY = "http://proxy.internal:3128"


@pytest.mark.parametrize(
    ("variables", "proxies", "verify"),
    [
        (
            {"HTTPS_PROXY": PROXY, "REQUESTS_CA_BUNDLE": "/etc/ssl/company.pem"},
            {"https": PROXY},
            "/etc/ssl/company.pem",
        ),
        ({"HTTPS_PROXY": PROXY, "NO_PROXY": "api.pinterest.com"}, {}, True),
        ({"CURL_CA_BUNDLE": "/etc/ssl/curl.pem"}, {}, "/etc/ssl/curl.pem"),
    ],
)
def test_the_session_takes_proxies_and_ca_bundle_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], proxies: dict[str, str], verify: object
) -> None:
    for name in ("ALL_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    session = PinterestHook().get_conn()

    assert session.proxies == proxies
    assert session.verify == verify


@responses.activate
def test_a_netrc_entry_for_the_api_host_never_replaces_the_bearer_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.pinterest.com login someone password not-the-token\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    responses.get(
        f"{LISTS_URL}/77",
        json={"id": "77"},
        match=[matchers.header_matcher({"Authorization": f"Bearer {ACCESS_TOKEN}"})],
    )

    assert PinterestHook().get_customer_list(AD_ACCOUNT_ID, "77") == {"id": "77"}


@responses.activate
def test_audience_sizing_sends_the_targeting_and_answers_the_range() -> None:
    bounds = {"audience_size_lower_bound": 85_000, "audience_size_upper_bound": 115_000.0}
    responses.post(SIZING_URL, json=bounds)
    targeting = {"GEO": ["US"], "AUDIENCE_INCLUDE": ["2542620905473"]}

    hook = PinterestHook()
    reach = hook.audience_sizing(
        AD_ACCOUNT_ID, targeting, placement_group="SEARCH", auto_targeting_enabled=False
    )
    plain = hook.audience_sizing(AD_ACCOUNT_ID, targeting)

    assert reach == plain == AudienceReach(85_000, 115_000)
    assert str(reach) == "85,000-115,000"
    bodies = [json.loads(call.request.body) for call in responses.calls]
    assert bodies == [
        {"targeting_spec": targeting, "placement_group": "SEARCH", "auto_targeting_enabled": False},
        {"targeting_spec": targeting},
    ]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"audience_size_lower_bound": 1}, "without 'audience_size_upper_bound'"),
        (
            {"audience_size_lower_bound": None, "audience_size_upper_bound": "many"},
            "audience_size_lower_bound as NoneType, audience_size_upper_bound as str; expected numbers",
        ),
        ({"audience_size_lower_bound": True, "audience_size_upper_bound": 2}, "lower_bound as bool"),
    ],
)
@responses.activate
def test_audience_sizing_without_two_numbers_is_an_error(answer: dict[str, object], problem: str) -> None:
    responses.post(SIZING_URL, json=answer)

    with pytest.raises(PinterestApiError, match=problem) as raised:
        PinterestHook().audience_sizing(AD_ACCOUNT_ID, {"GEO": ["US"]})
    assert raised.value.operation == "ad_groups/audience_sizing"


@responses.activate
def test_only_waits_on_429_are_counted_as_rate_limit_waits(recorded_sleeps: list[float]) -> None:
    responses.get(
        f"{AUDIENCES_URL}/42", status=429, json={"code": 8, "message": "rate"}, headers={"Retry-After": "2"}
    )
    responses.get(f"{AUDIENCES_URL}/42", status=503, json={"code": 4197, "message": "unavailable"})
    responses.get(
        f"{AUDIENCES_URL}/42",
        status=429,
        json={"code": 8, "message": "rate"},
        headers={"Retry-After": "0.25"},
    )
    responses.get(f"{AUDIENCES_URL}/42", json={"id": "42"})
    hook = PinterestHook()

    hook.get_audience(AD_ACCOUNT_ID, "42")

    assert len(recorded_sleeps) == 3
    assert hook.rate_limit_waits.figures() == {"count": 2, "seconds": 2.25}
    assert PinterestHook().rate_limit_waits.figures() == {"count": 0, "seconds": 0.0}


@responses.activate
def test_hooks_given_one_tally_count_their_waits_together(recorded_sleeps: list[float]) -> None:
    for _ in range(2):
        responses.get(f"{AUDIENCES_URL}/42", status=429, json={"code": 8}, headers={"Retry-After": "1.5"})
        responses.get(f"{AUDIENCES_URL}/42", json={"id": "42"})
    tally = RateLimitWaits()

    for hook in (PinterestHook(rate_limit_waits=tally), PinterestHook(rate_limit_waits=tally)):
        hook.get_audience(AD_ACCOUNT_ID, "42")

    assert tally.figures() == {"count": 2, "seconds": 3.0}
