"""PinterestUploadCustomerListOperator without the API: rendered fields and run-time argument checks."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator

EMAILS = [f"person{index}@example.com" for index in range(5)]


def rendered(**kwargs: Any) -> PinterestUploadCustomerListOperator:
    """The operator after Airflow's own template rendering, with ``params.emails`` in the context."""
    from airflow.providers.common.compat.sdk import DAG

    with DAG("render", schedule=None):
        operator = PinterestUploadCustomerListOperator(task_id="upload", customer_list_name="x", **kwargs)
    operator.render_template_fields({"params": {"emails": EMAILS, "state": "None"}})
    return operator


def test_text_of_identifiers_rendered_from_a_template_is_kept_as_a_summary() -> None:
    operator = rendered(source="{{ params.emails | join('\\n') }}")
    text_length = len("\n".join(EMAILS))
    assert str(operator.source) == f"<text of {text_length} characters from a template, not a path>"


def test_a_list_rendered_from_a_literal_is_kept_as_a_summary_and_read_in_full() -> None:
    operator = rendered(source=EMAILS)
    assert str(operator.source) == "<list of 5 identifiers>"
    source = CustomerSource(source=operator.source)
    assert [value for chunk in source.chunks() for value in chunk] == EMAILS


def test_a_path_rendered_from_a_template_stays_visible() -> None:
    operator = rendered(source="{{ 's3://bucket/' ~ 'customers.csv' }}")
    assert operator.source == "s3://bucket/customers.csv"


def test_state_path_rendered_as_none_is_refused_before_any_api_call() -> None:
    operator = rendered(source=EMAILS, mode="mirror", state_path="{{ params.state }}")
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        operator.upload_plan()
    assert raised.value.argument == "state_path"


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("max_records_per_request", 1.5),
        ("max_request_bytes", "1000"),
        ("max_invalid_ratio", "0.5"),
        ("hashing_processes", 0),
        ("max_concurrent_requests", True),
        ("customer_list_name", " "),
        ("state_path", ""),
    ],
)
def test_bad_literal_arguments_are_refused_when_the_dag_is_parsed(argument: str, value: Any) -> None:
    kwargs: dict[str, Any] = {"customer_list_name": "x", "source": EMAILS, argument: value}
    if argument == "state_path":
        kwargs["mode"] = "mirror"
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        PinterestUploadCustomerListOperator(task_id="upload", **kwargs)
    assert raised.value.argument == argument
