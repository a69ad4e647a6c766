"""Audience operators at DAG-parse time: argument checks, templated values, outlets, merging.

Nothing here talks HTTP: see tests/integration for the operators against the emulator.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pendulum
import pytest
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pinterest_audiences.arguments import has_unrendered_template
from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.operators.ad_group import PinterestUpdateAdGroupAudiencesOperator
from airflow_provider_pinterest_audiences.operators.audience import (
    PinterestArchiveAudienceOperator,
    PinterestCreateActalikeAudienceOperator,
    PinterestCreateAudienceOperator,
    PinterestCreateCustomerListAudienceOperator,
    PinterestCreateEngagementAudienceOperator,
    PinterestCreateVisitorAudienceOperator,
    PinterestUpdateAudienceOperator,
)

ACCOUNT = "549755885175"


def customer_list_audience(**kwargs: Any) -> PinterestCreateCustomerListAudienceOperator:
    arguments: dict[str, Any] = {"task_id": "create", "name": "Buyers", "customer_list_id": "3969491"}
    return PinterestCreateCustomerListAudienceOperator(**{**arguments, **kwargs})


def dag() -> DAG:
    return DAG("parse_time", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"))


@pytest.mark.parametrize(
    ("value", "unrendered"),
    [
        ("{{ params.days }}", True),
        ("{% if x %}1{% endif %}", True),
        (["1", {"k": "{{ ti.xcom_pull('a') }}"}], True),
        ({"{{ key }}": 1}, True),
        (object(), False),
        (timedelta(minutes=5), False),
        ("3969491", False),
        ([1, 2.5, True, None, {"a": ["b"]}], False),
        (None, False),
    ],
)
def test_has_unrendered_template(value: Any, unrendered: bool) -> None:
    assert has_unrendered_template(value) is unrendered


def test_xcom_references_count_as_unrendered_also_inside_a_list() -> None:
    with dag():
        upload = customer_list_audience(task_id="upload")

    assert has_unrendered_template(upload.output)
    assert has_unrendered_template([upload.output])


PARSE_ERRORS: list[tuple[Callable[[], Any], str]] = [
    (
        lambda: customer_list_audience(if_exists="skip"),
        "'if_exists': expected one of reuse, update, fail, got 'skip'",
    ),
    (
        lambda: customer_list_audience(poll_interval=0),
        "'poll_interval': expected a duration > 0 seconds, got 0",
    ),
    (
        lambda: customer_list_audience(poll_interval="soon"),
        "'poll_interval': expected a duration > 0 seconds, got 'soon'",
    ),
    (
        lambda: customer_list_audience(poll_interval=True),
        "'poll_interval': expected a duration > 0 seconds, got True",
    ),
    (
        lambda: customer_list_audience(timeout=timedelta(0)),
        "'timeout': expected a duration > 0 seconds, got datetime.timedelta(0)",
    ),
    (lambda: customer_list_audience(name=" "), "'name': expected a non-empty string, got ' '"),
    (lambda: customer_list_audience(description=5), "'description': expected a string or None, got 5"),
    (
        lambda: customer_list_audience(ad_account_id="acct-1"),
        "'ad_account_id': expected a numeric id of 1-18 digits, got 'acct-1'",
    ),
    (
        lambda: customer_list_audience(customer_list_id="list"),
        "'customer_list_id': expected a numeric id of 1-18 digits, got 'list'",
    ),
    (
        lambda: PinterestCreateAudienceOperator(
            task_id="t", name="n", audience_type="VISITOR", rule={"visitor_source_id": "1", "prefill": "no"}
        ),
        "'rule.prefill': expected true or false, got 'no'",
    ),
    (
        lambda: PinterestCreateAudienceOperator(task_id="t", name="n", audience_type="VISITOR", rule=None),
        "'rule': expected an object with string keys, got None",
    ),
    (
        lambda: PinterestCreateVisitorAudienceOperator(
            task_id="t", name="n", visitor_source_id="1", retention_days=0
        ),
        "'retention_days': expected an integer from 1 to 540, got 0",
    ),
    (
        lambda: PinterestCreateEngagementAudienceOperator(
            task_id="t", name="n", engagement_domain="example.com", engager_type=5
        ),
        "'engager_type': expected an integer from 1 to 2, got 5",
    ),
    (
        lambda: PinterestCreateActalikeAudienceOperator(
            task_id="t", name="n", seed_audience_ids=["1"], percentage=20
        ),
        "'percentage': expected an integer from 1 to 10, got 20",
    ),
    (
        lambda: PinterestUpdateAudienceOperator(task_id="t", audience_id="1"),
        "'name': nothing to update: pass at least one of name, rule or description",
    ),
    (
        lambda: PinterestUpdateAudienceOperator(task_id="t", audience_id="x", name="n"),
        "'audience_id': expected a numeric id of 1-18 digits, got 'x'",
    ),
    (
        lambda: PinterestUpdateAudienceOperator(task_id="t", audience_id="1", rule=["customer_list_id"]),
        "'rule': expected an object with string keys, got ['customer_list_id']",
    ),
    (
        lambda: PinterestUpdateAudienceOperator(task_id="t", audience_id="1", name=""),
        "'name': expected a non-empty string, got ''",
    ),
    (
        lambda: PinterestArchiveAudienceOperator(task_id="t", audience_id="abc"),
        "'audience_id': expected a numeric id of 1-18 digits, got 'abc'",
    ),
    (
        lambda: PinterestArchiveAudienceOperator(task_id="t", audience_id="١٢٣"),
        "'audience_id': expected a numeric id of 1-18 digits, got '١٢٣'",
    ),
    (
        lambda: customer_list_audience(ad_account_id="\uff15\uff14\uff19"),
        "'ad_account_id': expected a numeric id of 1-18 digits, got '\uff15\uff14\uff19'",
    ),
    (
        lambda: PinterestCreateActalikeAudienceOperator(
            task_id="t", name="n", seed_audience_ids=["1"], percentage="²"
        ),
        "'percentage': expected an integer from 1 to 10, got '²'",
    ),
    (
        lambda: PinterestUpdateAudienceOperator(task_id="t", audience_id="{{ params.id }}", name=" "),
        "'name': expected a non-empty string, got ' '",
    ),
]


@pytest.mark.parametrize(("build", "message"), PARSE_ERRORS)
def test_literal_arguments_fail_when_the_dag_is_parsed(build: Callable[[], Any], message: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        build()

    assert str(raised.value) == f"Invalid argument {message}"


def test_persona_fails_at_parse_time_with_the_sales_team_explanation() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="Pinterest's sales team builds them"):
        PinterestCreateAudienceOperator(task_id="t", name="n", audience_type="PERSONA", rule={})


def test_templated_and_xcom_values_wait_for_rendering() -> None:
    with dag():
        upload = customer_list_audience(task_id="upload")
        audience = customer_list_audience(
            task_id="audience", customer_list_id=upload.output, ad_account_id="{{ params.account }}"
        )
        visitors = PinterestCreateVisitorAudienceOperator(
            task_id="visitors",
            name="{{ ds }} visitors",
            visitor_source_id="1",
            retention_days="{{ params.days }}",
        )
        actalike = PinterestCreateActalikeAudienceOperator(
            task_id="actalike", name="Lookalikes", seed_audience_ids=[audience.output], percentage=3
        )
        targeting = PinterestUpdateAdGroupAudiencesOperator(
            task_id="target", ad_group_ids="{{ params.ad_group }}", include=[actalike.output], mode="replace"
        )

    assert audience.upstream_task_ids == {"upload"}
    assert actalike.upstream_task_ids == {"audience"}
    assert targeting.upstream_task_ids == {"actalike"}
    assert visitors.retention_days == "{{ params.days }}"


def test_outlet_asset_is_declared_when_account_and_name_are_literal() -> None:
    literal = customer_list_audience(ad_account_id=ACCOUNT, name="CRM buyers / 2026")
    templated_name = customer_list_audience(ad_account_id=ACCOUNT, name="{{ ds }}")
    connection_account = customer_list_audience()

    assert [asset.uri for asset in literal.outlets] == [
        f"pinterest://ad_accounts/{ACCOUNT}/audiences/CRM%20buyers%20%2F%202026"
    ]
    assert templated_name.outlets == []
    assert connection_account.outlets == []


def test_template_fields_cover_ids_names_rule_pieces_and_description() -> None:
    common = (
        "ad_account_id",
        "name",
        "description",
        "poll_interval",
        "sent_count",
        "min_audience_size",
        "min_match_rate",
    )
    assert PinterestCreateAudienceOperator.template_fields == (*common, "rule")
    assert PinterestCreateCustomerListAudienceOperator.template_fields == (*common, "customer_list_id")
    assert PinterestCreateActalikeAudienceOperator.template_fields == (
        *common,
        "seed_audience_ids",
        "country",
        "percentage",
    )
    assert PinterestCreateVisitorAudienceOperator.template_fields == (
        *common,
        "visitor_source_id",
        "event",
        "retention_days",
        "event_source",
        "ingestion_source",
        "url",
        "event_data",
        "extra_rule",
    )
    assert PinterestCreateEngagementAudienceOperator.template_fields == (
        *common,
        "engagement_domain",
        "engagement_type",
        "engager_type",
        "retention_days",
        "extra_rule",
    )
    assert PinterestUpdateAudienceOperator.template_fields == (
        "ad_account_id",
        "audience_id",
        "name",
        "rule",
        "description",
    )
    assert PinterestArchiveAudienceOperator.template_fields == ("ad_account_id", "audience_id")
    assert PinterestUpdateAdGroupAudiencesOperator.template_fields == (
        "ad_account_id",
        "ad_group_ids",
        "include",
        "exclude",
        "min_reach",
    )


def test_rendered_values_are_checked_again_before_any_call() -> None:
    operator = PinterestCreateVisitorAudienceOperator(
        task_id="t", name="n", visitor_source_id="1", retention_days="{{ params.days }}"
    )
    operator.retention_days = "900"  # what rendering produced

    with pytest.raises(
        PinterestInvalidArgumentError, match="'retention_days': expected an integer from 1 to 540"
    ):
        operator.execute({})


def test_wait_options_default_to_72_hours_every_15_minutes_not_deferred() -> None:
    operator = customer_list_audience()

    assert (operator.wait_for_ready, operator.deferrable) == (False, False)
    assert (operator.poll_interval, operator.timeout) == (timedelta(minutes=15), timedelta(hours=72))
    checked = operator.checked_arguments()
    assert (checked["poll_interval"], checked["timeout"]) == (900.0, 72 * 3600.0)
    assert (
        customer_list_audience(poll_interval=timedelta(minutes=1)).checked_arguments()["poll_interval"]
        == 60.0
    )


def test_typed_subclasses_check_their_rule_at_parse_time_after_super_init() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="'event_data': needs an event"):
        PinterestCreateVisitorAudienceOperator(
            task_id="t", name="n", visitor_source_id="1", event_data={"currency": "USD"}
        )
    with pytest.raises(PinterestInvalidArgumentError, match=r"'extra_rule\.retention_days': is set by"):
        PinterestCreateVisitorAudienceOperator(
            task_id="t", name="n", visitor_source_id="1", retention_days=5, extra_rule={"retention_days": 9}
        )


def test_operator_modules_load_no_http_client_or_emulator_at_parse_time() -> None:
    """Compared with what Airflow itself loads (Airflow 2 imports requests, the task SDK httpx)."""
    code = (
        "import sys\n"
        "from airflow.providers.common.compat.sdk import BaseOperator, BaseSensorOperator\n"
        "heavy = ('requests', 'httpx', 'fastapi', 'uvicorn', 'airflow_provider_pinterest_audiences.emulator')"
        "\n"
        "before = {m for m in heavy if m in sys.modules}\n"
        "import airflow_provider_pinterest_audiences.operators.audience\n"
        "import airflow_provider_pinterest_audiences.operators.ad_group\n"
        "import airflow_provider_pinterest_audiences.sensors.audience\n"
        "print(sorted(m for m in heavy if m in sys.modules and m not in before))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip().splitlines()[-1] == "[]"


class FakeTI:
    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@pytest.mark.usefixtures("pinterest_conn")
def test_wait_for_ready_waits_through_pinterest_being_unavailable_as_the_sensor_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = {"id": "7", "name": "Buyers", "type": "audience", "status": "INITIALIZING"}
    answers: list[Any] = [
        PinterestApiError("audiences/get", 503, None, "unavailable", transient=True),
        {**created, "status": "READY", "size": 500},
    ]

    def get_audience(hook: PinterestHook, account: str, audience_id: str) -> dict[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    monkeypatch.setattr(PinterestHook, "find_audience", lambda *args, **kwargs: None)
    monkeypatch.setattr(PinterestHook, "create_audience", lambda *args, **kwargs: dict(created))
    monkeypatch.setattr(PinterestHook, "get_audience", get_audience)
    ti = FakeTI()

    audience = customer_list_audience(wait_for_ready=True, poll_interval=0.01, min_members=0)
    assert audience.execute({"ti": ti}) == "7"
    assert ti.xcoms["audience"]["status"] == "READY"
    assert answers == []


def test_a_rendered_percentage_that_is_no_ascii_integer_fails_before_any_call() -> None:
    operator = PinterestCreateActalikeAudienceOperator(
        task_id="t", name="n", seed_audience_ids=["1"], percentage="{{ params.percentage }}"
    )
    operator.percentage = "²"  # what rendering produced

    with pytest.raises(PinterestInvalidArgumentError, match="'percentage': expected an integer from 1 to 10"):
        operator.execute({})
