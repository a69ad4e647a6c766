"""``PinterestAudienceTrigger``: waits in the triggerer until an audience (or customer list) is usable."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pinterest_audiences.audience_wait import (
    DEFAULT_FAILURE_STATUSES,
    DEFAULT_SUCCESS_STATUSES,
    AudienceWait,
    EventStatus,
    PinterestAudienceFailedError,
    WaitTarget,
    describe,
    poll_once_async,
    wait_event,
    wait_target,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestAsyncHook
from airflow_provider_pinterest_audiences.ids import pinterest_id


class PinterestAudienceTrigger(BaseTrigger):
    """Poll one audience (or customer list) until it reaches a success or failure status.

    Yields exactly one event, ``{"status": "success" | "failure" | "timeout" | "error", key: object,
    "message": str}`` where ``key`` is ``"audience"`` or ``"customer_list"`` and ``object`` is the last
    object read (``None`` if none was). One async client serves the whole wait. The rules are
    ``audience_wait``'s, as for the sensor and ``wait_for_ready``: 429, 5xx and connection errors are
    retried by the hook and, should the hook give up, by the next poll.

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
        target = wait_target(audience_id, customer_list_id)
        pinterest_id(target.object_id, f"{target.kind}_id")
        if not isinstance(poll_interval, int | float) or poll_interval <= 0:
            raise PinterestInvalidArgumentError(
                "poll_interval", f"expected seconds > 0, got {poll_interval!r}"
            )
        self.pinterest_conn_id = pinterest_conn_id
        self.ad_account_id = pinterest_id(ad_account_id, "ad_account_id")
        self.poll_interval = float(poll_interval)
        self.wait = AudienceWait(
            target, success_statuses, failure_statuses, None if end_time is None else float(end_time)
        )

    @classmethod
    def for_wait(
        cls, wait: AudienceWait, *, pinterest_conn_id: str, ad_account_id: str, poll_interval: float
    ) -> PinterestAudienceTrigger:
        """The trigger that carries on ``wait`` (its target, statuses and end time) in the triggerer."""
        return cls(
            pinterest_conn_id=pinterest_conn_id,
            ad_account_id=ad_account_id,
            **wait.target.id_kwargs(),
            success_statuses=wait.success_statuses,
            failure_statuses=wait.failure_statuses,
            poll_interval=poll_interval,
            end_time=wait.end_time,
        )

    @property
    def target(self) -> WaitTarget:
        return self.wait.target

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "pinterest_conn_id": self.pinterest_conn_id,
                "ad_account_id": self.ad_account_id,
                **self.target.id_kwargs(),
                "success_statuses": list(self.wait.success_statuses),
                "failure_statuses": list(self.wait.failure_statuses),
                "poll_interval": self.poll_interval,
                "end_time": self.wait.end_time,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(await self._wait())

    async def _wait(self) -> dict[str, Any]:
        """The one event payload; never raises (cancellation apart)."""
        wait = self.wait
        try:
            async with PinterestAsyncHook(self.pinterest_conn_id) as hook:
                await asyncio.sleep(wait.sleep_seconds(random.uniform(0, self.poll_interval)))
                while not wait.timed_out():
                    try:
                        if await self._poll(hook):
                            assert wait.last is not None
                            return self._event("success", f"Pinterest {describe(wait.last)} is ready.")
                    except PinterestAudienceFailedError as failed:
                        return self._event("failure", str(failed))
                    await asyncio.sleep(wait.sleep_seconds(self.poll_interval))
                return self._event("timeout", wait.timeout_message())
        except Exception as exc:
            message = f"Waiting for Pinterest {self.target.label} {self.target.object_id} failed: {exc}"
            return self._event("error", message)

    async def _poll(self, hook: PinterestAsyncHook) -> bool:
        read = hook.get_audience if self.target.kind == "audience" else hook.get_customer_list
        return await poll_once_async(self.wait, lambda: read(self.ad_account_id, self.target.object_id))

    def _event(self, status: EventStatus, message: str) -> dict[str, Any]:
        log = self.log.info if status == "success" else self.log.warning
        log("%s", message)
        return wait_event(status, self.target, self.wait.last, message)
