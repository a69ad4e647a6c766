"""Rotating refresh tokens: the newest pair is kept in an Airflow Variable and reused across tasks."""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import responses
import respx

import airflow_provider_pinterest_audiences
from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestTokenStorageError
from airflow_provider_pinterest_audiences.hooks import refresh_flow
from airflow_provider_pinterest_audiences.hooks.oauth import TokenGrant, TokenStore
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestAsyncHook, PinterestHook
from airflow_provider_pinterest_audiences.hooks.refresh_flow import RACE_REREAD_WAITS, SAVE_RETRY_WAITS
from tests.conftest import (
    ACCESS_TOKEN,
    AD_ACCOUNT_ID,
    CLIENT_SECRET,
    MOCK_BASE_URL,
    REFRESH_TOKEN,
    connection_json,
)
from tests.unit.hooks.conftest import VARIABLE, FakeVariables

AUDIENCE_URL = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/audiences/42"
TOKEN_URL = f"{MOCK_BASE_URL}/oauth/token"
UNAUTHORIZED = {"code": 2, "message": "Authentication failed."}


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
    monkeypatch.setattr(refresh_flow, "_warned_conn_ids", set())
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


# -- every credential is registered with the secret masker, however obtained ---------------------------


@pytest.fixture
def masked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from airflow_provider_pinterest_audiences.hooks import pinterest

    registered: list[str] = []
    monkeypatch.setattr(pinterest, "mask_secret", registered.append)
    return registered


def _basic_credential() -> str:
    return base64.b64encode(f"1234567:{CLIENT_SECRET}".encode()).decode()


@responses.activate
def test_the_sync_hook_masks_the_basic_credential_stored_tokens_and_new_ones_before_storing_them(
    variables: FakeVariables, masked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = TokenGrant("access-s", "refresh-s", expires_at=time.time() - 1, issued_at=time.time() - 100)
    variables.values[VARIABLE] = stored.to_json()
    masked_when_written: list[set[str]] = []
    real_set = variables.set

    def set_after_checking(key: str, value: str) -> None:
        masked_when_written.append(set(masked))
        real_set(key, value)

    monkeypatch.setattr(variables, "set", set_after_checking)
    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, json=_grant_body("access-new", "refresh-new"))
    responses.get(AUDIENCE_URL, json={"id": "42"})

    PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    assert {_basic_credential(), "access-s", "refresh-s", "access-new", "refresh-new"} <= set(masked)
    assert {"access-new", "refresh-new"} <= masked_when_written[0]


async def test_the_async_hook_masks_the_basic_credential_stored_tokens_and_new_ones(
    variables: FakeVariables, masked: list[str]
) -> None:
    stored = TokenGrant("access-s", "refresh-s", expires_at=time.time() - 1, issued_at=time.time() - 100)
    variables.values[VARIABLE] = stored.to_json()
    with respx.mock(assert_all_called=False) as mock:
        mock.get(AUDIENCE_URL).mock(
            side_effect=[httpx.Response(401, json=UNAUTHORIZED), httpx.Response(200, json={"id": "42"})]
        )
        mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=_grant_body("access-n", "refresh-n")))
        async with PinterestAsyncHook() as hook:
            await hook.get_audience(AD_ACCOUNT_ID, "42")

    assert {_basic_credential(), "access-s", "refresh-s", "access-n", "refresh-n"} <= set(masked)


# -- a rotated token that cannot be stored ------------------------------------------------------------


class FlakyWrites:
    """Variable.set failing its first ``failures`` calls, as a database that is briefly unavailable."""

    def __init__(self, variables: FakeVariables, failures: int) -> None:
        self.variables, self.failures, self.calls = variables, failures, 0
        self.real_set = variables.set

    def __call__(self, key: str, value: str) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"database unavailable while writing {value}")
        self.real_set(key, value)


@responses.activate
def test_a_failed_write_of_the_rotated_pair_is_retried(
    variables: FakeVariables, monkeypatch: pytest.MonkeyPatch, recorded_sleeps: list[float]
) -> None:
    monkeypatch.setattr(variables, "set", FlakyWrites(variables, failures=2))
    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, json=_grant_body("access-11", "refresh-11"))
    responses.get(AUDIENCE_URL, json={"id": "42"})

    assert PinterestHook().get_audience(AD_ACCOUNT_ID, "42") == {"id": "42"}

    assert _stored(variables).refresh_token == "refresh-11"
    assert recorded_sleeps == list(SAVE_RETRY_WAITS[:2])


@responses.activate
def test_a_rotated_pair_that_cannot_be_stored_fails_the_task_but_serves_it_until_then(
    variables: FakeVariables, monkeypatch: pytest.MonkeyPatch, recorded_sleeps: list[float]
) -> None:
    writes = FlakyWrites(variables, failures=100)
    monkeypatch.setattr(variables, "set", writes)
    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, json=_grant_body("access-12", "refresh-12"))
    responses.get(AUDIENCE_URL, json={"id": "42"})

    with pytest.raises(PinterestTokenStorageError) as raised:
        PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    message = str(raised.value)
    assert f"writing the new one to Variable {VARIABLE!r} failed 4 times (ConnectionError)" in message
    assert "may need re-authorising" in message and "stopped working at this refresh" in message
    assert "refresh-12" not in message and "access-12" not in message and "delete" not in message.lower()
    assert writes.calls == 4 and recorded_sleeps == list(SAVE_RETRY_WAITS)
    # Another hook of the task (an upload thread) keeps working with the new pair, without refreshing.
    assert PinterestHook().get_audience(AD_ACCOUNT_ID, "42") == {"id": "42"}
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer access-12"
    assert [c.request.method for c in responses.calls].count("POST") == 1
    # Its next refresh starts from the rotated token in memory, not the dead one the Variable still holds.
    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, json=_grant_body("access-15", "refresh-15"))
    with pytest.raises(PinterestTokenStorageError):
        PinterestHook().get_audience(AD_ACCOUNT_ID, "42")
    assert parse_qs(responses.calls[-1].request.body)["refresh_token"] == ["refresh-12"]


@responses.activate
def test_an_unrotated_pair_that_cannot_be_stored_only_warns(
    variables: FakeVariables,
    monkeypatch: pytest.MonkeyPatch,
    recorded_sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(variables, "set", FlakyWrites(variables, failures=100))
    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, json=_grant_body("access-13", REFRESH_TOKEN))
    responses.get(AUDIENCE_URL, json={"id": "42"})

    assert PinterestHook().get_audience(AD_ACCOUNT_ID, "42") == {"id": "42"}
    assert "the refresh token did not change" in caplog.text


# -- the loser of a refresh race waits for the winner's write ------------------------------------------


@responses.activate
def test_the_loser_of_a_race_waits_for_a_slow_winner_to_store_its_pair(
    variables: FakeVariables, monkeypatch: pytest.MonkeyPatch, recorded_sleeps: list[float]
) -> None:
    from airflow_provider_pinterest_audiences.hooks import pinterest

    winner = TokenGrant("access-w", "refresh-w", expires_at=time.time() + 3600, issued_at=time.time())

    def winner_stores_during_the_second_wait(seconds: float) -> None:
        recorded_sleeps.append(seconds)
        if len(recorded_sleeps) == 2:
            variables.values[VARIABLE] = winner.to_json()

    monkeypatch.setattr(pinterest, "_sleep", winner_stores_during_the_second_wait)
    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, status=400, json={"code": 1104, "message": "Invalid refresh token"})
    responses.get(AUDIENCE_URL, json={"id": "42"})

    assert PinterestHook().get_audience(AD_ACCOUNT_ID, "42") == {"id": "42"}

    assert recorded_sleeps == [w for w in RACE_REREAD_WAITS if w][:2]
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer access-w"
    assert [c.request.method for c in responses.calls] == ["GET", "POST", "GET"]


def _a_stored_pair_that_pinterest_refuses(variables: FakeVariables) -> TokenGrant:
    """The Variable holds an expired pair whose refresh token Pinterest refuses; no other task refreshes."""
    stored = TokenGrant("access-old", "refresh-old", expires_at=time.time() - 1, issued_at=time.time() - 9)
    variables.values[VARIABLE] = stored.to_json()
    responses.get(AUDIENCE_URL, status=401, json=UNAUTHORIZED)
    responses.post(TOKEN_URL, status=400, json={"code": 1104, "message": "Invalid refresh token"})
    return stored


@responses.activate
def test_a_rejected_token_with_no_winner_tries_the_connection_token_then_fails_without_advising_deletion(
    variables: FakeVariables, recorded_sleeps: list[float]
) -> None:
    stored = _a_stored_pair_that_pinterest_refuses(variables)

    with pytest.raises(PinterestApiError) as raised:
        PinterestHook().get_audience(AD_ACCOUNT_ID, "42")

    sent = [parse_qs(c.request.body)["refresh_token"] for c in responses.calls if c.request.method == "POST"]
    assert sent == [["refresh-old"], [REFRESH_TOKEN]]
    assert recorded_sleeps == [w for w in RACE_REREAD_WAITS if w]
    message = str(raised.value)
    assert "Re-authorise" in message and f"within {sum(RACE_REREAD_WAITS):g} s" in message
    assert "delete" not in message.lower()
    assert variables.values[VARIABLE] == stored.to_json()  # the Variable is left as it was


@responses.activate
def test_a_reauthorised_connection_token_repairs_the_chain_without_touching_the_variable_by_hand(
    variables: FakeVariables, recorded_sleeps: list[float]
) -> None:
    _a_stored_pair_that_pinterest_refuses(variables)
    responses.post(TOKEN_URL, json=_grant_body("access-14", "refresh-14"))
    responses.get(AUDIENCE_URL, json={"id": "42"})

    assert PinterestHook().get_audience(AD_ACCOUNT_ID, "42") == {"id": "42"}
    assert _stored(variables).refresh_token == "refresh-14"


def test_no_message_in_the_package_advises_deleting_the_variable() -> None:
    root = Path(airflow_provider_pinterest_audiences.__file__).parent
    advice = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "delete the variable" in path.read_text().lower()
    ]
    assert advice == []
