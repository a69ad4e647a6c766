"""Each Airflow x Python cell: the wheel adds only itself, then the in-cell suite passes."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from scripts.installed_wheel import DISTRIBUTION
from scripts.matrix import CellResult, cells

pytestmark = pytest.mark.matrix


@pytest.mark.parametrize("name", [cell.name for cell in cells()])
def test_the_installed_wheel_passes_in_the_cell(cell_runs: dict[str, Future[CellResult]], name: str) -> None:
    result = cell_runs[name].result()

    assert not result.error, result.error
    # Installed into an environment that already has Airflow and common-compat, the wheel adds only itself.
    assert set(result.added_by_wheel) == {DISTRIBUTION}, result.added_by_wheel
    assert result.changed_by_wheel == {}
    assert result.exit_code == 0, result.output[-30000:]
    assert result.counts.get("passed", 0) > 0 and not result.counts.get("failed"), result.counts
