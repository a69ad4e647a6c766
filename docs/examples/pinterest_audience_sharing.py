"""Share an audience with partner ad accounts, keep its description current, then retire it.

``pinterest_share_audience`` creates (or reuses) an engagement audience, updates its description and
shares it with each partner ad account in a mapped task: a re-run sends nothing. ``pinterest_retire_audience``
revokes the shares and archives the audience; archived audiences cannot be targeted by new ad groups, nor
restored. Set ``PARTNER_ACCOUNT_IDS`` to the accounts you share with.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_pinterest_audiences.operators.audience import (
    PinterestArchiveAudienceOperator,
    PinterestCreateEngagementAudienceOperator,
    PinterestUpdateAudienceOperator,
)
from airflow_provider_pinterest_audiences.operators.share import PinterestShareAudienceOperator

PARTNER_ACCOUNT_IDS = ["549755885176", "549755885177"]
START = pendulum.datetime(2026, 1, 1, tz="UTC")


def ad_account_param() -> Param:
    return Param("", type="string", description="Empty: the connection's ad_account_id.")


with DAG(
    dag_id="pinterest_share_audience",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["pinterest", "example"],
    params={"ad_account_id": ad_account_param()},
):
    engagers = PinterestCreateEngagementAudienceOperator(
        task_id="create_engagers",
        ad_account_id="{{ params.ad_account_id }}",
        name="Engaged with our Pins, shared with partners",
        engagement_domain=["www.example.com"],
        engagement_type="click",
        engager_type=1,
    )
    described = PinterestUpdateAudienceOperator(
        task_id="describe_engagers",
        ad_account_id="{{ params.ad_account_id }}",
        audience_id=engagers.output,
        description="Shared with partner accounts on {{ ds }}.",
    )
    PinterestShareAudienceOperator.partial(
        task_id="share_with_partner",
        ad_account_id="{{ params.ad_account_id }}",
        audience_id=described.output,
    ).expand(recipient_account_ids=[[partner] for partner in PARTNER_ACCOUNT_IDS])

with DAG(
    dag_id="pinterest_retire_audience",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["pinterest", "example"],
    params={
        "ad_account_id": ad_account_param(),
        "audience_id": Param("", type="string", description="The audience to retire (required)."),
    },
):
    revoked = PinterestShareAudienceOperator(
        task_id="revoke_partner_shares",
        ad_account_id="{{ params.ad_account_id }}",
        audience_id="{{ params.audience_id }}",
        recipient_account_ids=PARTNER_ACCOUNT_IDS,
        operation="REVOKE",
    )
    PinterestArchiveAudienceOperator(
        task_id="archive_audience",
        ad_account_id="{{ params.ad_account_id }}",
        audience_id=revoked.output,
    )
