"""The emulated clock: wall time at start, then running ``speed`` times faster, and movable by hand."""

from __future__ import annotations

import threading
import time


class Clock:
    """Emulated Unix time. Thread-safe."""

    def __init__(self, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._speed = speed
        self._anchor_real = time.monotonic()
        self._anchor_emulated = time.time()

    def now(self) -> float:
        """Current emulated Unix time in seconds."""
        with self._lock:
            return self._anchor_emulated + (time.monotonic() - self._anchor_real) * self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on, without a jump in emulated time."""
        if speed <= 0:
            raise ValueError("clock speed must be > 0")
        with self._lock:
            real = time.monotonic()
            self._anchor_emulated += (real - self._anchor_real) * self._speed
            self._anchor_real = real
            self._speed = speed

    def advance(self, seconds: float) -> None:
        """Jump ``seconds`` emulated seconds forward."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._anchor_emulated += seconds
