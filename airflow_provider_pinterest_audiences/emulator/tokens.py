"""OAuth tokens: bearer access tokens with expiry by age or use count, and (rotating) refresh tokens."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

from .errors import TOKEN_INVALID, ApiError
from .settings import EmulatorSettings

DEFAULT_ACCESS_TOKEN_LIFETIME = 30 * 24 * 3600
REFRESH_TOKEN_LIFETIME = 365 * 24 * 3600
DEFAULT_SCOPE = "ads:read,ads:write"


@dataclass
class _AccessToken:
    issued_at: float
    requests: int = 0
    revoked: bool = False

    def usable(self, settings: EmulatorSettings, now: float) -> bool:
        if self.revoked:
            return False
        ttl = settings.access_token_ttl_seconds
        if ttl is not None and now - self.issued_at >= ttl:
            return False
        limit = settings.access_token_max_requests
        return limit is None or self.requests < limit


class TokenStore:
    """Every access token ever issued (several may be valid at once) and the one valid refresh token."""

    def __init__(self, settings: EmulatorSettings, now: float) -> None:
        self._lock = threading.Lock()
        self._access: dict[str, _AccessToken] = {settings.access_token: _AccessToken(issued_at=now)}
        self._refresh_token = settings.refresh_token
        self._refresh_expires_at = now + REFRESH_TOKEN_LIFETIME
        self._access_issued = 1
        self._refresh_issued = 1
        self._refreshes = 0

    def authenticate(self, token: str | None, settings: EmulatorSettings, now: float) -> bool:
        """True (and one use counted) when ``token`` is a known, unexpired access token."""
        if not token:
            return False
        with self._lock:
            record = self._access.get(token)
            if record is None or not record.usable(settings, now):
                return False
            record.requests += 1
            return True

    def refresh(
        self, refresh_token: str, scope: str | None, settings: EmulatorSettings, now: float
    ) -> dict[str, Any]:
        """Trade a refresh token for a new access token; with rotation the refresh token is replaced too."""
        with self._lock:
            if refresh_token != self._refresh_token or now >= self._refresh_expires_at:
                raise ApiError(
                    400, TOKEN_INVALID, "refresh_token is not valid: it is unknown, expired or already used."
                )
            self._refreshes += 1
            self._access_issued += 1
            access_token = f"emulator-access-{self._access_issued}-{secrets.token_hex(6)}"
            self._access[access_token] = _AccessToken(issued_at=now)
            if settings.rotate_refresh_tokens:
                self._refresh_issued += 1
                self._refresh_token = f"emulator-refresh-{self._refresh_issued}-{secrets.token_hex(6)}"
                self._refresh_expires_at = now + REFRESH_TOKEN_LIFETIME
            ttl = settings.access_token_ttl_seconds
            return {
                "access_token": access_token,
                "token_type": "bearer",
                "expires_in": DEFAULT_ACCESS_TOKEN_LIFETIME if ttl is None else max(1, int(ttl)),
                "scope": scope or DEFAULT_SCOPE,
                "response_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "refresh_token_expires_in": max(0, int(self._refresh_expires_at - now)),
                "refresh_token_expires_at": int(self._refresh_expires_at),
            }

    def expire_all(self) -> int:
        """Make every access token issued so far unusable; returns how many there were."""
        with self._lock:
            for record in self._access.values():
                record.revoked = True
            return len(self._access)

    def info(self, settings: EmulatorSettings, now: float) -> dict[str, Any]:
        """The valid refresh token and counters, for ``GET /_emulator/tokens``."""
        with self._lock:
            return {
                "refresh_token": self._refresh_token,
                "refresh_token_expires_at": int(self._refresh_expires_at),
                "refreshes": self._refreshes,
                "refresh_tokens_issued": self._refresh_issued,
                "access_tokens_issued": self._access_issued,
                "access_tokens_valid": sum(1 for t in self._access.values() if t.usable(settings, now)),
            }
