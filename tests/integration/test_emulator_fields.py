"""Emulator: request fields the spec does not list: ignored by default, refused under ``strict_fields``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from tests.integration.emulator_api import ACCOUNT, TIMEOUT, Api
from tests.openapi_spec import require_spec

LISTS = f"/ad_accounts/{ACCOUNT}/customer_lists"
AUDIENCES = f"/ad_accounts/{ACCOUNT}/audiences"
AD_GROUPS = f"/ad_accounts/{ACCOUNT}/ad_groups"


@pytest.fixture(scope="module", params=[False, True], ids=["default", "strict"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    require_spec()
    with EmulatorServer(EmulatorSettings(strict_fields=request.param)) as server:
        yield Api(server)


def expected_status(api: Api) -> int:
    return 400 if api.server.settings.strict_fields else 200


def check(api: Api, response: requests.Response, field: str) -> None:
    assert response.status_code == expected_status(api), response.text
    if response.status_code == 400:
        assert response.json() == {"code": 1, "message": f"{field} is not a known field here."}


def test_customer_list_create_with_the_account_in_the_body(api: Api) -> None:
    # What the official SDK sends: CustomerList.create puts ad_account_id in the body.
    body = {"ad_account_id": ACCOUNT, "name": "sdk style", "records": "a,b"}
    created = api.send("POST", LISTS, json=body)
    check(api, created, "ad_account_id")
    if created.ok:
        assert (created.json()["ad_account_id"], created.json()["num_uploaded_user_records"]) == (ACCOUNT, 2)


def test_audience_create_and_update_with_extra_fields(api: Api) -> None:
    rule = {"engagement_domain": ["www.example.com"]}
    body = {"audience_type": "ENGAGEMENT", "name": "extra", "rule": rule, "size": 5, "status": "READY"}
    created = api.send("POST", AUDIENCES, json=body)
    check(api, created, "size")
    if created.ok:
        assert (created.json()["size"], created.json()["status"]) == (0, "INITIALIZING")
        patched = api.send("PATCH", f"{AUDIENCES}/{created.json()['id']}", json={"name": "x", "type": "y"})
        assert (patched.status_code, patched.json()["type"], patched.json()["name"]) == (200, "audience", "x")


def test_an_ad_group_read_and_patched_back_whole(api: Api) -> None:
    group = api.call("GET", AD_GROUPS).json()["items"][0]
    sent = {**group, "summary_status": "BOGUS", "name": "renamed"}
    patched = api.send("PATCH", AD_GROUPS, json=[sent])
    check(api, patched, "[0].summary_status")
    stored = api.call("GET", f"{AD_GROUPS}/{group['id']}").json()
    if patched.ok:
        assert patched.json()["items"][0]["exceptions"] == []
        assert (stored["name"], stored["summary_status"]) == ("renamed", group["summary_status"])
    else:
        assert stored == group


def test_token_request_with_an_extra_form_field(api: Api) -> None:
    settings = api.server.settings
    response = requests.post(
        f"{api.server.base_url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": settings.refresh_token, "redirect_uri": "x"},
        auth=(settings.client_id, settings.client_secret),
        timeout=TIMEOUT,
    )
    check(api, response, "redirect_uri")
    if response.ok:
        assert response.json()["access_token"]


@pytest.mark.usefixtures("users_emulator_defaults")
def test_strict_fields_reads_from_the_environment() -> None:
    assert EmulatorSettings.from_env({"PINTEREST_EMULATOR_STRICT_FIELDS": "true"}).strict_fields
    assert not EmulatorSettings.from_env({}).strict_fields
    assert not EmulatorSettings().strict_fields


def test_the_provider_tests_run_strict_emulators() -> None:
    """tests/conftest.py: in-process emulators and those started from the CLI alike."""
    assert EmulatorSettings().strict_fields
    assert EmulatorSettings.from_env().strict_fields
