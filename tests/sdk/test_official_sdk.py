"""Pinterest's official Python SDK runs unchanged against the emulator, and every answer follows the spec.

The SDK (``pinterest-api-sdk``, pinned) pins its own dependencies (urllib3 1.x among them), so it lives in a
virtual environment of its own under the git-ignored ``.artifacts/``, created on first use from PyPI and
reused while the pin is unchanged. ``sdk_flow.py`` runs there; the emulator runs here, behind a recorder
that keeps every exchange for validation against the official OpenAPI description.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from requests.structures import CaseInsensitiveDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from tests.integration.emulator_api import ACCOUNT, OTHER_ACCOUNT
from tests.openapi_spec import require_spec, validate_response

pytestmark = pytest.mark.airflow3_only  # one run is enough: the SDK does not depend on the Airflow version

SDK_REQUIREMENT = "pinterest-api-sdk==0.2.7"
VENV = Path(__file__).resolve().parents[2] / ".artifacts" / "pinterest-sdk-venv"
FLOW = Path(__file__).with_name("sdk_flow.py")
FLOW_CALLS = 30
INSTALL_TIMEOUT = 240


def sdk_python() -> Path:
    """The SDK venv's interpreter; the venv is (re)built when missing or pinned to another version."""
    python = VENV / "bin" / "python"
    marker = VENV / "installed-requirement.txt"
    if python.is_file() and marker.is_file() and marker.read_text() == SDK_REQUIREMENT:
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=INSTALL_TIMEOUT)
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", SDK_REQUIREMENT]
    subprocess.run(install, check=True, timeout=INSTALL_TIMEOUT)
    marker.write_text(SDK_REQUIREMENT)
    return python


@dataclass
class Exchange:
    """One ``/v5`` request and the emulator's answer, as seen on the wire."""

    method: str
    path: str
    query: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes

    def validate(self) -> None:
        """Raise unless the answer matches the spec's response schema for the operation."""
        url = f"http://emulator{self.path}" + (f"?{self.query}" if self.query else "")
        prepared = requests.Request(
            self.method, url, headers=dict(self.request_headers), data=self.request_body or None
        ).prepare()
        response = requests.Response()
        response.status_code = self.status
        response.headers = CaseInsensitiveDict(dict(self.response_headers))
        response._content = self.response_body
        response.request = prepared
        validate_response(prepared, response)


class Recorder:
    """ASGI middleware keeping every ``/v5`` exchange."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v5/"):
            await self.app(scope, receive, send)
            return
        request_body, response_body = bytearray(), bytearray()
        start: dict[str, Message] = {}

        async def receive_recording() -> Message:
            message = await receive()
            request_body.extend(message.get("body", b""))
            return message

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                start["message"] = message
            elif message["type"] == "http.response.body":
                response_body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive_recording, send_recording)
        decode = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["message"].get("headers", [])]
        self.exchanges.append(
            Exchange(
                method=scope["method"],
                path=scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"),
                request_headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
                request_body=bytes(request_body),
                status=start["message"]["status"],
                response_headers=decode,
                response_body=bytes(response_body),
            )
        )


def test_the_official_sdk_flow_passes_and_every_answer_follows_the_spec(tmp_path: Path) -> None:
    require_spec()
    python = sdk_python()
    settings = EmulatorSettings(ad_account_ids=(OTHER_ACCOUNT,))
    server = EmulatorServer(settings)
    recorder = Recorder(server.app)
    server.app = recorder  # type: ignore[assignment]
    config = {
        "base_url": "",
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
        "refresh_token": settings.refresh_token,
        "ad_account_id": ACCOUNT,
        "recipient_account_id": OTHER_ACCOUNT,
        "undeclared_account_id": "999888777",
        "business_id": "729090764583391194",
    }
    # The SDK loads the first config.json below the parent of its working directory: give it an empty one.
    workdir = tmp_path / "sdk" / "run"
    workdir.mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PINTEREST_", "PYTHON"))}
    with server:
        config["base_url"] = server.base_url
        flow = subprocess.run(
            [str(python), str(FLOW), json.dumps(config)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    rows = [json.loads(line) for line in flow.stdout.splitlines() if line.startswith("{")]
    failed = [f"{row['call']}: {row['detail']}" for row in rows if not row["passed"]]
    assert flow.returncode == 0, flow.stderr
    assert (len(rows), failed) == (FLOW_CALLS, []), "\n".join(failed)

    assert len(recorder.exchanges) > FLOW_CALLS
    assert sorted({e.status for e in recorder.exchanges}) == [200, 403]  # 403: the undeclared account
    invalid = []
    for exchange in recorder.exchanges:
        try:
            exchange.validate()
        except Exception as error:  # collect them all, then report
            invalid.append(f"{exchange.method} {exchange.path} -> {exchange.status}: {error}")
    assert invalid == [], "\n".join(invalid)
