"""The step loops and the one handler contract both hooks keep: same step kinds served, same results."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import httpx
import pytest
import requests
import responses
import respx

from airflow_provider_pinterest_audiences.hooks.oauth import PROCESS_TOKENS, TokenGrant, build_refresh_request
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestAsyncHook, PinterestHook
from airflow_provider_pinterest_audiences.hooks.replies import Reply
from airflow_provider_pinterest_audiences.hooks.steps import (
    Adopt,
    FindExisting,
    LoadStoredGrant,
    PostToken,
    Refresh,
    SaveGrant,
    Send,
    Sleep,
    Step,
    TransportFailure,
    UnservedStep,
    drive,
    drive_async,
)
from tests.conftest import MOCK_BASE_URL, REFRESH_TOKEN
from tests.unit.hooks.conftest import VARIABLE, FakeVariables
from tests.unit.hooks.scripted_flow import OK

TOKEN_URL = f"{MOCK_BASE_URL}/oauth/token"
SERVED_BY_EVERY_FLOW = {Sleep, Refresh, PostToken, LoadStoredGrant, Adopt, SaveGrant}
GRANT = TokenGrant("access-p", "refresh-p", expires_at=time.time() + 3600, issued_at=time.time())
TOKEN_ANSWER = {"access_token": "access-q", "refresh_token": "refresh-q", "expires_in": 60}
CALL_PATH = "/ad_accounts/1/audiences/2"
CALL_URL = f"{MOCK_BASE_URL}{CALL_PATH}"
CALL_ANSWER = {"id": "2", "status": "READY"}

pytestmark = pytest.mark.usefixtures("variables")


def probe(hook: PinterestHook | PinterestAsyncHook) -> Generator[Step, Any, dict[str, Any]]:
    """Every step a refresh takes, then a call's ``Send`` (answered, then not), with what each answered."""
    results: dict[str, Any] = {}
    results["load, empty"] = yield LoadStoredGrant()
    results["save"] = yield SaveGrant(GRANT)
    loaded = yield LoadStoredGrant()
    results["load, saved"] = loaded.to_json() if loaded else None
    results["sleep"] = yield Sleep(0.0)
    results["adopt"] = yield Adopt(GRANT)
    results["access token adopted"] = hook._access_token
    answer: Reply = yield PostToken(build_refresh_request(hook.config, "refresh-p"))
    results["post token"] = (type(answer).__name__, answer.status_code, answer.body)
    sent: Reply = yield Send()
    results["send"] = (type(sent).__name__, sent.status_code, sent.body)
    results["send, no answer"] = yield Send()
    return results


def test_both_hooks_serve_the_same_step_kinds() -> None:
    sync_kinds = set(PinterestHook()._handlers())
    async_kinds = set(PinterestAsyncHook()._handlers(httpx.AsyncClient()))

    assert sync_kinds == async_kinds == SERVED_BY_EVERY_FLOW


@responses.activate
def test_the_sync_hook_gives_each_step_its_contracted_result(variables: FakeVariables) -> None:
    responses.post(TOKEN_URL, json=TOKEN_ANSWER)
    responses.get(CALL_URL, json=CALL_ANSWER)
    responses.get(CALL_URL, body=requests.exceptions.ReadTimeout("no answer in time"))
    hook = PinterestHook()
    send = {Send: lambda _: hook._send("GET", hook._url(CALL_PATH), None, None)}  # as ``_call`` adds it

    results = drive(probe(hook), {**hook._handlers(), **send})

    assert results == expected_results()
    assert variables.writes == 1


async def test_the_async_hook_gives_each_step_the_same_results(variables: FakeVariables) -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=TOKEN_ANSWER))
        answers = [httpx.Response(200, json=CALL_ANSWER), httpx.ReadTimeout("no answer in time")]
        mock.get(CALL_URL).mock(side_effect=answers)
        async with PinterestAsyncHook() as hook:
            client = await hook._load()
            send = {Send: lambda _: hook._send(client, CALL_PATH)}  # as ``_call`` adds it
            results = await drive_async(probe(hook), {**hook._handlers(client), **send})

    assert results == expected_results()
    assert variables.writes == 1


def expected_results() -> dict[str, Any]:
    return {
        "load, empty": None,
        "save": None,
        "load, saved": GRANT.to_json(),
        "sleep": None,
        "adopt": None,
        "access token adopted": "access-p",
        "post token": ("Reply", 200, TOKEN_ANSWER),
        "send": ("Reply", 200, CALL_ANSWER),
        "send, no answer": TransportFailure("ReadTimeout", maybe_applied=True),
    }


# -- deliberate differences: a task's hook and a trigger's ---------------------------------------


def test_a_task_hook_fails_on_a_variable_it_cannot_read(
    variables: FakeVariables, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(variables, "get", unreadable)

    with pytest.raises(PermissionError):
        drive(one_step(LoadStoredGrant()), PinterestHook()._handlers())


async def test_a_trigger_hook_carries_on_without_a_variable_it_cannot_read(
    variables: FakeVariables, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(variables, "get", unreadable)

    async with PinterestAsyncHook() as hook:
        client = await hook._load()
        assert await drive_async(one_step(LoadStoredGrant()), hook._handlers(client)) is None

    assert f"Cannot read Variable {VARIABLE!r} from here (PermissionError)" in caplog.text


def unreadable(key: str, default: object = None) -> object:
    raise PermissionError("no access")


# An expired grant another hook of this process obtained, with a refresh token newer than the store's.
PROCESS_GRANT = TokenGrant("access-x", "refresh-process", expires_at=time.time() - 1, issued_at=time.time())


@responses.activate
def test_a_task_hook_refreshes_from_the_newest_grant_of_its_process() -> None:
    responses.post(TOKEN_URL, json=TOKEN_ANSWER)
    hook = PinterestHook()
    PROCESS_TOKENS.put(hook.config.credential_key, PROCESS_GRANT)

    hook._refresh()

    assert "refresh_token=refresh-process" in str(responses.calls[0].request.body)


async def test_a_trigger_hook_refreshes_from_the_store_or_connection_only() -> None:
    with respx.mock(assert_all_called=True) as mock:
        token = mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=TOKEN_ANSWER))
        async with PinterestAsyncHook() as hook:
            await hook._load()
            PROCESS_TOKENS.put(hook.config.credential_key, PROCESS_GRANT)
            await hook._refresh()

    sent = token.calls[0].request.content.decode()
    assert f"refresh_token={REFRESH_TOKEN}" in sent
    assert "refresh-process" not in sent


def test_a_sync_call_without_a_lookup_does_not_serve_find_existing() -> None:
    hook = PinterestHook()

    def lookup() -> Generator[Step, Any, Any]:
        return (yield FindExisting())

    with pytest.raises(UnservedStep, match="FindExisting"):
        drive(lookup(), hook._handlers())


async def test_the_async_hook_never_serves_find_existing() -> None:
    def lookup() -> Generator[Step, Any, Any]:
        return (yield FindExisting())

    async with PinterestAsyncHook() as hook:
        client = await hook._load()
        with pytest.raises(UnservedStep, match="FindExisting"):
            await drive_async(lookup(), hook._handlers(client))


def test_a_failed_save_answers_the_error_type_only(
    variables: FakeVariables, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(key: str, value: str) -> None:
        raise PermissionError(f"cannot write {value}")

    monkeypatch.setattr(variables, "set", refuse)
    hook = PinterestHook()

    assert drive(probe_save(), hook._handlers()) == "PermissionError"
    assert VARIABLE not in variables.values


def probe_save() -> Generator[Step, Any, Any]:
    return (yield SaveGrant(GRANT))


def one_step(step: Step) -> Generator[Step, Any, Any]:
    result = yield step
    return result


def test_drive_raises_on_a_step_kind_its_table_lacks() -> None:
    with pytest.raises(UnservedStep, match=r"does not serve FindExisting steps.*serves Send, Sleep"):
        drive(one_step(FindExisting()), {Send: lambda _: OK, Sleep: lambda _: None})


async def test_drive_async_raises_on_a_step_kind_its_table_lacks() -> None:
    async def send(_: Step) -> Reply:
        return OK

    with pytest.raises(UnservedStep, match="does not serve FindExisting steps"):
        await drive_async(one_step(FindExisting()), {Send: send})


def test_drive_feeds_each_handlers_result_back() -> None:
    assert drive(one_step(Send()), {Send: lambda _: OK}) is OK
