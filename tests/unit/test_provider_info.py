"""Airflow discovers the provider: its metadata and the ``pinterest`` connection type."""

from __future__ import annotations

import subprocess
import sys

from airflow_provider_pinterest_audiences import get_provider_info
from airflow_provider_pinterest_audiences.connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR

HOOK_CLASS = "airflow_provider_pinterest_audiences.hooks.pinterest.PinterestHook"


def test_provider_info_declares_the_connection_type_and_its_fields() -> None:
    info = get_provider_info()
    (connection,) = info["connection-types"]

    assert info["package-name"] == "airflow-provider-pinterest-audiences"
    assert connection["connection-type"] == "pinterest"
    assert (
        connection["hook-class-name"] == "airflow_provider_pinterest_audiences.hooks.pinterest.PinterestHook"
    )
    assert connection["conn-fields"] == CONN_FIELDS  # the form itself: tests/unit/test_connection_form.py
    assert connection["ui-field-behaviour"] == UI_FIELD_BEHAVIOUR


def test_airflow_lists_the_provider_and_its_connection_type() -> None:
    code = (
        "from airflow.providers_manager import ProvidersManager\n"
        "manager = ProvidersManager()\n"
        "print('RESULT', 'airflow-provider-pinterest-audiences' in manager.providers)\n"
        "print('RESULT', manager.hooks['pinterest'].hook_class_name)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    results = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert results == ["True", HOOK_CLASS]
