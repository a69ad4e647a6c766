"""The newcomer's path through ``make airflow``, once: log in, trigger the customer-list DAG, watch the
sensor defer, open the Ads Manager extra link and read the rendered fields.

Airflow starts through ``scripts/local_airflow.py``'s functions, as ``make airflow`` starts it. The only
difference from a person's visit: the emulator's clock is held nearly still until the deferred sensor has
been seen (and photographed for the README), then fast-forwarded so the audience becomes READY.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.testing.emulator_client import PinterestEmulator
from scripts.local_airflow import CUSTOMER_LIST_DAG, USERNAME, LocalAirflow, prepare, start_emulator
from tests.browser.conftest import CHROMIUM_ARGS, UI_TIMEOUT_MS, _loopback_only, free_port
from tests.browser.ui import exact, publish_to_docs, rendered_template_value, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.airflow3_only]

AUDIENCE_NAME = "CRM customers"  # what the customer-list DAG names its list and audience
SENSOR = "wait_for_customer_audience"
LAST_TASK = "target_ad_group"
AUDIENCE_TASK = "create_customer_audience"
LINK_NAME = "Pinterest Ads Manager"
DEFERRAL_TIMEOUT_MS = 180_000
RUN_TIMEOUT_MS = 240_000


@dataclass(frozen=True)
class Running:
    airflow: LocalAirflow
    emulator: PinterestEmulator


@pytest.fixture(scope="module")
def running(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """``make airflow``'s emulator and ``airflow standalone``, ready to serve."""
    server = start_emulator()
    try:
        local = prepare(tmp_path_factory.mktemp("local-airflow"), server, free_port())
        local.start()
        try:
            local.wait_until_ready()
            yield Running(local, PinterestEmulator(server.root_url, server.settings.ad_account_id))
        finally:
            local.stop()
    finally:
        server.stop()


@pytest.fixture
def tab(chromium_path: str, playwright_driver: Any, artifacts: Path) -> Iterator[Any]:
    """A tab of a fresh headless Chromium that can reach loopback only (as the conftest's ``page``)."""
    browser = playwright_driver.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
        context.set_default_timeout(UI_TIMEOUT_MS)
        context.route("**/*", _loopback_only)
        yield context.new_page()
    finally:
        browser.close()


def task_state(page: Any, task_id: str) -> Any:
    """The state badge of ``task_id`` in the run's task-instance table."""
    name = page.locator("td[data-testid='table-cell-task_display_name']", has_text=exact(task_id))
    return page.locator("tr").filter(has=name).locator("td[data-testid='table-cell-state']")


@pytest.mark.timeout(900)
def test_a_newcomer_sees_the_sensor_defer_and_the_audience_in_ads_manager(
    running: Running, tab: Any, blocked_requests: list[str]
) -> None:
    from playwright.sync_api import expect

    url, emulator = running.airflow.url, running.emulator
    ad_group_id = emulator.ad_groups()[0]["id"]
    emulator.configure(clock_speed=0.001)

    tab.goto(url)
    tab.get_by_label("Username").fill(USERNAME)
    tab.get_by_label("Password").fill(running.airflow.password)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{url}/")

    tab.goto(f"{url}/dags/{CUSTOMER_LIST_DAG}")
    tab.get_by_role("button", name="Trigger").first.click()
    dialog = tab.get_by_role("dialog")
    dialog.locator("#element_ad_account_id").fill(emulator.ad_account_id)
    dialog.locator("#element_ad_group_id").fill(ad_group_id)
    dialog.locator("[name='element_poll_interval']").fill("2")
    dialog.get_by_role("button", name="Trigger").click()
    dialog.wait_for(state="hidden")

    expect(task_state(tab, SENSOR)).to_have_text("Deferred", timeout=DEFERRAL_TIMEOUT_MS)
    tab.reload()  # the grid refreshes on its own schedule; the emulator's held clock keeps the deferral
    tab.locator(f"[data-task-id='{SENSOR}'] a[data-testid^='grid-']").hover()
    tooltip = tab.locator("[data-scope='tooltip'][data-part='content']")
    expect(tooltip).to_contain_text(re.compile("deferred", re.IGNORECASE))
    publish_to_docs(screenshot(tab, "local-airflow-01-deferred-sensor"), "local-airflow-deferred-sensor.png")

    emulator.advance_clock(3600)
    expect(task_state(tab, LAST_TASK)).to_have_text("Success", timeout=RUN_TIMEOUT_MS)
    customers = emulator.audience(AUDIENCE_NAME)
    assert customers["status"] == "READY"
    actalike = emulator.audience(f"{AUDIENCE_NAME} actalike 5%")
    assert emulator.targeting(ad_group_id)["AUDIENCE_INCLUDE"] == [actalike["id"]]

    tab.get_by_test_id("table-list").get_by_role("link", name=AUDIENCE_TASK, exact=True).click()
    tab.get_by_role("link", name="Details", exact=True).click()
    link = tab.get_by_role("link", name=LINK_NAME, exact=True)
    expected = (
        f"https://ads.pinterest.com/advertiser/{emulator.ad_account_id}/audiences/"
        f"?audienceId={customers['id']}"
    )
    expect(link).to_have_attribute("href", expected)
    screenshot(tab, "local-airflow-02-extra-link")
    with tab.context.expect_page() as ads_manager:
        link.click()
    ads_manager.value.wait_for_load_state()
    assert expected in blocked_requests  # the browser went there (stopped at the machine's edge)
    ads_manager.value.close()

    tab.get_by_role("link", name="Rendered Templates", exact=True).click()
    assert rendered_template_value(tab, "ad_account_id") == emulator.ad_account_id
    assert rendered_template_value(tab, "name") == AUDIENCE_NAME
    assert rendered_template_value(tab, "customer_list_id") == emulator.customer_list(AUDIENCE_NAME)["id"]
    assert rendered_template_value(tab, "description") == "Existing customers from the CRM export."
    screenshot(tab, "local-airflow-03-rendered-templates")
