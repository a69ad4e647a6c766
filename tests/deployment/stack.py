"""A production-shaped Airflow 3.3 deployment of the built wheel, started and stopped by the tests.

PostgreSQL (a throwaway cluster from Debian's ``initdb``, run as the ``postgres`` user) is the metadata
database; Redis (Debian's ``redis-server``) is the Celery broker; two Celery workers, the scheduler,
the DAG processor, the triggerer and the API server run from a fresh venv holding Airflow, the Celery
provider, psycopg2 and the provider's wheel (``constraints/deployment-airflow-3.3-py3.11.txt``). The
emulator is the one inside the installed wheel. Everything listens on 127.0.0.1 and runs in its own
process group; :meth:`Stack.close` stops all of it, also after a failure.

Each worker names itself through ``[core] hostname_callable`` (``worker_name.py`` beside this file),
so a task instance's ``hostname`` says which worker ran it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from scripts.installed_wheel import (
    REPO,
    build_artefacts,
    clean_env,
    create_venv,
    install,
    requirement_lines,
    stage_checkout,
)

CONSTRAINTS_IN = REPO / "constraints" / "deployment-airflow-3.3-py3.11.in"
PYTHON_VERSION = "3.11"
WORKERS = ("worker-a", "worker-b")
TOKEN_VARIABLE = "pinterest_default_tokens"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
EXTRA_DAGS = Path(__file__).parent / "dags"
EMULATOR_FLAGS = (
    "--customer-list-processing-seconds=1",
    "--audience-initializing-seconds=2",
    "--audience-processing-seconds=10",
    "--ads-write-per-minute=100000",
    "--ads-read-per-minute=100000",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def http_json(url: str, body: object | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (http on loopback)
        return json.load(response)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):  # noqa: S310 (http on loopback)
            return True
    except OSError:
        return False


class Stack:
    """The running deployment; build it with :func:`start_stack`, stop it with :meth:`close`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._log_files: list[IO[bytes]] = []
        self.python = root / "venv" / "bin" / "python"
        self.env: dict[str, str] = {}
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.api_port = free_port()
        self.emulator_port = free_port()
        self.pg_dir = Path(tempfile.mkdtemp(prefix="pinterest-deployment-pg-"))
        self.timeline: list[str] = []
        self.killed: set[str] = set()  # stopped on purpose by a test
        self.started = time.monotonic()

    # -- processes -------------------------------------------------------------------------------------
    def note(self, event: str) -> None:
        self.timeline.append(f"{time.monotonic() - self.started:7.1f} s  {event}")

    def spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self._log_files.append(log)
        self.processes[name] = subprocess.Popen(
            command,
            env=env if env is not None else self.env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.note(f"started {name} (pid {self.processes[name].pid})")

    def log_text(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> None:
        process = self.processes[name]
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # anything the group left behind
            os.killpg(process.pid, signal.SIGKILL)

    def kill(self, name: str) -> None:
        """SIGKILL the whole process group of ``name`` (a worker: its pool and the tasks it runs)."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=30)
        self.killed.add(name)
        self.note(f"SIGKILL {name}")

    def close(self) -> None:
        order = [*WORKERS, *reversed(COMPONENTS), "emulator", "redis", "postgres"]
        for name in [n for n in order if n in self.processes]:
            self.stop(name, signal.SIGINT if name == "postgres" else signal.SIGTERM)
        for log in self._log_files:
            log.close()
        shutil.rmtree(self.pg_dir, ignore_errors=True)
        self.note("stopped everything")

    # -- clients ---------------------------------------------------------------------------------------
    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), "-m", "airflow", *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def sql(self, query: str, **params: object) -> list[list[str]]:
        """Rows of a query on the metadata database, every value a string. ``:'name'`` in ``query`` is
        ``params["name"]``, quoted by psql."""
        variables = [arg for key, value in params.items() for arg in ("-v", f"{key}={value}")]
        output = self.psql("-d", "airflow", "-X", "-At", "-F", "\t", *variables, stdin=query)
        return [line.split("\t") for line in output.splitlines() if line]

    def psql(self, *args: str, stdin: str | None = None) -> str:
        command = [
            *self._pg("psql"),
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.pg_port),
            "-U",
            "postgres",
            *args,
        ]
        return subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=60, check=True
        ).stdout

    def emulator(self, path: str, body: object | None = None) -> Any:
        return http_json(f"http://127.0.0.1:{self.emulator_port}{path}", body)

    # -- services --------------------------------------------------------------------------------------
    @staticmethod
    def _pg(binary: str) -> list[str]:
        matches = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{binary}"))
        if not matches:
            raise RuntimeError(f"PostgreSQL's {binary} is missing: run make install-deployment")
        return [matches[-1]]

    def start_postgres(self) -> None:
        os.chmod(self.pg_dir, 0o755)  # noqa: S103 (the postgres user must reach its data directory)
        data = self.pg_dir / "data"
        data.mkdir()
        shutil.chown(data, "postgres", "postgres")
        as_postgres = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--"]
        initdb = [*self._pg("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]
        subprocess.run([*as_postgres, *initdb, "--no-sync"], capture_output=True, check=True, timeout=120)
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.pg_port),
            "unix_socket_directories": "",
            "fsync": "off",
            "max_connections": "300",
        }
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        self.spawn(
            "postgres", [*as_postgres, *self._pg("postgres"), "-D", str(data), *options], env=clean_env()
        )
        wait_for(
            lambda: (
                subprocess.run(
                    [*self._pg("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)], check=False
                ).returncode
                == 0
            ),
            60,
            "PostgreSQL",
        )
        self.psql("-c", "CREATE DATABASE airflow")

    def start_redis(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is missing: run make install-deployment")
        port = str(self.redis_port)
        self.spawn(
            "redis", [server, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no"]
        )

        def pong() -> bool:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.redis_port), 2) as s,
            ):
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
            return False

        wait_for(pong, 30, "Redis")

    def start_emulator(self) -> dict[str, Any]:
        """The installed wheel's emulator; returns the Airflow connection it prints."""
        module = "airflow_provider_pinterest_audiences.emulator"
        command = [str(self.python), "-m", module, "--port", str(self.emulator_port), *EMULATOR_FLAGS]
        self.spawn("emulator", command, env=clean_env())
        wait_for(lambda: _answers(f"http://127.0.0.1:{self.emulator_port}/_emulator/summary"), 60, "emulator")
        for line in self.log_text("emulator").splitlines():
            if line.startswith("AIRFLOW_CONN_PINTEREST_DEFAULT="):
                connection: dict[str, Any] = json.loads(line.split("=", 1)[1].strip("'"))
                return connection
        raise AssertionError("the emulator printed no connection")

    def start_airflow(self) -> None:
        migrated = self.airflow("db", "migrate", timeout=600)
        assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
        self.note("airflow db migrate done (PostgreSQL)")
        for component in COMPONENTS:
            extra = ["--host", "127.0.0.1", "--port", str(self.api_port)] if component == "api-server" else []
            if component == "triggerer":
                extra = ["--skip-serve-logs"]  # its log server would listen on every interface
            self.spawn(component, [str(self.python), "-m", "airflow", component, *extra])
        for worker in WORKERS:
            command = [str(self.python), "-m", "airflow", "celery", "worker", "--concurrency", "4"]
            command += ["--celery-hostname", f"{worker}@%h", "--without-mingle", "--without-gossip"]
            command += ["--skip-serve-logs"]  # logs are read from the shared folder; no 0.0.0.0 listener
            self.spawn(worker, command, env={**self.env, "PINTEREST_DEPLOYMENT_WORKER": worker})
        wait_for(lambda: _answers(f"http://127.0.0.1:{self.api_port}/api/v2/version"), 180, "the API server")
        for worker in WORKERS:
            wait_for(lambda w=worker: " ready." in self.log_text(w), 180, f"{worker} to be ready")  # type: ignore[misc]
        self.note("api-server answers; both workers ready")

    def assert_running(self) -> None:
        dead = {
            name: p.returncode
            for name, p in self.processes.items()
            if p.poll() is not None and name not in self.killed
        }
        assert not dead, f"exited early: {dead}; see {self.logs}"


def start_stack(root: Path, crm_db: Path) -> Stack:
    """Build the wheel, install the deployment venv, start every service; the caller closes it."""
    stack = Stack(root)
    try:
        wheel = build_artefacts(root / "dist").wheel
        python = create_venv(root / "venv", PYTHON_VERSION)
        pins = CONSTRAINTS_IN.with_suffix(".txt")
        install(python, *requirement_lines(CONSTRAINTS_IN), constraints=pins)
        install(python, str(wheel))
        stack.note(f"venv ready: {wheel.name} installed")
        checkout = stage_checkout(root / "checkout")
        dags = root / "dags"
        shutil.copytree(checkout / "example_dags", dags)
        for extra in EXTRA_DAGS.glob("*.py"):
            shutil.copy2(extra, dags / extra.name)
        stack.start_postgres()
        stack.start_redis()
        connection = stack.start_emulator()
        stack.note("PostgreSQL, Redis and the emulator answer")
        postgres = f"postgres@127.0.0.1:{stack.pg_port}/airflow"
        stack.env = clean_env(
            AIRFLOW_HOME=str(root / "home"),
            PYTHONPATH=str(checkout),  # tests/deployment/worker_name.py only: the package is not there
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CORE__PARALLELISM="16",
            AIRFLOW__CORE__HOSTNAME_CALLABLE="tests.deployment.worker_name.worker_name",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{stack.api_port}/execution/",
            AIRFLOW__CORE__AUTH_MANAGER=(
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
            AIRFLOW__API_AUTH__JWT_SECRET="deployment-test-jwt-secret-0123456789abcdef",
            AIRFLOW__API__SECRET_KEY="deployment-test-secret-key",
            AIRFLOW__API__PORT=str(stack.api_port),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"postgresql+psycopg2://{postgres}",
            AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{stack.redis_port}/0",
            AIRFLOW__CELERY__RESULT_BACKEND=f"db+postgresql+psycopg2://{postgres}",
            AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER="1",
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
            AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",  # only the runs the tests trigger (no @daily run)
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="20",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="2",
            AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC="1",
            AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
            AIRFLOW_CONN_PINTEREST_DEFAULT=json.dumps(
                {**connection, "extra": {**connection["extra"], "oauth_variable": TOKEN_VARIABLE}}
            ),
            AIRFLOW_CONN_CRM_DB=json.dumps({"conn_type": "sqlite", "host": str(crm_db)}),
        )
        stack.start_airflow()
    except BaseException:
        stack.close()
        raise
    return stack
