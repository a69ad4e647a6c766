"""The provider's errors: messages that name what failed, attributes for callers, and Airflow's retries."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_pinterest_audiences.exceptions import (
    PinterestApiError,
    PinterestError,
    PinterestInvalidArgumentError,
    PinterestTokenStorageError,
)


@pytest.mark.parametrize(
    ("status", "hint", "message"),
    [
        (400, "", "Pinterest customer_lists/create failed: HTTP 400, code 2: Bad request"),
        (None, "", "Pinterest customer_lists/create failed: no response, code 2: Bad request"),
        (
            400,
            "Check the list type.",
            "Pinterest customer_lists/create failed: HTTP 400, code 2: Bad request. Check the list type.",
        ),
    ],
)
def test_api_error_names_the_operation_and_pinterests_answer(
    status: int | None, hint: str, message: str
) -> None:
    error = PinterestApiError("customer_lists/create", status, 2, "Bad request.", hint=hint, transient=True)
    assert str(error) == message
    assert (error.operation, error.status_code, error.code, error.api_message, error.transient) == (
        "customer_lists/create",
        status,
        2,
        "Bad request.",
        True,
    )
    assert not PinterestApiError("x", 400, None, "m").transient


def test_invalid_argument_names_the_argument_and_is_a_value_error() -> None:
    error = PinterestInvalidArgumentError("max_records_per_request", "must be at least 1")
    assert str(error) == "Invalid argument 'max_records_per_request': must be at least 1"
    assert error.argument == "max_records_per_request"
    assert isinstance(error, ValueError)


def test_token_storage_error_names_the_variable_the_cause_and_the_way_out() -> None:
    error = PinterestTokenStorageError("pinterest_default_tokens", "OperationalError", 4)
    assert error.variable == "pinterest_default_tokens"
    message = str(error)
    assert "Variable 'pinterest_default_tokens' failed 4 times (OperationalError)" in message
    assert "'refresh_token' extra" in message


@pytest.mark.parametrize(
    "error",
    [
        PinterestApiError("audiences/get", 503, None, "unavailable", transient=True),
        PinterestInvalidArgumentError("source", "empty"),
        PinterestTokenStorageError("tokens", "timeout", 3),
    ],
)
def test_every_error_is_a_pinterest_error_that_airflow_may_retry(error: PinterestError) -> None:
    assert isinstance(error, PinterestError) and isinstance(error, AirflowException)
    assert not isinstance(error, AirflowFailException)
