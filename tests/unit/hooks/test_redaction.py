"""Server text in exceptions: bounded, one line, nothing token- or email-shaped."""

from __future__ import annotations

import base64
import hashlib

import pytest

from airflow_provider_pinterest_audiences.hooks.redaction import MAX_SERVER_TEXT, redact_server_text

BASIC = base64.b64encode(b"1234567:app-secret-value").decode()
DIGEST = hashlib.sha256(b"jane@example.com").hexdigest()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Invalid token pina_AMAXYZQWFAAAAGAAABBBcccDDD0123", "pina_AMAXYZQWFAAAAGAAABBBcccDDD0123"),
        ("refresh pinr_abcdef.ghijk rejected", "pinr_abcdef.ghijk"),
        ("header was Authorization: Bearer abc.def-123", "abc.def-123"),
        (f"bad credential Basic {BASIC}", BASIC),
        (f"credential {BASIC} refused", BASIC),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36", "eyJhbGci"),
        (f"record {DIGEST} invalid", DIGEST),
        ("member Jane.Doe+ads@Example.co.uk not found", "Jane.Doe+ads@Example.co.uk"),
        ("contact <o'brien@mail.example.org>", "o'brien@mail.example.org"),
    ],
)
def test_credentials_digests_and_emails_are_replaced(text: str, secret: str) -> None:
    redacted = redact_server_text(text)

    assert secret not in redacted
    assert "***" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "Audience not found.",
        "Ad account 549755885175 is not accessible; customer_lists/update failed",
        "/v5/ad_accounts/549755885175/customer_lists/12345",
        "This request exceeded a rate limit. Retry after 7 seconds.",
    ],
)
def test_ordinary_messages_are_kept(text: str) -> None:
    assert redact_server_text(text) == text


def test_long_text_is_cut_to_the_bound_and_put_on_one_line() -> None:
    redacted = redact_server_text("line one\nline\ttwo " + "word " * 10_000)

    assert redacted.startswith("line one line two word")
    assert len(redacted) == MAX_SERVER_TEXT
    assert redacted.endswith("…")
