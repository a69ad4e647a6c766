"""Shared test set-up: a throwaway AIRFLOW_HOME before Airflow is imported, strict emulators, connections.

The provider's own tests run every emulator with ``strict_fields`` (a request field the spec does not list is
our mistake), while users' default stays lenient: ``PINTEREST_EMULATOR_STRICT_FIELDS`` is set for the
session (emulators started from the CLI or the scripts read it) and, for emulators started in-process, its
value becomes the default of ``EmulatorSettings(strict_fields=...)``. Tests of the users' default take the
``users_emulator_defaults`` fixture.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator

import pytest

_HOME = tempfile.mkdtemp(prefix="pinterest-provider-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
STRICT_FIELDS_VARIABLE = "PINTEREST_EMULATOR_STRICT_FIELDS"
os.environ.setdefault(STRICT_FIELDS_VARIABLE, "true")

ACCESS_TOKEN = "test-access-token-0123456789"
CLIENT_SECRET = "test-client-secret-abcdef"
REFRESH_TOKEN = "test-refresh-token-ghijkl"
AD_ACCOUNT_ID = "549755885175"
MOCK_BASE_URL = "https://api.pinterest.com/v5"


def connection_json(host: str = MOCK_BASE_URL, password: str | None = ACCESS_TOKEN, **extra: object) -> str:
    """A ``pinterest`` connection in the JSON form of ``AIRFLOW_CONN_*`` variables."""
    fields: dict[str, object] = {
        "client_id": "1234567",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "ad_account_id": AD_ACCOUNT_ID,
    }
    fields.update(extra)
    return json.dumps({"conn_type": "pinterest", "host": host, "password": password, "extra": fields})


@pytest.fixture
def pinterest_conn(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``pinterest_default`` pointing at the mocked Pinterest host, with refresh credentials."""
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json())
    yield


@pytest.fixture
def recorded_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the sync hook asked for, without sleeping them."""
    from airflow_provider_pinterest_audiences.hooks import pinterest

    sleeps: list[float] = []
    monkeypatch.setattr(pinterest, "_sleep", sleeps.append)
    return sleeps


@pytest.fixture(autouse=True)
def _fresh_process_tokens() -> Iterator[None]:
    """Each test starts with no token obtained by an earlier test's hooks."""
    from airflow_provider_pinterest_audiences.hooks.oauth import PROCESS_TOKENS

    PROCESS_TOKENS.clear()
    yield
    PROCESS_TOKENS.clear()


def _set_emulator_defaults(strict_fields: str | None = None) -> None:
    """Set ``EmulatorSettings()``'s defaults: the declared ones, ``strict_fields`` from text if given."""
    from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings, parse_field

    changes = {} if strict_fields is None else {"strict_fields": parse_field("strict_fields", strict_fields)}
    fields = dataclasses.fields(EmulatorSettings)
    assert all(field.default is not dataclasses.MISSING for field in fields), (
        "a field without a plain default"
    )
    EmulatorSettings.__init__.__defaults__ = tuple(changes.get(field.name, field.default) for field in fields)


@pytest.fixture(scope="session", autouse=True)
def _strict_emulators() -> Iterator[None]:
    """In-process emulators default to ``strict_fields`` as ``PINTEREST_EMULATOR_STRICT_FIELDS`` says."""
    _set_emulator_defaults(os.environ[STRICT_FIELDS_VARIABLE])
    yield
    _set_emulator_defaults()


@pytest.fixture
def users_emulator_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The emulator's defaults as users get them (unknown request fields ignored), for this test only."""
    session_value = os.environ.get(STRICT_FIELDS_VARIABLE)
    monkeypatch.delenv(STRICT_FIELDS_VARIABLE, raising=False)
    _set_emulator_defaults()
    yield
    _set_emulator_defaults(session_value)
