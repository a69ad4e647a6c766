"""A create-audience task instance in Airflow's UI: the Ads Manager extra link and the rendered ids.

A two-task DAG (upload a customer list, create a customer-list audience over it) runs for real with
``airflow dags test`` against the emulator, in the same ``AIRFLOW_HOME`` the API server serves; the test
then opens the audience task instance the way a person would and checks what the UI shows against what
the emulator holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import requests

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from tests.browser.audience_dag import AUDIENCE_NAME, AUDIENCE_TASK, DAG_ID, UPLOAD_TASK
from tests.browser.conftest import DAG_TEST_TIMEOUT, AirflowSandbox, Background
from tests.browser.ui import rendered_template_value, rest, screenshot

pytestmark = pytest.mark.browser

LINK_NAME = "Pinterest Ads Manager"


@dataclass(frozen=True)
class AudienceRun:
    run_id: str
    ad_account_id: str
    customer_list_id: str
    audience_id: str

    def task_url(self, api_url: str, task_id: str, tab: str = "") -> str:
        url = f"{api_url}/dags/{DAG_ID}/runs/{quote(self.run_id, safe='')}/tasks/{task_id}"
        return f"{url}/{tab}" if tab else url


def _emulator_items(emulator: EmulatorServer, path: str) -> list[dict[str, Any]]:
    """What the emulator holds, read through its public API (independently of Airflow)."""
    response = requests.get(
        f"{emulator.base_url}{path}",
        headers={"Authorization": f"Bearer {emulator.settings.access_token}"},
        params={"page_size": 100},
        timeout=10,
    )
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture(scope="module")
def audience_run(
    api_server: AirflowSandbox, emulator: EmulatorServer, audience_dag_test: Background
) -> AudienceRun:
    """The DAG, run for real by ``airflow dags test`` in the API server's ``AIRFLOW_HOME``."""
    audience_dag_test.wait(timeout=DAG_TEST_TIMEOUT)
    account = emulator.settings.ad_account_id

    status, runs = rest("GET", f"{api_server.api_url}/api/v2/dags/{DAG_ID}/dagRuns")
    assert status == 200, runs
    (run,) = runs["dag_runs"]
    assert run["state"] == "success", run

    (customer_list,) = [
        item
        for item in _emulator_items(emulator, f"/ad_accounts/{account}/customer_lists")
        if item["name"] == AUDIENCE_NAME
    ]
    (audience,) = [
        item
        for item in _emulator_items(emulator, f"/ad_accounts/{account}/audiences")
        if item["name"] == AUDIENCE_NAME
    ]
    return AudienceRun(run["dag_run_id"], account, str(customer_list["id"]), str(audience["id"]))


def test_task_instance_shows_the_ads_manager_link(
    page: Any, api_server: AirflowSandbox, audience_run: AudienceRun, blocked_requests: list[str]
) -> None:
    expected = (
        f"https://ads.pinterest.com/advertiser/{audience_run.ad_account_id}/audiences/"
        f"?audienceId={audience_run.audience_id}"
    )
    page.goto(audience_run.task_url(api_server.api_url, AUDIENCE_TASK))
    page.get_by_role("heading", name=AUDIENCE_TASK).wait_for()
    screenshot(page, "task-01-audience-task-instance")

    page.get_by_role("link", name="Details", exact=True).click()
    page.get_by_role("heading", name="Extra Links").wait_for()
    link = page.get_by_role("link", name=LINK_NAME, exact=True)
    link.wait_for()
    assert link.get_attribute("href") == expected
    assert link.get_attribute("target") == "_blank"
    screenshot(page, "task-02-extra-link")

    # Clicking opens Ads Manager in a new tab (the request is stopped at the machine's edge).
    with page.context.expect_page() as new_tab:
        link.click()
    ads_manager = new_tab.value
    deadline = time.monotonic() + 10
    while expected not in blocked_requests and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert expected in blocked_requests, blocked_requests
    ads_manager.close()

    # The upload task has no audience, hence no Ads Manager link.
    with page.expect_response(
        lambda response: "/taskInstances/" in response.url and "/links" in response.url
    ):
        page.goto(audience_run.task_url(api_server.api_url, UPLOAD_TASK, "details"))
    page.get_by_role("cell", name="Task ID", exact=True).wait_for()
    assert page.get_by_role("link", name=LINK_NAME).count() == 0
    assert page.get_by_role("heading", name="Extra Links").count() == 0


def test_task_instance_shows_the_rendered_ids(
    page: Any, api_server: AirflowSandbox, audience_run: AudienceRun
) -> None:
    page.goto(audience_run.task_url(api_server.api_url, AUDIENCE_TASK))
    page.get_by_role("link", name="Rendered Templates", exact=True).click()
    assert rendered_template_value(page, "ad_account_id") == audience_run.ad_account_id
    assert rendered_template_value(page, "customer_list_id") == audience_run.customer_list_id
    assert rendered_template_value(page, "name") == AUDIENCE_NAME
    assert rendered_template_value(page, "description") == (
        f"Created by the browser tests in run {audience_run.run_id}"
    )
    screenshot(page, "task-03-rendered-templates")
