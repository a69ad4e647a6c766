"""The docs' own example DAGs (``docs/examples/``) run green under ``airflow dags test`` against the emulator.

The example DAGs of ``example_dags/`` are run by ``tests/e2e``; these show the operators that have no DAG
there (sharing, updating and archiving an audience) on the docs pages.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.testing.emulator_client import PinterestEmulator
from scripts.demo import DemoAirflow, prepare_airflow

pytestmark = pytest.mark.e2e

SHARING_EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "pinterest_audience_sharing.py"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def airflow(pinterest_emulator: PinterestEmulator, tmp_path: Path) -> DemoAirflow:
    """A migrated Airflow home whose DAGs folder holds the sharing example alone."""
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(SHARING_EXAMPLE, dags)
    return prepare_airflow(
        tmp_path / "home",
        connection_json=os.environ["AIRFLOW_CONN_PINTEREST_DEFAULT"],
        emulator_root=pinterest_emulator.root_url,
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
    )


def shared_with(emulator: PinterestEmulator, audience_id: str) -> set[str]:
    shares = PinterestHook().list_audience_shares(emulator.ad_account_id, audience_id)
    return {share["account_id"] for share in shares}


@pytest.mark.timeout(600)
def test_sharing_example_shares_then_retires_the_audience(
    airflow: DemoAirflow, pinterest_emulator: PinterestEmulator
) -> None:
    example = load(SHARING_EXAMPLE)
    name = example.engagers.name

    shared = airflow.dag_test("pinterest_share_audience")
    assert shared.returncode == 0, shared.stdout[-3000:] + shared.stderr[-3000:]
    audience = pinterest_emulator.audience(name)
    assert audience["description"].startswith("Shared with partner accounts on ")
    assert shared_with(pinterest_emulator, audience["id"]) == set(example.PARTNER_ACCOUNT_IDS)

    retired = airflow.dag_test("pinterest_retire_audience", {"audience_id": audience["id"]})
    assert retired.returncode == 0, retired.stdout[-3000:] + retired.stderr[-3000:]
    assert pinterest_emulator.audience(name)["status"] == "ARCHIVED"
    assert shared_with(pinterest_emulator, audience["id"]) == set()
