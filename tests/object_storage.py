"""An in-memory fsspec filesystem behind ``memory://`` object-storage paths, on Airflow 2.11 and 3."""

from __future__ import annotations

import fsspec


def attach_memory_store() -> None:
    try:
        from airflow.sdk.io import attach
    except ImportError:  # Airflow 2
        from airflow.io.store import attach
    attach("memory", fs=fsspec.filesystem("memory"))
