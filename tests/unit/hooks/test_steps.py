"""The step loops and the one handler contract both hooks keep: same step kinds served, same results."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import httpx
import pytest
import responses
import respx

from airflow_provider_pinterest_audiences.hooks.oauth import TokenGrant, build_refresh_request
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
    UnservedStep,
    drive,
    drive_async,
)
from tests.conftest import MOCK_BASE_URL
from tests.unit.hooks.conftest import VARIABLE, FakeVariables
from tests.unit.hooks.scripted_flow import OK

TOKEN_URL = f"{MOCK_BASE_URL}/oauth/token"
SERVED_BY_EVERY_FLOW = {Sleep, Refresh, PostToken, LoadStoredGrant, Adopt, SaveGrant}
GRANT = TokenGrant("access-p", "refresh-p", expires_at=time.time() + 3600, issued_at=time.time())
TOKEN_ANSWER = {"access_token": "access-q", "refresh_token": "refresh-q", "expires_in": 60}

pytestmark = pytest.mark.usefixtures("variables")


def probe(hook: PinterestHook | PinterestAsyncHook) -> Generator[Step, Any, dict[str, Any]]:
    """Every step a refresh takes, with what each handler answered."""
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
    return results


def test_both_hooks_serve_the_same_step_kinds() -> None:
    sync_kinds = set(PinterestHook()._handlers())
    async_kinds = set(PinterestAsyncHook()._handlers(httpx.AsyncClient()))

    assert sync_kinds == async_kinds == SERVED_BY_EVERY_FLOW


@responses.activate
def test_the_sync_hook_gives_each_step_its_contracted_result(variables: FakeVariables) -> None:
    responses.post(TOKEN_URL, json=TOKEN_ANSWER)
    hook = PinterestHook()

    results = drive(probe(hook), hook._handlers())

    assert results == expected_results()
    assert variables.writes == 1


async def test_the_async_hook_gives_each_step_the_same_results(variables: FakeVariables) -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=TOKEN_ANSWER))
        async with PinterestAsyncHook() as hook:
            client = await hook._load()
            results = await drive_async(probe(hook), hook._handlers(client))

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
    }


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
