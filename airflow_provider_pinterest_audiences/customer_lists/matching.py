"""Pinterest's matching floor and a customer list's own record count: the engine's, free of Airflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Pinterest builds no audience over a customer list matching fewer users (its status is TOO_SMALL).
MIN_MATCHED_USERS = 100


def net_records(customer_list: Mapping[str, Any] | None) -> int | None:
    """Records a customer list holds by its own counters (uploaded less removed); None without them."""
    if customer_list is None:
        return None
    uploaded = customer_list.get("num_uploaded_user_records")
    removed = customer_list.get("num_removed_user_records")
    if not isinstance(uploaded, int) or not isinstance(removed, int):
        return None
    return uploaded - removed
