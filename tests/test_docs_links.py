"""Every relative link in the README and the docs pages, and every file the pages include, exists.

``mkdocs build --strict`` checks the links between pages; this also covers the README (read on GitHub and
PyPI, not built) and runs with the test suites.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
FENCED_BLOCK = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
# The target of an inline link or image: [text](target) or ![alt](target "title").
LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# pymdownx.snippets inclusions, relative to the repository: one line (--8<-- "path" or "path:section"), or
# a block of paths between two --8<-- lines (the form inside code fences, which ruff format leaves alone).
INLINE_SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)
BLOCK_SNIPPET = re.compile(r"^--8<--\n(.*?)^--8<--$", re.MULTILINE | re.DOTALL)
EXAMPLES = sorted([*(REPO / "example_dags").glob("*.py"), *(REPO / "docs" / "examples").glob("*.py")])


def included_files(page: Path) -> list[str]:
    """The repository files ``page`` includes (a section or line range of one counts as the file)."""
    text = page.read_text(encoding="utf-8")
    blocks = [line for block in BLOCK_SNIPPET.findall(text) for line in block.split()]
    return [name.split(":")[0] for name in [*INLINE_SNIPPET.findall(text), *blocks]]


def relative_targets(page: Path) -> list[str]:
    """The link targets of ``page`` that name a file of this repository (no URL, no bare anchor)."""
    prose = FENCED_BLOCK.sub("", page.read_text(encoding="utf-8"))
    targets = (match.group(1) for match in LINK_TARGET.finditer(prose))
    return [target for target in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", target)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_relative_links_point_to_existing_files(page: Path) -> None:
    missing = [
        target for target in relative_targets(page) if not (page.parent / target.split("#")[0]).exists()
    ]
    assert missing == [], f"{page.relative_to(REPO)} links to files that do not exist: {missing}"


def test_the_readme_links_to_every_docs_page() -> None:
    linked = {(REPO / target.split("#")[0]).resolve() for target in relative_targets(REPO / "README.md")}
    assert [page for page in PAGES[1:] if page not in linked] == []


@pytest.mark.parametrize("page", PAGES[1:], ids=lambda page: str(page.relative_to(REPO)))
def test_included_files_exist(page: Path) -> None:
    assert [path for path in included_files(page) if not (REPO / path).is_file()] == []


def test_every_example_is_shown_on_a_page() -> None:
    shown = {(REPO / path).resolve() for page in PAGES[1:] for path in included_files(page)}
    assert [str(path.relative_to(REPO)) for path in EXAMPLES if path not in shown] == []
