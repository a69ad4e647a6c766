"""Traffic shaping in front of the Pinterest routes: per-category rate limits and injected faults.

Rate windows use real (monotonic) time, not the emulated clock: a client's backoff sleeps in real time.
A ``rate_limit_storm`` answers 429 with a small ``Retry-After`` (``storm_retry_after_seconds``, default 0.1,
written as a decimal) so that well-behaved clients get through a storm quickly.
"""

from __future__ import annotations

import math
import threading
import time

from .errors import RATE_LIMITED, SERVICE_UNAVAILABLE, ApiError
from .settings import EmulatorSettings

ADS_READ = "ads_read"
ADS_WRITE = "ads_write"
OAUTH = "oauth"

WINDOW_SECONDS = 60.0


def request_category(method: str, path: str) -> str:
    """The rate-limit category of a ``/v5`` request, as in Pinterest's table."""
    if path.rstrip("/").endswith("/oauth/token"):
        return OAUTH
    if method == "GET" or path.rstrip("/").endswith("/ad_groups/audience_sizing"):
        return ADS_READ
    return ADS_WRITE


def _rate_limited(retry_after: float, detail: str) -> ApiError:
    seconds = f"{retry_after:g}"
    return ApiError(
        429,
        RATE_LIMITED,
        f"This request exceeded a rate limit. Limit: {detail}. Retry after {seconds} seconds.",
        headers={"Retry-After": seconds, "X-RateLimit-Reset": seconds},
    )


class TrafficControl:
    """Fixed 60-second windows per category, plus the ``fail_every_n`` and storm faults. Thread-safe."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}
        self._fault_counter = 0
        self._storm_left = settings.rate_limit_storm

    def reconfigure(self, changed: set[str], settings: EmulatorSettings) -> None:
        """Apply live setting changes: restart the every-Nth counter and (re)arm a storm."""
        with self._lock:
            if "fail_every_n" in changed:
                self._fault_counter = 0
            if "rate_limit_storm" in changed:
                self._storm_left = settings.rate_limit_storm

    def fault(self, settings: EmulatorSettings) -> ApiError | None:
        """The injected error for the current request, if any."""
        with self._lock:
            if self._storm_left > 0:
                self._storm_left -= 1
                return _rate_limited(settings.storm_retry_after_seconds, "emulated rate-limit storm")
            if settings.fail_every_n > 0:
                self._fault_counter += 1
                if self._fault_counter % settings.fail_every_n == 0:
                    return ApiError(
                        503, SERVICE_UNAVAILABLE, "The service is temporarily unavailable (emulated fault)."
                    )
        return None

    def rate_limit(self, category: str, settings: EmulatorSettings) -> ApiError | None:
        """Count the request in its category's window; the 429 to answer when the window is full."""
        if category == ADS_READ:
            limit = settings.ads_read_per_minute
        elif category == ADS_WRITE:
            limit = settings.ads_write_per_minute
        else:
            return None
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get(category, (now, 0))
            if now - start >= WINDOW_SECONDS:
                start, count = now, 0
            if count >= limit:
                retry_after = max(1, math.ceil(start + WINDOW_SECONDS - now))
                return _rate_limited(retry_after, f"{category}: {limit} requests per minute")
            self._windows[category] = (start, count + 1)
        return None
