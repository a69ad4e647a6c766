"""PinterestShareAudienceOperator at DAG-parse time, and its diff against the current shares (fake hook)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.share import PinterestShareAudienceOperator

OWNER = "549755885175"
AUDIENCE = "2542620905473"


def share(**kwargs: Any) -> PinterestShareAudienceOperator:
    arguments: dict[str, Any] = {"task_id": "share", "audience_id": AUDIENCE, "ad_account_id": OWNER}
    return PinterestShareAudienceOperator(**{**arguments, **kwargs})


class FakeHook:
    """Shares kept in memory; every write recorded."""

    def __init__(self, accounts: set[str], businesses: set[str]) -> None:
        self.shares = {"AD_ACCOUNT": accounts, "BUSINESS_ACCOUNT": businesses}
        self.writes: list[tuple[str, list[str], str]] = []

    def list_audience_shares(
        self, owner: str, audience_id: str, *, account_type: str
    ) -> list[dict[str, str]]:
        return [{"account_id": account} for account in sorted(self.shares[account_type])]

    def share_audience_with_ad_accounts(self, owner: str, **kwargs: Any) -> None:
        self._write("AD_ACCOUNT", kwargs["recipient_account_ids"], kwargs["operation_type"])

    def share_audience_with_businesses(self, owner: str, **kwargs: Any) -> None:
        self._write("BUSINESS_ACCOUNT", kwargs["recipient_business_ids"], kwargs["operation_type"])

    def _write(self, kind: str, recipients: list[str], operation: str) -> None:
        self.writes.append((kind, list(recipients), operation))
        if operation == "SHARE":
            self.shares[kind] |= set(recipients)
        else:
            self.shares[kind] -= set(recipients)

    def close(self) -> None:
        pass


class FakeTI:
    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def run(operator: PinterestShareAudienceOperator, hook: FakeHook) -> dict[str, Any]:
    operator.__dict__["hook"] = hook  # the cached_property's slot
    ti = FakeTI()
    assert operator.execute({"ti": ti}) == AUDIENCE
    summary: dict[str, Any] = ti.xcoms["share_summary"]
    return summary


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"operation": "GRANT", "recipient_account_ids": ["549755885176"]}, "operation"),
        ({"recipient_account_ids": ["12ab"]}, "recipient_account_ids"),
        ({"recipient_business_ids": "1,x"}, "recipient_business_ids"),
        ({"recipient_account_ids": {"a": "1"}}, "recipient_account_ids"),
        ({"audience_id": "aud", "recipient_account_ids": ["549755885176"]}, "audience_id"),
        ({}, "recipient_account_ids"),
    ],
)
def test_bad_arguments_fail_at_parse_time_naming_the_argument(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=f"Invalid argument '{argument}'"):
        share(**kwargs)


def test_templated_recipients_wait_for_the_run_and_accept_a_comma_separated_string() -> None:
    operator = share(recipient_account_ids="{{ var.value.partners }}", operation="share")
    assert operator.operation == "SHARE"
    operator.recipient_account_ids = "549755885176, 549755885177,549755885176"
    summary = run(operator, FakeHook(set(), set()))
    assert summary["recipient_account_ids"]["changed"] == ["549755885176", "549755885177"]


def test_share_sends_only_the_recipients_not_shared_yet() -> None:
    hook = FakeHook({"549755885176"}, set())
    operator = share(recipient_account_ids=["549755885176", "549755885177"], recipient_business_ids=["77"])
    summary = run(operator, hook)
    assert hook.writes == [("AD_ACCOUNT", ["549755885177"], "SHARE"), ("BUSINESS_ACCOUNT", ["77"], "SHARE")]
    assert summary == {
        "audience_id": AUDIENCE,
        "operation": "SHARE",
        "recipient_account_ids": {"changed": ["549755885177"], "unchanged": ["549755885176"]},
        "recipient_business_ids": {"changed": ["77"], "unchanged": []},
    }
    hook.writes.clear()
    run(operator, hook)  # a re-run changes nothing
    assert hook.writes == []


def test_revoke_sends_only_the_recipients_that_have_the_audience() -> None:
    hook = FakeHook({"549755885176"}, {"77"})
    summary = run(share(recipient_account_ids=["549755885176", "549755885177"], operation="revoke"), hook)
    assert hook.writes == [("AD_ACCOUNT", ["549755885176"], "REVOKE")]
    assert summary["recipient_account_ids"]["unchanged"] == ["549755885177"]
    assert "recipient_business_ids" not in summary
    assert hook.shares == {"AD_ACCOUNT": set(), "BUSINESS_ACCOUNT": {"77"}}


def test_sharing_with_the_owner_or_with_nobody_fails_before_any_call() -> None:
    hook = FakeHook(set(), set())
    with pytest.raises(PinterestInvalidArgumentError, match=r"recipient_account_ids.*owns the audience"):
        run(share(recipient_account_ids=[OWNER, "549755885176"]), hook)
    operator = share(recipient_account_ids="{{ params.none }}")
    operator.recipient_account_ids = " "
    with pytest.raises(PinterestInvalidArgumentError, match="no recipient"):
        run(operator, hook)
    assert hook.writes == []


def test_one_audience_fans_out_as_a_mapped_task() -> None:
    import pendulum
    from airflow.providers.common.compat.sdk import DAG

    with DAG("fan_out", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        PinterestShareAudienceOperator.partial(task_id="share", audience_id=AUDIENCE).expand(
            recipient_account_ids=[["549755885176"], ["549755885177"]]
        )
    mapped = dag.get_task("share")
    assert mapped.partial_kwargs["audience_id"] == AUDIENCE
    expanded = mapped.expand_input.value["recipient_account_ids"]
    assert expanded == [["549755885176"], ["549755885177"]]
