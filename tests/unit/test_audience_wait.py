"""The wait rules shared by the sensor, the trigger and the create operators, and the sync wait loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout

from airflow_provider_pinterest_audiences.audience_wait import (
    DEFAULT_FAILURE_STATUSES,
    DEFAULT_SUCCESS_STATUSES,
    AudienceWait,
    PinterestAudienceFailedError,
    WaitTarget,
    audience_from_event,
    check_audience_status,
    deferral_timeout,
    poll_once,
    poll_once_async,
    status_rules,
    wait_event,
    wait_target,
    wait_until_done,
)
from airflow_provider_pinterest_audiences.exceptions import (
    PinterestApiError,
    PinterestError,
    PinterestInvalidArgumentError,
)


def audience(status: Any, size: int = 0) -> dict[str, Any]:
    return {"id": "2542620905475", "name": "Buyers", "type": "audience", "status": status, "size": size}


def check(found: dict[str, Any]) -> bool:
    return check_audience_status(found, DEFAULT_SUCCESS_STATUSES, DEFAULT_FAILURE_STATUSES)


# -- check_audience_status ------------------------------------------------------------------------


def test_ready_is_done() -> None:
    assert check(audience("READY", 1000)) is True


@pytest.mark.parametrize("status", ["INITIALIZING", "PROCESSING", "UPDATING", "PERSONAS_INITIALIZING"])
def test_documented_in_progress_statuses_wait_quietly(status: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)

    assert check(audience(status)) is False
    assert caplog.text == ""


@pytest.mark.parametrize("status", ["ELIGIBLE", "SOMETHING_NEW", None, ""])
def test_unknown_statuses_are_logged_and_wait(status: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)

    assert check(audience(status)) is False
    assert "does not know" in caplog.text


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        ("TOO_SMALL", "fewer than 100 Pinterest users matched. Add records"),
        ("ARCHIVED", "Create a new audience"),
        ("ERROR", "Pinterest could not build it"),
    ],
)
def test_failure_statuses_raise_with_status_size_and_advice(status: str, advice: str) -> None:
    found = audience(status, 37)

    with pytest.raises(PinterestAudienceFailedError) as error:
        check(found)

    message = str(error.value)
    assert f"is {status}" in message
    assert "size 37" in message
    assert advice in message
    assert "2542620905475" in message
    assert error.value.status == status
    assert error.value.audience == found


def test_user_chosen_statuses_are_case_insensitive_and_get_a_generic_message() -> None:
    assert check_audience_status(audience("ELIGIBLE"), ["eligible", "ready"], ["error"]) is True
    with pytest.raises(PinterestAudienceFailedError, match="one of failure_statuses"):
        check_audience_status(audience("PERSONAS_INELIGIBLE_SIZE"), ["READY"], ["personas_ineligible_size"])


def test_customer_lists_are_described_as_such() -> None:
    found = {
        "id": "77",
        "name": "Buyers",
        "type": "customerlist",
        "status": "TOO_SMALL",
        "num_uploaded_user_records": 12,
    }

    with pytest.raises(PinterestAudienceFailedError) as error:
        check(found)

    assert "customer list 77 'Buyers' (12 records uploaded) is TOO_SMALL" in str(error.value)
    assert check({**found, "status": "UPLOADING"}) is False
    assert check({**found, "status": "READY"}) is True


# -- argument checks ------------------------------------------------------------------------------------


def test_status_rules_normalise_and_accept_a_single_string() -> None:
    assert status_rules("ready", [" too_small "]) == (("READY",), ("TOO_SMALL",))


@pytest.mark.parametrize(
    ("success", "failure", "argument"),
    [
        ((), ("ERROR",), "success_statuses"),
        (("READY",), ("READY", "ERROR"), "failure_statuses"),
        (("READY", 3), (), "success_statuses"),
        (("READY",), ("",), "failure_statuses"),
    ],
)
def test_status_rules_reject_bad_lists_naming_the_argument(success: Any, failure: Any, argument: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as error:
        status_rules(success, failure)
    assert error.value.argument == argument


def test_wait_target_takes_exactly_one_id() -> None:
    assert wait_target("123", None) == WaitTarget("audience", "123")
    assert wait_target(" ", " 456 ") == WaitTarget("customer_list", "456")
    assert WaitTarget("customer_list", "456").id_kwargs() == {"audience_id": None, "customer_list_id": "456"}
    for audience_id, list_id in ((None, None), ("1", "2"), ("", None)):
        with pytest.raises(
            PinterestInvalidArgumentError, match="exactly one of audience_id or customer_list_id"
        ):
            wait_target(audience_id, list_id)


# -- events ---------------------------------------------------------------------------------------------


def test_success_event_gives_back_the_object_under_its_kind() -> None:
    found = audience("READY", 500)
    event = wait_event("success", WaitTarget("audience", "1"), found, "ready")

    assert event == {"status": "success", "audience": found, "message": "ready"}
    assert audience_from_event(event) == found
    listed = wait_event("success", WaitTarget("customer_list", "2"), {"id": "2"}, "ready")
    assert "audience" not in listed
    assert audience_from_event(listed) == {"id": "2"}


def test_failure_event_raises_the_failure_with_the_object() -> None:
    event = wait_event("failure", WaitTarget("audience", "1"), audience("TOO_SMALL", 4), "too small")

    with pytest.raises(PinterestAudienceFailedError, match="too small") as error:
        audience_from_event(event)
    assert error.value.status == "TOO_SMALL"


def test_timeout_event_raises_a_sensor_timeout() -> None:
    event = wait_event("timeout", WaitTarget("audience", "1"), None, "timed out at noon")

    with pytest.raises(AirflowSensorTimeout, match="timed out at noon"):
        audience_from_event(event)


@pytest.mark.parametrize(
    "event",
    [
        {"status": "error", "audience": None, "message": "HTTP 404"},
        {"status": "success", "audience": None, "message": "HTTP 404"},
        {"status": "cancelled", "message": "HTTP 404"},
    ],
)
def test_error_and_malformed_events_raise_a_pinterest_error(event: dict[str, Any]) -> None:
    with pytest.raises(PinterestError, match="HTTP 404"):
        audience_from_event(event)


# -- one wait: AudienceWait, poll_once, wait_until_done ------------------------------------------


class Clock:
    """``time.time`` for the wait rules; ``sleep`` advances it and records the sleeps."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(time, "time", clock.time)
    return clock


def unavailable(status_code: int | None = 503) -> PinterestApiError:
    return PinterestApiError("audiences/get", status_code, None, "try later", transient=True)


def reads(*answers: Any) -> Callable[[], dict[str, Any]]:
    """A fetch answering ``answers`` in turn (exceptions are raised), the last one forever."""
    queue = list(answers)

    def fetch() -> dict[str, Any]:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    return fetch


def poll_async(wait: AudienceWait, fetch: Callable[[], dict[str, Any]]) -> bool:
    """``poll_once_async`` with ``fetch`` made a coroutine, as the trigger reads."""

    async def read() -> dict[str, Any]:
        return fetch()

    return asyncio.run(poll_once_async(wait, read))


@pytest.mark.parametrize("poll", [poll_once, poll_async], ids=["sync", "async"])
def test_transient_failures_wait_for_the_next_poll_and_other_errors_end_the_wait(
    caplog: pytest.LogCaptureFixture, poll: Callable[[AudienceWait, Callable[[], dict[str, Any]]], bool]
) -> None:
    wait = AudienceWait(WaitTarget("audience", "1"))
    caplog.set_level(logging.WARNING)

    assert poll(wait, reads(audience("PROCESSING"))) is False
    assert poll(wait, reads(unavailable())) is False
    assert wait.last == audience("PROCESSING")  # the last object read is kept
    assert "trying again at the next poll" in caplog.text
    with pytest.raises(PinterestApiError, match="HTTP 404"):
        poll(wait, reads(PinterestApiError("audiences/get", 404, 2, "not found")))
    with pytest.raises(PinterestAudienceFailedError, match="TOO_SMALL"):
        poll(wait, reads(audience("TOO_SMALL", 3)))
    assert poll(wait, reads(audience("READY", 300))) is True
    assert wait.last == audience("READY", 300)


def test_wait_until_done_polls_after_each_interval_through_outages(clock: Clock) -> None:
    wait = AudienceWait(WaitTarget("audience", "1"), end_time=clock.now + 3600)
    fetch = reads(audience("PROCESSING"), unavailable(), unavailable(None), audience("READY", 900))

    assert wait_until_done(wait, fetch, 60, sleep=clock.sleep) == audience("READY", 900)
    assert clock.sleeps == [60, 60, 60, 60]


def test_wait_until_done_raises_failure_statuses_with_advice(clock: Clock) -> None:
    wait = AudienceWait(WaitTarget("audience", "1"), end_time=clock.now + 3600)

    with pytest.raises(PinterestAudienceFailedError, match="is TOO_SMALL: fewer than 100"):
        wait_until_done(wait, reads(audience("PROCESSING"), audience("TOO_SMALL", 3)), 60, sleep=clock.sleep)


def test_wait_until_done_times_out_at_the_end_time_with_the_one_message(clock: Clock) -> None:
    wait = AudienceWait(WaitTarget("audience", "1"), end_time=clock.now + 150)
    wait.observe(audience("PROCESSING", 12))

    with pytest.raises(AirflowSensorTimeout) as error:
        wait_until_done(wait, reads(audience("UPDATING", 40)), 60, sleep=clock.sleep)

    assert clock.sleeps == [60, 60, 30]  # never sleeps past the end time
    assert str(error.value) == (
        "Timed out at 2027-01-15T08:02:30+00:00: Pinterest audience 2542620905475 'Buyers' (size 40) "
        "was still UPDATING. Audiences are typically ready within 48 hours, sometimes 72: raise the "
        "timeout, or check it in Ads Manager."
    )


def test_timeout_message_before_any_read_names_the_target(clock: Clock) -> None:
    wait = AudienceWait(WaitTarget("customer_list", "77"), end_time=clock.now)

    assert wait.timed_out()
    assert "Pinterest customer list 77 had not been read yet." in wait.timeout_message()


def test_without_an_end_time_the_wait_never_times_out(clock: Clock) -> None:
    wait = AudienceWait(WaitTarget("audience", "1"))
    clock.now += 10**9

    assert not wait.timed_out()
    assert wait.sleep_seconds(900) == 900


def test_the_deferral_backstop_fires_a_minute_after_the_triggers_own_timeout() -> None:
    assert deferral_timeout(600) == timedelta(minutes=11)
