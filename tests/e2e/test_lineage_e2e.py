"""OpenLineage events and Asset-event extras under a real ``airflow dags test`` (Airflow 3 and 2.11).

The OpenLineage provider's file transport writes every event to a file; the test reads the COMPLETE
events of an upload, a customer-list audience and an ad-group update and checks their datasets.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from scripts.demo import EXAMPLE_DAGS, emulator_get, prepare_airflow

pytestmark = pytest.mark.e2e

DAG_ID = "e2e_lineage"
DAG_FILE = """
import pendulum
from airflow.providers.common.compat.sdk import DAG, Asset, XComArg
from airflow_provider_pinterest_audiences.operators import ad_group, audience, customer_list

with DAG({dag_id!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    upload = customer_list.PinterestUploadCustomerListOperator(
        task_id="upload", customer_list_name="Lineage list", source={csv!r}, has_header=True,
        column="email", hashing_processes=1, outlets=[Asset("pinterest://customer_lists/lineage")],
    )
    buyers = audience.PinterestCreateCustomerListAudienceOperator(
        task_id="audience", ad_account_id={account!r}, name="Lineage buyers", customer_list_id=upload.output,
        wait_for_ready=True, deferrable=False, poll_interval=0.5,
        sent_count=XComArg(upload, key="upload_summary"), min_match_rate=0.3,
    )
    ad_group.PinterestUpdateAdGroupAudiencesOperator(
        task_id="target", ad_group_ids=[{group!r}], include=[buyers.output]
    )
"""


def complete_events(path: Path) -> dict[str, dict[str, Any]]:
    """The COMPLETE event of each task, by task id."""
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {
        event["job"]["name"].rsplit(".", 1)[1]: event
        for event in events
        if event["eventType"] == "COMPLETE" and event["job"]["name"].startswith(f"{DAG_ID}.")
    }


def datasets(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item["namespace"], item["name"]) for item in items]


def asset_event_extras(home: Path) -> list[dict[str, Any]]:
    table = "asset_event"
    with sqlite3.connect(home / "airflow.db") as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if table not in names:
            table = "dataset_event"  # Airflow 2.11
        return [json.loads(row[0]) for row in db.execute(f"SELECT extra FROM {table}")]  # noqa: S608


def test_lineage_events_and_asset_extras(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(EXAMPLE_DAGS, dags)
    csv = str(EXAMPLE_DAGS / "data" / "customers.csv")
    lineage_file = tmp_path / "openlineage.jsonl"
    settings = EmulatorSettings(
        audience_initializing_seconds=0.2,
        audience_processing_seconds=0.5,
        customer_list_processing_seconds=0.2,
    )
    with EmulatorServer(settings, host="127.0.0.1", port=0) as server:
        root = server.base_url.removesuffix("/v5")
        account = settings.ad_account_id
        group = emulator_get(root, "/_emulator/summary")["ad_accounts"][account]["ad_groups"][0]["id"]
        (dags / f"{DAG_ID}.py").write_text(
            DAG_FILE.format(dag_id=DAG_ID, csv=csv, account=account, group=group)
        )
        airflow = prepare_airflow(
            tmp_path / "home",
            server.connection_json(),
            root,
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            AIRFLOW__OPENLINEAGE__NAMESPACE="e2e",
            AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(
                {"type": "file", "log_file_path": str(lineage_file), "append": True}
            ),
        )
        # Airflow 2.11's ``dags test`` records Dataset events only for datasets already in the database.
        reserialized = airflow.run("dags", "reserialize")
        assert reserialized.returncode == 0, reserialized.stderr[-5000:]
        result = airflow.run("dags", "test", DAG_ID)
        assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
        summary = emulator_get(root, "/_emulator/summary")["ad_accounts"][account]

    list_id = next(item["id"] for item in summary["customer_lists"] if item["name"] == "Lineage list")
    audience_id = next(item["id"] for item in summary["audiences"] if item["name"] == "Lineage buyers")
    events = complete_events(lineage_file)

    upload = events["upload"]
    assert datasets(upload["inputs"]) == [("file", csv)]
    read = upload["inputs"][0]["inputFacets"]
    assert read["inputStatistics"]["rowCount"] == 3000
    assert read["pinterestUpload"]["read"] == 3000
    assert read["pinterestUpload"]["valid"] + sum(read["pinterestUpload"]["invalid"].values()) == 3000
    assert datasets(upload["outputs"]) == [("pinterest", f"ad_accounts/{account}/customer_lists/{list_id}")]
    assert (
        upload["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"]
        == read["pinterestUpload"]["valid"]
    )

    audience = events["audience"]
    assert datasets(audience["inputs"]) == [("pinterest", f"ad_accounts/{account}/customer_lists/{list_id}")]
    assert datasets(audience["outputs"]) == [("pinterest", f"ad_accounts/{account}/audiences/{audience_id}")]

    target = events["target"]
    assert datasets(target["inputs"]) == [("pinterest", f"ad_accounts/{account}/audiences/{audience_id}")]
    assert datasets(target["outputs"]) == [("pinterest", f"ad_accounts/{account}/ad_groups/{group}")]

    extras = asset_event_extras(tmp_path / "home")
    (uploaded,) = [extra for extra in extras if extra.get("id") == list_id]
    assert (uploaded["read"], uploaded["valid"], uploaded["dry_run"]) == (
        3000,
        read["pinterestUpload"]["valid"],
        False,
    )
    (extra,) = [extra for extra in extras if extra.get("id") == audience_id]
    assert extra["status"] == "READY"
    assert extra["sent"] == read["pinterestUpload"]["valid"]
    assert extra["match_rate"] == round(extra["size"] / extra["sent"], 4)
