"""``PinterestAudienceSensor``: wait until a Pinterest audience (or customer list) is usable."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_pinterest_audiences.arguments import duration_seconds, optional, optional_id
from airflow_provider_pinterest_audiences.audience_wait import (
    DEFAULT_FAILURE_STATUSES,
    DEFAULT_POKE_INTERVAL,
    DEFAULT_SUCCESS_STATUSES,
    DEFAULT_TIMEOUT,
    DEFERRAL_BACKSTOP_GRACE,
    AudienceWait,
    WaitTarget,
    audience_from_event,
    deferral_timeout,
    poll_once,
    status_rules,
    wait_target,
)
from airflow_provider_pinterest_audiences.health import (
    HEALTH_ARGUMENT_CHECKS,
    HEALTH_TEMPLATE_FIELDS,
    check_guard_target,
    report_health,
)
from airflow_provider_pinterest_audiences.operators.base import DEFAULT_CONN_ID, PinterestHookMixin

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_pinterest_audiences.arguments import ArgumentCheck

# Kept importable from here, where they used to live.
__all__ = [
    "DEFAULT_POKE_INTERVAL",
    "DEFAULT_TIMEOUT",
    "DEFERRAL_BACKSTOP_GRACE",
    "PinterestAudienceSensor",
]


class PinterestAudienceSensor(PinterestHookMixin, BaseSensorOperator):
    """Wait until an audience is READY (settable), failing fast on TOO_SMALL, ERROR or ARCHIVED.

    Deferrable mode waits in the triggerer; ``poke`` and ``reschedule`` modes apply the same rules
    (``audience_wait``): statuses this provider does not know are logged and waited on, and so is
    Pinterest being unavailable (429, 5xx or no answer after the hook's retries): the next poke decides,
    as the next poll does in the triggerer. Other API errors (404, 403...) fail the poke. Every mode
    times out with the same message, naming the last status seen (``soft_fail`` skips). Returns (XCom)
    the final audience object, and pushes its ``audience_size``, ``audience_status`` and ``match_rate``
    (``None`` when not estimable; a customer list has no size), also emitted as metrics (``health``).

    :param audience_id: audience to wait on (templated); exactly one of this and ``customer_list_id``.
    :param customer_list_id: wait on a customer list instead (templated): PROCESSING/UPLOADING until
        READY, failing on TOO_SMALL.
    :param ad_account_id: ad account (templated); defaults to the connection's ``ad_account_id`` extra.
    :param pinterest_conn_id: Airflow connection of type ``pinterest``.
    :param hook_params: extra keyword arguments for ``PinterestHook`` (poke and reschedule modes, and the
        check before deferring). The triggerer's hook keeps its defaults: these are Python objects (a
        ``RetryPolicy``, a ``RateLimitWaits`` counter shared with other hooks), not trigger arguments.
    :param success_statuses: statuses that end the wait successfully.
    :param failure_statuses: statuses that fail the task at once, without retries (``soft_fail`` skips).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poke_interval: time between checks (default 15 minutes).
    :param poll_interval: the same, template-friendly (seconds, e.g. ``"{{ params.poll_interval }}"``);
        when given it replaces ``poke_interval`` at run time.
    :param timeout: how long to wait in all (default 72 hours).
    :param sent_count: unique valid identifiers sent (templated): a count or the upload's
        ``upload_summary`` XCom, for the ``match_rate`` estimate (size / sent).
    :param min_audience_size: audiences only: fail (or warn) when the READY audience is smaller.
    :param min_match_rate: audiences only, with ``sent_count``: fail (or warn) when the estimated match
        rate is lower, a share in (0, 1].
    :param on_low_match: ``fail`` (default; the task's retries apply) or ``warn`` when a guard falls short.
    """

    template_fields: Sequence[str] = (
        "audience_id",
        "customer_list_id",
        "ad_account_id",
        "poll_interval",
        *HEALTH_TEMPLATE_FIELDS,
    )
    argument_checks: ClassVar[Mapping[str, ArgumentCheck]] = {
        **PinterestHookMixin.argument_checks,
        "audience_id": optional_id,
        "customer_list_id": optional_id,
        "poll_interval": optional(duration_seconds),
        **HEALTH_ARGUMENT_CHECKS,
    }
    ui_color = "#e60023"
    # poke and reschedule modes: the wait ``execute`` set up (with its end time), and the ad account.
    _timed_wait: tuple[AudienceWait, str] | None = None

    def __init__(
        self,
        *,
        audience_id: str | None = None,
        customer_list_id: str | None = None,
        ad_account_id: str | None = None,
        pinterest_conn_id: str = DEFAULT_CONN_ID,
        hook_params: Mapping[str, Any] | None = None,
        success_statuses: Sequence[str] = DEFAULT_SUCCESS_STATUSES,
        failure_statuses: Sequence[str] = DEFAULT_FAILURE_STATUSES,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: timedelta | float = DEFAULT_POKE_INTERVAL,
        timeout: timedelta | float = DEFAULT_TIMEOUT,
        poll_interval: timedelta | float | str | None = None,
        sent_count: int | str | Mapping[str, Any] | None = None,
        min_audience_size: int | str | None = None,
        min_match_rate: float | str | None = None,
        on_low_match: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            ad_account_id=ad_account_id,
            pinterest_conn_id=pinterest_conn_id,
            hook_params=hook_params,
            poke_interval=poke_interval,
            timeout=timeout,
            **kwargs,
        )
        self.audience_id = audience_id
        self.customer_list_id = customer_list_id
        self.success_statuses, self.failure_statuses = status_rules(success_statuses, failure_statuses)
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.sent_count = sent_count
        self.min_audience_size = min_audience_size
        self.min_match_rate = min_match_rate
        self.on_low_match = on_low_match
        target = wait_target(audience_id, customer_list_id)
        self.check_literal_arguments()
        _check_guard_target(vars(self), target)

    def _wait(self, end_time: float | None = None) -> tuple[AudienceWait, str]:
        """The wait's rules for the rendered arguments, and the ad account its object is read in."""
        checked = self.checked_arguments()
        target = wait_target(checked["audience_id"], checked["customer_list_id"])
        _check_guard_target(checked, target)
        wait = AudienceWait(target, self.success_statuses, self.failure_statuses, end_time)
        return wait, self.resolve_ad_account_id()

    def _poll(self, wait: AudienceWait, account: str) -> bool:
        read = self.hook.get_audience if wait.target.kind == "audience" else self.hook.get_customer_list
        return poll_once(wait, lambda: read(account, wait.target.object_id))

    def poke(self, context: Context) -> PokeReturnValue:
        """One read; past the end time ``execute`` set, ``AirflowSensorTimeout`` with the one message."""
        wait, account = self._timed_wait or self._wait()
        done = self._poll(wait, account)
        if not done and wait.timed_out():
            raise AirflowSensorTimeout(wait.timeout_message())
        return PokeReturnValue(is_done=done, xcom_value=wait.last)

    def execute(self, context: Context) -> Any:
        if self.poll_interval is not None:
            self.poke_interval = duration_seconds(self.poll_interval, "poll_interval")
        if not self.deferrable:
            self._timed_wait = self._wait(end_time=self._started_at(context) + self.timeout)
            return self._finish(context, super().execute(context))
        wait, account = self._wait(end_time=time.time() + self.timeout)
        if self._poll(wait, account):
            assert wait.last is not None
            self.log.info("Pinterest %s is already %s.", wait.target.label, wait.last.get("status"))
            return self._finish(context, wait.last)
        from airflow_provider_pinterest_audiences.triggers.audience import PinterestAudienceTrigger

        trigger = PinterestAudienceTrigger.for_wait(
            wait,
            pinterest_conn_id=self.pinterest_conn_id,
            ad_account_id=account,
            poll_interval=self.poke_interval,
        )
        self.defer(trigger=trigger, method_name="execute_complete", timeout=deferral_timeout(self.timeout))

    def _started_at(self, context: Context) -> float:
        """When ``BaseSensorOperator.execute`` counts the wait from (Unix time), so that ``poke`` times out
        first, with the one message: now, or in reschedule mode (a new process each poke) this try's first
        poke, as Airflow records it."""
        if not self.reschedule:
            return time.time()
        ti = context["ti"]
        if hasattr(ti, "get_first_reschedule_date"):  # Airflow 3's Task SDK
            first = ti.get_first_reschedule_date(context)
        else:  # Airflow 2 reads its task_reschedule table
            from airflow.sensors.base import _orig_start_date

            first = _orig_start_date(
                dag_id=ti.dag_id,
                task_id=ti.task_id,
                run_id=ti.run_id,
                map_index=ti.map_index,
                try_number=(ti.max_tries or 0) - (self.retries or 0) + 1,
            )
        return first.timestamp() if first else time.time()

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger: the final object, or the trigger's failure, timeout or error."""
        found = audience_from_event(event)
        self.log.info("%s", event.get("message"))
        return self._finish(context, found)

    def _finish(self, context: Context, found: dict[str, Any]) -> dict[str, Any]:
        """Push the final object's health and apply the guard (which may raise)."""
        checked = self.checked_arguments()
        label = wait_target(checked["audience_id"], checked["customer_list_id"]).label
        report_health(context, found, checked, label, self.log)
        return found


def _check_guard_target(values: Mapping[str, Any], target: WaitTarget) -> None:
    check_guard_target(
        values,
        has_size=target.kind == "audience",
        reason="a customer list has no size: wait on the audience over it (audience_id)",
    )
