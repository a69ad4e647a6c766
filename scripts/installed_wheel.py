"""The built artefacts and fresh virtual environments that install the wheel itself (never editable).

Shared by the support matrix (``tests/matrix``) and the deployment test (``tests/deployment``):

* ``build_artefacts`` builds the sdist and wheel from the working tree with ``uv build``;
* ``find_python`` finds an interpreter of a given ``X.Y`` (pyenv's versions, then ``pythonX.Y`` on PATH);
* ``create_venv`` / ``install`` / ``installed`` drive ``uv venv`` and ``uv pip`` against one environment;
* ``stage_checkout`` copies the tests, scripts and example DAGs (not the package) to a directory, so
  code run from there imports the provider from the venv's site-packages, as a user's deployment does.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DISTRIBUTION = "airflow-provider-pinterest-audiences"
PACKAGE = "airflow_provider_pinterest_audiences"
# What a test run needs of the checkout (the README: a test checks figures it quotes); never the package.
STAGED = ("tests", "scripts", "example_dags", "pyproject.toml", "README.md")


@dataclass(frozen=True)
class Artefacts:
    wheel: Path
    sdist: Path


def uv_executable() -> list[str]:
    """uv itself: ``$UV`` (set by ``uv run``), then ``uv`` on PATH, then the Makefile's ``python3 -m uv``."""
    for candidate in (os.environ.get("UV"), shutil.which("uv")):
        if candidate and os.access(candidate, os.X_OK):
            return [candidate]
    return ["python3", "-m", "uv"]


def uv(*args: str, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``uv ...``, never downloading an interpreter."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_COMPILE_BYTECODE": "1"}
    env.pop("VIRTUAL_ENV", None)
    command = [*uv_executable(), *args]
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def build_artefacts(out_dir: Path, source: Path = REPO) -> Artefacts:
    """The sdist and the wheel of ``source`` (the working tree by default), built in isolation."""
    out_dir.mkdir(parents=True, exist_ok=True)
    uv("build", "--quiet", "--sdist", "--wheel", "--out-dir", str(out_dir), str(source))
    (wheel,) = out_dir.glob("*.whl")
    (sdist,) = out_dir.glob("*.tar.gz")
    return Artefacts(wheel=wheel, sdist=sdist)


def find_python(version: str) -> Path:
    """An interpreter for ``version`` ("3.12"): pyenv's installs first, then ``python3.12`` on PATH."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    for candidate in sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}")):
        return Path(candidate)
    on_path = shutil.which(f"python{version}")
    if on_path and subprocess.run([on_path, "-c", ""], capture_output=True, check=False).returncode == 0:
        return Path(on_path)
    raise RuntimeError(f"no Python {version} on this machine (looked in {pyenv_root}/versions and PATH)")


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def create_venv(venv: Path, python_version: str) -> Path:
    """A fresh, empty virtual environment (an existing one at ``venv`` is replaced)."""
    shutil.rmtree(venv, ignore_errors=True)
    uv("venv", "--quiet", "--seed", "--python", str(find_python(python_version)), str(venv))
    return venv_python(venv)


def install(python: Path, *requirements: str, constraints: Path | None = None) -> None:
    """``uv pip install`` into the environment of ``python``, optionally pinned by ``constraints``."""
    pins = ["--constraint", str(constraints)] if constraints else []
    uv("pip", "install", "--quiet", "--python", str(python), *pins, *requirements)


def installed(python: Path) -> dict[str, str]:
    """Every distribution in the environment of ``python``: normalised name -> version."""
    listing = uv("pip", "freeze", "--python", str(python)).stdout
    pins: dict[str, str] = {}
    for line in listing.splitlines():
        name, _, version = line.partition("==")
        if not version:  # "name @ file://..." (a wheel or path install)
            name, _, version = line.partition(" @ ")
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def requirement_lines(requirements_in: Path) -> list[str]:
    """The requirements a ``.in`` file names itself (its ``-r`` includes and comments left out)."""
    lines = (line.split("#", 1)[0].strip() for line in requirements_in.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def stage_checkout(dest: Path, source: Path = REPO) -> Path:
    """Copy the tests, scripts and example DAGs of ``source`` to ``dest``; the package stays behind."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in STAGED:
        origin = source / name
        if origin.is_dir():
            shutil.copytree(origin, dest / name, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(origin, dest / name)
    assert not (dest / PACKAGE).exists()
    return dest


def run_pytest(
    python: Path, cwd: Path, args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    """pytest inside another environment, from a staged checkout (``--rootdir`` there, no cache)."""
    return subprocess.run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(cwd), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would point a child at the checkout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not key.startswith("AIRFLOW")
    }
    env.update(extra)
    return env


if __name__ == "__main__":  # python scripts/installed_wheel.py OUT_DIR: build the artefacts there
    built = build_artefacts(Path(sys.argv[1]))
    print(built.wheel, built.sdist, sep="\n")
