"""Rotating refresh tokens: the newest pair is kept in an Airflow Variable and reused across tasks."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs

import httpx
import pytest
import responses
import respx

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestTokenStorageError
from airflow_provider_pinterest_audiences.hooks import call_flow
from airflow_provider_pinterest_audiences.hooks.call_flow import SAVE_RETRY_WAITS
from airflow_provider_pinterest_audiences.hooks.oauth import TokenGrant, TokenStore
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestAsyncHook, PinterestHook
from tests.conftest import ACCESS_TOKEN, AD_ACCOUNT_ID, MOCK_BASE_URL, REFRESH_TOKEN, connection_json

AUDIENCE_URL = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/audiences/42"
TOKEN_URL = f"{MOCK_BASE_URL}/oauth/token"
VARIABLE = "pinterest_tokens"
UNAUTHORIZED = {"code": 2, "message": "Authentication failed."}


class FakeVariables:
    """A dict standing in for Airflow's Variable API (the e2e tests use the real one)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes = 0

    def get(self, key: str, default: object = None) -> object:
        return self.values.get(key, default)

    def set(self, key: str, value: str) -> None:
        self.writes += 1
        self.values[key] = value


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> FakeVariables:
    import airflow.providers.common.compat.sdk as sdk

    fake = FakeVariables()
    monkeypatch.setattr(sdk, "Variable", fake)
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json(oauth_variable=VARIABLE))
    return fake


def _grant_body(access: str, refresh: str, expires_in: int = 2592000) -> dict[str, object]:
    return {
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": expires_in,
        "token_type": "bearer",
    }


def _stored(variables: FakeVariables) -> TokenGrant:
    grant = TokenGrant.from_json(variables.values[VARIABLE])
    assert grant is not None
    return grant


@responses.activate
def test_a_refresh_stores_the_rotated_pair_and_the_next_task_reuses_the_access_token(
    variables: FakeVariables,
) -> None:
    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, json=_grant_body("access-2", "refresh-2"))
    responses.get(AUDIENCE_URL, json={"id": "42"})

    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    stored = _stored(variables)
    assert (stored.access_token, stored.refresh_token) == ("access-2", "refresh-2")
    assert stored.expires_at is not None
    assert stored.expires_at == pytest.approx(time.time() + 2592000, abs=60)

    responses.get(AUDIENCE_URL, json={"id": "42"})
    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")  # a second task

    assert [c.request.method for c in responses.calls] == ["GET", "POST", "GET", "GET"]
    assert responses.calls[3].request.headers["Authorization"] == "Bearer access-2"


@responses.activate
def test_the_stored_refresh_token_is_used_before_the_connection_one(variables: FakeVariables) -> None:
    expired = TokenGrant(
        "access-old", "refresh-stored", expires_at=time.time() - 10, issued_at=time.time() - 100
    )
    variables.values[VARIABLE] = expired.to_json()
    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, json=_grant_body("access-3", "refresh-3"))
    responses.get(AUDIENCE_URL, json={"id": "42"})

    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    sent = parse_qs(responses.calls[1].request.body)
    assert sent["refresh_token"] == ["refresh-stored"]
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert _stored(variables).refresh_token == "refresh-3"


@responses.activate
def test_an_access_token_close_to_expiry_is_not_reused(variables: FakeVariables) -> None:
    almost = TokenGrant(
        "access-almost", "refresh-a", expires_at=time.time() + 60, issued_at=time.time() - 100
    )
    variables.values[VARIABLE] = almost.to_json()
    responses.get(AUDIENCE_URL, json={"id": "42"})

    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


@responses.activate
def test_losing_a_refresh_race_adopts_the_winners_access_token(
    variables: FakeVariables, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Task B refreshes with the token task A already rotated: it re-reads the store and uses A's grant."""
    winner = TokenGrant(
        "access-winner", "refresh-winner", expires_at=time.time() + 3600, issued_at=time.time()
    )

    def rejected_because_a_won(request: object) -> tuple[int, dict[str, str], str]:
        variables.values[VARIABLE] = winner.to_json()
        return 400, {}, '{"code": 1104, "message": "Invalid refresh token"}'

    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.add_callback(responses.POST, TOKEN_URL, callback=rejected_because_a_won)
    responses.get(AUDIENCE_URL, json={"id": "42"})

    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    assert [c.request.method for c in responses.calls] == ["GET", "POST", "GET"]
    assert responses.calls[2].request.headers["Authorization"] == "Bearer access-winner"
    assert _stored(variables).refresh_token == "refresh-winner"


@responses.activate
def test_losing_a_race_with_an_unusable_winner_retries_once_with_the_newer_refresh_token(
    variables: FakeVariables,
) -> None:
    winner = TokenGrant("access-w", "refresh-w", expires_at=time.time() - 1, issued_at=time.time())

    def rejected_because_a_won(request: object) -> tuple[int, dict[str, str], str]:
        variables.values[VARIABLE] = winner.to_json()
        return 400, {}, '{"code": 1104, "message": "Invalid refresh token"}'

    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.add_callback(responses.POST, TOKEN_URL, callback=rejected_because_a_won)
    responses.post(TOKEN_URL, json=_grant_body("access-4", "refresh-4"))
    responses.get(AUDIENCE_URL, json={"id": "42"})

    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    assert parse_qs(responses.calls[2].request.body)["refresh_token"] == ["refresh-w"]
    assert _stored(variables).refresh_token == "refresh-4"


def test_an_older_grant_never_overwrites_a_newer_one(variables: FakeVariables) -> None:
    store = TokenStore(VARIABLE)
    newer = TokenGrant("a-new", "r-new", expires_at=None, issued_at=200.0)
    older = TokenGrant("a-old", "r-old", expires_at=None, issued_at=100.0)

    assert store.save_if_newer(newer)
    assert not store.save_if_newer(older)
    assert _stored(variables).refresh_token == "r-new"
    assert variables.writes == 1


@responses.activate
def test_without_a_variable_a_rotation_warns_once_naming_the_setting(
    pinterest_conn: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(call_flow, "_warned_conn_ids", set())
    for _ in range(2):
        responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
        responses.post(TOKEN_URL, json=_grant_body("access-5", "refresh-5"))
        responses.get(AUDIENCE_URL, json={"id": "42"})
    caplog.set_level(logging.WARNING)

    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")
    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    warnings = [r.getMessage() for r in caplog.records if "not kept" in r.getMessage()]
    assert len(warnings) == 1
    assert "oauth_variable" in warnings[0]


@responses.activate
def test_a_used_refresh_token_without_a_variable_fails_saying_what_to_configure(pinterest_conn: None) -> None:
    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, status=400, json={"code": 1104, "message": "Invalid refresh token"})

    with pytest.raises(PinterestApiError) as raised:
        PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    message = str(raised.value)
    assert "rotates refresh tokens" in message
    assert "'oauth_variable'" in message
    assert REFRESH_TOKEN not in message


@responses.activate
def test_continuous_refresh_is_sent_when_the_extra_asks_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json(password=None, continuous_refresh=True)
    )
    responses.post(TOKEN_URL, json=_grant_body("access-6", "refresh-6"))
    responses.get(AUDIENCE_URL, json={"id": "42"})

    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    assert parse_qs(responses.calls[0].request.body) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH_TOKEN],
        "continuous_refresh": ["true"],
    }


@responses.activate
def test_a_long_lived_hook_refreshes_the_second_time_with_the_rotated_token(pinterest_conn: None) -> None:
    for access, refresh in (("access-7", "refresh-7"), ("access-8", "refresh-8")):
        responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
        responses.post(TOKEN_URL, json=_grant_body(access, refresh))
        responses.get(AUDIENCE_URL, json={"id": "42"})
    hook = PinterestHook()

    hook.get_audience(AD_ACCOUNT_ID, "42")
    hook.get_audience(AD_ACCOUNT_ID, "42")

    sent = [parse_qs(c.request.body)["refresh_token"] for c in responses.calls if c.request.method == "POST"]
    assert sent == [[REFRESH_TOKEN], ["refresh-7"]]
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer access-8"


async def test_the_async_hook_starts_from_the_stored_access_token(variables: FakeVariables) -> None:
    stored = TokenGrant("access-stored", "refresh-s", expires_at=time.time() + 3600, issued_at=time.time())
    variables.values[VARIABLE] = stored.to_json()
    with respx.mock(assert_all_called=False) as mock:
        audience = mock.get(AUDIENCE_URL).mock(return_value=httpx.Response(200, json={"id": "42"}))
        token = mock.post(TOKEN_URL)
        async with PinterestAsyncHook() as hook:
            await hook.get_audience(AD_ACCOUNT_ID, "42")

    assert audience.calls.last.request.headers["Authorization"] == "Bearer access-stored"
    assert not token.called


async def test_the_async_hook_stores_its_refresh_or_fails_saying_why(
    variables: FakeVariables, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_pinterest_audiences.hooks import pinterest

    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def refuse(key: str, value: str) -> None:
        raise RuntimeError(f"this triggerer cannot write {value}")

    monkeypatch.setattr(pinterest, "_async_sleep", no_sleep)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(AUDIENCE_URL).mock(
            side_effect=[httpx.Response(401, json=UNAUTHORIZED), httpx.Response(200, json={"id": "42"})] * 2
        )
        mock.post(TOKEN_URL).mock(
            side_effect=[
                httpx.Response(200, json=_grant_body("access-9", "refresh-9")),
                httpx.Response(200, json=_grant_body("access-10", "refresh-10")),
            ]
        )
        async with PinterestAsyncHook() as hook:
            await hook.get_audience(AD_ACCOUNT_ID, "42")
        assert _stored(variables).refresh_token == "refresh-9"

        monkeypatch.setattr(variables, "set", refuse)
        async with PinterestAsyncHook() as hook:
            with pytest.raises(PinterestTokenStorageError) as raised:
                await hook.get_audience(AD_ACCOUNT_ID, "42")
            assert hook._access_token == "access-10"  # kept in memory for the rest of the run

    message = str(raised.value)
    assert f"Variable {VARIABLE!r} failed 4 times (RuntimeError)" in message
    assert "re-authoris" in message
    assert "refresh-10" not in message and "access-10" not in message
    assert sleeps == list(SAVE_RETRY_WAITS)


@responses.activate
def test_hooks_of_one_process_refresh_once_and_share_the_grant(pinterest_conn: None) -> None:
    """Upload threads each have a hook: the second to see a 401 adopts the first one's fresh token."""
    first, second = PinterestHook(), PinterestHook()
    responses.get(AUDIENCE_URL, json={"id": "42"})
    second.get_audience(AD_ACCOUNT_ID, "42")  # holds the connection's access token
    responses.replace(responses.GET, AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, json=_grant_body("access-10", "refresh-10"))
    responses.add(responses.GET, AUDIENCE_URL, json={"id": "42"})
    first.get_audience(AD_ACCOUNT_ID, "42")

    responses.add(responses.GET, AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.add(responses.GET, AUDIENCE_URL, json={"id": "42"})
    second.get_audience(AD_ACCOUNT_ID, "42")

    assert [c.request.method for c in responses.calls].count("POST") == 1
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer access-10"
    assert PinterestHook().get_audience(AD_ACCOUNT_ID, "42") == {"id": "42"}  # a new hook starts fresh
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer access-10"
