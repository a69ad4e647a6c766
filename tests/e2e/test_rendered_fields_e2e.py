"""Customer identifiers from an XCom never land in Airflow's rendered fields: the metadata database and
the REST API the UI reads, under a real ``airflow dags test`` (Airflow 3 and 2.11)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from scripts.demo import EXAMPLE_DAGS, DemoAirflow, emulator_get, prepare_airflow

pytestmark = pytest.mark.e2e

DAG_ID = "e2e_rendered_fields"
EMAILS = [f"Rendered.Person{index}@Private-Example.com" for index in range(137)]
DAG_FILE = f"""
import pendulum
from airflow.providers.common.compat.sdk import DAG, task
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator

with DAG({DAG_ID!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):

    @task
    def extract():
        return {EMAILS!r}

    PinterestUploadCustomerListOperator(
        task_id="upload", customer_list_name="Rendered fields", source=extract(), hashing_processes=1
    )
"""

# Reads the upload task's rendered fields through the REST API the UI uses, in-process, on the same
# metadata database: /api/v2 on Airflow 3 (FastAPI), /api/v1 on Airflow 2 (Flask). Prints the JSON.
API_READER = textwrap.dedent(
    """
    import json, sys
    from airflow import __version__
    dag_id, task_id = sys.argv[1], sys.argv[2]
    if __version__.startswith("2."):
        from airflow.www.app import create_app
        client = create_app(testing=True).test_client()
        runs = client.get(f"/api/v1/dags/{dag_id}/dagRuns").get_json()["dag_runs"]
        run_id = runs[0]["dag_run_id"]
        answer = client.get(f"/api/v1/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}").get_json()
    else:
        from fastapi.testclient import TestClient
        from airflow.api_fastapi.app import create_app
        client = TestClient(create_app())
        runs = client.get(f"/api/v2/dags/{dag_id}/dagRuns").json()["dag_runs"]
        run_id = runs[0]["dag_run_id"]
        answer = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}").json()
    print(json.dumps(answer["rendered_fields"]))
    """
)


def rendered_fields_in_database(home: Path, task_id: str) -> dict[str, Any]:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT rendered_fields FROM rendered_task_instance_fields WHERE dag_id = ? AND task_id = ?",
            (DAG_ID, task_id),
        ).fetchall()
    assert len(rows) == 1, rows
    fields: dict[str, Any] = json.loads(rows[0][0])
    return fields


def rendered_fields_from_api(airflow: DemoAirflow, task_id: str) -> dict[str, Any]:
    # Airflow 2: the REST API's anonymous user gets the Admin role (Airflow 3: the simple auth manager).
    (airflow.home / "webserver_config.py").write_text('AUTH_ROLE_PUBLIC = "Admin"\n')
    env = {
        **airflow.env,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.default",
    }
    answer = subprocess.run(
        [sys.executable, "-c", API_READER, DAG_ID, task_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr[-5000:]
    fields: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return fields


def test_an_xcom_list_source_is_stored_and_shown_as_a_summary(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(EXAMPLE_DAGS, dags)
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    settings = EmulatorSettings(customer_list_processing_seconds=1.0)
    with EmulatorServer(settings, host="127.0.0.1", port=0) as server:
        root = server.base_url.removesuffix("/v5")
        airflow = prepare_airflow(
            tmp_path / "home", server.connection_json(), root, AIRFLOW__CORE__DAGS_FOLDER=str(dags)
        )
        result = airflow.run("dags", "test", DAG_ID)
        assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]

        lists = emulator_get(root, "/_emulator/summary")["ad_accounts"][settings.ad_account_id]
        uploaded = next(item for item in lists["customer_lists"] if item["name"] == "Rendered fields")
        members = emulator_get(
            root, f"/_emulator/ad_accounts/{settings.ad_account_id}/customer_lists/{uploaded['id']}/records"
        )["members"]
        assert set(members) == {hashlib.sha256(email.lower().encode()).hexdigest() for email in EMAILS}

        summary = f"<list of {len(EMAILS)} identifiers from XCom 'extract'>"
        for fields in (
            rendered_fields_in_database(airflow.home, "upload"),
            rendered_fields_from_api(airflow, "upload"),
        ):
            assert fields["source"] == summary
            assert fields["customer_list_name"] == "Rendered fields"
            shown = json.dumps(fields).lower()
            assert not [email for email in EMAILS if email.lower() in shown]
            assert "private-example" not in shown
