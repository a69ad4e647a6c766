"""The token refresh policy, free of I/O: survive a concurrent refresh, keep a rotated pair or say why not.

Pinterest rotates refresh tokens, so the newest pair lives in a Variable that several tasks (and the
threads of one task) read and write. Written once, here, as a flow of :mod:`~.steps`.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestTokenStorageError
from airflow_provider_pinterest_audiences.hooks.connection_config import (
    OAUTH_VARIABLE,
    PinterestConnectionConfig,
)
from airflow_provider_pinterest_audiences.hooks.oauth import TokenGrant, build_refresh_request, parse_grant
from airflow_provider_pinterest_audiences.hooks.replies import (
    Reply,
    error_from_reply,
    redirect_error,
    success_body,
)
from airflow_provider_pinterest_audiences.hooks.steps import (
    Adopt,
    LoadStoredGrant,
    PostToken,
    SaveGrant,
    Sleep,
    Step,
)

log = logging.getLogger(__name__)

#: Waits (seconds) between reads of the Variable when a refresh token was rejected, for a concurrent
#: refresh's winner to store its new pair: 15.5 s in all.
RACE_REREAD_WAITS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
#: Waits (seconds) before each retry of a failed write of a new token pair to the Variable.
SAVE_RETRY_WAITS = (1.0, 2.0, 4.0)


ROTATION_HINT = (
    "Pinterest rotates refresh tokens: each refresh returns a new one and the old one stops working. "
    f"Set {OAUTH_VARIABLE!r} in the connection extra to the name of an Airflow Variable so the hook "
    "keeps the newest refresh token there, then put a fresh refresh token in the connection's "
    "'refresh_token' extra."
)


def _rejected(reply: Reply) -> bool:
    """The refresh token was refused (400 code 1104, ...); a 401 means the app credentials are wrong."""
    return reply.status_code >= 400 and reply.status_code != 401


def _newer(grant: TokenGrant | None, than: TokenGrant | None) -> bool:
    return grant is not None and grant.issued_at > (than.issued_at if than else 0.0)


def _await_newer_grant(stored: TokenGrant | None) -> Generator[Step, Any, TokenGrant | None]:
    """Re-read the store with backoff until a grant newer than ``stored`` appears (another task's refresh)."""
    for wait in RACE_REREAD_WAITS:
        if wait:
            yield Sleep(wait)
        latest: TokenGrant | None = yield LoadStoredGrant()
        if _newer(latest, stored):
            return latest
    return None


def refresh_flow(
    config: PinterestConnectionConfig, *, has_store: bool, known: TokenGrant | None = None
) -> Generator[Step, Any, TokenGrant]:
    """Obtain a usable token pair, tolerating a concurrent refresh by another task.

    Start from the refresh token of the newest grant: the stored one or ``known``, the newest this process
    holds (newer than the store when storing it failed). If Pinterest rejects it, another task may have
    rotated it: re-read the store with backoff (:data:`RACE_REREAD_WAITS`) and adopt a newer usable access
    token, or try the newer refresh token, then the connection's own (a re-authorised one). Only newer
    grants are saved; one that cannot be saved still serves this task.
    """
    stored: TokenGrant | None = (yield LoadStoredGrant()) if has_store else None
    start = known if _newer(known, stored) else stored
    refresh_token = (start.refresh_token if start else None) or config.refresh_token
    if not refresh_token:
        raise PinterestApiError(
            "oauth/token",
            None,
            None,
            "no refresh token in the connection or its Variable",
            hint=ROTATION_HINT,
        )
    reply: Reply = yield PostToken(build_refresh_request(config, refresh_token))
    if _rejected(reply) and has_store:
        latest = yield from _await_newer_grant(start)
        if latest is not None and latest.access_token_usable():
            log.info("Another task refreshed the Pinterest token first; using its access token.")
            yield Adopt(latest)
            return latest
        tried = {refresh_token}
        for candidate in (latest.refresh_token if latest else None, config.refresh_token):
            if candidate and candidate not in tried and _rejected(reply):
                tried.add(candidate)
                refresh_token = candidate
                reply = yield PostToken(build_refresh_request(config, refresh_token))
    if 300 <= reply.status_code < 400:
        raise redirect_error("oauth/token", reply)
    if reply.status_code >= 400:
        raise error_from_reply("oauth/token", reply, hint=_refresh_failure_hint(config, reply, has_store))
    try:
        grant = parse_grant(success_body("oauth/token", reply), refresh_token)
    except ValueError as exc:
        raise PinterestApiError("oauth/token", reply.status_code, None, str(exc)) from None
    yield Adopt(grant)
    rotated = grant.refresh_token != refresh_token
    if has_store:
        yield from _store_flow(grant, config.oauth_variable or "", rotated=rotated)
    elif rotated:
        warn_rotation_not_kept(config.conn_id)
    return grant


def _refresh_failure_hint(config: PinterestConnectionConfig, reply: Reply, has_store: bool) -> str:
    if reply.status_code == 401:
        return "Check client_id and client_secret."
    if reply.status_code == 429 or reply.status_code >= 500:
        return "Pinterest's token endpoint is throttling or unavailable; retry the task later."
    if not has_store:
        return ROTATION_HINT
    waited = sum(RACE_REREAD_WAITS)
    return (
        f"Pinterest refused the refresh token in Variable {config.oauth_variable!r}, and no newer one "
        f"appeared there within {waited:g} s (another task's refresh would have stored one), and the "
        "connection's 'refresh_token' extra was no better: the token expired (60 days), or a refresh "
        "elsewhere used it without storing the new one. Re-authorise: run Pinterest's OAuth consent again "
        "and put the new refresh token in the connection's 'refresh_token' extra; the hook tries it when "
        "the Variable's token is refused, then keeps the Variable up to date itself."
    )


def _store_flow(grant: TokenGrant, variable: str, *, rotated: bool) -> Generator[Step, Any, None]:
    """Save ``grant``, retrying (:data:`SAVE_RETRY_WAITS`); a rotated token that cannot be kept fails."""
    failure: str | None = yield SaveGrant(grant)
    for wait in SAVE_RETRY_WAITS:
        if failure is None:
            return
        log.warning("Could not write Variable %r (%s); trying again in %.0f s.", variable, failure, wait)
        yield Sleep(wait)
        failure = yield SaveGrant(grant)
    if failure is None:
        return
    if rotated:
        raise PinterestTokenStorageError(variable, failure, len(SAVE_RETRY_WAITS) + 1)
    log.warning(
        "Could not write Variable %r (%s); the refresh token did not change, so the next task can still "
        "refresh.",
        variable,
        failure,
    )


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
