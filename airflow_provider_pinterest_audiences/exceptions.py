"""Errors raised by the provider: API failures and rejected arguments."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException


class PinterestError(AirflowException):
    """Base class of every error this provider raises."""


class PinterestApiError(PinterestError):
    """Pinterest answered with an error (or never answered usefully) for one operation.

    Carries the HTTP status, Pinterest's error ``code`` and ``message`` and the operation name; never a
    token, a secret or a record payload.
    """

    def __init__(
        self,
        operation: str,
        status_code: int | None,
        code: int | None,
        message: str,
        *,
        hint: str = "",
        transient: bool = False,
    ) -> None:
        self.operation = operation
        #: True when retries ran out on throttling, a server error or no answer: trying later may work.
        self.transient = transient
        self.status_code = status_code
        self.code = code
        self.api_message = message
        status = f"HTTP {status_code}" if status_code is not None else "no response"
        text = f"Pinterest {operation} failed: {status}, code {code}: {message.rstrip('.')}"
        super().__init__(f"{text}. {hint}" if hint else text)


class PinterestTokenStorageError(PinterestError):
    """A rotated refresh token could not be written to its Variable: the next task cannot refresh.

    Raised after the hook adopted the new token pair, so this task's other calls keep working until it ends.
    """

    def __init__(self, variable: str, reason: str, attempts: int) -> None:
        self.variable = variable
        super().__init__(
            f"Pinterest rotated the refresh token, but writing the new one to Variable {variable!r} failed "
            f"{attempts} times ({reason}). Pinterest's previous refresh token, the one the Variable still "
            "holds, stopped working at this refresh, so the refresh-token chain may need re-authorising: "
            "this task keeps the new token pair in memory until it ends, but the next task cannot refresh. "
            "Fix what prevents writing the Variable; if a later refresh is rejected, run Pinterest's OAuth "
            "consent again and put the new refresh token in the connection's 'refresh_token' extra."
        )


class PinterestInvalidArgumentError(PinterestError, ValueError):
    """An operator or hook argument was rejected before any API call."""

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        super().__init__(f"Invalid argument {argument!r}: {problem}")
