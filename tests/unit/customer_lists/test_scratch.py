"""An upload's scratch directory: private, named for its list, host and process; dead runs' ones removed."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pytest

from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.scratch import (
    PREFIX,
    list_key,
    owner_prefix,
    remove_dead_scratch,
    scratch_directory,
)
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from tests.unit.customer_lists.test_local_process import dead_pid

LOG = logging.getLogger("test-scratch")


def plan(name: str, list_id: str | None = None, account: str = "549755885175") -> UploadPlan:
    return UploadPlan(
        ad_account_id=account,
        source=CustomerSource(source=["a@x.com"]),
        customer_list_name=name,
        customer_list_id=list_id,
    )


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (plan("newsletter"), plan("newsletter"), True),
        (plan("newsletter"), plan("churned"), False),
        (plan("newsletter"), plan("newsletter", account="1"), False),
        (plan("old name", list_id="7"), plan("new name", list_id="7"), True),  # a list id wins over its name
    ],
)
def test_list_key_names_one_list_of_one_account(first: UploadPlan, second: UploadPlan, same: bool) -> None:
    assert len(list_key(first)) == 16
    assert (list_key(first) == list_key(second)) is same


def test_scratch_directories_of_dead_runs_of_the_same_list_are_removed(tmp_path: Path) -> None:
    mine, other = list_key(plan("newsletter")), list_key(plan("churned"))
    dead, alive = dead_pid(), os.getppid()
    here = owner_prefix(mine)
    leftovers = {
        "killed": tmp_path / f"{here}{dead}-abc",
        "live": tmp_path / f"{here}{alive}-def",
        "other list": tmp_path / f"{owner_prefix(other)}{dead}-ghi",
        "other host": tmp_path / f"{PREFIX}{mine}-{'0' * 16}-{dead}-jkl",
        "unrelated": tmp_path / f"{here}notapid",
    }
    for directory in leftovers.values():
        directory.mkdir()
        (directory / "desired.spill").write_bytes(b"\0" * 64)
    (tmp_path / f"{here}{dead}-file").write_bytes(b"")  # not a directory: not a scratch dir
    assert remove_dead_scratch(mine, LOG, str(tmp_path)) == 1
    assert {label for label, directory in leftovers.items() if directory.exists()} == {
        "live",
        "other list",
        "other host",
        "unrelated",
    }
    assert (tmp_path / f"{here}{dead}-file").exists()


def test_scratch_directory_is_private_named_for_its_list_and_process_and_removed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    here = owner_prefix(list_key(plan("newsletter")))
    killed = tmp_path / f"{here}{dead_pid()}-abc"
    killed.mkdir()
    with scratch_directory(plan("newsletter"), LOG) as workdir:
        assert not killed.exists()  # a dead run's leftovers go first
        assert Path(workdir).parent == tmp_path
        assert Path(workdir).name.startswith(f"{here}{os.getpid()}-")
        assert os.stat(workdir).st_mode & 0o077 == 0
    assert not Path(workdir).exists()
