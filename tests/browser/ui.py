"""How the browser tests find things in Airflow 3.3's React UI, and where screenshots go.

Selectors prefer what a person sees (roles, accessible names, label text) and fall back to the stable
parts of the Chakra/Zag markup (``data-part``, ``data-testid``) where the UI gives nothing better. In
3.3.2 the labels of the provider's extra fields are not linked to their inputs (``for`` points elsewhere),
so a field is found as the form-field group that contains the label text.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / ".artifacts" / "browser"
DOCS_IMAGES = REPO_ROOT / "docs" / "images"

Page = Any  # playwright.sync_api.Page; Playwright is imported lazily so collection works without it
Locator = Any


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120] or "unnamed"


def screenshot(target: Page | Locator, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot of a page or element as ``.artifacts/browser/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{safe_name(name)}.png"
    options: dict[str, Any] = {"path": path, "animations": "disabled", "caret": "hide"}
    if full_page:
        options["full_page"] = True
    target.screenshot(**options)
    return path


def publish_to_docs(screenshot_path: Path, name: str) -> Path:
    """Copy a screenshot to ``docs/images/`` (tracked; shown in the README)."""
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    target = DOCS_IMAGES / name
    if not target.exists() or target.read_bytes() != screenshot_path.read_bytes():
        shutil.copyfile(screenshot_path, target)
    return target


def exact(text: str) -> re.Pattern[str]:
    """Matches an element whose whole text is ``text`` (ignoring the required-field asterisk)."""
    return re.compile(rf"^\s*{re.escape(text)}\s*\*?\s*$")


# -- connections ---------------------------------------------------------------------------------------


def open_add_connection(page: Page, api_url: str) -> Locator:
    """Connections page -> "Add Connection"; returns the dialog."""
    page.goto(f"{api_url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("heading", name="Add Connection").wait_for()
    return dialog


def choose_connection_type(page: Page, dialog: Locator, hook_name: str) -> None:
    """Type into the "Connection Type" select and pick ``hook_name`` from the menu."""
    dialog.get_by_role("combobox", name="Connection Type").fill(hook_name)
    page.get_by_role("option", name=hook_name, exact=True).click()
    section(dialog, "Standard Fields").wait_for()


def section(dialog: Locator, title: str) -> Locator:
    """The trigger button of an accordion section ("Standard Fields", "Extra Fields", ...)."""
    return dialog.locator("button[data-part='item-trigger']").filter(has_text=exact(title))


def expand(dialog: Locator, title: str) -> None:
    trigger = section(dialog, title)
    if trigger.get_attribute("aria-expanded") != "true":
        trigger.click()
    dialog.locator(f"[role='region'][aria-labelledby='{trigger.get_attribute('id')}']").wait_for()


def form_field(dialog: Locator, label: str) -> Locator:
    """The form-field group (label, input, help text) whose label reads ``label``."""
    return dialog.locator("[data-scope='field'][data-part='root']").filter(
        has=dialog.page.locator("label", has_text=exact(label))
    )


def field_input(dialog: Locator, label: str) -> Locator:
    return form_field(dialog, label).locator("input, textarea").first


def field_switch(dialog: Locator, label: str) -> Locator:
    """A boolean field's switch (its ``data-state`` is ``checked`` or ``unchecked``; the checkbox input inside
    is visually hidden)."""
    return form_field(dialog, label).locator("[data-scope='switch'][data-part='root']")


def field_help(dialog: Locator, label: str) -> Locator:
    return form_field(dialog, label).locator("[data-part='helper-text']")


def visible_labels(dialog: Locator) -> list[str]:
    labels = dialog.locator("label[data-part='label']")
    return [
        re.sub(r"\s*\*\s*$", "", labels.nth(i).inner_text()).strip()
        for i in range(labels.count())
        if labels.nth(i).is_visible()
    ]


def fill_connection_form(
    page: Page,
    api_url: str,
    conn_id: str,
    hook_name: str,
    standard: dict[str, str],
    extra: dict[str, str],
    screenshot_name: str | None = None,
    checked: tuple[str, ...] | list[str] = (),
) -> None:
    """Add a connection through the form: fields are given by their visible label, ``checked`` names the
    boolean extras to switch on; then Save."""
    dialog = open_add_connection(page, api_url)
    dialog.get_by_role("textbox", name="Connection ID").fill(conn_id)
    choose_connection_type(page, dialog, hook_name)
    for label, value in standard.items():
        field_input(dialog, label).fill(value)
    if extra:
        expand(dialog, "Extra Fields")
        for label, value in extra.items():
            field_input(dialog, label).fill(value)
        for label in checked:
            field_switch(dialog, label).locator("[data-part='control']").click()
            field_switch(dialog, label).and_(dialog.page.locator("[data-state='checked']")).wait_for()
    if screenshot_name:
        screenshot(dialog, screenshot_name)
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="hidden")
    connection_row(page, conn_id).wait_for()


def connection_row(page: Page, conn_id: str) -> Locator:
    cell = page.locator("td[data-testid='table-cell-connection_id']", has_text=exact(conn_id))
    return page.locator("tr").filter(has=cell)


def toast(page: Page, title: str) -> Locator:
    """The notification whose title starts with ``title``."""
    title_part = page.locator("[data-part='title']", has_text=re.compile(rf"^\s*{re.escape(title)}"))
    return page.locator("[data-scope='toast'][data-part='root']").filter(has=title_part)


# -- Airflow 3.3.2 "Test" button work-around -----------------------------------------------------------


def port_zero_as_null(route: Any) -> None:
    """Send ``port: null`` where the connections list's Test button sends ``port: 0``.

    Airflow 3.3.2's UI posts ``Number(connection.port)``, i.e. ``0`` for a connection without a port, and
    the API then refuses to reuse the stored (masked) credentials: "The host or port to test differs
    from the stored connection" (HTTP 400). apache/airflow#73298 fixes it on the API side by treating 0
    like "no port"; this does the same on the wire, leaving the rest of the request untouched.
    """
    body = json.loads(route.request.post_data or "{}")
    if body.get("port") == 0:
        body["port"] = None
    route.continue_(post_data=json.dumps(body))


# -- REST API ------------------------------------------------------------------------------------------


def rest(method: str, url: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    """Call Airflow's REST API (the simple auth manager lets everyone in); returns (status, JSON)."""
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (loopback URL built by the fixtures)
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


# -- task instances ------------------------------------------------------------------------------------


def rendered_template_value(page: Page, field_name: str) -> str:
    """The value shown for ``field_name`` on a task instance's "Rendered Templates" tab (no line numbers)."""
    name_cell = page.locator("td", has_text=exact(field_name))
    code = page.locator("tr").filter(has=name_cell).locator("code").first
    code.wait_for()
    text: str = code.evaluate(
        """code => Array.from(code.children).map(line => Array.from(line.childNodes)
                .filter(node => !(node.classList && node.classList.contains('linenumber')))
                .map(node => node.textContent).join('')).join('\\n')"""
    )
    return text
