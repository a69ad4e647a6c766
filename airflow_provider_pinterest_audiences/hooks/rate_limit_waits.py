"""How often and how long hooks waited because Pinterest answered 429: one tally, shared across threads."""

from __future__ import annotations

import threading


class RateLimitWaits:
    """Waits on HTTP 429 and the seconds they took. Thread-safe: an upload's hooks (one per sending
    thread) can share one tally."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._seconds = 0.0

    def add(self, seconds: float) -> None:
        """Count one wait of ``seconds``."""
        with self._lock:
            self._count += 1
            self._seconds += seconds

    def figures(self) -> dict[str, float]:
        """``{"count": waits, "seconds": total}`` (seconds rounded to milliseconds), for a summary."""
        with self._lock:
            return {"count": self._count, "seconds": round(self._seconds, 3)}
