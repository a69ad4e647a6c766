"""Extras on outlet Asset events, and how they degrade where Airflow cannot take them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from airflow_provider_pinterest_audiences.assets import add_outlet_extra, audience_asset


class Accessors(dict):  # type: ignore[type-arg]
    """``outlet_events`` as a test sees it: one event per asset, made on first access."""

    def __missing__(self, asset: Any) -> Any:
        self[asset] = SimpleNamespace(extra={})
        return self[asset]


class UnhashableAssetAccessors:
    """Airflow 3.0-3.1: hashing an Asset raises ``TypeError: unhashable type: 'dict'``."""

    def __getitem__(self, asset: Any) -> Any:
        raise TypeError("unhashable type: 'dict'")


def test_extras_land_on_the_outlet_event() -> None:
    asset, events = audience_asset("1", "Buyers"), Accessors()
    add_outlet_extra({"outlet_events": events}, asset, {"size": 1200})  # type: ignore[arg-type]
    assert events[asset].extra == {"size": 1200}


def test_without_outlet_events_or_with_unhashable_assets_nothing_is_recorded_and_nothing_fails() -> None:
    asset = audience_asset("1", "Buyers")
    add_outlet_extra({}, asset, {"size": 1200})  # type: ignore[typeddict-item]
    add_outlet_extra({"outlet_events": UnhashableAssetAccessors()}, asset, {"size": 1200})  # type: ignore[typeddict-item]
