"""``EmulatorServer``: the emulator app served by uvicorn in a background thread."""

from __future__ import annotations

import json
import socket
import threading
import time
from types import TracebackType

import uvicorn

from .app import create_app
from .settings import EmulatorSettings
from .state import EmulatorState


class EmulatorServer:
    """Serves the emulator on ``host:port`` (0 = a free port); a context manager, or start()/stop()."""

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self.host = host
        self.port = port
        self.state = EmulatorState(self.settings)
        self.app = create_app(self.settings, state=self.state)
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        """``http://host:port`` (the ``/_emulator`` control API lives here)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The Pinterest API base URL, ``http://host:port/v5``."""
        return f"{self.root_url}/v5"

    def connection_json(self) -> str:
        """The Airflow connection (``AIRFLOW_CONN_PINTEREST_DEFAULT``) pointing at this emulator."""
        settings = self.settings
        return json.dumps(
            {
                "conn_type": "pinterest",
                "host": self.base_url,
                "password": settings.access_token,
                "extra": {
                    "client_id": settings.client_id,
                    "client_secret": settings.client_secret,
                    "refresh_token": settings.refresh_token,
                    "ad_account_id": settings.ad_account_id,
                },
            }
        )

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Bind, serve in a daemon thread, and return once requests are being served."""
        if self._thread is not None:
            raise RuntimeError("the emulator server is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="pinterest-emulator", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError(f"the emulator did not start on {self.root_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Shut down and wait for the serving thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
