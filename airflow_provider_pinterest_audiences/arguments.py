"""Operator arguments that may still be Jinja templates or XCom references when the DAG is parsed.

Each task class declares one check per argument (``argument_checks``: argument -> check). The same check
runs twice: on literal values when the DAG is parsed (:func:`check_literal_arguments`), and on the rendered
values when the task runs, before any API call (:func:`checked_arguments`). The task's attributes stay as
given, so Airflow renders them verbatim.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.ids import pinterest_id

#: ``check(value, argument)``: the value normalised, or a PinterestInvalidArgumentError naming ``argument``.
ArgumentCheck = Callable[[Any, str], Any]

_TEMPLATE_MARKERS = ("{{", "{%")
_UNSET = object()
# ASCII digits only: ``str.isdigit`` also accepts "²" (which ``int`` refuses) and other scripts' digits.
_ASCII_WHOLE_NUMBER = re.compile(r"[0-9]+")


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


def check_literal_arguments(task: object, checks: Mapping[str, ArgumentCheck]) -> None:
    """Run each check whose argument is already set on ``task`` and literal; the rest wait for the run."""
    for argument, check in checks.items():
        value = getattr(task, argument, _UNSET)
        if value is not _UNSET and not has_unrendered_template(value):
            check(value, argument)


def checked_arguments(task: object, checks: Mapping[str, ArgumentCheck]) -> dict[str, Any]:
    """Every argument's rendered value through its check: ``{argument: normalised value}``."""
    return {argument: check(getattr(task, argument), argument) for argument, check in checks.items()}


def optional(check: ArgumentCheck) -> ArgumentCheck:
    """``check`` that lets ``None`` through."""

    def optional_check(value: Any, argument: str) -> Any:
        return None if value is None else check(value, argument)

    return optional_check


def optional_id(value: Any, argument: str) -> str | None:
    """A Pinterest id, or ``None`` when empty (e.g. an ad account that defaults to the connection's)."""
    return pinterest_id(value, argument) if value else None


def literal_ad_account_id(value: Any) -> str | None:
    """The ad account id when ``value`` is a literal (validated now), ``None`` when empty or templated."""
    return None if has_unrendered_template(value) else optional_id(value, "ad_account_id")


def whole_number(value: Any, argument: str) -> int:
    """A whole number >= 0, also rendered as text in ASCII digits ("1200"; not "²" or full-width digits)."""
    number: Any = value
    if isinstance(value, str) and _ASCII_WHOLE_NUMBER.fullmatch(value.strip()):
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        as_text = " (a number as text takes the ASCII digits 0-9)" if isinstance(value, str) else ""
        raise PinterestInvalidArgumentError(argument, f"expected a whole number >= 0, got {value!r}{as_text}")
    return number


def ascii_number(value: Any) -> Any:
    """``value`` as a float when it is text of an ASCII number ("900", "0.5"); anything else unchanged.

    ``float`` alone also reads other scripts' digits (full-width, Arabic-Indic...): no one means those here.
    """
    if isinstance(value, str) and value.isascii():
        with contextlib.suppress(ValueError):
            return float(value)
    return value


def duration_seconds(value: timedelta | float | str, argument: str) -> float:
    """A duration: a timedelta, or seconds as a number or a rendered number ("900")."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else ascii_number(value)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < math.inf:
        raise PinterestInvalidArgumentError(argument, f"expected a duration > 0 seconds, got {value!r}")
    return float(seconds)


def non_empty_text(what: str) -> ArgumentCheck:
    """A check for a text argument that must not be or render empty; ``what`` names it in the error."""

    def check(value: Any, argument: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise PinterestInvalidArgumentError(argument, f"expected {what} (non-empty text), got {value!r}")
        return value

    return check


def storage_path(what: str, example: str) -> ArgumentCheck:
    """A check for a path, URI or ObjectStoragePath argument that must not render empty or as "None"."""

    def check(value: Any, argument: str) -> Any:
        text = str(value).strip()
        if not text or text == "None":
            raise PinterestInvalidArgumentError(
                argument, f"rendered as {text!r}: give the path or URI of {what}, e.g. {example}"
            )
        return value

    return check
