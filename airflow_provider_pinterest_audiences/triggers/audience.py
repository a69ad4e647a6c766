"""``PinterestAudienceTrigger``: waits in the triggerer until an audience (or customer list) is usable."""

from __future__ import annotations

import asyncio
import datetime
import random
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pinterest_audiences.audience_wait import (
    DEFAULT_FAILURE_STATUSES,
    DEFAULT_SUCCESS_STATUSES,
    EventStatus,
    PinterestAudienceFailedError,
    check_audience_status,
    describe,
    status_rules,
    wait_event,
    wait_target,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestAsyncHook
from airflow_provider_pinterest_audiences.ids import pinterest_id


class PinterestAudienceTrigger(BaseTrigger):
    """Poll one audience (or customer list) until it reaches a success or failure status.

    Yields exactly one event, ``{"status": "success" | "failure" | "timeout" | "error", key: object,
    "message": str}`` where ``key`` is ``"audience"`` or ``"customer_list"`` and ``object`` is the last
    object read (``None`` if none was). One async client serves the whole wait; 429, 5xx and connection
    errors are retried by the hook and, should the hook give up, by the next poll.

    Callers check the status once before deferring, so the first poll comes after a random delay of up
    to one ``poll_interval``: triggers that start together (many deferrals, a triggerer restart) spread
    their requests over the interval instead of bursting against the ads_read rate limit.

    :param pinterest_conn_id: Airflow connection of type ``pinterest``.
    :param ad_account_id: ad account owning (or receiving) the object.
    :param audience_id: audience to wait on; exactly one of this and ``customer_list_id``.
    :param customer_list_id: customer list to wait on (PROCESSING/UPLOADING until READY or TOO_SMALL).
    :param success_statuses: statuses that end the wait successfully.
    :param failure_statuses: statuses that end it with a failure.
    :param poll_interval: seconds between polls.
    :param end_time: absolute Unix time after which a ``timeout`` event is yielded; ``None`` waits forever.
    """

    def __init__(
        self,
        pinterest_conn_id: str,
        ad_account_id: str,
        audience_id: str | None = None,
        customer_list_id: str | None = None,
        success_statuses: Sequence[str] = DEFAULT_SUCCESS_STATUSES,
        failure_statuses: Sequence[str] = DEFAULT_FAILURE_STATUSES,
        poll_interval: float = 900.0,
        end_time: float | None = None,
    ) -> None:
        super().__init__()
        self.target = wait_target(audience_id, customer_list_id)
        pinterest_id(self.target.object_id, f"{self.target.kind}_id")
        if not isinstance(poll_interval, int | float) or poll_interval <= 0:
            raise PinterestInvalidArgumentError(
                "poll_interval", f"expected seconds > 0, got {poll_interval!r}"
            )
        self.pinterest_conn_id = pinterest_conn_id
        self.ad_account_id = pinterest_id(ad_account_id, "ad_account_id")
        self.success_statuses, self.failure_statuses = status_rules(success_statuses, failure_statuses)
        self.poll_interval = float(poll_interval)
        self.end_time = None if end_time is None else float(end_time)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "pinterest_conn_id": self.pinterest_conn_id,
                "ad_account_id": self.ad_account_id,
                **self.target.id_kwargs(),
                "success_statuses": list(self.success_statuses),
                "failure_statuses": list(self.failure_statuses),
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(await self._wait())

    async def _wait(self) -> dict[str, Any]:
        """The one event payload; never raises (cancellation apart)."""
        last: dict[str, Any] | None = None
        try:
            async with PinterestAsyncHook(self.pinterest_conn_id) as hook:
                await self._sleep(random.uniform(0, self.poll_interval))
                while True:
                    if self.end_time is not None and time.time() >= self.end_time:
                        return self._event("timeout", last, self._timeout_message(last))
                    found = await self._poll(hook)
                    if found is not None:
                        last = found
                        try:
                            done = check_audience_status(found, self.success_statuses, self.failure_statuses)
                        except PinterestAudienceFailedError as failed:
                            return self._event("failure", found, str(failed))
                        if done:
                            return self._event("success", found, f"Pinterest {describe(found)} is ready.")
                    await self._sleep(self.poll_interval)
        except Exception as exc:
            message = f"Waiting for Pinterest {self.target.label} {self.target.object_id} failed: {exc}"
            return self._event("error", last, message)

    async def _poll(self, hook: PinterestAsyncHook) -> dict[str, Any] | None:
        """The object now, or ``None`` when the API stayed unavailable through the hook's retries."""
        try:
            if self.target.kind == "audience":
                return await hook.get_audience(self.ad_account_id, self.target.object_id)
            return await hook.get_customer_list(self.ad_account_id, self.target.object_id)
        except PinterestApiError as exc:
            if not exc.transient:
                raise
            self.log.warning("Pinterest is unavailable (%s); trying again at the next poll.", exc)
            return None

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, but never past ``end_time``."""
        if self.end_time is not None:
            seconds = max(0.0, min(seconds, self.end_time - time.time()))
        await asyncio.sleep(seconds)

    def _timeout_message(self, last: dict[str, Any] | None) -> str:
        assert self.end_time is not None
        deadline = datetime.datetime.fromtimestamp(self.end_time, tz=datetime.timezone.utc).isoformat()
        if last is None:
            state = f"{self.target.label} {self.target.object_id} had not been read yet"
        else:
            state = f"{describe(last)} was still {last.get('status')}"
        return (
            f"Timed out at {deadline}: Pinterest {state}. Audiences are typically ready within 48 hours, "
            "sometimes 72: raise the timeout, or check it in Ads Manager."
        )

    def _event(self, status: EventStatus, last: dict[str, Any] | None, message: str) -> dict[str, Any]:
        log = self.log.info if status == "success" else self.log.warning
        log("%s", message)
        return wait_event(status, self.target, last, message)
