"""The read phase of an upload: every row read, validated and hashed before the first API call.

Bad input fails here, with nothing sent: no rows, no valid identifier, or more invalid rows than
``max_invalid_ratio`` allows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from airflow_provider_pinterest_audiences.customer_lists.hashing_pool import hash_chunks
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.records import RecordCounts
from airflow_provider_pinterest_audiences.customer_lists.suppression import ReadCounts, suppressed_reading
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError


def read_digests(plan: UploadPlan, sink: Callable[[bytes], object], log: logging.Logger) -> ReadCounts:
    """Hash the whole source into ``sink(packed_digests)`` on every CPU; count rows; fail on bad input.

    With ``plan.suppression_path``, digests of the suppression set never reach ``sink`` (counted instead).
    """
    started = time.monotonic()
    counts = ReadCounts()
    with suppressed_reading(plan.suppression_path, plan.list_type.value, sink, counts) as target:
        chunks = plan.source.chunks()
        options = plan.identifier_options
        for chunk in hash_chunks(chunks, plan.list_type, processes=plan.hashing_processes, options=options):
            counts.add(chunk)
            target(chunk.digests)
    elapsed = time.monotonic() - started
    log.info(
        "Read %d rows in %.1f s (%.0f rows/s): %d valid %s identifiers (arrived hashed: %s), %d invalid (%s)",
        counts.read,
        elapsed,
        counts.read / max(elapsed, 1e-9),
        counts.valid,
        plan.list_type,
        ", ".join(f"{kind}={count}" for kind, count in counts.prehashed_by_kind().items()),
        counts.invalid_total,
        counts.describe_invalid(),
    )
    check_counts(plan, counts)
    if plan.suppression_path is not None:
        log.info(
            "Suppression set %s held back %d valid identifiers", plan.suppression_path, counts.suppressed
        )
        if counts.suppressed == counts.valid:
            raise PinterestInvalidArgumentError(
                plan.source.argument,
                f"all its {counts.valid} valid identifiers are in the suppression set (erased); "
                "nothing was sent",
            )
    return counts


def check_counts(plan: UploadPlan, counts: RecordCounts) -> None:
    """Raise when the source is empty, holds no valid identifier, or too many invalid rows."""
    origin = plan.source.argument
    if counts.read == 0:
        raise PinterestInvalidArgumentError(origin, "it holds no rows; nothing was sent")
    if counts.valid == 0:
        raise PinterestInvalidArgumentError(
            origin,
            f"none of its {counts.read} rows holds a valid {plan.list_type} identifier "
            f"({counts.describe_invalid()}); check list_type and column. Nothing was sent",
        )
    ratio = counts.invalid_total / counts.read
    if ratio > plan.max_invalid_ratio:
        raise PinterestInvalidArgumentError(
            "max_invalid_ratio",
            f"{counts.invalid_total} of {counts.read} rows ({ratio:.1%}) are invalid "
            f"({counts.describe_invalid()}), above the limit of {plan.max_invalid_ratio:.1%}. Nothing "
            "was sent: fix the input (list_type, column, delimiter) or raise max_invalid_ratio",
        )
