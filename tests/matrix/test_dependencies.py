"""Every runtime dependency is imported by the package, every extra by the package or an example DAG:
nothing is declared for nothing."""

from __future__ import annotations

import ast
import re
from importlib import metadata

import pytest
import tomllib

from scripts.installed_wheel import PACKAGE, REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9._-]+")


def imported_modules(*folders: str) -> set[str]:
    """Every module the sources under ``folders`` import, by its full dotted name."""
    found: set[str] = set()
    for path in (p for folder in folders for p in (REPO / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
    return found


def provided_packages(distribution: str) -> set[str]:
    """The dotted package and module names an installed distribution ships (from its RECORD).

    A meta-distribution that ships no code (apache-airflow 3 is one) provides what its required
    distributions ship.
    """
    dist = metadata.distribution(distribution)
    names = set()
    for file in dist.files or ():
        parts = file.parts
        if file.suffix == ".py" and not any(p.endswith((".dist-info", "__pycache__")) for p in parts):
            module = parts[:-1] if parts[-1] == "__init__.py" else (*parts[:-1], parts[-1][:-3])
            names.add(".".join(module))
    if not names:
        for requirement in dist.requires or ():
            if "extra ==" not in requirement:
                names |= provided_packages(requirement_name(requirement))
    return names


def requirement_name(requirement: str) -> str:
    match = REQUIREMENT_NAME.match(requirement)
    assert match, requirement
    return match.group(0)


def runtime() -> list[str]:
    return [requirement_name(r) for r in PROJECT["dependencies"]]


def extras() -> list[str]:
    groups = PROJECT.get("optional-dependencies", {}).values()
    return [requirement_name(r) for requirements in groups for r in requirements]


def test_tenacity_and_pendulum_are_no_longer_declared() -> None:
    assert not {"tenacity", "pendulum"} & {name.lower() for name in (*runtime(), *extras())}


def imports_something_from(distribution: str, imports: set[str]) -> bool:
    """Whether ``imports`` name any package the distribution ships (or a module inside one)."""
    return any(
        m == package or m.startswith(f"{package}.")
        for package in provided_packages(distribution)
        for m in imports
    )


@pytest.mark.parametrize("distribution", runtime())
def test_each_runtime_dependency_is_imported_by_the_package(distribution: str) -> None:
    assert imports_something_from(distribution, imported_modules(PACKAGE)), (
        f"{distribution} is declared but {PACKAGE} never imports anything it ships"
    )


@pytest.mark.parametrize("distribution", extras())
def test_each_extra_is_imported_by_the_package_or_an_example_dag(distribution: str) -> None:
    assert imports_something_from(distribution, imported_modules(PACKAGE, "example_dags")), (
        f"the extra {distribution} is imported by neither {PACKAGE} nor example_dags/"
    )
