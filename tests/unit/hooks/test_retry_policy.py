"""``hooks.retry_policy``: which statuses are retried, and how long to wait before the next try."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_pinterest_audiences.hooks import retry_policy
from airflow_provider_pinterest_audiences.hooks.retry_policy import RetryPolicy

POLICY = RetryPolicy(backoff_base_seconds=1.0, backoff_cap_seconds=60.0, max_server_wait_seconds=600.0)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_rate_limits_and_server_errors_are_retried(status: int) -> None:
    assert POLICY.is_retryable(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 501])
def test_client_errors_and_not_implemented_are_not_retried(status: int) -> None:
    assert not POLICY.is_retryable(status)


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 1.0), (2, 2.0), (4, 8.0), (7, 60.0), (30, 60.0)])
def test_backoff_doubles_up_to_the_cap_with_jitter_in_its_upper_half(attempt: int, ceiling: float) -> None:
    with mock.patch.object(retry_policy.random, "uniform", return_value=0.0) as uniform:
        POLICY.wait_seconds(attempt)
    uniform.assert_called_once_with(ceiling / 2, ceiling)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "5"}, 5.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"X-RateLimit-Reset": "30"}, 30.0),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT", "X-RateLimit-Reset": "7"}, 7.0),
        ({"Retry-After": "86400"}, 600.0),
    ],
)
def test_the_server_says_how_long_to_wait_capped(headers: dict[str, str], seconds: float) -> None:
    assert POLICY.wait_seconds(1, headers) == seconds


def test_a_reset_given_as_an_epoch_time_is_waited_until() -> None:
    with mock.patch.object(retry_policy.time, "time", return_value=1_800_000_000.0):
        assert POLICY.wait_seconds(1, {"X-RateLimit-Reset": "1800000042"}) == 42.0


def test_headers_without_a_usable_wait_fall_back_to_backoff() -> None:
    with mock.patch.object(retry_policy.random, "uniform", return_value=0.75):
        assert POLICY.wait_seconds(1, {"Retry-After": "soon", "Content-Type": "application/json"}) == 0.75
