"""Deployment test: a long customer-list upload whose worker is killed (SIGKILL) while it runs."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator

with DAG(
    "deployment_killed_upload",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    PinterestUploadCustomerListOperator(
        task_id="upload",
        customer_list_name="Killed worker upload",
        source="{{ dag_run.conf['source'] }}",
        column="email",
        has_header=True,
        max_records_per_request=100,
        retries=2,
        retry_delay=timedelta(seconds=1),
    )
