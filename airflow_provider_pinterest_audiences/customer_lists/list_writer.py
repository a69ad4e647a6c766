"""Writing to one customer list: find it by name, create it with the first batch, send the rest in parallel.

The list is always created by the first batch alone, before any other request, so a re-run never makes a
second list. The other batches go out with up to ``max_concurrent_requests`` in flight (``batches``).
Progress is logged for the first and last batch and every tenth of the records or 30 seconds between
(``progress``), with the rate and the time left: counts and rates only, never an identifier.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_pinterest_audiences.customer_lists.batches import Batch, read_batches, send_batches
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.progress import Progress


def _cases(value: Any) -> int:
    """How many cases one ``exceptions`` entry stands for: its count, its list's length, or one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return len(value) if isinstance(value, list | dict) else 1


def exception_codes(exceptions: Any) -> Counter[str]:
    """An answer's ``exceptions`` (the spec: "Customer list errors", an object of undocumented shape) as
    counts by code: a key with a count or a list of cases, or items carrying a ``code``. Never a value."""
    if not exceptions:
        return Counter()
    if isinstance(exceptions, Mapping):
        return Counter({str(code): _cases(cases) for code, cases in exceptions.items()})
    if isinstance(exceptions, list):
        return Counter(
            str(item.get("code")) if isinstance(item, Mapping) else "unknown" for item in exceptions
        )
    return Counter({"unknown": 1})


if TYPE_CHECKING:
    from airflow_provider_pinterest_audiences.customer_lists.record_texts import RecordTexts
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook


class ListWriter:
    """Sends one upload's batches to its customer list and keeps the totals (``sent``, ``batches``).

    With ``texts``, the records are sent as given: rendered from their stored texts.
    """

    def __init__(
        self,
        plan: UploadPlan,
        hook: PinterestHook,
        new_hook: Callable[[], PinterestHook],
        log: logging.Logger,
        texts: RecordTexts | None = None,
    ) -> None:
        self._plan = plan
        self._texts = texts
        self._hook = hook
        self._new_hook = new_hook
        self._log = log
        self.sent: Counter[str] = Counter()
        self.batches = 0
        self.exceptions: Counter[str] = Counter()
        """What Pinterest's answers reported in their ``exceptions`` field, counted by code."""
        self._exceptions_lock = threading.Lock()
        self._progress = Progress(0)

    def find_list_id(self) -> str | None:
        """The id given, or the id of the list with the plan's name (None when there is none)."""
        plan = self._plan
        if plan.customer_list_id is not None:
            return plan.customer_list_id
        found = self._hook.find_customer_list(plan.ad_account_id, str(plan.customer_list_name))
        if found is None:
            return None
        self._log.info("Found customer list %s named %r", found["id"], plan.customer_list_name)
        return str(found["id"])

    def read_list(self, customer_list_id: str) -> dict[str, Any]:
        """The customer list as Pinterest shows it now (status, counters, ``updated_time``)."""
        return self._hook.get_customer_list(self._plan.ad_account_id, customer_list_id)

    def batches_of(self, path: str, operation: str) -> Iterator[Batch]:
        """A spool file of packed digests as request-sized ``operation`` batches."""
        return read_batches(path, operation, self._plan.records_per_request, self._texts)

    @property
    def sends_as_given(self) -> bool:
        """Whether records are sent as their stored texts, looked up by ranges of sorted digests."""
        return self._texts is not None

    def send(self, customer_list_id: str | None, batches: Iterator[Batch], total: int) -> str | None:
        """Send ``batches`` (``total`` records); with no list id yet, the first batch (an ADD) creates it.

        Returns the list id, or None when there was nothing to send and no list.
        """
        plan = self._plan
        self._progress = Progress(total)
        if customer_list_id is None:
            first = next(batches, None)
            if first is None:
                return None
            assert first.operation == "ADD"  # no list yet means nothing to remove
            created = self._hook.create_customer_list(
                plan.ad_account_id,
                name=str(plan.customer_list_name),
                records=first.records,
                list_type=plan.list_type.value,
            )
            self._note_exceptions(created)
            customer_list_id = str(created["id"])
            self._log.info("Created customer list %s named %r", customer_list_id, plan.customer_list_name)
            self._record(first)
        list_id = customer_list_id

        def send_one(batch_hook: PinterestHook, batch: Batch) -> None:
            answer = batch_hook.update_customer_list(
                plan.ad_account_id, list_id, operation_type=batch.operation, records=batch.records
            )
            self._note_exceptions(answer)

        send_batches(
            batches,
            send_one,
            main_hook=self._hook,
            new_hook=self._new_hook,
            max_in_flight=plan.max_concurrent_requests,
            on_sent=self._record,
            on_stopped=self._stopped,
        )
        return customer_list_id

    def _note_exceptions(self, answer: Mapping[str, Any]) -> None:
        """Count the ``exceptions`` of one answer (called from the upload threads too)."""
        found = exception_codes(answer.get("exceptions"))
        if found:
            with self._exceptions_lock:
                self.exceptions.update(found)

    def _record(self, batch: Batch) -> None:
        self.batches += 1
        self.sent[batch.operation] += batch.record_count
        done = sum(self.sent.values())
        if self._progress.due(done):
            self._log.info(
                "Batch %d: %s %d records (%s)",
                self.batches,
                batch.operation,
                batch.record_count,
                self._progress.describe(done),
            )

    def _stopped(self, finished: int, failed: int) -> None:
        self._log.error(
            "Upload stopped at a failed batch; %d batches already in flight finished (%d failed too)",
            finished,
            failed,
        )
