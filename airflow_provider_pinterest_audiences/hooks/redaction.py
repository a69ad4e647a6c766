"""Server text made fit for an exception: bounded, on one line, with token- and email-shaped runs replaced.

Pinterest's error messages (and whatever a proxy answers instead) are copied into the errors the hooks
raise, which end up in task logs and the UI. The secret masker only knows the secrets registered with it,
so anything shaped like a credential or a customer identifier is replaced here, whatever it belongs to.
"""

from __future__ import annotations

import re

#: Characters of server text an exception carries at most.
MAX_SERVER_TEXT = 300
REDACTED = "***"

_READ_AT_MOST = 4 * MAX_SERVER_TEXT
_AUTH_SCHEME = re.compile(r"\b(bearer|basic)\s+[^\s\"',;]+", re.IGNORECASE)
_PINTEREST_TOKEN = re.compile(r"\bpin[a-z]_[\w.~+/=-]+")
_EMAIL = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)+")
_HEX_RUN = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/=_.~-]{20,}")


def _replace_if_token_like(match: re.Match[str]) -> str:
    """A long run mixing upper case, lower case and digits is a token or key (base64, JWT, ...)."""
    run = match.group()
    mixed = any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)
    return REDACTED if mixed else run


def redact_server_text(text: str) -> str:
    """``text`` cut to :data:`MAX_SERVER_TEXT` characters with credentials and emails replaced."""
    if len(text) > _READ_AT_MOST:  # bounded work; the tail could never be shown anyway
        text = text[:_READ_AT_MOST].rsplit(None, 1)[0]
    text = " ".join(text.split())
    text = _AUTH_SCHEME.sub(rf"\1 {REDACTED}", text)
    text = _PINTEREST_TOKEN.sub(REDACTED, text)
    text = _EMAIL.sub(REDACTED, text)
    text = _HEX_RUN.sub(REDACTED, text)
    text = _TOKEN_RUN.sub(_replace_if_token_like, text)
    if len(text) > MAX_SERVER_TEXT:
        text = text[: MAX_SERVER_TEXT - 1] + "…"
    return text
