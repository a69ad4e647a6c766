"""The privacy-erasure example under a real ``airflow dags test``, night after night, against an emulator
with two ad accounts: erased customers leave every list, join the suppression set and stay out of the
mirror, and a re-run of a night changes nothing."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from scripts.demo import (
    EXAMPLE_DAGS,
    PARTNER_AD_ACCOUNT_ID,
    PRIVACY_DAG_ID,
    DemoAirflow,
    customer_lists,
    emulator_get,
    prepare_airflow,
    seed_partner_list,
)

pytestmark = pytest.mark.e2e

FEED = EXAMPLE_DAGS / "data" / "erased_emails.csv"
MIRROR_LIST_NAME = "Newsletter (privacy-aware mirror)"


def digests(emails: Iterable[str]) -> set[str]:
    """Independent of the provider's code: trim, lowercase, SHA-256 hex."""
    return {hashlib.sha256(email.strip().lower().encode()).hexdigest() for email in emails}


def members_by_list(root: str) -> dict[str, set[str]]:
    """The members of every customer list in every ad account, by list id."""
    records = "/_emulator/ad_accounts/{ad_account_id}/customer_lists/{id}/records"
    return {
        list_id: set(emulator_get(root, records.format_map(item))["members"])
        for list_id, item in customer_lists(root).items()
    }


def night(airflow: DemoAirflow, feed: Path, state_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """One run of the example: the erase's suppression counts and the mirror's ``upload_summary``."""
    result = airflow.dag_test(PRIVACY_DAG_ID, {"erased_emails": str(feed), "state_dir": state_dir.as_uri()})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    with feed.open(newline="") as source:
        leaked = [row["email"].strip() for row in csv.DictReader(source) if row["email"].strip() in output]
    assert not leaked, "raw erased emails in the output"
    erase = airflow.latest_xcom(PRIVACY_DAG_ID, "erase_across_accounts")
    return erase["suppression"], airflow.latest_xcom(PRIVACY_DAG_ID, "mirror_newsletter", "upload_summary")


def test_erased_customers_leave_every_list_and_stay_out_of_the_mirror(tmp_path: Path) -> None:
    settings = EmulatorSettings(customer_list_processing_seconds=1.0, ad_account_ids=(PARTNER_AD_ACCOUNT_ID,))
    state_dir = tmp_path / "state"
    stranger = tmp_path / "stranger.csv"
    stranger.write_text("email\nnever.a.customer@example.com\n")
    with FEED.open(newline="") as source:
        erased = digests(row["email"] for row in csv.DictReader(source))
    with EmulatorServer(settings, host="127.0.0.1", port=0) as server:
        root = server.base_url.removesuffix("/v5")
        airflow = prepare_airflow(tmp_path / "home", server.connection_json(), root)
        partner_list = seed_partner_list(airflow)

        # Night 0: a request from nobody the lists hold; the mirror uploads the CRM export.
        suppression, mirror = night(airflow, stranger, state_dir)
        lists = customer_lists(root)
        (mirror_list,) = [list_id for list_id, item in lists.items() if item["name"] == MIRROR_LIST_NAME]
        assert {lists[mirror_list]["ad_account_id"], lists[partner_list]["ad_account_id"]} == set(
            settings.declared_ad_accounts
        )
        before = members_by_list(root)
        assert suppression == {"added": 1, "total": 1}
        assert (mirror["added"], mirror["removed"], mirror["suppressed"]) == (len(before[mirror_list]), 0, 0)
        assert len(erased & before[mirror_list]) == len(erased & before[partner_list]) == 3

        # Night 1: the sample feed (4 emails, 3 of them customers).
        suppression, mirror = night(airflow, FEED, state_dir)
        after = members_by_list(root)
        assert after == {list_id: members - erased for list_id, members in before.items()}
        assert suppression == {"added": 4, "total": 5}
        assert (mirror["added"], mirror["removed"], mirror["suppressed"]) == (0, 0, 3)
        assert mirror["desired_members"] == len(after[mirror_list])

        # Night 1 again (a retry, or the same feed tomorrow): the same state, the mirror sends nothing.
        uploaded = customer_lists(root)[mirror_list]["num_uploaded_user_records"]
        suppression, mirror = night(airflow, FEED, state_dir)
        assert members_by_list(root) == after
        assert suppression == {"added": 0, "total": 5}
        assert (mirror["added"], mirror["removed"], mirror["suppressed"], mirror["batches"]) == (0, 0, 3, 0)
        assert customer_lists(root)[mirror_list]["num_uploaded_user_records"] == uploaded
