"""Shared test set-up: a throwaway AIRFLOW_HOME before Airflow is imported, and connection helpers."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator

import pytest

_HOME = tempfile.mkdtemp(prefix="pinterest-provider-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

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
