"""Figures the docs quote that the tests themselves set."""

from __future__ import annotations

from pathlib import Path

from tests.unit.customer_lists.test_reading_properties import EXAMPLES

RELIABILITY_PAGE = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"


def test_the_reliability_page_quotes_the_property_examples_ci_runs() -> None:
    assert f"{EXAMPLES['ci']} generated examples" in RELIABILITY_PAGE.read_text(encoding="utf-8")
