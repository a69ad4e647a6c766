"""The steps a flow asks a hook to perform, and the loops that perform them (one contract, both hooks).

A flow is a generator: it yields the next :class:`Step` for the hook to perform and receives the step's
result. Each hook serves the steps through a handler table (step type -> handler) run by :func:`drive` or
:func:`drive_async`; a step kind missing from the table is a bug and raises :class:`UnservedStep`. The
results every handler must give:

=====================  ==============================================================================
``Send``               :class:`Reply` or :class:`TransportFailure`
``Sleep``              ``None`` (after sleeping ``seconds``; a ``rate_limited`` one counted too)
``Refresh``            ``None`` (the hook now holds a new access token)
``FindExisting``       the object a lost create made, or ``None``
``PostToken``          :class:`Reply` (a transport failure raises :class:`PinterestApiError`)
``LoadStoredGrant``    the stored :class:`TokenGrant` or ``None``
``Adopt``              ``None`` (the grant is used by this hook and, sync, by the process's other hooks)
``SaveGrant``          ``None`` when stored (or a newer one already was), else why not (a type name)
=====================  ==============================================================================
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_pinterest_audiences.hooks.oauth import RefreshRequest, TokenGrant


@dataclass(frozen=True)
class Send:
    """Send the call's HTTP request once more."""


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds``; ``rate_limited`` when Pinterest answered 429 (the hook counts those waits)."""

    seconds: float
    rate_limited: bool = False


@dataclass(frozen=True)
class Refresh:
    """Trade the refresh token for a new access token (the hook runs :func:`refresh_flow`)."""


@dataclass(frozen=True)
class FindExisting:
    """Look up whether a create whose answer was lost took effect."""


@dataclass(frozen=True)
class PostToken:
    request: RefreshRequest


@dataclass(frozen=True)
class LoadStoredGrant:
    """Read the stored token pair."""


@dataclass(frozen=True)
class Adopt:
    """Use this grant from now on: it is kept in memory even if storing it fails."""

    grant: TokenGrant


@dataclass(frozen=True)
class SaveGrant:
    grant: TokenGrant


Step = Send | Sleep | Refresh | FindExisting | PostToken | LoadStoredGrant | Adopt | SaveGrant


@dataclass(frozen=True)
class TransportFailure:
    """No HTTP answer. ``maybe_applied`` is False only when the request surely never reached the server."""

    reason: str
    maybe_applied: bool


class UnservedStep(TypeError):
    """A hook's loop met a step kind its handler table lacks: a programming error, never an API answer."""


def _handler(
    handlers: Mapping[type, Callable[[Any], Any]], flow: Generator[Step, Any, Any], step: Step
) -> Any:
    handler = handlers.get(type(step))
    if handler is None:
        flow.close()
        served = ", ".join(sorted(kind.__name__ for kind in handlers))
        raise UnservedStep(f"this loop does not serve {type(step).__name__} steps (it serves {served})")
    return handler


def drive(flow: Generator[Step, Any, Any], handlers: Mapping[type, Callable[[Any], Any]]) -> Any:
    """Run ``flow`` to its return value, performing each step with its handler."""
    result: Any = None
    while True:
        try:
            step = flow.send(result)
        except StopIteration as stop:
            return stop.value
        result = _handler(handlers, flow, step)(step)


async def drive_async(
    flow: Generator[Step, Any, Any], handlers: Mapping[type, Callable[[Any], Awaitable[Any]]]
) -> Any:
    """:func:`drive` with awaitable handlers."""
    result: Any = None
    while True:
        try:
            step = flow.send(result)
        except StopIteration as stop:
            return stop.value
        result = await _handler(handlers, flow, step)(step)
