"""The demo: every example DAG under ``airflow dags test`` against the local Pinterest emulator.

Starts the emulator on a free loopback port, prepares a throwaway ``AIRFLOW_HOME`` (SQLite metadata DB,
the example DAGs as the DAGs folder, a SQLite "CRM" table for the nightly sync), runs each example DAG,
prints the customer lists and audiences the emulator now holds, and exits non-zero if anything failed.
Then the privacy-erasure example runs against an emulator of its own (its erase reaches every list of every
ad account, so it would change the other examples' lists): a night erasing a stranger, then a night with
the sample erasure feed. The end-to-end tests drive the same functions.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = REPO / "example_dags"
SAMPLE_CUSTOMERS = EXAMPLE_DAGS / "data" / "customers.csv"
DAG_IDS = (
    "pinterest_customer_list_audience",
    "pinterest_site_visitor_audience",
    "pinterest_engagement_audience",
    "pinterest_nightly_customer_sync",
    "pinterest_sharded_upload",
    "pinterest_crm_identifier_types",
)
PRIVACY_DAG_ID = "pinterest_privacy_erasure"
PARTNER_AD_ACCOUNT_ID = "549755885176"
"""The privacy example's second ad account, holding a list another team uploaded."""
PARTNER_LIST_NAME = "Partner newsletter"
POLL_INTERVAL_SECONDS = 1
UPLOAD_LINE = re.compile(
    r"Customer list (?P<id>\d+) \((?P<type>\w+), \w+\): read \d+, valid \d+, invalid (?P<invalid>\d+) "
    r"\([^)]*\), duplicates (?P<duplicates>\w+), added (?P<added>\d+), removed (?P<removed>\d+)"
)
"""The line ``PinterestUploadCustomerListOperator`` logs for each list it uploaded (one per type)."""


@dataclass(frozen=True)
class DemoAirflow:
    """A throwaway Airflow installation wired to one emulator."""

    home: Path
    env: dict[str, str]
    emulator_root: str

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def dag_conf(self, dag_id: str) -> dict[str, Any]:
        conf: dict[str, Any] = {"poll_interval": POLL_INTERVAL_SECONDS}
        if dag_id == "pinterest_customer_list_audience":
            conf["ad_group_id"] = first_ad_group_id(self.emulator_root, self.env)
        if dag_id == "pinterest_nightly_customer_sync":
            conf["state_path"] = (self.home / "state" / "crm_mirror.snapshot").as_uri()
        if dag_id == "pinterest_sharded_upload":
            conf["shard_dir"] = str(self.home / "shards")
        if dag_id == PRIVACY_DAG_ID:
            conf["state_dir"] = (self.home / "privacy").as_uri()
        return conf

    def dag_test(
        self, dag_id: str, conf: Mapping[str, Any] | None = None
    ) -> subprocess.CompletedProcess[str]:
        merged = {**self.dag_conf(dag_id), **(conf or {})}
        return self.run("dags", "test", dag_id, "-c", json.dumps(merged))

    def rewired(self, connection_json: str, emulator_root: str) -> DemoAirflow:
        """The same Airflow home (and metadata DB) with ``pinterest_default`` pointing at another emulator."""
        env = {**self.env, "AIRFLOW_CONN_PINTEREST_DEFAULT": connection_json}
        return DemoAirflow(home=self.home, env=env, emulator_root=emulator_root)

    def latest_xcom(self, dag_id: str, task_id: str, key: str = "return_value") -> Any:
        """What ``task_id`` pushed under ``key`` in the DAG's latest run (the SQLite metadata DB)."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            row = db.execute(
                "SELECT value FROM xcom WHERE dag_id = ? AND task_id = ? AND key = ? "
                "ORDER BY dag_run_id DESC LIMIT 1",
                (dag_id, task_id, key),
            ).fetchone()
        if row is None:
            raise LookupError(f"no XCom {key!r} of {dag_id}.{task_id}")
        return json.loads(row[0])


def emulator_get(root: str, path: str) -> Any:
    with urllib.request.urlopen(f"{root}{path}", timeout=30) as response:
        return json.load(response)


def seed_partner_list(airflow: DemoAirflow) -> str:
    """A list of the sample customers' hashed emails in the partner account, created through the API."""
    with SAMPLE_CUSTOMERS.open(newline="") as source:
        emails = {row["email"].strip().lower() for row in csv.DictReader(source)}
    digests = sorted(hashlib.sha256(email.encode()).hexdigest() for email in emails if "@" in email)
    connection = json.loads(airflow.env["AIRFLOW_CONN_PINTEREST_DEFAULT"])
    request = urllib.request.Request(
        f"{connection['host']}/ad_accounts/{PARTNER_AD_ACCOUNT_ID}/customer_lists",
        data=json.dumps({"name": PARTNER_LIST_NAME, "records": ",".join(digests)}).encode(),
        headers={"Authorization": f"Bearer {connection['password']}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["id"])


def first_ad_group_id(emulator_root: str, env: Mapping[str, str]) -> str:
    """The first seeded ad group of the connection's ad account (from the emulator's inspection API)."""
    account = json.loads(env["AIRFLOW_CONN_PINTEREST_DEFAULT"])["extra"]["ad_account_id"]
    return str(
        emulator_get(emulator_root, "/_emulator/summary")["ad_accounts"][account]["ad_groups"][0]["id"]
    )


def seed_crm_database(path: Path, customers_csv: Path = SAMPLE_CUSTOMERS) -> int:
    """A SQLite ``customers`` table built from the sample CSV; returns the number of opted-in rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db, customers_csv.open(newline="") as source:
        db.execute("DROP TABLE IF EXISTS customers")
        db.execute("CREATE TABLE customers (email TEXT, first_name TEXT, marketing_opt_in INTEGER)")
        rows = [(r["email"], r["first_name"], int(i % 10 != 0)) for i, r in enumerate(csv.DictReader(source))]
        db.executemany("INSERT INTO customers VALUES (?, ?, ?)", rows)
        return sum(opt_in for _, _, opt_in in rows)


def prepare_airflow(home: Path, connection_json: str, emulator_root: str, **extra_env: str) -> DemoAirflow:
    """A migrated Airflow home whose DAGs folder is ``example_dags`` and whose connections point here."""
    home.mkdir(parents=True, exist_ok=True)
    crm = home / "crm.db"
    seed_crm_database(crm)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW_", "AIRFLOW__", "PINTEREST_EMULATOR_"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_PINTEREST_DEFAULT": connection_json,
            "AIRFLOW_CONN_CRM_DB": json.dumps({"conn_type": "sqlite", "host": str(crm)}),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")])),
            **extra_env,
        }
    )
    airflow = DemoAirflow(home=home, env=env, emulator_root=emulator_root)
    migrated = airflow.run("db", "migrate")
    if migrated.returncode != 0:
        raise RuntimeError(
            f"airflow db migrate failed:\n{migrated.stdout[-3000:]}\n{migrated.stderr[-3000:]}"
        )
    return airflow


def print_summary(emulator_root: str) -> None:
    """What the emulator now holds: every customer list and audience, per ad account."""
    summary = emulator_get(emulator_root, "/_emulator/summary")
    for account_id, account in summary["ad_accounts"].items():
        print(f"\nAd account {account_id}")
        for item in account["customer_lists"]:
            print(
                f"  customer list {item['id']:>15}  {item['status']:<11} {item['member_count']:>6} members "
                f"({item['num_uploaded_user_records']} uploaded, {item['num_removed_user_records']} removed)"
                f"  {item['name']}"
            )
        for item in account["audiences"]:
            print(
                f"  audience      {item['id']:>15}  {item['status']:<11} size {item['size']:>7}  "
                f"{item['audience_type']:<13} {item['name']}"
            )


def upload_lines(task_output: str) -> list[str]:
    """One line per customer list a DAG run uploaded: type, records sent, invalid, duplicates, list id."""
    return [
        f"    {match['type']:<17} sent {int(match['added']) + int(match['removed']):>6}  invalid "
        f"{match['invalid']:>5}  duplicates {match['duplicates']:>5}  customer list {match['id']}"
        for match in UPLOAD_LINE.finditer(task_output)
    ]


def customer_lists(emulator_root: str) -> dict[str, dict[str, Any]]:
    """Every customer list the emulator holds, by id, with its ``ad_account_id``."""
    summary = emulator_get(emulator_root, "/_emulator/summary")
    return {
        item["id"]: {**item, "ad_account_id": account_id}
        for account_id, account in summary["ad_accounts"].items()
        for item in account["customer_lists"]
    }


def erasure_night(
    airflow: DemoAirflow, conf: Mapping[str, Any]
) -> tuple[subprocess.CompletedProcess[str], str]:
    """One run of the privacy example and a line of what it did (from the lists and the mirror's summary)."""
    before = customer_lists(airflow.emulator_root)
    result = airflow.dag_test(PRIVACY_DAG_ID, conf)
    if result.returncode != 0:
        return result, ""
    after = customer_lists(airflow.emulator_root)
    touched = [
        list_id
        for list_id, item in before.items()
        if after[list_id]["num_removed_user_records"] > item["num_removed_user_records"]
    ]
    removed = sum(before[list_id]["member_count"] - after[list_id]["member_count"] for list_id in touched)
    mirror = airflow.latest_xcom(PRIVACY_DAG_ID, "mirror_newsletter", "upload_summary")
    accounts = {after[list_id]["ad_account_id"] for list_id in touched}
    return result, (
        f"{len(touched)} lists in {len(accounts)} ad accounts touched, {removed} identifiers removed; "
        f"the mirror suppressed {mirror['suppressed']}, sent {mirror['added'] + mirror['removed']}"
    )


def demo_privacy_erasure(airflow: DemoAirflow) -> bool:
    """The privacy example, two nights, against a fresh emulator with a partner account; False on failure."""
    from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
    from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings

    settings = EmulatorSettings.from_env(ad_account_ids=(PARTNER_AD_ACCOUNT_ID,))
    stranger = airflow.home / "erased-stranger.csv"  # a deletion request from nobody the lists hold
    stranger.write_text("email\nnever.a.customer@example.com\n")
    with EmulatorServer(settings, host="127.0.0.1", port=0) as server:
        eraser = airflow.rewired(server.connection_json(), server.base_url.removesuffix("/v5"))
        seed_partner_list(eraser)
        nights = [("a stranger", {"erased_emails": str(stranger)}), ("erased_emails.csv", {})]
        for night, (feed, conf) in enumerate(nights):
            started = time.monotonic()
            result, line = erasure_night(eraser, conf)
            status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
            print(f"{PRIVACY_DAG_ID + f' night {night}':<40} {status}  {time.monotonic() - started:5.1f} s")
            if result.returncode != 0:
                print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
                return False
            print(f"    feed {feed}: {line}")
    return True


def main() -> int:
    from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
    from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings

    home = Path(tempfile.mkdtemp(prefix="pinterest-demo-"))
    failures: list[str] = []
    with EmulatorServer(EmulatorSettings.from_env(), host="127.0.0.1", port=0) as server:
        root = server.base_url.removesuffix("/v5")
        print(f"Pinterest emulator at {server.base_url}; Airflow home {home}")
        airflow = prepare_airflow(home, server.connection_json(), root)
        for dag_id in DAG_IDS:
            started = time.monotonic()
            result = airflow.dag_test(dag_id)
            status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
            print(f"{dag_id:<40} {status}  {time.monotonic() - started:5.1f} s")
            for line in upload_lines(result.stdout + result.stderr):
                print(line)
            if result.returncode != 0:
                failures.append(dag_id)
                print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
        print_summary(root)
    print()
    if not demo_privacy_erasure(airflow):
        failures.append(PRIVACY_DAG_ID)
    if failures:
        print(f"\nFailed: {', '.join(failures)} (Airflow home kept at {home})")
        return 1
    shutil.rmtree(home, ignore_errors=True)
    print("\nAll example DAGs succeeded.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
