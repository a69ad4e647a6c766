"""Operator extra link to an audience in Pinterest Ads Manager."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey

AUDIENCE_URL_XCOM_KEY = "audience_url"
ADS_MANAGER_URL = "https://ads.pinterest.com"


def audience_url(ad_account_id: str, audience_id: str) -> str:
    """The audience's page in Ads Manager (the account's audience list, opened on this audience)."""
    return f"{ADS_MANAGER_URL}/advertiser/{ad_account_id}/audiences/?audienceId={audience_id}"


class PinterestAudienceLink(BaseOperatorLink):
    """ "Pinterest Ads Manager" button: opens the audience the task created, updated or archived.

    The operator stores the URL in XCom (key ``audience_url``) while it runs; this reads it back.
    """

    name = "Pinterest Ads Manager"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        url = XCom.get_value(key=AUDIENCE_URL_XCOM_KEY, ti_key=ti_key)
        return str(url) if url else ""
