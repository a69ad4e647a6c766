"""Fixtures for the browser tests: the emulator, a throwaway Airflow (``db migrate``, ``api-server``,
``dags test``) and Debian's Chromium driven by Playwright.

Everything listens on 127.0.0.1 only. The Airflow processes get their own ``AIRFLOW_HOME`` and an
environment stripped of the caller's ``AIRFLOW_*`` variables, so nothing leaks in from the developer's
shell or from the unit-test settings of ``tests/conftest.py``. Every process started here runs in its
own process group and is stopped (SIGTERM, then SIGKILL) at the end of the session.

Chromium is never downloaded: ``scripts/install_browser.sh`` installs the Debian package. When it or
Playwright is missing the tests are skipped, except under CI (``CI`` set), where they fail.

Start-up is overlapped to keep the suite short on two cores: right after ``db migrate`` the DAG run
used by the task-instance tests starts in the background (only when those tests are selected) while
the API server boots and the connection tests run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
from tests.browser import audience_dag
from tests.browser.ui import ARTIFACTS, REPO_ROOT, safe_name

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
API_SERVER_START_TIMEOUT = 150.0
DAG_TEST_TIMEOUT = 240.0
UI_TIMEOUT_MS = 20_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Fail under CI (a missing browser must not turn the suite green), skip elsewhere."""
    if _in_ci():
        pytest.fail(f"browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -- processes ------------------------------------------------------------------------------------------


@dataclass
class Background:
    """A command started in its own process group, its output going to a log under ``.artifacts``."""

    description: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    def log_tail(self, chars: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait(self, timeout: float) -> None:
        """Wait for a successful exit; AssertionError (with the log's end) otherwise."""
        try:
            returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(
                f"{self.description} still running after {timeout:.0f} s; log: {self.log_path}\n"
                f"{self.log_tail()}"
            ) from None
        if returncode != 0:
            raise AssertionError(
                f"{self.description} exited with {returncode}; log: {self.log_path}\n{self.log_tail()}"
            )

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the group we started (the process and its children), SIGKILL after ``grace``."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            # Children that outlived their parent (e.g. server workers) are still in the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


@dataclass
class AirflowSandbox:
    """A throwaway Airflow installation: its home, DAGs folder and the environment of its processes."""

    home: Path
    dags_folder: Path
    api_port: int
    env: dict[str, str] = field(repr=False)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "airflow", *args]

    def start(self, *args: str, extra_env: dict[str, str] | None = None) -> Background:
        """Start ``airflow <args>`` in the background."""
        words = itertools.takewhile(lambda arg: not arg.startswith("-"), args)
        log_path = ARTIFACTS / f"airflow-{safe_name('-'.join(words))}.log"
        log = log_path.open("wb")
        log.write(f"$ airflow {' '.join(args)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            self.command(*args),
            env={**self.env, **(extra_env or {})},
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return Background(f"`airflow {' '.join(args)}`", process, log_path, log)

    def run(self, *args: str, timeout: float = 180.0, extra_env: dict[str, str] | None = None) -> None:
        """Run ``airflow <args>`` to a successful end."""
        command = self.start(*args, extra_env=extra_env)
        try:
            command.wait(timeout)
        finally:
            command.stop()

    def python(self, code: str, *args: str, timeout: float = 120.0) -> str:
        """Run Python ``code`` (``sys.argv[1:]`` = ``args``) against this installation; return stdout.

        It runs in the Task SDK's "server" context, which reads connections from the metadata
        database, as the API server and ``airflow connections test`` do.
        """
        completed = subprocess.run(
            [sys.executable, "-c", code, *args],
            env={**self.env, "_AIRFLOW_PROCESS_CONTEXT": "server"},
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(
                f"python subprocess exited with {completed.returncode}:\n{completed.stderr[-3000:]}"
            )
        return completed.stdout


def _airflow_environment(home: Path, dags_folder: Path, api_port: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW_", "_AIRFLOW", "PINTEREST_EMULATOR_"))
    }
    pythonpath = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(pythonpath),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:  # noqa: S310 (loopback only)
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


# -- fixtures: services ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium; skip (or fail under CI) when it or Playwright is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        _unavailable(f"the `playwright` Python package is not installed ({exc})")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is missing; run scripts/install_browser.sh (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """The Pinterest emulator on a free loopback port (a thread of this process)."""
    with EmulatorServer(EmulatorSettings(clock_speed=20.0), host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="session")
def artifacts(chromium_path: str) -> Path:
    """``.artifacts/browser``, emptied: it holds the screenshots and logs of the last run only."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def airflow_sandbox(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> AirflowSandbox:
    """A fresh ``AIRFLOW_HOME`` with a migrated SQLite metadata database."""
    home = tmp_path_factory.mktemp("browser-airflow-home")
    dags_folder = home / "dags"
    dags_folder.mkdir()
    port = free_port()
    sandbox = AirflowSandbox(home, dags_folder, port, _airflow_environment(home, dags_folder, port))
    sandbox.run("db", "migrate", timeout=240)
    return sandbox


@pytest.fixture(scope="session")
def audience_dag_test(airflow_sandbox: AirflowSandbox, emulator: EmulatorServer) -> Iterator[Background]:
    """``airflow dags test`` of the audience DAG, started in the background (wait with ``.wait()``)."""
    dag_file = airflow_sandbox.dags_folder / f"{audience_dag.DAG_ID}.py"
    dag_file.write_text(audience_dag.dag_file_source(emulator.settings.ad_account_id))
    command = airflow_sandbox.start(
        "dags",
        "test",
        audience_dag.DAG_ID,
        extra_env={f"AIRFLOW_CONN_{audience_dag.CONN_ID.upper()}": emulator.connection_json()},
    )
    try:
        yield command
    finally:
        command.stop()


@pytest.fixture(scope="session")
def api_server(
    airflow_sandbox: AirflowSandbox, emulator: EmulatorServer, request: pytest.FixtureRequest
) -> Iterator[AirflowSandbox]:
    """``airflow api-server`` on 127.0.0.1, serving the UI; stopped at the end of the session."""
    # The DAG run takes ~30 s: when a selected test needs it, let it run while the server boots.
    if any("audience_dag_test" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("audience_dag_test")
    server = airflow_sandbox.start(
        "api-server", "--host", "127.0.0.1", "--port", str(airflow_sandbox.api_port)
    )
    try:
        deadline = time.monotonic() + API_SERVER_START_TIMEOUT
        while not (
            _status(f"{airflow_sandbox.api_url}/api/v2/monitor/health") == 200
            and _status(f"{airflow_sandbox.api_url}/") == 200
        ):
            if server.process.poll() is not None:
                raise AssertionError(
                    f"airflow api-server exited with {server.process.returncode} during start-up; "
                    f"log: {server.log_path}\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"airflow api-server not ready after {API_SERVER_START_TIMEOUT:.0f} s; "
                    f"log: {server.log_path}\n{server.log_tail()}"
                )
            time.sleep(0.5)
        yield airflow_sandbox
    finally:
        server.stop()


# -- fixtures: browser ----------------------------------------------------------------------------------

_BLOCKED: list[str] = []


def _loopback_only(route: Any) -> None:
    """Abort (and record) any request that would leave the machine: the UI must work offline."""
    url = route.request.url
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") not in LOOPBACK_HOSTS:
        _BLOCKED.append(url)
        route.abort("blockedbyclient")
        return
    route.fallback()


@pytest.fixture
def blocked_requests() -> list[str]:
    """URLs the browser tried to reach outside loopback (and was stopped from), in order."""
    return _BLOCKED


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    """The session's one Playwright driver: the sync API allows a single running instance per thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser_context(chromium_path: str, playwright_driver: Any, api_server: AirflowSandbox) -> Iterator[Any]:
    """One headless Chromium (Debian's, never downloaded) with a fresh profile for the whole session."""
    profile = tempfile.mkdtemp(prefix="browser-tests-profile-")
    try:
        context = playwright_driver.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 1400},
            locale="en-US",
            timezone_id="UTC",
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        context.route("**/*", _loopback_only)
        try:
            yield context
        finally:
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser_context: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new tab; on failure its last state is saved as ``FAILED-<test>.png`` next to the screenshots."""
    tab = browser_context.new_page()
    console: list[str] = []
    tab.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    tab.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    try:
        yield tab
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            name = safe_name(request.node.name)
            # Best effort: a failure screenshot must not hide the real error.
            with contextlib.suppress(Exception):
                tab.screenshot(path=ARTIFACTS / f"FAILED-{name}.png", full_page=True)
            (ARTIFACTS / f"FAILED-{name}.console.txt").write_text("\n".join(console))
        tab.close()
