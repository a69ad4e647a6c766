"""OAuth refresh for Pinterest: the token request, its answer, and where rotated tokens are kept.

Pinterest rotates refresh tokens: every refresh answers with a new one and the old one stops working.
The newest token pair is therefore kept in an Airflow Variable (named by the connection extra
``oauth_variable``) so the next task, or a concurrent one, finds it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_pinterest_audiences.hooks.connection_config import PinterestConnectionConfig

log = logging.getLogger(__name__)

#: An access token is reused until this many seconds before it expires.
EXPIRY_MARGIN_SECONDS = 300.0


@dataclass(frozen=True, repr=False)
class TokenGrant:
    """A token pair from a refresh. ``issued_at`` orders grants so only newer ones are stored."""

    access_token: str
    refresh_token: str | None
    expires_at: float | None
    issued_at: float

    def access_token_usable(self, now: float | None = None) -> bool:
        if self.expires_at is None:
            return True
        return (now or time.time()) < self.expires_at - EXPIRY_MARGIN_SECONDS

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> TokenGrant | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                access_token=str(data["access_token"]),
                refresh_token=data.get("refresh_token"),
                expires_at=data.get("expires_at"),
                issued_at=float(data.get("issued_at", 0.0)),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("The stored Pinterest token pair is unreadable; ignoring it.")
            return None

    def __repr__(self) -> str:
        return f"TokenGrant(expires_at={self.expires_at}, issued_at={self.issued_at})"


@dataclass(frozen=True)
class RefreshRequest:
    """The form POST that trades a refresh token for a new access token."""

    url: str
    headers: dict[str, str]
    data: dict[str, str]


def build_refresh_request(config: PinterestConnectionConfig, refresh_token: str) -> RefreshRequest:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if config.continuous_refresh:
        data["continuous_refresh"] = "true"
    return RefreshRequest(
        url=f"{config.base_url}/oauth/token",
        headers={"Authorization": f"Basic {config.basic_credential}", "Accept": "application/json"},
        data=data,
    )


def parse_grant(body: Any, used_refresh_token: str, now: float | None = None) -> TokenGrant:
    """A grant from the token endpoint's JSON; keeps the used refresh token when none is returned."""
    issued_at = now or time.time()
    expires_in = body.get("expires_in") if isinstance(body, dict) else None
    access_token = body.get("access_token") if isinstance(body, dict) else None
    if not access_token:
        raise ValueError("the token endpoint answered without an access_token")
    return TokenGrant(
        access_token=str(access_token),
        refresh_token=str(body.get("refresh_token") or used_refresh_token),
        expires_at=issued_at + float(expires_in) if expires_in else None,
        issued_at=issued_at,
    )


class TokenStore:
    """The Airflow Variable holding the newest token pair of one connection (sync API)."""

    def __init__(self, variable_name: str) -> None:
        self.variable_name = variable_name

    def load(self) -> TokenGrant | None:
        from airflow.providers.common.compat.sdk import Variable

        return TokenGrant.from_json(Variable.get(self.variable_name, None))

    def save_if_newer(self, grant: TokenGrant) -> bool:
        """Store ``grant`` unless the Variable already holds a newer one; True when written."""
        from airflow.providers.common.compat.sdk import Variable

        stored = self.load()
        if stored is not None and stored.issued_at >= grant.issued_at:
            return False
        Variable.set(self.variable_name, grant.to_json())
        return True

    def try_save(self, grant: TokenGrant) -> str | None:
        """:meth:`save_if_newer`, answering why it failed (an exception's type name) instead of raising.

        Only the type: a database or API error's text can quote the value being written.
        """
        try:
            self.save_if_newer(grant)
        except Exception as exc:
            return type(exc).__name__
        return None


class ProcessTokens:
    """The newest grant per credential chain in this process, so hooks on several threads refresh once.

    A refresh runs under the chain's lock; a hook that waited for it adopts the grant another thread just
    obtained instead of spending its own (rotating) refresh token on a second refresh.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._grants: dict[tuple[str, ...], TokenGrant] = {}

    def lock(self, key: tuple[str, ...]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: tuple[str, ...]) -> TokenGrant | None:
        return self._grants.get(key)

    def put(self, key: tuple[str, ...], grant: TokenGrant) -> None:
        self._grants[key] = grant

    def clear(self) -> None:
        with self._guard:
            self._grants.clear()


PROCESS_TOKENS = ProcessTokens()
