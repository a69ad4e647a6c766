"""The engine's matching floor and record count, importable without Airflow."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.matching import net_records


@pytest.mark.parametrize(
    ("customer_list", "expected"),
    [
        ({"num_uploaded_user_records": 250, "num_removed_user_records": 40}, 210),
        ({"num_uploaded_user_records": 250}, None),
        ({"num_uploaded_user_records": "250", "num_removed_user_records": 0}, None),
        (None, None),
    ],
)
def test_net_records_are_uploaded_less_removed_when_both_counters_are_given(
    customer_list: dict[str, Any] | None, expected: int | None
) -> None:
    assert net_records(customer_list) == expected


def test_matching_imports_no_airflow() -> None:
    code = (
        "import sys; import airflow_provider_pinterest_audiences.customer_lists.matching; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'airflow'))"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert imported.stdout.strip() == "[]"
