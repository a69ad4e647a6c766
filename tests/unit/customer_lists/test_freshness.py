"""Whether a mirror snapshot still tells its list's story: ``stale_reason`` and ``ListState``."""

from __future__ import annotations

import pytest

from airflow_provider_pinterest_audiences.customer_lists.freshness import ListState, stale_reason

WRITTEN = ListState(1_764_547_200, 1_000, 40)


@pytest.mark.parametrize(
    ("snapshot", "recorded", "pending", "current", "stale"),
    [
        (3, WRITTEN, None, WRITTEN, None),
        (3, WRITTEN, 3, ListState(1_764_550_000, 1_200, 40), None),  # a failed run's batches
        (None, None, 0, ListState(1_764_550_000, 100, 0), None),  # failed after creating the list
        (3, None, None, ListState(1_764_550_000, 1_200, 40), None),  # version 1: nothing recorded
        (3, WRITTEN, None, None, None),  # no list found: the snapshot's list id is checked elsewhere
        (3, WRITTEN, None, ListState(1_764_550_000, 1_000, 40), None),  # renamed: no batch since
        # no counters: updated_time is compared (and named once)
        (3, ListState(5, None, None), None, ListState(6, None, None), "(updated_time 5 -> 6) and"),
        (
            3,
            WRITTEN,
            None,
            ListState(1_764_550_000, 1_000, 90),
            "list changed since snapshot generation 3 was written (num_removed_user_records 40 -> 90, "
            "updated_time 1764547200 -> 1764550000) and no pending file",
        ),
        (3, WRITTEN, None, ListState(1_764_547_200, 1_001, 40), "(num_uploaded_user_records 1000 -> 1001)"),
        (
            3,
            WRITTEN,
            5,
            WRITTEN,
            "pending file of a failed run extends snapshot generation 5, but the snapshot is generation 3",
        ),
        (None, None, 4, WRITTEN, "extends snapshot generation 4, but the snapshot is none"),
        (4, WRITTEN, 3, WRITTEN, None),  # left by the run that saved generation 4, killed before deleting it
        (4, WRITTEN, 3, ListState(1_764_550_000, 1_001, 40), "num_uploaded_user_records 1000 -> 1001"),
    ],
)
def test_stale_reason(
    snapshot: int | None,
    recorded: ListState | None,
    pending: int | None,
    current: ListState | None,
    stale: str | None,
) -> None:
    reason = stale_reason(
        snapshot_generation=snapshot, recorded=recorded, pending_generation=pending, current=current
    )
    if stale is None:
        assert reason is None
    else:
        assert reason is not None and stale in reason


def test_list_state_from_an_api_object_ignores_other_fields() -> None:
    api_object = {"id": "1", "updated_time": 5, "num_uploaded_user_records": 7, "status": "READY"}
    assert ListState.from_api(api_object) == ListState(5, 7, None)
    assert ListState.from_json(ListState(5, 7, 1).to_json()) == ListState(5, 7, 1)
    assert ListState.from_json({"updated_time": 5}) == ListState(5, None, None)  # a header missing fields
