"""The hooks' full flow against the emulator: list -> audience -> READY, through 429s, 503s and expiry."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator

import pytest
import requests

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from airflow_provider_pinterest_audiences.exceptions import PinterestApiError
from airflow_provider_pinterest_audiences.hooks.oauth import PROCESS_TOKENS
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestAsyncHook, PinterestHook
from tests.integration.emulator_api import emulator_settings
from tests.openapi_spec import require_spec, validate_response

ACCOUNT = EmulatorSettings().ad_account_id


def hashes(count: int, salt: str) -> list[str]:
    return [hashlib.sha256(f"{salt}-{i}@example.com".encode()).hexdigest() for i in range(count)]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    settings = emulator_settings(clock_speed=20.0, rotate_refresh_tokens=True)
    with EmulatorServer(settings, host="127.0.0.1", port=0) as running, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", running.connection_json())
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> EmulatorServer:
    """The module's emulator, reset to its seeded state (tokens included) before each test."""
    control(server, "reset", {})
    return server


def control(server: EmulatorServer, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    url = f"{server.root_url}/_emulator/{path}"
    response = (
        requests.post(url, json=body or {}, timeout=10) if body is not None else requests.get(url, timeout=10)
    )
    response.raise_for_status()
    result: dict[str, object] = response.json()
    return result


def wait_until_ready(hook: PinterestHook, audience_id: str, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        audience = hook.get_audience(ACCOUNT, audience_id)
        if audience["status"] == "READY":
            return audience
        time.sleep(0.05)
    raise AssertionError(f"audience {audience_id} never became READY")


def test_full_flow_create_list_create_audience_poll_to_ready(emulator: EmulatorServer) -> None:
    hook = PinterestHook()
    records = hashes(300, "flow")

    created = hook.create_customer_list(ACCOUNT, name="flow list", records=",".join(records[:150]))
    hook.update_customer_list(ACCOUNT, created["id"], operation_type="ADD", records=",".join(records[150:]))
    hook.update_customer_list(ACCOUNT, created["id"], operation_type="REMOVE", records=records[0])
    audience = hook.create_audience(
        ACCOUNT, name="flow audience", audience_type="CUSTOMER_LIST", rule={"customer_list_id": created["id"]}
    )
    ready = wait_until_ready(hook, audience["id"])

    stored = control(emulator, f"ad_accounts/{ACCOUNT}/customer_lists/{created['id']}/records")
    assert set(stored["members"]) == set(records[1:])  # type: ignore[arg-type]
    assert ready["size"] > 100  # type: ignore[operator]
    assert hook.find_customer_list(ACCOUNT, "flow list") == hook.get_customer_list(ACCOUNT, created["id"])
    assert hook.find_audience(ACCOUNT, "flow audience")["id"] == audience["id"]  # type: ignore[index]


def test_retries_through_an_injected_429_storm_and_503s(emulator: EmulatorServer) -> None:
    hook = PinterestHook()
    before = control(emulator, "requests")["by_status"]
    control(emulator, "faults", {"rate_limit_storm": 3, "fail_every_n": 2})
    try:
        created = hook.create_customer_list(
            ACCOUNT, name="stormy list", records=",".join(hashes(120, "storm"))
        )
        fetched = hook.get_customer_list(ACCOUNT, created["id"])
    finally:
        control(emulator, "faults", {"rate_limit_storm": 0, "fail_every_n": 0})
    after = control(emulator, "requests")["by_status"]

    assert fetched["name"] == "stormy list"
    assert after.get("429", 0) - before.get("429", 0) >= 3  # type: ignore[union-attr]
    assert after.get("503", 0) > before.get("503", 0)  # type: ignore[union-attr]
    assert [c["name"] for c in hook.list_customer_lists(ACCOUNT)].count("stormy list") == 1


def test_refreshes_after_an_injected_expiry_and_follows_rotation(emulator: EmulatorServer) -> None:
    hook = PinterestHook()
    first_refresh_token = control(emulator, "tokens")["refresh_token"]
    hook.get_audience(
        ACCOUNT,
        hook.create_audience(
            ACCOUNT, name="expiry", audience_type="VISITOR", rule={"visitor_source_id": "2613484614072"}
        )["id"],
    )

    control(emulator, "expire_tokens", {})
    listed = list(hook.list_audiences(ACCOUNT))

    assert any(a["name"] == "expiry" for a in listed)
    assert control(emulator, "tokens")["refresh_token"] != first_refresh_token


def test_a_fresh_hook_with_the_used_refresh_token_fails_clearly(emulator: EmulatorServer) -> None:
    control(emulator, "expire_tokens", {})
    list(
        PinterestHook().list_customer_lists(ACCOUNT)
    )  # refreshes: the connection's refresh token is now used
    control(emulator, "expire_tokens", {})
    PROCESS_TOKENS.clear()  # the next task runs in a new process: only the connection is left
    with pytest.raises(PinterestApiError) as raised:
        PinterestHook().get_customer_list(ACCOUNT, "10000000000001")
    assert "oauth_variable" in str(raised.value)


async def test_async_hook_polls_through_faults_and_expiry() -> None:
    settings = emulator_settings(clock_speed=20.0)
    with EmulatorServer(settings, host="127.0.0.1", port=0) as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", server.connection_json())
        sync = PinterestHook()
        listing = sync.create_customer_list(ACCOUNT, name="async", records=",".join(hashes(200, "async")))
        control(server, "expire_tokens", {})
        control(server, "faults", {"rate_limit_storm": 2, "fail_every_n": 3})
        async with PinterestAsyncHook() as hook:
            fetched = await hook.get_customer_list(ACCOUNT, listing["id"])
            again = await hook.get_customer_list(ACCOUNT, listing["id"])
        assert fetched["id"] == again["id"] == listing["id"]
        assert control(server, "tokens")["refreshes"] == 1


def test_test_connection_with_and_without_a_default_ad_account(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert PinterestHook().test_connection() == (
        True,
        f"Connected to Pinterest; ad account {ACCOUNT} is readable.",
    )
    without_account = json.loads(emulator.connection_json())
    del without_account["extra"]["ad_account_id"]
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", json.dumps(without_account))
    assert PinterestHook().test_connection() == (True, "Connected to Pinterest.")
    wrong_token = {**without_account, "password": "wrong", "extra": {}}
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", json.dumps(wrong_token))
    ok, message = PinterestHook().test_connection()
    assert not ok
    assert "HTTP 401" in message


def test_ad_accounts_listing_matches_the_spec(emulator: EmulatorServer) -> None:
    require_spec()
    response = requests.get(
        f"{emulator.base_url}/ad_accounts",
        params={"page_size": 1},
        headers={"Authorization": f"Bearer {EmulatorSettings().access_token}"},
        timeout=10,
    )
    validate_response(response.request, response)
    assert response.json()["items"][0]["id"] == ACCOUNT
