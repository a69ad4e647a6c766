"""Every example DAG under a real ``airflow dags test`` against the emulator: clean, faulty, killed."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from scripts.demo import DAG_IDS, EXAMPLE_DAGS, DemoAirflow, emulator_get, prepare_airflow

pytestmark = pytest.mark.e2e

EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEVICE_ID_SHAPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
FAST = {"customer_list_processing_seconds": 1.0, "audience_initializing_seconds": 1.0}


def sample_emails() -> list[str]:
    with (EXAMPLE_DAGS / "data" / "customers.csv").open(newline="") as source:
        return [row["email"] for row in csv.DictReader(source)]


def expected_hashes(emails: list[str]) -> set[str]:
    """Independent of the provider's code: trim, lowercase, shape check, SHA-256 hex."""
    normalised = (e.strip().lower() for e in emails)
    return {hashlib.sha256(e.encode()).hexdigest() for e in normalised if EMAIL_SHAPE.match(e)}


def account_state(root: str, account_id: str) -> dict[str, Any]:
    state: dict[str, Any] = emulator_get(root, "/_emulator/summary")["ad_accounts"][account_id]
    return state


def lists_named(root: str, account_id: str, name: str) -> list[dict[str, Any]]:
    return [c for c in account_state(root, account_id)["customer_lists"] if c["name"] == name]


def members(root: str, account_id: str, list_id: str) -> set[str]:
    records = emulator_get(root, f"/_emulator/ad_accounts/{account_id}/customer_lists/{list_id}/records")
    return set(records["members"])


def assert_no_duplicate_names(root: str, account_id: str) -> None:
    state = account_state(root, account_id)
    for kind in ("customer_lists", "audiences"):
        names = [item["name"] for item in state[kind] if item.get("status") != "ARCHIVED"]
        assert len(names) == len(set(names)), f"duplicate {kind}: {sorted(names)}"


def crm_export_hashes() -> dict[str, set[str]]:
    """Independent of the provider's code: the EMAIL and MAID lists the CRM export example must fill."""
    with (EXAMPLE_DAGS / "data" / "crm_export.csv").open(newline="") as source:
        rows = list(csv.DictReader(source))
    gaids = (row["gaid"].strip().lower() for row in rows)
    valid_gaids = {g for g in gaids if DEVICE_ID_SHAPE.match(g) and set(g) != {"0", "-"}}
    return {
        "EMAIL": expected_hashes([row["email"] for row in rows]),
        "MAID": {hashlib.sha256(g.encode()).hexdigest() for g in valid_gaids},
    }


def assert_example_outcome(root: str, account_id: str) -> None:
    """The state every complete set of example runs must leave behind."""
    emails = sample_emails()
    for list_type, hashes in crm_export_hashes().items():
        (crm_export,) = lists_named(root, account_id, f"CRM export ({list_type})")
        assert crm_export["list_type"] == list_type
        assert members(root, account_id, crm_export["id"]) == hashes
    crm = lists_named(root, account_id, "CRM customers")
    assert len(crm) == 1
    assert members(root, account_id, crm[0]["id"]) == expected_hashes(emails)
    sharded = lists_named(root, account_id, "Sharded CRM upload")
    assert len(sharded) == 1
    assert members(root, account_id, sharded[0]["id"]) == expected_hashes(emails)
    mirror = lists_named(root, account_id, "CRM nightly mirror")
    assert len(mirror) == 1
    opted_in = [e for i, e in enumerate(emails) if i % 10 != 0]  # seed_crm_database's opt-in rule
    assert members(root, account_id, mirror[0]["id"]) == expected_hashes(opted_in)
    audiences = {a["name"]: a for a in account_state(root, account_id)["audiences"]}
    assert audiences["CRM customers"]["status"] == "READY"
    assert audiences["CRM customers actalike 5%"]["rule"]["seed_id"] == [audiences["CRM customers"]["id"]]
    assert audiences["Checkout visitors, last 30 days"]["status"] == "READY"
    assert audiences["Clickers and savers, last 60 days"]["status"] == "READY"
    targeted = [
        g for g in account_state(root, account_id)["ad_groups"] if "AUDIENCE_INCLUDE" in g["targeting_spec"]
    ]
    assert [g["targeting_spec"]["AUDIENCE_INCLUDE"] for g in targeted] == [
        [audiences["CRM customers actalike 5%"]["id"]]
    ]
    assert targeted[0]["targeting_spec"]["AUDIENCE_EXCLUDE"] == [audiences["CRM customers"]["id"]]
    assert_no_duplicate_names(root, account_id)


def assert_no_secrets(text: str, settings: EmulatorSettings) -> None:
    for secret in (settings.access_token, settings.client_secret, settings.refresh_token):
        assert secret not in text
    leaked = [e for e in sample_emails() if e.strip() and e.strip() in text]
    assert not leaked, f"{len(leaked)} raw emails in the logs, e.g. {leaked[0]!r}"


def task_logs(home: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in (home / "logs").rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def clean_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DemoAirflow, str, EmulatorSettings]]:
    settings = EmulatorSettings(**FAST)
    with EmulatorServer(settings, host="127.0.0.1", port=0) as server:
        root = server.base_url.removesuffix("/v5")
        airflow = prepare_airflow(tmp_path_factory.mktemp("airflow-clean"), server.connection_json(), root)
        yield airflow, root, settings


@pytest.mark.parametrize(
    "dag_id",
    [
        dag_id
        if dag_id == "pinterest_customer_list_audience"
        else pytest.param(dag_id, marks=pytest.mark.airflow3_only)
        for dag_id in DAG_IDS
    ],
)
def test_example_dag_succeeds(clean_run: tuple[DemoAirflow, str, EmulatorSettings], dag_id: str) -> None:
    airflow, _, settings = clean_run
    result = airflow.dag_test(dag_id)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert_no_secrets(result.stdout + result.stderr, settings)


@pytest.mark.airflow3_only
def test_clean_runs_leave_exactly_the_expected_state(
    clean_run: tuple[DemoAirflow, str, EmulatorSettings],
) -> None:
    airflow, root, settings = clean_run
    for dag_id in DAG_IDS:  # after the runs above, another full round must change nothing
        assert airflow.dag_test(dag_id).returncode == 0, dag_id
    assert_example_outcome(root, settings.ad_account_id)
    assert_no_secrets(task_logs(airflow.home), settings)


@pytest.mark.airflow3_only
def test_every_example_dag_survives_throttling_outages_and_token_expiry(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = EmulatorSettings(**FAST, fail_every_n=9, rate_limit_storm=5, access_token_max_requests=10)
    with EmulatorServer(settings, host="127.0.0.1", port=0) as server:
        root = server.base_url.removesuffix("/v5")
        connection = json.loads(server.connection_json())
        connection["extra"]["oauth_variable"] = "pinterest_default_tokens"  # rotation-safe set-up
        airflow = prepare_airflow(tmp_path_factory.mktemp("airflow-faults"), json.dumps(connection), root)
        outputs = []
        for dag_id in DAG_IDS:
            result = airflow.dag_test(dag_id)
            outputs.append(result.stdout + result.stderr)
            assert result.returncode == 0, f"{dag_id}:\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
        report = emulator_get(root, "/_emulator/requests")
        assert report["by_status"].get("503", 0) > 0
        assert report["by_status"].get("429", 0) > 0
        assert report["by_status"].get("401", 0) > 0
        assert_example_outcome(root, settings.ad_account_id)
        assert_no_secrets("\n".join(outputs) + task_logs(airflow.home), settings)


KILLED_UPLOAD_DAG = """
import pendulum
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator

with DAG("e2e_killed_upload", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    PinterestUploadCustomerListOperator(
        task_id="upload", customer_list_name="Killed upload", source="{source}", column="email",
        has_header=True, max_records_per_request=100,
    )
"""


@pytest.mark.airflow3_only
def test_a_task_killed_mid_upload_and_retried_ends_like_a_clean_run(tmp_path: Path) -> None:
    settings = EmulatorSettings(**FAST, latency_ms=150)
    dags = tmp_path / "dags"
    shutil.copytree(EXAMPLE_DAGS, dags)
    source = EXAMPLE_DAGS / "data" / "customers.csv"
    (dags / "e2e_killed_upload.py").write_text(KILLED_UPLOAD_DAG.format(source=source))
    with EmulatorServer(settings, host="127.0.0.1", port=0) as server:
        root = server.base_url.removesuffix("/v5")
        airflow = prepare_airflow(
            tmp_path / "home", server.connection_json(), root, AIRFLOW__CORE__DAGS_FOLDER=str(dags)
        )
        first = subprocess.Popen(
            [sys.executable, "-m", "airflow", "dags", "test", "e2e_killed_upload"],
            env=airflow.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        uploaded = 0
        while time.monotonic() < deadline and uploaded < 500:
            killed = lists_named(root, settings.ad_account_id, "Killed upload")
            uploaded = killed[0]["num_uploaded_user_records"] if killed else 0
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        partial = lists_named(root, settings.ad_account_id, "Killed upload")
        assert partial, "the first try never started uploading"
        assert len(members(root, settings.ad_account_id, partial[0]["id"])) < len(
            expected_hashes(sample_emails())
        )

        retry = airflow.run("dags", "test", "e2e_killed_upload")

        assert retry.returncode == 0, retry.stdout[-5000:] + retry.stderr[-5000:]
        after = lists_named(root, settings.ad_account_id, "Killed upload")
        assert len(after) == 1
        assert members(root, settings.ad_account_id, after[0]["id"]) == expected_hashes(sample_emails())
