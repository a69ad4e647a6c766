"""Emulator: per-category rate limits, injected faults, and the request log."""

from __future__ import annotations

import time

import pytest
import requests

from tests.integration.emulator_api import (
    ACCOUNT,
    TIMEOUT,
    Api,
    api_fixture,
    emulator_settings,
    server_fixture,
)

LISTS = f"/ad_accounts/{ACCOUNT}/customer_lists"
SETTINGS = emulator_settings()


class TrafficApi(Api):
    """The shared client; these tests use its raw ``send``, as they expect 429s and 503s."""

    def create_list(self, name: str = "l") -> requests.Response:
        return self.send("POST", LISTS, json={"name": name, "records": "a,b"})

    def list_count(self) -> int:
        return len(self.control("GET", "/summary")["ad_accounts"][ACCOUNT]["customer_lists"])


server = server_fixture(SETTINGS)
api = api_fixture(TrafficApi)


def test_write_limit_answers_429_code_8_with_both_headers(api: TrafficApi) -> None:
    api.control("POST", "/faults", json={"ads_write_per_minute": 2})
    assert [api.create_list().status_code for _ in range(2)] == [200, 200]
    limited = api.create_list()
    assert limited.status_code == 429
    assert limited.json()["code"] == 8
    assert limited.json()["message"].startswith("This request exceeded a rate limit.")
    for header in ("Retry-After", "X-RateLimit-Reset"):
        assert 1 <= int(limited.headers[header]) <= 60
    assert api.list_count() == 2
    assert api.send("GET", LISTS).status_code == 200
    token = requests.post(
        f"{api.server.base_url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": SETTINGS.refresh_token},
        auth=(SETTINGS.client_id, SETTINGS.client_secret),
        timeout=TIMEOUT,
    )
    assert token.status_code == 200


def test_read_limit_is_a_separate_bucket_and_covers_audience_sizing(api: TrafficApi) -> None:
    api.control("POST", "/faults", json={"ads_read_per_minute": 2})
    assert api.send("GET", LISTS).status_code == 200
    sizing = api.send("POST", f"/ad_accounts/{ACCOUNT}/ad_groups/audience_sizing", json={})
    assert sizing.status_code == 200
    assert api.send("GET", LISTS).status_code == 429
    assert api.create_list().status_code == 200


def test_fail_every_nth_request_answers_503_and_changes_nothing(api: TrafficApi) -> None:
    list_id = api.create_list().json()["id"]
    api.control("POST", "/faults", json={"fail_every_n": 3})
    assert api.send("GET", LISTS).status_code == 200
    assert api.send("GET", LISTS).status_code == 200
    failed = api.send("PATCH", f"{LISTS}/{list_id}", json={"operation_type": "ADD", "records": "lost"})
    assert failed.status_code == 503
    assert failed.json()["code"] == 4197
    records = api.control("GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
    assert records["added"] == ["a", "b"]
    assert api.send("GET", f"{LISTS}/{list_id}").json()["num_batches"] == 1
    assert api.create_list().status_code == 200
    assert api.create_list().status_code == 503
    assert api.list_count() == 2


def test_storm_answers_429_with_a_small_retry_after_then_recovers(api: TrafficApi) -> None:
    api.control("POST", "/faults", json={"rate_limit_storm": 3})
    answers = [api.create_list() for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 429]
    assert all(a.json()["code"] == 8 for a in answers)
    assert float(answers[0].headers["Retry-After"]) == pytest.approx(0.1)
    assert float(answers[0].headers["X-RateLimit-Reset"]) == pytest.approx(0.1)
    assert api.list_count() == 0
    assert api.create_list().status_code == 200


def test_faults_never_touch_the_control_api(api: TrafficApi) -> None:
    api.control("POST", "/faults", json={"rate_limit_storm": 2, "fail_every_n": 1})
    for _ in range(3):
        api.control("GET", "/summary")
    faults = api.control("GET", "/faults")
    assert (faults["rate_limit_storm"], faults["fail_every_n"]) == (2, 1)
    assert api.send("GET", LISTS).status_code == 429
    assert api.send("GET", LISTS).status_code == 429
    assert api.send("GET", LISTS).status_code == 503


def test_latency_delays_pinterest_routes(api: TrafficApi) -> None:
    api.control("POST", "/faults", json={"latency_ms": 250})
    started = time.perf_counter()
    assert api.send("GET", LISTS).status_code == 200
    assert time.perf_counter() - started >= 0.25


def test_bad_live_settings_are_rejected_by_name(api: TrafficApi) -> None:
    for body, field in (
        ({"fail_every_n": "3"}, "fail_every_n"),
        ({"clock_speed": 0}, "clock_speed"),
        ({"client_secret": "x"}, "client_secret"),
    ):
        response = requests.post(f"{api.server.root_url}/_emulator/faults", json=body, timeout=TIMEOUT)
        assert response.status_code == 400
        assert field in response.json()["message"]


def test_request_log_counts_by_category_and_status(api: TrafficApi) -> None:
    api.create_list()
    api.send("GET", LISTS)
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


def test_reset_restores_the_seeded_state(api: TrafficApi) -> None:
    api.create_list()
    api.control("POST", "/faults", json={"fail_every_n": 1})
    api.control("POST", "/reset")
    assert api.list_count() == 0
    assert api.control("GET", "/faults")["fail_every_n"] == 0
    assert api.control("GET", "/requests")["total"] == 0
    assert len(api.control("GET", "/summary")["ad_accounts"][ACCOUNT]["ad_groups"]) == 3
