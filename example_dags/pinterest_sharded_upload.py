"""A large list split into shards and uploaded in parallel (dynamic task mapping) into ONE customer list.

The first shard creates the list (get-or-create by name, so re-runs reuse it); the other shards are
mapped over and append to it by id, so no two tasks race to create it. Then one audience, one wait.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_pinterest_audiences.operators.audience import (
    PinterestCreateCustomerListAudienceOperator,
)
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator
from airflow_provider_pinterest_audiences.sensors.audience import PinterestAudienceSensor

SAMPLE_CUSTOMERS = Path(__file__).parent / "data" / "customers.csv"

with DAG(
    dag_id="pinterest_sharded_upload",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pinterest", "example"],
    params={
        "ad_account_id": Param("", type="string", description="Empty: the connection's ad_account_id."),
        "customers_csv": Param(
            str(SAMPLE_CUSTOMERS), type="string", description="A local CSV with a header."
        ),
        "shard_dir": Param(
            "/tmp/pinterest-demo/shards", type="string", description="Where shards are written."
        ),
        "shards": Param(4, type="integer", minimum=2, maximum=64, description="How many parallel uploads."),
        "poll_interval": Param(900, type="number", description="Seconds between audience status checks."),
    },
):

    @task
    def split_into_shards(source: str, shard_dir: str, shards: int) -> list[str]:
        """Round-robin the rows of ``source`` into ``shards`` CSV files with the same header."""
        out = Path(shard_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / f"shard-{i:03d}.csv" for i in range(int(shards))]
        with open(source, newline="") as src:
            reader = csv.reader(src)
            header = next(reader)
            files = [path.open("w", newline="") for path in paths]
            try:
                writers = [csv.writer(f) for f in files]
                for writer in writers:
                    writer.writerow(header)
                for index, row in enumerate(reader):
                    writers[index % len(writers)].writerow(row)
            finally:
                for f in files:
                    f.close()
        return [str(path) for path in paths]

    @task
    def remaining(shard_paths: list[str]) -> list[str]:
        return shard_paths[1:]

    shard_paths = split_into_shards(
        "{{ params.customers_csv }}", "{{ params.shard_dir }}", "{{ params.shards }}"
    )
    create_list = PinterestUploadCustomerListOperator(
        task_id="create_list_from_first_shard",
        ad_account_id="{{ params.ad_account_id }}",
        customer_list_name="Sharded CRM upload",
        source="{{ ti.xcom_pull(task_ids='split_into_shards')[0] }}",
        column="email",
        has_header=True,
    )
    upload_rest = PinterestUploadCustomerListOperator.partial(
        task_id="upload_shard",
        ad_account_id="{{ params.ad_account_id }}",
        customer_list_id=create_list.output,
        column="email",
        has_header=True,
    ).expand(source=remaining(shard_paths))
    audience = PinterestCreateCustomerListAudienceOperator(
        task_id="create_sharded_audience",
        ad_account_id="{{ params.ad_account_id }}",
        name="Sharded CRM upload",
        customer_list_id=create_list.output,
    )
    wait = PinterestAudienceSensor(
        task_id="wait_for_sharded_audience",
        ad_account_id="{{ params.ad_account_id }}",
        audience_id=audience.output,
        poll_interval="{{ params.poll_interval }}",
        deferrable=True,
    )

    shard_paths >> create_list >> upload_rest >> audience >> wait
