"""Emulator: settings from env vars and flags, the CLI entry point, and the in-process server API."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from airflow_provider_pinterest_audiences.emulator.__main__ import build_parser
from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings, field_types
from airflow_provider_pinterest_audiences.emulator.validation import parse_records
from tests.integration.emulator_api import TIMEOUT

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_settings_read_every_kind_of_field_from_the_environment() -> None:
    settings = EmulatorSettings.from_env(
        {
            "PINTEREST_EMULATOR_CLOCK_SPEED": "60",
            "PINTEREST_EMULATOR_MIN_AUDIENCE_SIZE": "5",
            "PINTEREST_EMULATOR_ROTATE_REFRESH_TOKENS": "false",
            "PINTEREST_EMULATOR_ACCESS_TOKEN_MAX_REQUESTS": "10",
            "PINTEREST_EMULATOR_ACCESS_TOKEN_TTL_SECONDS": "none",
            "PINTEREST_EMULATOR_AD_ACCOUNT_ID": "42",
            "PINTEREST_EMULATOR_AD_ACCOUNT_IDS": "7, 8,",
            "PINTEREST_EMULATOR_STRICT_FIELDS": "yes",
            "UNRELATED": "1",
        },
        latency_ms=5,
    )
    assert (settings.clock_speed, settings.min_audience_size, settings.rotate_refresh_tokens) == (
        60.0,
        5,
        False,
    )
    assert (settings.access_token_max_requests, settings.access_token_ttl_seconds) == (10, None)
    assert (settings.ad_account_id, settings.latency_ms) == ("42", 5)
    assert (settings.declared_ad_accounts, settings.strict_fields) == (("42", "7", "8"), True)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PINTEREST_EMULATOR_CLOCK_SPEED": "fast"}, "clock_speed"),
        ({"PINTEREST_EMULATOR_STORE_RECORDS": "perhaps"}, "store_records"),
        ({"PINTEREST_EMULATOR_MATCH_RATE": "1.5"}, "match_rate"),
        ({"PINTEREST_EMULATOR_AD_ACCOUNT_ID": "act_1"}, "ad_account_id"),
        ({"PINTEREST_EMULATOR_AD_ACCOUNT_IDS": "1,act_2"}, "ad_account_ids"),
    ],
)
def test_bad_settings_are_rejected_by_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EmulatorSettings.from_env(env)


def test_every_setting_has_a_cli_flag() -> None:
    parser = build_parser()
    flags = {option for action in parser._actions for option in action.option_strings}
    assert {"--" + name.replace("_", "-") for name in field_types()} <= flags
    args = parser.parse_args(["--clock-speed", "3", "--no-rotate-refresh-tokens", "--fail-every-n", "4"])
    assert (args.clock_speed, args.rotate_refresh_tokens, args.fail_every_n, args.latency_ms) == (
        3.0,
        False,
        4,
        None,
    )
    args = parser.parse_args(["--ad-account-ids", "1,2", "--strict-fields"])
    assert (args.ad_account_ids, args.strict_fields) == (("1", "2"), True)


def test_in_process_server_reports_urls_and_connection() -> None:
    settings = EmulatorSettings(ad_account_id="123", access_token="tok")
    with EmulatorServer(settings, port=0) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v5"
        connection = json.loads(server.connection_json())
        assert connection == {
            "conn_type": "pinterest",
            "host": server.base_url,
            "password": "tok",
            "extra": {
                "client_id": settings.client_id,
                "client_secret": settings.client_secret,
                "refresh_token": settings.refresh_token,
                "ad_account_id": "123",
            },
        }
        server.state.create_customer_list("123", "direct", "EMAIL", parse_records("a"))
        listed = requests.get(
            f"{server.base_url}/ad_accounts/123/customer_lists",
            headers={"Authorization": "Bearer tok"},
            timeout=TIMEOUT,
        )
        assert [item["name"] for item in listed.json()["items"]] == ["direct"]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.root_url}/_emulator/summary", timeout=2)


def test_cli_prints_the_connection_serves_and_stops_on_sigterm() -> None:
    port = free_port()
    env = {**os.environ, "PINTEREST_EMULATOR_AD_ACCOUNT_ID": "987654321"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_pinterest_audiences.emulator",
            "--port",
            str(port),
            "--clock-speed",
            "10",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None

    def read_lines() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read_lines, daemon=True).start()
    try:
        printed: list[str] = []
        while not any(line.startswith("AIRFLOW_CONN_PINTEREST_DEFAULT=") for line in printed):
            printed.append(lines.get(timeout=20))
        base_url = f"http://127.0.0.1:{port}/v5"
        assert any(base_url in line for line in printed)
        conn_line = next(line for line in printed if line.startswith("AIRFLOW_CONN_PINTEREST_DEFAULT="))
        connection = json.loads(conn_line.strip().split("=", 1)[1].strip("'"))
        assert connection["host"] == base_url
        assert connection["extra"]["ad_account_id"] == "987654321"
        response = requests.get(
            f"{connection['host']}/ad_accounts/{connection['extra']['ad_account_id']}/ad_groups",
            headers={"Authorization": f"Bearer {connection['password']}"},
            timeout=5,
        )
        assert response.status_code == 200
        assert len(response.json()["items"]) == 3
        faults = requests.get(f"http://127.0.0.1:{port}/_emulator/faults", timeout=5).json()
        assert faults["clock_speed"] == 10.0
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
