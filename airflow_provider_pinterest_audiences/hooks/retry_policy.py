"""When and how long to wait before retrying a Pinterest request: shared by the sync and async hooks."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter, honouring ``Retry-After`` / ``X-RateLimit-Reset``.

    ``max_attempts`` counts every try of one call, the first included.
    """

    max_attempts: int = 8
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 60.0
    max_server_wait_seconds: float = 600.0

    def is_retryable(self, status_code: int) -> bool:
        return status_code in RETRYABLE_STATUSES

    def wait_seconds(self, attempt: int, headers: Mapping[str, str] | None = None) -> float:
        """Seconds to sleep after failed try number ``attempt`` (1-based)."""
        server_wait = _server_wait(headers or {})
        if server_wait is not None:
            return min(server_wait, self.max_server_wait_seconds)
        ceiling = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def _server_wait(headers: Mapping[str, str]) -> float | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    for name in ("retry-after", "x-ratelimit-reset"):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds > _EPOCH_THRESHOLD:  # an absolute reset time rather than a delay
            seconds -= time.time()
        return max(seconds, 0.0)
    return None
