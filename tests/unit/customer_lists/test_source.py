"""What a rendered ``source`` may show (paths as they are, identifiers as a summary) and how it is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.source import (
    CustomerSource,
    RedactedSource,
    redacted_source,
    source_origin,
)

EMAILS = ["first@example.com", "second@example.com", "third@example.com"]


def read_values(source: Any) -> list[str | None]:
    return [value for chunk in CustomerSource(source=source).chunks() for value in chunk]


def test_a_list_of_identifiers_shows_as_a_summary_and_is_read_in_full() -> None:
    shown = redacted_source(list(EMAILS), " from XCom 'extract'")
    assert str(shown) == repr(shown) == "<list of 3 identifiers from XCom 'extract'>"
    assert read_values(shown) == EMAILS


def test_an_iterable_without_a_length_shows_its_type_only() -> None:
    shown = redacted_source(iter(EMAILS))
    assert str(shown) == "<list_iterator of identifiers>"
    assert read_values(shown) == EMAILS


def test_text_that_is_not_a_path_shows_its_size_only() -> None:
    text = "\n".join(EMAILS)
    shown = redacted_source(text, " from a template")
    assert isinstance(shown, RedactedSource)
    assert str(shown) == f"<text of {len(text)} characters from a template, not a path>"
    assert not [email for email in EMAILS if email in str(shown)]


@pytest.mark.parametrize("uri", ["s3://bucket/customers.csv", "file:///data/customers.csv"])
def test_uris_stay_as_they_are(uri: str) -> None:
    assert redacted_source(uri) == uri


def test_paths_stay_as_they_are(tmp_path: Path) -> None:
    existing = tmp_path / "customers.csv"
    existing.write_text("a@example.com\n")
    assert redacted_source(str(existing)) == str(existing)
    assert redacted_source(existing) is existing
    assert redacted_source("") == ""
    assert redacted_source(None) is None


def test_object_storage_paths_stay_as_they_are() -> None:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    path = ObjectStoragePath("file:///data/customers.csv")
    assert redacted_source(path) is path


def test_redacting_twice_keeps_the_first_summary() -> None:
    once = redacted_source(list(EMAILS), " from XCom 'extract'")
    assert redacted_source(once, "") is once


def test_the_origin_names_the_upstream_task_of_an_xcom_reference() -> None:
    from airflow.providers.common.compat.sdk import DAG, task

    with DAG("origin", schedule=None):

        @task
        def extract() -> list[str]:
            return EMAILS

        reference = extract()
    assert source_origin(reference) == " from XCom 'extract'"
    assert source_origin("{{ ti.xcom_pull('extract') }}") == " from a template"
    assert source_origin("/data/customers.csv") == ""
