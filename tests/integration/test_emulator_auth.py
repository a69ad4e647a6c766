"""Emulator: bearer auth, OAuth refresh with rotating refresh tokens, and access-token expiry."""

from __future__ import annotations

import threading

import pytest
import requests

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from tests.integration.emulator_api import ACCOUNT, TIMEOUT, control, emulator_settings, server_fixture
from tests.openapi_spec import validate_request, validate_response

SETTINGS = emulator_settings()

server = server_fixture(SETTINGS)


@pytest.fixture
def emulator(server: EmulatorServer) -> EmulatorServer:
    control(server, "POST", "/reset")
    return server


def get_lists(server: EmulatorServer, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(
        f"{server.base_url}/ad_accounts/{ACCOUNT}/customer_lists", headers=headers, timeout=TIMEOUT
    )
    validate_response(response.request, response)
    return response


def refresh(
    server: EmulatorServer, refresh_token: str, auth: tuple[str, str] | None = None, **extra: str
) -> requests.Response:
    response = requests.post(
        f"{server.base_url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
        auth=auth or (SETTINGS.client_id, SETTINGS.client_secret),
        timeout=TIMEOUT,
    )
    validate_response(response.request, response)
    return response


def assert_authentication_failed(response: requests.Response) -> None:
    assert response.status_code == 401
    assert response.json() == {"code": 2, "message": "Authentication failed."}


def test_missing_wrong_or_non_bearer_tokens_get_401_code_2(emulator: EmulatorServer) -> None:
    assert get_lists(emulator, SETTINGS.access_token).status_code == 200
    assert_authentication_failed(get_lists(emulator, None))
    assert_authentication_failed(get_lists(emulator, "not-a-token"))
    basic = requests.get(
        f"{emulator.base_url}/ad_accounts/{ACCOUNT}/customer_lists",
        auth=("emulator-access-token", ""),
        timeout=TIMEOUT,
    )
    assert_authentication_failed(basic)


def test_refresh_rotates_and_the_old_refresh_token_stops_working(emulator: EmulatorServer) -> None:
    response = refresh(
        emulator, SETTINGS.refresh_token, continuous_refresh="true", scope="ads:read,ads:write"
    )
    assert response.status_code == 200
    validate_request(response.request)
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["scope"] == "ads:read,ads:write"
    assert body["expires_in"] > 0
    assert body["refresh_token_expires_in"] > 0
    assert body["refresh_token_expires_at"] > 1_700_000_000
    assert body["refresh_token"] != SETTINGS.refresh_token
    assert control(emulator, "GET", "/tokens")["refresh_token"] == body["refresh_token"]

    reused = refresh(emulator, SETTINGS.refresh_token)
    assert reused.status_code == 400
    assert "refresh_token" in reused.json()["message"]

    again = refresh(emulator, body["refresh_token"])
    assert again.status_code == 200
    assert again.json()["refresh_token"] not in (body["refresh_token"], SETTINGS.refresh_token)
    tokens = control(emulator, "GET", "/tokens")
    assert (tokens["refreshes"], tokens["access_tokens_issued"], tokens["access_tokens_valid"]) == (2, 3, 3)


def test_old_and_new_access_tokens_are_valid_at_once(emulator: EmulatorServer) -> None:
    new_token = refresh(emulator, SETTINGS.refresh_token).json()["access_token"]
    assert get_lists(emulator, new_token).status_code == 200
    assert get_lists(emulator, SETTINGS.access_token).status_code == 200


def test_rotation_can_be_turned_off(emulator: EmulatorServer) -> None:
    control(emulator, "POST", "/faults", json={"rotate_refresh_tokens": False})
    first = refresh(emulator, SETTINGS.refresh_token).json()
    second = refresh(emulator, SETTINGS.refresh_token).json()
    assert first["refresh_token"] == second["refresh_token"] == SETTINGS.refresh_token
    assert first["access_token"] != second["access_token"]


def test_concurrent_refreshes_with_one_token_let_exactly_one_win(emulator: EmulatorServer) -> None:
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def attempt() -> None:
        barrier.wait()
        statuses.append(refresh(emulator, SETTINGS.refresh_token).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 400]


def test_token_endpoint_checks_client_and_form(emulator: EmulatorServer) -> None:
    assert_authentication_failed(
        refresh(emulator, SETTINGS.refresh_token, auth=("emulator-client-id", "wrong"))
    )
    no_basic = requests.post(
        f"{emulator.base_url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        timeout=TIMEOUT,
    )
    assert no_basic.status_code == 401
    grant = requests.post(
        f"{emulator.base_url}/oauth/token",
        data={"grant_type": "password"},
        auth=(SETTINGS.client_id, SETTINGS.client_secret),
        timeout=TIMEOUT,
    )
    assert grant.status_code == 400
    assert "grant_type" in grant.json()["message"]
    as_json = requests.post(
        f"{emulator.base_url}/oauth/token",
        json={"grant_type": "refresh_token", "refresh_token": SETTINGS.refresh_token},
        auth=(SETTINGS.client_id, SETTINGS.client_secret),
        timeout=TIMEOUT,
    )
    assert as_json.status_code == 400
    assert refresh(emulator, SETTINGS.refresh_token, continuous_refresh="maybe").status_code == 400
    assert control(emulator, "GET", "/tokens")["refresh_token"] == SETTINGS.refresh_token


def test_access_token_expires_after_n_requests_then_refresh_works(emulator: EmulatorServer) -> None:
    control(emulator, "POST", "/faults", json={"access_token_max_requests": 3})
    assert [get_lists(emulator, SETTINGS.access_token).status_code for _ in range(4)] == [200, 200, 200, 401]
    fresh = refresh(emulator, SETTINGS.refresh_token).json()["access_token"]
    assert [get_lists(emulator, fresh).status_code for _ in range(4)] == [200, 200, 200, 401]


def test_access_token_expires_by_age_on_the_emulated_clock(emulator: EmulatorServer) -> None:
    control(emulator, "POST", "/faults", json={"access_token_ttl_seconds": 3600})
    fresh = refresh(emulator, SETTINGS.refresh_token).json()
    assert fresh["expires_in"] == 3600
    control(emulator, "POST", "/clock/advance", json={"seconds": 1800})
    assert get_lists(emulator, fresh["access_token"]).status_code == 200
    control(emulator, "POST", "/clock/advance", json={"seconds": 1801})
    assert_authentication_failed(get_lists(emulator, fresh["access_token"]))
    assert_authentication_failed(get_lists(emulator, SETTINGS.access_token))
    newer = refresh(emulator, fresh["refresh_token"]).json()["access_token"]
    assert get_lists(emulator, newer).status_code == 200


def test_expire_tokens_revokes_every_access_token(emulator: EmulatorServer) -> None:
    fresh = refresh(emulator, SETTINGS.refresh_token).json()
    assert control(emulator, "POST", "/expire_tokens") == {"expired": 2}
    assert_authentication_failed(get_lists(emulator, SETTINGS.access_token))
    assert_authentication_failed(get_lists(emulator, fresh["access_token"]))
    newer = refresh(emulator, fresh["refresh_token"]).json()["access_token"]
    assert get_lists(emulator, newer).status_code == 200
