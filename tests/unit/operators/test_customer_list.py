"""PinterestUploadCustomerListOperator without the API: rendered fields and run-time argument checks."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator

EMAILS = [f"person{index}@example.com" for index in range(5)]


def rendered(params: dict[str, Any] | None = None, **kwargs: Any) -> PinterestUploadCustomerListOperator:
    """The operator after Airflow's own template rendering, with ``params`` (and ``emails``, ``state``:
    ``"None"``, ``empty``: ``" "``) in the context."""
    from airflow.providers.common.compat.sdk import DAG

    with DAG("render", schedule=None):
        operator = PinterestUploadCustomerListOperator(
            task_id="upload", **{"customer_list_name": "x", **kwargs}
        )
    context_params = {"emails": EMAILS, "state": "None", "empty": " ", **(params or {})}
    operator.render_template_fields({"params": context_params})
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
        ("source", ""),
        ("source", "None"),
        ("source", b"a@example.com"),
        ("source", 42),
        ("suppression_path", "None"),
    ],
)
def test_bad_literal_arguments_are_refused_when_the_dag_is_parsed(argument: str, value: Any) -> None:
    kwargs: dict[str, Any] = {"customer_list_name": "x", "source": EMAILS, argument: value}
    if argument == "state_path":
        kwargs["mode"] = "mirror"
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        PinterestUploadCustomerListOperator(task_id="upload", **kwargs)
    assert raised.value.argument == argument


SQL = {"source": None, "sql": "select email from crm", "sql_conn_id": "warehouse"}


@pytest.mark.parametrize(
    ("kwargs", "argument", "allowed"),
    [
        ({**SQL, "sql": " "}, "sql", "a SQL query (non-empty text)"),
        ({**SQL, "sql": ["select 1"]}, "sql", "a SQL query (non-empty text)"),
        ({**SQL, "sql_conn_id": " "}, "sql_conn_id", "an Airflow connection id (non-empty text)"),
        ({**SQL, "sql_conn_id": 7}, "sql_conn_id", "an Airflow connection id (non-empty text)"),
        ({"source": " "}, "source", "a CSV path or URI"),
    ],
)
def test_bad_literal_reading_arguments_name_what_is_allowed(
    kwargs: dict[str, Any], argument: str, allowed: str
) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        PinterestUploadCustomerListOperator(task_id="upload", customer_list_name="x", **kwargs)
    assert raised.value.argument == argument
    assert allowed in str(raised.value)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"source": "{{ params.empty }}"}, "source"),
        ({"source": "{{ params.state }}"}, "source"),
        ({**SQL, "sql": "{{ params.empty }}"}, "sql"),
        ({**SQL, "sql_conn_id": "{{ params.empty }}"}, "sql_conn_id"),
        ({"source": EMAILS, "suppression_path": "{{ params.state }}"}, "suppression_path"),
        ({"source": EMAILS, "suppression_path": {"EMAIL": "{{ params.state }}"}}, "suppression_path"),
    ],
)
def test_reading_arguments_rendered_empty_are_refused_before_any_api_call(
    kwargs: dict[str, Any], argument: str
) -> None:
    operator = rendered(**kwargs)
    with (
        mock.patch.object(type(operator), "hook", new_callable=mock.PropertyMock) as hook,
        pytest.raises(PinterestInvalidArgumentError) as raised,
    ):
        operator.upload_plans()
    assert raised.value.argument == argument
    hook.assert_not_called()


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
        (
            {"columns": COLUMNS, "customer_list_name": None, "list_names": {"EMAIL": "a", "MAID": "a"}},
            "list_names",
            "two types share one name",
        ),
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


@pytest.mark.parametrize(
    ("suppression_path", "problem"),
    [
        ({"EMAIL": "{{ params.name }}", "IDFA": "s3://b/x"}, "a mapping of list types (EMAIL, MAID)"),
        ({"EMAIL": "{{ params.name }}", "MAID": "{{ params.none }}"}, "rendered as 'None'"),
    ],
)
def test_suppression_paths_of_columns_are_templated_and_checked_once_rendered(
    suppression_path: dict[str, str], problem: str
) -> None:
    operator = rendered(
        {"name": "s3://b/email.suppression", "none": None},
        source="s3://b/crm.csv",
        columns=COLUMNS,
        suppression_path=suppression_path,
        ad_account_id="1",
    )
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        operator.upload_plans()
    assert raised.value.argument == "suppression_path"
    assert problem in str(raised.value)


def test_rendered_list_names_and_suppression_paths_reach_the_plans() -> None:
    operator = rendered(
        {"name": "CRM", "path": "s3://b/maid.suppression"},
        customer_list_name=None,
        source="s3://b/crm.csv",
        columns=COLUMNS,
        list_names={"EMAIL": "{{ params.name }} mail", "MAID": "{{ params.name }} devices"},
        suppression_path={"MAID": "{{ params.path }}"},
        ad_account_id="1",
    )
    plans = operator.upload_plans()
    assert {key: plan.customer_list_name for key, plan in plans.items()} == {
        "EMAIL": "CRM mail",
        "MAID": "CRM devices",
    }
    assert {key: plan.suppression_path for key, plan in plans.items()} == {
        "EMAIL": None,
        "MAID": "s3://b/maid.suppression",
    }


def test_list_names_are_templated_and_checked_once_rendered() -> None:
    operator = rendered(
        {"name": "same"},
        customer_list_name=None,
        source="s3://b/crm.csv",
        columns=COLUMNS,
        list_names={"EMAIL": "{{ params.name }}", "MAID": "{{ params.name }}"},
        ad_account_id="1",
    )
    with pytest.raises(PinterestInvalidArgumentError, match="two types share one name"):
        operator.upload_plans()
