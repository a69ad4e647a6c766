"""Airflow discovers the provider: metadata, the ``pinterest`` connection type and its form."""

from __future__ import annotations

import subprocess
import sys

import pytest
from airflow.providers.common.compat.sdk import redact

from airflow_provider_pinterest_audiences import get_provider_info
from airflow_provider_pinterest_audiences.connection_form import (
    CONN_FIELDS,
    legacy_form_widgets,
    legacy_ui_field_behaviour,
)
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

HOOK_CLASS = "airflow_provider_pinterest_audiences.hooks.pinterest.PinterestHook"


def test_provider_info_declares_the_connection_type_and_its_fields() -> None:
    info = get_provider_info()
    (connection,) = info["connection-types"]

    assert info["package-name"] == "airflow-provider-pinterest-audiences"
    assert connection["connection-type"] == "pinterest"
    assert (
        connection["hook-class-name"] == "airflow_provider_pinterest_audiences.hooks.pinterest.PinterestHook"
    )
    assert set(connection["conn-fields"]) == {
        "client_id",
        "client_secret",
        "refresh_token",
        "ad_account_id",
        "oauth_variable",
        "continuous_refresh",
    }
    assert connection["ui-field-behaviour"]["relabeling"] == {
        "host": "API base URL",
        "password": "Access token",
    }
    secret = {name for name, field in CONN_FIELDS.items() if field["schema"].get("format") == "password"}
    assert secret == {"client_secret", "refresh_token"}


def test_airflow_hides_exactly_the_secret_fields_of_the_form() -> None:
    """Airflow shows an extra as *** when its key looks sensitive: the Variable's name must stay readable."""
    shown = redact({name: "value" for name in CONN_FIELDS})
    secret = {name for name, field in CONN_FIELDS.items() if field["schema"].get("format") == "password"}

    assert {name for name, value in shown.items() if value != "value"} == secret
    assert redact({"refresh_token_variable": "value"}) == {"refresh_token_variable": "***"}  # why renamed


def test_continuous_refresh_is_a_boolean_field() -> None:
    assert CONN_FIELDS["continuous_refresh"]["schema"] == {"type": ["boolean", "null"], "default": False}


def test_the_legacy_form_has_every_field_and_a_checkbox_for_continuous_refresh() -> None:
    """The wtforms form of Airflow 2.11-3.1 (it needs the FAB provider; Airflow 3.2+ uses conn-fields)."""
    wtforms = pytest.importorskip("wtforms", reason="the legacy form exists only where FAB is installed")

    widgets = legacy_form_widgets()

    assert widgets["continuous_refresh"].field_class is wtforms.BooleanField
    assert widgets["client_secret"].field_class is wtforms.PasswordField
    assert set(widgets) == set(CONN_FIELDS)


def test_legacy_form_methods_match_the_declarative_form() -> None:
    assert PinterestHook.get_ui_field_behaviour() == legacy_ui_field_behaviour()
    assert legacy_ui_field_behaviour()["hidden_fields"] == ["schema", "port", "login"]
    assert (PinterestHook.conn_type, PinterestHook.default_conn_name) == ("pinterest", "pinterest_default")


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
