"""PinterestAudienceSensor against the emulator: poke mode, and deferral through the real trigger."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_pinterest_audiences.audience_wait import PinterestAudienceFailedError
from airflow_provider_pinterest_audiences.health import PinterestAudienceHealthError
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.sensors.audience import PinterestAudienceSensor
from airflow_provider_pinterest_audiences.testing.emulator_client import PinterestEmulator
from tests.integration.test_audience_operators import FakeTI

ACCOUNT = "549755885175"

# Audiences become READY 0.4 s after creation.
pytestmark = pytest.mark.pinterest_emulator(
    audience_initializing_seconds=0.1, audience_processing_seconds=0.3
)


@pytest.fixture
def hook(pinterest_emulator: PinterestEmulator) -> PinterestHook:
    """A hook on ``pinterest_default``, which the plugin's fixture points at a fresh emulator."""
    return PinterestHook()


def new_audience(hook: PinterestHook, records: int) -> str:
    hashes = ",".join(hashlib.sha256(f"user{i}@example.com".encode()).hexdigest() for i in range(records))
    list_id = hook.create_customer_list(ACCOUNT, name="Buyers", records=hashes)["id"]
    rule = {"customer_list_id": list_id}
    return str(hook.create_audience(ACCOUNT, name="Buyers", audience_type="CUSTOMER_LIST", rule=rule)["id"])


async def resume_through_trigger(sensor: PinterestAudienceSensor) -> Any:
    """What Airflow does: defer, rebuild the trigger from its serialised form, run it, resume the task."""
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    classpath, kwargs = deferred.value.trigger.serialize()
    module, _, name = classpath.rpartition(".")
    trigger = getattr(importlib.import_module(module), name)(**kwargs)
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    return getattr(sensor, deferred.value.method_name)({"ti": FakeTI()}, events[0].payload)


async def test_deferred_sensor_returns_the_ready_audience(hook: PinterestHook) -> None:
    audience_id = new_audience(hook, records=300)
    sensor = PinterestAudienceSensor(
        task_id="wait", audience_id=audience_id, deferrable=True, poke_interval=0.05
    )

    found = await asyncio.wait_for(resume_through_trigger(sensor), 15)

    assert found["id"] == audience_id
    assert found["status"] == "READY"


async def test_deferred_sensor_fails_on_too_small(hook: PinterestHook) -> None:
    audience_id = new_audience(hook, records=20)
    sensor = PinterestAudienceSensor(
        task_id="wait", audience_id=audience_id, deferrable=True, poke_interval=0.05
    )

    with pytest.raises(PinterestAudienceFailedError, match="TOO_SMALL"):
        await asyncio.wait_for(resume_through_trigger(sensor), 15)


def test_poke_mode_sensor_returns_the_ready_audience(hook: PinterestHook) -> None:
    audience_id = new_audience(hook, records=300)
    sensor = PinterestAudienceSensor(
        task_id="wait", audience_id=audience_id, deferrable=False, poke_interval=0.05
    )

    found = sensor.execute({"ti": FakeTI()})

    assert found["id"] == audience_id
    assert found["status"] == "READY"


def test_poke_mode_sensor_pushes_the_health_figures(hook: PinterestHook) -> None:
    audience_id = new_audience(hook, records=300)
    ti = FakeTI()
    sensor = PinterestAudienceSensor(
        task_id="wait", audience_id=audience_id, deferrable=False, poke_interval=0.05, sent_count=300
    )

    found = sensor.execute({"ti": ti})

    assert ti.xcoms["audience_size"] == found["size"]
    assert ti.xcoms["audience_status"] == "READY"
    assert ti.xcoms["match_rate"] == round(found["size"] / 300, 4)


def test_poke_mode_sensor_fails_below_min_audience_size(hook: PinterestHook) -> None:
    audience_id = new_audience(hook, records=300)
    sensor = PinterestAudienceSensor(
        task_id="wait", audience_id=audience_id, deferrable=False, poke_interval=0.05, min_audience_size=5000
    )

    with pytest.raises(PinterestAudienceHealthError, match=r"expected a size of at least 5,000, saw \d+"):
        sensor.execute({"ti": FakeTI()})


async def test_deferred_sensor_fails_below_min_match_rate(hook: PinterestHook) -> None:
    audience_id = new_audience(hook, records=300)
    sensor = PinterestAudienceSensor(
        task_id="wait",
        audience_id=audience_id,
        deferrable=True,
        poke_interval=0.05,
        sent_count={"desired_members": 300},
        min_match_rate=0.9,
    )

    with pytest.raises(PinterestAudienceHealthError, match=r"expected a match rate of at least 90.0%, saw"):
        await asyncio.wait_for(resume_through_trigger(sensor), 15)


def test_poke_mode_sensor_only_warns_with_on_low_match_warn(
    hook: PinterestHook,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    audience_id = new_audience(hook, records=300)
    sensor = PinterestAudienceSensor(
        task_id="wait",
        audience_id=audience_id,
        deferrable=False,
        poke_interval=0.05,
        sent_count=300,
        min_match_rate=0.9,
        on_low_match="warn",
    )

    assert sensor.execute({"ti": FakeTI()})["status"] == "READY"
    assert "expected a match rate of at least 90.0%" in caplog.text + "".join(capfd.readouterr())
