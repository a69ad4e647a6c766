"""Extras on outlet Asset events, through Airflow's own ``outlet_events`` accessors."""

from __future__ import annotations

from typing import Any

from airflow_provider_pinterest_audiences.assets import add_outlet_extra, add_outlets_extra, audience_asset


def airflow_outlet_events() -> Any:
    """The accessors Airflow puts in a task's context as ``outlet_events`` (3.x: the Task SDK's; 2.11 its
    own). Never a dict keyed by Asset: Airflow 3.0-3.1 cannot hash an Asset, their accessors never do."""
    try:
        from airflow.sdk.execution_time.context import OutletEventAccessors
    except ImportError:  # Airflow 2.11
        from airflow.utils.context import OutletEventAccessors  # type: ignore[no-redef]
    return OutletEventAccessors()


def test_extras_land_on_the_outlet_event() -> None:
    asset, events = audience_asset("1", "Buyers"), airflow_outlet_events()
    add_outlet_extra({"outlet_events": events}, asset, {"size": 1200})
    assert events[audience_asset("1", "Buyers")].extra == {"size": 1200}


def test_extras_go_to_each_asset_outlet_and_other_outlets_are_left_alone() -> None:
    buyers, churned, events = (
        audience_asset("1", "Buyers"),
        audience_asset("1", "Churned"),
        airflow_outlet_events(),
    )
    add_outlets_extra({"outlet_events": events}, [buyers, "not an asset", churned], {"size": 3})
    assert [events[buyers].extra, events[churned].extra] == [{"size": 3}, {"size": 3}]
    assert len(events) == 2


def test_without_outlet_events_nothing_is_recorded_and_nothing_fails() -> None:
    add_outlet_extra({}, audience_asset("1", "Buyers"), {"size": 1200})  # type: ignore[typeddict-item]
