"""The hashing pool inside a daemonic process (Celery worker children): no children, same digests."""

from __future__ import annotations

import multiprocessing
from typing import Any

from airflow_provider_pinterest_audiences.customer_lists.hashing_pool import hash_chunks
from airflow_provider_pinterest_audiences.customer_lists.records import IdentifierType

CHUNKS: list[list[str | None]] = [[f"p{i}-{j}@example.com" for j in range(50)] for i in range(6)]


def _hash_in_daemon(results: Any) -> None:
    try:
        digests = b"".join(c.digests for c in hash_chunks(CHUNKS, IdentifierType.EMAIL, processes=2))
        results.put(digests)
    except BaseException as exc:  # reported to the test, which fails on it
        results.put(repr(exc))


def test_a_daemonic_process_hashes_in_process_with_the_same_digests() -> None:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    daemon = context.Process(target=_hash_in_daemon, args=(results,), daemon=True)
    daemon.start()
    outcome = results.get(timeout=60)
    daemon.join(timeout=60)
    expected = b"".join(c.digests for c in hash_chunks(CHUNKS, IdentifierType.EMAIL, processes=1))
    assert outcome == expected
