"""Griffe extension for the docs build: the reST markup of docstrings renders as it would in Sphinx.

The docstrings follow Airflow's Sphinx conventions, which Markdown would show verbatim:

* a role (``:class:`~package.module.Name```) becomes a code span of the name Sphinx shows: the last
  component with ``~``, the whole target otherwise;
* a paragraph ending in ``::`` before an indented literal block ends in ``:`` (Sphinx drops one colon).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|exc|mod|obj):`(~?)([\w.]+)`")
LITERAL_BLOCK_MARKER = re.compile(r"(?<=\S)::$", re.MULTILINE)


def as_code(match: re.Match[str]) -> str:
    shortened, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if shortened else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrites the roles of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = ROLE.sub(as_code, obj.docstring.value)
            obj.docstring.value = LITERAL_BLOCK_MARKER.sub(":", text)
