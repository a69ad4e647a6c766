"""Emulator: the declared ad accounts are the ones the token can access; any other answers 403."""

from __future__ import annotations

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from tests.integration.emulator_api import ACCOUNT, OTHER_ACCOUNT, Api, api_fixture, server_fixture

server = server_fixture()
api = api_fixture(Api)


def test_list_and_get_the_declared_accounts(api: Api) -> None:
    listed = api.call("GET", "/ad_accounts").json()
    assert [account["id"] for account in listed["items"]] == [ACCOUNT, OTHER_ACCOUNT]
    for account in listed["items"]:
        assert api.call("GET", f"/ad_accounts/{account['id']}").json() == account
    assert listed["items"][0]["permissions"] == ["OWNER"]


def test_an_undeclared_account_is_forbidden_everywhere(api: Api) -> None:
    undeclared = "123456789"
    for method, path in (
        ("GET", ""),
        ("GET", "/customer_lists"),
        ("GET", "/audiences"),
        ("GET", "/ad_groups"),
        ("POST", "/audiences"),
    ):
        answer = api.call(method, f"/ad_accounts/{undeclared}{path}", expect=403, json={}).json()
        assert answer["code"] == 29, (method, path)
        assert "not permitted" in answer["message"]
    api.call("GET", "/ad_accounts/12ab", expect=400)


def test_by_default_only_the_connection_account_is_declared() -> None:
    settings = EmulatorSettings(ad_account_id="42")
    assert settings.declared_ad_accounts == ("42",)
    assert EmulatorSettings(ad_account_id="42", ad_account_ids=("7", "42")).declared_ad_accounts == (
        "42",
        "7",
    )
    with EmulatorServer(settings) as running:
        client = Api(running)
        assert [a["id"] for a in client.call("GET", "/ad_accounts").json()["items"]] == ["42"]
        client.call("GET", f"/ad_accounts/{ACCOUNT}", expect=403)
