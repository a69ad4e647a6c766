"""Airflow Asset naming for Pinterest audiences, so DAGs can be scheduled on audience changes."""

from __future__ import annotations

from urllib.parse import quote

from airflow.providers.common.compat.sdk import Asset


def audience_asset_uri(ad_account_id: str, name: str) -> str:
    """``pinterest://ad_accounts/<ad_account_id>/audiences/<name>`` with the name percent-encoded."""
    return f"pinterest://ad_accounts/{ad_account_id}/audiences/{quote(name, safe='')}"


def audience_asset(ad_account_id: str, name: str) -> Asset:
    """The Asset a create operator declares as outlet; use it in ``schedule=[...]`` downstream."""
    return Asset(audience_asset_uri(ad_account_id, name))
