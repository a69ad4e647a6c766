"""The transport policy of one Pinterest API call, free of I/O so both hooks drive the same logic.

A flow is a generator: it yields the next :class:`Step` for the hook to perform and receives the result
(:class:`Reply`, :class:`TransportFailure`, the object found by :class:`FindExisting`, or ``None``).
The sync hook performs steps with ``requests`` and ``time.sleep``; the async hook with ``httpx`` and
``asyncio.sleep``. The policy itself (retry, refresh once on 401, never blindly replay a create) is
written once, here.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError
from airflow_provider_pinterest_audiences.hooks.connection_config import PinterestConnectionConfig
from airflow_provider_pinterest_audiences.hooks.oauth import (
    RefreshRequest,
    TokenGrant,
    build_refresh_request,
    parse_grant,
)
from airflow_provider_pinterest_audiences.hooks.retry_policy import RetryPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Send:
    """Send the call's HTTP request once more."""


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Refresh:
    """Trade the refresh token for a new access token (the hook runs :func:`refresh_flow`)."""


@dataclass(frozen=True)
class FindExisting:
    """Look up whether a create whose answer was lost took effect; result: the object or ``None``."""


@dataclass(frozen=True)
class PostToken:
    request: RefreshRequest


@dataclass(frozen=True)
class LoadStoredGrant:
    """Read the stored token pair; result: a :class:`TokenGrant` or ``None``."""


@dataclass(frozen=True)
class SaveGrant:
    grant: TokenGrant


Step = Send | Sleep | Refresh | FindExisting | PostToken | LoadStoredGrant | SaveGrant


@dataclass(frozen=True)
class Reply:
    status_code: int
    headers: Mapping[str, str]
    body: Any = field(repr=False)


@dataclass(frozen=True)
class TransportFailure:
    """No HTTP answer. ``maybe_applied`` is False only when the request surely never reached the server."""

    reason: str
    maybe_applied: bool


def error_from_reply(operation: str, reply: Reply, hint: str = "") -> PinterestApiError:
    body = reply.body if isinstance(reply.body, dict) else {}
    code = body.get("code")
    message = body.get("message") or "no error message in the response"
    return PinterestApiError(
        operation, reply.status_code, code if isinstance(code, int) else None, str(message), hint=hint
    )


def call_flow(
    operation: str,
    policy: RetryPolicy,
    *,
    replay_safe: bool,
    can_refresh: bool,
    can_find_existing: bool,
) -> Generator[Step, Any, Any]:
    """Drive one call to a successful reply (returned) or raise :class:`PinterestApiError`.

    ``replay_safe`` is False for creates: after an answer that may have been applied (5xx, read timeout,
    dropped connection) the flow asks :class:`FindExisting` before sending again, and without such a
    lookup it fails rather than risk a duplicate.
    """
    refreshed = False
    attempt = 0
    while True:
        attempt += 1
        outcome = yield Send()
        if isinstance(outcome, TransportFailure):
            failure: PinterestApiError = PinterestApiError(operation, None, None, outcome.reason)
            headers: Mapping[str, str] = {}
            may_be_applied = outcome.maybe_applied
        else:
            reply: Reply = outcome
            if reply.status_code < 400:
                return reply.body
            if reply.status_code == 401 and can_refresh and not refreshed:
                log.info("Pinterest %s: access token rejected, refreshing it once.", operation)
                refreshed = True
                yield Refresh()
                attempt -= 1
                continue
            if not policy.is_retryable(reply.status_code):
                raise error_from_reply(operation, reply)
            failure = error_from_reply(operation, reply)
            headers = reply.headers
            may_be_applied = reply.status_code != 429
        if attempt >= policy.max_attempts:
            raise PinterestApiError(
                operation,
                failure.status_code,
                failure.code,
                failure.api_message,
                hint=f"Gave up after {attempt} attempts; the API is throttling or unavailable, retry later.",
                transient=True,
            )
        if may_be_applied and not replay_safe:
            if not can_find_existing:
                raise PinterestApiError(
                    operation,
                    failure.status_code,
                    failure.code,
                    failure.api_message,
                    hint="The request may have been applied, so it is not replayed blindly.",
                )
            existing = yield FindExisting()
            if existing is not None:
                log.info("Pinterest %s: the earlier attempt took effect; using its result.", operation)
                return existing
        wait = policy.wait_seconds(attempt, headers)
        log.warning(
            "Pinterest %s: %s (code %s); retry %d of %d in %.1f s.",
            operation,
            f"HTTP {failure.status_code}" if failure.status_code else "no response",
            failure.code,
            attempt,
            policy.max_attempts - 1,
            wait,
        )
        yield Sleep(wait)


ROTATION_HINT = (
    "Pinterest rotates refresh tokens: each refresh returns a new one and the old one stops working. "
    "Set 'refresh_token_variable' in the connection extra to the name of an Airflow Variable so the hook "
    "keeps the newest refresh token there, then put a fresh refresh token in the connection's "
    "'refresh_token' extra."
)


def refresh_flow(config: PinterestConnectionConfig, *, has_store: bool) -> Generator[Step, Any, TokenGrant]:
    """Obtain a usable token pair, tolerating a concurrent refresh by another task.

    With a store: start from the stored refresh token; if Pinterest rejects it, re-read the store, adopt a
    newer usable access token or retry once with a newer refresh token. Only newer grants are saved.
    """
    stored: TokenGrant | None = (yield LoadStoredGrant()) if has_store else None
    refresh_token = (stored.refresh_token if stored else None) or config.refresh_token
    if not refresh_token:
        raise PinterestApiError(
            "oauth/token",
            None,
            None,
            "no refresh token in the connection or its Variable",
            hint=ROTATION_HINT,
        )
    reply: Reply = yield PostToken(build_refresh_request(config, refresh_token))
    if reply.status_code >= 400 and has_store:
        latest: TokenGrant | None = yield LoadStoredGrant()
        newer = latest is not None and latest.issued_at > (stored.issued_at if stored else 0.0)
        if latest is not None and newer:
            if latest.access_token_usable():
                log.info("Another task refreshed the Pinterest token first; using its access token.")
                return latest
            if latest.refresh_token and latest.refresh_token != refresh_token:
                refresh_token = latest.refresh_token
                reply = yield PostToken(build_refresh_request(config, refresh_token))
    if reply.status_code >= 400:
        hint = "Check client_id and client_secret." if reply.status_code == 401 else ROTATION_HINT
        if has_store and reply.status_code != 401:
            hint = (
                f"The refresh token in Variable {config.refresh_token_variable!r} (or the connection) was "
                "rejected: it expired or was already used. Put a fresh refresh token in the connection's "
                "'refresh_token' extra and delete the Variable."
            )
        raise error_from_reply("oauth/token", reply, hint=hint)
    try:
        grant = parse_grant(reply.body, refresh_token)
    except ValueError as exc:
        raise PinterestApiError("oauth/token", reply.status_code, None, str(exc)) from None
    if has_store:
        yield SaveGrant(grant)
    elif grant.refresh_token != refresh_token:
        warn_rotation_not_kept(config.conn_id)
    return grant


_warned_conn_ids: set[str] = set()


def warn_rotation_not_kept(conn_id: str) -> None:
    """Warn once per process (one task) that a rotated refresh token is being thrown away."""
    if conn_id in _warned_conn_ids:
        return
    _warned_conn_ids.add(conn_id)
    log.warning(
        "Pinterest returned a new refresh token for connection %r but it is not kept, so the next task "
        "will fail once the access token expires. %s",
        conn_id,
        ROTATION_HINT,
    )
