"""Pinterest's official Python SDK runs unchanged against the emulator, and every answer follows the spec.

The SDK (``pinterest-api-sdk``, pinned) pins its own dependencies (urllib3 1.x among them), so it lives in a
virtual environment of its own under the git-ignored ``.artifacts/``, created on first use from PyPI and
reused while the pin is unchanged; when it cannot be built (no registry), the test fails under CI and is
skipped elsewhere. ``sdk_flow.py`` runs there; the emulator runs here, behind a recorder that keeps every
exchange for validation against the official OpenAPI description. Each run writes its call table (call,
requests with their status, passed) to ``.artifacts/sdk-call-table.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"
VENV = ARTIFACTS / "pinterest-sdk-venv"
CALL_TABLE = ARTIFACTS / "sdk-call-table.md"
FLOW = Path(__file__).with_name("sdk_flow.py")
FLOW_CALLS = 30
VENV_TIMEOUT = 60
INSTALL_TIMEOUT = 240
FLOW_TIMEOUT = 120


def build_venv(venv: Path) -> None:
    """Create ``venv`` and install the pinned SDK into it (pip's output kept for the error message)."""
    subprocess.run(
        [sys.executable, "-m", "venv", str(venv)],
        check=True,
        capture_output=True,
        text=True,
        timeout=VENV_TIMEOUT,
    )
    install = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", SDK_REQUIREMENT]
    subprocess.run(
        [str(venv / "bin" / "python"), *install],
        check=True,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )


def sdk_python(venv: Path = VENV, build: Callable[[Path], None] = build_venv) -> Path:
    """The SDK venv's interpreter; the venv is (re)built when missing or pinned to another version.

    A failed build leaves no half-built venv behind, and fails the test under CI or skips it elsewhere.
    """
    python = venv / "bin" / "python"
    marker = venv / "installed-requirement.txt"
    if python.is_file() and marker.is_file() and marker.read_text() == SDK_REQUIREMENT:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    try:
        build(venv)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        shutil.rmtree(venv, ignore_errors=True)
        output = error.stderr or error.stdout or ""  # bytes after a timeout, even with text=True
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        message = f"cannot build the venv of {SDK_REQUIREMENT}: {error}\n{output}".strip()
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    marker.write_text(SDK_REQUIREMENT)
    return python


def call_table(rows: list[dict[str, Any]]) -> str:
    """The flow's calls as a Markdown table: number, endpoint and SDK method, requests with status, passed."""
    lines = ["| # | Endpoint: SDK method | Requests (status) | Passed |", "|---|---|---|---|"]
    for number, row in enumerate(rows, 1):
        requests_sent = "<br>".join(f"`{request}`" for request in row["requests"]) or "none"
        passed = "yes" if row["passed"] else f"no: {row['detail']}"
        lines.append(f"| {number} | {row['call']} | {requests_sent} | {passed} |")
    return "\n".join(lines) + "\n"


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


@pytest.mark.timeout(VENV_TIMEOUT + INSTALL_TIMEOUT + FLOW_TIMEOUT + 60)
def test_the_official_sdk_flow_passes_and_every_answer_follows_the_spec(tmp_path: Path) -> None:
    """Writes the call table to ``.artifacts/sdk-call-table.md``."""
    require_spec()
    python = sdk_python()
    # The emulator as users get it: the SDK sends fields the spec does not list (ad_account_id in a
    # customer-list body, an ad group read back whole), which Pinterest ignores.
    settings = EmulatorSettings(ad_account_ids=(OTHER_ACCOUNT,), strict_fields=False)
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
            timeout=FLOW_TIMEOUT,
            check=False,
        )
    rows = [json.loads(line) for line in flow.stdout.splitlines() if line.startswith("{")]
    CALL_TABLE.write_text(call_table(rows))
    failed = [f"{row['call']}: {row['detail']}" for row in rows if not row["passed"]]
    assert flow.returncode == 0, flow.stderr
    assert (len(rows), failed) == (FLOW_CALLS, []), "\n".join(failed)
    assert [row["call"] for row in rows if not row["requests"]] == []  # the table shows every call's requests

    assert len(recorder.exchanges) > FLOW_CALLS
    assert sorted({e.status for e in recorder.exchanges}) == [200, 403]  # 403: the undeclared account
    invalid = []
    for exchange in recorder.exchanges:
        try:
            exchange.validate()
        except Exception as error:  # collect them all, then report
            invalid.append(f"{exchange.method} {exchange.path} -> {exchange.status}: {error}")
    assert invalid == [], "\n".join(invalid)


class _FailingBuild:
    """A venv build that starts, then fails like ``build_venv`` does (``error``)."""

    def __init__(self, error: subprocess.SubprocessError) -> None:
        self.error = error

    def __call__(self, venv: Path) -> None:
        (venv / "bin").mkdir(parents=True)
        raise self.error


NO_REGISTRY = subprocess.CalledProcessError(
    1, ["pip", "install"], stderr="ERROR: No matching distribution found for pinterest-api-sdk==0.2.7"
)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (NO_REGISTRY, "No matching distribution found for pinterest-api-sdk==0.2.7"),
        (
            subprocess.TimeoutExpired(["pip", "install"], INSTALL_TIMEOUT),
            f"timed out after {INSTALL_TIMEOUT}",
        ),
    ],
    ids=["pip-error", "timeout"],
)
@pytest.mark.parametrize("ci", [True, False], ids=["ci", "local"])
def test_a_failed_sdk_build_fails_under_ci_skips_elsewhere_and_leaves_no_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: subprocess.SubprocessError, reason: str, ci: bool
) -> None:
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    venv = tmp_path / "sdk-venv"
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(outcome, match=reason):
        sdk_python(venv, _FailingBuild(error))
    assert not venv.exists()


def test_the_call_table_lists_each_call_with_its_requests() -> None:
    rows: list[dict[str, Any]] = [
        {
            "call": "ad_accounts/get: AdAccount(...)",
            "passed": True,
            "detail": "",
            "requests": ["GET /v5/x 200"],
        },
        {"call": "oauth/token: create", "passed": False, "detail": "HTTP 400", "requests": []},
    ]
    assert call_table(rows).splitlines()[2:] == [
        "| 1 | ad_accounts/get: AdAccount(...) | `GET /v5/x 200` | yes |",
        "| 2 | oauth/token: create | none | no: HTTP 400 |",
    ]
