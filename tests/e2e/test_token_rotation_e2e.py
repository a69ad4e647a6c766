"""Rotating refresh tokens under a real ``airflow dags test``: kept in a Variable, two runs succeed;
without the Variable the second run fails saying what to configure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from scripts.demo import DemoAirflow, emulator_get, prepare_airflow

pytestmark = [pytest.mark.e2e, pytest.mark.airflow3_only]

DAG_ID = "pinterest_engagement_audience"
VARIABLE = "pinterest_default_tokens"
# Every access token dies after a few requests, so each run refreshes at least once, mid-run.
SETTINGS = EmulatorSettings(access_token_max_requests=3, rotate_refresh_tokens=True)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(SETTINGS, host="127.0.0.1", port=0) as server:
        yield server


def airflow_with(emulator: EmulatorServer, home: Path, **extra: object) -> DemoAirflow:
    connection = json.loads(emulator.connection_json())
    connection["extra"].update(extra)
    return prepare_airflow(home, json.dumps(connection), emulator.root_url)


def expire_every_access_token(emulator: EmulatorServer) -> None:
    response = requests.post(f"{emulator.root_url}/_emulator/expire_tokens", json={}, timeout=10)
    assert response.json()["expired"] >= 1


def output(result: object) -> str:
    return f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"  # type: ignore[attr-defined]


def test_rotated_tokens_are_kept_in_a_variable_so_every_run_succeeds(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    airflow = airflow_with(emulator, tmp_path, oauth_variable=VARIABLE)

    first = airflow.dag_test(DAG_ID)
    assert first.returncode == 0, output(first)
    stored = json.loads(airflow.run("variables", "get", VARIABLE).stdout.strip().splitlines()[-1])
    assert stored["refresh_token"] == emulator_get(emulator.root_url, "/_emulator/tokens")["refresh_token"]

    expire_every_access_token(emulator)
    second = airflow.dag_test(DAG_ID)  # must refresh with the rotated token the Variable kept

    assert second.returncode == 0, output(second)
    tokens = emulator_get(emulator.root_url, "/_emulator/tokens")
    assert tokens["refreshes"] >= 2
    for text in (output(first), output(second)):
        assert SETTINGS.client_secret not in text
        assert tokens["refresh_token"] not in text


def test_without_the_variable_the_second_run_fails_saying_what_to_configure(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    airflow = airflow_with(emulator, tmp_path)

    first = airflow.dag_test(DAG_ID)
    assert first.returncode == 0, output(first)
    assert "oauth_variable" in output(first)  # the once-per-task warning

    expire_every_access_token(emulator)
    second = airflow.dag_test(DAG_ID)

    assert second.returncode != 0
    assert "Set 'oauth_variable' in the connection extra" in output(second)
