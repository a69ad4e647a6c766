"""Airflow Asset naming for Pinterest audiences, so DAGs can be scheduled on audience changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import Asset

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


def audience_asset_uri(ad_account_id: str, name: str) -> str:
    """``pinterest://ad_accounts/<ad_account_id>/audiences/<name>`` with the name percent-encoded."""
    return f"pinterest://ad_accounts/{ad_account_id}/audiences/{quote(name, safe='')}"


def audience_asset(ad_account_id: str, name: str) -> Asset:
    """The Asset a create operator declares as outlet; use it in ``schedule=[...]`` downstream."""
    return Asset(audience_asset_uri(ad_account_id, name))


def add_outlet_extra(context: Context, asset: Asset, extra: Mapping[str, Any]) -> None:
    """Put ``extra`` on this run's event of the outlet ``asset`` (``outlet_events``: Airflow 3, and 2.10+).

    Where the context has no ``outlet_events`` nothing is recorded: the event is still emitted, bare.
    """
    events = context.get("outlet_events")
    if events is not None:
        events[asset].extra.update(extra)


def add_outlets_extra(context: Context, outlets: Iterable[Any], extra: Mapping[str, Any]) -> None:
    """:func:`add_outlet_extra` for each Asset among a task's ``outlets`` (aliases and others left alone)."""
    for outlet in outlets:
        if isinstance(outlet, Asset):
            add_outlet_extra(context, outlet, extra)
