"""Hash raw chunks on every CPU: an ordered, bounded pipeline over a process pool.

The calling process only reads (CSV blocks are raw bytes cut at row boundaries); workers parse, normalise,
validate and hash, and send back packed digests. At most two chunks per worker are in flight, so memory
stays flat whatever the input size. Inputs of one chunk, or ``processes=1``, never start a pool. A source
with several identifier columns sends each block once and gets one hashed chunk per column back.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain
from multiprocessing.context import BaseContext

from airflow_provider_pinterest_audiences.customer_lists.records import (
    DEFAULT_OPTIONS,
    HashedChunk,
    IdentifierOptions,
    IdentifierType,
    RawChunk,
    hash_chunk,
)

IN_FLIGHT_PER_PROCESS = 2


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _pool_context() -> BaseContext:
    # fork: workers start at once with this module already imported. A forkserver or spawn worker would
    # re-import the parent's __main__ (Airflow's task runner: seconds). Workers only hash, so the usual
    # fork-with-threads hazards (locks held by other threads) do not reach the code they run.
    return multiprocessing.get_context("fork" if sys.platform == "linux" else None)


def hash_chunks(
    chunks: Iterable[RawChunk],
    identifier_type: IdentifierType,
    *,
    processes: int | None = None,
    options: IdentifierOptions = DEFAULT_OPTIONS,
) -> Iterator[HashedChunk]:
    """``hash_chunk`` over ``chunks``, results in input order, on ``processes`` workers (None: all CPUs)."""
    columns = ([chunk] for chunk in chunks)
    hashed = hash_column_chunks(columns, [identifier_type], processes=processes, options=options)
    return (chunk for (chunk,) in hashed)


def hash_columns(
    chunks: Sequence[RawChunk], identifier_types: Sequence[IdentifierType], options: IdentifierOptions
) -> list[HashedChunk]:
    """``hash_chunk`` of each column's chunk with its type (one task of a worker)."""
    return [
        hash_chunk(chunk, list_type, options)
        for chunk, list_type in zip(chunks, identifier_types, strict=True)
    ]


def hash_column_chunks(
    chunks: Iterable[Sequence[RawChunk]],
    identifier_types: Sequence[IdentifierType],
    *,
    processes: int | None = None,
    options: IdentifierOptions = DEFAULT_OPTIONS,
) -> Iterator[list[HashedChunk]]:
    """``hash_columns`` over ``chunks`` (one raw chunk per column, typed by ``identifier_types``), results
    in input order, on ``processes`` workers (None: all CPUs)."""
    workers = available_cpus() if processes is None else processes
    pending_chunks = iter(chunks)
    head = [chunk for chunk in (next(pending_chunks, None), next(pending_chunks, None)) if chunk is not None]
    # A daemonic process (a Celery worker's pool child) may not have children: hash in this process.
    if workers <= 1 or len(head) < 2 or multiprocessing.current_process().daemon:
        for chunk in chain(head, pending_chunks):
            yield hash_columns(chunk, identifier_types, options)
        return
    # gc.freeze in each worker: its collections then skip every object inherited from the parent (an
    # Airflow task holds hundreds of thousands), instead of writing to their headers and so copying most of
    # the parent's heap page by page. That copying cost the workers a third more CPU.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(), initializer=gc.freeze)
    in_flight: deque[Future[list[HashedChunk]]] = deque()
    try:
        for chunk in chain(head, pending_chunks):
            in_flight.append(pool.submit(hash_columns, chunk, identifier_types, options))
            if len(in_flight) >= IN_FLIGHT_PER_PROCESS * workers:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
