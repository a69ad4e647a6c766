"""Deployment test: parallel tasks that all refresh the rotating OAuth token at the same moment.

Each mapped task waits for the same wall-clock instant (``start_at`` in the run's conf), then calls the
API with an access token the emulator has just expired, so every task refreshes at once and the newest
token pair is fought over in the Airflow Variable, on PostgreSQL.
"""

from __future__ import annotations

import time

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

TASKS = 6

with DAG(
    "deployment_token_race",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=TASKS,
):

    @task(retries=0)  # type: ignore[untyped-decorator]
    def call_at_the_barrier(index: int, start_at: str, ad_account_id: str) -> dict[str, float]:
        barrier, arrived = float(start_at), time.time()
        if arrived > barrier:
            raise RuntimeError(f"task {index} reached the barrier {arrived - barrier:.1f} s late")
        time.sleep(barrier - arrived)
        hook = PinterestHook()
        audiences = list(hook.list_audiences(ad_account_id))
        lists = list(hook.list_customer_lists(ad_account_id))
        return {"waited": barrier - arrived, "audiences": len(audiences), "customer_lists": len(lists)}

    call_at_the_barrier.partial(
        start_at="{{ dag_run.conf['start_at'] }}", ad_account_id="{{ dag_run.conf['ad_account_id'] }}"
    ).expand(index=list(range(TASKS)))
