"""``min_reach`` on PinterestUpdateAdGroupAudiencesOperator against the emulator: Pinterest's audience sizing
is asked for each ad group's new targeting before any PATCH, and a reach below the bound writes nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.hooks.pinterest import AudienceReach, PinterestHook
from airflow_provider_pinterest_audiences.operators.ad_group import PinterestLowReachError
from tests.integration.emulator_api import ACCOUNT, control, server_fixture
from tests.integration.test_ad_group_operator import targeting, update

SIZING_PATH = f"/v5/ad_accounts/{ACCOUNT}/ad_groups/audience_sizing"


server = server_fixture()


@pytest.fixture
def ad_groups(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """The freshly seeded ad groups (id -> targeting spec), the connection pointing at the emulator."""
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", server.connection_json())
    control(server, "POST", "/reset")
    return targeting(server)


def requests_made(server: EmulatorServer, method: str, path: str | None = None) -> int:
    recent = control(server, "GET", "/requests")["recent"]
    return len([r for r in recent if r["method"] == method and (path is None or r["path"] == path)])


def ready_audience(server: EmulatorServer, name: str) -> tuple[str, int]:
    """A processed engagement audience: its id and size."""
    hook = PinterestHook()
    rule = {"engagement_domain": [f"{name.lower().replace(' ', '-')}.example.com"]}
    audience_id = str(hook.create_audience(ACCOUNT, name=name, audience_type="ENGAGEMENT", rule=rule)["id"])
    control(server, "POST", "/clock/advance", json={"seconds": 3_600})
    audience = hook.get_audience(ACCOUNT, audience_id)
    assert audience["status"] == "READY" and audience["size"] > 0, audience
    return audience_id, int(audience["size"])


def reach_of(ad_group_id: str, spec: dict[str, Any]) -> AudienceReach:
    """What Pinterest's sizing says for ``spec`` in this ad group, asked directly."""
    group = PinterestHook().get_ad_group(ACCOUNT, ad_group_id)
    return PinterestHook().audience_sizing(
        ACCOUNT,
        spec,
        placement_group=group["placement_group"],
        auto_targeting_enabled=group["auto_targeting_enabled"],
    )


def test_a_reach_below_min_reach_fails_naming_both_and_writes_nothing(
    server: EmulatorServer, ad_groups: dict[str, dict[str, Any]]
) -> None:
    audience_id, size = ready_audience(server, "Small savers")
    groups = sorted(ad_groups)
    reaches = {
        group: reach_of(group, {**ad_groups[group], "AUDIENCE_INCLUDE": [audience_id]}) for group in groups
    }
    assert all(reach.lower_bound <= size <= reach.upper_bound for reach in reaches.values())
    min_reach = 10 * size
    patches_before = requests_made(server, "PATCH")

    with pytest.raises(PinterestLowReachError) as raised:
        update(ad_group_ids=groups, include=[audience_id], min_reach=min_reach)

    message = str(raised.value)
    assert f"min_reach={min_reach}" in message
    assert f"at least {min_reach:,}" in message
    for group, reach in reaches.items():
        assert f"ad group {group} {reach.lower_bound:,}-{reach.upper_bound:,}" in message
    assert "No ad group was updated" in message
    assert requests_made(server, "PATCH") == patches_before
    assert targeting(server) == ad_groups


def test_a_reach_at_min_reach_targets_the_ad_groups_after_one_sizing_each(
    server: EmulatorServer, ad_groups: dict[str, dict[str, Any]]
) -> None:
    audience_id, _ = ready_audience(server, "Loyal buyers")
    groups = sorted(ad_groups)[:2]
    lowest = min(
        (reach_of(g, {**ad_groups[g], "AUDIENCE_INCLUDE": [audience_id]}) for g in groups),
        key=lambda reach: reach.lower_bound,
    )
    sizings_before = requests_made(server, "POST", SIZING_PATH)

    update(ad_group_ids=groups, include=[audience_id], min_reach=lowest.lower_bound)

    assert requests_made(server, "POST", SIZING_PATH) - sizings_before == len(groups)
    assert requests_made(server, "PATCH") == 1
    assert {group: targeting(server)[group].get("AUDIENCE_INCLUDE") for group in groups} == {
        group: [audience_id] for group in groups
    }


def test_one_ad_group_short_of_reach_stops_every_update(
    server: EmulatorServer, ad_groups: dict[str, dict[str, Any]]
) -> None:
    small, _ = ready_audience(server, "Tiny niche")
    large, _ = ready_audience(server, "Broad interest")
    first, second = sorted(ad_groups)[:2]
    update(ad_group_ids=second, include=[large])
    with_large = reach_of(second, {**ad_groups[second], "AUDIENCE_INCLUDE": [large, small]})
    small_only = reach_of(first, {**ad_groups[first], "AUDIENCE_INCLUDE": [small]})
    assert small_only.lower_bound < with_large.lower_bound  # one more audience included reaches more
    before = targeting(server)

    with pytest.raises(PinterestLowReachError) as raised:
        update(ad_group_ids=[first, second], include=[small], min_reach=with_large.lower_bound)

    assert f"ad group {first} " in str(raised.value)
    assert f"ad group {second} " not in str(raised.value)
    assert targeting(server) == before


def test_a_dry_run_asks_and_logs_the_reach_and_still_writes_nothing(
    server: EmulatorServer,
    ad_groups: dict[str, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    audience_id, _ = ready_audience(server, "Dry run")
    group = sorted(ad_groups)[0]
    reach = reach_of(group, {**ad_groups[group], "AUDIENCE_INCLUDE": [audience_id]})
    sizings_before = requests_made(server, "POST", SIZING_PATH)

    with caplog.at_level(logging.INFO):
        update(ad_group_ids=group, include=[audience_id], min_reach=0, dry_run=True)
    with pytest.raises(PinterestLowReachError, match=f"min_reach={reach.lower_bound + 1}"):
        update(ad_group_ids=group, include=[audience_id], min_reach=reach.lower_bound + 1, dry_run=True)

    assert requests_made(server, "POST", SIZING_PATH) - sizings_before == 2
    output = caplog.text + "".join(capfd.readouterr())  # Airflow 3 logs tasks through structlog
    assert f"Ad group {group}: Pinterest estimates a monthly reach of {reach} people" in output
    assert requests_made(server, "PATCH") == 0
    assert targeting(server) == ad_groups


def test_ad_groups_already_targeted_as_asked_are_not_sized(
    server: EmulatorServer, ad_groups: dict[str, dict[str, Any]]
) -> None:
    audience_id, _ = ready_audience(server, "Already there")
    groups = sorted(ad_groups)
    update(ad_group_ids=groups, include=[audience_id])
    sizings_before = requests_made(server, "POST", SIZING_PATH)

    update(ad_group_ids=groups, include=[audience_id], min_reach=10**12)

    assert requests_made(server, "POST", SIZING_PATH) == sizings_before


def test_the_sizing_waits_out_a_rate_limit_storm_and_counts_the_waits(
    server: EmulatorServer, ad_groups: dict[str, dict[str, Any]]
) -> None:
    control(server, "POST", "/faults", json={"rate_limit_storm": 3, "storm_retry_after_seconds": 0.05})
    hook = PinterestHook()
    try:
        reach = hook.audience_sizing(ACCOUNT, {"GEO": ["US"]})
    finally:
        control(server, "POST", "/faults", json={"rate_limit_storm": 0})

    assert reach.lower_bound > 0
    assert hook.rate_limit_waits.figures() == {"count": 3, "seconds": 0.15}
    assert requests_made(server, "POST", SIZING_PATH) == 4
