"""When an upload logs its progress: often enough to follow, rarely enough to read.

A line for the first batch, then one each time another tenth of the records is sent or 30 seconds have
passed since the last line, and one for the last batch: a 10M-record upload logs about a dozen lines
(plus one per 30 s of a slow run) instead of one per batch. Each line says the rate and the time left.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

DEFAULT_STEP = 0.1
DEFAULT_INTERVAL = 30.0


class Progress:
    """Tracks records sent out of ``total`` and says which updates deserve a log line.

    :param total: records to send.
    :param step: share of ``total`` between two lines.
    :param interval: seconds after which a line is due whatever the share.
    :param clock: a monotonic clock (seconds).
    """

    def __init__(
        self,
        total: int,
        *,
        step: float = DEFAULT_STEP,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self._step_records = max(1, math.ceil(total * step))
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._last_line: float | None = None
        self._next_mark = 0

    def due(self, done: int) -> bool:
        """Whether ``done`` records sent calls for a line (the first, a new tenth, 30 s, or the last)."""
        now = self._clock()
        if not (
            self._last_line is None
            or done >= self.total
            or done >= self._next_mark
            or now - self._last_line >= self._interval
        ):
            return False
        self._last_line = now
        self._next_mark = (done // self._step_records + 1) * self._step_records
        return True

    def describe(self, done: int) -> str:
        """``"180,000 of 1,000,000 sent, 18%, 5,200 records/s, about 2m38s left"``."""
        elapsed = max(self._clock() - self._started, 1e-9)
        rate = done / elapsed
        share = done / self.total if self.total else 1.0
        left = (self.total - done) / rate if rate > 0 else math.inf
        return (
            f"{done:,} of {self.total:,} sent, {share:.0%}, {rate:,.0f} records/s, "
            f"about {_duration(left)} left"
        )


def _duration(seconds: float) -> str:
    """``45s``, ``2m38s``, ``1h05m``; ``unknown time`` before anything was sent."""
    if not math.isfinite(seconds):
        return "unknown time"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
