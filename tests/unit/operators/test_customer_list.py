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


# --- several identifier types (columns) -------------------------------------------------------------------

COLUMNS = {"EMAIL": "email", "MAID": "gaid"}


@pytest.mark.parametrize(
    ("kwargs", "argument", "problem"),
    [
        (
            {"columns": COLUMNS, "column": "email"},
            "column",
            "give either columns (several types) or list_type",
        ),
        ({"columns": COLUMNS, "list_type": "MAID"}, "list_type", "not both"),
        ({"columns": {}}, "columns", "is empty: map at least one list type (EMAIL, MAID, IDFA, LR_ID"),
        (
            {"columns": {"PHONE": "p"}},
            "columns",
            "use one of EMAIL, MAID, IDFA, LR_ID, DLX_ID, HASHED_PINNER_ID",
        ),
        ({"columns": COLUMNS, "customer_list_name": None}, "list_names", "exactly one of customer_list_name"),
        ({"columns": COLUMNS, "list_names": {"EMAIL": "a", "MAID": "b"}}, "list_names", "exactly one of"),
        (
            {"columns": COLUMNS, "customer_list_name": None, "customer_list_id": "123"},
            "customer_list_id",
            "not used with columns",
        ),
        (
            {"columns": COLUMNS, "customer_list_name": None, "list_names": {"EMAIL": "a"}},
            "list_names",
            "must be the list types of columns",
        ),
        ({"list_names": {"EMAIL": "a"}}, "list_names", "only used with columns"),
        ({"columns": COLUMNS, "suppression_path": "s3://b/x.suppression"}, "suppression_path", "a mapping"),
        ({"columns": COLUMNS, "suppression_path": {"IDFA": "s3://b/x"}}, "suppression_path", "a mapping"),
        ({"suppression_path": {"EMAIL": "s3://b/x"}}, "suppression_path", "only used with columns"),
    ],
)
def test_columns_arguments_are_checked_when_the_dag_is_parsed(
    kwargs: dict[str, Any], argument: str, problem: str
) -> None:
    kwargs = {"customer_list_name": "CRM", "source": "s3://b/crm.csv", **kwargs}
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        PinterestUploadCustomerListOperator(task_id="upload", **kwargs)
    assert raised.value.argument == argument
    assert problem in str(raised.value)


def test_list_names_are_templated_and_checked_once_rendered() -> None:
    from airflow.providers.common.compat.sdk import DAG

    with DAG("render", schedule=None):
        operator = PinterestUploadCustomerListOperator(
            task_id="upload",
            source="s3://b/crm.csv",
            columns=COLUMNS,
            list_names={"EMAIL": "{{ params.name }}", "MAID": "{{ params.name }}"},
            ad_account_id="1",
        )
    operator.render_template_fields({"params": {"name": "same"}})
    with pytest.raises(PinterestInvalidArgumentError, match="two types share one name"):
        operator.upload_plans()
