"""Scripted flows: the exact steps a flow must ask for, the results fed back, and how it must end."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError
from airflow_provider_pinterest_audiences.hooks.replies import Reply
from airflow_provider_pinterest_audiences.hooks.steps import Step

OK = Reply(200, {}, {"id": "1"})


def reply(status: int, headers: Mapping[str, str] | None = None, **body: Any) -> Reply:
    return Reply(status, headers or {}, body or {"code": 1, "message": f"HTTP {status}"})


@dataclass
class Case:
    """``script``: (the step expected, or its type; the result fed back). ``returns`` or ``raises``."""

    script: list[tuple[Step | type, Any]]
    returns: Any = None
    raises: str | None = None
    flow_args: dict[str, Any] = field(default_factory=dict)


def play(flow: Generator[Step, Any, Any], case: Case) -> None:
    result: Any = None
    for expected, answer in case.script:
        step = flow.send(result)
        assert isinstance(step, expected) if isinstance(expected, type) else step == expected
        result = answer
    if case.raises is not None:
        with pytest.raises(PinterestApiError, match=case.raises):
            flow.send(result)
        return
    with pytest.raises(StopIteration) as stop:
        flow.send(result)
    returned = stop.value.value
    assert case.returns(returned) if callable(case.returns) else returned == case.returns
