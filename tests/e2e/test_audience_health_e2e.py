"""The audience-health example under a real ``airflow dags test``: three refreshes of a growing customer
list, then the health DAG keeps one table row per refresh (from the Asset events' extras) and draws the PNG.

Set ``PINTEREST_HEALTH_PNG`` to also copy the plot there (how docs/images/audience-health.png is made).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from scripts.demo import EXAMPLE_DAGS, prepare_airflow

pytestmark = pytest.mark.e2e

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def customer_csv(path: Path, rows: int) -> str:
    """The first ``rows`` customers of the sample CSV (header kept)."""
    lines = (EXAMPLE_DAGS / "data" / "customers.csv").read_text().splitlines()
    path.write_text("\n".join(lines[: rows + 1]) + "\n")
    return str(path)


def test_health_table_and_plot_over_three_refreshes(tmp_path: Path) -> None:
    settings = EmulatorSettings(
        audience_initializing_seconds=0.2,
        audience_processing_seconds=0.5,
        customer_list_processing_seconds=0.2,
    )
    health_db = tmp_path / "health.db"
    plot = tmp_path / "audience-health.png"
    with EmulatorServer(settings, host="127.0.0.1", port=0) as server:
        airflow = prepare_airflow(
            tmp_path / "home",
            server.connection_json(),
            server.base_url.removesuffix("/v5"),
            PINTEREST_AD_ACCOUNT_ID=settings.ad_account_id,
            AIRFLOW_CONN_PINTEREST_HEALTH_DB=json.dumps({"conn_type": "sqlite", "host": str(health_db)}),
        )
        # Airflow 2.11's ``dags test`` records Dataset events only for datasets already in the database.
        assert airflow.run("dags", "reserialize").returncode == 0
        for rows in (500, 1500, 3000):
            conf = {
                "customers_csv": customer_csv(tmp_path / f"customers-{rows}.csv", rows),
                "poll_interval": 0.5,
            }
            result = airflow.dag_test("pinterest_audience_refresh", conf)
            assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
        result = airflow.dag_test("pinterest_audience_health", {"plot_path": str(plot)})
        assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]

    with sqlite3.connect(health_db) as db:
        table = db.execute(
            "SELECT status, size, sent, match_rate FROM audience_health ORDER BY event_time"
        ).fetchall()
    assert [status for status, *_ in table] == ["READY"] * 3
    sizes = [size for _, size, _, _ in table]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert all(rate == round(size / sent, 4) and 0.5 < rate < 0.9 for _, size, sent, rate in table)
    assert plot.read_bytes().startswith(PNG_SIGNATURE)
    if os.environ.get("PINTEREST_HEALTH_PNG"):
        shutil.copyfile(plot, os.environ["PINTEREST_HEALTH_PNG"])
