"""People who clicked or saved the brand's Pins in the last 60 days -> READY."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_pinterest_audiences.operators.audience import PinterestCreateEngagementAudienceOperator

with DAG(
    dag_id="pinterest_engagement_audience",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pinterest", "example"],
    params={
        "ad_account_id": Param("", type="string", description="Empty: the connection's ad_account_id."),
        "domain": Param("www.example.com", type="string", description="Claimed domain whose Pins count."),
        "poll_interval": Param(900, type="number", description="Seconds between audience status checks."),
    },
):
    engagers = PinterestCreateEngagementAudienceOperator(
        task_id="create_engagers",
        ad_account_id="{{ params.ad_account_id }}",
        name="Clickers and savers, last 60 days",
        engagement_domain=["{{ params.domain }}"],
        engagement_type="click",
        engager_type=1,
        retention_days=60,
        wait_for_ready=True,
        poll_interval="{{ params.poll_interval }}",
        deferrable=True,
    )
