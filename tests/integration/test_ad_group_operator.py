"""PinterestUpdateAdGroupAudiencesOperator against the emulator's seeded ad groups and their targeting."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pendulum
import pytest
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from airflow_provider_pinterest_audiences.exceptions import (
    PinterestApiError,
    PinterestError,
    PinterestInvalidArgumentError,
)
from airflow_provider_pinterest_audiences.hooks import pinterest
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.operators.ad_group import PinterestUpdateAdGroupAudiencesOperator
from airflow_provider_pinterest_audiences.operators.audience import PinterestCreateEngagementAudienceOperator
from tests.integration.emulator_api import ACCOUNT, control


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorSettings()) as running, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", running.connection_json())
        yield running


@pytest.fixture
def seeded(server: EmulatorServer) -> dict[str, dict[str, Any]]:
    """The emulator's freshly seeded ad groups: id -> targeting spec."""
    control(server, "POST", "/reset")
    return targeting(server)


def targeting(server: EmulatorServer) -> dict[str, dict[str, Any]]:
    groups = control(server, "GET", "/summary")["ad_accounts"][ACCOUNT]["ad_groups"]
    return {group["id"]: group["targeting_spec"] for group in groups}


def patches(server: EmulatorServer) -> int:
    return len([r for r in control(server, "GET", "/requests")["recent"] if r["method"] == "PATCH"])


def audience(name: str) -> str:
    rule = {"engagement_domain": ["www.example.com"]}
    created = PinterestHook().create_audience(ACCOUNT, name=name, audience_type="ENGAGEMENT", rule=rule)
    return str(created["id"])


def update(**kwargs: Any) -> dict[str, dict[str, list[str]]]:
    operator = PinterestUpdateAdGroupAudiencesOperator(task_id="target", **kwargs)
    result: dict[str, dict[str, list[str]]] = operator.execute({})
    return result


def test_add_merges_audiences_and_keeps_every_other_targeting_key(
    server: EmulatorServer, seeded: dict[str, dict[str, Any]]
) -> None:
    include, exclude = audience("Engaged savers"), audience("Past buyers")
    groups = sorted(seeded)

    result = update(ad_group_ids=groups, include=[include], exclude=[exclude])

    expected = {
        group: {**spec, "AUDIENCE_INCLUDE": [include], "AUDIENCE_EXCLUDE": [exclude]}
        for group, spec in seeded.items()
    }
    assert targeting(server) == expected
    assert result == {
        group: {"AUDIENCE_INCLUDE": [include], "AUDIENCE_EXCLUDE": [exclude]} for group in groups
    }


def test_a_rerun_writes_nothing(server: EmulatorServer, seeded: dict[str, dict[str, Any]]) -> None:
    include = audience("Rerun include")
    update(ad_group_ids=sorted(seeded), include=[include])
    written = patches(server)

    update(ad_group_ids=sorted(seeded), include=[include])

    assert written == 1
    assert patches(server) == 1


def test_replace_with_empty_include_makes_an_open_audience(
    server: EmulatorServer, seeded: dict[str, dict[str, Any]]
) -> None:
    group = sorted(seeded)[0]
    kept, dropped = audience("Kept exclusion"), audience("Dropped inclusion")
    update(ad_group_ids=group, include=[dropped], exclude=[kept])

    result = update(ad_group_ids=group, include=[], mode="replace")

    assert targeting(server)[group] == {**seeded[group], "AUDIENCE_EXCLUDE": [kept]}
    assert "AUDIENCE_INCLUDE" not in targeting(server)[group]
    assert result == {group: {"AUDIENCE_INCLUDE": [], "AUDIENCE_EXCLUDE": [kept]}}


def test_replace_and_remove_change_only_the_lists_given(
    server: EmulatorServer, seeded: dict[str, dict[str, Any]]
) -> None:
    group = sorted(seeded)[1]
    first, second, third = audience("First"), audience("Second"), audience("Third")
    update(ad_group_ids=group, include=[first, second], exclude=[third])

    update(ad_group_ids=group, include=[second], mode="replace")
    after_replace = copy.deepcopy(targeting(server)[group])
    update(ad_group_ids=group, exclude=[third], mode="remove")

    assert after_replace == {**seeded[group], "AUDIENCE_INCLUDE": [second], "AUDIENCE_EXCLUDE": [third]}
    assert targeting(server)[group] == {**seeded[group], "AUDIENCE_INCLUDE": [second]}


@pytest.mark.airflow3_only  # resolves XComArgs the way the Task SDK does
def test_xcom_outputs_inside_lists_are_rendered_then_merged(
    server: EmulatorServer, seeded: dict[str, dict[str, Any]]
) -> None:
    group = sorted(seeded)[2]
    actalike_id = audience("Rendered include")
    with DAG("targeting", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        create = PinterestCreateEngagementAudienceOperator(
            task_id="create_actalike", name="unused", engagement_domain="www.example.com"
        )
        operator = PinterestUpdateAdGroupAudiencesOperator(
            task_id="target", ad_group_ids=["{{ params.ad_group }}"], include=[create.output]
        )

    operator.render_template_fields(
        {"ti": XComSource({"create_actalike": actalike_id}), "params": {"ad_group": group}}
    )
    operator.execute({})

    assert operator.include == [actalike_id]
    assert targeting(server)[group] == {**seeded[group], "AUDIENCE_INCLUDE": [actalike_id]}


class XComSource:
    """A task instance that answers ``xcom_pull`` from a dict of task id -> return value."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def xcom_pull(self, task_ids: str, **kwargs: Any) -> Any:
        return self.values[task_ids]


def test_updates_are_sent_in_batches(
    server: EmulatorServer, seeded: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pinterest, "MAX_AD_GROUPS_PER_UPDATE", 2)
    include = audience("Batched")

    update(ad_group_ids=sorted(seeded), include=[include])

    assert patches(server) == 2
    assert all(spec["AUDIENCE_INCLUDE"] == [include] for spec in targeting(server).values())


def test_per_item_exceptions_fail_the_task_naming_each_ad_group(
    server: EmulatorServer, seeded: dict[str, dict[str, Any]]
) -> None:
    archived = audience("Archived already")
    PinterestHook().archive_audience(ACCOUNT, archived)
    first, second = sorted(seeded)[:2]

    with pytest.raises(PinterestError) as raised:
        update(ad_group_ids=[first, second], include=[archived])

    problem = (
        f"targeting_spec.AUDIENCE_INCLUDE: audience {archived} is ARCHIVED and cannot be targeted. (code 1)"
    )
    assert str(raised.value) == (
        "Pinterest did not apply 2 of 2 ad group updates (0 written in earlier batches): "
        f"ad group {first}: {problem} | ad group {second}: {problem}. "
        "Fix the cause and re-run: ad groups already targeted as asked are skipped."
    )
    assert targeting(server) == seeded


def test_an_unknown_ad_group_fails_before_anything_is_written(
    server: EmulatorServer, seeded: dict[str, dict[str, Any]]
) -> None:
    include = audience("Never written")

    with pytest.raises(PinterestApiError, match="Ad group 999 not found"):
        update(ad_group_ids=[*sorted(seeded), "999"], include=[include])

    assert patches(server) == 0


def test_including_an_excluded_audience_is_refused_before_writing(
    server: EmulatorServer, seeded: dict[str, dict[str, Any]]
) -> None:
    group = sorted(seeded)[0]
    excluded = audience("Excluded customers")
    update(ad_group_ids=group, exclude=[excluded])

    with pytest.raises(PinterestInvalidArgumentError) as raised:
        update(ad_group_ids=group, include=[excluded])

    assert str(raised.value) == (
        f"Invalid argument 'include': ad group {group} would both include and exclude ['{excluded}']; "
        "remove them from the other list first (mode='remove')"
    )
    assert patches(server) == 1


def test_dry_run_logs_each_change_and_sends_no_patch(
    server: EmulatorServer,
    seeded: dict[str, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    include = audience("Dry run include")
    group, other = sorted(seeded)[:2]
    update(ad_group_ids=other, include=[include])  # already targeted as asked
    written = patches(server)

    result = update(ad_group_ids=[group, other], include=[include], dry_run=True)

    output = caplog.text + "".join(capfd.readouterr())
    assert patches(server) == written
    assert targeting(server)[group] == seeded[group]
    assert result[group]["AUDIENCE_INCLUDE"] == [include]
    assert (
        f"Dry run: ad group {group} would change its audience targeting from "
        f"{{'AUDIENCE_INCLUDE': [], 'AUDIENCE_EXCLUDE': []}} to "
        f"{{'AUDIENCE_INCLUDE': ['{include}'], 'AUDIENCE_EXCLUDE': []}}" in output
    )
    assert f"Dry run: ad group {other}" not in output
    assert "1 ad groups would be updated, 1 already targeted as asked; nothing was sent" in output
