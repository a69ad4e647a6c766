"""Emulator: per-category rate limits, injected faults, and the request log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from tests.openapi_spec import require_spec, validate_response

TIMEOUT = 10
ACCOUNT = "549755885175"
LISTS = f"/ad_accounts/{ACCOUNT}/customer_lists"
SETTINGS = EmulatorSettings()


class Api:
    """Raw requests to one emulator; answers are checked against the spec's response schemas."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {SETTINGS.access_token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, self.server.base_url + path, **kwargs)
        validate_response(response.request, response)
        return response

    def create_list(self, name: str = "l") -> requests.Response:
        return self.call("POST", LISTS, json={"name": name, "records": "a,b"})

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method, f"{self.server.root_url}/_emulator{path}", timeout=TIMEOUT, **kwargs
        )
        assert response.status_code == 200, response.text
        return response.json()

    def list_count(self) -> int:
        return len(self.control("GET", "/summary")["ad_accounts"][ACCOUNT]["customer_lists"])


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    require_spec()
    with EmulatorServer(SETTINGS) as running:
        yield running


@pytest.fixture
def api(server: EmulatorServer) -> Api:
    client = Api(server)
    client.control("POST", "/reset")
    return client


def test_write_limit_answers_429_code_8_with_both_headers(api: Api) -> None:
    api.control("POST", "/faults", json={"ads_write_per_minute": 2})
    assert [api.create_list().status_code for _ in range(2)] == [200, 200]
    limited = api.create_list()
    assert limited.status_code == 429
    assert limited.json()["code"] == 8
    assert limited.json()["message"].startswith("This request exceeded a rate limit.")
    for header in ("Retry-After", "X-RateLimit-Reset"):
        assert 1 <= int(limited.headers[header]) <= 60
    assert api.list_count() == 2
    assert api.call("GET", LISTS).status_code == 200
    token = requests.post(
        f"{api.server.base_url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": SETTINGS.refresh_token},
        auth=(SETTINGS.client_id, SETTINGS.client_secret),
        timeout=TIMEOUT,
    )
    assert token.status_code == 200


def test_read_limit_is_a_separate_bucket_and_covers_audience_sizing(api: Api) -> None:
    api.control("POST", "/faults", json={"ads_read_per_minute": 2})
    assert api.call("GET", LISTS).status_code == 200
    sizing = api.call("POST", f"/ad_accounts/{ACCOUNT}/ad_groups/audience_sizing", json={})
    assert sizing.status_code == 200
    assert api.call("GET", LISTS).status_code == 429
    assert api.create_list().status_code == 200


def test_fail_every_nth_request_answers_503_and_changes_nothing(api: Api) -> None:
    list_id = api.create_list().json()["id"]
    api.control("POST", "/faults", json={"fail_every_n": 3})
    assert api.call("GET", LISTS).status_code == 200
    assert api.call("GET", LISTS).status_code == 200
    failed = api.call("PATCH", f"{LISTS}/{list_id}", json={"operation_type": "ADD", "records": "lost"})
    assert failed.status_code == 503
    assert failed.json()["code"] == 4197
    records = api.control("GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
    assert records["added"] == ["a", "b"]
    assert api.call("GET", f"{LISTS}/{list_id}").json()["num_batches"] == 1
    assert api.create_list().status_code == 200
    assert api.create_list().status_code == 503
    assert api.list_count() == 2


def test_storm_answers_429_with_a_small_retry_after_then_recovers(api: Api) -> None:
    api.control("POST", "/faults", json={"rate_limit_storm": 3})
    answers = [api.create_list() for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 429]
    assert all(a.json()["code"] == 8 for a in answers)
    assert float(answers[0].headers["Retry-After"]) == pytest.approx(0.1)
    assert float(answers[0].headers["X-RateLimit-Reset"]) == pytest.approx(0.1)
    assert api.list_count() == 0
    assert api.create_list().status_code == 200


def test_faults_never_touch_the_control_api(api: Api) -> None:
    api.control("POST", "/faults", json={"rate_limit_storm": 2, "fail_every_n": 1})
    for _ in range(3):
        api.control("GET", "/summary")
    faults = api.control("GET", "/faults")
    assert (faults["rate_limit_storm"], faults["fail_every_n"]) == (2, 1)
    assert api.call("GET", LISTS).status_code == 429
    assert api.call("GET", LISTS).status_code == 429
    assert api.call("GET", LISTS).status_code == 503


def test_latency_delays_pinterest_routes(api: Api) -> None:
    api.control("POST", "/faults", json={"latency_ms": 250})
    started = time.perf_counter()
    assert api.call("GET", LISTS).status_code == 200
    assert time.perf_counter() - started >= 0.25


def test_bad_live_settings_are_rejected_by_name(api: Api) -> None:
    for body, field in (
        ({"fail_every_n": "3"}, "fail_every_n"),
        ({"clock_speed": 0}, "clock_speed"),
        ({"client_secret": "x"}, "client_secret"),
    ):
        response = requests.post(f"{api.server.root_url}/_emulator/faults", json=body, timeout=TIMEOUT)
        assert response.status_code == 400
        assert field in response.json()["message"]


def test_request_log_counts_by_category_and_status(api: Api) -> None:
    api.create_list()
    api.call("GET", LISTS)
    requests.get(f"{api.server.base_url}{LISTS}", timeout=TIMEOUT)
    requests.post(
        f"{api.server.base_url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": SETTINGS.refresh_token},
        auth=(SETTINGS.client_id, SETTINGS.client_secret),
        timeout=TIMEOUT,
    )
    report = api.control("GET", "/requests")
    assert report["total"] == 4
    assert report["by_category"] == {"ads_write": 1, "ads_read": 2, "oauth": 1}
    assert report["by_status"] == {"200": 3, "401": 1}
    assert [(r["method"], r["path"], r["status"]) for r in report["recent"]] == [
        ("POST", f"/v5{LISTS}", 200),
        ("GET", f"/v5{LISTS}", 200),
        ("GET", f"/v5{LISTS}", 401),
        ("POST", "/v5/oauth/token", 200),
    ]


def test_reset_restores_the_seeded_state(api: Api) -> None:
    api.create_list()
    api.control("POST", "/faults", json={"fail_every_n": 1})
    api.control("POST", "/reset")
    assert api.list_count() == 0
    assert api.control("GET", "/faults")["fail_every_n"] == 0
    assert api.control("GET", "/requests")["total"] == 0
    assert len(api.control("GET", "/summary")["ad_accounts"][ACCOUNT]["ad_groups"]) == 3
