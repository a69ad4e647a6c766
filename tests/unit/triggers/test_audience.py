"""PinterestAudienceTrigger with a fake async hook and clock: serialisation and every way a wait ends."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError
from airflow_provider_pinterest_audiences.triggers import audience as trigger_module
from airflow_provider_pinterest_audiences.triggers.audience import PinterestAudienceTrigger

ACCOUNT = "549755885175"
AUDIENCE_ID = "2542620905475"
LIST_ID = "2542620905999"
START = 1_800_000_000.0


def audience(status: str, size: int = 0) -> dict[str, Any]:
    return {"id": AUDIENCE_ID, "name": "Buyers", "type": "audience", "status": status, "size": size}


def unavailable() -> PinterestApiError:
    return PinterestApiError("audiences/get", 429, None, "rate limited", transient=True)


class Pinterest:
    """The fake async hook's answers, the reads it got, and the trigger's clock and sleeps."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any] | Exception] = []
        self.reads: list[tuple[str, str, str]] = []
        self.connections: list[str] = []
        self.closed = 0
        self.now = START
        self.sleeps: list[float] = []

    def answer(self, *answers: dict[str, Any] | Exception) -> None:
        self.answers = list(answers)

    def read(self, method: str, account: str, object_id: str) -> dict[str, Any]:
        self.reads.append((method, account, object_id))
        found = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(found, Exception):
            raise found
        return dict(found)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def pinterest(monkeypatch: pytest.MonkeyPatch) -> Pinterest:
    fake = Pinterest()

    class FakeAsyncHook:
        def __init__(self, pinterest_conn_id: str) -> None:
            fake.connections.append(pinterest_conn_id)

        async def __aenter__(self) -> FakeAsyncHook:
            return self

        async def __aexit__(self, *exc_info: object) -> None:
            fake.closed += 1

        async def get_audience(self, ad_account_id: str, audience_id: str) -> dict[str, Any]:
            return fake.read("get_audience", ad_account_id, audience_id)

        async def get_customer_list(self, ad_account_id: str, customer_list_id: str) -> dict[str, Any]:
            return fake.read("get_customer_list", ad_account_id, customer_list_id)

    monkeypatch.setattr(trigger_module, "PinterestAsyncHook", FakeAsyncHook)
    monkeypatch.setattr(trigger_module, "asyncio", SimpleNamespace(sleep=fake.sleep))
    monkeypatch.setattr(time, "time", lambda: fake.now)
    return fake


def trigger(**kwargs: Any) -> PinterestAudienceTrigger:
    arguments = {"pinterest_conn_id": "pinterest_ads", "ad_account_id": ACCOUNT, "poll_interval": 60}
    return PinterestAudienceTrigger(**{**arguments, **kwargs})


def only_event(waiting: PinterestAudienceTrigger) -> dict[str, Any]:
    async def collect() -> list[Any]:
        return [event async for event in waiting.run()]

    events = asyncio.run(collect())
    assert len(events) == 1
    payload: dict[str, Any] = events[0].payload
    return payload


# -- serialisation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "kind"),
    [({"audience_id": AUDIENCE_ID}, "audience"), ({"customer_list_id": LIST_ID}, "customer_list")],
)
def test_serialize_round_trips_through_json(target: dict[str, str], kind: str) -> None:
    original = trigger(
        **target,
        success_statuses=["ready"],
        failure_statuses=("TOO_SMALL",),
        poll_interval=300,
        end_time=START,
    )

    classpath, kwargs = original.serialize()
    rebuilt = PinterestAudienceTrigger(**json.loads(json.dumps(kwargs)))

    assert classpath == "airflow_provider_pinterest_audiences.triggers.audience.PinterestAudienceTrigger"
    assert kwargs == {
        "pinterest_conn_id": "pinterest_ads",
        "ad_account_id": ACCOUNT,
        "audience_id": target.get("audience_id"),
        "customer_list_id": target.get("customer_list_id"),
        "success_statuses": ["READY"],
        "failure_statuses": ["TOO_SMALL"],
        "poll_interval": 300.0,
        "end_time": START,
    }
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.target.kind == kind


# -- how a wait ends ------------------------------------------------------------------------------


def test_success_after_polls_one_interval_apart(pinterest: Pinterest) -> None:
    pinterest.answer(audience("INITIALIZING"), audience("PROCESSING"), audience("READY", 1500))

    event = only_event(trigger(audience_id=AUDIENCE_ID))

    assert event == {
        "status": "success",
        "audience": audience("READY", 1500),
        "message": f"Pinterest audience {AUDIENCE_ID} 'Buyers' (size 1500) is ready.",
    }
    assert pinterest.reads == [("get_audience", ACCOUNT, AUDIENCE_ID)] * 3
    assert pinterest.sleeps[1:] == [60, 60]
    assert (pinterest.connections, pinterest.closed) == (["pinterest_ads"], 1)


def test_failure_status_ends_the_wait_with_advice(pinterest: Pinterest) -> None:
    pinterest.answer(audience("PROCESSING"), audience("TOO_SMALL", 12))

    event = only_event(trigger(audience_id=AUDIENCE_ID))

    assert event["status"] == "failure"
    assert event["audience"] == audience("TOO_SMALL", 12)
    assert "is TOO_SMALL: fewer than 100 Pinterest users matched" in event["message"]


def test_unknown_statuses_and_outages_are_waited_through(
    pinterest: Pinterest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    pinterest.answer(audience("BRAND_NEW"), unavailable(), unavailable(), audience("READY", 300))

    event = only_event(trigger(audience_id=AUDIENCE_ID))

    assert event["status"] == "success"
    assert len(pinterest.reads) == 4
    assert "'BRAND_NEW', which this provider does not know" in caplog.text
    assert caplog.text.count("trying again at the next poll") == 2


def test_an_api_error_that_is_not_transient_ends_the_wait_with_an_error_event(pinterest: Pinterest) -> None:
    pinterest.answer(audience("PROCESSING"), PinterestApiError("audiences/get", 404, 2, "Audience not found"))

    event = only_event(trigger(audience_id=AUDIENCE_ID))

    assert event["status"] == "error"
    assert event["audience"] == audience("PROCESSING")
    assert event["message"].startswith(f"Waiting for Pinterest audience {AUDIENCE_ID} failed: ")
    assert "HTTP 404" in event["message"]
    assert pinterest.closed == 1


def test_timeout_at_the_end_time_never_sleeping_past_it(pinterest: Pinterest) -> None:
    pinterest.answer(audience("PROCESSING", 40))

    event = only_event(trigger(audience_id=AUDIENCE_ID, poll_interval=100, end_time=START + 250))

    assert event["status"] == "timeout"
    assert event["audience"] == audience("PROCESSING", 40)
    assert event["message"].startswith("Timed out at 2027-01-15T08:04:10+00:00: Pinterest audience")
    assert (
        "was still PROCESSING. Audiences are typically ready within 48 hours, sometimes 72"
        in event["message"]
    )
    assert pinterest.now == START + 250
    assert all(seconds <= 100 for seconds in pinterest.sleeps)


def test_an_end_time_already_passed_times_out_before_any_read(pinterest: Pinterest) -> None:
    pinterest.answer(audience("READY"))

    event = only_event(trigger(customer_list_id=LIST_ID, end_time=START - 1))

    assert event["status"] == "timeout"
    assert event["customer_list"] is None
    assert "customer list 2542620905999 had not been read yet" in event["message"]
    assert pinterest.reads == []


def test_customer_lists_are_read_with_the_list_endpoint(pinterest: Pinterest) -> None:
    found = {"id": LIST_ID, "name": "Buyers", "type": "customerlist", "status": "READY"}
    pinterest.answer({**found, "status": "UPLOADING"}, found)

    event = only_event(trigger(customer_list_id=LIST_ID))

    assert event == {"status": "success", "customer_list": found, "message": event["message"]}
    assert pinterest.reads[0] == ("get_customer_list", ACCOUNT, LIST_ID)


# -- the first delay ------------------------------------------------------------------------------


def test_first_poll_comes_after_a_random_delay_of_at_most_one_interval(
    pinterest: Pinterest, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[tuple[float, float, float]] = []

    def uniform(low: float, high: float) -> float:
        value = random.Random(len(drawn)).uniform(low, high)
        drawn.append((low, high, value))
        return value

    monkeypatch.setattr(random, "uniform", uniform)
    for _ in range(20):
        pinterest.answer(audience("READY"))
        pinterest.sleeps.clear()
        only_event(trigger(audience_id=AUDIENCE_ID, poll_interval=900))
        assert pinterest.sleeps == [drawn[-1][2]]  # one sleep, then the read that ends the wait

    assert {(low, high) for low, high, _ in drawn} == {(0, 900.0)}
    assert all(0 <= value <= 900 for _, _, value in drawn)
    assert len({value for _, _, value in drawn}) > 1


def test_the_first_delay_is_cut_at_the_end_time(
    pinterest: Pinterest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    pinterest.answer(audience("PROCESSING"))

    event = only_event(trigger(audience_id=AUDIENCE_ID, poll_interval=3600, end_time=START + 5))

    assert pinterest.sleeps == [5]
    assert event["status"] == "timeout"
    assert pinterest.reads == []
