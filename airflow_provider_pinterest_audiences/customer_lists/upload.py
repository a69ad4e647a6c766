"""The upload orchestrator: an ``UploadPlan`` in, an ``UploadResult`` out.

The whole source is read, validated and hashed (on every CPU) before the first API call, so bad input fails
the task without touching the list. Then, by mode: ``append`` adds every valid identifier (the list is found
by name or created with the first batch), ``remove`` removes them from an existing list, ``mirror`` makes the
list hold exactly the source (``mirror``). Scratch files live in a private temporary directory per list
(``scratch``), and the next upload of the list removes those a killed run left behind.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from airflow_provider_pinterest_audiences.customer_lists.list_writer import ListWriter
from airflow_provider_pinterest_audiences.customer_lists.mirror import mirror_list
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan, UploadResult
from airflow_provider_pinterest_audiences.customer_lists.reading import read_digests
from airflow_provider_pinterest_audiences.customer_lists.scratch import scratch_directory
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

if TYPE_CHECKING:
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook


def run_upload(
    plan: UploadPlan,
    hook: PinterestHook,
    new_hook: Callable[[], PinterestHook],
    log: logging.Logger,
) -> UploadResult:
    """Carry out ``plan`` on ``hook`` (``new_hook`` makes one hook per extra upload thread)."""
    writer = ListWriter(plan, hook, new_hook, log)
    with scratch_directory(plan, log) as workdir:
        if plan.mode == "mirror":
            return mirror_list(
                plan,
                writer,
                lambda list_id: hook.get_customer_list(plan.ad_account_id, list_id),
                workdir,
                log,
            )
        return _append_or_remove(plan, writer, workdir, log)


def _append_or_remove(
    plan: UploadPlan, writer: ListWriter, workdir: str, log: logging.Logger
) -> UploadResult:
    spool_path = os.path.join(workdir, "digests.bin")
    with open(spool_path, "wb") as spool:
        counts = read_digests(plan, spool.write, log)
    customer_list_id = writer.find_list_id()
    operation = "ADD" if plan.mode == "append" else "REMOVE"
    if customer_list_id is None and operation == "REMOVE":
        raise PinterestInvalidArgumentError(
            "customer_list_name",
            f"no customer list named {plan.customer_list_name!r} in ad account {plan.ad_account_id}",
        )
    sent_to = writer.send(customer_list_id, writer.batches_of(spool_path, operation), counts.valid)
    assert sent_to is not None  # counts.valid > 0, so at least one batch went out
    return UploadResult(sent_to, counts, writer.sent, writer.batches)
