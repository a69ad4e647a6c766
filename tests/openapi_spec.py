"""Validation of requests and responses against Pinterest's official OpenAPI description.

The spec lives outside the project: ``../shared/pinterest-openapi/openapi.json``
or ``$PINTEREST_OPENAPI_SPEC``.
In CI a missing spec fails the run; elsewhere the tests that need it are skipped.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

SPEC_SERVER = "https://api.pinterest.com/v5"
_DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "shared" / "pinterest-openapi" / "openapi.json"


def spec_path() -> Path:
    return Path(os.environ.get("PINTEREST_OPENAPI_SPEC", _DEFAULT_SPEC))


def require_spec() -> Path:
    """The spec's path; fails in CI and skips elsewhere when it is missing."""
    path = spec_path()
    if not path.is_file():
        message = f"Pinterest OpenAPI spec not found at {path} (set PINTEREST_OPENAPI_SPEC)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@functools.cache
def spec_dict() -> dict[str, Any]:
    return json.loads(require_spec().read_text())  # type: ignore[no-any-return]


@functools.cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(spec_dict())


def _rebased(prepared: requests.PreparedRequest) -> requests.PreparedRequest:
    """The same request as if sent to the spec's server (the emulator and mocks use other hosts)."""
    parts = urlsplit(prepared.url or "")
    path = parts.path
    marker = path.find("/v5/")
    if marker < 0:
        raise AssertionError(f"request path {path!r} is not under /v5/")
    server = urlsplit(SPEC_SERVER)
    rebased = prepared.copy()
    rebased.url = urlunsplit((server.scheme, server.netloc, path[marker:], parts.query, ""))
    return rebased


def validate_request(prepared: requests.PreparedRequest) -> None:
    """Raise if the request does not match the spec (path, method, parameters, body schema)."""
    _openapi().validate_request(RequestsOpenAPIRequest(_rebased(prepared)))


def validate_response(prepared: requests.PreparedRequest, response: requests.Response) -> None:
    """Raise if the response does not match the spec's response schema for that operation."""
    _openapi().validate_response(
        RequestsOpenAPIRequest(_rebased(prepared)), RequestsOpenAPIResponse(response)
    )
