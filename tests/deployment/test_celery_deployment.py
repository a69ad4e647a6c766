"""The built wheel in a production-shaped deployment: PostgreSQL, Redis, CeleryExecutor with two workers,
scheduler, DAG processor, triggerer and API server (see stack.py). Run alone: ``make test-deployment``.

The tests share one deployment and run in file order; the worker kill comes last.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from scripts.demo import first_ad_group_id
from tests.deployment.stack import TOKEN_VARIABLE, WORKERS, Stack, wait_for
from tests.e2e.test_example_dags_e2e import expected_hashes, sample_emails

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(900)]

TRIGGER_CLASS = "airflow_provider_pinterest_audiences.triggers.audience.PinterestAudienceTrigger"
FINISHED = ("success", "failed")


def account(stack: Stack) -> str:
    return str(json.loads(stack.env["AIRFLOW_CONN_PINTEREST_DEFAULT"])["extra"]["ad_account_id"])


def list_named(stack: Stack, name: str) -> dict[str, object]:
    lists = stack.emulator("/_emulator/summary")["ad_accounts"][account(stack)]["customer_lists"]
    (found,) = [item for item in lists if item["name"] == name]
    return dict(found)


def members(stack: Stack, name: str) -> set[str]:
    list_id = list_named(stack, name)["id"]
    records = stack.emulator(f"/_emulator/ad_accounts/{account(stack)}/customer_lists/{list_id}/records")
    return set(records["members"])


def trigger(stack: Stack, dag_id: str, run_id: str, conf: Mapping[str, object]) -> None:
    wait_for(
        lambda: stack.sql("SELECT 1 FROM serialized_dag WHERE dag_id = :'d'", d=dag_id),
        180,
        f"{dag_id} parsed",
    )
    assert stack.airflow("dags", "unpause", dag_id).returncode == 0
    triggered = stack.airflow("dags", "trigger", dag_id, "--run-id", run_id, "--conf", json.dumps(conf))
    assert triggered.returncode == 0, triggered.stdout[-3000:] + triggered.stderr[-3000:]
    stack.note(f"triggered {dag_id} run {run_id}")


def run_state(stack: Stack, dag_id: str, run_id: str) -> str:
    rows = stack.sql("SELECT state FROM dag_run WHERE dag_id = :'d' AND run_id = :'r'", d=dag_id, r=run_id)
    return rows[0][0] if rows else ""


def wait_for_run(stack: Stack, dag_id: str, run_id: str, timeout: float = 300) -> list[list[str]]:
    """Waits for the run to finish; notes and returns its task instances (task, map index, try, host,
    queue, state). Fails with their states when the run did not succeed."""
    wait_for(lambda: run_state(stack, dag_id, run_id) in FINISHED, timeout, f"{dag_id} {run_id} to finish")
    stack.assert_running()
    instances = stack.sql(
        "SELECT task_id, map_index, try_number, hostname, queue, state FROM task_instance "
        "WHERE dag_id = :'d' AND run_id = :'r' ORDER BY start_date, task_id, map_index",
        d=dag_id,
        r=run_id,
    )
    stack.note(f"{dag_id} {run_id}: {run_state(stack, dag_id, run_id)}")
    for task_id, map_index, try_number, host, queue, state in instances:
        shown = task_id if map_index == "-1" else f"{task_id}[{map_index}]"
        stack.note(f"    {shown:<36} try {try_number}  {host:<9} queue {queue:<8} {state}")
    assert run_state(stack, dag_id, run_id) == "success", instances
    return instances


def test_the_deployment_runs_the_installed_wheel(stack: Stack) -> None:
    listed = stack.airflow("providers", "get", "airflow-provider-pinterest-audiences")
    assert listed.returncode == 0, listed.stderr[-2000:]
    module = subprocess.run(
        [str(stack.python), "-c", "import airflow_provider_pinterest_audiences as p; print(p.__file__)"],
        env=stack.env,
        cwd=stack.root,
        capture_output=True,
        text=True,
        check=True,
    )
    location = Path(module.stdout.strip())
    assert location.is_relative_to(stack.root / "venv") and "site-packages" in location.parts
    assert stack.sql("SELECT current_setting('server_version_num')::int > 0") == [["t"]]  # PostgreSQL


def test_the_sharded_upload_runs_its_mapped_shards_on_both_workers(stack: Stack) -> None:
    conf = {"shards": 8, "shard_dir": str(stack.root / "shards"), "poll_interval": 1}
    trigger(stack, "pinterest_sharded_upload", "sharded", conf)

    instances = wait_for_run(stack, "pinterest_sharded_upload", "sharded")

    shard_hosts = {host for task_id, _, _, host, _, _ in instances if task_id == "upload_shard"}
    assert shard_hosts == set(WORKERS)
    assert {host for *_, host, _, _ in instances} <= set(WORKERS)
    assert members(stack, "Sharded CRM upload") == expected_hashes(sample_emails())


def opted_in_emails(crm_db: Path) -> list[str]:
    with sqlite3.connect(crm_db) as db:
        return [email for (email,) in db.execute("SELECT email FROM customers WHERE marketing_opt_in = 1")]


def test_the_nightly_mirror_runs_twice_and_follows_the_table(stack: Stack) -> None:
    crm_db = Path(json.loads(stack.env["AIRFLOW_CONN_CRM_DB"])["host"])
    conf = {"state_path": (stack.root / "state" / "crm_mirror.snapshot").as_uri()}
    trigger(stack, "pinterest_nightly_customer_sync", "mirror-1", conf)
    wait_for_run(stack, "pinterest_nightly_customer_sync", "mirror-1")
    first_night = expected_hashes(opted_in_emails(crm_db))
    assert members(stack, "CRM nightly mirror") == first_night

    with sqlite3.connect(crm_db) as db:  # 100 people opt out before the next night
        db.execute(
            "UPDATE customers SET marketing_opt_in = 0 WHERE rowid IN "
            "(SELECT rowid FROM customers WHERE marketing_opt_in = 1 LIMIT 100)"
        )
    trigger(stack, "pinterest_nightly_customer_sync", "mirror-2", conf)
    wait_for_run(stack, "pinterest_nightly_customer_sync", "mirror-2")

    second_night = expected_hashes(opted_in_emails(crm_db))
    assert members(stack, "CRM nightly mirror") == second_night
    removed = list_named(stack, "CRM nightly mirror")["num_removed_user_records"]
    assert removed == len(first_night - second_night) > 90  # a few of the 100 were never valid emails


def test_the_audience_sensor_defers_to_the_triggerer_and_resumes(stack: Stack) -> None:
    dag_id, sensor = "pinterest_customer_list_audience", "wait_for_customer_audience"
    conf = {"ad_group_id": first_ad_group_id(f"http://127.0.0.1:{stack.emulator_port}", stack.env)}
    trigger(stack, dag_id, "deferred", {**conf, "poll_interval": 1})
    seen: set[str] = set()
    held_by_triggerer: list[list[str]] = []

    def deferred() -> bool:
        rows = stack.sql(
            "SELECT state FROM task_instance WHERE dag_id = :'d' AND run_id = 'deferred' AND task_id = :'t'",
            d=dag_id,
            t=sensor,
        )
        seen.update(state for (state,) in rows)
        held_by_triggerer.extend(
            stack.sql("SELECT classpath, triggerer_id FROM trigger WHERE classpath = :'c'", c=TRIGGER_CLASS)
        )
        return "deferred" in seen and any(triggerer for _, triggerer in held_by_triggerer)

    wait_for(deferred, 240, "the sensor to defer to a running triggerer", interval=0.3)
    stack.note(f"{sensor} deferred; its trigger is held by triggerer job {held_by_triggerer[-1][1]}")

    instances = wait_for_run(stack, dag_id, "deferred")

    (sensor_row,) = [row for row in instances if row[0] == sensor]
    assert sensor_row[3] in WORKERS  # resumed by a worker once the trigger fired
    assert not stack.sql("SELECT 1 FROM trigger WHERE classpath = :'c'", c=TRIGGER_CLASS)  # cleaned up
    logs = stack.root / "home" / "logs" / f"dag_id={dag_id}" / "run_id=deferred" / f"task_id={sensor}"
    triggerer_id = held_by_triggerer[-1][1]
    fired = (logs / f"attempt=1.log.trigger.{triggerer_id}.log").read_text()  # written by the triggerer
    assert "Trigger fired event" in fired and "'status': 'success'" in fired
    task_log = (logs / "attempt=1.log").read_text()
    assert task_log.index("Pausing task as DEFERRED") < task_log.index("is ready.")  # deferred, then resumed


def test_parallel_tasks_refresh_the_rotating_token_at_the_same_moment(stack: Stack) -> None:
    before = stack.emulator("/_emulator/tokens")
    refused_before = stack.emulator("/_emulator/requests")["by_status"].get("401", 0)
    assert stack.emulator("/_emulator/expire_tokens", {})["expired"] >= 1
    conf = {"start_at": time.time() + 45, "ad_account_id": account(stack)}
    trigger(stack, "deployment_token_race", "race", conf)

    instances = wait_for_run(stack, "deployment_token_race", "race", timeout=400)

    assert len(instances) == 6 and {row[2] for row in instances} == {"1"}  # no retries
    assert {row[3] for row in instances} == set(WORKERS)
    after = stack.emulator("/_emulator/tokens")
    assert after["refreshes"] > before["refreshes"]
    refused = stack.emulator("/_emulator/requests")["by_status"].get("401", 0) - refused_before
    assert refused >= 6  # every task met the expired token at the barrier, so each had to renew it
    stored = stack.airflow("variables", "get", TOKEN_VARIABLE)
    assert stored.returncode == 0, stored.stderr[-2000:]
    grant = json.loads(stored.stdout.strip().splitlines()[-1])
    assert grant["refresh_token"] == after["refresh_token"]  # the Variable holds the live token
    refreshes = after["refreshes"] - before["refreshes"]
    stack.note(
        f"token race: 6 tasks, {refused} answers 401, {refreshes} refresh(es); the Variable holds the newest"
    )


def write_customers(path: Path, count: int) -> list[str]:
    emails = [f"killed.upload.{i}@example.com" for i in range(count)]
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email"])
        writer.writerows([email] for email in emails)
    return emails


def test_a_worker_killed_mid_upload_is_retried_on_the_other_worker(stack: Stack) -> None:
    dag_id, name = "deployment_killed_upload", "Killed worker upload"
    emails = write_customers(stack.root / "killed.csv", 20_000)
    stack.emulator("/_emulator/faults", {"latency_ms": 60})  # 200 requests of 100: long enough to kill
    trigger(stack, dag_id, "killed", {"source": str(stack.root / "killed.csv")})

    def uploading() -> bool:
        lists = stack.emulator("/_emulator/summary")["ad_accounts"][account(stack)]["customer_lists"]
        return any(c["name"] == name and c["num_uploaded_user_records"] >= 2_000 for c in lists)

    wait_for(uploading, 240, "the upload to be under way")
    ((victim,),) = stack.sql("SELECT hostname FROM task_instance WHERE dag_id = :'d'", d=dag_id)
    assert victim in WORKERS
    stack.kill(victim)
    partial = len(members(stack, name))
    assert 0 < partial < len(emails)
    stack.emulator("/_emulator/faults", {"latency_ms": 0})

    instances = wait_for_run(stack, dag_id, "killed", timeout=400)

    ((_, _, try_number, host, _, _),) = instances
    (survivor,) = set(WORKERS) - {victim}
    assert int(try_number) >= 2 and host == survivor
    first = stack.sql(
        "SELECT try_number, hostname FROM task_instance_history WHERE dag_id = :'d' ORDER BY try_number",
        d=dag_id,
    )
    assert first[0] == ["1", victim]
    stack.note(f"killed {victim} after {partial} members; try {try_number} finished on {host}")
    assert members(stack, name) == expected_hashes(emails)
