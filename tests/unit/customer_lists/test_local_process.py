"""``process_alive``: a killed run's pid reads as gone, a live process (even another user's) as running."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from airflow_provider_pinterest_audiences.customer_lists import local_process
from airflow_provider_pinterest_audiences.customer_lists.local_process import process_alive


def dead_pid() -> int:
    """The pid of a process that has ended."""
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(finished.stdout)


def test_this_process_is_alive_and_an_ended_one_is_not() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(dead_pid())


@pytest.mark.parametrize(
    ("signal_error", "alive"),
    [(None, True), (ProcessLookupError, False), (PermissionError, True)],  # PermissionError: another user's
)
def test_what_signal_zero_answers_means(
    monkeypatch: pytest.MonkeyPatch, signal_error: type[OSError] | None, alive: bool
) -> None:
    sent: list[tuple[int, int]] = []

    def kill(pid: int, signal: int) -> None:
        sent.append((pid, signal))
        if signal_error is not None:
            raise signal_error

    monkeypatch.setattr(local_process.os, "kill", kill)
    assert process_alive(4242) is alive
    assert sent == [(4242, 0)]  # probes only: never a real signal
