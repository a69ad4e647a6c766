"""Audience health: the match-rate estimate, the guards, their arguments, and the tasks that apply them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_pinterest_audiences import metrics
from airflow_provider_pinterest_audiences.assets import audience_asset
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.health import (
    AudienceHealth,
    HealthGuard,
    PinterestAudienceHealthError,
    sent_count,
)
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.operators.audience import (
    PinterestCreateCustomerListAudienceOperator,
)
from airflow_provider_pinterest_audiences.sensors.audience import PinterestAudienceSensor
from tests.conftest import AD_ACCOUNT_ID
from tests.integration.test_audience_operators import FakeTI
from tests.unit.test_assets import airflow_outlet_events

AUDIENCE_ID = "2542620905475"
LOG = logging.getLogger("test_health")


def ready(size: int | None) -> dict[str, Any]:
    return {"id": AUDIENCE_ID, "name": "Buyers", "type": "audience", "status": "READY", "size": size}


class FakeStats:
    """Airflow's Stats client, recording what it is given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, float, dict[str, Any] | None]] = []

    def incr(self, stat: str, count: int = 1, rate: int = 1, *, tags: dict[str, Any] | None = None) -> None:
        self.sent.append(("incr", stat, count, tags))

    def gauge(
        self,
        stat: str,
        value: float,
        rate: int = 1,
        delta: bool = False,
        *,
        tags: dict[str, Any] | None = None,
    ) -> None:
        self.sent.append(("gauge", stat, value, tags))


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStats]:
    fake = FakeStats()
    monkeypatch.setattr(metrics, "airflow_stats", lambda: fake)
    yield fake


# -- the estimate and the guard ----------------------------------------------------------------------


def test_match_rate_is_size_over_identifiers_sent() -> None:
    assert AudienceHealth.of(ready(700), 1000).match_rate == 0.7
    assert AudienceHealth.of(ready(700), None).match_rate is None
    assert AudienceHealth.of(ready(700), 0).match_rate is None
    assert AudienceHealth.of(ready(None), 1000).match_rate is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1200, 1200),
        ("1200", 1200),
        ({"desired_members": 900, "added": 40, "valid": 950}, 900),
        ({"desired_members": None, "added": 40}, 40),
    ],
)
def test_sent_count_takes_a_count_or_an_upload_summary(value: Any, expected: int) -> None:
    assert sent_count(value, "sent_count") == expected


@pytest.mark.parametrize("bad", [-1, "many", True, 1.5, {"read": 3}])
def test_a_bad_sent_count_is_an_error_naming_it(bad: Any) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="'sent_count'"):
        sent_count(bad, "sent_count")


def test_guard_message_says_what_was_expected_and_what_was_seen() -> None:
    guard = HealthGuard(min_audience_size=1000, min_match_rate=0.5)

    with pytest.raises(PinterestAudienceHealthError) as error:
        guard.check(AudienceHealth.of(ready(300), 1000), "audience", LOG)

    assert str(error.value).startswith(f"Pinterest audience {AUDIENCE_ID} is READY, but ")
    assert "expected a size of at least 1,000, saw 300" in str(error.value)
    assert "expected a match rate of at least 50.0%, saw 30.0% (300 of 1,000 identifiers sent)" in str(
        error.value
    )


def test_guard_passes_at_the_bounds() -> None:
    HealthGuard(min_audience_size=300, min_match_rate=0.3).check(
        AudienceHealth.of(ready(300), 1000), "a", LOG
    )


def test_warn_logs_the_shortfall_instead_of_failing(caplog: pytest.LogCaptureFixture) -> None:
    guard = HealthGuard(min_audience_size=1000, on_low_match="warn")

    with caplog.at_level(logging.WARNING):
        guard.check(AudienceHealth.of(ready(300), None), "audience", LOG)

    assert "expected a size of at least 1,000, saw 300 (on_low_match='warn'" in caplog.text


# -- arguments -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_match_rate": 1.5}, "'min_match_rate': expected a share above 0 and at most 1, got 1.5"),
        ({"min_match_rate": 0}, "'min_match_rate': expected a share above 0 and at most 1, got 0"),
        ({"min_audience_size": -5}, "'min_audience_size': expected a whole number >= 0, got -5"),
        ({"on_low_match": "ignore"}, "'on_low_match': expected one of fail, warn, got 'ignore'"),
        ({"min_match_rate": 0.5}, "'min_match_rate': needs sent_count"),
        (
            {"audience_id": None, "customer_list_id": "3969491", "min_audience_size": 100},
            "'min_audience_size': needs an audience size, but a customer list has no size",
        ),
    ],
)
def test_sensor_health_arguments_are_checked_when_the_dag_is_parsed(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=message.replace("(", r"\(")):
        PinterestAudienceSensor(**{"task_id": "wait", "audience_id": AUDIENCE_ID, **kwargs})


def test_create_operator_guards_need_wait_for_ready() -> None:
    with pytest.raises(
        PinterestInvalidArgumentError, match="'min_audience_size': needs an audience size, but wait_for"
    ):
        PinterestCreateCustomerListAudienceOperator(
            task_id="c", name="Buyers", customer_list_id="3969491", min_audience_size=100
        )


def test_templated_health_arguments_are_checked_once_rendered() -> None:
    sensor = PinterestAudienceSensor(
        task_id="wait", audience_id=AUDIENCE_ID, sent_count="{{ params.sent }}", min_match_rate=0.5
    )
    sensor.render_template_fields({"params": {"sent": "lots"}})

    with pytest.raises(PinterestInvalidArgumentError, match="'sent_count': expected a whole number"):
        sensor.execute({"ti": FakeTI()})


# -- the sensor and the create operator apply them --------------------------------------------------------


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """What the hook's reads return (the last one forever); ``create_audience`` is never reached."""
    queue: list[dict[str, Any]] = []

    def read(hook: PinterestHook, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    monkeypatch.setattr(PinterestHook, "get_audience", read)
    monkeypatch.setattr(PinterestHook, "find_audience", read)
    yield queue


@pytest.mark.usefixtures("pinterest_conn")
@pytest.mark.parametrize("deferrable", [False, True])
def test_sensor_pushes_size_status_and_match_rate(
    answers: list[dict[str, Any]], stats: FakeStats, deferrable: bool
) -> None:
    answers.append(ready(700))
    ti = FakeTI()

    PinterestAudienceSensor(
        task_id="wait", audience_id=AUDIENCE_ID, sent_count={"desired_members": 1000}, deferrable=deferrable
    ).execute({"ti": ti})

    assert (ti.xcoms["audience_size"], ti.xcoms["audience_status"], ti.xcoms["match_rate"]) == (
        700,
        "READY",
        0.7,
    )
    assert (
        "gauge",
        f"pinterest.audience.{AUDIENCE_ID}.match_rate",
        0.7,
        {"audience_id": AUDIENCE_ID},
    ) in stats.sent


@pytest.mark.usefixtures("pinterest_conn", "stats")
def test_figures_not_known_are_not_pushed(answers: list[dict[str, Any]]) -> None:
    """Airflow 3.0's execution API refuses a None XCom; a key never pushed pulls as None anyway."""
    answers.append(ready(None))
    ti = FakeTI()

    PinterestAudienceSensor(task_id="wait", audience_id=AUDIENCE_ID, deferrable=False).execute({"ti": ti})

    assert ti.xcoms == {"audience_status": "READY"}


@pytest.mark.usefixtures("pinterest_conn", "stats")
def test_sensor_fails_below_min_match_rate_after_pushing_the_figures(answers: list[dict[str, Any]]) -> None:
    answers.append(ready(200))
    ti = FakeTI()
    sensor = PinterestAudienceSensor(
        task_id="wait", audience_id=AUDIENCE_ID, sent_count=1000, min_match_rate=0.5, deferrable=False
    )

    with pytest.raises(PinterestAudienceHealthError, match=r"saw 20.0% \(200 of 1,000"):
        sensor.execute({"ti": ti})
    assert ti.xcoms["match_rate"] == 0.2


@pytest.mark.usefixtures("pinterest_conn", "stats")
def test_resumed_sensor_applies_the_guard(answers: list[dict[str, Any]]) -> None:
    event = {"status": "success", "audience": ready(40), "message": "ready"}
    sensor = PinterestAudienceSensor(task_id="wait", audience_id=AUDIENCE_ID, min_audience_size=100)

    with pytest.raises(PinterestAudienceHealthError, match="expected a size of at least 100, saw 40"):
        sensor.execute_complete({"ti": FakeTI()}, event)


@pytest.mark.usefixtures("pinterest_conn", "stats")
def test_create_operator_puts_the_figures_on_its_outlet_asset_event(answers: list[dict[str, Any]]) -> None:
    answers.append(ready(700))
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="c", ad_account_id=AD_ACCOUNT_ID, name="Buyers", customer_list_id="3969491", sent_count=1000
    )
    asset = audience_asset(AD_ACCOUNT_ID, "Buyers")
    events = airflow_outlet_events()
    ti = FakeTI()

    operator.execute({"ti": ti, "outlet_events": events})

    assert events[asset].extra == {
        "id": AUDIENCE_ID,
        "status": "READY",
        "size": 700,
        "sent": 1000,
        "match_rate": 0.7,
    }
    assert ti.xcoms["audience_size"] == 700


@pytest.mark.usefixtures("pinterest_conn", "stats")
def test_without_outlet_events_the_run_still_succeeds(answers: list[dict[str, Any]]) -> None:
    answers.append(ready(700))
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="c", ad_account_id=AD_ACCOUNT_ID, name="Buyers", customer_list_id="3969491"
    )

    assert operator.execute({"ti": FakeTI()}) == AUDIENCE_ID


@pytest.mark.usefixtures("pinterest_conn", "stats")
def test_create_operator_resumed_from_the_trigger_applies_the_guard() -> None:
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="c",
        name="Buyers",
        customer_list_id="3969491",
        wait_for_ready=True,
        deferrable=True,
        sent_count="1000",
        min_match_rate=0.5,
    )
    event = {"status": "success", "audience": ready(300), "message": "ready"}
    ti = FakeTI()

    with pytest.raises(PinterestAudienceHealthError, match=r"saw 30.0% \(300 of 1,000 identifiers sent\)"):
        operator.execute_complete({"ti": ti}, event)
    assert (ti.xcoms["audience"]["id"], ti.xcoms["match_rate"]) == (AUDIENCE_ID, 0.3)


def test_the_upload_puts_its_figures_on_its_outlet_asset_events(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.common.compat.sdk import Asset

    from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
    from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
    from airflow_provider_pinterest_audiences.operators.customer_list import (
        PinterestUploadCustomerListOperator,
    )

    monkeypatch.setattr(metrics, "airflow_stats", FakeStats)
    asset = Asset("pinterest://customer_lists/newsletter")
    events = airflow_outlet_events()
    emails = [f"person{i}@example.com" for i in range(40)] + ["not-an-email", "PERSON7@example.com"]
    with EmulatorServer(EmulatorSettings(), host="127.0.0.1", port=0) as server:
        monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", server.connection_json())
        upload = PinterestUploadCustomerListOperator(
            task_id="upload",
            customer_list_name="Newsletter",
            source=emails,
            hashing_processes=1,
            outlets=[asset],
        )
        list_id = upload.execute({"ti": FakeTI(), "outlet_events": events})

    assert events[asset].extra == {
        "id": list_id,
        "read": 42,
        "valid": 41,
        "invalid": 1,
        "duplicates": 1,
        "added": 40,
        "removed": 0,
        "desired_members": 40,
        "rate_limit_waits": 0,
        "dry_run": False,
    }
