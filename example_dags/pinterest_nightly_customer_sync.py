"""Every night, make a Pinterest customer list mirror a warehouse table.

Mirror mode compares today's membership with the snapshot of hashes kept at ``state_path`` by the last
successful run, adds who is new and removes who left. The upload task declares an Asset, so DAGs that
refresh audiences or reporting can be scheduled on the list's changes.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, Asset, Param

from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator

CRM_LIST = Asset("pinterest://customer_lists/crm_nightly_mirror")

with DAG(
    dag_id="pinterest_nightly_customer_sync",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["pinterest", "example"],
    params={
        "ad_account_id": Param("", type="string", description="Empty: the connection's ad_account_id."),
        "sql_conn_id": Param(
            "crm_db", type="string", description="Any DB-API connection (SQLite in the demo)."
        ),
        "state_path": Param(
            "file:///tmp/pinterest-demo/state/crm_nightly_mirror.snapshot",
            type="string",
            description="Where the last successful membership snapshot lives (any object storage URI).",
        ),
    },
):
    PinterestUploadCustomerListOperator(
        task_id="mirror_crm_customers",
        ad_account_id="{{ params.ad_account_id }}",
        customer_list_name="CRM nightly mirror",
        sql="SELECT email FROM customers WHERE marketing_opt_in = 1",
        sql_conn_id="{{ params.sql_conn_id }}",
        list_type="EMAIL",
        mode="mirror",
        state_path="{{ params.state_path }}",
        outlets=[CRM_LIST],
    )
