"""PinterestShareAudienceOperator against the emulator: fan-out to several accounts, re-runs, revoke."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.operators.share import PinterestShareAudienceOperator
from airflow_provider_pinterest_audiences.testing.emulator_client import PinterestEmulator
from tests.integration.emulator_api import ACCOUNT
from tests.integration.test_audience_operators import FakeTI

PARTNERS = ("549755885176", "549755885177", "549755885178")
BUSINESS = "7700112233"


pytestmark = pytest.mark.pinterest_emulator(strict_fields=True, ad_account_ids=PARTNERS)


@pytest.fixture
def audience_id(pinterest_emulator: PinterestEmulator) -> str:
    hook = PinterestHook()
    created = hook.create_audience(
        ACCOUNT,
        name="Engaged",
        audience_type="ENGAGEMENT",
        rule={"engagement_domain": ["www.example.com"], "engagement_type": "click", "engager_type": 1},
    )
    return str(created["id"])


def run(**kwargs: Any) -> dict[str, Any]:
    ti = FakeTI()
    PinterestShareAudienceOperator(task_id="share", **kwargs).execute({"ti": ti})
    summary: dict[str, Any] = ti.xcoms["share_summary"]
    return summary


def shared_with(audience_id: str, account_type: str = "AD_ACCOUNT") -> set[str]:
    items = PinterestHook().list_audience_shares(ACCOUNT, audience_id, account_type=account_type)
    return {item["account_id"] for item in items}


def writes(emulator: PinterestEmulator) -> int:
    return emulator.request_counts().get("ads_write", 0)


def test_fan_out_to_several_accounts_is_idempotent_and_visible_to_the_recipients(
    pinterest_emulator: PinterestEmulator, audience_id: str
) -> None:
    # One task per recipient, as a mapped task would run them, then one task with all of them.
    for partner in PARTNERS[:2]:
        run(audience_id=audience_id, recipient_account_ids=[partner])
    summary = run(audience_id=audience_id, recipient_account_ids=list(PARTNERS))
    assert summary["recipient_account_ids"] == {"changed": [PARTNERS[2]], "unchanged": list(PARTNERS[:2])}
    assert shared_with(audience_id) == set(PARTNERS)
    received = PinterestHook().list_audiences(PARTNERS[2], ownership_type="RECEIVED")
    assert [item["id"] for item in received] == [audience_id]
    before = writes(pinterest_emulator)
    again = run(audience_id=audience_id, recipient_account_ids=",".join(PARTNERS))
    assert again["recipient_account_ids"]["changed"] == []
    assert writes(pinterest_emulator) == before


def test_businesses_and_revoke(audience_id: str) -> None:
    run(audience_id=audience_id, recipient_account_ids=[PARTNERS[0]], recipient_business_ids=[BUSINESS])
    assert shared_with(audience_id, "BUSINESS_ACCOUNT") == {BUSINESS}
    summary = run(
        audience_id=audience_id,
        recipient_account_ids=[PARTNERS[0], PARTNERS[1]],
        recipient_business_ids=BUSINESS,
        operation="REVOKE",
    )
    assert summary["recipient_account_ids"] == {"changed": [PARTNERS[0]], "unchanged": [PARTNERS[1]]}
    assert shared_with(audience_id) == set()
    assert shared_with(audience_id, "BUSINESS_ACCOUNT") == set()
    repeat = run(audience_id=audience_id, recipient_business_ids=[BUSINESS], operation="REVOKE")
    assert repeat["recipient_business_ids"]["changed"] == []
