"""Customer identifiers from an XCom never land in Airflow's rendered fields: the metadata database, the
REST API the UI reads and, on Airflow 2, the Flask UI's Rendered Template page, under a real ``airflow dags
test`` (Airflow 3 and 2.11) of an upload, a mapped upload and an erase."""

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
ERASED = EMAILS[:5]
SETTINGS = EmulatorSettings(customer_list_processing_seconds=1.0)
DAG_FILE = f"""
import pendulum
from airflow.providers.common.compat.sdk import DAG, task
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator
from airflow_provider_pinterest_audiences.operators.erase import PinterestEraseCustomersOperator

with DAG({DAG_ID!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):

    @task
    def extract():
        return {EMAILS!r}

    @task
    def extract_batches():
        return [{EMAILS[:70]!r}, {EMAILS[70:]!r}]

    @task
    def deletion_requests():
        return {ERASED!r}

    upload = PinterestUploadCustomerListOperator(
        task_id="upload", customer_list_name="Rendered fields", source=extract(), hashing_processes=1
    )
    upload_mapped = PinterestUploadCustomerListOperator.partial(
        task_id="upload_mapped", customer_list_name="Rendered fields, mapped", hashing_processes=1
    ).expand(source=extract_batches())
    erase = PinterestEraseCustomersOperator(
        task_id="erase",
        source=deletion_requests(),
        ad_account_ids=[{SETTINGS.ad_account_id!r}],
        hashing_processes=1,
    )
    [upload, upload_mapped] >> erase
"""
SUMMARIES = {
    ("upload", -1): f"<list of {len(EMAILS)} identifiers from XCom 'extract'>",
    ("upload_mapped", 0): "<list of 70 identifiers from XCom 'extract_batches'>",
    ("upload_mapped", 1): f"<list of {len(EMAILS) - 70} identifiers from XCom 'extract_batches'>",
    ("erase", -1): f"<list of {len(ERASED)} identifiers from XCom 'deletion_requests'>",
}

# Reads each task instance's rendered fields through the REST API the UI uses, in-process, on the same
# metadata database: /api/v2 on Airflow 3 (FastAPI), /api/v1 on Airflow 2 (Flask), which also serves the UI's
# Rendered Template page (its HTML is printed too). Prints {"task_id map_index": {"api": ..., "ui": ...}}.
API_READER = textwrap.dedent(
    """
    import json, sys
    from airflow import __version__
    dag_id, instances = sys.argv[1], json.loads(sys.argv[2])
    answers = {}
    if __version__.startswith("2."):
        from airflow.configuration import conf
        from airflow.models.dagbag import DagBag
        from airflow.www.app import create_app
        # The Flask UI reads the serialized DAG, which `airflow dags test` does not write on Airflow 2.
        DagBag(f"{conf.get('core', 'dags_folder')}/{dag_id}.py", include_examples=False).sync_to_db()
        client = create_app(testing=True).test_client()
        run = client.get(f"/api/v1/dags/{dag_id}/dagRuns").get_json()["dag_runs"][0]
        for task_id, map_index in instances:
            path = f"/api/v1/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances/{task_id}"
            path += "" if map_index < 0 else f"/{map_index}"
            query = {"dag_id": dag_id, "task_id": task_id, "map_index": map_index,
                     "execution_date": run["execution_date"]}
            page = client.get("/rendered-templates", query_string=query)
            assert page.status_code == 200, page.status_code
            answers[f"{task_id} {map_index}"] = {
                "api": client.get(path).get_json()["rendered_fields"], "ui": page.get_data(as_text=True)
            }
    else:
        from fastapi.testclient import TestClient
        from airflow.api_fastapi.app import create_app
        client = TestClient(create_app())
        run_id = client.get(f"/api/v2/dags/{dag_id}/dagRuns").json()["dag_runs"][0]["dag_run_id"]
        for task_id, map_index in instances:
            path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
            path += "" if map_index < 0 else f"/{map_index}"
            fields = client.get(path).json()["rendered_fields"]
            answers[f"{task_id} {map_index}"] = {"api": fields, "ui": None}
    print(json.dumps(answers))
    """
)


def rendered_fields_in_database(home: Path) -> dict[tuple[str, int], dict[str, Any]]:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, map_index, rendered_fields FROM rendered_task_instance_fields WHERE dag_id = ?",
            (DAG_ID,),
        ).fetchall()
    return {(task_id, map_index): json.loads(fields) for task_id, map_index, fields in rows}


def rendered_fields_from_api(airflow: DemoAirflow) -> dict[tuple[str, int], dict[str, Any]]:
    # Airflow 2: the anonymous user gets the Admin role (Airflow 3: the simple auth manager).
    (airflow.home / "webserver_config.py").write_text('AUTH_ROLE_PUBLIC = "Admin"\n')
    env = {
        **airflow.env,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.default",
    }
    answer = subprocess.run(
        [sys.executable, "-c", API_READER, DAG_ID, json.dumps(list(SUMMARIES))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr[-5000:]
    answers = json.loads(answer.stdout.strip().splitlines()[-1])
    return {(key.split()[0], int(key.split()[1])): value for key, value in answers.items()}


def assert_no_identifier(shown: str) -> None:
    shown = shown.lower()
    assert not [email for email in EMAILS if email.lower() in shown]
    assert "private-example" not in shown


def test_xcom_list_sources_are_stored_and_shown_as_summaries(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(EXAMPLE_DAGS, dags)
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    with EmulatorServer(SETTINGS, host="127.0.0.1", port=0) as server:
        root = server.base_url.removesuffix("/v5")
        airflow = prepare_airflow(
            tmp_path / "home", server.connection_json(), root, AIRFLOW__CORE__DAGS_FOLDER=str(dags)
        )
        result = airflow.run("dags", "test", DAG_ID)
        assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]

        account = SETTINGS.ad_account_id
        lists = emulator_get(root, "/_emulator/summary")["ad_accounts"][account]["customer_lists"]
        kept = {hashlib.sha256(email.lower().encode()).hexdigest() for email in EMAILS[len(ERASED) :]}
        for name in ("Rendered fields", "Rendered fields, mapped"):
            list_id = next(item["id"] for item in lists if item["name"] == name)
            path = f"/_emulator/ad_accounts/{account}/customer_lists/{list_id}/records"
            assert set(emulator_get(root, path)["members"]) == kept

        stored = rendered_fields_in_database(airflow.home)
        shown = rendered_fields_from_api(airflow)
    assert set(SUMMARIES) <= set(stored)  # with the three @task extracts
    assert_no_identifier(json.dumps(list(stored.values())))
    for instance, summary in SUMMARIES.items():
        for fields in (stored[instance], shown[instance]["api"]):
            assert fields["source"] == summary
            assert_no_identifier(json.dumps(fields))
        page = shown[instance]["ui"]
        if page is not None:  # Airflow 2's Flask UI: the summary, HTML-escaped
            assert summary.replace("<", "&lt;").replace(">", "&gt;").split("'")[0] in page
            assert_no_identifier(page)
