"""The upload orchestrator: one ``UploadPlan`` per list in (they share a source), one ``UploadResult`` out.

The whole source is read, validated and hashed (on every CPU) before the first API call, so bad input fails
the task without touching the list. Then, by mode: ``append`` adds every valid identifier (the list is found
by name or created with the first batch), ``remove`` removes them from an existing list, ``mirror`` makes the
list hold exactly the source (``mirror``). One source may feed one list per identifier type
(``run_uploads``): it is read once. Scratch files live in a private temporary directory per list
(``scratch``), and the next upload of the list removes those a killed run left behind. A list whose
partner ids are sent as given (``hash_identifiers=False``) keeps their texts there too (``record_texts``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING

from airflow_provider_pinterest_audiences.customer_lists.list_writer import ListWriter
from airflow_provider_pinterest_audiences.customer_lists.matching import MIN_MATCHED_USERS, net_records
from airflow_provider_pinterest_audiences.customer_lists.mirror import mirror_list
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan, UploadResult
from airflow_provider_pinterest_audiences.customer_lists.reading import read_typed_digests
from airflow_provider_pinterest_audiences.customer_lists.record_texts import RecordTexts
from airflow_provider_pinterest_audiences.customer_lists.scratch import scratch_directory
from airflow_provider_pinterest_audiences.customer_lists.snapshot import DigestBuckets
from airflow_provider_pinterest_audiences.customer_lists.suppression import ReadCounts
from airflow_provider_pinterest_audiences.exceptions import PinterestError, PinterestInvalidArgumentError

if TYPE_CHECKING:
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook


def run_uploads(
    plans: Mapping[str, UploadPlan],
    hook: PinterestHook,
    new_hook: Callable[[], PinterestHook],
    log: logging.Logger,
) -> dict[str, UploadResult]:
    """Carry out several plans that share one source (one list per identifier type), in order.

    The source is read once, into one digest set per plan, and every plan's counts are checked before
    the first API call. Then each list is uploaded in turn; the first failure stops the run (a retry
    redoes every list: appends and removes are idempotent, a mirror resumes from its own state).
    """
    results: dict[str, UploadResult] = {}
    with ExitStack() as stack:
        workdirs = {key: stack.enter_context(scratch_directory(plan, log)) for key, plan in plans.items()}
        digests = {key: stack.enter_context(DigestBuckets(workdirs[key])) for key in plans}
        texts = {
            key: stack.enter_context(RecordTexts(workdirs[key]))
            for key, plan in plans.items()
            if plan.identifier_options.sends_as_given(plan.list_type)
        }
        counts = read_typed_digests(
            plans,
            {key: buckets.add for key, buckets in digests.items()},
            log,
            {key: store.add for key, store in texts.items()},
        )
        for key, planned in plans.items():
            store = texts.get(key)
            plan = planned if store is None else _sized_for_texts(planned, store, log)
            writer = ListWriter(plan, hook, new_hook, log, store)
            run = mirror_list if plan.mode == "mirror" else _append_or_remove
            result = run(plan, writer, digests[key], counts[key], workdirs[key], log)
            result.exceptions = writer.exceptions
            result.planned_batches = plan.batches_for(result.planned["ADD"]) + plan.batches_for(
                result.planned["REMOVE"]
            )
            check_exceptions(plan, result, log)
            warn_if_too_small(plan, result, log)
            if plan.dry_run:
                log.info(
                    "Dry run: would add %d and remove %d %s records in %d requests; nothing sent or saved",
                    result.planned["ADD"],
                    result.planned["REMOVE"],
                    plan.list_type,
                    result.planned_batches,
                )
            results[key] = result
    return results


def _sized_for_texts(plan: UploadPlan, texts: RecordTexts, log: logging.Logger) -> UploadPlan:
    """``plan`` with as many records per request as keeps a request of texts within the hex size bound."""
    log.info(
        "%s records are sent as given (hash_identifiers=False), not hashed; the longest is %d bytes",
        plan.list_type,
        texts.longest,
    )
    return dataclasses.replace(plan, records_per_request=texts.records_per_request(plan.records_per_request))


def _append_or_remove(
    plan: UploadPlan,
    writer: ListWriter,
    read: DigestBuckets,
    counts: ReadCounts,
    workdir: str,
    log: logging.Logger,
) -> UploadResult:
    spool_path = os.path.join(workdir, "digests.bin")
    with open(spool_path, "wb") as spool:
        # Each identifier once, a bucket at a time (flat memory at any size); texts are looked up by range.
        unique = read.write_distinct(spool, ordered=writer.sends_as_given)
    customer_list_id = writer.find_list_id()
    operation = "ADD" if plan.mode == "append" else "REMOVE"
    if customer_list_id is None and operation == "REMOVE":
        raise PinterestInvalidArgumentError(
            "customer_list_name",
            f"no customer list named {plan.customer_list_name!r} in ad account {plan.ad_account_id}",
        )
    before = None if customer_list_id is None else writer.read_list(customer_list_id)
    planned = Counter({operation: unique})
    if plan.dry_run:
        return UploadResult(customer_list_id, counts, Counter(), 0, unique, before, before, planned)
    sent_to = writer.send(customer_list_id, writer.batches_of(spool_path, operation), unique)
    assert sent_to is not None  # unique > 0 (the read phase checked), so at least one batch went out
    after = writer.read_list(sent_to)
    return UploadResult(sent_to, counts, writer.sent, writer.batches, unique, before, after, planned)


def check_exceptions(plan: UploadPlan, result: UploadResult, log: logging.Logger) -> None:
    """Log what Pinterest reported in its answers' ``exceptions`` (codes and counts); raise above
    ``max_list_exceptions``."""
    total = sum(result.exceptions.values())
    if not total:
        return
    codes = ", ".join(f"{code}={count}" for code, count in sorted(result.exceptions.items()))
    log.warning(
        "Pinterest reported %d exceptions for customer list %s: %s", total, result.customer_list_id, codes
    )
    if plan.max_list_exceptions is not None and total > plan.max_list_exceptions:
        raise PinterestError(
            f"Pinterest reported {total} exceptions ({codes}) for customer list {result.customer_list_id}, "
            f"above max_list_exceptions={plan.max_list_exceptions}. The batches were sent; check the list in "
            "Ads Manager, fix the input and re-run (the upload is idempotent)"
        )


def warn_if_too_small(plan: UploadPlan, result: UploadResult, log: logging.Logger) -> None:
    """Warn when the list will hold fewer members than an audience needs (its counters, or the mirror's
    distinct identifiers)."""
    holds = result.desired_members if plan.mode == "mirror" else net_records(result.list_after)
    if holds is None and plan.mode != "remove":
        holds = result.desired_members
    if holds is not None and holds < MIN_MATCHED_USERS:
        log.warning(
            "Customer list %s will hold about %d members: an audience needs at least %d (Pinterest refuses "
            "smaller ones, or marks them TOO_SMALL)",
            result.customer_list_id,
            holds,
            MIN_MATCHED_USERS,
        )
