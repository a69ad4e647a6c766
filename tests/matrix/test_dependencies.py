"""Every runtime dependency (and every extra) is imported by the package: nothing declared for nothing."""

from __future__ import annotations

import ast
import re
from importlib import metadata

import pytest
import tomllib

from scripts.installed_wheel import PACKAGE, REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9._-]+")


def imported_modules() -> set[str]:
    """Every module the package's source imports, by its full dotted name."""
    found: set[str] = set()
    for path in (REPO / PACKAGE).rglob("*.py"):
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


def declared() -> list[str]:
    extras = [r for reqs in PROJECT.get("optional-dependencies", {}).values() for r in reqs]
    return [requirement_name(r) for r in (*PROJECT["dependencies"], *extras)]


def test_tenacity_and_pendulum_are_no_longer_declared() -> None:
    assert not {"tenacity", "pendulum"} & {name.lower() for name in declared()}


@pytest.mark.parametrize("distribution", declared())
def test_the_declared_dependency_is_imported_by_the_package(distribution: str) -> None:
    imports = imported_modules()
    # The most specific package the distribution ships that the code imports (or imports from).
    used = [
        p for p in provided_packages(distribution) if any(m == p or m.startswith(f"{p}.") for m in imports)
    ]
    assert used, f"{distribution} is declared but {PACKAGE} never imports anything it ships"
