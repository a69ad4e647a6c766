"""The DAG whose task instances the browser tests open: upload a customer list, make an audience of it.

It runs for real with ``airflow dags test`` against the emulator, in the ``AIRFLOW_HOME`` the API server
serves, so the UI shows a real task instance with its XComs, extra link and rendered fields.
"""

from __future__ import annotations

import textwrap

DAG_ID = "pinterest_browser_extra_link"
UPLOAD_TASK = "upload_customers"
AUDIENCE_TASK = "create_customer_audience"
AUDIENCE_NAME = "Browser test customers"
CONN_ID = "pinterest_emulator"
CUSTOMERS = 150  # above the emulator's 100-record TOO_SMALL threshold

_SOURCE = textwrap.dedent(
    '''
    """Written by the browser tests (tests/browser/audience_dag.py)."""

    from __future__ import annotations

    import pendulum
    from airflow.providers.common.compat.sdk import DAG

    from airflow_provider_pinterest_audiences.operators.audience import (
        PinterestCreateCustomerListAudienceOperator,
    )
    from airflow_provider_pinterest_audiences.operators.customer_list import (
        PinterestUploadCustomerListOperator,
    )

    with DAG(
        dag_id=__DAG_ID__,
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        params={"ad_account_id": __AD_ACCOUNT_ID__, "audience_name": __AUDIENCE_NAME__},
    ):
        upload = PinterestUploadCustomerListOperator(
            task_id=__UPLOAD_TASK__,
            pinterest_conn_id=__CONN_ID__,
            ad_account_id="{{ params.ad_account_id }}",
            customer_list_name="{{ params.audience_name }}",
            source=[f"customer{i}@example.com" for i in range(__CUSTOMERS__)],
            list_type="EMAIL",
            hashing_processes=1,
        )
        PinterestCreateCustomerListAudienceOperator(
            task_id=__AUDIENCE_TASK__,
            pinterest_conn_id=__CONN_ID__,
            ad_account_id="{{ params.ad_account_id }}",
            name="{{ params.audience_name }}",
            customer_list_id=upload.output,
            description="Created by the browser tests in run {{ run_id }}",
        )
    '''
)


def dag_file_source(ad_account_id: str) -> str:
    values = {
        "__DAG_ID__": DAG_ID,
        "__AD_ACCOUNT_ID__": ad_account_id,
        "__AUDIENCE_NAME__": AUDIENCE_NAME,
        "__UPLOAD_TASK__": UPLOAD_TASK,
        "__AUDIENCE_TASK__": AUDIENCE_TASK,
        "__CONN_ID__": CONN_ID,
        "__CUSTOMERS__": CUSTOMERS,
    }
    source = _SOURCE
    for placeholder, value in values.items():
        source = source.replace(placeholder, repr(value))
    return source
