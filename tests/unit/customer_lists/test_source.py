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
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

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


@pytest.mark.parametrize(
    "path", ["/data/customers_2026-01-01.csv", "exports/customers.csv", "customers.csv.gz", "/data/exports/"]
)
def test_paths_that_do_not_exist_yet_stay_as_they_are(path: str) -> None:
    assert redacted_source(path) == path


@pytest.mark.parametrize(
    "text",
    [
        "first@example.com",
        "first@example.com,second@example.com",
        "s3://bucket/customers.csv\nfirst@example.com\nsecond@example.com",
        "/data/customers.csv\nfirst@example.com",
        "s3://bucket/customers.csv first@example.com",
    ],
)
def test_text_holding_identifiers_is_summarised_even_beside_a_path_or_uri(text: str) -> None:
    shown = redacted_source(text)
    assert str(shown) == f"<text of {len(text)} characters, not a path>"
    assert shown.value == text


@pytest.mark.parametrize("value", [b"first@example.com\n", bytearray(b"first@example.com\n")])
def test_bytes_are_summarised_and_refused_when_read(value: bytes) -> None:
    shown = redacted_source(value, " from XCom 'extract'")
    assert str(shown) == f"<{type(value).__name__} of 18 bytes from XCom 'extract', not a source>"
    with pytest.raises(PinterestInvalidArgumentError, match=f"source.*got {type(value).__name__}"):
        read_values(shown)


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


def test_the_origin_of_a_mapped_source_is_the_task_it_expands_over() -> None:
    from airflow.providers.common.compat.sdk import DAG, task

    from airflow_provider_pinterest_audiences.operators.customer_list import (
        PinterestUploadCustomerListOperator,
    )
    from airflow_provider_pinterest_audiences.operators.identifier_source import _expanded_source

    with DAG("mapped_origin", schedule=None):

        @task
        def extract() -> list[list[str]]:
            return [EMAILS]

        mapped = PinterestUploadCustomerListOperator.partial(
            task_id="upload", customer_list_name="Mapped"
        ).expand(source=extract())
        plain = PinterestUploadCustomerListOperator(task_id="plain", customer_list_name="P", source=EMAILS)
    expansion = mapped.unmap({"source": EMAILS})
    assert source_origin(_expanded_source(expansion)) == " from XCom 'extract'"
    assert _expanded_source(plain) is None
