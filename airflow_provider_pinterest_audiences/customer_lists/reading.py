"""The read phase of an upload: every row read, validated and hashed before the first API call.

One source may feed several lists, one per identifier type (``columns``): it is read once, each block of
rows hashed once per type's column, and each type's digests go to their own sink. Bad input fails here,
with nothing sent to any list: no rows, a type without a valid identifier, or more invalid values than
``max_invalid_ratio`` allows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack

from airflow_provider_pinterest_audiences.customer_lists.hashing_pool import hash_column_chunks
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.records import InvalidReason, RecordCounts
from airflow_provider_pinterest_audiences.customer_lists.suppression import ReadCounts, suppressed_reading
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

Sink = Callable[[bytes], object]
TextSink = Callable[[bytes, list[bytes]], object]
"""Takes packed digests and their normalised texts (``RecordTexts.add``), for types sent as given."""


def read_digests(plan: UploadPlan, sink: Sink, log: logging.Logger, *, empty_ok: bool = False) -> ReadCounts:
    """Hash the whole source into ``sink(packed_digests)`` on every CPU; count rows; fail on bad input.

    With ``plan.suppression_path``, digests of the suppression set never reach ``sink`` (counted instead).
    ``empty_ok``: a source without rows is no error (an erasure feed with no requests tonight).
    """
    key = plan.list_type.value
    return read_typed_digests({key: plan}, {key: sink}, log, empty_ok=empty_ok)[key]


def read_typed_digests(
    plans: Mapping[str, UploadPlan],
    sinks: Mapping[str, Sink],
    log: logging.Logger,
    text_sinks: Mapping[str, TextSink] | None = None,
    *,
    empty_ok: bool = False,
) -> dict[str, ReadCounts]:
    """``read_digests`` for several lists fed by one source: read it once, hash each plan's column with the
    plan's type into ``sinks[key]``, and return the counts per key. A plan whose type is sent as given
    (``hash_identifiers=False``) also sends every valid digest with its text to ``text_sinks[key]``.

    The plans differ only in list, type and ``source.column``; the first plan's source is read. ``empty_ok``
    as in ``read_digests``.
    """
    started = time.monotonic()
    first = next(iter(plans.values()))
    keys = list(plans)
    counts = {key: ReadCounts() for key in keys}
    texts_to = dict(text_sinks or {})
    with ExitStack() as stack:
        targets = [
            stack.enter_context(
                suppressed_reading(plan.suppression_path, plan.list_type.value, sinks[key], counts[key])
            )
            for key, plan in plans.items()
        ]
        chunks = first.source.column_chunks([plan.source.column for plan in plans.values()])
        types = [plan.list_type for plan in plans.values()]
        options, processes = first.identifier_options, first.hashing_processes
        for hashed in hash_column_chunks(chunks, types, processes=processes, options=options):
            for key, target, chunk in zip(keys, targets, hashed, strict=True):
                counts[key].add(chunk)
                target(chunk.digests)
                if chunk.texts:
                    texts_to[key](chunk.digests, chunk.texts)
    elapsed = time.monotonic() - started
    rows, rate = counts[keys[0]].read, counts[keys[0]].read / max(elapsed, 1e-9)
    several = len(plans) > 1
    if several:
        log.info(
            "Read %d rows in %.1f s (%.0f rows/s), once for %d identifier types",
            rows,
            elapsed,
            rate,
            len(keys),
        )
    for key, plan in plans.items():
        read = counts[key]
        log.info(
            "%s: %d valid %s identifiers (arrived hashed: %s), %d invalid (%s)",
            f"Column {plan.source.column!r}"
            if several
            else f"Read {rows} rows in {elapsed:.1f} s ({rate:.0f} rows/s)",
            read.valid,
            plan.list_type,
            ", ".join(f"{kind}={count}" for kind, count in read.prehashed_by_kind().items()),
            read.invalid_total,
            read.describe_invalid(),
        )
        if read.read == 0 and empty_ok:
            continue
        check_counts(plan, read, blank_is_invalid=not several)
        if plan.suppression_path is not None:
            _check_suppression(plan, read, log)
    return counts


def _check_suppression(plan: UploadPlan, counts: ReadCounts, log: logging.Logger) -> None:
    log.info("Suppression set %s held back %d valid identifiers", plan.suppression_path, counts.suppressed)
    if counts.suppressed == counts.valid:
        raise PinterestInvalidArgumentError(
            plan.source.argument,
            f"all its {counts.valid} valid {plan.list_type} identifiers are in the suppression set (erased); "
            "nothing was sent",
        )


def check_counts(plan: UploadPlan, counts: RecordCounts, *, blank_is_invalid: bool = True) -> None:
    """Raise when the source is empty, holds no valid identifier, or too many invalid rows.

    ``blank_is_invalid=False`` (several types in one source, where a customer may lack one): blank cells
    are counted (``missing``) but the ratio is taken over the non-blank cells only.
    """
    origin = plan.source.argument
    if counts.read == 0:
        raise PinterestInvalidArgumentError(origin, "it holds no rows; nothing was sent")
    where = "check list_type and column" if blank_is_invalid else f"check column {plan.source.column!r}"
    if counts.valid == 0:
        raise PinterestInvalidArgumentError(
            origin,
            f"none of its {counts.read} rows holds a valid {plan.list_type} identifier "
            f"({counts.describe_invalid()}); {where}. Nothing was sent",
        )
    blank = 0 if blank_is_invalid else counts.invalid[InvalidReason.MISSING]
    invalid, checked = counts.invalid_total - blank, counts.read - blank
    ratio = invalid / checked
    if ratio > plan.max_invalid_ratio:
        what = "rows" if blank_is_invalid else f"non-blank {plan.list_type} cells"
        raise PinterestInvalidArgumentError(
            "max_invalid_ratio",
            f"{invalid} of {checked} {what} ({ratio:.1%}) are invalid ({counts.describe_invalid()}), above "
            f"the limit of {plan.max_invalid_ratio:.1%}. Nothing was sent: fix the input (list_type, column, "
            "delimiter) or raise max_invalid_ratio",
        )
