"""PinterestEraseCustomersOperator without the API: parse-time checks, templates, rendered fields."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.erase import PinterestEraseCustomersOperator

EMAILS = [f"person{index}@example.com" for index in range(5)]


def erase(**kwargs: Any) -> PinterestEraseCustomersOperator:
    arguments: dict[str, Any] = {
        "task_id": "erase",
        "source": EMAILS,
        "suppression_path": "/tmp/x.suppression",
    }
    return PinterestEraseCustomersOperator(**{**arguments, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"source": None}, "source"),
        ({"source": "None"}, "source"),
        ({"source": None, "sql": 7, "sql_conn_id": "warehouse"}, "sql"),
        ({"source": None, "sql": "select email from erased", "sql_conn_id": " "}, "sql_conn_id"),
        ({"sql": "select 1"}, "source"),
        ({"source": None, "sql": "select email from erased"}, "sql_conn_id"),
        ({"list_type": "PHONE"}, "list_type"),
        ({"ad_account_ids": ["123", "x"]}, "ad_account_ids"),
        ({"suppression_path": " "}, "suppression_path"),
        ({"suppression_path": None, "state_paths": ["/tmp/a.snapshot"]}, "state_paths"),
        ({"state_paths": ["/tmp/a.snapshot", ""]}, "state_paths"),
        ({"max_invalid_ratio": 1.5}, "max_invalid_ratio"),
        ({"max_concurrent_requests": 0}, "max_concurrent_requests"),
        ({"lease_ttl": 5}, "lease_ttl"),
        ({"max_records_per_request": 0}, "max_records_per_request"),
        ({"delimiter": ";;"}, "delimiter"),
    ],
)
def test_bad_arguments_fail_at_parse_time_naming_the_argument(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        erase(**kwargs)
    assert raised.value.argument == argument


def test_templated_arguments_wait_for_the_run_and_are_checked_then() -> None:
    operator = erase(
        ad_account_ids="{{ var.value.accounts }}",
        suppression_path="{{ var.value.suppression }}",
        state_paths="{{ var.value.snapshot }}",
    )
    operator.ad_account_ids = "549755885175, 549755885176"
    operator.suppression_path = "None"
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        operator.checked_arguments()
    assert raised.value.argument == "suppression_path"
    operator.suppression_path = "s3://bucket/erased.suppression"
    operator.state_paths = "s3://bucket/newsletter.snapshot"
    checked = operator.checked_arguments()
    assert checked["ad_account_ids"] == ("549755885175", "549755885176")
    assert checked["state_paths"] == ("s3://bucket/newsletter.snapshot",)
    operator.state_paths = ["s3://bucket/a.snapshot", "s3://bucket/a.snapshot", "s3://bucket/b.snapshot"]
    assert operator.checked_arguments()["state_paths"] == ("s3://bucket/a.snapshot", "s3://bucket/b.snapshot")


def test_an_iterable_source_is_kept_as_a_summary_in_rendered_fields_and_read_in_full() -> None:
    from airflow.providers.common.compat.sdk import DAG

    with DAG("render", schedule=None):
        operator = erase()
    operator.render_template_fields({})
    assert str(operator.source) == "<list of 5 identifiers>"
    plan = operator.read_plan()
    assert (plan.mode, plan.suppression_path, plan.list_type.value) == ("remove", None, "EMAIL")
    assert [value for chunk in CustomerSource(source=operator.source).chunks() for value in chunk] == EMAILS


def test_the_erase_plan_carries_the_rendered_arguments() -> None:
    operator = erase(
        ad_account_ids="{{ var.value.accounts }}",
        state_paths="{{ var.value.snapshot }}",
        max_records_per_request=2,
        max_concurrent_requests=1,
        lease_ttl=60,
    )
    operator.ad_account_ids = "549755885175, 549755885176"
    operator.state_paths = "/tmp/newsletter.snapshot"
    plan = operator.erase_plan()
    assert plan.ad_account_ids == ("549755885175", "549755885176")
    assert (plan.suppression_path, plan.state_paths) == ("/tmp/x.suppression", ("/tmp/newsletter.snapshot",))
    reading = plan.identifiers
    assert (reading.records_per_request, reading.max_concurrent_requests, reading.lease_ttl) == (2, 1, 60.0)
    assert (reading.mode, reading.suppression_path) == ("remove", None)  # the erase reads every identifier


class ClosingHook:
    closed = 0

    def close(self) -> None:
        self.closed += 1


@pytest.mark.parametrize("fails", [False, True])
def test_execute_returns_the_summary_and_closes_the_hook(
    monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    from airflow_provider_pinterest_audiences.customer_lists import erase as engine

    class Result:
        def summary(self) -> dict[str, Any]:
            return {"distinct": 5}

    def run_erase(plan: Any, hook: Any, new_hook: Any, log: Any) -> Result:
        assert plan.identifiers.list_type.value == "EMAIL"
        if fails:
            raise RuntimeError("lost the lease")
        return Result()

    monkeypatch.setattr(engine, "run_erase", run_erase)
    operator = erase()
    hook = operator.__dict__["hook"] = ClosingHook()
    if fails:
        with pytest.raises(RuntimeError):
            operator.execute({})
    else:
        assert operator.execute({}) == {"distinct": 5}
    assert hook.closed == 1
