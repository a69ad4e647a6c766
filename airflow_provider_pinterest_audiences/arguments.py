"""Checks of operator arguments that may still be Jinja templates or XCom references at parse time."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.ids import pinterest_id

_TEMPLATE_MARKERS = ("{{", "{%")


def has_unrendered_template(value: Any) -> bool:
    """Whether ``value`` still holds a Jinja template or an XCom reference: only known at run time.

    XCom references (``task.output``, mapped arguments) are recognised by the two methods Airflow
    resolves them with, on 2.x and 3.x alike.
    """
    if isinstance(value, str):
        return any(marker in value for marker in _TEMPLATE_MARKERS)
    if isinstance(value, Mapping):
        return any(has_unrendered_template(item) for pair in value.items() for item in pair)
    if isinstance(value, list | tuple | set):
        return any(has_unrendered_template(item) for item in value)
    return hasattr(value, "resolve") and hasattr(value, "iter_references")


def literal_ad_account_id(value: Any) -> str | None:
    """The ad account id when ``value`` is a literal (validated now), ``None`` when empty or templated."""
    if not value or has_unrendered_template(value):
        return None
    return pinterest_id(value, "ad_account_id")


def duration_seconds(value: timedelta | float | str, argument: str) -> float:
    """A duration: a timedelta, or seconds as a number or a rendered number ("900")."""
    seconds: Any = value
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            seconds = float(value)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < math.inf:
        raise PinterestInvalidArgumentError(argument, f"expected a duration > 0 seconds, got {value!r}")
    return float(seconds)
