"""PinterestAudienceSensor with the hook's reads stubbed: arguments, poke/reschedule, deferral, resume."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import airflow
import pytest
from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    PokeReturnValue,
    TaskDeferred,
)

from airflow_provider_pinterest_audiences.audience_wait import PinterestAudienceFailedError
from airflow_provider_pinterest_audiences.exceptions import (
    PinterestApiError,
    PinterestError,
    PinterestInvalidArgumentError,
)
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.sensors.audience import PinterestAudienceSensor
from airflow_provider_pinterest_audiences.triggers.audience import PinterestAudienceTrigger
from tests.conftest import AD_ACCOUNT_ID, connection_json
from tests.integration.test_audience_operators import FakeTI

pytestmark = pytest.mark.usefixtures("pinterest_conn")

AUDIENCE_ID = "2542620905475"
LIST_ID = "2542620905999"


def audience(status: str, size: int = 0) -> dict[str, Any]:
    return {"id": AUDIENCE_ID, "name": "Buyers", "type": "audience", "status": status, "size": size}


def customer_list(status: str) -> dict[str, Any]:
    return {"id": LIST_ID, "name": "Buyers", "type": "customerlist", "status": status}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., list[tuple[str, str, str]]]]:
    """``reads(obj, ...)``: the hook answers (or raises) these in turn; returns the calls it got."""
    calls: list[tuple[str, str, str]] = []

    def install(*answers: dict[str, Any] | Exception) -> list[tuple[str, str, str]]:
        queue = list(answers)

        def answer(method: str) -> Callable[[PinterestHook, str, str], dict[str, Any]]:
            def read(hook: PinterestHook, account: str, object_id: str) -> dict[str, Any]:
                calls.append((method, account, object_id))
                found = queue.pop(0) if len(queue) > 1 else queue[0]
                if isinstance(found, Exception):
                    raise found
                return found

            return read

        monkeypatch.setattr(PinterestHook, "get_audience", answer("get_audience"))
        monkeypatch.setattr(PinterestHook, "get_customer_list", answer("get_customer_list"))
        return calls

    yield install


def task_context() -> Any:
    return {"ti": FakeTI()}


def sensor(**kwargs: Any) -> PinterestAudienceSensor:
    return PinterestAudienceSensor(**{"task_id": "wait", "audience_id": AUDIENCE_ID, **kwargs})


# -- arguments ------------------------------------------------------------------------------------


def test_defaults_follow_pinterest_guidance() -> None:
    waiting = sensor()

    assert waiting.poke_interval == 15 * 60
    assert waiting.timeout == 72 * 3600
    assert waiting.success_statuses == ("READY",)
    assert waiting.failure_statuses == ("TOO_SMALL", "ERROR", "ARCHIVED")
    assert waiting.pinterest_conn_id == "pinterest_default"
    assert set(PinterestAudienceSensor.template_fields) == {
        "audience_id",
        "customer_list_id",
        "ad_account_id",
        "poll_interval",
        "sent_count",
        "min_audience_size",
        "min_match_rate",
    }


@pytest.mark.parametrize("ids", [{"audience_id": None}, {"customer_list_id": LIST_ID}])
def test_exactly_one_of_audience_id_and_customer_list_id(ids: dict[str, Any]) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="audience_id or customer_list_id"):
        sensor(**ids)


def test_overlapping_statuses_are_rejected_naming_the_argument() -> None:
    with pytest.raises(PinterestInvalidArgumentError) as error:
        sensor(success_statuses=["READY"], failure_statuses=["ready"])
    assert error.value.argument == "failure_statuses"


def test_ad_account_defaults_to_the_connection_extra(reads: Callable[..., Any]) -> None:
    calls = reads(audience("READY", 500))

    sensor().poke({})

    assert calls == [("get_audience", AD_ACCOUNT_ID, AUDIENCE_ID)]


def test_missing_ad_account_is_an_error_naming_it(
    reads: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json(ad_account_id=None))
    reads(audience("READY"))

    with pytest.raises(PinterestInvalidArgumentError) as error:
        sensor().poke({})
    assert error.value.argument == "ad_account_id"


# -- poke and reschedule modes ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
def test_poke_waits_on_processing_and_unknown_statuses(reads: Callable[..., Any], mode: str) -> None:
    waiting = sensor(mode=mode, ad_account_id="123")

    for status in ("INITIALIZING", "PROCESSING", "UPDATING", "BRAND_NEW_STATUS"):
        reads(audience(status))
        result = waiting.poke({})
        assert isinstance(result, PokeReturnValue)
        assert not result.is_done


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
def test_poke_waits_through_pinterest_being_unavailable_as_the_trigger_does(
    reads: Callable[..., Any], mode: str
) -> None:
    """The hook's retries ran out on 429/5xx/no answer: the next poke decides, the task does not fail."""
    reads(PinterestApiError("audiences/get", 503, None, "unavailable", transient=True), audience("READY"))
    waiting = sensor(mode=mode)

    assert not waiting.poke({}).is_done
    assert waiting.poke({}).is_done


def test_poke_fails_on_an_api_error_that_is_not_transient(reads: Callable[..., Any]) -> None:
    reads(PinterestApiError("audiences/get", 404, 2, "Audience not found"))

    with pytest.raises(PinterestApiError, match="HTTP 404"):
        sensor().poke({})


def test_poke_mode_execute_waits_through_an_outage(reads: Callable[..., Any]) -> None:
    unavailable = PinterestApiError("audiences/get", None, None, "connection refused", transient=True)
    reads(audience("PROCESSING"), unavailable, unavailable, audience("READY", 900))

    assert sensor(poke_interval=0, deferrable=False).execute(task_context()) == audience("READY", 900)


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
def test_poke_is_done_on_ready_with_the_audience_as_xcom(reads: Callable[..., Any], mode: str) -> None:
    reads(audience("READY", 1500))

    result = sensor(mode=mode).poke({})

    assert result.is_done
    assert result.xcom_value == audience("READY", 1500)


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
@pytest.mark.parametrize(
    ("status", "advice"),
    [("TOO_SMALL", "fewer than 100"), ("ARCHIVED", "Create a new audience"), ("ERROR", "could not build")],
)
def test_poke_fails_fast_on_failure_statuses(
    reads: Callable[..., Any], mode: str, status: str, advice: str
) -> None:
    reads(audience(status, 42))

    with pytest.raises(PinterestAudienceFailedError) as error:
        sensor(mode=mode).poke({})
    assert status in str(error.value)
    assert "size 42" in str(error.value)
    assert advice in str(error.value)


def test_failure_status_is_not_retried_and_soft_fail_skips(reads: Callable[..., Any]) -> None:
    reads(audience("ARCHIVED"))

    with pytest.raises(AirflowFailException):
        sensor(deferrable=False, retries=3).execute(task_context())
    with pytest.raises(AirflowSkipException):
        sensor(deferrable=False, soft_fail=True).execute(task_context())


def test_poke_mode_execute_returns_the_final_audience(reads: Callable[..., Any]) -> None:
    reads(audience("INITIALIZING"), audience("PROCESSING"), audience("READY", 900))

    assert sensor(poke_interval=0, deferrable=False).execute(task_context()) == audience("READY", 900)


@pytest.mark.airflow3_only  # the fake task instance speaks the Task SDK; 2.11 needs a DB row
def test_reschedule_mode_execute_frees_the_slot_while_processing(reads: Callable[..., Any]) -> None:
    from airflow.exceptions import AirflowRescheduleException

    reads(audience("PROCESSING"))
    context: Any = {"ti": SimpleNamespace(get_first_reschedule_date=lambda context: None)}

    with pytest.raises(AirflowRescheduleException):
        sensor(mode="reschedule", deferrable=False).execute(context)


ADVICE = "Audiences are typically ready within 48 hours, sometimes 72"


def test_poke_mode_times_out_with_the_last_status_and_the_advice(reads: Callable[..., Any]) -> None:
    unavailable = PinterestApiError("audiences/get", 503, None, "unavailable", transient=True)
    reads(audience("PROCESSING", 40), unavailable)

    with pytest.raises(AirflowSensorTimeout) as timed_out:
        sensor(poke_interval=0, timeout=0.05, deferrable=False).execute(task_context())

    assert f"audience {AUDIENCE_ID} 'Buyers' (size 40) was still PROCESSING" in str(timed_out.value)
    assert ADVICE in str(timed_out.value)


def test_a_timed_out_soft_fail_sensor_is_skipped(reads: Callable[..., Any]) -> None:
    reads(audience("PROCESSING"))

    with pytest.raises(AirflowSkipException) as skipped:
        sensor(poke_interval=0, timeout=0, soft_fail=True, deferrable=False).execute(task_context())

    assert ADVICE in str(skipped.value.__cause__)


@pytest.fixture
def first_poked(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], tuple[Any, list[Any]]]:
    """``first_poked(when)``: a reschedule-mode context whose try first poked at ``when``, as Airflow 3
    (Task SDK) or 2 (its task_reschedule table) reports it; and the look-ups made (Airflow's and ours)."""

    def install(when: datetime) -> tuple[Any, list[Any]]:
        lookups: list[Any] = []
        if airflow.__version__.startswith("2."):
            from airflow.sensors import base as sensor_base

            def orig_start_date(**kwargs: Any) -> datetime:
                lookups.append(kwargs)
                return when

            monkeypatch.setattr(sensor_base, "_orig_start_date", orig_start_date)
            ti = SimpleNamespace(dag_id="d", task_id="wait", run_id="r", map_index=-1, max_tries=2)
        else:

            def first_reschedule_date(context: Any) -> datetime:
                lookups.append(context)
                return when

            ti = SimpleNamespace(get_first_reschedule_date=first_reschedule_date)
        return {"ti": ti}, lookups

    return install


def test_reschedule_mode_times_out_from_the_first_poke_with_the_one_message(
    reads: Callable[..., Any], first_poked: Callable[[datetime], tuple[Any, list[Any]]]
) -> None:
    reads(audience("UPDATING", 70))
    context, lookups = first_poked(datetime.now(timezone.utc) - timedelta(hours=3))

    with pytest.raises(AirflowSensorTimeout) as timed_out:
        sensor(mode="reschedule", timeout=timedelta(hours=2), retries=2, deferrable=False).execute(context)

    assert "(size 70) was still UPDATING" in str(timed_out.value)
    assert ADVICE in str(timed_out.value)
    assert len(lookups) == 2 and lookups[0] == lookups[1]  # Airflow's and ours: the same start


def test_reschedule_mode_waits_until_the_timeout_counted_from_the_first_poke(
    reads: Callable[..., Any], first_poked: Callable[[datetime], tuple[Any, list[Any]]]
) -> None:
    from airflow.exceptions import AirflowRescheduleException

    reads(audience("UPDATING", 70))
    context, _ = first_poked(datetime.now(timezone.utc) - timedelta(hours=1))

    with pytest.raises(AirflowRescheduleException):
        sensor(mode="reschedule", timeout=timedelta(hours=2), deferrable=False).execute(context)


def test_customer_list_is_read_with_the_list_endpoint(reads: Callable[..., Any]) -> None:
    calls = reads(customer_list("UPLOADING"), customer_list("READY"))
    waiting = sensor(audience_id=None, customer_list_id=LIST_ID)

    assert not waiting.poke({}).is_done
    assert waiting.poke({}).is_done
    assert calls[0] == ("get_customer_list", AD_ACCOUNT_ID, LIST_ID)


# -- deferrable mode ----------------------------------------------------------------------------------


def test_deferrable_execute_returns_at_once_when_already_ready(reads: Callable[..., Any]) -> None:
    reads(audience("READY", 700))

    assert sensor(deferrable=True).execute(task_context()) == audience("READY", 700)


def test_deferrable_execute_fails_at_once_on_a_failure_status(reads: Callable[..., Any]) -> None:
    reads(audience("TOO_SMALL", 3))

    with pytest.raises(PinterestAudienceFailedError, match="TOO_SMALL"):
        sensor(deferrable=True).execute(task_context())


def test_deferrable_execute_defers_to_the_trigger_with_an_end_time(reads: Callable[..., Any]) -> None:
    reads(audience("PROCESSING"))
    waiting = sensor(
        deferrable=True,
        pinterest_conn_id="pinterest_default",
        poke_interval=300,
        timeout=timedelta(hours=2),
        failure_statuses=("TOO_SMALL",),
    )

    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        waiting.execute(task_context())
    after = time.time()

    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout >= timedelta(hours=2)
    trigger = deferred.value.trigger
    assert isinstance(trigger, PinterestAudienceTrigger)
    _, kwargs = trigger.serialize()
    end_time = kwargs.pop("end_time")
    assert before + 7200 <= end_time <= after + 7200
    assert kwargs == {
        "pinterest_conn_id": "pinterest_default",
        "ad_account_id": AD_ACCOUNT_ID,
        "audience_id": AUDIENCE_ID,
        "customer_list_id": None,
        "success_statuses": ["READY"],
        "failure_statuses": ["TOO_SMALL"],
        "poll_interval": 300.0,
    }


def test_a_rendered_poll_interval_replaces_poke_interval(reads: Callable[..., Any]) -> None:
    reads(audience("PROCESSING"))
    waiting = sensor(deferrable=True, poll_interval="{{ params.poll_interval }}")
    waiting.poll_interval = "7"  # as Jinja renders it

    with pytest.raises(TaskDeferred) as deferred:
        waiting.execute(task_context())

    assert deferred.value.trigger.serialize()[1]["poll_interval"] == 7.0
    assert waiting.poke_interval == 7.0


@pytest.mark.parametrize("bad", ["soon", "0", -5])
def test_a_bad_poll_interval_is_an_error_naming_it(bad: object) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as error:
        sensor(poll_interval=bad)
    assert error.value.argument == "poll_interval"


def test_deferrable_execute_defers_when_pinterest_is_unavailable_at_the_first_check(
    reads: Callable[..., Any],
) -> None:
    reads(PinterestApiError("audiences/get", 429, None, "rate limited", transient=True))

    with pytest.raises(TaskDeferred):
        sensor(deferrable=True).execute(task_context())


@pytest.mark.parametrize(
    ("ids", "argument"),
    [
        ({"audience_id": "١٢٣"}, "audience_id"),
        ({"audience_id": None, "customer_list_id": "list"}, "customer_list_id"),
    ],
)
def test_literal_ids_are_checked_when_the_dag_is_parsed(ids: dict[str, Any], argument: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as error:
        sensor(**ids)
    assert error.value.argument == argument


def test_rendered_ids_are_checked_before_any_call(reads: Callable[..., Any]) -> None:
    calls = reads(audience("READY"))
    waiting = sensor(audience_id="{{ params.audience }}")
    waiting.audience_id = "None"  # what an empty XCom renders to

    with pytest.raises(PinterestInvalidArgumentError, match="'audience_id': expected a numeric id"):
        waiting.poke({})
    assert calls == []


def test_deferrable_customer_list_defers_on_the_list(reads: Callable[..., Any]) -> None:
    reads(customer_list("PROCESSING"))

    with pytest.raises(TaskDeferred) as deferred:
        sensor(audience_id=None, customer_list_id=LIST_ID, deferrable=True).execute(task_context())

    _, kwargs = deferred.value.trigger.serialize()
    assert (kwargs["audience_id"], kwargs["customer_list_id"]) == (None, LIST_ID)


def test_execute_complete_returns_the_audience_on_success() -> None:
    event = {"status": "success", "audience": audience("READY", 800), "message": "ready"}

    assert sensor().execute_complete(task_context(), event) == audience("READY", 800)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [("failure", PinterestAudienceFailedError), ("timeout", AirflowSensorTimeout), ("error", PinterestError)],
)
def test_execute_complete_raises_the_events_message(status: str, error_type: type[Exception]) -> None:
    event = {"status": status, "audience": audience("TOO_SMALL", 5), "message": f"the {status} message"}

    with pytest.raises(error_type, match=f"the {status} message"):
        sensor().execute_complete(task_context(), event)
