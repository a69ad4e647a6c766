"""Checks run inside one matrix cell, against the INSTALLED wheel (see scripts/matrix.py).

Not collected by the repository's own test runs (the file name does not start with ``test_``): the
matrix names it explicitly, from a staged copy of the checkout that has no package in it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from scripts.demo import prepare_airflow

DISTRIBUTION = "airflow-provider-pinterest-audiences"
HOOK_CLASS = "airflow_provider_pinterest_audiences.hooks.pinterest.PinterestHook"
EXAMPLE_DAG = "pinterest_customer_list_audience"  # runs on every Airflow line, 2.11 included


def run_in_airflow(code: str) -> list[str]:
    """``code`` in a fresh interpreter of this venv; returns its ``RESULT`` lines."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return [line[len("RESULT ") :] for line in result.stdout.splitlines() if line.startswith("RESULT ")]


def test_the_provider_is_imported_from_the_installed_wheel() -> None:
    import airflow_provider_pinterest_audiences as provider

    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert Path(provider.__file__).resolve().is_relative_to(site_packages)
    assert Path(os.environ["PINTEREST_MATRIX_VENV"]).resolve() in site_packages.parents
    direct_url = json.loads(metadata.distribution(DISTRIBUTION).read_text("direct_url.json") or "{}")
    assert direct_url.get("url", "").endswith(".whl"), direct_url  # a wheel file, not a source tree
    assert "dir_info" not in direct_url  # never an editable or directory install


def test_airflow_providers_list_shows_the_provider() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (listing,) = [line for line in result.stdout.splitlines() if line.startswith("[{")]  # logs may precede
    listed = {item["package_name"]: item["version"] for item in json.loads(listing)}
    assert listed.get(DISTRIBUTION) == metadata.version(DISTRIBUTION)


def test_the_connection_form_metadata_reaches_airflow() -> None:
    """What the connection form reads: Airflow 3's UI service (hook meta data), Airflow 2's providers."""
    results = run_in_airflow(
        "import json\n"
        "try:\n"
        "    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService\n"
        "except ImportError:  # Airflow 2: the FAB form reads the providers manager\n"
        "    from airflow.providers_manager import ProvidersManager\n"
        "    manager = ProvidersManager()\n"
        "    print('RESULT', manager.hooks['pinterest'].hook_class_name)\n"
        "    fields = [k.removeprefix('extra__pinterest__') for k in manager.connection_form_widgets\n"
        "              if k.startswith('extra__pinterest__')]\n"
        "    print('RESULT', json.dumps(fields))\n"
        "    behaviour = manager.field_behaviours.get('pinterest') or {}\n"
        "    print('RESULT', behaviour.get('relabeling', {}).get('host'))\n"
        "else:\n"
        "    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == 'pinterest']\n"
        "    print('RESULT', meta.hook_class_name)\n"
        "    print('RESULT', json.dumps(sorted(meta.extra_fields or {})))\n"
        "    print('RESULT', meta.standard_fields.host.title if meta.standard_fields else None)\n"
    )
    hook_class, fields, host_label = results
    assert hook_class == HOOK_CLASS
    assert set(json.loads(fields)) >= {"client_id", "client_secret", "refresh_token", "ad_account_id"}
    assert host_label == "API base URL"


def test_an_example_dag_passes_under_airflow_dags_test(tmp_path: Path) -> None:
    settings = EmulatorSettings(customer_list_processing_seconds=1.0, audience_initializing_seconds=1.0)
    with EmulatorServer(settings, host="127.0.0.1", port=0) as emulator:
        airflow = prepare_airflow(tmp_path / "home", emulator.connection_json(), emulator.root_url)
        result = airflow.dag_test(EXAMPLE_DAG)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]


@pytest.fixture(autouse=True, scope="module")
def _in_a_matrix_cell() -> None:
    """These checks mean something only inside a cell's venv; anywhere else they are a usage error."""
    if "PINTEREST_MATRIX_VENV" not in os.environ:
        raise RuntimeError("tests/matrix/cell_checks.py runs inside a matrix cell: use make test-matrix")
