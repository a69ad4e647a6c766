"""The ``{code, message}`` errors the emulator answers with, as an exception the routes raise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

INVALID_PARAMETERS = 1
AUTHENTICATION_FAILED = 2
RATE_LIMITED = 8
NOT_PERMITTED = 29
NOT_FOUND = 404
TOKEN_INVALID = 1104
SERVICE_UNAVAILABLE = 4197


class ApiError(Exception):
    """An error response: HTTP status, Pinterest error code, message and optional headers."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The spec's ``Error`` object."""
        return {"code": self.code, "message": self.message}


def bad_request(message: str) -> ApiError:
    """400 code 1: the message must name the offending field."""
    return ApiError(400, INVALID_PARAMETERS, message)


@contextmanager
def bad_request_code(code: int) -> Iterator[None]:
    """Within the block, a 400 carries ``code``: the code of the spec's 400 example for the operation."""
    try:
        yield
    except ApiError as error:
        if error.status != 400:
            raise
        raise ApiError(400, code, error.message, error.headers) from None


def forbidden(message: str = "You are not permitted to access that resource.") -> ApiError:
    """403 code 29: the spec's ``UnauthorizedAccess`` example (``events/create``, ``token/revoke``)."""
    return ApiError(403, NOT_PERMITTED, message)


def not_found(message: str) -> ApiError:
    """404 for an unknown object id."""
    return ApiError(404, NOT_FOUND, message)


def unauthorized() -> ApiError:
    """401 code 2, Pinterest's answer to a missing, unknown or expired token."""
    return ApiError(401, AUTHENTICATION_FAILED, "Authentication failed.")
