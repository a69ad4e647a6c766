"""``run_erase`` against an in-memory hook: exact removals in several batches, retries of killed runs, the
summary and the logs (counts and ids only), and a snapshot of a list outside the accounts erased."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.erase import (
    SCRATCH_KEY,
    ErasePlan,
    EraseResult,
    run_erase,
)
from airflow_provider_pinterest_audiences.customer_lists.freshness import ListState, stale_reason
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.snapshot import (
    BUCKETS,
    DigestBuckets,
    DigestFileReader,
    as_state_path,
    pending_path_for,
    plan_mirror,
    read_state_headers,
    save_snapshot,
)
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

LOG = logging.getLogger("test-erase")
ACCOUNT, OTHER_ACCOUNT, EMPTY_ACCOUNT = "549755885175", "549755885176", "549755885177"
CUSTOMERS = [f"user{n}@example.com" for n in range(12)]
ERASED = [
    "User1@Example.com ",
    "user2@example.com",
    "user3@example.com",
    "user4@example.com",
    "gone@example.com",
]
HEX_DIGEST = re.compile(r"[0-9a-f]{64}", re.IGNORECASE)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Killed(RuntimeError):
    """The worker died while sending a batch."""


class FakeHook:
    """Customer lists in memory, with the counters Pinterest keeps; ``kill_at``: the PATCH that fails."""

    def __init__(self, lists: dict[str, dict[str, set[str]]]) -> None:
        self.lists = lists
        self.counters: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()
        self.patches = 0
        self.kill_at: int | None = None
        self._lock = threading.Lock()

    def list_ad_accounts(self) -> list[dict[str, Any]]:
        return [{"id": account} for account in self.lists]

    def list_customer_lists(self, account: str) -> list[dict[str, Any]]:
        return [{"id": list_id} for list_id in self.lists[account]]

    def get_customer_list(self, account: str, list_id: str) -> dict[str, Any]:
        assert list_id in self.lists[account]
        return {
            "id": list_id,
            "updated_time": 1_764_547_200 + self.updated[list_id],
            "num_uploaded_user_records": 12,
            "num_removed_user_records": self.counters[list_id],
        }

    def update_customer_list(self, account: str, list_id: str, *, operation_type: str, records: str) -> Any:
        assert operation_type == "REMOVE"
        with self._lock:
            self.patches += 1
            if self.patches == self.kill_at:
                raise Killed("killed mid-batch")
            sent = records.split(",")
            self.lists[account][list_id] -= set(sent)
            self.counters[list_id] += len(sent)
            self.updated[list_id] += 1
        return {"id": list_id}

    def close(self) -> None:
        pass


def start(tmp_path: Path) -> tuple[FakeHook, ErasePlan]:
    """Three lists in two accounts (a third account has none) and a mirror snapshot of the first list."""
    digests = {sha(email) for email in CUSTOMERS}
    hook = FakeHook(
        {
            ACCOUNT: {"11": set(digests), "12": {sha(email) for email in CUSTOMERS[3:]}},
            OTHER_ACCOUNT: {"21": set(digests)},
            EMPTY_ACCOUNT: {},
        }
    )
    state = as_state_path(str(tmp_path / "newsletter.snapshot"))
    with DigestBuckets(str(tmp_path)) as desired:
        desired.add(b"".join(bytes.fromhex(digest) for digest in digests))
        diff = plan_mirror(
            state, list_type="EMAIL", customer_list_id="11", desired=desired, directory=str(tmp_path)
        )
        current = ListState.from_api(hook.get_customer_list(ACCOUNT, "11"))
        save_snapshot(state, diff, list_type="EMAIL", customer_list_id="11", list_state=current)
    identifiers = UploadPlan(
        ad_account_id="",
        source=CustomerSource(source=ERASED),
        mode="remove",
        customer_list_name=SCRATCH_KEY,
        records_per_request=2,
        hashing_processes=1,
        max_concurrent_requests=1,
    )
    plan = ErasePlan(identifiers, suppression_path=str(tmp_path / "erased.suppression"), state_paths=(state,))
    return hook, plan


def digests_in(path: Any) -> set[str]:
    """The digests of a digest file (a pending file's without their flags); none when there is no file."""
    if not as_state_path(path).exists():
        return set()
    with as_state_path(path).open("rb") as handle:
        reader = DigestFileReader(handle, path)
        body = b"".join(reader.take(first_byte) for first_byte in range(BUCKETS))
        reader.finish()
    size = reader.header.record_size
    return {body[i : i + 32].hex() for i in range(0, len(body), size)}


def end_state(hook: FakeHook, plan: ErasePlan) -> dict[str, Any]:
    """Members, the suppression set, the snapshot, whether it tells its list's story, and what of a pending
    file the next mirror run would act on: its flags on members of the snapshot. (A retried erase keeps the
    pending file its killed run wrote, as it keeps a failed mirror run's; all it flags is purged by then.)"""
    state = as_state_path(plan.state_paths[0])
    headers = read_state_headers(state, list_type="EMAIL", customer_list_id="11")
    assert headers.snapshot is not None
    stale = stale_reason(
        snapshot_generation=headers.snapshot.generation,
        recorded=headers.snapshot.list_state,
        pending_generation=headers.pending.generation if headers.pending else None,
        current=ListState.from_api(hook.get_customer_list(ACCOUNT, "11")),
    )
    return {
        "members": hook.lists,
        "suppression": digests_in(plan.suppression_path),
        "snapshot": digests_in(state),
        "stale": stale,
        "pending": digests_in(pending_path_for(state)) & digests_in(state),
        "locks": sorted(path.name for path in Path(str(state.path)).parent.glob("*.lock")),
    }


def test_an_erase_in_several_batches_per_list_is_exact_and_names_no_identifier(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hook, plan = start(tmp_path)
    with caplog.at_level(logging.DEBUG):
        result = run_erase(plan, hook, lambda: hook, LOG)
    summary = result.summary()
    erased = {sha(email) for email in CUSTOMERS[1:5]}
    assert hook.lists == {
        ACCOUNT: {
            "11": {sha(email) for email in CUSTOMERS} - erased,
            "12": {sha(email) for email in CUSTOMERS[3:]} - erased,
        },
        OTHER_ACCOUNT: {"21": {sha(email) for email in CUSTOMERS} - erased},
        EMPTY_ACCOUNT: {},
    }
    assert summary["ad_account_ids"] == [ACCOUNT, OTHER_ACCOUNT, EMPTY_ACCOUNT]
    assert (summary["read"], summary["valid"], summary["distinct"]) == (5, 5, 5)
    # Every distinct digest goes to every list in batches of two: sent counts them, members or not.
    assert summary["lists"] == {
        "11": {"ad_account_id": ACCOUNT, "sent": 5, "batches": 3},
        "12": {"ad_account_id": ACCOUNT, "sent": 5, "batches": 3},
        "21": {"ad_account_id": OTHER_ACCOUNT, "sent": 5, "batches": 3},
    }
    assert summary["suppression"] == {"added": 5, "total": 5}
    assert summary["snapshots"] == {
        str(plan.state_paths[0]): {"customer_list_id": "11", "purged": 4, "fresh": True}
    }
    assert end_state(hook, plan)["stale"] is None
    told = f"{summary}\n{caplog.text}"
    assert "Sent 5 distinct EMAIL identifiers as REMOVE batches to 3 customer lists in 3 ad accounts" in told
    assert not HEX_DIGEST.search(told)
    assert not any(email.strip().lower() in told.lower() for email in ERASED)


@pytest.mark.parametrize(
    "kill_at",
    [2, 4, 5],
    ids=["midway-through-the-first-list", "between-lists", "midway-through-the-second-list"],
)
def test_a_retry_of_an_erase_killed_while_sending_ends_as_a_clean_run(tmp_path: Path, kill_at: int) -> None:
    (tmp_path / "clean").mkdir()
    (tmp_path / "killed").mkdir()
    clean_hook, clean_plan = start(tmp_path / "clean")
    clean = run_erase(clean_plan, clean_hook, lambda: clean_hook, LOG)
    hook, plan = start(tmp_path / "killed")
    hook.kill_at = kill_at
    with pytest.raises(Killed):
        run_erase(plan, hook, lambda: hook, LOG)
    assert hook.lists != clean_hook.lists
    retried = run_erase(plan, hook, lambda: hook, LOG)
    assert end_state(hook, plan) == end_state(clean_hook, clean_plan)
    assert end_state(hook, plan)["stale"] is None
    assert retried.summary()["suppression"] == {"added": 0, "total": 5}
    assert figures(retried) == figures(clean)


def figures(result: EraseResult) -> dict[str, Any]:
    """The summary but the suppression set's growth, snapshots by list (the runs' paths differ)."""
    summary = result.summary()
    return {**summary, "suppression": None, "snapshots": list(summary["snapshots"].values())}


def test_a_snapshot_of_a_list_outside_the_accounts_erased_names_those_accounts(tmp_path: Path) -> None:
    hook, plan = start(tmp_path)
    for accounts in ((EMPTY_ACCOUNT,), (OTHER_ACCOUNT, EMPTY_ACCOUNT)):
        with pytest.raises(PinterestInvalidArgumentError) as raised:
            run_erase(
                ErasePlan(plan.identifiers, accounts, plan.suppression_path, plan.state_paths),
                hook,
                lambda: hook,
                LOG,
            )
        assert raised.value.argument == "state_paths"
        assert f"in none of the ad accounts erased ({', '.join(accounts)}); nothing was sent" in str(
            raised.value
        )
    assert hook.patches == 0
    assert not Path(plan.suppression_path).exists()


def test_a_snapshot_named_as_the_suppression_set_fails_before_reading(tmp_path: Path) -> None:
    hook, plan = start(tmp_path)
    same = ErasePlan(plan.identifiers, suppression_path=plan.state_paths[0], state_paths=plan.state_paths)
    with pytest.raises(PinterestInvalidArgumentError, match="names the suppression set"):
        run_erase(same, hook, lambda: hook, LOG)
    assert hook.patches == 0


@pytest.mark.parametrize("feed", ["email\n", ""], ids=["header-only", "empty"])
def test_a_feed_without_rows_erases_nothing_and_makes_no_api_call(tmp_path: Path, feed: str) -> None:
    hook, plan = start(tmp_path)
    before = {account: {k: set(v) for k, v in lists.items()} for account, lists in hook.lists.items()}
    csv = tmp_path / "erased.csv"
    csv.write_text(feed)
    source = CustomerSource(source=str(csv), column="email" if feed else 0, has_header=bool(feed))
    plan = dataclasses.replace(plan, identifiers=dataclasses.replace(plan.identifiers, source=source))
    hook.list_ad_accounts = None  # type: ignore[assignment,method-assign]  # any API call fails the test
    summary = run_erase(plan, hook, lambda: hook, LOG).summary()
    assert (summary["read"], summary["valid"], summary["distinct"], summary["lists"]) == (0, 0, 0, {})
    assert summary["suppression"] is None
    assert hook.lists == before and hook.patches == 0
    assert not as_state_path(plan.suppression_path).exists()


def test_a_feed_of_invalid_rows_still_fails_before_any_api_call(tmp_path: Path) -> None:
    hook, plan = start(tmp_path)
    source = CustomerSource(source=["not an email", "also not"])
    plan = dataclasses.replace(plan, identifiers=dataclasses.replace(plan.identifiers, source=source))
    with pytest.raises(PinterestInvalidArgumentError, match="none of its 2 rows"):
        run_erase(plan, hook, lambda: hook, LOG)
    assert hook.patches == 0
