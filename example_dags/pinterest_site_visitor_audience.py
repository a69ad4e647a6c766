"""Site visitors who checked out (Pinterest tag and Conversions API events) -> READY -> actalike."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_pinterest_audiences.operators.audience import (
    PinterestCreateActalikeAudienceOperator,
    PinterestCreateVisitorAudienceOperator,
)
from airflow_provider_pinterest_audiences.sensors.audience import PinterestAudienceSensor

with DAG(
    dag_id="pinterest_site_visitor_audience",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pinterest", "example"],
    params={
        "ad_account_id": Param("", type="string", description="Empty: the connection's ad_account_id."),
        "tag_id": Param("2613484614072", type="string", description="Pinterest tag (visitor source) id."),
        "poll_interval": Param(900, type="number", description="Seconds between audience status checks."),
    },
):
    visitors = PinterestCreateVisitorAudienceOperator(
        task_id="create_checkout_visitors",
        ad_account_id="{{ params.ad_account_id }}",
        name="Checkout visitors, last 30 days",
        visitor_source_id="{{ params.tag_id }}",
        event="checkout",
        retention_days=30,
        ingestion_source=["tag", "conversions_api"],
        event_source=["web", "mobile"],
    )
    wait = PinterestAudienceSensor(
        task_id="wait_for_visitors",
        ad_account_id="{{ params.ad_account_id }}",
        audience_id=visitors.output,
        poll_interval="{{ params.poll_interval }}",
        deferrable=True,
    )
    lookalikes = PinterestCreateActalikeAudienceOperator(
        task_id="create_visitor_actalike",
        ad_account_id="{{ params.ad_account_id }}",
        name="Checkout visitors actalike 3%",
        seed_audience_ids=[visitors.output],
        country="US",
        percentage=3,
    )

    visitors >> wait >> lookalikes
