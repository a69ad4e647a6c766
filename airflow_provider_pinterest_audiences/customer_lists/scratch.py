"""An upload's private scratch directory under the system temp dir, and the ones killed runs left behind.

The directory (0700, from ``tempfile``) is named after the list it serves and the process using it:
``pinterest-customer-list-<list key>-<host key>-<pid>-<random>``. It goes when the upload ends; a run
killed before that leaves it, spill files and all, so the next upload of the same list on the same host
removes those of its list and host whose process is gone: never another list's, another host's (a temp
dir shared between containers) nor a live one's.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from airflow_provider_pinterest_audiences.customer_lists.local_process import process_alive
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan

PREFIX = "pinterest-customer-list-"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def list_key(plan: UploadPlan) -> str:
    """A short name for the plan's list (its account and id or name), no customer data."""
    target = plan.customer_list_id if plan.customer_list_id is not None else plan.customer_list_name
    return _short_hash(f"{plan.ad_account_id}/{target}")


def owner_prefix(key: str) -> str:
    """The name prefix of list ``key``'s scratch directories on this host."""
    return f"{PREFIX}{key}-{_short_hash(socket.gethostname())}-"


def remove_dead_scratch(key: str, log: logging.Logger, directory: str | None = None) -> int:
    """Delete the scratch directories of list ``key`` whose process has ended; how many were removed."""
    directory = directory or tempfile.gettempdir()
    mine = owner_prefix(key)
    removed = 0
    for entry in os.scandir(directory):
        pid = entry.name[len(mine) :].split("-", 1)[0]
        if not entry.name.startswith(mine) or not pid.isdigit() or not entry.is_dir(follow_symlinks=False):
            continue
        if int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    if removed:
        log.warning("Removed %d scratch directories of killed uploads of this list in %s", removed, directory)
    return removed


@contextmanager
def scratch_directory(plan: UploadPlan, log: logging.Logger) -> Iterator[str]:
    """A private temporary directory for one upload, after removing the leftovers of this list's dead runs."""
    key = list_key(plan)
    remove_dead_scratch(key, log)
    with tempfile.TemporaryDirectory(prefix=f"{owner_prefix(key)}{os.getpid()}-") as workdir:
        yield workdir
