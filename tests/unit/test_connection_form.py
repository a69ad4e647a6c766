"""The ``pinterest`` connection form: the declarative fields of Airflow 3.2+ and the widgets of 2.11-3.1."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import redact

from airflow_provider_pinterest_audiences.connection_form import (
    CONN_FIELDS,
    UI_FIELD_BEHAVIOUR,
    legacy_form_widgets,
    legacy_ui_field_behaviour,
)
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

#: name -> (JSON type, secret); every field may be left empty.
FIELDS = {
    "client_id": ("string", False),
    "client_secret": ("string", True),
    "refresh_token": ("string", True),
    "ad_account_id": ("string", False),
    "oauth_variable": ("string", False),
    "continuous_refresh": ("boolean", False),
}


def secret(field: dict[str, Any]) -> bool:
    return field["schema"].get("format") == "password"


def test_the_declarative_fields() -> None:
    assert list(CONN_FIELDS) == list(FIELDS)
    for name, (json_type, is_secret) in FIELDS.items():
        field = CONN_FIELDS[name]
        assert field["schema"]["type"] == [json_type, "null"], name
        assert secret(field) is is_secret, name
        assert field["label"] and field["description"], name
    assert CONN_FIELDS["continuous_refresh"]["schema"]["default"] is False


def test_airflow_hides_exactly_the_secret_fields_of_the_form() -> None:
    """Airflow shows an extra as *** when its key looks sensitive: the Variable's name must stay readable."""
    shown = redact({name: "value" for name in CONN_FIELDS})

    assert {name for name, value in shown.items() if value != "value"} == {
        name for name, field in CONN_FIELDS.items() if secret(field)
    }
    assert redact({"refresh_token_variable": "value"}) == {"refresh_token_variable": "***"}  # why renamed


def test_the_legacy_widgets_are_built_from_the_declarative_fields() -> None:
    """The wtforms form of Airflow 2.11-3.1 (it needs the FAB provider; Airflow 3.2+ uses conn-fields)."""
    wtforms = pytest.importorskip("wtforms", reason="the legacy form exists only where FAB is installed")
    classes = {"boolean": wtforms.BooleanField, True: wtforms.PasswordField, False: wtforms.StringField}

    widgets = legacy_form_widgets()

    assert set(widgets) == set(CONN_FIELDS)
    for name, (json_type, is_secret) in FIELDS.items():
        unbound = widgets[name]
        assert unbound.field_class is classes.get(json_type, classes[is_secret]), name
        assert str(unbound.args[0]) == CONN_FIELDS[name]["label"], name
        assert unbound.kwargs["description"] == CONN_FIELDS[name]["description"], name
    assert widgets["continuous_refresh"].kwargs["default"] is False


def test_the_legacy_behaviour_is_the_declarative_one_in_snake_case() -> None:
    legacy = legacy_ui_field_behaviour()

    assert legacy == {
        "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
        "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
        "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
    }
    assert legacy["hidden_fields"] == ["schema", "port", "login"]
    assert PinterestHook.get_ui_field_behaviour() == legacy
    assert (PinterestHook.conn_type, PinterestHook.default_conn_name) == ("pinterest", "pinterest_default")
