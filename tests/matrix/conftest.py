"""The built artefacts (once per session) and the matrix cells, run two at a time in the background."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from scripts.installed_wheel import Artefacts, build_artefacts
from scripts.matrix import CellResult, cells, describe, run_cell

_FINISHED: list[CellResult] = []


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Artefacts:
    """The sdist and wheel of the working tree as it is now."""
    return build_artefacts(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def cell_runs(
    request: pytest.FixtureRequest, artefacts: Artefacts, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[CellResult]]]:
    """Every selected cell (``-k 3.0-py3.10`` picks one) started at once on two threads (2 cores); each
    test waits for its own."""
    selected = {
        item.callspec.params["name"]
        for item in request.session.items
        if "name" in getattr(getattr(item, "callspec", None), "params", {})
    }
    work = tmp_path_factory.mktemp("cells")
    with ThreadPoolExecutor(max_workers=2) as pool:

        def start(name: str, workdir: Path) -> Future[CellResult]:
            cell = next(c for c in cells() if c.name == name)
            future = pool.submit(run_cell, cell, artefacts.wheel, workdir)
            future.add_done_callback(lambda done: _FINISHED.append(done.result()))
            return future

        yield {cell.name: start(cell.name, work / cell.name) for cell in cells() if cell.name in selected}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FINISHED:
        terminalreporter.section("support matrix (the installed wheel)")
        for result in sorted(_FINISHED, key=lambda r: r.cell.name):
            terminalreporter.write_line(describe(result))
