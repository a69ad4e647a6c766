"""One CRM export with several identifier types -> one Pinterest customer list per type.

A Pinterest customer list holds one identifier type, but a CRM export often has several: here an email
column and, for customers who installed the app, a Google advertising id (GAID, list type ``MAID``).
``columns`` reads the file once and keeps one list per type, named ``"CRM export (EMAIL)"`` and
``"CRM export (MAID)"``. Blank GAID cells (customers without the app) are counted as ``missing`` but stay
out of ``max_invalid_ratio``. The task returns ``{"EMAIL": <list id>, "MAID": <list id>}`` and pushes an
``upload_summary`` with each type's counts and their total.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator

CRM_EXPORT = Path(__file__).parent / "data" / "crm_export.csv"

with DAG(
    dag_id="pinterest_crm_identifier_types",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pinterest", "example"],
    params={
        "ad_account_id": Param("", type="string", description="Empty: the connection's ad_account_id."),
        "crm_export": Param(str(CRM_EXPORT), type="string", description="Path or object-storage URI."),
    },
):
    PinterestUploadCustomerListOperator(
        task_id="upload_identifier_types",
        ad_account_id="{{ params.ad_account_id }}",
        customer_list_name="CRM export",
        source="{{ params.crm_export }}",
        has_header=True,
        columns={"EMAIL": "email", "MAID": "gaid"},
    )
