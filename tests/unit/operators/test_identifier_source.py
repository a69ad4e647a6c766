"""``operators.identifier_source``: the reading arguments' checks every identifier-reading task shares (their
use by each operator: ``test_customer_list``, ``test_erase``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.source import RedactedSource
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.identifier_source import IdentifierSourceMixin

CHECKS = IdentifierSourceMixin.argument_checks
EMAILS = ["a@example.com", "b@example.com"]


def object_storage_path() -> Any:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    return ObjectStoragePath("s3://bucket/customers.csv", conn_id="aws_default")


@pytest.mark.parametrize(
    "source",
    ["s3://bucket/customers.csv", "/data/customers.csv", Path("customers.csv"), EMAILS, iter(EMAILS), None],
)
def test_every_documented_kind_of_source_passes_as_it_is(source: Any) -> None:
    assert CHECKS["source"](source, "source") is source


def test_an_object_storage_path_passes() -> None:
    path = object_storage_path()
    assert CHECKS["source"](path, "source") is path


def test_a_summarised_source_is_checked_and_read_as_the_value_it_holds() -> None:
    assert CHECKS["source"](RedactedSource(EMAILS, "<list of 2 identifiers>"), "source") is EMAILS
    with pytest.raises(PinterestInvalidArgumentError, match="got bytes"):
        CHECKS["source"](RedactedSource(b"a@example.com", "<bytes>"), "source")


@pytest.mark.parametrize(("argument", "value"), [("sql", "select email from crm"), ("sql_conn_id", "db")])
def test_sql_and_its_connection_are_kept_as_given(argument: str, value: str) -> None:
    assert CHECKS[argument](value, argument) == value
    assert CHECKS[argument](None, argument) is None
