"""The deployment (tests/deployment/stack.py), once per session, and its timeline in the summary."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.demo import seed_crm_database
from tests.deployment.stack import Stack, start_stack

_STACKS: list[Stack] = []


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    root = Path(tempfile.mkdtemp(prefix="pinterest-deployment-"))
    try:
        crm = root / "crm.db"
        seed_crm_database(crm)
        deployment = start_stack(root, crm)  # stops whatever it started if it fails
        _STACKS.append(deployment)
        try:
            yield deployment
        finally:
            deployment.close()
    finally:
        if not os.environ.get("PINTEREST_KEEP_DEPLOYMENT"):  # set it to keep the logs for a post-mortem
            shutil.rmtree(root, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for deployment in _STACKS:
        terminalreporter.section("deployment timeline (seconds since the stack started)")
        for line in deployment.timeline:
            terminalreporter.write_line(line)
