"""The pytest plugin (``pytest11`` entry point): a fresh Pinterest emulator per test, wired to a connection.

``pinterest_emulator`` starts the emulator on a free loopback port, sets ``AIRFLOW_CONN_<CONN_ID>`` to it for
the test, and returns a ``PinterestEmulator`` to drive and inspect it. The connection id is
``pinterest_default`` unless the ``pinterest_emulator_conn_id`` ini option or the marker says otherwise::

    @pytest.mark.pinterest_emulator(conn_id="pinterest_ads", clock_speed=50, min_audience_size=10)
    def test_my_dag(pinterest_emulator): ...

Any other marker keyword is an emulator setting (``EmulatorSettings``). Nothing heavy is imported until a
test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_pinterest_audiences.testing.emulator_client import PinterestEmulator

MARKER = "pinterest_emulator"
CONN_ID_INI = "pinterest_emulator_conn_id"
DEFAULT_CONN_ID = "pinterest_default"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(CONN_ID_INI, "Airflow connection id the pinterest_emulator fixture sets", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(conn_id=..., **settings): the connection id and emulator settings of the "
        "pinterest_emulator fixture",
    )


@pytest.fixture
def pinterest_emulator(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PinterestEmulator]:
    """A Pinterest emulator for this test only, with ``AIRFLOW_CONN_<CONN_ID>`` pointing at it."""
    try:
        from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
    except ImportError as error:  # Airflow 2.11 without the extra
        raise pytest.fail.Exception(
            f"the Pinterest emulator needs FastAPI and uvicorn ({error}): "
            "pip install 'airflow-provider-pinterest-audiences[emulator]'",
            pytrace=False,
        ) from None
    from airflow_provider_pinterest_audiences.emulator.settings import EmulatorSettings
    from airflow_provider_pinterest_audiences.testing.emulator_client import PinterestEmulator

    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        pytest.fail(f"@pytest.mark.{MARKER} takes keywords only, got {marker.args!r}", pytrace=False)
    conn_id = str(options.pop("conn_id", "") or request.config.getini(CONN_ID_INI) or DEFAULT_CONN_ID)
    try:
        settings = EmulatorSettings(**options)
    except (TypeError, ValueError) as error:
        pytest.fail(f"@pytest.mark.{MARKER}: {error}", pytrace=False)
    with EmulatorServer(settings, host="127.0.0.1", port=0) as server:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", server.connection_json())
        yield PinterestEmulator(server.root_url, settings.ad_account_id, conn_id)
