"""PinterestAudienceTrigger: serialisation, and run() against the emulator (statuses, faults, refresh)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from airflow.triggers.base import TriggerEvent

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.testing.emulator_client import PinterestEmulator
from airflow_provider_pinterest_audiences.triggers.audience import PinterestAudienceTrigger
from tests.integration.emulator_api import OTHER_ACCOUNT

CLASSPATH = "airflow_provider_pinterest_audiences.triggers.audience.PinterestAudienceTrigger"
ACCOUNT = "549755885175"
FAST_POLL = 0.05
EVENT_WAIT = 15.0


pytestmark = pytest.mark.pinterest_emulator(
    strict_fields=True,
    ad_account_ids=(OTHER_ACCOUNT,),
    audience_initializing_seconds=0.1,
    audience_processing_seconds=0.3,
    customer_list_processing_seconds=0.2,
)


class Emulator:
    """Objects made through the sync hook, and the plugin's emulator (its control API)."""

    def __init__(self, pinterest_emulator: PinterestEmulator) -> None:
        self.hook = PinterestHook()
        self.control = pinterest_emulator.control

    def customer_list(self, records: int, name: str = "Buyers") -> str:
        hashes = (hashlib.sha256(f"user{i}@example.com".encode()).hexdigest() for i in range(records))
        return str(self.hook.create_customer_list(ACCOUNT, name=name, records=",".join(hashes))["id"])

    def audience(self, records: int = 300) -> str:
        rule = {"customer_list_id": self.customer_list(records)}
        created = self.hook.create_audience(
            ACCOUNT, name="Lookalike seed", audience_type="CUSTOMER_LIST", rule=rule
        )
        return str(created["id"])

    def force(self, audience_id: str, status: str | None) -> None:
        self.control("POST", f"/audiences/{audience_id}/status", {"status": status})

    def audience_gets(self) -> int:
        recent = self.control("GET", "/requests")["recent"]
        return sum(1 for r in recent if r["method"] == "GET" and "/audiences/" in r["path"])


@pytest.fixture
def emulator(pinterest_emulator: PinterestEmulator) -> Emulator:
    return Emulator(pinterest_emulator)


def trigger(**kwargs: Any) -> PinterestAudienceTrigger:
    return PinterestAudienceTrigger(
        **{
            "pinterest_conn_id": "pinterest_default",
            "ad_account_id": ACCOUNT,
            "poll_interval": FAST_POLL,
            **kwargs,
        }
    )


async def only_event(events: AsyncIterator[TriggerEvent]) -> dict[str, Any]:
    collected = await asyncio.wait_for(_collect(events), EVENT_WAIT)
    assert len(collected) == 1
    payload: dict[str, Any] = collected[0].payload
    return payload


async def _collect(events: AsyncIterator[TriggerEvent]) -> list[TriggerEvent]:
    return [event async for event in events]


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(int(EVENT_WAIT / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never became true")


# -- construction and serialisation ---------------------------------------------------------------


def test_serialize_round_trips_through_plain_json_kwargs() -> None:
    original = PinterestAudienceTrigger(
        pinterest_conn_id="pinterest_ads",
        ad_account_id=ACCOUNT,
        audience_id="2542620905475",
        success_statuses=("READY",),
        failure_statuses=("TOO_SMALL", "ERROR"),
        poll_interval=300,
        end_time=1_800_000_000.5,
    )

    classpath, kwargs = original.serialize()

    assert classpath == CLASSPATH
    assert kwargs == {
        "pinterest_conn_id": "pinterest_ads",
        "ad_account_id": ACCOUNT,
        "audience_id": "2542620905475",
        "customer_list_id": None,
        "success_statuses": ["READY"],
        "failure_statuses": ["TOO_SMALL", "ERROR"],
        "poll_interval": 300.0,
        "end_time": 1_800_000_000.5,
    }
    rebuilt = PinterestAudienceTrigger(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)


def test_serialize_keeps_a_customer_list_target() -> None:
    _, kwargs = trigger(customer_list_id="9876").serialize()

    assert (kwargs["audience_id"], kwargs["customer_list_id"]) == (None, "9876")
    assert PinterestAudienceTrigger(**kwargs).target.kind == "customer_list"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({}, "audience_id"),
        ({"audience_id": "1", "customer_list_id": "2"}, "audience_id"),
        ({"audience_id": "not-a-number"}, "audience_id"),
        ({"customer_list_id": "12ab"}, "customer_list_id"),
        ({"audience_id": "1", "poll_interval": 0}, "poll_interval"),
        ({"audience_id": "1", "ad_account_id": ""}, "ad_account_id"),
        ({"audience_id": "1", "success_statuses": ()}, "success_statuses"),
        ({"audience_id": "1", "failure_statuses": ("READY",)}, "failure_statuses"),
    ],
)
def test_bad_arguments_fail_early_naming_the_argument(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as error:
        trigger(**kwargs)
    assert error.value.argument == argument


# -- run() against the emulator ------------------------------------------------------------------


async def test_ready_audience_yields_one_success_event_with_the_audience(emulator: Emulator) -> None:
    audience_id = emulator.audience(records=300)

    event = await only_event(trigger(audience_id=audience_id).run())

    assert event["status"] == "success"
    assert event["audience"]["id"] == audience_id
    assert event["audience"]["status"] == "READY"
    assert event["audience"]["size"] >= 100
    assert audience_id in event["message"]


async def test_too_small_audience_yields_a_failure_with_size_and_advice(emulator: Emulator) -> None:
    audience_id = emulator.audience(records=20)

    event = await only_event(trigger(audience_id=audience_id).run())

    assert event["status"] == "failure"
    assert event["audience"]["status"] == "TOO_SMALL"
    size = event["audience"]["size"]
    assert "TOO_SMALL" in event["message"]
    assert f"size {size}" in event["message"]
    assert "fewer than 100" in event["message"]
    assert "Add records" in event["message"]


async def test_archived_audience_yields_a_failure_telling_to_create_a_new_one(emulator: Emulator) -> None:
    audience_id = emulator.audience()
    emulator.hook.archive_audience(ACCOUNT, audience_id)

    event = await only_event(trigger(audience_id=audience_id).run())

    assert event["status"] == "failure"
    assert event["audience"]["status"] == "ARCHIVED"
    assert "Create a new audience" in event["message"]


async def test_unknown_status_is_logged_and_waited_on(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    audience_id = emulator.audience()
    emulator.force(audience_id, "SOMETHING_NEW")
    caplog.set_level(logging.WARNING)

    waiting = asyncio.create_task(only_event(trigger(audience_id=audience_id).run()))
    await until(lambda: emulator.audience_gets() >= 3)
    assert not waiting.done()
    assert "SOMETHING_NEW" in caplog.text

    emulator.force(audience_id, "READY")
    event = await waiting
    assert event["status"] == "success"


async def test_end_time_yields_timeout_with_the_last_status(emulator: Emulator) -> None:
    audience_id = emulator.audience()
    emulator.force(audience_id, "PROCESSING")

    event = await only_event(trigger(audience_id=audience_id, end_time=time.time() + 0.5).run())

    assert event["status"] == "timeout"
    assert event["audience"]["status"] == "PROCESSING"
    assert "still PROCESSING" in event["message"]


async def test_sleeps_stop_at_end_time_rather_than_a_full_interval(emulator: Emulator) -> None:
    audience_id = emulator.audience()

    event = await only_event(
        trigger(audience_id=audience_id, poll_interval=3600, end_time=time.time() + 0.3).run()
    )

    assert event["status"] == "timeout"
    assert "had not been read yet" in event["message"]


async def test_first_poll_waits_part_of_an_interval_as_the_caller_just_checked(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    audience_id = emulator.audience()
    delays: list[tuple[float, float]] = []

    def longest(low: float, high: float) -> float:
        delays.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", longest)
    before = emulator.audience_gets()

    waiting = asyncio.create_task(only_event(trigger(audience_id=audience_id, poll_interval=3600).run()))
    await until(lambda: bool(delays))
    await asyncio.sleep(0.3)

    assert delays == [(0, 3600.0)]
    assert emulator.audience_gets() == before
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting


async def test_end_time_already_passed_times_out_before_any_request(emulator: Emulator) -> None:
    audience_id = emulator.audience()
    before = emulator.audience_gets()

    event = await only_event(trigger(audience_id=audience_id, end_time=time.time() - 1).run())

    assert event["status"] == "timeout"
    assert event["audience"] is None
    assert emulator.audience_gets() == before


async def test_rate_limits_and_503s_while_polling_do_not_end_the_wait(emulator: Emulator) -> None:
    audience_id = emulator.audience()
    emulator.force(audience_id, "PROCESSING")
    emulator.control("POST", "/faults", {"rate_limit_storm": 3, "fail_every_n": 2})

    def answered(status: str) -> int:
        return int(emulator.control("GET", "/requests")["by_status"].get(status, 0))

    waiting = asyncio.create_task(only_event(trigger(audience_id=audience_id).run()))
    await until(lambda: answered("429") >= 3 and answered("503") >= 1)
    emulator.force(audience_id, "READY")
    event = await waiting

    assert event["status"] == "success"


async def test_outage_longer_than_the_hook_retries_waits_for_the_next_poll(emulator: Emulator) -> None:
    audience_id = emulator.audience()
    # More 429s in a row than the hook's 8 attempts: the hook gives up once, the trigger polls again.
    emulator.control("POST", "/faults", {"rate_limit_storm": 10, "storm_retry_after_seconds": 0.01})

    event = await only_event(trigger(audience_id=audience_id).run())

    assert event["status"] == "success"
    assert emulator.control("GET", "/requests")["by_status"]["429"] == 10


async def test_access_token_expiring_mid_wait_is_refreshed(emulator: Emulator) -> None:
    audience_id = emulator.audience()
    emulator.force(audience_id, "PROCESSING")

    waiting = asyncio.create_task(only_event(trigger(audience_id=audience_id).run()))
    await until(lambda: emulator.audience_gets() >= 2)
    emulator.control("POST", "/expire_tokens")
    await until(lambda: emulator.control("GET", "/tokens")["refreshes"] >= 1)
    emulator.force(audience_id, "READY")
    event = await waiting

    assert event["status"] == "success"
    assert emulator.control("GET", "/tokens")["refreshes"] == 1
    assert emulator.control("GET", "/requests")["by_status"]["401"] == 1


async def test_customer_list_waits_from_processing_to_ready(emulator: Emulator) -> None:
    list_id = emulator.customer_list(records=300)

    event = await only_event(trigger(customer_list_id=list_id).run())

    assert event["status"] == "success"
    assert "audience" not in event
    assert event["customer_list"]["id"] == list_id
    assert event["customer_list"]["status"] == "READY"
    assert "customer list" in event["message"]


async def test_too_small_customer_list_yields_a_failure(emulator: Emulator) -> None:
    list_id = emulator.customer_list(records=10)

    event = await only_event(trigger(customer_list_id=list_id).run())

    assert event["status"] == "failure"
    assert event["customer_list"]["status"] == "TOO_SMALL"
    assert "customer list" in event["message"]
    assert "fewer than 100" in event["message"]


async def test_missing_audience_yields_an_error_event(emulator: Emulator) -> None:
    event = await only_event(trigger(audience_id="424242").run())

    assert event["status"] == "error"
    assert event["audience"] is None
    assert "424242" in event["message"]
    assert "404" in event["message"]


async def test_missing_connection_yields_an_error_event(emulator: Emulator) -> None:
    event = await only_event(trigger(pinterest_conn_id="no_such_connection", audience_id="1").run())

    assert event["status"] == "error"
    assert "no_such_connection" in event["message"]
