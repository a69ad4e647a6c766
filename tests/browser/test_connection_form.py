"""The ``pinterest`` connection in Airflow's UI, used the way a person uses it.

Admin -> Connections -> Add Connection -> type "Pinterest": the form shows the fields declared by
``get_provider_info()``; a connection saved through it is read by ``PinterestHook``; the Test button
reports success against the emulator and a readable failure for a wrong token.
"""

from __future__ import annotations

import json
import re
import textwrap
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_pinterest_audiences import get_provider_info
from airflow_provider_pinterest_audiences.connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR
from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from tests.browser.conftest import AirflowSandbox
from tests.browser.ui import (
    connection_row,
    expand,
    field_help,
    field_input,
    field_switch,
    fill_connection_form,
    form_field,
    open_add_connection,
    port_zero_as_null,
    publish_to_docs,
    rest,
    screenshot,
    section,
    toast,
    visible_labels,
)

pytestmark = pytest.mark.browser

CONN_ID = "pinterest_browser"
WRONG_TOKEN_CONN_ID = "pinterest_browser_wrong_token"
WRONG_TOKEN = "not-the-emulator-token-123"
TOKEN_VARIABLE = "pinterest_browser_tokens"

# What a user must see (the wording); checked against get_provider_info() below.
STANDARD_LABELS = {"host": "API base URL", "password": "Access token"}
EXTRA_LABELS = {
    "client_id": "App ID (client id)",
    "client_secret": "Client secret",
    "refresh_token": "Refresh token",
    "ad_account_id": "Default ad account id",
    "oauth_variable": "Token Variable",
    "continuous_refresh": "Continuous refresh",
}
SECRET_EXTRAS = {"client_secret", "refresh_token"}
BOOLEAN_EXTRAS = {"continuous_refresh"}
HIDDEN_STANDARD_LABELS = {"schema": "Schema", "port": "Port", "login": "Login"}


def pinterest_connection_type() -> dict[str, Any]:
    types: list[dict[str, Any]] = get_provider_info()["connection-types"]
    (conn_type,) = [c for c in types if c["connection-type"] == "pinterest"]
    return conn_type


def test_the_expected_form_is_what_the_provider_declares() -> None:
    """Guards the browser assertions below: they check the UI against the provider's own metadata."""
    conn_type = pinterest_connection_type()
    assert conn_type["hook-name"] == "Pinterest"
    assert {name: field["label"] for name, field in conn_type["conn-fields"].items()} == EXTRA_LABELS
    behaviour = conn_type["ui-field-behaviour"]
    assert behaviour["relabeling"] == STANDARD_LABELS
    assert set(behaviour["hidden-fields"]) == set(HIDDEN_STANDARD_LABELS)
    assert {n for n, f in CONN_FIELDS.items() if f["schema"].get("format") == "password"} == SECRET_EXTRAS
    assert {n for n, f in CONN_FIELDS.items() if "boolean" in f["schema"]["type"]} == BOOLEAN_EXTRAS


def test_add_connection_form_shows_the_pinterest_fields(page: Any, api_server: AirflowSandbox) -> None:
    placeholders = UI_FIELD_BEHAVIOUR["placeholders"]

    dialog = open_add_connection(page, api_server.api_url)
    screenshot(page, "connection-01-add-connection-dialog")

    dialog.get_by_role("combobox", name="Connection Type").fill("Pinterest")
    option = page.get_by_role("option", name="Pinterest", exact=True)
    option.wait_for()
    screenshot(page, "connection-02-connection-type-pinterest")
    option.click()
    section(dialog, "Standard Fields").wait_for()

    # Standard fields: relabelled, with the provider's placeholders; the token is a password input.
    assert section(dialog, "Standard Fields").get_attribute("aria-expanded") == "true"
    host = field_input(dialog, "API base URL")
    token = field_input(dialog, "Access token")
    assert host.is_visible() and token.is_visible()
    assert host.get_attribute("name") == "host"
    assert host.get_attribute("placeholder") == placeholders["host"]
    assert token.get_attribute("name") == "password"
    assert token.get_attribute("type") == "password"
    assert token.get_attribute("placeholder") == placeholders["password"]

    # Hidden standard fields are not rendered (or not visible).
    for name, label in HIDDEN_STANDARD_LABELS.items():
        assert dialog.locator(f"[name='{name}']").filter(visible=True).count() == 0, name
        assert form_field(dialog, label).filter(visible=True).count() == 0, label
    assert visible_labels(dialog) == [
        "Connection ID",
        "Connection Type",
        "Description",
        *STANDARD_LABELS.values(),
    ]
    screenshot(dialog, "connection-03-standard-fields")

    # Extra fields: label, help text (the conn-fields description), masked or plain input.
    expand(dialog, "Extra Fields")
    for name, label in EXTRA_LABELS.items():
        assert field_help(dialog, label).inner_text().strip() == CONN_FIELDS[name]["description"]
        if name in BOOLEAN_EXTRAS:
            switch = field_switch(dialog, label)
            assert switch.is_visible(), label
            assert switch.get_attribute("data-state") == "unchecked", label  # the schema's default
            assert switch.locator("input").get_attribute("name") == f"element_{name}"
            continue
        field_element = field_input(dialog, label)
        assert field_element.is_visible(), label
        assert field_element.get_attribute("name") == f"element_{name}"
        expected_type = "password" if name in SECRET_EXTRAS else "text"
        assert (field_element.get_attribute("type") or "text") == expected_type, label
        # Airflow 3.3.2 does not render ui-field-behaviour placeholders for extra fields (only the
        # standard ones); should a later UI render them, they must be ours.
        shown = field_element.get_attribute("placeholder")
        if shown:
            assert shown == placeholders.get(name), label

    # The UI shows one section at a time: opening "Extra Fields" folds "Standard Fields".
    assert visible_labels(dialog) == ["Connection ID", "Connection Type", *EXTRA_LABELS.values()]

    form_shot = screenshot(dialog, "connection-04-extra-fields")
    publish_to_docs(form_shot, "connection-form.png")


@pytest.fixture(scope="module")
def form_connection(browser_context: Any, api_server: AirflowSandbox, emulator: EmulatorServer) -> str:
    """``pinterest_browser``, added through the form with every field filled in."""
    settings = emulator.settings
    tab = browser_context.new_page()
    try:
        fill_connection_form(
            tab,
            api_server.api_url,
            CONN_ID,
            "Pinterest",
            standard={"API base URL": emulator.base_url, "Access token": settings.access_token},
            extra={
                "App ID (client id)": settings.client_id,
                "Client secret": settings.client_secret,
                "Refresh token": settings.refresh_token,
                "Default ad account id": settings.ad_account_id,
                "Token Variable": TOKEN_VARIABLE,
            },
            checked=["Continuous refresh"],
            screenshot_name="connection-05-filled-form",
        )
        screenshot(tab, "connection-06-saved-in-list")
    finally:
        tab.close()
    return CONN_ID


READ_BACK = textwrap.dedent(
    """
    import json, sys
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

    hook = PinterestHook(sys.argv[1])
    config = hook.config
    connection = hook.get_connection(sys.argv[1])
    print(json.dumps({
        "conn_type": connection.conn_type,
        "extra": connection.extra_dejson,
        "config": {
            "base_url": config.base_url,
            "access_token": config.access_token,
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "refresh_token": config.refresh_token,
            "ad_account_id": config.ad_account_id,
            "oauth_variable": config.oauth_variable,
            "continuous_refresh": config.continuous_refresh,
            "can_refresh": config.can_refresh,
        },
    }))
    """
)


def test_connection_saved_through_the_form_is_read_by_the_hook(
    form_connection: str, api_server: AirflowSandbox, emulator: EmulatorServer
) -> None:
    settings = emulator.settings
    output = api_server.python(READ_BACK, form_connection)
    result = json.loads(output.strip().splitlines()[-1])

    assert result["conn_type"] == "pinterest"
    extra = result["extra"]
    assert not [key for key in extra if key.startswith("extra__")], extra
    assert extra["client_id"] == settings.client_id
    assert extra["client_secret"] == settings.client_secret
    assert extra["refresh_token"] == settings.refresh_token
    assert extra["ad_account_id"] == settings.ad_account_id
    assert extra["oauth_variable"] == TOKEN_VARIABLE
    assert extra["continuous_refresh"] is True
    assert result["config"] == {
        "base_url": emulator.base_url,
        "access_token": settings.access_token,
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
        "refresh_token": settings.refresh_token,
        "ad_account_id": settings.ad_account_id,
        "oauth_variable": TOKEN_VARIABLE,
        "continuous_refresh": True,
        "can_refresh": True,
    }

    # The REST API the UI reads from never sends the secrets back to the browser.
    status, body = rest("GET", f"{api_server.api_url}/api/v2/connections/{form_connection}")
    assert status == 200, body
    assert body["password"] != settings.access_token
    shown_extra = json.loads(body["extra"])
    assert shown_extra["client_secret"] != settings.client_secret
    assert shown_extra["refresh_token"] != settings.refresh_token
    assert shown_extra["ad_account_id"] == settings.ad_account_id
    assert shown_extra["oauth_variable"] == TOKEN_VARIABLE  # which Variable holds the tokens stays visible


def test_the_edit_form_shows_which_variable_holds_the_tokens(
    page: Any, form_connection: str, api_server: AirflowSandbox
) -> None:
    page.goto(f"{api_server.api_url}/connections")
    row = connection_row(page, form_connection)
    row.get_by_role("button", name="Edit Connection").click()
    dialog = page.get_by_role("dialog")
    expand(dialog, "Extra Fields")

    assert field_input(dialog, "Token Variable").input_value() == TOKEN_VARIABLE
    assert field_switch(dialog, "Continuous refresh").get_attribute("data-state") == "checked"
    screenshot(dialog, "connection-06b-edit-form")


@pytest.fixture(scope="module")
def test_button_needs_port_fix(form_connection: str, api_server: AirflowSandbox) -> bool:
    """Whether this Airflow has the "Test rejects a connection without a port" bug (apache/airflow#73298).

    Probed by sending exactly what the UI's Test button sends for the saved connection.
    """
    status, stored = rest("GET", f"{api_server.api_url}/api/v2/connections/{form_connection}")
    assert status == 200, stored
    as_the_ui_sends_it = {
        "conn_type": stored["conn_type"],
        "connection_id": stored["connection_id"],
        "description": stored["description"] or "",
        "extra": stored["extra"] or "{}",
        "host": stored["host"] or "",
        "login": stored["login"] or "",
        "password": stored["password"] or "",
        "port": 0,  # Number(null)
        "schema": stored["schema"] or "",
    }
    status, body = rest("POST", f"{api_server.api_url}/api/v2/connections/test", as_the_ui_sends_it)
    needs_fix = status == 400 and "differs from the stored connection" in json.dumps(body)
    if needs_fix:
        warnings.warn(
            "This Airflow's Test button fails with 'Bad Request' for any connection without a port "
            "(apache/airflow#73298); the browser tests send port null instead of 0 to get past it.",
            UserWarning,
            stacklevel=1,
        )
    return needs_fix


@pytest.fixture
def connections_page(
    page: Any, api_server: AirflowSandbox, test_button_needs_port_fix: bool
) -> Iterator[Any]:
    if test_button_needs_port_fix:
        page.route("**/api/v2/connections/test", port_zero_as_null)
    page.goto(f"{api_server.api_url}/connections")
    yield page


def test_test_button_reports_success_against_the_emulator(
    connections_page: Any, form_connection: str, emulator: EmulatorServer
) -> None:
    page = connections_page
    row = connection_row(page, form_connection)
    with page.expect_response("**/api/v2/connections/test") as response_info:
        row.get_by_role("button", name="Test Connection").click()
    assert response_info.value.status == 200, response_info.value.text()

    success = toast(page, "Test Connection Successful")
    success.wait_for()
    text = success.inner_text()
    assert "Connected to Pinterest" in text
    assert emulator.settings.ad_account_id in text
    assert toast(page, "Test Connection Failed").count() == 0
    screenshot(page, "connection-07-test-success")


def test_test_button_reports_a_wrong_token_readably(
    connections_page: Any, api_server: AirflowSandbox, emulator: EmulatorServer
) -> None:
    page = connections_page
    fill_connection_form(
        page,
        api_server.api_url,
        WRONG_TOKEN_CONN_ID,
        "Pinterest",
        standard={"API base URL": emulator.base_url, "Access token": WRONG_TOKEN},
        extra={"Default ad account id": emulator.settings.ad_account_id},
        screenshot_name="connection-08-wrong-token-form",
    )
    row = connection_row(page, WRONG_TOKEN_CONN_ID)
    with page.expect_response("**/api/v2/connections/test") as response_info:
        row.get_by_role("button", name="Test Connection").click()
    assert response_info.value.status == 200, response_info.value.text()

    failure = toast(page, "Test Connection Failed")
    failure.wait_for()
    text = failure.inner_text()
    assert re.search(r"\b401\b|Authentication failed", text), text
    assert "Bad Request" not in text  # the hook's message, not an HTTP error of the Test endpoint
    assert WRONG_TOKEN not in text
    assert toast(page, "Test Connection Successful").count() == 0
    screenshot(page, "connection-09-test-wrong-token")
