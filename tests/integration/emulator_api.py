"""Shared helpers for the emulator integration tests: a module-scoped server and a small request client.

A test module gets its fixtures with::

    server = server_fixture()  # or server_fixture(emulator_settings(...)) for other settings
    api = api_fixture(Api)  # or a subclass of Api with the module's own helpers

This is a plain module, not a test file, so pytest does not rewrite its asserts:
their messages say what was expected themselves.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
import requests

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from tests.openapi_spec import require_spec, validate_request, validate_response

TIMEOUT = 10
ACCOUNT = "549755885175"
"""The ad account the emulator seeds by default."""
OTHER_ACCOUNT = "549755885176"
"""A second ad account the provider's tests declare (sharing, separate stores)."""


def emulator_settings(**changes: Any) -> EmulatorSettings:
    """The provider's own test settings: ``strict_fields`` (a field the spec does not list is our mistake)
    and a second declared ad account, with ``changes`` on top."""
    return EmulatorSettings(**{"strict_fields": True, "ad_account_ids": (OTHER_ACCOUNT,), **changes})


def control(server: EmulatorServer, method: str, path: str, **kwargs: Any) -> Any:
    """Call the emulator's ``/_emulator`` control API; it must answer 200."""
    response = requests.request(method, f"{server.root_url}/_emulator{path}", timeout=TIMEOUT, **kwargs)
    assert response.status_code == 200, f"control {method} {path}: {response.status_code}: {response.text}"
    return response.json()


@contextmanager
def failing_from_update(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, call: int) -> Iterator[None]:
    """Inside the block, every request fails from the ``call``-th customer-list PATCH on (the emulator's
    ``fail_every_n`` fault); after it, requests succeed again and the hook is as it was."""
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

    real_update = PinterestHook.update_customer_list
    calls = itertools.count(1)

    def update_then_break(self: PinterestHook, *args: Any, **kwargs: Any) -> Any:
        if next(calls) == call:
            control(server, "POST", "/faults", json={"fail_every_n": 1})
        return real_update(self, *args, **kwargs)

    monkeypatch.setattr(PinterestHook, "update_customer_list", update_then_break)
    try:
        yield
    finally:
        control(server, "POST", "/faults", json={"fail_every_n": 0})
        monkeypatch.setattr(PinterestHook, "update_customer_list", real_update)


class Api:
    """Requests to one emulator; every Pinterest answer is checked against the official spec."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {server.settings.access_token}"

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> requests.Response:
        """A Pinterest request that must answer ``expect``; one meant to succeed must follow the spec too."""
        response = self.session.request(method, self.server.base_url + path, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path}: expected {expect}, got {response.status_code}: {response.text}"
        )
        if expect < 400:
            validate_request(response.request)
        validate_response(response.request, response)
        return response

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A raw Pinterest request: any status is returned, the answer must match the spec's schemas."""
        response = self.session.request(method, self.server.base_url + path, **kwargs)
        validate_response(response.request, response)
        return response

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        return control(self.server, method, path, **kwargs)


ApiT = TypeVar("ApiT", bound=Api)


def server_fixture(settings: EmulatorSettings | None = None) -> Callable[..., Iterator[EmulatorServer]]:
    """A module-scoped ``server`` fixture: one emulator (skipped without the OpenAPI spec) per module."""

    @pytest.fixture(scope="module", name="server")
    def server() -> Iterator[EmulatorServer]:
        require_spec()
        with EmulatorServer(settings if settings is not None else emulator_settings()) as running:
            yield running

    return server


def api_fixture(api_class: type[ApiT]) -> Callable[..., ApiT]:
    """An ``api`` fixture: an ``api_class`` client on the module's ``server``, reset before each test."""

    @pytest.fixture(name="api")
    def api(server: EmulatorServer) -> ApiT:
        client = api_class(server)
        client.control("POST", "/reset")
        return client

    return api
