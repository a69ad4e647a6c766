"""The I/O-free call policy, step by step: each case is the exact sequence of steps a call asks for."""

from __future__ import annotations

import pytest

from airflow_provider_pinterest_audiences.hooks.call_flow import call_flow
from airflow_provider_pinterest_audiences.hooks.replies import Reply
from airflow_provider_pinterest_audiences.hooks.retry_policy import RetryPolicy
from airflow_provider_pinterest_audiences.hooks.steps import (
    FindExisting,
    Refresh,
    Send,
    Sleep,
    TransportFailure,
)
from tests.unit.hooks.scripted_flow import OK, Case, play, reply

NO_JITTER = RetryPolicy(max_attempts=3, backoff_base_seconds=0.0)

CALL_CASES: dict[str, Case] = {
    "200 at once": Case([(Send(), OK)], returns={"id": "1"}),
    "401 -> refresh -> replay": Case(
        [(Send(), reply(401)), (Refresh(), None), (Send(), OK)], returns={"id": "1"}
    ),
    "401 after the refresh is final": Case(
        [(Send(), reply(401)), (Refresh(), None), (Send(), reply(401))], raises="HTTP 401"
    ),
    "401 without refresh credentials": Case(
        [(Send(), reply(401))], raises="HTTP 401", flow_args={"can_refresh": False}
    ),
    "429 waits Retry-After, as a rate-limit wait": Case(
        [(Send(), reply(429, {"Retry-After": "7"})), (Sleep(7.0, rate_limited=True), None), (Send(), OK)],
        returns={"id": "1"},
    ),
    "5xx backs off, then succeeds": Case(
        [(Send(), reply(503)), (Sleep(0.0), None), (Send(), reply(502)), (Sleep(0.0), None), (Send(), OK)],
        returns={"id": "1"},
    ),
    "gives up after max_attempts": Case(
        [(Send(), reply(503)), (Sleep, None), (Send(), reply(500)), (Sleep, None), (Send(), reply(503))],
        raises="HTTP 503.*Gave up after 3 attempts",
    ),
    "dropped connection is retried": Case(
        [(Send(), TransportFailure("ConnectionError", maybe_applied=True)), (Sleep, None), (Send(), OK)],
        returns={"id": "1"},
    ),
    "4xx is final": Case([(Send(), reply(404))], raises="HTTP 404"),
    "a redirect is final": Case(
        [(Send(), Reply(308, {"Location": "https://x.example/"}, ""))], raises="'x.example'"
    ),
    "a 2xx that is not JSON is an error": Case(
        [(Send(), Reply(200, {}, "<html>", is_json=False))], raises="not JSON"
    ),
    "ambiguous POST -> look-up finds it": Case(
        [(Send(), reply(503)), (FindExisting(), {"id": "9"})],
        returns={"id": "9"},
        flow_args={"replay_safe": False, "can_find_existing": True},
    ),
    "ambiguous POST -> look-up finds nothing -> resend": Case(
        [(Send(), reply(503)), (FindExisting(), None), (Sleep(0.0), None), (Send(), OK)],
        returns={"id": "1"},
        flow_args={"replay_safe": False, "can_find_existing": True},
    ),
    "ambiguous POST without a look-up is not replayed": Case(
        [(Send(), TransportFailure("ReadTimeout", maybe_applied=True))],
        raises="not replayed blindly",
        flow_args={"replay_safe": False, "can_find_existing": False},
    ),
    "POST after 429 is resent without a look-up": Case(
        [(Send(), reply(429, {"Retry-After": "1"})), (Sleep(1.0, rate_limited=True), None), (Send(), OK)],
        returns={"id": "1"},
        flow_args={"replay_safe": False, "can_find_existing": True},
    ),
    "POST never sent is resent without a look-up": Case(
        [(Send(), TransportFailure("ConnectTimeout", maybe_applied=False)), (Sleep(0.0), None), (Send(), OK)],
        returns={"id": "1"},
        flow_args={"replay_safe": False, "can_find_existing": True},
    ),
}


@pytest.mark.parametrize("name", CALL_CASES)
def test_call_flow(name: str) -> None:
    case = CALL_CASES[name]
    args = {"replay_safe": True, "can_refresh": True, "can_find_existing": False, **case.flow_args}
    play(call_flow("customer_lists/get", NO_JITTER, **args), case)
