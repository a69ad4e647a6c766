"""CRM export -> customer list -> customer-list audience -> READY -> actalike -> ad-group targeting.

The path Pinterest's guide describes for a customer list audience, end to end: upload a CSV of
customers (normalised and SHA-256 hashed on the way), create the audience, wait in the triggerer until
Pinterest has matched it, grow it with an actalike, then include the actalike in an ad group and
exclude existing customers.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_pinterest_audiences.operators.ad_group import PinterestUpdateAdGroupAudiencesOperator
from airflow_provider_pinterest_audiences.operators.audience import (
    PinterestCreateActalikeAudienceOperator,
    PinterestCreateCustomerListAudienceOperator,
)
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator
from airflow_provider_pinterest_audiences.sensors.audience import PinterestAudienceSensor

SAMPLE_CUSTOMERS = Path(__file__).parent / "data" / "customers.csv"

with DAG(
    dag_id="pinterest_customer_list_audience",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pinterest", "example"],
    params={
        "ad_account_id": Param("", type="string", description="Empty: the connection's ad_account_id."),
        "customers_csv": Param(
            str(SAMPLE_CUSTOMERS), type="string", description="Path or object-storage URI."
        ),
        "ad_group_id": Param("", type="string", description="The ad group to target (required)."),
        "poll_interval": Param(900, type="number", description="Seconds between audience status checks."),
    },
):
    upload = PinterestUploadCustomerListOperator(
        task_id="upload_customers",
        ad_account_id="{{ params.ad_account_id }}",
        customer_list_name="CRM customers",
        source="{{ params.customers_csv }}",
        list_type="EMAIL",
        column="email",
        has_header=True,
    )
    customers = PinterestCreateCustomerListAudienceOperator(
        task_id="create_customer_audience",
        ad_account_id="{{ params.ad_account_id }}",
        name="CRM customers",
        customer_list_id=upload.output,
        description="Existing customers from the CRM export.",
    )
    wait = PinterestAudienceSensor(
        task_id="wait_for_customer_audience",
        ad_account_id="{{ params.ad_account_id }}",
        audience_id=customers.output,
        poll_interval="{{ params.poll_interval }}",
        deferrable=True,
    )
    lookalikes = PinterestCreateActalikeAudienceOperator(
        task_id="create_actalike_audience",
        ad_account_id="{{ params.ad_account_id }}",
        name="CRM customers actalike 5%",
        seed_audience_ids=[customers.output],
        country="US",
        percentage=5,
    )
    target = PinterestUpdateAdGroupAudiencesOperator(
        task_id="target_ad_group",
        ad_account_id="{{ params.ad_account_id }}",
        ad_group_ids="{{ params.ad_group_id }}",
        include=[lookalikes.output],
        exclude=[customers.output],
        mode="add",
    )

    upload >> customers >> wait >> lookalikes >> target
