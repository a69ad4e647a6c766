"""Pinterest ids: numeric strings of 1-18 ASCII digits, checked before any HTTP call. Import-light."""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

# ASCII digits only: ``\d`` and ``str.isdecimal`` also accept other scripts' digits ("١٢٣").
_ID_PATTERN = re.compile(r"[0-9]{1,18}")


def pinterest_id(value: Any, argument: str) -> str:
    """``value`` as an id string (``123`` or ``"123"``), or an error naming ``argument``."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not _ID_PATTERN.fullmatch(text):
        raise PinterestInvalidArgumentError(argument, f"expected a numeric id of 1-18 digits, got {value!r}")
    return text


def pinterest_ids(value: Any, argument: str, *, allow_empty: bool = False) -> list[str]:
    """One id or a list of ids (nested lists, as XComs inside a list render, are flattened), deduplicated."""
    ids: list[str] = []
    for item in flatten(value):
        checked = pinterest_id(item, argument)
        if checked not in ids:
            ids.append(checked)
    if not ids and not allow_empty:
        raise PinterestInvalidArgumentError(argument, "expected at least one id, got none")
    return ids


def flatten(value: Any) -> list[Any]:
    """Leaves of nested lists and tuples (XComs inside a list render as nested lists)."""
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in flatten(item)]
    return [value]
