"""Every night, honour the day's deletion requests (GDPR, CCPA) in Pinterest, then run the mirror.

The erasure feed is a CSV of erased emails. ``erase_across_accounts`` hashes them as uploads do, adds them
to the suppression set, removes them from every customer list of the ad accounts (empty
``ad_account_ids``: every account the token can see) and purges the nightly mirror's snapshot of them.
``mirror_newsletter`` then mirrors the CRM export with the same ``suppression_path``: the erased customers
are still in its source, but they are held back (``suppressed`` in its summary) tonight and every night.

Set ``state_dir`` (a DAG param) to durable storage every worker reaches, e.g. ``s3://bucket/pinterest/privacy``:
losing the suppression set lets the mirror upload erased customers again. The default,
``$AIRFLOW_HOME/pinterest-privacy``, suits one machine. The state belongs to the Pinterest ad accounts it was
written against: against another account or a fresh emulator, start from an empty ``state_dir`` (the erase
refuses a snapshot whose list it cannot find).
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator
from airflow_provider_pinterest_audiences.operators.erase import PinterestEraseCustomersOperator

DATA = Path(__file__).resolve().parent / "data"
STATE_DIR = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser().absolute() / "pinterest-privacy"
SUPPRESSION_PATH = "{{ params.state_dir }}/erased-emails.suppression"
MIRROR_STATE_PATH = "{{ params.state_dir }}/newsletter.snapshot"

with DAG(
    dag_id="pinterest_privacy_erasure",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["pinterest", "example"],
    params={
        "ad_account_ids": Param(
            "", type="string", description="Comma-separated ad accounts; empty: every account the token sees."
        ),
        "erased_emails": Param(
            str(DATA / "erased_emails.csv"), type="string", description="Tonight's erasure feed (any URI)."
        ),
        "customers": Param(
            str(DATA / "customers.csv"), type="string", description="The CRM export the mirror uploads."
        ),
        "state_dir": Param(
            STATE_DIR.as_uri(),
            type="string",
            description="Where the suppression set and the mirror snapshot live: durable storage that "
            "every worker reaches (any object storage URI).",
        ),
    },
):
    erase = PinterestEraseCustomersOperator(
        task_id="erase_across_accounts",
        source="{{ params.erased_emails }}",
        has_header=True,
        column="email",
        list_type="EMAIL",
        ad_account_ids="{{ params.ad_account_ids }}",
        suppression_path=SUPPRESSION_PATH,
        state_paths=[MIRROR_STATE_PATH],
    )
    mirror = PinterestUploadCustomerListOperator(
        task_id="mirror_newsletter",
        customer_list_name="Newsletter (privacy-aware mirror)",
        source="{{ params.customers }}",
        has_header=True,
        column="email",
        list_type="EMAIL",
        mode="mirror",
        state_path=MIRROR_STATE_PATH,
        suppression_path=SUPPRESSION_PATH,
    )
    erase >> mirror
