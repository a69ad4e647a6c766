"""The support matrix: the built wheel installed into a fresh venv per Airflow x Python cell, then tested.

Each cell, from ``constraints/matrix-airflow-A-pyP.in`` (compiled to ``.txt``):

1. a fresh venv on Python P gets the user's Airflow: the requirements the ``.in`` names itself, pinned
   by its ``.txt``;
2. the wheel is installed as a user would (no constraints, dependencies resolved); what that adds to
   the environment is recorded (the test asserts it is the provider alone);
3. the test tools (``constraints/test-tools.in``, pinned) join, and pytest runs the unit and contract
   tests, the audience-health DAGs end to end and ``tests/matrix/cell_checks.py`` from a staged copy of
   the checkout that has no package in it, so every import of the provider resolves to the installed wheel.

``python scripts/matrix.py [CELL ...]`` runs cells from the command line (all by default) and prints a
table; ``make test-matrix`` runs them under pytest (tests/matrix), two at a time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.installed_wheel import (
    REPO,
    build_artefacts,
    clean_env,
    create_venv,
    install,
    installed,
    requirement_lines,
    run_pytest,
    stage_checkout,
)

CONSTRAINTS = REPO / "constraints"
TEST_TOOLS = CONSTRAINTS / "test-tools.in"
CELL_NAME = re.compile(r"^matrix-airflow-(?P<airflow>[\d.]+)-py(?P<python>3\.\d+)$")
# The audience-health DAGs end to end: their Asset event extras, written and read back, on every Airflow.
IN_CELL_TESTS = (
    "tests/unit",
    "tests/contract",
    "tests/e2e/test_audience_health_e2e.py",
    "tests/matrix/cell_checks.py",
)
# The contract tests find the spec beside the checkout; the staged copy lives elsewhere.
OPENAPI_SPEC = REPO.parent / "shared" / "pinterest-openapi" / "openapi.json"
SUMMARY_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|deselected)")


@dataclass(frozen=True)
class Cell:
    name: str
    airflow: str  # the minor line, "3.0"
    python: str  # "3.10"

    @property
    def requirements_in(self) -> Path:
        return CONSTRAINTS / f"{self.name}.in"

    @property
    def pins(self) -> Path:
        return CONSTRAINTS / f"{self.name}.txt"

    @property
    def airflow_version(self) -> str:
        """The exact Airflow release the cell pins."""
        for line in requirement_lines(self.requirements_in):
            if line.startswith("apache-airflow=="):
                return line.split("==", 1)[1]
        raise ValueError(f"{self.requirements_in} pins no apache-airflow")

    @property
    def pytest_marks(self) -> str:
        return "not airflow3_only" if self.airflow.startswith("2.") else ""


@dataclass
class CellResult:
    cell: Cell
    added_by_wheel: dict[str, str] = field(default_factory=dict)
    changed_by_wheel: dict[str, tuple[str, str]] = field(default_factory=dict)
    exit_code: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    output: str = ""
    error: str = ""
    seconds: float = 0.0
    resolved: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error and self.exit_code == 0 and self.counts.get("passed", 0) > 0


def cells() -> list[Cell]:
    """Every cell that has a compiled constraint file, in a stable order."""
    found = []
    for path in sorted(CONSTRAINTS.glob("matrix-airflow-*.txt")):
        match = CELL_NAME.match(path.stem)
        if match:
            found.append(Cell(path.stem, match["airflow"], match["python"]))
    return found


def summary_counts(pytest_output: str) -> dict[str, int]:
    """Counts from pytest's closing line ("335 passed, 2 deselected in 9.1s")."""
    lines = [line for line in pytest_output.splitlines() if " in " in line and SUMMARY_COUNT.search(line)]
    if not lines:
        return {}
    return {
        kind.rstrip("s") if kind.startswith("error") else kind: int(n)
        for n, kind in SUMMARY_COUNT.findall(lines[-1])
    }


def run_cell(cell: Cell, wheel: Path, workdir: Path, source: Path = REPO) -> CellResult:
    """Build the cell's venv from the wheel, then run the in-cell tests. Never raises."""
    result = CellResult(cell)
    started = time.monotonic()
    try:
        python = create_venv(workdir / "venv", cell.python)
        install(python, *requirement_lines(cell.requirements_in), constraints=cell.pins)
        before = installed(python)
        install(python, str(wheel))
        after = installed(python)
        result.added_by_wheel = {name: after[name] for name in after.keys() - before.keys()}
        result.changed_by_wheel = {
            name: (before[name], after[name])
            for name in before.keys() & after.keys()
            if before[name] != after[name]
        }
        install(python, "-r", str(TEST_TOOLS), constraints=cell.pins)
        result.resolved = installed(python)
        staged = stage_checkout(workdir / "checkout", source)
        args = ["-q", "-ra", *(("-m", cell.pytest_marks) if cell.pytest_marks else ()), *IN_CELL_TESTS]
        env = clean_env(
            PINTEREST_MATRIX_CELL=cell.name,
            PINTEREST_MATRIX_VENV=str(python.parents[1]),
            PINTEREST_OPENAPI_SPEC=os.environ.get("PINTEREST_OPENAPI_SPEC", str(OPENAPI_SPEC)),
        )
        ran = run_pytest(python, staged, args, env=env)
        result.exit_code = ran.returncode
        result.output = ran.stdout[-60000:] + ran.stderr[-5000:]
        result.counts = summary_counts(ran.stdout)
    except Exception as exc:  # reported per cell; the other cells go on
        result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = time.monotonic() - started
    return result


def describe(result: CellResult) -> str:
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(result.counts.items())) or "no tests ran"
    versions = " ".join(
        f"{name}=={result.resolved[name]}"
        for name in ("apache-airflow", "apache-airflow-providers-common-compat")
        if name in result.resolved
    )
    status = "ok" if result.ok else "FAILED"
    return (
        f"{result.cell.name:<28} Airflow {result.cell.airflow_version:<7} Python {result.cell.python:<5} "
        f"{status:<6} {counts:<32} {result.seconds:6.0f} s  {versions}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cells", nargs="*", help="cell names (default: every cell)")
    parser.add_argument(
        "--source", type=Path, default=REPO, help="the tree to build and test (default: this one)"
    )
    args = parser.parse_args(argv)
    chosen = [cell for cell in cells() if not args.cells or cell.name in args.cells]
    work = Path(tempfile.mkdtemp(prefix="pinterest-matrix-"))
    try:
        wheel = build_artefacts(work / "dist", args.source).wheel
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(
                pool.map(lambda cell: run_cell(cell, wheel, work / cell.name, args.source), chosen)
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for result in results:
        print(describe(result))
        if not result.ok:
            print(result.error or result.output[-6000:])
    passed = sum(result.ok for result in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
