"""The ``pinterest`` connection form: one definition for Airflow 3.2+ (declarative) and 2.11-3.1 (widgets).

Import-light: Airflow's ProvidersManager reads this through ``get_provider_info()`` in every component.
"""

from __future__ import annotations

from typing import Any

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "client_id": {
        "label": "App ID (client id)",
        "description": "Pinterest app id; with the client secret it lets the hook refresh access tokens.",
        "schema": {"type": ["string", "null"]},
    },
    "client_secret": {
        "label": "Client secret",
        "description": "Pinterest app secret key.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "refresh_token": {
        "label": "Refresh token",
        "description": "OAuth refresh token; the hook mints access tokens from it when they expire.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "ad_account_id": {
        "label": "Default ad account id",
        "description": "Used by operators that are not given an ad_account_id.",
        "schema": {"type": ["string", "null"]},
    },
    # Not "refresh_token_variable": Airflow hides extras whose key contains "token", "secret", ... as ***.
    "oauth_variable": {
        "label": "Token Variable",
        "description": "Name of an Airflow Variable where the hook keeps the newest rotated token pair.",
        "schema": {"type": ["string", "null"]},
    },
    "continuous_refresh": {
        "label": "Continuous refresh",
        "description": "Apps created before 2025-09-25: ask Pinterest to rotate refresh tokens on refresh.",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "login"],
    "relabeling": {"host": "API base URL", "password": "Access token"},
    "placeholders": {
        "host": "https://api.pinterest.com/v5",
        "password": "Access token (optional when a refresh token is set)",
        "client_id": "1234567",
        "ad_account_id": "549755885175",
        "oauth_variable": "pinterest_default_tokens",
    },
}


def legacy_ui_field_behaviour() -> dict[str, Any]:
    """The same behaviour in the snake_case form ``get_ui_field_behaviour()`` returns on 2.11-3.1."""
    return {key.replace("-", "_"): value for key, value in UI_FIELD_BEHAVIOUR.items()}


def legacy_form_widgets() -> dict[str, Any]:
    """wtforms widgets for Airflow 2.11-3.1, built from :data:`CONN_FIELDS`; imported lazily."""
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import BooleanField, PasswordField, StringField

    widgets: dict[str, Any] = {}
    for name, field in CONN_FIELDS.items():
        label, description, schema = lazy_gettext(field["label"]), field["description"], field["schema"]
        if "boolean" in schema["type"]:
            widgets[name] = BooleanField(label, description=description, default=schema.get("default"))
        elif schema.get("format") == "password":
            widgets[name] = PasswordField(label, widget=BS3PasswordFieldWidget(), description=description)
        else:
            widgets[name] = StringField(label, widget=BS3TextFieldWidget(), description=description)
    return widgets
