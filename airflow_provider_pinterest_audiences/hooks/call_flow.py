"""The transport policy of one Pinterest API call, free of I/O so both hooks drive the same logic.

Retry with backoff, refresh once on 401, never blindly replay a create, never follow a redirect, never take
a foreign answer for a success: written once, here, as a flow of :mod:`~.steps`.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from typing import Any

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError
from airflow_provider_pinterest_audiences.hooks.replies import Reply, error_from_reply, success_body
from airflow_provider_pinterest_audiences.hooks.retry_policy import RetryPolicy
from airflow_provider_pinterest_audiences.hooks.steps import (
    FindExisting,
    Refresh,
    Send,
    Sleep,
    Step,
    TransportFailure,
)

log = logging.getLogger(__name__)


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
                return success_body(operation, reply)
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
        yield Sleep(wait, rate_limited=failure.status_code == 429)
