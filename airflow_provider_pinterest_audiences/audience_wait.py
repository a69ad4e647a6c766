"""When is a wait for an audience (or customer list) over: the rules every wait uses, in one place.

Shared by the sensor (``poke``), the trigger and the create operators' ``wait_for_ready``:

* a success status ends the wait; a failure status raises :class:`PinterestAudienceFailedError` with advice;
  any other status (also one this provider does not know, which is logged) means "still waiting";
* a transient API failure (the hook's retries for 429, 5xx or no answer ran out) also means "still
  waiting": the next poll decides. Any other API error (404, 403...) ends the wait at once;
* the wait times out at an absolute end time, with one message naming the last status seen.

:class:`AudienceWait` holds these rules without I/O; :func:`poll_once` and :func:`wait_until_done` drive
it synchronously, :func:`poll_once_async` in the trigger. The trigger's event, one per wait, is ``{"status":
"success" | "failure" | "timeout" | "error", "<key>": object | None, "message": str}`` where ``<key>`` is
``"audience"`` when waiting on an audience and ``"customer_list"`` when waiting on a customer list.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout

from airflow_provider_pinterest_audiences.customer_lists.matching import MIN_MATCHED_USERS
from airflow_provider_pinterest_audiences.exceptions import (
    PinterestApiError,
    PinterestError,
    PinterestInvalidArgumentError,
)

log = logging.getLogger(__name__)

DEFAULT_SUCCESS_STATUSES: tuple[str, ...] = ("READY",)
DEFAULT_FAILURE_STATUSES: tuple[str, ...] = ("TOO_SMALL", "ERROR", "ARCHIVED")
DEFAULT_POKE_INTERVAL = datetime.timedelta(minutes=15)
# Pinterest: audiences are typically ready within 48 hours, sometimes 72.
DEFAULT_TIMEOUT = datetime.timedelta(hours=72)
# The framework's deferral timeout is only a backstop: it fires a little after the trigger's own
# end time so that the trigger's timeout event, which names the last status, normally wins.
DEFERRAL_BACKSTOP_GRACE = datetime.timedelta(minutes=1)

# Statuses Pinterest documents as "not ready yet" (audiences, then customer lists); anything else that
# is neither a success nor a failure status is unknown: logged, and waited on.
KNOWN_WAITING_STATUSES = frozenset(
    {"INITIALIZING", "PROCESSING", "UPDATING", "PERSONAS_INITIALIZING", "UPLOADING"}
)

_ADVICE = {
    "TOO_SMALL": (
        f"fewer than {MIN_MATCHED_USERS} Pinterest users matched. Add records to the customer list "
        "(for other audience types, widen the rule), then wait again"
    ),
    "ARCHIVED": "archived audiences cannot be used or restored. Create a new audience",
    "ERROR": (
        "Pinterest could not build it. Check its rule and source (customer list, tag, seed audiences) "
        "in Ads Manager, then create it again or contact Pinterest support"
    ),
}

EventStatus = Literal["success", "failure", "timeout", "error"]
TargetKind = Literal["audience", "customer_list"]


class WaitTarget(NamedTuple):
    """What is waited on. ``kind`` is also the key of the object in the trigger's event."""

    kind: TargetKind
    object_id: str

    @property
    def label(self) -> str:
        return "audience" if self.kind == "audience" else "customer list"

    def id_kwargs(self) -> dict[str, str | None]:
        """``audience_id`` and ``customer_list_id`` as the trigger takes them (one of them ``None``)."""
        return {
            f"{kind}_id": self.object_id if kind == self.kind else None
            for kind in ("audience", "customer_list")
        }


class PinterestAudienceFailedError(PinterestError, AirflowFailException):
    """The audience (or customer list) reached a failure status; ``audience`` is the last object read.

    An ``AirflowFailException``: the task is not retried (reading the same object again cannot change a
    final status) and ``soft_fail`` turns it into a skip, in poke, reschedule and deferrable mode alike.
    """

    def __init__(self, message: str, audience: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.audience = dict(audience) if audience is not None else None
        self.status = self.audience.get("status") if self.audience is not None else None


def wait_target(audience_id: str | None, customer_list_id: str | None) -> WaitTarget:
    """The one thing to wait on; an error naming both arguments unless exactly one is given."""
    candidates: list[tuple[TargetKind, str | None]] = [
        ("audience", audience_id),
        ("customer_list", customer_list_id),
    ]
    chosen = [
        (kind, str(value).strip()) for kind, value in candidates if value is not None and str(value).strip()
    ]
    if len(chosen) != 1:
        raise PinterestInvalidArgumentError(
            "audience_id",
            f"pass exactly one of audience_id or customer_list_id (got audience_id={audience_id!r}, "
            f"customer_list_id={customer_list_id!r})",
        )
    return WaitTarget(*chosen[0])


def status_rules(
    success_statuses: Sequence[str], failure_statuses: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Both status lists upper-cased and checked: strings, a non-empty success list, no overlap."""
    success = _statuses("success_statuses", success_statuses)
    failure = _statuses("failure_statuses", failure_statuses)
    if not success:
        raise PinterestInvalidArgumentError("success_statuses", "give at least one status, e.g. ('READY',)")
    overlap = sorted(set(success) & set(failure))
    if overlap:
        raise PinterestInvalidArgumentError(
            "failure_statuses", f"{overlap} also appear in success_statuses; a status cannot be both"
        )
    return success, failure


def _statuses(argument: str, values: Sequence[str]) -> tuple[str, ...]:
    items = (values,) if isinstance(values, str) else tuple(values)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise PinterestInvalidArgumentError(argument, f"statuses must be non-empty strings, got {item!r}")
    return tuple(item.strip().upper() for item in items)


def describe(audience: Mapping[str, Any]) -> str:
    """``audience 123 'Buyers'`` or ``customer list 456 'Buyers'``, with its size or record count."""
    is_list = audience.get("type") == "customerlist"
    label = "customer list" if is_list else "audience"
    name = audience.get("name")
    named = f" {name!r}" if name else ""
    if is_list:
        amount = f"{audience.get('num_uploaded_user_records', 'unknown')} records uploaded"
    else:
        amount = f"size {audience.get('size', 'unknown')}"
    return f"{label} {audience.get('id', '?')}{named} ({amount})"


def check_audience_status(
    audience: Mapping[str, Any], success_statuses: Sequence[str], failure_statuses: Sequence[str]
) -> bool:
    """True when the wait is over, False while still waiting.

    Unknown statuses are logged and mean "still waiting". A failure status raises
    :class:`PinterestAudienceFailedError` saying which status, the size, and what to do.
    """
    success, failure = status_rules(success_statuses, failure_statuses)
    status = str(audience.get("status") or "").upper()
    if status in success:
        return True
    if status in failure:
        advice = _ADVICE.get(status, f"it is one of failure_statuses {list(failure)}")
        raise PinterestAudienceFailedError(f"Pinterest {describe(audience)} is {status}: {advice}.", audience)
    if status not in KNOWN_WAITING_STATUSES:
        log.warning(
            "Pinterest %s has status %r, which this provider does not know; still waiting for %s.",
            describe(audience),
            status or None,
            list(success),
        )
    return False


def wait_event(
    status: EventStatus, target: WaitTarget, found: Mapping[str, Any] | None, message: str
) -> dict[str, Any]:
    """The trigger's event payload (see the module docstring)."""
    return {"status": status, target.kind: dict(found) if found is not None else None, "message": message}


def audience_from_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The audience (or customer list) of a ``success`` event; otherwise raise with the event's message.

    ``failure`` raises :class:`PinterestAudienceFailedError`, ``timeout`` ``AirflowSensorTimeout``,
    anything else :class:`PinterestError`.
    """
    status = event.get("status")
    message = str(event.get("message") or f"the wait ended with status {status!r}")
    found = event.get("audience", event.get("customer_list"))
    if status == "success" and isinstance(found, dict):
        return found
    if status == "failure":
        raise PinterestAudienceFailedError(message, found if isinstance(found, dict) else None)
    if status == "timeout":
        raise AirflowSensorTimeout(message)
    raise PinterestError(message)


class AudienceWait:
    """One wait's rules and state (the last object read), without I/O.

    :param target: what is waited on.
    :param success_statuses: statuses that end the wait successfully.
    :param failure_statuses: statuses that end it with :class:`PinterestAudienceFailedError`.
    :param end_time: absolute Unix time at which the wait times out; ``None`` never.
    """

    def __init__(
        self,
        target: WaitTarget,
        success_statuses: Sequence[str] = DEFAULT_SUCCESS_STATUSES,
        failure_statuses: Sequence[str] = DEFAULT_FAILURE_STATUSES,
        end_time: float | None = None,
    ) -> None:
        self.target = target
        self.success_statuses, self.failure_statuses = status_rules(success_statuses, failure_statuses)
        self.end_time = end_time
        self.last: dict[str, Any] | None = None

    def observe(self, found: Mapping[str, Any]) -> bool:
        """Record ``found``: True when the wait is over, False while waiting; a failure status raises."""
        self.last = dict(found)
        return check_audience_status(found, self.success_statuses, self.failure_statuses)

    def tolerate(self, error: PinterestApiError) -> bool:
        """A poll that failed: transient failures wait for the next poll (False), any other is raised."""
        if not error.transient:
            raise error
        log.warning("Pinterest is unavailable (%s); trying again at the next poll.", error)
        return False

    def timed_out(self) -> bool:
        return self.end_time is not None and time.time() >= self.end_time

    def sleep_seconds(self, seconds: float) -> float:
        """``seconds``, but never past the end time."""
        if self.end_time is None:
            return seconds
        return max(0.0, min(seconds, self.end_time - time.time()))

    def timeout_message(self) -> str:
        """The one timeout message: when, the last status seen, and what to do."""
        assert self.end_time is not None
        deadline = datetime.datetime.fromtimestamp(self.end_time, tz=datetime.timezone.utc).isoformat()
        if self.last is None:
            state = f"{self.target.label} {self.target.object_id} had not been read yet"
        else:
            state = f"{describe(self.last)} was still {self.last.get('status')}"
        return (
            f"Timed out at {deadline}: Pinterest {state}. Audiences are typically ready within 48 hours, "
            "sometimes 72: raise the timeout, or check it in Ads Manager."
        )


def deferral_timeout(seconds: float) -> datetime.timedelta:
    """The framework's backstop for a deferred wait of ``seconds``: a little later than the trigger's."""
    return datetime.timedelta(seconds=seconds) + DEFERRAL_BACKSTOP_GRACE


def poll_once(wait: AudienceWait, fetch: Callable[[], Mapping[str, Any]]) -> bool:
    """Read the object once: True when the wait is over (``wait.last`` holds it), False while waiting."""
    try:
        return wait.observe(fetch())
    except PinterestApiError as error:
        return wait.tolerate(error)


async def poll_once_async(wait: AudienceWait, fetch: Callable[[], Awaitable[Mapping[str, Any]]]) -> bool:
    """:func:`poll_once` with an async read (the trigger's)."""
    try:
        return wait.observe(await fetch())
    except PinterestApiError as error:
        return wait.tolerate(error)


def wait_until_done(
    wait: AudienceWait,
    fetch: Callable[[], Mapping[str, Any]],
    poll_interval: float,
    *,
    sleep: Callable[[float], object] = time.sleep,
) -> dict[str, Any]:
    """Poll every ``poll_interval`` seconds (the caller has just read the object) until the wait is over.

    Returns the object in a success status; raises :class:`PinterestAudienceFailedError` on a failure
    status, ``AirflowSensorTimeout`` at the end time, and any API error that is not transient.
    """
    while True:
        sleep(wait.sleep_seconds(poll_interval))
        if wait.timed_out():
            raise AirflowSensorTimeout(wait.timeout_message())
        if poll_once(wait, fetch):
            assert wait.last is not None
            return wait.last
