"""Every example DAG imports cleanly: no import errors, no warnings, the expected tasks."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

EXAMPLE_DAGS = Path(__file__).resolve().parents[1] / "example_dags"
EXPECTED_TASKS = {
    "pinterest_customer_list_audience": {
        "upload_customers",
        "create_customer_audience",
        "wait_for_customer_audience",
        "create_actalike_audience",
        "target_ad_group",
    },
    "pinterest_site_visitor_audience": {
        "create_checkout_visitors",
        "wait_for_visitors",
        "create_visitor_actalike",
    },
    "pinterest_engagement_audience": {"create_engagers"},
    "pinterest_nightly_customer_sync": {"mirror_crm_customers"},
    "pinterest_crm_identifier_types": {"upload_identifier_types"},
    "pinterest_privacy_erasure": {"erase_across_accounts", "mirror_newsletter"},
    "pinterest_audience_refresh": {"upload_customers", "refresh_audience"},
    "pinterest_audience_health": {"record_health", "draw_plot"},
    "pinterest_sharded_upload": {
        "split_into_shards",
        "remaining",
        "create_list_from_first_shard",
        "upload_shard",
        "create_sharded_audience",
        "wait_for_sharded_audience",
    },
}


@pytest.fixture(scope="module")
def dag_bag() -> object:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bag = DagBag(dag_folder=str(EXAMPLE_DAGS))  # examples are off: AIRFLOW__CORE__LOAD_EXAMPLES
    ours = [
        w
        for w in caught
        if "example_dags" in str(w.filename) or "airflow_provider_pinterest" in str(w.filename)
    ]
    assert not ours, [f"{w.filename}:{w.lineno}: {w.message}" for w in ours]
    return bag


def test_no_import_errors(dag_bag: object) -> None:
    assert dag_bag.import_errors == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_TASKS))
def test_dag_has_its_tasks(dag_bag: object, dag_id: str) -> None:
    dag = dag_bag.dags[dag_id]  # type: ignore[attr-defined]
    assert dag is not None
    assert set(dag.task_ids) == EXPECTED_TASKS[dag_id]
    assert {"pinterest", "example"} <= set(dag.tags)


def test_nightly_sync_is_daily_and_publishes_an_asset(dag_bag: object) -> None:
    dag = dag_bag.dags["pinterest_nightly_customer_sync"]  # type: ignore[attr-defined]
    task = dag.get_task("mirror_crm_customers")
    assert [outlet.uri for outlet in task.outlets] == ["pinterest://customer_lists/crm_nightly_mirror"]
    assert task.mode == "mirror"


def test_the_crm_export_keeps_one_list_per_identifier_type(dag_bag: object) -> None:
    task = dag_bag.dags["pinterest_crm_identifier_types"].get_task("upload_identifier_types")  # type: ignore[attr-defined]
    assert task.columns == {"EMAIL": "email", "MAID": "gaid"}
    assert task.list_type is None


def test_the_privacy_erasure_keeps_its_state_under_the_airflow_home(dag_bag: object) -> None:
    dag = dag_bag.dags["pinterest_privacy_erasure"]  # type: ignore[attr-defined]
    assert dag.params["state_dir"] == (Path(os.environ["AIRFLOW_HOME"]) / "pinterest-privacy").as_uri()
