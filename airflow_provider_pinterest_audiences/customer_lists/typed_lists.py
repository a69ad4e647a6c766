"""Several identifier types in one source: one customer list per type, each with its name and its state.

A Pinterest customer list holds one identifier type, so ``columns={"EMAIL": "email", "MAID": "gaid"}``
makes one list per type from one source. ``parse_columns`` checks the mapping, ``typed_plans`` turns the
upload's plan into one plan per type (its column, its list name, its mirror state, its suppression set),
and ``typed_summary`` puts their ``upload_summary`` figures side by side with their total.

* List names: ``list_names`` (one name per type), else ``customer_list_name`` plus the type in brackets:
  ``"CRM customers"`` gives ``"CRM customers (EMAIL)"`` and ``"CRM customers (MAID)"``.
* Mirror state: one snapshot per type, the type joined to ``state_path``'s file name before its last
  suffix: ``s3://b/crm.snapshot`` gives ``s3://b/crm.EMAIL.snapshot`` (and its ``.pending`` and ``.lock``);
  a name without a suffix gets it appended (``crm`` gives ``crm.EMAIL``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from typing import Any

from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.records import IdentifierType
from airflow_provider_pinterest_audiences.customer_lists.snapshot import as_state_path
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

Column = str | int
TOTAL_KEY = "total"
"""The key of ``typed_summary``'s total, beside the type names."""
_SUMMED = ("valid", "desired_members", "added", "removed", "suppressed", "duplicates", "batches")
_SUMMED_BY_NAME = ("invalid", "prehashed", "exceptions", "planned")
"""Summary entries that count by name (a reason, an algorithm, an exception code, add/remove/batches)."""


def _allowed_types() -> str:
    return ", ".join(member.value for member in IdentifierType)


def parse_columns(columns: Any) -> dict[str, Column]:
    """``columns`` checked: a non-empty mapping of list types to column names or 0-based indexes."""
    example = 'e.g. {"EMAIL": "email", "MAID": "gaid"}'
    if not isinstance(columns, Mapping):
        raise PinterestInvalidArgumentError(
            "columns", f"expected a mapping of list type to column, {example}; got {type(columns).__name__}"
        )
    if not columns:
        raise PinterestInvalidArgumentError(
            "columns", f"is empty: map at least one list type ({_allowed_types()}) to its column, {example}"
        )
    parsed: dict[str, Column] = {}
    for key, column in columns.items():
        list_type = IdentifierType.parse(key, "columns") if isinstance(key, str) else None
        if list_type is None:
            raise PinterestInvalidArgumentError(
                "columns", f"key {key!r} is not a list type; use one of {_allowed_types()}"
            )
        valid_index = isinstance(column, int) and not isinstance(column, bool) and column >= 0
        if not (valid_index or (isinstance(column, str) and column.strip())):
            raise PinterestInvalidArgumentError(
                "columns", f"the column of {key} must be a column name or a 0-based index, got {column!r}"
            )
        parsed[list_type.value] = column
    return parsed


def check_list_names(list_names: Any, list_types: Mapping[str, object]) -> dict[str, str]:
    """``list_names`` checked against the types of ``columns``: one distinct, non-empty name per type."""
    if not isinstance(list_names, Mapping):
        raise PinterestInvalidArgumentError(
            "list_names", f"expected a mapping of list type to list name, got {type(list_names).__name__}"
        )
    if set(list_names) != set(list_types):
        raise PinterestInvalidArgumentError(
            "list_names",
            f"its keys ({', '.join(map(str, list_names)) or 'none'}) must be the list types of columns "
            f"({', '.join(list_types)})",
        )
    for key, name in list_names.items():
        if not isinstance(name, str) or not name.strip():
            raise PinterestInvalidArgumentError(
                "list_names", f"the name of the {key} list must be a non-empty string, got {name!r}"
            )
    if len(set(list_names.values())) < len(list_names):
        raise PinterestInvalidArgumentError(
            "list_names", "two types share one name: a customer list holds one type, give each its own"
        )
    return {key: list_names[key] for key in list_types}


def list_name_for(customer_list_name: str, list_type: str) -> str:
    """The list of ``list_type`` named after ``customer_list_name``: ``"CRM customers (EMAIL)"``."""
    return f"{customer_list_name} ({list_type})"


def state_path_for(state_path: Any, list_type: str) -> Any:
    """The mirror snapshot of ``list_type``'s list: the type joined before the file name's last suffix."""
    path = as_state_path(state_path)
    stem, dot, suffix = path.name.rpartition(".")
    name = f"{stem}.{list_type}.{suffix}" if dot and stem else f"{path.name}.{list_type}"
    return path.with_name(name)


def typed_plans(
    plan: UploadPlan,
    columns: Mapping[str, Column],
    list_names: Mapping[str, str] | None = None,
    suppression_paths: Mapping[str, Any] | None = None,
) -> dict[str, UploadPlan]:
    """One plan per type of ``columns``, in its order, from the shared ``plan`` (named by
    ``customer_list_name`` plus the type unless ``list_names`` names each list)."""
    plans = {}
    for list_type, column in columns.items():
        if list_names is not None:
            name = list_names[list_type]
        else:
            name = list_name_for(str(plan.customer_list_name), list_type)
        plans[list_type] = dataclasses.replace(
            plan,
            source=dataclasses.replace(plan.source, column=column),
            list_type=IdentifierType(list_type),
            customer_list_name=name,
            state_path=None if plan.state_path is None else state_path_for(plan.state_path, list_type),
            suppression_path=(suppression_paths or {}).get(list_type),
        )
    return plans


def typed_summary(
    summaries: Mapping[str, Mapping[str, Any]], rate_limit_waits: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """The ``upload_summary`` of a several-type upload: each type's summary under its name, and under
    ``"total"`` the rows read and their quoted line breaks (once: one source), the list ids, the counts
    summed over the types and the task's waits on HTTP 429 (``rate_limit_waits``: its hooks served every
    list, so the waits are not split by type)."""
    parts = list(summaries.values())
    counters: dict[str, Counter[str]] = {key: Counter() for key in _SUMMED_BY_NAME}
    for part in parts:
        for key, counter in counters.items():
            counter.update(part.get(key) or {})
    total = {
        "customer_list_ids": {key: part["customer_list_id"] for key, part in summaries.items()},
        "mode": parts[0]["mode"],
        "list_types": list(summaries),
        "read": parts[0]["read"],
        "quoted_line_breaks": parts[0]["quoted_line_breaks"],
        **{key: sum(part[key] or 0 for part in parts) for key in _SUMMED},
        **{key: dict(sorted(counter.items())) for key, counter in counters.items()},
        "dry_run": parts[0]["dry_run"],
        "rate_limit_waits": None if rate_limit_waits is None else dict(rate_limit_waits),
    }
    return {**summaries, TOTAL_KEY: total}
