"""Emulator settings: one frozen dataclass, read from keyword arguments, environment variables or CLI flags.

Every field ``some_field`` can be set with the environment variable ``PINTEREST_EMULATOR_SOME_FIELD`` and
the CLI flag ``--some-field``. Durations are in emulated seconds unless a name says otherwise; a tuple is
written as comma-separated text (``--ad-account-ids 549755885175,549755885176``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .population import parse_known_user

ENV_PREFIX = "PINTEREST_EMULATOR_"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_NONE = frozenset({"", "none", "null"})


@dataclass(frozen=True)
class EmulatorSettings:
    """How the emulator behaves. Immutable: live changes replace the whole object."""

    access_token: str = "emulator-access-token"  # noqa: S105 (a fake credential)
    client_id: str = "emulator-client-id"
    client_secret: str = "emulator-client-secret"  # noqa: S105
    refresh_token: str = "emulator-refresh-token"  # noqa: S105
    ad_account_id: str = "549755885175"
    ad_account_ids: tuple[str, ...] = ()  # more accounts the token can access; any other answers 403
    clock_speed: float = 1.0
    customer_list_processing_seconds: float = 2.0
    audience_initializing_seconds: float = 1.0
    audience_processing_seconds: float = 2.0
    match_rate: float = 0.7
    min_audience_size: int = 100
    access_token_ttl_seconds: float | None = None
    access_token_max_requests: int | None = None
    rotate_refresh_tokens: bool = True
    ads_read_per_minute: int = 1000
    ads_write_per_minute: int = 400
    fail_every_n: int = 0
    latency_ms: int = 0
    rate_limit_storm: int = 0
    storm_retry_after_seconds: float = 0.1
    store_records: bool = True
    strict_fields: bool = False  # refuse request fields the spec does not list (Pinterest ignores them)
    # The Pinterest users, as ``TYPE:identifier`` entries (``population``): when given, a record matches
    # only if it stands for one of them; when empty, ``match_rate`` of the records match, drawn at random.
    known_users: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("access_token", "client_id", "client_secret", "refresh_token"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")
        for name in ("ad_account_ids", "known_users"):
            if isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a tuple of entries, not one string")
        object.__setattr__(self, "known_users", tuple(self.known_users))  # a list from a test marker too
        for entry in self.known_users:
            parse_known_user(entry)
        accounts = [("ad_account_id", self.ad_account_id)] + [
            ("ad_account_ids", a) for a in self.ad_account_ids
        ]
        for name, account in accounts:
            if not (account.isdigit() and len(account) <= 18):
                raise ValueError(f"{name} must be 1 to 18 digits, got {account!r}")
        if self.clock_speed <= 0:
            raise ValueError("clock_speed must be > 0")
        if not 0.0 <= self.match_rate <= 1.0:
            raise ValueError("match_rate must be between 0 and 1")
        for name in ("access_token_ttl_seconds", "access_token_max_requests"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or None")
        for name in ("ads_read_per_minute", "ads_write_per_minute"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        for name in (
            "customer_list_processing_seconds",
            "audience_initializing_seconds",
            "audience_processing_seconds",
            "min_audience_size",
            "fail_every_n",
            "latency_ms",
            "rate_limit_storm",
            "storm_retry_after_seconds",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    @property
    def declared_ad_accounts(self) -> tuple[str, ...]:
        """The accounts the token can access: ``ad_account_id`` (the connection's) and ``ad_account_ids``."""
        return tuple(dict.fromkeys((self.ad_account_id, *self.ad_account_ids)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> EmulatorSettings:
        """Settings from ``PINTEREST_EMULATOR_*`` variables, then ``overrides`` on top."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in field_types():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = parse_field(name, raw)
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> EmulatorSettings:
        """A copy with ``changes`` applied (validated like the constructor)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """All fields as a JSON-ready dict."""
        return dataclasses.asdict(self)


def field_types() -> dict[str, str]:
    """Field name -> annotation text (``"int"``, ``"float | None"``...)."""
    return {f.name: str(f.type) for f in dataclasses.fields(EmulatorSettings)}


def parse_field(name: str, raw: str) -> Any:
    """Convert the text ``raw`` (env var or CLI flag) to the type of field ``name``."""
    annotation = field_types()[name]
    text = raw.strip()
    if annotation.endswith("| None") and text.lower() in _NONE:
        return None
    base = annotation.removesuffix(" | None")
    if base == "tuple[str, ...]":
        return tuple(part.strip() for part in text.split(",") if part.strip())
    try:
        if base == "bool":
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(raw)
        if base == "int":
            return int(text)
        if base == "float":
            return float(text)
    except ValueError:
        raise ValueError(f"{name}: cannot read {raw!r} as {annotation}") from None
    return raw


def coerce_json_field(name: str, value: Any) -> Any:
    """Check a JSON value for field ``name`` (live-control endpoint); ValueError if wrong."""
    annotation = field_types()[name]
    if value is None and annotation.endswith("| None"):
        return None
    base = annotation.removesuffix(" | None")
    if base == "bool" and isinstance(value, bool):
        return value
    if base == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if base == "str" and isinstance(value, str):
        return value
    if base == "tuple[str, ...]" and isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"{name} must be {annotation}, got {value!r}")
