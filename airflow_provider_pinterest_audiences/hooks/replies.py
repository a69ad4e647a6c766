"""Pinterest's answers: what counts as a success, and the error any other answer becomes.

A success is a 2xx whose body is a JSON object of the documented shape. A redirect is never followed (it
could re-send hashed customer records to another host, or turn a PATCH into a GET whose 200 looks like a
sent batch) and a 2xx that is not Pinterest's JSON (a proxy page, a captive portal, a wrong host) is never
taken for a success. Server text reaches an error only through :func:`redact_server_text`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError
from airflow_provider_pinterest_audiences.hooks.redaction import redact_server_text

#: Keys an answer must carry to count as a success, per operation (others: any JSON object).
REQUIRED_KEYS: Mapping[str, tuple[str, ...]] = {
    "customer_lists/create": ("id",),
    "customer_lists/get": ("id",),
    "customer_lists/update": ("id",),
    "audiences/create": ("id",),
    "audiences/get": ("id",),
    "audiences/update": ("id",),
    "customer_lists/list": ("items",),
    "audiences/list": ("items",),
    "ad_groups/list": ("items",),
    "ad_accounts/list": ("items",),
    "ad_groups/audience_sizing": ("audience_size_lower_bound", "audience_size_upper_bound"),
    "oauth/token": ("access_token",),
}

_CHECK_HOST_HINT = (
    "The answer was not counted as a success. Check the connection's API base URL (host) and any proxy "
    "between Airflow and Pinterest."
)


_JSON_TYPES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


@dataclass(frozen=True)
class Reply:
    """One HTTP answer. ``body`` is the parsed JSON, or (``is_json`` False) the start of the raw text."""

    status_code: int
    headers: Mapping[str, str]
    body: Any = field(repr=False)
    is_json: bool = True


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (requests and httpx headers are; a plain dict is not)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def content_type(reply: Reply) -> str:
    return redact_server_text(header(reply.headers, "content-type") or "no content type")


def error_from_reply(operation: str, reply: Reply, hint: str = "") -> PinterestApiError:
    """The error for a 4xx/5xx answer: Pinterest's code and (redacted) message."""
    body = reply.body if reply.is_json and isinstance(reply.body, dict) else {}
    code = body.get("code")
    message = body.get("message")
    if message is None:
        message = (
            f"answered {content_type(reply)}: {reply.body}" if not reply.is_json and reply.body else None
        )
    return PinterestApiError(
        operation,
        reply.status_code,
        code if isinstance(code, int) else None,
        redact_server_text(str(message or "no error message in the response")),
        hint=hint,
    )


def redirect_error(operation: str, reply: Reply) -> PinterestApiError:
    """A 3xx: named by its status and the host it points to, never the full URL."""
    location = header(reply.headers, "location")
    try:
        host = urlsplit(location).hostname if location else None
    except ValueError:
        host = None
    if host:
        target = f"to host {redact_server_text(host)!r}"
    else:
        target = "to a path on the same host" if location else "without a Location"
    return PinterestApiError(
        operation,
        reply.status_code,
        None,
        f"answered with a redirect {target}; the hook never follows redirects",
        hint=_CHECK_HOST_HINT,
    )


def success_body(operation: str, reply: Reply) -> dict[str, Any]:
    """The JSON object of a 2xx answer, or the error a redirect or a foreign body is."""
    if 300 <= reply.status_code < 400:
        raise redirect_error(operation, reply)
    body = reply.body
    if not reply.is_json or not isinstance(body, dict):
        found = "a body that is not JSON" if not reply.is_json else f"a JSON {_JSON_TYPES[type(body)]}"
        raise PinterestApiError(
            operation,
            reply.status_code,
            None,
            f"answered {found} ({content_type(reply)}) where Pinterest sends a JSON object",
            hint=_CHECK_HOST_HINT,
        )
    missing = [key for key in REQUIRED_KEYS.get(operation, ()) if key not in body]
    if missing:
        raise PinterestApiError(
            operation,
            reply.status_code,
            None,
            f"answered a JSON object ({content_type(reply)}) without {', '.join(map(repr, missing))}",
            hint=_CHECK_HOST_HINT,
        )
    return body
