"""The documented user test (docs/examples/test_customer_list_dag.py) runs green as a user would run it.

pytest runs it in a fresh process with nothing but the installed plugin (``pytest11`` entry point): no
conftest, an Airflow home migrated by ``scripts/demo.prepare_airflow`` and the example DAGs as DAGs folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.demo import prepare_airflow

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "test_customer_list_dag.py"


@pytest.mark.airflow3_only
@pytest.mark.timeout(600)
def test_documented_example_passes(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    airflow = prepare_airflow(tmp_path / "airflow-home", connection_json="", emulator_root="")
    for name in os.environ:
        if name not in airflow.env:
            monkeypatch.delenv(name)
    for name, value in airflow.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AIRFLOW_CONN_PINTEREST_DEFAULT")  # the fixture sets it
    pytester.makepyfile(**{EXAMPLE.stem: EXAMPLE.read_text()})

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=540)

    result.assert_outcomes(passed=1)
