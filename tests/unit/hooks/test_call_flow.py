"""The I/O-free call policy, step by step: each case is the exact sequence of steps a flow asks for."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestTokenStorageError
from airflow_provider_pinterest_audiences.hooks.call_flow import (
    RACE_REREAD_WAITS,
    SAVE_RETRY_WAITS,
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
    call_flow,
    drive,
    drive_async,
    refresh_flow,
)
from airflow_provider_pinterest_audiences.hooks.connection_config import PinterestConnectionConfig
from airflow_provider_pinterest_audiences.hooks.oauth import TokenGrant
from airflow_provider_pinterest_audiences.hooks.replies import Reply
from airflow_provider_pinterest_audiences.hooks.retry_policy import RetryPolicy

OK = Reply(200, {}, {"id": "1"})
NO_JITTER = RetryPolicy(max_attempts=3, backoff_base_seconds=0.0)


def reply(status: int, headers: Mapping[str, str] | None = None, **body: Any) -> Reply:
    return Reply(status, headers or {}, body or {"code": 1, "message": f"HTTP {status}"})


@dataclass
class Case:
    """``script``: (the step expected, or its type; the result fed back). ``returns`` or ``raises``."""

    script: list[tuple[Step | type, Any]]
    returns: Any = None
    raises: str | None = None
    flow_args: dict[str, Any] = field(default_factory=dict)


def play(flow: Generator[Step, Any, Any], case: Case) -> None:
    result: Any = None
    for expected, answer in case.script:
        step = flow.send(result)
        assert isinstance(step, expected) if isinstance(expected, type) else step == expected
        result = answer
    if case.raises is not None:
        with pytest.raises(PinterestApiError, match=case.raises):
            flow.send(result)
        return
    with pytest.raises(StopIteration) as stop:
        flow.send(result)
    returned = stop.value.value
    assert case.returns(returned) if callable(case.returns) else returned == case.returns


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
    "429 waits Retry-After": Case(
        [(Send(), reply(429, {"Retry-After": "7"})), (Sleep(7.0), None), (Send(), OK)], returns={"id": "1"}
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
        [(Send(), reply(429, {"Retry-After": "1"})), (Sleep(1.0), None), (Send(), OK)],
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


CONFIG = PinterestConnectionConfig.from_fields(
    "c", "", None, {"client_id": "1", "client_secret": "s", "refresh_token": "r-conn", "oauth_variable": "v"}
)
GRANT = {"access_token": "a-new", "refresh_token": "r-new", "expires_in": 3600}
REJECTED = reply(400, code=1104, message="Invalid refresh token")
STORED = TokenGrant("a-old", "r-stored", expires_at=0.0, issued_at=100.0)
WINNER = TokenGrant("a-win", "r-win", expires_at=None, issued_at=200.0)
WINNER_EXPIRED = TokenGrant("a-win", "r-win", expires_at=1.0, issued_at=200.0)
WAITS = [w for w in RACE_REREAD_WAITS if w]


def new_grant(grant: TokenGrant) -> bool:
    return (grant.access_token, grant.refresh_token) == ("a-new", "r-new")


def re_reads(until: int, found: TokenGrant | None) -> list[tuple[Step | type, Any]]:
    """The loser's re-reads: nothing newer in the first ``until`` ones, then ``found``."""
    script: list[tuple[Step | type, Any]] = [(LoadStoredGrant(), None if until else found)]
    for index, wait in enumerate(WAITS, start=1):
        if index > until:
            break
        script += [(Sleep(wait), None), (LoadStoredGrant(), found if index == until else None)]
    return script


REFRESH_CASES: dict[str, Case] = {
    "no store: post, adopt": Case(
        [(PostToken, Reply(200, {}, GRANT)), (Adopt, None)], returns=new_grant, flow_args={"has_store": False}
    ),
    "store: read, post, adopt, save": Case(
        [(LoadStoredGrant(), STORED), (PostToken, Reply(200, {}, GRANT)), (Adopt, None), (SaveGrant, None)],
        returns=new_grant,
    ),
    "a failed save is retried with backoff": Case(
        [
            (LoadStoredGrant(), None),
            (PostToken, Reply(200, {}, GRANT)),
            (Adopt, None),
            (SaveGrant, "OperationalError"),
            (Sleep(SAVE_RETRY_WAITS[0]), None),
            (SaveGrant, None),
        ],
        returns=new_grant,
    ),
    "401: the app credentials are wrong, no race to wait for": Case(
        [(LoadStoredGrant(), STORED), (PostToken, reply(401))], raises="Check client_id and client_secret"
    ),
    "race: the winner's usable pair appears at the third read": Case(
        [(LoadStoredGrant(), STORED), (PostToken, REJECTED), *re_reads(2, WINNER), (Adopt(WINNER), None)],
        returns=WINNER,
    ),
    "race: the winner's pair is expired, so its refresh token is used": Case(
        [
            (LoadStoredGrant(), STORED),
            (PostToken, REJECTED),
            *re_reads(0, WINNER_EXPIRED),
            (PostToken, Reply(200, {}, GRANT)),
            (Adopt, None),
            (SaveGrant, None),
        ],
        returns=new_grant,
    ),
    "no winner: the connection's token, then a message without deletion advice": Case(
        [
            (LoadStoredGrant(), STORED),
            (PostToken, REJECTED),
            *re_reads(len(WAITS) + 1, None),
            (PostToken, REJECTED),
        ],
        raises=r"Re-authorise(?!.*delete)",
    ),
}


@pytest.mark.parametrize("name", REFRESH_CASES)
def test_refresh_flow(name: str) -> None:
    case = REFRESH_CASES[name]
    play(refresh_flow(CONFIG, **{"has_store": True, **case.flow_args}), case)


def test_a_rotated_pair_that_cannot_be_saved_raises_after_every_retry() -> None:
    flow = refresh_flow(CONFIG, has_store=True)
    steps = [flow.send(None), flow.send(None), flow.send(Reply(200, {}, GRANT)), flow.send(None)]
    for wait in SAVE_RETRY_WAITS:
        assert flow.send("OperationalError") == Sleep(wait)
        assert isinstance(flow.send(None), SaveGrant)

    with pytest.raises(PinterestTokenStorageError, match=r"failed 4 times \(OperationalError\)"):
        flow.send("OperationalError")
    assert [type(step) for step in steps] == [LoadStoredGrant, PostToken, Adopt, SaveGrant]


# -- the step-handler contract both loops share ------------------------------------------------------


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
