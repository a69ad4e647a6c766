"""What the provider reads from an Airflow ``pinterest`` connection."""

from __future__ import annotations

import base64
import ipaddress
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

DEFAULT_BASE_URL = "https://api.pinterest.com/v5"
#: The extra naming the Variable that keeps the newest token pair. Airflow hides the value of any extra
#: whose key contains "token" (or "secret", "password", ...), so the key avoids those words.
OAUTH_VARIABLE = "oauth_variable"
#: Its former name, still read (with a warning) when the new key is absent.
LEGACY_OAUTH_VARIABLE = "refresh_token_variable"


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def normalise_base_url(host: str | None) -> str:
    """The API base URL for a connection host: empty means Pinterest, ``http://`` only to loopback."""
    raw = (host or "").strip()
    if not raw:
        return DEFAULT_BASE_URL
    if "://" not in raw:
        raw = f"https://{raw}"
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PinterestInvalidArgumentError("host", f"expected an https:// API base URL, got {raw!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise PinterestInvalidArgumentError(
            "host",
            f"plain http:// is only allowed to a loopback address (127.0.0.1, localhost, ::1), got "
            f"{parts.hostname!r}; use https://",
        )
    path = parts.path.rstrip("/") or "/v5"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def _oauth_variable(conn_id: str, new: str | None, legacy: str | None) -> str | None:
    if legacy is None:
        return new
    if new is not None and new != legacy:
        raise PinterestInvalidArgumentError(
            OAUTH_VARIABLE,
            f"connection {conn_id!r} names two different Variables: {OAUTH_VARIABLE}={new!r} and "
            f"{LEGACY_OAUTH_VARIABLE}={legacy!r}; keep only {OAUTH_VARIABLE!r}",
        )
    warnings.warn(
        f"Connection {conn_id!r}: the extra {LEGACY_OAUTH_VARIABLE!r} is deprecated (Airflow shows it as "
        f"'***'); rename it to {OAUTH_VARIABLE!r}.",
        FutureWarning,
        stacklevel=4,
    )
    return legacy


@dataclass(frozen=True, repr=False)
class PinterestConnectionConfig:
    """Settings of one Pinterest connection. ``repr`` is hidden: it holds secrets."""

    conn_id: str
    base_url: str
    access_token: str | None
    client_id: str | None
    client_secret: str | None
    refresh_token: str | None
    ad_account_id: str | None
    oauth_variable: str | None
    continuous_refresh: bool

    @classmethod
    def from_fields(
        cls, conn_id: str, host: str | None, password: str | None, extra: Mapping[str, Any]
    ) -> PinterestConnectionConfig:
        def text(key: str) -> str | None:
            value = extra.get(key)
            return str(value).strip() or None if value not in (None, "") else None

        return cls(
            conn_id=conn_id,
            base_url=normalise_base_url(host),
            access_token=(password or "").strip() or None,
            client_id=text("client_id"),
            client_secret=text("client_secret"),
            refresh_token=text("refresh_token"),
            ad_account_id=text("ad_account_id"),
            oauth_variable=_oauth_variable(conn_id, text(OAUTH_VARIABLE), text(LEGACY_OAUTH_VARIABLE)),
            continuous_refresh=_truthy(extra.get("continuous_refresh", False)),
        )

    @property
    def can_refresh(self) -> bool:
        return bool(self.client_id and self.client_secret and (self.refresh_token or self.oauth_variable))

    @property
    def credential_key(self) -> tuple[str, ...]:
        """Identifies one chain of rotating tokens: the same app against the same API for one connection."""
        return (self.conn_id, self.base_url, self.client_id or "")

    def __repr__(self) -> str:
        return f"PinterestConnectionConfig(conn_id={self.conn_id!r}, base_url={self.base_url!r})"

    @property
    def basic_credential(self) -> str:
        """``base64(client_id:client_secret)``, the token endpoint's HTTP Basic credential."""
        return base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()

    def secrets(self) -> list[str]:
        """Every credential this connection holds or derives, for the secret masker."""
        basic = self.basic_credential if self.client_secret else None
        return [s for s in (self.access_token, self.client_secret, self.refresh_token, basic) if s]
