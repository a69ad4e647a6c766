"""Audience operators against the emulator: get-or-create, re-runs, if_exists, waiting, update, archive."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, TaskDeferred
from airflow.triggers.base import TriggerEvent

from airflow_provider_pinterest_audiences.audience_wait import PinterestAudienceFailedError
from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from airflow_provider_pinterest_audiences.exceptions import (
    PinterestApiError,
    PinterestError,
    PinterestInvalidArgumentError,
)
from airflow_provider_pinterest_audiences.health import PinterestAudienceHealthError
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.operators.audience import (
    PinterestArchiveAudienceOperator,
    PinterestCreateActalikeAudienceOperator,
    PinterestCreateAudienceOperator,
    PinterestCreateCustomerListAudienceOperator,
    PinterestCreateEngagementAudienceOperator,
    PinterestCreateVisitorAudienceOperator,
    PinterestUpdateAudienceOperator,
)
from airflow_provider_pinterest_audiences.sensors.audience import DEFERRAL_BACKSTOP_GRACE
from airflow_provider_pinterest_audiences.triggers.audience import PinterestAudienceTrigger
from tests.integration.emulator_api import ACCOUNT, control

TAG_ID = "2613484614072"
OTHER_ACCOUNT = "120123456789"
FAST_POLL = 0.05


class FakeTI:
    """The part of a task instance the operators use: ``xcom_push``."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    settings = EmulatorSettings(
        audience_initializing_seconds=0.1,
        audience_processing_seconds=0.2,
        customer_list_processing_seconds=0.1,
        ad_account_ids=(OTHER_ACCOUNT,),
    )
    with EmulatorServer(settings) as running, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", running.connection_json())
        no_account = json.loads(running.connection_json())
        del no_account["extra"]["ad_account_id"]
        patch.setenv("AIRFLOW_CONN_PINTEREST_NO_ACCOUNT", json.dumps(no_account))
        yield running


@pytest.fixture(autouse=True)
def fresh_emulator(server: EmulatorServer) -> None:
    control(server, "POST", "/reset")


def run(operator: Any) -> tuple[str, dict[str, Any]]:
    """``operator.execute`` with a fake task instance: its return value and the XComs it pushed."""
    ti = FakeTI()
    return operator.execute({"ti": ti}), ti.xcoms


def audiences(server: EmulatorServer, account: str = ACCOUNT) -> list[dict[str, Any]]:
    return list(control(server, "GET", "/summary")["ad_accounts"][account]["audiences"])


def calls(server: EmulatorServer, method: str | None = None) -> int:
    """Pinterest requests the emulator served since the last reset (of one method, if given)."""
    report = control(server, "GET", "/requests")
    return len([r for r in report["recent"] if method is None or r["method"] == method])


def customer_list(name: str, records: int = 300) -> str:
    """The id of the customer list called ``name``, made with ``records`` hashed emails if new."""
    hook = PinterestHook()
    found = hook.find_customer_list(ACCOUNT, name)
    if found is None:
        hashes = (hashlib.sha256(f"{name}-{i}@example.com".encode()).hexdigest() for i in range(records))
        found = hook.create_customer_list(ACCOUNT, name=name, records=",".join(hashes))
    return str(found["id"])


def seed_audience(name: str, records: int = 300) -> str:
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="seed", name=name, customer_list_id=customer_list(name, records)
    )
    return run(operator)[0]


CREATORS: dict[str, Callable[[str], Any]] = {
    "customer_list": lambda name: PinterestCreateCustomerListAudienceOperator(
        task_id="create", name=name, customer_list_id=customer_list(f"{name} list")
    ),
    "visitor": lambda name: PinterestCreateVisitorAudienceOperator(
        task_id="create",
        name=name,
        visitor_source_id=TAG_ID,
        event="checkout",
        retention_days=30,
        event_source=["web", "mobile"],
        ingestion_source={"in": ["tag", "conversions_api"]},
        extra_rule={"lookback_window": 30},
    ),
    "engagement": lambda name: PinterestCreateEngagementAudienceOperator(
        task_id="create",
        name=name,
        engagement_domain="www.example.com",
        engagement_type="save",
        engager_type=1,
    ),
    "actalike": lambda name: PinterestCreateActalikeAudienceOperator(
        task_id="create",
        name=name,
        seed_audience_ids=[seed_audience(f"{name} seed")],
        country="CA",
        percentage=5,
    ),
    "general": lambda name: PinterestCreateAudienceOperator(
        task_id="create",
        name=name,
        audience_type="VISITOR",
        rule={"visitor_source_id": TAG_ID, "event_type": "PAGE_VISIT", "lookback_window": 30},
        description="Guide-style visitor rule",
    ),
}


@pytest.mark.parametrize("kind", sorted(CREATORS))
def test_every_create_operator_creates_once_and_returns_the_same_id_on_rerun(
    server: EmulatorServer, kind: str
) -> None:
    name = f"Re-run {kind}"
    first = CREATORS[kind](name)

    audience_id, xcoms = run(first)
    rerun_id, rerun_xcoms = run(first)
    rule = first.build_rule()
    again_id, _ = run(CREATORS[kind](name))  # a new instance, as a new DAG run has

    assert audience_id == rerun_id == again_id
    mine = [a for a in audiences(server) if a["name"] == name]
    assert [a["id"] for a in mine] == [audience_id]
    assert mine[0]["rule"] == rule
    assert xcoms["audience"]["id"] == audience_id
    assert xcoms["audience"]["audience_type"] == first.audience_type
    assert xcoms["audience_url"] == (
        f"https://ads.pinterest.com/advertiser/{ACCOUNT}/audiences/?audienceId={audience_id}"
    )
    assert rerun_xcoms["audience"]["id"] == audience_id


def test_typed_and_general_forms_share_the_name_and_type_identity(server: EmulatorServer) -> None:
    list_id = customer_list("Shared identity list")
    typed = PinterestCreateCustomerListAudienceOperator(
        task_id="typed", name="Shared identity", customer_list_id=list_id
    )
    general = PinterestCreateAudienceOperator(
        task_id="general",
        name="Shared identity",
        audience_type="CUSTOMER_LIST",
        rule={"customer_list_id": list_id},
    )

    assert run(typed)[0] == run(general)[0]


def test_same_name_of_another_type_or_archived_is_not_reused(server: EmulatorServer) -> None:
    visitors = PinterestCreateVisitorAudienceOperator(task_id="v", name="Same name", visitor_source_id=TAG_ID)
    engagers = PinterestCreateEngagementAudienceOperator(
        task_id="e", name="Same name", engagement_domain="www.example.com"
    )
    visitor_id, engager_id = run(visitors)[0], run(engagers)[0]
    run(PinterestArchiveAudienceOperator(task_id="archive", audience_id=visitor_id))

    replacement_id = run(visitors)[0]

    assert len({visitor_id, engager_id, replacement_id}) == 3
    statuses = {a["id"]: a["status"] for a in audiences(server)}
    assert statuses[visitor_id] == "ARCHIVED"


def test_explicit_ad_account_overrides_the_connection_default(server: EmulatorServer) -> None:
    other = OTHER_ACCOUNT
    operator = PinterestCreateVisitorAudienceOperator(
        task_id="v", ad_account_id=other, name="Other account visitors", visitor_source_id=TAG_ID
    )

    audience_id, xcoms = run(operator)

    assert [a["id"] for a in audiences(server, other)] == [audience_id]
    assert xcoms["audience_url"].startswith(f"https://ads.pinterest.com/advertiser/{other}/audiences/")
    assert [asset.uri for asset in operator.outlets] == [
        f"pinterest://ad_accounts/{other}/audiences/Other%20account%20visitors"
    ]


def test_if_exists_update_patches_rule_and_description_only_when_they_differ(server: EmulatorServer) -> None:
    def visitors(retention_days: int, description: str) -> PinterestCreateVisitorAudienceOperator:
        return PinterestCreateVisitorAudienceOperator(
            task_id="v",
            name="Updatable visitors",
            visitor_source_id=TAG_ID,
            retention_days=retention_days,
            description=description,
            if_exists="update",
        )

    audience_id = run(visitors(30, "30 days"))[0]
    updated_id, xcoms = run(visitors(60, "60 days"))
    patches_after_update = calls(server, "PATCH")
    run(visitors(60, "60 days"))

    assert updated_id == audience_id
    assert xcoms["audience"]["rule"] == {"visitor_source_id": TAG_ID, "retention_days": 60}
    assert xcoms["audience"]["description"] == "60 days"
    assert patches_after_update == 1
    assert calls(server, "PATCH") == 1


def test_if_exists_reuse_leaves_a_differing_audience_untouched(server: EmulatorServer) -> None:
    first = PinterestCreateVisitorAudienceOperator(
        task_id="v", name="Reused visitors", visitor_source_id=TAG_ID, retention_days=30
    )
    second = PinterestCreateVisitorAudienceOperator(
        task_id="v", name="Reused visitors", visitor_source_id=TAG_ID, retention_days=90
    )

    audience_id = run(first)[0]
    reused_id, xcoms = run(second)

    assert reused_id == audience_id
    assert xcoms["audience"]["rule"]["retention_days"] == 30
    assert calls(server, "PATCH") == 0


def test_if_exists_fail_refuses_an_existing_audience(server: EmulatorServer) -> None:
    operator = PinterestCreateVisitorAudienceOperator(
        task_id="v", name="Unique visitors", visitor_source_id=TAG_ID, if_exists="fail"
    )
    audience_id = run(operator)[0]

    with pytest.raises(PinterestError) as raised:
        run(operator)

    assert str(raised.value) == (
        f"A VISITOR audience named 'Unique visitors' already exists in ad account {ACCOUNT} "
        f"(id {audience_id}) and if_exists='fail'. Use another name, or if_exists='reuse' or 'update'."
    )


def test_missing_ad_account_is_named_before_any_request(server: EmulatorServer) -> None:
    operator = PinterestCreateVisitorAudienceOperator(
        task_id="v", name="No account", visitor_source_id=TAG_ID, pinterest_conn_id="pinterest_no_account"
    )

    with pytest.raises(PinterestInvalidArgumentError) as raised:
        run(operator)

    assert str(raised.value) == (
        "Invalid argument 'ad_account_id': not given, and connection 'pinterest_no_account' has no "
        "'ad_account_id' extra; pass ad_account_id= or set the extra"
    )
    assert calls(server) == 0


def test_rendered_values_are_validated_before_any_request(server: EmulatorServer) -> None:
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="c", name="Rendered", customer_list_id="{{ ti.xcom_pull('upload') }}"
    )
    operator.customer_list_id = "None"  # what an empty upstream XCom renders to

    with pytest.raises(PinterestInvalidArgumentError, match="'customer_list_id': expected a numeric id"):
        run(operator)
    assert calls(server) == 0


def test_pinterest_rejections_surface_as_api_errors(server: EmulatorServer) -> None:
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="c", name="Unknown list", customer_list_id="999999", min_members=0
    )

    with pytest.raises(PinterestApiError, match="999999 is not a customer list"):
        run(operator)


# -- waiting for READY --------------------------------------------------------------------------


def test_wait_for_ready_polls_until_ready_and_pushes_the_ready_audience(server: EmulatorServer) -> None:
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="c",
        name="Ready customers",
        customer_list_id=customer_list("Ready customers list"),
        wait_for_ready=True,
        deferrable=False,
        poll_interval="{{ params.poll_interval }}",
    )
    operator.render_template_fields({"params": {"poll_interval": FAST_POLL}})

    audience_id, xcoms = run(operator)

    assert xcoms["audience"]["id"] == audience_id
    assert xcoms["audience"]["status"] == "READY"
    assert xcoms["audience"]["size"] >= 100


def ready_customers(**kwargs: Any) -> PinterestCreateCustomerListAudienceOperator:
    """A customer-list audience over 300 records (the emulator matches about 70%), waited for."""
    return PinterestCreateCustomerListAudienceOperator(
        task_id="c",
        name="Matched customers",
        customer_list_id=customer_list("Matched customers list"),
        wait_for_ready=True,
        deferrable=False,
        poll_interval=FAST_POLL,
        sent_count=300,
        **kwargs,
    )


def test_wait_for_ready_pushes_size_status_and_match_rate(server: EmulatorServer) -> None:
    _, xcoms = run(ready_customers(min_audience_size=100, min_match_rate=0.5))

    assert xcoms["audience_status"] == "READY"
    assert xcoms["audience_size"] == xcoms["audience"]["size"]
    assert xcoms["match_rate"] == round(xcoms["audience_size"] / 300, 4)
    assert 0.5 < xcoms["match_rate"] < 0.9


def test_wait_for_ready_fails_below_min_audience_size(server: EmulatorServer) -> None:
    with pytest.raises(PinterestAudienceHealthError, match=r"expected a size of at least 1,000, saw \d+"):
        run(ready_customers(min_audience_size=1000))


def test_wait_for_ready_fails_below_min_match_rate(server: EmulatorServer) -> None:
    with pytest.raises(PinterestAudienceHealthError, match=r"expected a match rate of at least 95.0%, saw"):
        run(ready_customers(min_match_rate=0.95))


def test_wait_for_ready_only_warns_with_on_low_match_warn(
    server: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    audience_id, xcoms = run(ready_customers(min_match_rate=0.95, on_low_match="warn"))

    assert xcoms["audience"]["id"] == audience_id
    assert "expected a match rate of at least 95.0%" in caplog.text + "".join(capfd.readouterr())


def test_wait_for_ready_fails_fast_on_too_small_with_advice(server: EmulatorServer) -> None:
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="c",
        name="Tiny customers",
        customer_list_id=customer_list("Tiny list", records=20),
        wait_for_ready=True,
        poll_interval=FAST_POLL,
        min_members=0,
    )

    with pytest.raises(PinterestAudienceFailedError, match="is TOO_SMALL: fewer than 100 Pinterest users"):
        run(operator)


def test_a_list_known_to_hold_fewer_than_100_is_refused_before_the_create(server: EmulatorServer) -> None:
    list_id = customer_list("Small list", records=60)
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="c", name="Small customers", customer_list_id=list_id
    )

    with pytest.raises(PinterestInvalidArgumentError, match=r"holds 60 records .* than min_members=100"):
        run(operator)
    assert "Small customers" not in {
        a["name"] for a in control(server, "GET", "/summary")["ad_accounts"][ACCOUNT]["audiences"]
    }
    with pytest.raises(PinterestInvalidArgumentError, match="min_members"):
        PinterestCreateCustomerListAudienceOperator(
            task_id="c", name="x", customer_list_id=list_id, min_members=-1
        )


def test_wait_for_ready_times_out_with_the_last_status(server: EmulatorServer) -> None:
    operator = PinterestCreateVisitorAudienceOperator(
        task_id="v",
        name="Slow visitors",
        visitor_source_id=TAG_ID,
        wait_for_ready=True,
        poll_interval=FAST_POLL,
    )
    audience_id = run(
        PinterestCreateVisitorAudienceOperator(task_id="v", name="Slow visitors", visitor_source_id=TAG_ID)
    )[0]
    control(server, "POST", f"/audiences/{audience_id}/status", json={"status": "PROCESSING"})
    operator.timeout = 0.3

    started = time.monotonic()
    with pytest.raises(
        AirflowSensorTimeout, match=r"^Timed out at .*: Pinterest audience .* was still PROCESSING\. "
    ):
        run(operator)
    assert time.monotonic() - started < 2


def test_a_ready_reused_audience_needs_no_wait(server: EmulatorServer) -> None:
    audience_id = seed_audience("Already ready")
    control(server, "POST", f"/audiences/{audience_id}/status", json={"status": "READY"})
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="c",
        name="Already ready",
        customer_list_id=customer_list("Already ready"),
        wait_for_ready=True,
        deferrable=True,
    )

    assert run(operator)[0] == audience_id


async def test_deferrable_wait_defers_to_the_trigger_and_resumes_with_the_ready_audience(
    server: EmulatorServer,
) -> None:
    operator = PinterestCreateCustomerListAudienceOperator(
        task_id="c",
        name="Deferred customers",
        customer_list_id=customer_list("Deferred customers list"),
        wait_for_ready=True,
        deferrable=True,
        poll_interval=FAST_POLL,
        timeout=600,
    )
    ti = FakeTI()

    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({"ti": ti})

    audience_id = ti.xcoms["audience_url"].rsplit("=", 1)[1]
    trigger = deferred.value.trigger
    _, kwargs = trigger.serialize()
    assert isinstance(trigger, PinterestAudienceTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == timedelta(seconds=600) + DEFERRAL_BACKSTOP_GRACE
    assert kwargs["end_time"] == pytest.approx(time.time() + 600, abs=5)
    assert {k: v for k, v in kwargs.items() if k != "end_time"} == {
        "pinterest_conn_id": "pinterest_default",
        "ad_account_id": ACCOUNT,
        "audience_id": audience_id,
        "customer_list_id": None,
        "success_statuses": ["READY"],
        "failure_statuses": ["TOO_SMALL", "ERROR", "ARCHIVED"],
        "poll_interval": FAST_POLL,
    }
    assert "audience" not in ti.xcoms

    event = await _only_event(trigger.run())
    resumed_id = operator.execute_complete({"ti": ti}, event)

    assert resumed_id == audience_id
    assert ti.xcoms["audience"]["status"] == "READY"


async def _only_event(events: AsyncIterator[TriggerEvent]) -> dict[str, Any]:
    payloads = [event.payload async for event in events]
    assert len(payloads) == 1
    return dict(payloads[0])


def test_execute_complete_raises_the_trigger_failure(server: EmulatorServer) -> None:
    operator = PinterestCreateVisitorAudienceOperator(task_id="v", name="Failed", visitor_source_id=TAG_ID)
    event = {
        "status": "failure",
        "audience": {"id": "1", "status": "ERROR"},
        "message": "Pinterest says ERROR.",
    }

    with pytest.raises(PinterestAudienceFailedError, match=r"Pinterest says ERROR\."):
        operator.execute_complete({"ti": FakeTI()}, event)


# -- update and archive -------------------------------------------------------------------------


def test_update_changes_only_what_differs_and_a_rerun_is_a_no_op(server: EmulatorServer) -> None:
    audience_id = seed_audience("Before rename")
    operator = PinterestUpdateAudienceOperator(
        task_id="u", audience_id=audience_id, name="After rename", description="Renamed by Airflow"
    )

    returned, xcoms = run(operator)
    run(operator)

    assert returned == audience_id
    assert (xcoms["audience"]["name"], xcoms["audience"]["description"]) == (
        "After rename",
        "Renamed by Airflow",
    )
    assert xcoms["audience_url"].endswith(f"?audienceId={audience_id}")
    assert calls(server, "PATCH") == 1


def test_update_checks_the_rule_against_the_audience_type_before_patching(server: EmulatorServer) -> None:
    audience_id = seed_audience("Rule check")
    new_list = customer_list("Rule check replacement")

    with pytest.raises(PinterestInvalidArgumentError, match=r"'rule\.customer_list_id': is required"):
        run(PinterestUpdateAudienceOperator(task_id="u", audience_id=audience_id, rule={"seed_id": ["1"]}))
    assert calls(server, "PATCH") == 0

    _, xcoms = run(
        PinterestUpdateAudienceOperator(
            task_id="u", audience_id=audience_id, rule={"customer_list_id": new_list}
        )
    )
    assert xcoms["audience"]["rule"] == {"customer_list_id": new_list}


def test_archive_archives_once_and_a_rerun_is_a_no_op(server: EmulatorServer) -> None:
    audience_id = seed_audience("To archive")
    operator = PinterestArchiveAudienceOperator(task_id="a", audience_id=audience_id)

    returned, xcoms = run(operator)
    run(operator)

    assert returned == audience_id
    assert xcoms["audience"]["status"] == "ARCHIVED"
    assert calls(server, "PATCH") == 1
