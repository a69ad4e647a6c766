"""RateLimitWaits: one tally of 429 waits, shared by the threads of an upload."""

from __future__ import annotations

import threading

import httpx
import pytest
import respx

from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestAsyncHook
from airflow_provider_pinterest_audiences.hooks.rate_limit_waits import RateLimitWaits
from tests.conftest import AD_ACCOUNT_ID, MOCK_BASE_URL


def test_a_new_tally_is_empty() -> None:
    assert RateLimitWaits().figures() == {"count": 0, "seconds": 0.0}


def test_waits_added_from_many_threads_are_all_counted() -> None:
    tally = RateLimitWaits()
    start = threading.Barrier(8)

    def wait_often() -> None:
        start.wait()
        for _ in range(5_000):
            tally.add(0.5)

    threads = [threading.Thread(target=wait_often) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert tally.figures() == {"count": 40_000, "seconds": 20_000.0}


def test_seconds_are_rounded_to_milliseconds() -> None:
    tally = RateLimitWaits()
    tally.add(0.1)
    tally.add(0.2)

    assert tally.figures() == {"count": 2, "seconds": 0.3}


@pytest.mark.usefixtures("pinterest_conn")
async def test_the_async_hook_counts_its_429_waits_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_pinterest_audiences.hooks import pinterest

    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    monkeypatch.setattr(pinterest, "_async_sleep", no_sleep)
    url = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/audiences/42"
    with respx.mock(assert_all_called=False) as mock:
        mock.get(url).mock(
            side_effect=[
                httpx.Response(429, json={"code": 8}, headers={"Retry-After": "0.5"}),
                httpx.Response(503, json={"code": 4197}, headers={"Retry-After": "1"}),
                httpx.Response(200, json={"id": "42"}),
            ]
        )
        async with PinterestAsyncHook() as hook:
            await hook.get_audience(AD_ACCOUNT_ID, "42")

    assert sleeps == [0.5, 1.0]
    assert hook.rate_limit_waits.figures() == {"count": 1, "seconds": 0.5}
