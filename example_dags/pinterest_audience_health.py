"""Audience health over time: a table of each run's size and match rate, and a plot of it.

``pinterest_audience_refresh`` uploads the CRM customers and waits until the customer-list audience is
READY; its run's figures (size, status, identifiers sent, estimated match rate) travel as extras on the
audience's Asset event, and a match rate under 50% only warns. ``pinterest_audience_health`` runs after
each such event (scheduled on the Asset): it copies every event of the Asset into a SQLite table
through an Airflow connection and draws size and match rate over runs to a PNG (needs matplotlib:
``pip install airflow-provider-pinterest-audiences[health]``; without it the table is still kept).

Set ``PINTEREST_AD_ACCOUNT_ID`` to your ad account: the Asset's URI names it, so it must be known when
the DAG is parsed. Connection ``pinterest_health_db``: type ``sqlite``, host = the database file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, BaseHook, Param, XComArg, task

from airflow_provider_pinterest_audiences.assets import audience_asset
from airflow_provider_pinterest_audiences.operators.audience import (
    PinterestCreateCustomerListAudienceOperator,
)
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator

AD_ACCOUNT_ID = os.environ.get("PINTEREST_AD_ACCOUNT_ID", "549755885175")
AUDIENCE_NAME = "CRM customers (health)"
AUDIENCE = audience_asset(AD_ACCOUNT_ID, AUDIENCE_NAME)
HEALTH_DB_CONN_ID = "pinterest_health_db"
SAMPLE_CUSTOMERS = Path(__file__).parent / "data" / "customers.csv"
DEFAULT_PLOT = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / "audience-health.png"
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG(
    dag_id="pinterest_audience_refresh",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["pinterest", "example"],
    params={
        "customers_csv": Param(
            str(SAMPLE_CUSTOMERS), type="string", description="Path or object-storage URI."
        ),
        "poll_interval": Param(900, type="number", description="Seconds between audience status checks."),
    },
):
    upload = PinterestUploadCustomerListOperator(
        task_id="upload_customers",
        ad_account_id=AD_ACCOUNT_ID,
        customer_list_name=AUDIENCE_NAME,
        source="{{ params.customers_csv }}",
        column="email",
        has_header=True,
    )
    PinterestCreateCustomerListAudienceOperator(
        task_id="refresh_audience",
        ad_account_id=AD_ACCOUNT_ID,
        name=AUDIENCE_NAME,
        customer_list_id=upload.output,
        wait_for_ready=True,
        poll_interval="{{ params.poll_interval }}",
        sent_count=XComArg(upload, key="upload_summary"),
        min_match_rate=0.5,
        on_low_match="warn",
    )


HEALTH_TABLE = """
CREATE TABLE IF NOT EXISTS audience_health (
    audience_id TEXT NOT NULL,
    event_time TEXT NOT NULL,
    status TEXT,
    size INTEGER,
    sent INTEGER,
    match_rate REAL,
    PRIMARY KEY (audience_id, event_time)
)
"""

with DAG(
    dag_id="pinterest_audience_health",
    schedule=[AUDIENCE],
    start_date=START,
    catchup=False,
    tags=["pinterest", "example"],
    params={"plot_path": Param(str(DEFAULT_PLOT), type="string", description="Where the PNG is written.")},
):

    @task(inlets=[AUDIENCE])
    def record_health(inlet_events: Any = None) -> int:
        """Every event of the audience's Asset that carries figures, as a row of the health table."""
        rows = [
            (
                str(extra["id"]),
                event.timestamp.isoformat(),
                extra.get("status"),
                extra.get("size"),
                extra.get("sent"),
                extra.get("match_rate"),
            )
            for event in inlet_events[AUDIENCE]
            if "size" in (extra := event.extra or {})
        ]
        hook = BaseHook.get_connection(HEALTH_DB_CONN_ID).get_hook()
        hook.run(HEALTH_TABLE)
        hook.insert_rows(
            "audience_health",
            rows,
            target_fields=["audience_id", "event_time", "status", "size", "sent", "match_rate"],
            replace=True,
            replace_index=["audience_id", "event_time"],
        )
        return len(rows)

    @task
    def draw_plot(params: Any = None) -> str | None:
        """Size and match rate over runs, one line per audience; None without matplotlib."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            from matplotlib.ticker import MaxNLocator
        except ImportError:
            print("matplotlib is not installed (extra 'health'): the table is kept, no plot is drawn.")
            return None
        hook = BaseHook.get_connection(HEALTH_DB_CONN_ID).get_hook()
        records = hook.get_records(
            "SELECT audience_id, event_time, size, match_rate FROM audience_health ORDER BY event_time"
        )
        figure, (sizes, rates) = plt.subplots(2, 1, sharex=True, figsize=(8, 5))
        for audience_id in sorted({row[0] for row in records}):
            runs = [row for row in records if row[0] == audience_id]
            numbers = range(1, len(runs) + 1)
            sizes.plot(numbers, [row[2] for row in runs], marker="o", label=f"audience {audience_id}")
            rates.plot(numbers, [100 * (row[3] or 0) for row in runs], marker="o")
        sizes.set_ylabel("size (matched users)")
        sizes.set_title("Pinterest audience health")
        sizes.legend(loc="upper left")
        rates.set_ylabel("match rate, % (estimate)")
        rates.set_xlabel("run")
        rates.xaxis.set_major_locator(MaxNLocator(integer=True))
        rates.set_ylim(0, 100)
        figure.tight_layout()
        path = Path(params["plot_path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
        plt.close(figure)
        return str(path)

    record_health() >> draw_plot()
