"""CLI: ``python -m airflow_provider_pinterest_audiences.emulator --port 8765 [--clock-speed 60 ...]``.

Every setting is a flag (``--field-name``) and an environment variable (``PINTEREST_EMULATOR_FIELD_NAME``);
flags win. Prints the base URL and the Airflow connection, then serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import functools
import signal
import threading
from types import FrameType

from .server import EmulatorServer
from .settings import EmulatorSettings, field_types, parse_field

DEFAULT_PORT = 8765


def build_parser() -> argparse.ArgumentParser:
    """Flags for the server plus one per ``EmulatorSettings`` field."""
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_pinterest_audiences.emulator",
        description="Local emulator of Pinterest's API v5 audience endpoints.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    defaults = EmulatorSettings()
    for name, annotation in field_types().items():
        flag = "--" + name.replace("_", "-")
        help_text = f"{annotation}, default {getattr(defaults, name)!r}"
        if annotation == "bool":
            parser.add_argument(
                flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            parser.add_argument(
                flag, dest=name, type=functools.partial(parse_field, name), default=None, help=help_text
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until interrupted."""
    args = vars(build_parser().parse_args(argv))
    overrides = {name: args[name] for name in field_types() if args[name] is not None}
    settings = EmulatorSettings.from_env(**overrides)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with EmulatorServer(
        settings, host=args["host"], port=args["port"], log_level=args["log_level"]
    ) as server:
        print(f"Pinterest API emulator serving at {server.base_url}", flush=True)
        print(f"AIRFLOW_CONN_PINTEREST_DEFAULT='{server.connection_json()}'", flush=True)
        print(f"Inspect: {server.root_url}/_emulator/summary", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
