"""Upload progress: which batches get a log line, and what the line says."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.batches import Batch
from airflow_provider_pinterest_audiences.customer_lists.list_writer import ListWriter
from airflow_provider_pinterest_audiences.customer_lists.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ten_million_records_in_667_batches_log_about_a_dozen_lines() -> None:
    clock = Clock()
    progress = Progress(10_000_000, clock=clock)
    lines = 0
    done = 0
    for batch in range(667):  # 15,000 records each, the last one shorter
        done = min(10_000_000, (batch + 1) * 15_000)
        clock.now += 0.01  # fast: no line is due by time alone
        lines += progress.due(done)

    assert lines == 11  # the first batch, each further tenth, and the last (the 100% mark)


def test_a_slow_upload_also_logs_every_30_seconds() -> None:
    clock = Clock()
    progress = Progress(1_000_000, clock=clock)
    assert progress.due(1_000)  # the first batch
    clock.now += 29
    assert not progress.due(2_000)
    clock.now += 1
    assert progress.due(3_000)
    clock.now += 1
    assert not progress.due(4_000)


def test_the_last_batch_is_always_logged() -> None:
    clock = Clock()
    progress = Progress(100, clock=clock)
    assert progress.due(95)
    assert progress.due(100)


def test_the_line_gives_share_rate_and_time_left() -> None:
    clock = Clock()
    progress = Progress(1_000_000, clock=clock)
    clock.now += 40

    assert progress.describe(200_000) == "200,000 of 1,000,000 sent, 20%, 5,000 records/s, about 2m40s left"
    assert progress.describe(0).endswith("0 records/s, about unknown time left")


@pytest.mark.parametrize(("seconds", "shown"), [(0, "0s"), (59, "59s"), (61, "1m01s"), (3_900, "1h05m")])
def test_time_left_is_short(seconds: int, shown: str) -> None:
    clock = Clock()
    progress = Progress(seconds + 1, clock=clock)
    clock.now += 1
    assert progress.describe(1).endswith(f"about {shown} left")  # 1 record/s


def test_list_writer_logs_batches_sparsely(caplog: pytest.LogCaptureFixture) -> None:
    class Hook:
        def update_customer_list(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return {"id": "42"}

    def batches() -> Iterator[Batch]:
        for _ in range(100):
            yield Batch("ADD", bytes(32 * 10))

    plan: Any = SimpleNamespace(ad_account_id="1", max_concurrent_requests=1)
    hook: Any = Hook()
    log = logging.getLogger("test_progress")
    with caplog.at_level(logging.INFO, logger="test_progress"):
        ListWriter(plan, hook, lambda: hook, log).send("42", batches(), total=1_000)

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Batch ")]
    assert lines[0].startswith("Batch 1: ADD 10 records (10 of 1,000 sent, 1%,")
    assert lines[-1].startswith("Batch 100: ADD 10 records (1,000 of 1,000 sent, 100%,")
    assert len(lines) == 11
