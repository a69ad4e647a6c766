"""The sdist and wheel as built: twine's checks, the wheel's contents and metadata, the changelog."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser

import pytest
import tomllib

from scripts.installed_wheel import PACKAGE, REPO, Artefacts

pytestmark = pytest.mark.packaging

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def wheel_metadata(artefacts: Artefacts) -> Message:
    with zipfile.ZipFile(artefacts.wheel) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(wheel.read(name).decode())


def test_twine_accepts_both_artefacts(artefacts: Artefacts) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(artefacts.wheel), str(artefacts.sdist)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2


def test_the_wheel_holds_the_package_its_type_marker_and_the_emulator_and_no_tests(
    artefacts: Artefacts,
) -> None:
    with zipfile.ZipFile(artefacts.wheel) as wheel:
        names = set(wheel.namelist())
    sources = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / PACKAGE).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sources <= names, sorted(sources - names)
    assert {f"{PACKAGE}/py.typed", f"{PACKAGE}/emulator/__main__.py", f"{PACKAGE}/emulator/app.py"} <= names
    top_levels = {name.split("/", 1)[0] for name in names}
    assert {t for t in top_levels if not t.endswith(".dist-info")} == {PACKAGE}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/tests/" in n]


def test_the_wheel_declares_what_pyproject_says(artefacts: Artefacts) -> None:
    metadata = wheel_metadata(artefacts)

    assert metadata["Requires-Python"] == PROJECT["requires-python"]
    assert set(metadata.get_all("Classifier") or ()) == set(PROJECT["classifiers"])
    runtime = [r for r in metadata.get_all("Requires-Dist") or () if "extra ==" not in r]
    assert sorted(r.replace(" ", "") for r in runtime) == sorted(
        d.replace(" ", "") for d in PROJECT["dependencies"]
    )
    with zipfile.ZipFile(artefacts.wheel) as wheel:
        (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
        assert f"provider_info = {PACKAGE}:get_provider_info" in wheel.read(entry_points).decode()


def test_the_changelog_link_points_at_the_changelog_shipped_in_the_sdist(artefacts: Artefacts) -> None:
    changelog_url = PROJECT["urls"]["Changelog"]
    assert changelog_url.endswith("/blob/main/CHANGELOG.md")
    assert "## [Unreleased]" in (REPO / "CHANGELOG.md").read_text()
    urls = wheel_metadata(artefacts).get_all("Project-URL") or []
    assert f"Changelog, {changelog_url}" in urls
    with tarfile.open(artefacts.sdist) as sdist:
        assert any(member.name.endswith("/CHANGELOG.md") for member in sdist.getmembers())
