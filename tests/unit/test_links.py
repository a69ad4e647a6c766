"""The "Pinterest Ads Manager" extra link: URL form, and reading the URL the task stored in XCom."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pinterest_audiences import get_provider_info, links
from airflow_provider_pinterest_audiences.links import PinterestAudienceLink, audience_url
from airflow_provider_pinterest_audiences.operators.audience import (
    PinterestArchiveAudienceOperator,
    PinterestCreateActalikeAudienceOperator,
    PinterestCreateAudienceOperator,
    PinterestUpdateAudienceOperator,
)

TI_KEY = object()


class RecordingXCom:
    """Stands in for Airflow's XCom class: answers ``get_value`` and records what was asked."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.calls: list[dict[str, Any]] = []

    def get_value(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.value


def test_audience_url_is_the_ads_manager_audience_page() -> None:
    assert (
        audience_url("549755885175", "2542623177808")
        == "https://ads.pinterest.com/advertiser/549755885175/audiences/?audienceId=2542623177808"
    )


def test_get_link_returns_the_url_stored_by_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = audience_url("1", "2")
    xcom = RecordingXCom(stored)
    monkeypatch.setattr(links, "XCom", xcom)

    url = PinterestAudienceLink().get_link(operator=None, ti_key=TI_KEY)  # type: ignore[arg-type]

    assert url == stored
    assert xcom.calls == [{"key": "audience_url", "ti_key": TI_KEY}]


def test_get_link_is_empty_before_the_task_stored_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "XCom", RecordingXCom(None))

    assert PinterestAudienceLink().get_link(operator=None, ti_key=TI_KEY) == ""  # type: ignore[arg-type]


def test_link_is_named_registered_and_attached_to_every_audience_operator() -> None:
    assert PinterestAudienceLink.name == "Pinterest Ads Manager"
    assert (
        "airflow_provider_pinterest_audiences.links.PinterestAudienceLink"
        in get_provider_info()["extra-links"]
    )
    for operator in (
        PinterestCreateAudienceOperator,
        PinterestCreateActalikeAudienceOperator,
        PinterestUpdateAudienceOperator,
        PinterestArchiveAudienceOperator,
    ):
        assert [type(link) for link in operator.operator_extra_links] == [PinterestAudienceLink]
