"""A real deployment: API server, scheduler, DAG processor and triggerer (LocalExecutor, SQLite).

The customer-list DAG is triggered through the CLI; the sensor task must be seen in the ``deferred``
state while the triggerer polls the emulator, and the run must succeed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from scripts.demo import DemoAirflow, prepare_airflow

pytestmark = [pytest.mark.e2e, pytest.mark.airflow3_only]

DAG_ID = "pinterest_customer_list_audience"
SENSOR = "wait_for_customer_audience"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(condition: object, timeout: float, what: str, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def query(home: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with contextlib.closing(
        sqlite3.connect(f"file:{home / 'airflow.db'}?mode=ro", uri=True, timeout=30)
    ) as db:
        return db.execute(sql, args).fetchall()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoAirflow, EmulatorServer]]:
    # Slow enough that the sensor is still waiting after it defers, fast enough for CI.
    settings = EmulatorSettings(audience_initializing_seconds=5.0, audience_processing_seconds=25.0)
    api_port = free_port()
    with EmulatorServer(settings, host="127.0.0.1", port=0) as emulator:
        airflow = prepare_airflow(
            tmp_path_factory.mktemp("airflow-deployment"),
            emulator.connection_json(),
            emulator.root_url,
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
            AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
            AIRFLOW__CORE__PARALLELISM="4",
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
            AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC="1",
            AIRFLOW__API__PORT=str(api_port),
        )
        processes = []
        for component in COMPONENTS:
            args = (
                [component, "--host", "127.0.0.1", "--port", str(api_port)]
                if component == "api-server"
                else [component]
            )
            log = (airflow.home / f"{component}.log").open("w")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "airflow", *args],
                    env=airflow.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        try:
            wait_for(lambda: _serving(api_port), 120, "the API server")
            yield airflow, emulator
        finally:
            for process in processes:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def _serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/version", timeout=5):
            return True
    except OSError:
        return False


def test_the_sensor_defers_to_the_triggerer_and_the_run_succeeds(
    deployment: tuple[DemoAirflow, EmulatorServer],
) -> None:
    airflow, _ = deployment
    home = airflow.home
    wait_for(
        lambda: query(home, "SELECT 1 FROM serialized_dag WHERE dag_id = ?", DAG_ID),
        180,
        "the DAG to be parsed",
    )
    assert airflow.run("dags", "unpause", DAG_ID).returncode == 0
    triggered = airflow.run("dags", "trigger", DAG_ID, "-c", json.dumps(airflow.dag_conf(DAG_ID)))
    assert triggered.returncode == 0, triggered.stdout + triggered.stderr

    seen_states: set[object] = set()

    def sensor_deferred() -> bool:
        rows = query(home, "SELECT state FROM task_instance WHERE dag_id = ? AND task_id = ?", DAG_ID, SENSOR)
        seen_states.update(state for (state,) in rows)
        return "deferred" in seen_states

    wait_for(sensor_deferred, 240, "the sensor to defer", interval=0.5)
    triggers = query(home, "SELECT classpath FROM trigger")
    assert ("airflow_provider_pinterest_audiences.triggers.audience.PinterestAudienceTrigger",) in triggers

    def run_finished() -> bool:
        rows = query(home, "SELECT state FROM dag_run WHERE dag_id = ?", DAG_ID)
        return bool(rows) and rows[0][0] in ("success", "failed")

    wait_for(run_finished, 300, "the DAG run to finish")
    states = dict(query(home, "SELECT task_id, state FROM task_instance WHERE dag_id = ?", DAG_ID))
    assert query(home, "SELECT state FROM dag_run WHERE dag_id = ?", DAG_ID) == [("success",)], states
    assert set(states.values()) == {"success"}
