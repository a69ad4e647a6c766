"""Griffe extension for the docs build: Sphinx roles in docstrings render as code, not as raw markup.

The docstrings follow Airflow's Sphinx conventions (``:class:`~package.module.Name```), which Markdown
would show verbatim. Each role becomes a code span of the name it shows in Sphinx: the last component with
``~``, the whole target otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|exc|mod|obj):`(~?)([\w.]+)`")


def as_code(match: re.Match[str]) -> str:
    shortened, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if shortened else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrites the roles of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(as_code, obj.docstring.value)
