"""The texts of records sent as given (``hash_identifiers=False``), kept on disk by digest.

A record travels as its 32-byte slot everywhere (dedupe, suppression, spool files, batches); a partner id
sent as given is still known by the SHA-256 of its normalised value. ``RecordTexts`` keeps each slot's
normalised text in an SQLite file in the upload's scratch directory (``digest`` the primary key, the first
text of a digest kept), filled as the source is read and looked up once per batch when the batch is
rendered. SQLite's page cache is bounded, so memory stays flat at any number of records; the file goes with
the scratch directory.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence

from airflow_provider_pinterest_audiences.customer_lists.records import DIGEST_SIZE, HEX_RECORD_SIZE
from airflow_provider_pinterest_audiences.customer_lists.snapshot import split_records

FILE_NAME = "record-texts.sqlite"


class RecordTexts:
    """Digest-to-text store of one upload; use from one thread (the one that reads and renders batches)."""

    def __init__(self, directory: str) -> None:
        self._db = sqlite3.connect(os.path.join(directory, FILE_NAME), isolation_level=None)
        # Scratch data: a crash loses the directory anyway, so no journal and no fsync.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE texts (digest BLOB PRIMARY KEY, text BLOB NOT NULL) WITHOUT ROWID")
        self.longest = 0
        """Bytes in the longest text stored."""

    def add(self, digests: bytes, texts: Sequence[bytes]) -> None:
        """Store ``texts[i]`` under the i-th 32-byte slot of ``digests`` (a digest already stored keeps its
        text); one transaction per call."""
        if len(digests) != len(texts) * DIGEST_SIZE:
            raise ValueError(f"{len(texts)} texts for {len(digests) // DIGEST_SIZE} digests")
        if not texts:
            return
        pairs = sorted(zip(split_records(digests), texts, strict=True))  # neighbours share B-tree pages
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR IGNORE INTO texts VALUES (?, ?)", pairs)
        self._db.execute("COMMIT")
        self.longest = max(self.longest, *map(len, texts))

    def records(self, digests: bytes) -> str:
        """A request's ``records``: the comma-joined texts of packed digests, in their order.

        One range query per call: spool files are sorted, so a batch's digests are one contiguous range.
        """
        wanted = split_records(digests)
        rows = self._db.execute(
            "SELECT digest, text FROM texts WHERE digest BETWEEN ? AND ?", (min(wanted), max(wanted))
        )
        found = dict(rows)
        missing = sum(1 for digest in wanted if digest not in found)
        if missing:
            raise LookupError(f"{missing} of {len(wanted)} records have no stored text")
        return ",".join(found[digest].decode("utf-8") for digest in wanted)

    def records_per_request(self, hex_records_per_request: int) -> int:
        """Records per request so that a request of texts carries no more bytes than one of
        ``hex_records_per_request`` hex digests (at least one record)."""
        budget = hex_records_per_request * HEX_RECORD_SIZE
        return max(1, min(hex_records_per_request, budget // (self.longest + 1)))

    def close(self) -> None:
        """Close the database (the file goes with the scratch directory)."""
        self._db.close()

    def __enter__(self) -> RecordTexts:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
