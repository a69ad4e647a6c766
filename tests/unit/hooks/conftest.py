"""Hook test set-up: a dict standing in for Airflow's Variables, and a connection that keeps tokens there."""

from __future__ import annotations

import pytest

from tests.conftest import connection_json

VARIABLE = "pinterest_tokens"


class FakeVariables:
    """A dict standing in for Airflow's Variable API (the e2e tests use the real one)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes = 0

    def get(self, key: str, default: object = None) -> object:
        return self.values.get(key, default)

    def set(self, key: str, value: str) -> None:
        self.writes += 1
        self.values[key] = value


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> FakeVariables:
    import airflow.providers.common.compat.sdk as sdk

    fake = FakeVariables()
    monkeypatch.setattr(sdk, "Variable", fake)
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json(oauth_variable=VARIABLE))
    return fake
