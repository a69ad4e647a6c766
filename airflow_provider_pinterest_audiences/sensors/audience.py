"""``PinterestAudienceSensor``: wait until a Pinterest audience (or customer list) is usable."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_pinterest_audiences.arguments import duration_seconds, has_unrendered_template
from airflow_provider_pinterest_audiences.audience_wait import (
    DEFAULT_FAILURE_STATUSES,
    DEFAULT_SUCCESS_STATUSES,
    WaitTarget,
    audience_from_event,
    check_audience_status,
    status_rules,
    wait_target,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

DEFAULT_POKE_INTERVAL = timedelta(minutes=15)
DEFAULT_TIMEOUT = timedelta(hours=72)
# The framework's deferral timeout is only a backstop: it fires a little after the trigger's own
# end time so that the trigger's timeout event, which names the last status, normally wins.
DEFERRAL_BACKSTOP_GRACE = timedelta(minutes=1)


class PinterestAudienceSensor(BaseSensorOperator):
    """Wait until an audience is READY (settable), failing fast on TOO_SMALL, ERROR or ARCHIVED.

    Pinterest builds most audiences within 48 hours, some within 72. Deferrable mode waits in the
    triggerer; otherwise ``poke`` and ``reschedule`` modes apply the same status rules. Statuses this
    provider does not know are logged and waited on. Returns (XCom) the final audience object.

    :param audience_id: audience to wait on (templated); exactly one of this and ``customer_list_id``.
    :param customer_list_id: wait on a customer list instead (templated): PROCESSING/UPLOADING until
        READY, failing on TOO_SMALL.
    :param ad_account_id: ad account (templated); defaults to the connection's ``ad_account_id`` extra.
    :param pinterest_conn_id: Airflow connection of type ``pinterest``.
    :param success_statuses: statuses that end the wait successfully.
    :param failure_statuses: statuses that fail the task at once, without retries (``soft_fail`` skips).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poke_interval: time between checks (default 15 minutes).
    :param poll_interval: the same, template-friendly (seconds, e.g. ``"{{ params.poll_interval }}"``);
        when given it replaces ``poke_interval`` at run time.
    :param timeout: how long to wait in all (default 72 hours).
    """

    template_fields: Sequence[str] = ("audience_id", "customer_list_id", "ad_account_id", "poll_interval")
    ui_color = "#e60023"

    def __init__(
        self,
        *,
        audience_id: str | None = None,
        customer_list_id: str | None = None,
        ad_account_id: str | None = None,
        pinterest_conn_id: str = "pinterest_default",
        success_statuses: Sequence[str] = DEFAULT_SUCCESS_STATUSES,
        failure_statuses: Sequence[str] = DEFAULT_FAILURE_STATUSES,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: timedelta | float = DEFAULT_POKE_INTERVAL,
        timeout: timedelta | float = DEFAULT_TIMEOUT,
        poll_interval: timedelta | float | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        wait_target(audience_id, customer_list_id)
        self.audience_id = audience_id
        self.customer_list_id = customer_list_id
        self.ad_account_id = ad_account_id
        self.pinterest_conn_id = pinterest_conn_id
        self.success_statuses, self.failure_statuses = status_rules(success_statuses, failure_statuses)
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        if poll_interval is not None and not has_unrendered_template(poll_interval):
            duration_seconds(poll_interval, "poll_interval")

    @cached_property
    def hook(self) -> PinterestHook:
        from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

        return PinterestHook(self.pinterest_conn_id)

    @property
    def _target(self) -> WaitTarget:
        return wait_target(self.audience_id, self.customer_list_id)

    def _account(self) -> str:
        account = self.ad_account_id or self.hook.default_ad_account_id
        if not account:
            raise PinterestInvalidArgumentError(
                "ad_account_id",
                f"not given, and connection {self.pinterest_conn_id!r} has no 'ad_account_id' extra; "
                "pass ad_account_id= or set the extra",
            )
        return str(account)

    def _fetch(self) -> dict[str, Any]:
        target = self._target
        if target.kind == "audience":
            return self.hook.get_audience(self._account(), target.object_id)
        return self.hook.get_customer_list(self._account(), target.object_id)

    def _is_done(self, found: dict[str, Any]) -> bool:
        return check_audience_status(found, self.success_statuses, self.failure_statuses)

    def poke(self, context: Context) -> PokeReturnValue:
        found = self._fetch()
        return PokeReturnValue(is_done=self._is_done(found), xcom_value=found)

    def execute(self, context: Context) -> Any:
        if self.poll_interval is not None:
            self.poke_interval = duration_seconds(self.poll_interval, "poll_interval")
        if not self.deferrable:
            return super().execute(context)
        found = self._fetch()
        if self._is_done(found):
            self.log.info("Pinterest %s is already %s.", self._target.label, found.get("status"))
            return found
        from airflow_provider_pinterest_audiences.triggers.audience import PinterestAudienceTrigger

        trigger = PinterestAudienceTrigger(
            pinterest_conn_id=self.pinterest_conn_id,
            ad_account_id=self._account(),
            **self._target.id_kwargs(),
            success_statuses=self.success_statuses,
            failure_statuses=self.failure_statuses,
            poll_interval=self.poke_interval,
            end_time=time.time() + self.timeout,
        )
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + DEFERRAL_BACKSTOP_GRACE,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger: the final object, or the trigger's failure, timeout or error."""
        found = audience_from_event(event)
        self.log.info("%s", event.get("message"))
        return found
