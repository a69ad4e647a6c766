"""A lease on one mirror state (``<state_path>.lock``): one run at a time reads and writes the snapshot.

The lock file is created exclusively and holds a random token, its owner (Airflow dag, task, run and try
when known, host and process id; nothing secret) and an expiry. While a live run holds it, another run
fails at once, naming the holder and the expiry, before any API call. The holder renews it from a
background thread every third of ``ttl``, so an upload of any length keeps it, and a killed run's lease
expires within ``ttl``: the next run takes an expired lease over (with a warning). Two are taken over at
once: an earlier try's of the same task instance (Airflow runs one try at a time), and one whose holder
ran on this host (same host name) in a process that has ended. The lease is released when the run ends,
whether it succeeded or failed.

The holder checks the lease before every batch (as last renewed) and reads the lock back before saving the
snapshot: if the lock no longer holds its token (it failed to renew in time and another run took over),
it stops. How exclusive the create is depends on where the state lives:

* local paths: a hard link of a fully written private file, atomic (``O_EXCL`` without hard links);
* ``s3://`` (s3fs 2025.7 or later: ``If-None-Match: *``), ``gs://`` (gcsfs) and ``abfs://`` (adlfs):
  atomic, through fsspec's exclusive ``mode="xb"``;
* other filesystems may ignore ``"xb"`` and overwrite, or refuse it (then the lock is checked for and
  written): the holder reads its token back after creating it and at every renewal, which narrows the
  window but cannot close it;
* ``memory://`` (tests): atomic within one process.

Taking over an expired lease reads, re-checks and deletes it before creating a new one: two runs racing
for the same dead run's lease in that instant are told apart by the read-back. Expiry compares clocks of
different hosts, which must agree within a small fraction of ``ttl``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_pinterest_audiences.customer_lists.local_process import process_alive
from airflow_provider_pinterest_audiences.customer_lists.state_files import create_exclusive, replace_with
from airflow_provider_pinterest_audiences.exceptions import PinterestError

LOCK_SUFFIX = ".lock"
DEFAULT_LEASE_TTL = 600.0
MIN_LEASE_TTL = 30.0
_CONTEXT_VARIABLES = {
    "dag_id": "AIRFLOW_CTX_DAG_ID",
    "task_id": "AIRFLOW_CTX_TASK_ID",
    "run_id": "AIRFLOW_CTX_DAG_RUN_ID",
    "try_number": "AIRFLOW_CTX_TRY_NUMBER",
}
_TASK_INSTANCE = ("dag_id", "task_id", "run_id")
_ACQUIRE_ATTEMPTS = 3


class StateLeaseError(PinterestError):
    """The mirror state is leased by another run, or this run lost its lease."""


def lock_path_for(state_path: Any) -> Any:
    """Where the lock of ``state_path`` lives."""
    return state_path.with_name(state_path.name + LOCK_SUFFIX)


def lease_owner() -> dict[str, str]:
    """Who this run is: the Airflow task instance and try (from the task's environment), host and pid."""
    owner = {key: os.environ[name] for key, name in _CONTEXT_VARIABLES.items() if os.environ.get(name)}
    return {**owner, "host": socket.gethostname(), "pid": str(os.getpid())}


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LeaseRecord:
    """What a lock file says: the holder's random token, who it is, and until when it holds the lease."""

    token: str
    owner: dict[str, str]
    expires_at: float

    def encode(self) -> bytes:
        """The lock file's bytes (JSON; the expiry as a timestamp and as readable UTC)."""
        fields = {
            "token": self.token,
            "owner": self.owner,
            "expires_at": self.expires_at,
            "expires": _utc(self.expires_at),
        }
        return json.dumps(fields, sort_keys=True).encode("ascii")

    @classmethod
    def decode(cls, data: bytes) -> LeaseRecord:
        """Parse a lock file; ValueError when it is not one."""
        try:
            fields = json.loads(data)
            owner = {str(key): str(value) for key, value in fields["owner"].items()}
            return cls(str(fields["token"]), owner, float(fields["expires_at"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError("not a lease lock file") from exc

    def describe(self) -> str:
        """The holder and expiry, for messages."""
        owner = self.owner
        who = ", ".join(f"{key} {owner[key]}" for key in (*_TASK_INSTANCE, "try_number") if key in owner)
        where = f"host {owner.get('host', '?')}, pid {owner.get('pid', '?')}"
        return f"{who + '; ' if who else ''}{where}; expires {_utc(self.expires_at)}"

    def is_dead_process_here(self) -> bool:
        """Whether the holder ran on this host and its process has ended (it was killed)."""
        pid = self.owner.get("pid", "")
        same_host = self.owner.get("host") == socket.gethostname()
        return same_host and pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid))

    def is_earlier_try_of(self, owner: dict[str, str]) -> bool:
        """Whether this lease belongs to an earlier try of the task instance ``owner`` is a try of."""
        same_instance = all(key in owner and self.owner.get(key) == owner[key] for key in _TASK_INSTANCE)
        tries = self.owner.get("try_number", ""), owner.get("try_number", "")
        return same_instance and all(t.isdigit() for t in tries) and int(tries[0]) < int(tries[1])


class StateLease:
    """The lease on one state path, held for a ``with`` block and renewed in the background."""

    def __init__(
        self,
        state_path: Any,
        *,
        ttl: float,
        log: logging.Logger,
        owner: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = lock_path_for(state_path)
        self._ttl = ttl
        self._log = log
        self._owner = lease_owner() if owner is None else owner
        self._clock = clock
        self._record = LeaseRecord(uuid.uuid4().hex, self._owner, 0.0)
        self._lost: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _read(self) -> LeaseRecord | None:
        """The lock file's record, None when there is none; an error when it is unreadable."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return LeaseRecord.decode(data)
        except ValueError:
            raise StateLeaseError(
                f"{self.path} is not a readable lease (being written by another run, or damaged); if no "
                "other mirror run of this state is active, delete it and run again"
            ) from None

    def _held_by(self, holder: LeaseRecord) -> StateLeaseError:
        return StateLeaseError(
            f"Another mirror run holds the lease on this state ({self.path}): {holder.describe()}. Nothing "
            "was sent. Run again once it has finished; a killed run's lease expires by itself"
        )

    def acquire(self) -> None:
        """Take the lease, or raise ``StateLeaseError`` naming the live holder."""
        for _ in range(_ACQUIRE_ATTEMPTS):
            self._record = LeaseRecord(self._record.token, self._owner, self._clock() + self._ttl)
            if create_exclusive(self.path, self._record.encode()):
                held = self._read()
                if held is None or held.token != self._record.token:
                    raise self._held_by(held or self._record)
                return
            held = self._read()
            if held is None:
                continue  # released meanwhile
            dead = held.is_dead_process_here() or held.is_earlier_try_of(self._owner)
            if held.expires_at > self._clock() and not dead:
                raise self._held_by(held)
            self._log.warning(
                "Taking over the lease on %s from a run that did not release it (%s)",
                self.path,
                held.describe(),
            )
            if self._read() == held:
                with suppress(FileNotFoundError):
                    self.path.unlink()
        raise self._held_by(self._read() or self._record)

    def check(self) -> None:
        """Raise if this run no longer holds the lease (renewal failed past its expiry, or taken over)."""
        if self._lost is None and self._clock() >= self._record.expires_at:
            self._lost = f"it expired at {_utc(self._record.expires_at)} without being renewed"
        if self._lost is not None:
            raise StateLeaseError(
                f"This run lost its lease on {self.path}: {self._lost}. It stopped before sending more or "
                "saving the snapshot. Run again once no other run of this state is active: its pending "
                "file, or the stale-snapshot check, tells that run what this one may have changed"
            )

    def _still_mine(self) -> bool:
        """Read the lock back: whether it still holds this run's token (if not, the lease is lost)."""
        held = self._read()
        if held is None or held.token != self._record.token:
            self._lost = f"the lock now belongs to {held.describe() if held else 'nobody'}"
            return False
        return True

    def verify(self) -> None:
        """``check``, after reading the lock back (before a step that must not follow a lost lease)."""
        self._still_mine()
        self.check()

    def renew(self) -> None:
        """Push the expiry ``ttl`` ahead, after checking the lock still holds this run's token."""
        if not self._still_mine():
            return
        renewed = LeaseRecord(self._record.token, self._owner, self._clock() + self._ttl)
        replace_with(self.path, renewed.encode())
        self._record = renewed

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self._ttl / 3) and self._lost is None:
            try:
                self.renew()
            except Exception as exc:  # a storage hiccup: try again at the next tick, within the expiry
                self._log.warning("Could not renew the lease on %s: %s", self.path, type(exc).__name__)

    def release(self) -> None:
        """Delete the lock if it still holds this run's token."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            held = self._read()
        except StateLeaseError:
            return
        if held is not None and held.token == self._record.token:
            self.path.unlink()

    def __enter__(self) -> StateLease:
        self.acquire()
        self._renewer = threading.Thread(
            target=self._renew_until_stopped, name="pinterest-mirror-lease", daemon=True
        )
        self._renewer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.release()
        except Exception as exc:  # never hide the run's own outcome; the lease expires by itself
            self._log.warning(
                "Could not release the lease on %s (%s); it expires at %s",
                self.path,
                type(exc).__name__,
                _utc(self._record.expires_at),
            )
