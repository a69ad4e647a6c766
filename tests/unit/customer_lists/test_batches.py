"""``customer_lists.batches``: how batches are sent, up to N in flight, each worker thread on its own hook
(reading batches from a spool and their sizes: ``test_records``, ``test_hash_identifiers``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.batches import Batch, send_batches
from airflow_provider_pinterest_audiences.customer_lists.records import DIGEST_SIZE


class Hook:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Sender:
    """``send``: records which hook sent which batch and how many were in flight at once."""

    def __init__(self, fail_on: int | None = None, together: int = 1) -> None:
        self.fail_on = fail_on
        self.sent: dict[int, Any] = {}
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()
        self._together = threading.Barrier(together)

    def __call__(self, hook: Any, batch: Batch) -> None:
        number = batch.digests[0]
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if number < self._together.parties:
                self._together.wait(timeout=10)  # the first batches are provably in flight together
            if number == self.fail_on:
                raise RuntimeError(f"batch {number} failed")
            self.sent[number] = hook
        finally:
            with self._lock:
                self.in_flight -= 1


def numbered(count: int, consumed: list[int] | None = None) -> Any:
    for number in range(count):
        if consumed is not None:
            consumed.append(number)
        yield Batch("ADD", bytes([number]) * DIGEST_SIZE)


def test_one_in_flight_sends_in_order_on_the_main_hook_without_new_hooks() -> None:
    main, sender, done = Hook(), Sender(), []
    send_batches(
        numbered(4),
        sender,
        main_hook=main,  # type: ignore[arg-type]
        new_hook=pytest.fail,  # type: ignore[arg-type]
        max_in_flight=1,
        on_sent=lambda batch: done.append(batch.digests[0]),
    )
    assert done == [0, 1, 2, 3]
    assert set(map(id, sender.sent.values())) == {id(main)}
    assert not main.closed


def test_several_in_flight_each_thread_on_its_own_hook_all_closed_at_the_end() -> None:
    made: list[Hook] = []

    def new_hook() -> Hook:
        made.append(Hook())
        return made[-1]

    main, sender, done = Hook(), Sender(together=3), []
    send_batches(
        numbered(12),
        sender,
        main_hook=main,  # type: ignore[arg-type]
        new_hook=new_hook,  # type: ignore[arg-type]
        max_in_flight=3,
        on_sent=lambda batch: done.append(batch.digests[0]),
    )
    assert sorted(done) == list(range(12))
    assert sender.most_in_flight == 3
    assert len(made) == 3 and all(hook.closed for hook in made)
    assert {id(hook) for hook in sender.sent.values()} == {id(hook) for hook in made}
    assert not main.closed


def test_the_first_failure_stops_the_reading_and_is_raised_once_the_rest_have_finished() -> None:
    consumed: list[int] = []
    sender, done, stopped = Sender(fail_on=1, together=2), [], []
    with pytest.raises(RuntimeError, match="batch 1 failed"):
        send_batches(
            numbered(50, consumed),
            sender,
            main_hook=Hook(),  # type: ignore[arg-type]
            new_hook=Hook,  # type: ignore[arg-type]
            max_in_flight=2,
            on_sent=lambda batch: done.append(batch.digests[0]),
            on_stopped=lambda finished, failed: stopped.append((finished, failed)),
        )
    assert len(consumed) < 50
    assert sender.in_flight == 0 and 1 not in sender.sent
    # Each batch that went out well was either reported as sent or counted as finished after the failure.
    assert len(stopped) == 1
    finished, failed = stopped[0]
    assert failed == 0 and len(done) + finished == len(sender.sent) and set(done) <= set(sender.sent)


def test_at_least_one_request_in_flight() -> None:
    with pytest.raises(ValueError, match="max_in_flight must be at least 1, got 0"):
        send_batches([], print, main_hook=Hook(), new_hook=Hook, max_in_flight=0, on_sent=print)  # type: ignore[arg-type]


def test_a_batch_renders_its_digests_as_hex_unless_it_carries_given_records() -> None:
    digests = bytes(range(DIGEST_SIZE)) + bytes([255]) * DIGEST_SIZE
    assert Batch("ADD", digests).records == f"{bytes(range(DIGEST_SIZE)).hex()},{'ff' * DIGEST_SIZE}"
    assert Batch("REMOVE", digests, "a,b").records == "a,b"
    assert Batch("REMOVE", digests).record_count == 2
