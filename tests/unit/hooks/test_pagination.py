"""Listings stop with an error on a repeated bookmark and after MAX_PAGES pages."""

from __future__ import annotations

import pytest
import responses

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError
from airflow_provider_pinterest_audiences.hooks import pagination
from airflow_provider_pinterest_audiences.hooks.pagination import Bookmarks
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from tests.conftest import AD_ACCOUNT_ID, MOCK_BASE_URL

AUDIENCES_URL = f"{MOCK_BASE_URL}/ad_accounts/{AD_ACCOUNT_ID}/audiences"

pytestmark = pytest.mark.usefixtures("pinterest_conn")


@responses.activate
def test_a_repeated_bookmark_stops_the_listing_with_an_error() -> None:
    responses.get(AUDIENCES_URL, json={"items": [{"id": "1"}], "bookmark": "b1"})
    responses.get(AUDIENCES_URL, json={"items": [{"id": "2"}], "bookmark": "b2"})
    responses.get(AUDIENCES_URL, json={"items": [{"id": "3"}], "bookmark": "b1"})
    seen: list[str] = []

    with pytest.raises(PinterestApiError) as raised:
        seen.extend(item["id"] for item in PinterestHook().list_audiences(AD_ACCOUNT_ID))

    assert raised.value.operation == "audiences/list"
    assert "page 3 returned the bookmark page 1 already returned" in str(raised.value)
    assert len(responses.calls) == 3


@responses.activate
def test_a_listing_stops_after_the_page_cap() -> None:
    for page in range(10):
        responses.get(AUDIENCES_URL, json={"items": [{"id": str(page)}], "bookmark": f"b{page}"})
    hook = PinterestHook()
    hook.max_pages = 5

    with pytest.raises(PinterestApiError, match="still more after 5 pages"):
        list(hook.list_audiences(AD_ACCOUNT_ID))
    assert len(responses.calls) == 5


@pytest.mark.parametrize("bookmark", [None, ""])
def test_no_bookmark_ends_the_listing(bookmark: str | None) -> None:
    assert Bookmarks("x/list").after({"items": [], "bookmark": bookmark}) is None


def test_a_bookmark_that_is_not_a_string_is_an_error() -> None:
    with pytest.raises(PinterestApiError, match="page 1 has a bookmark of type int"):
        Bookmarks("x/list").after({"items": [], "bookmark": 7})


def test_the_cap_is_a_documented_bound() -> None:
    assert PinterestHook.max_pages == pagination.MAX_PAGES == 1000
