"""OpenLineage datasets of the provider's tasks (the real Airflow run: tests/e2e/test_lineage_e2e.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_pinterest_audiences.lineage import (
    audience_lineage,
    source_location,
    sql_tables,
    upload_lineage,
)

ACCOUNT = "549755885175"


@pytest.mark.parametrize(
    ("source", "location"),
    [
        ("s3://bucket/crm/customers.csv", ("s3://bucket", "crm/customers.csv")),
        ("file:///data/customers.csv", ("file", "/data/customers.csv")),
        ("/data/customers.csv", ("file", "/data/customers.csv")),
        (Path("/data/x.csv"), ("file", "/data/x.csv")),
        (["a@example.com"], None),
    ],
)
def test_source_location(source: object, location: tuple[str, str] | None) -> None:
    assert source_location(source) == location


def test_sql_tables_are_named_in_the_connections_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CRM", json.dumps({"conn_type": "postgres", "host": "db.internal", "port": 5432})
    )

    tables = sql_tables("SELECT c.email FROM crm.customers c JOIN crm.optins o ON o.id = c.id", "crm")

    assert sorted(tables) == [
        ("postgres://db.internal:5432", "crm.customers"),
        ("postgres://db.internal:5432", "crm.optins"),
    ]


def test_a_dry_run_upload_has_inputs_but_no_output() -> None:
    summary = {
        "customer_list_id": "3969491",
        "dry_run": True,
        "read": 10,
        "valid": 9,
        "invalid": {"missing": 1},
    }

    lineage = upload_lineage(ACCOUNT, [("file", "/data/x.csv")], summary)

    assert lineage.outputs == []
    (read,) = lineage.inputs
    assert read.inputFacets["inputStatistics"].rowCount == 10
    assert read.inputFacets["pinterestUpload"].invalid == {"missing": 1}


def test_an_actalike_audience_reads_its_seed_audiences() -> None:
    lineage = audience_lineage(ACCOUNT, "9", {"seed_id": ["7", "8"], "country": "US", "percentage": 1})

    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        ("pinterest", f"ad_accounts/{ACCOUNT}/audiences/7"),
        ("pinterest", f"ad_accounts/{ACCOUNT}/audiences/8"),
    ]
    assert [d.name for d in lineage.outputs] == [f"ad_accounts/{ACCOUNT}/audiences/9"]
