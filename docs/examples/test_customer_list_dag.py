"""A test of your own DAG against the Pinterest emulator, in your own CI, without Pinterest credentials.

Copy it next to your DAG tests and change ``DAG_ID``, the conf and the names. The ``pinterest_emulator``
fixture comes with the provider (a pytest plugin). Airflow 3's ``dag.test()`` needs a migrated metadata
database (``airflow db migrate``) and the DAG inside ``AIRFLOW__CORE__DAGS_FOLDER``. Here the DAG is the
provider's ``example_dags/pinterest_customer_list_audience.py``: upload a CSV of customers, create an
audience, wait for it in a deferred sensor, create an actalike, and target an ad group.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_provider_pinterest_audiences.testing.emulator_client import PinterestEmulator
from airflow_provider_pinterest_audiences.testing.hashing import hash_identifiers

DAG_ID = "pinterest_customer_list_audience"
# Normalised by the operator before hashing; an audience needs at least 100 members.
CUSTOMERS = [f"Customer{i}@Example.com " for i in range(150)]


@pytest.mark.pinterest_emulator(clock_speed=20, min_audience_size=10)
def test_customer_list_dag(pinterest_emulator: PinterestEmulator, tmp_path: Path) -> None:
    export = tmp_path / "customers.csv"
    with export.open("w", newline="") as file:
        csv.writer(file).writerows([["email"], *([email] for email in CUSTOMERS)])
    ad_group_id = pinterest_emulator.ad_groups()[0]["id"]
    dag = DagBag().get_dag(DAG_ID)

    run = dag.test(run_conf={"customers_csv": str(export), "ad_group_id": ad_group_id, "poll_interval": 1})

    assert run.state == "success"
    assert pinterest_emulator.members("CRM customers") == set(hash_identifiers(CUSTOMERS))
    customers = pinterest_emulator.audience("CRM customers")
    assert customers["status"] == "READY"
    assert customers["size"] > 0
    actalike = pinterest_emulator.audience("CRM customers actalike 5%")
    targeting = pinterest_emulator.targeting(ad_group_id)
    assert targeting["AUDIENCE_INCLUDE"] == [actalike["id"]]
    assert targeting["AUDIENCE_EXCLUDE"] == [customers["id"]]
    # Every request succeeded and no token refresh was needed.
    assert all(request["status"] < 400 for request in pinterest_emulator.requests())
    assert pinterest_emulator.requests("oauth") == []
