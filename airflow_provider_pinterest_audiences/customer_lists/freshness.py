"""Whether a mirror snapshot still tells the list's story, judged by what the list looked like.

Pinterest cannot list a customer list's members, but it reports when the list last changed and how many
records were ever added and removed. A snapshot records those (``ListState``) as they were after its run's
last batch. Every batch moves a counter (Pinterest counts records even when they change nothing), so if a
counter moved since, something sent a batch: another run, another tool, or the snapshot is an older copy
restored over a newer one. ``updated_time`` is only compared when the list reports no counters: it also
moves for changes that keep the members, such as a rename. A pending file explains such a change only if
it extends this very snapshot (same generation): it names every member its failed run may have touched.
One that extends an older generation was left by the run that saved this snapshot (killed before deleting
it) and explains nothing; one that extends a newer generation proves the snapshot is an older copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_pinterest_audiences.exceptions import PinterestError

STALE_SNAPSHOT_CHOICES = ("fail", "resync")
_COUNTERS = ("num_uploaded_user_records", "num_removed_user_records")


class StaleSnapshotError(PinterestError):
    """The list changed since the snapshot in a way the snapshot cannot explain."""


@dataclass(frozen=True)
class ListState:
    """What a customer list reports about itself that changes with every batch sent to it."""

    updated_time: float | None
    num_uploaded_user_records: float | None
    num_removed_user_records: float | None

    @classmethod
    def from_api(cls, customer_list: Mapping[str, Any]) -> ListState:
        """From a customer list object of the API (missing fields are None)."""
        return cls(
            customer_list.get("updated_time"),
            customer_list.get("num_uploaded_user_records"),
            customer_list.get("num_removed_user_records"),
        )

    @classmethod
    def from_json(cls, fields: Mapping[str, Any]) -> ListState:
        """From a snapshot header's ``list_state``."""
        return cls(**{name: fields.get(name) for name in cls.__dataclass_fields__})

    def to_json(self) -> dict[str, Any]:
        """For a snapshot header."""
        return asdict(self)

    def differences(self, now: ListState) -> list[str]:
        """What moved since, as ``name then -> now`` (see the module docstring); empty when nothing did."""
        then_fields, now_fields = self.to_json(), now.to_json()
        compared = (
            _COUNTERS if any(then_fields[name] is not None for name in _COUNTERS) else ("updated_time",)
        )
        moved = [name for name in compared if then_fields[name] != now_fields[name]]
        if (
            moved
            and then_fields["updated_time"] != now_fields["updated_time"]
            and "updated_time" not in moved
        ):
            moved.append("updated_time")
        return [f"{name} {then_fields[name]} -> {now_fields[name]}" for name in moved]


def stale_reason(
    *,
    snapshot_generation: int | None,
    recorded: ListState | None,
    pending_generation: int | None,
    current: ListState | None,
) -> str | None:
    """Why the snapshot cannot be trusted, or None when it can (or there is nothing to check).

    ``snapshot_generation`` is None without a snapshot, ``pending_generation`` None without a pending file
    (else the generation of the snapshot it extends, 0 for none), ``current`` None without a list.
    """
    generation = snapshot_generation or 0
    if pending_generation is not None and pending_generation > generation:
        written_over = f"generation {snapshot_generation}" if snapshot_generation is not None else "none"
        return (
            f"the pending file of a failed run extends snapshot generation {pending_generation}, but the "
            f"snapshot is {written_over}"
        )
    if pending_generation == generation or recorded is None or current is None:
        return None
    differences = recorded.differences(current)
    if not differences:
        return None
    return (
        f"the list changed since snapshot generation {snapshot_generation} was written "
        f"({', '.join(differences)}) and no pending file of a failed run explains it"
    )
