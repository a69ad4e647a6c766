"""Customer identifiers: types, normalisation, validation and SHA-256, one raw chunk at a time.

Data flows in chunks. A reader (``readers``) yields raw chunks (``CsvBlock``: a slice of CSV bytes cut at a
row boundary, or a list of values from an iterable or a SQL cursor); ``hash_chunk`` turns one chunk into
packed 32-byte SHA-256 digests plus counts of rows read and rows skipped per ``InvalidReason``.

Normalisation, the same on every path (a CSV block, a list, a SQL column): strip leading and trailing
whitespace (``str.strip``: Unicode whitespace, so ASCII space, tab, CR, LF, VT, FF and the separators
0x1C-0x1F, and NBSP...), then apply the type's case (``IdentifierOptions.case_of``). What is left is checked
in this order, the first match giving the reason: empty (``missing``), not text in the encoding
(``undecodable``), a line break inside (``multi_line``), a control character inside (``control_character``:
C0, DEL or C1, NUL included), then a pre-hashed value the type accepts (``PREHASHED_FORMS``: it passes
through as lower-case hex, unhashed), then the type's shape.

A record travels as one 32-byte slot: a SHA-256 digest, or a pre-hashed MD5 (16 bytes) or SHA-1 (20 bytes)
followed by a fixed tag filling the slot. ``records_text`` turns slots back into the hex records sent. A
SHA-256 digest ends with a tag by chance with probability 2**-96 at most.

Chunks are picklable and this module imports nothing from Airflow at module level, so the worker processes
of ``hashing_pool`` start in milliseconds. Raw identifiers never leave this module except as digests, or as
the normalised values of a partner-id type sent as given (``hash_identifiers=False``: ``HashedChunk.texts``).
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from itertools import repeat
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

DIGEST_SIZE = 32
"""Bytes in one SHA-256 digest; packed digest strings are multiples of it."""
HEX_RECORD_SIZE = 2 * DIGEST_SIZE + 1
"""Characters one record takes in a request: 64 hex digits and a comma."""
DEFAULT_CSV_BLOCK_BYTES = 1 << 18
"""256 KB: a hashing worker's buffers for one block then stay in its heap between blocks; at 1 MB each block
page-faulted them in afresh (10x the faults, a fifth more worker CPU)."""
DEFAULT_VALUES_PER_CHUNK = 8_000
"""Values per chunk from an iterable or a query: about a CSV block's worth, for the same reason."""
MAX_EMAIL_LENGTH = 254
"""Characters in the longest email address SMTP can carry (RFC 5321 path limit less its brackets)."""


def _fast_sha256() -> Callable[[bytes], Any]:
    """CPython's built-in SHA-256 (``_sha2``/``_sha256``) hashes short values ~25% faster than OpenSSL's.

    Both give identical digests; ``hashlib.sha256`` is the fallback on builds without the built-in one.
    """
    for module_name in ("_sha2", "_sha256"):
        try:
            constructor: Callable[[bytes], Any] = importlib.import_module(module_name).sha256
        except (ImportError, AttributeError):
            continue
        return constructor
    return hashlib.sha256


_SHA256 = _fast_sha256()
_DIGEST = type(_SHA256(b"")).digest


def _invalid_argument(argument: str, problem: str) -> PinterestInvalidArgumentError:
    # Imported on use so hashing worker processes never import Airflow.
    from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

    return PinterestInvalidArgumentError(argument, problem)


class _TextEnum(str, Enum):
    """An Enum whose members format as their values (``enum.StrEnum`` needs Python 3.11)."""

    def __str__(self) -> str:
        return str(self.value)


class IdentifierType(_TextEnum):
    """Pinterest customer-list types (``list_type``); one type per list."""

    EMAIL = "EMAIL"
    """Email address: trimmed, lowercased, shape-checked."""
    MAID = "MAID"
    """Android advertising id (a UUID): in ``device_id_case`` (default lower)."""
    IDFA = "IDFA"
    """Apple identifier for advertisers (a UUID): in ``device_id_case`` (default lower)."""
    LR_ID = "LR_ID"
    """LiveRamp id: trimmed, case kept."""
    DLX_ID = "DLX_ID"
    """Oracle DataLogix id: trimmed, case kept."""
    HASHED_PINNER_ID = "HASHED_PINNER_ID"
    """Pinterest user id already hashed with SHA-256: must be 64 hex digits."""

    @classmethod
    def parse(cls, value: str, argument: str = "list_type") -> IdentifierType:
        """The member named ``value``; a clear error naming ``argument`` otherwise."""
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(member.value for member in cls)
            raise _invalid_argument(argument, f"{value!r} is not a list type; use one of {allowed}") from None


DEVICE_ID_CASES = ("lower", "upper", "as_is")
"""``device_id_case`` values: the case MAID and IDFA values take before hashing."""
DEFAULT_DEVICE_ID_CASE = "lower"
"""X's audience docs and Snap's lowercase both device ids; Pinterest documents no case (see the README)."""
PARTNER_ID_TYPES = (IdentifierType.LR_ID, IdentifierType.DLX_ID)
"""The types ``hash_identifiers=False`` applies to: pseudonymous partner tokens, may be sent as given."""


@dataclass(frozen=True, slots=True)
class IdentifierOptions:
    """How identifiers are normalised beyond their type's fixed rules (picklable: it travels to workers)."""

    device_id_case: str = DEFAULT_DEVICE_ID_CASE
    hash_identifiers: bool = True
    """False: partner ids (``PARTNER_ID_TYPES``) are sent as given; every other type is always hashed."""

    def __post_init__(self) -> None:
        if self.device_id_case not in DEVICE_ID_CASES:
            raise _invalid_argument(
                "device_id_case",
                f"{self.device_id_case!r} is not one of {', '.join(map(repr, DEVICE_ID_CASES))}",
            )
        if not isinstance(self.hash_identifiers, bool):
            raise _invalid_argument(
                "hash_identifiers", f"must be True or False, got {self.hash_identifiers!r}"
            )

    def check_types(self, identifier_types: Sequence[IdentifierType]) -> None:
        """Refuse ``hash_identifiers=False`` unless one of ``identifier_types`` is a partner-id type."""
        if self.hash_identifiers or any(kind in PARTNER_ID_TYPES for kind in identifier_types):
            return
        raise _invalid_argument(
            "hash_identifiers",
            f"False applies to {' and '.join(PARTNER_ID_TYPES)} lists only (pseudonymous partner ids), not "
            f"to {', '.join(identifier_types)}: emails, device ids and pinner ids are personal data and are "
            "always sent SHA-256 hashed",
        )

    def sends_as_given(self, identifier_type: IdentifierType) -> bool:
        """Whether ``identifier_type`` values are sent as their normalised text rather than hashed."""
        return not self.hash_identifiers and identifier_type in PARTNER_ID_TYPES

    def case_of(self, identifier_type: IdentifierType) -> str:
        """The case ``identifier_type`` values take: one of ``DEVICE_ID_CASES``."""
        if identifier_type in (IdentifierType.MAID, IdentifierType.IDFA):
            return self.device_id_case
        return _FIXED_CASE[identifier_type]


DEFAULT_OPTIONS = IdentifierOptions()
"""The options of a task that sets none."""

_FIXED_CASE = {
    IdentifierType.EMAIL: "lower",
    IdentifierType.LR_ID: "as_is",
    IdentifierType.DLX_ID: "as_is",
    IdentifierType.HASHED_PINNER_ID: "lower",
}


class Prehashed(_TextEnum):
    """Hash algorithms whose hex digests a type accepts as they are (the ``prehashed`` summary keys)."""

    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"


PREHASHED_FORMS: dict[IdentifierType, tuple[Prehashed, ...]] = {
    IdentifierType.EMAIL: (Prehashed.SHA256, Prehashed.SHA1, Prehashed.MD5),
    IdentifierType.MAID: (Prehashed.SHA256, Prehashed.SHA1, Prehashed.MD5),
    IdentifierType.IDFA: (Prehashed.SHA256, Prehashed.SHA1, Prehashed.MD5),
    IdentifierType.LR_ID: (Prehashed.SHA256,),
    IdentifierType.DLX_ID: (Prehashed.SHA256,),
    IdentifierType.HASHED_PINNER_ID: (Prehashed.SHA256,),
}
"""The spec (``CustomerListRequest.records``): emails plain or hashed with SHA1, SHA256 or MD5; MAIDs and
IDFAs hashed with one of those. The guide recommends SHA-256 for every type; a HASHED_PINNER_ID is one."""

_HEX_LENGTH = {Prehashed.MD5: 32, Prehashed.SHA1: 40, Prehashed.SHA256: 64}
# What fills a pre-hashed MD5 or SHA-1 digest up to a 32-byte slot.
_SLOT_TAG = {
    Prehashed.MD5: b"\x00md5-prehashed\x00\x00",
    Prehashed.SHA1: b"\x00sha1-hashed",
    Prehashed.SHA256: b"",
}


class InvalidReason(_TextEnum):
    """Why a row was skipped (the keys of the invalid-row counts)."""

    MISSING = "missing"
    """Empty or whitespace-only cell, NULL, or a row shorter than the column index."""
    UNDECODABLE = "undecodable"
    """Bytes that are not text in the declared encoding."""
    MALFORMED_EMAIL = "malformed_email"
    """Not one ``local@domain.tld`` address (no '@', several, no dot in the domain, spaces, lists...)."""
    MALFORMED_DEVICE_ID = "malformed_device_id"
    """Not a UUID (8-4-4-4-12 hex digits)."""
    ZEROED_DEVICE_ID = "zeroed_device_id"
    """The all-zero UUID a device reports when ad tracking is off: matches nobody."""
    NOT_SHA256 = "not_sha256"
    """A HASHED_PINNER_ID that is not 64 hex digits."""
    MULTI_LINE = "multi_line"
    """A value spanning several lines (a quoted CSV cell with line breaks)."""
    CONTROL_CHARACTER = "control_character"
    """A control character inside the value (NUL, another C0 character such as a tab, DEL, or C1)."""
    MALFORMED_CSV_ROW = "malformed_csv_row"
    """A CSV row that breaks the quoting rules, counted (not read) with ``on_malformed_row="invalid"``."""
    COMMA = "comma"
    """A comma inside a partner id sent as given (``hash_identifiers=False``): records are comma-separated."""


@dataclass(slots=True)
class HashedChunk:
    """One chunk after hashing: packed record slots (32 bytes each, input order) and row counts.

    ``prehashed`` counts the valid rows that arrived already hashed, by ``Prehashed`` algorithm. ``texts``:
    for a type sent as given (``IdentifierOptions.sends_as_given``), the normalised value of each slot, in
    the same order; None otherwise. ``quoted_line_breaks``: line breaks inside the quoted fields of the
    rows read (CSV only).
    """

    digests: bytes
    read: int
    invalid: Counter[str] = field(default_factory=Counter)
    prehashed: Counter[str] = field(default_factory=Counter)
    texts: list[bytes] | None = None
    quoted_line_breaks: int = 0

    @property
    def valid(self) -> int:
        """Rows that produced a digest."""
        return len(self.digests) // DIGEST_SIZE


@dataclass(slots=True)
class RecordCounts:
    """Running totals over all chunks of one source.

    ``quoted_line_breaks`` counts the line breaks inside quoted fields of the CSV rows read, each a line
    that did not start a row of its own: legal (a multi-line address), but also what two stray quotes lines
    apart make of the rows between them (one row instead of several).
    """

    read: int = 0
    valid: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    prehashed: Counter[str] = field(default_factory=Counter)
    quoted_line_breaks: int = 0

    def add(self, chunk: HashedChunk) -> None:
        """Add one chunk's counts."""
        self.read += chunk.read
        self.valid += chunk.valid
        self.invalid.update(chunk.invalid)
        self.prehashed.update(chunk.prehashed)
        self.quoted_line_breaks += chunk.quoted_line_breaks

    def prehashed_by_kind(self) -> dict[str, int]:
        """Valid rows that arrived hashed, for every ``Prehashed`` algorithm (zeros included)."""
        return {str(kind): self.prehashed[kind] for kind in Prehashed}

    @property
    def invalid_total(self) -> int:
        """Rows skipped, all reasons together."""
        return sum(self.invalid.values())

    def describe_invalid(self) -> str:
        """``"malformed_email=3, missing=1"`` (counts only, never values)."""
        return ", ".join(f"{reason}={count}" for reason, count in sorted(self.invalid.items())) or "none"


# --- normalisation and validation -------------------------------------------------------------------------

_HEX_DIGITS = b"0123456789abcdefABCDEF"
# What ``str.strip()`` removes among ASCII characters, so byte and text paths strip alike.
_ASCII_WHITESPACE = bytes(byte for byte in range(128) if chr(byte).isspace())
# Control characters but the line feed (values are joined with it; a value holding one is multi-line).
_ASCII_CONTROLS = bytes(byte for byte in range(32) if byte != 0x0A) + b"\x7f"
_NOT_ASCII_CONTROL = bytes(byte for byte in range(256) if byte not in _ASCII_CONTROLS)
_C1_CONTROL = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080-U+009F in UTF-8
_ZERO_UUID = b"00000000-0000-0000-0000-000000000000"
_UUID_HYPHENS = (8, 13, 18, 23)
_UUID_LENGTH = 36
# Email shape tests work on whole blocks through byte classes: 0 = ordinary, 1 = separator ("\n", "@", "."),
# 2 = never inside one address (whitespace, controls, list separators, display-name brackets, double quotes,
# and ":" as in "mailto:").
_EMAIL_SEPARATORS = b"\n@."
_EMAIL_FORBIDDEN = b' ,;:<>()[]"\\' + _ASCII_CONTROLS
# Beyond ASCII: Unicode whitespace (NBSP...), typographic quotes, and invisible characters pasted with a
# value (zero-width space, word joiner, BOM). In UTF-8 each starts with one of the lead bytes listed.
_UNICODE_SPACES = "".join(chr(code) for code in range(0x80, 0x3001) if chr(code).isspace())
_EMAIL_FORBIDDEN_UNICODE = re.compile(
    f"[{_UNICODE_SPACES}\u2018-\u201f\u2039\u203a\u00ab\u00bb\u200b\u2060\ufeff]"
)
_EMAIL_FORBIDDEN_UNICODE_LEADS = (b"\xc2", b"\xe1", b"\xe2", b"\xe3", b"\xef")
_EMAIL_CLASSES = bytes(
    2 if byte in _EMAIL_FORBIDDEN else 1 if byte in _EMAIL_SEPARATORS else 0 for byte in range(256)
)
_EMAIL_NOT_SEPARATOR = bytes(byte for byte in range(256) if byte not in _EMAIL_SEPARATORS)

_BYTES_CASE: dict[str, Callable[[bytes], bytes] | None] = {
    "lower": bytes.lower,
    "upper": bytes.upper,
    "as_is": None,
}
_TEXT_CASE: dict[str, Callable[[str], str] | None] = {"lower": str.lower, "upper": str.upper, "as_is": None}


def _all_sha256_hex(joined: bytes, count: int) -> bool:
    """Whether each of ``count`` newline-joined values (none spanning lines) is 64 hex digits."""
    return (
        len(joined) == count * HEX_RECORD_SIZE - 1
        and joined[2 * DIGEST_SIZE :: HEX_RECORD_SIZE] == b"\n" * (count - 1)
        and not joined.translate(None, _HEX_DIGITS + b"\n")
    )


def _email_problem(joined: bytes, values: Sequence[bytes]) -> InvalidReason | None:
    """None when every value is one ``local@domain.tld`` address; the same test for one value or a block.

    Rules: at most ``MAX_EMAIL_LENGTH`` characters, exactly one "@", a "." after it, no empty part around
    any "@" or "." (no two separators side by side, none at either end); no whitespace, control character,
    comma, semicolon, colon (``mailto:``), bracket, double quote or backslash; no apostrophe at the start or
    in the domain (``'x@y.com'``); no typographic quote or invisible character (zero-width space, BOM).
    """
    framed = b"\n" + joined + b"\n"
    classes = framed.translate(_EMAIL_CLASSES)
    if b"\x02" in classes or b"\x01\x01" in classes:
        return InvalidReason.MALFORMED_EMAIL
    shape = framed.translate(None, _EMAIL_NOT_SEPARATOR)
    if shape.translate(None, b".") != b"\n@" * len(values) + b"\n" or b"@\n" in shape:
        return InvalidReason.MALFORMED_EMAIL
    if len(joined) > MAX_EMAIL_LENGTH and max(map(len, values)) > MAX_EMAIL_LENGTH:
        lengths = (len(value.decode("utf-8", "replace")) for value in values if len(value) > MAX_EMAIL_LENGTH)
        if max(lengths, default=0) > MAX_EMAIL_LENGTH:
            return InvalidReason.MALFORMED_EMAIL
    if b"'" in joined and any(
        value.startswith(b"'") or b"'" in value.rpartition(b"@")[2] for value in values
    ):
        return InvalidReason.MALFORMED_EMAIL
    if (
        not joined.isascii()
        and any(lead in joined for lead in _EMAIL_FORBIDDEN_UNICODE_LEADS)
        and _EMAIL_FORBIDDEN_UNICODE.search(joined.decode("utf-8", "replace"))
    ):
        return InvalidReason.MALFORMED_EMAIL
    return None


def _device_id_problem(joined: bytes, values: Sequence[bytes]) -> InvalidReason | None:
    """None when every value is a non-zero UUID; the same test for one value or a whole block."""
    count = len(values)
    stride = _UUID_LENGTH + 1
    if len(joined) != count * stride - 1 or joined[_UUID_LENGTH::stride] != b"\n" * (count - 1):
        return InvalidReason.MALFORMED_DEVICE_ID
    if any(joined[offset::stride] != b"-" * count for offset in _UUID_HYPHENS):
        return InvalidReason.MALFORMED_DEVICE_ID
    if joined.translate(None, _HEX_DIGITS + b"-\n"):
        return InvalidReason.MALFORMED_DEVICE_ID
    return InvalidReason.ZEROED_DEVICE_ID if _ZERO_UUID in joined else None


def _opaque_id_problem(joined: bytes, values: Sequence[bytes]) -> InvalidReason | None:
    """Partner ids (LiveRamp, DataLogix) have no published shape: any non-empty value is accepted."""
    return None


def _hashed_pinner_id_problem(joined: bytes, values: Sequence[bytes]) -> InvalidReason | None:
    """Only reached for values that are not 64 hex digits (those pass through before any shape test)."""
    return InvalidReason.NOT_SHA256


_SHAPE_PROBLEM: dict[IdentifierType, Callable[[bytes, Sequence[bytes]], InvalidReason | None]] = {
    IdentifierType.EMAIL: _email_problem,
    IdentifierType.MAID: _device_id_problem,
    IdentifierType.IDFA: _device_id_problem,
    IdentifierType.LR_ID: _opaque_id_problem,
    IdentifierType.DLX_ID: _opaque_id_problem,
    IdentifierType.HASHED_PINNER_ID: _hashed_pinner_id_problem,
}


# Types whose shape test fails on any hex digest (32, 40 or 64 digits), so a block that passes it holds no
# already-hashed value.
_SHAPE_REJECTS_DIGESTS = frozenset(
    {IdentifierType.EMAIL, IdentifierType.MAID, IdentifierType.IDFA, IdentifierType.HASHED_PINNER_ID}
)
# Types whose shape test fails on any ASCII control character: their ASCII blocks need no separate scan.
_SHAPE_REJECTS_CONTROLS = _SHAPE_REJECTS_DIGESTS


def _has_control(joined: bytes) -> bool:
    """Whether UTF-8 (or ASCII) ``joined`` holds a C0 control but the line feed, DEL, or a C1 control."""
    if joined.translate(None, _NOT_ASCII_CONTROL):
        return True
    return b"\xc2" in joined and _C1_CONTROL.search(joined) is not None


def _prehashed_kind(value: bytes, identifier_type: IdentifierType) -> Prehashed | None:
    """The algorithm whose hex digest ``value`` is, among those ``identifier_type`` accepts; else None."""
    for kind in PREHASHED_FORMS[identifier_type]:
        if len(value) == _HEX_LENGTH[kind] and not value.translate(None, _HEX_DIGITS):
            return kind
    return None


def _digest_one(
    value: bytes, identifier_type: IdentifierType
) -> tuple[bytes, Prehashed | None] | InvalidReason:
    """The slot of one normalised value and how it arrived hashed (None: hashed here), or why it is skipped:
    the reference rule the block path follows."""
    if b"\n" in value:
        return InvalidReason.MULTI_LINE
    if _has_control(value):
        return InvalidReason.CONTROL_CHARACTER
    kind = _prehashed_kind(value, identifier_type)
    if kind is not None:
        return bytes.fromhex(value.decode("ascii")) + _SLOT_TAG[kind], kind
    return _SHAPE_PROBLEM[identifier_type](value, (value,)) or (_DIGEST(_SHA256(value)), None)


def _digest_values(values: list[bytes], identifier_type: IdentifierType, keep_texts: bool) -> HashedChunk:
    """Packed slots of normalised, non-empty values, the skipped ones counted by reason and the pre-hashed
    ones by algorithm (``read`` left at 0 for the caller). ``keep_texts``: ``texts`` holds the values kept,
    in slot order, a pre-hashed one as the lower-case hex it stands for.

    Fast path: prove a whole block valid with a few C-level scans of the joined values, then hash with no
    per-value Python code. Any doubt (one invalid value, an already-hashed value among plain ones) sends the
    block through ``_digest_one`` value by value; both paths accept exactly the same values.
    """
    if not values:
        return HashedChunk(b"", 0)
    joined = b"\n".join(values)
    if joined.count(b"\n") == len(values) - 1:
        if _all_sha256_hex(joined, len(values)):
            return HashedChunk(
                bytes.fromhex(joined.decode("ascii")),
                0,
                prehashed=Counter({Prehashed.SHA256: len(values)}),
                texts=list(map(bytes.lower, values)) if keep_texts else None,
            )
        controls_excluded = identifier_type in _SHAPE_REJECTS_CONTROLS and joined.isascii()
        shape_ok = (controls_excluded or not _has_control(joined)) and _SHAPE_PROBLEM[identifier_type](
            joined, values
        ) is None
        if shape_ok and (
            identifier_type in _SHAPE_REJECTS_DIGESTS or 2 * DIGEST_SIZE not in map(len, values)
        ):
            return HashedChunk(
                b"".join(map(_DIGEST, map(_SHA256, values))), 0, texts=values if keep_texts else None
            )
    slots: list[bytes] = []
    kept: list[bytes] = []
    invalid: Counter[str] = Counter()
    prehashed: Counter[str] = Counter()
    for value in values:
        outcome = _digest_one(value, identifier_type)
        if isinstance(outcome, InvalidReason):
            invalid[outcome] += 1
            continue
        slot, kind = outcome
        slots.append(slot)
        kept.append(value if kind is None else value.lower())
        if kind is not None:
            prehashed[kind] += 1
    return HashedChunk(b"".join(slots), 0, invalid, prehashed, kept if keep_texts else None)


def slot_hex(slot: bytes) -> str:
    """The record one 32-byte slot stands for: lower-case hex of its SHA-256, SHA-1 or MD5 digest."""
    for kind in (Prehashed.MD5, Prehashed.SHA1):
        size = _HEX_LENGTH[kind] // 2
        if slot[size:] == _SLOT_TAG[kind]:
            return slot[:size].hex()
    return slot.hex()


def records_text(slots: bytes) -> str:
    """A request's ``records``: the comma-joined records of packed slots."""
    if _SLOT_TAG[Prehashed.MD5] in slots or _SLOT_TAG[Prehashed.SHA1] in slots:
        return ",".join(
            slot_hex(slots[start : start + DIGEST_SIZE]) for start in range(0, len(slots), DIGEST_SIZE)
        )
    return slots.hex(",", DIGEST_SIZE)


# --- chunks: raw rows in, digests out ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvBlock:
    """Whole, well-formed CSV rows as raw bytes; parsed by whichever process hashes them.

    The reader (``csv_rows``) has checked the quoting, so any CSV parser reads these rows alike.
    ``malformed`` counts rows of the source that broke the quoting rules and were left out of ``data``
    (``on_malformed_row="invalid"``): they count as read and invalid (``malformed_csv_row``).
    ``quoted_line_breaks`` counts the line breaks inside the quoted fields of ``data``.
    """

    data: bytes
    column: int = 0
    delimiter: str = ","
    encoding: str = "utf-8"
    malformed: int = 0
    quoted_line_breaks: int = 0

    def normalised_values(self, case: str) -> tuple[list[bytes], int, Counter[str]]:
        """Normalised non-empty values of ``column`` in ``case``, rows read, and rows skipped by reason."""
        values, read, invalid = self._column_values(case)
        if self.malformed:
            invalid[InvalidReason.MALFORMED_CSV_ROW] += self.malformed
        return values, read + self.malformed, invalid

    def _column_values(self, case_name: str) -> tuple[list[bytes], int, Counter[str]]:
        data = self.data.replace(b"\r\n", b"\n") if b"\r" in self.data else self.data
        if not data.isascii() or b'"' in data or b"\r" in data:
            return _normalised_text_values(self._parsed_cells(), case_name)
        case = _BYTES_CASE[case_name]
        lines = list(filter(None, (case(data) if case else data).split(b"\n")))
        delimiter = self.delimiter.encode("ascii")
        if delimiter in data:
            rows = map(bytes.split, lines, repeat(delimiter), repeat(self.column + 1))
            cells: list[bytes | None] = [row[self.column] if len(row) > self.column else None for row in rows]
            return _normalised_ascii_values(cells, len(lines))
        if self.column == 0:
            return _normalised_ascii_values(lines, len(lines))
        return [], len(lines), Counter({InvalidReason.MISSING: len(lines)})

    def _parsed_cells(self) -> list[str | None]:
        """Cells of ``column`` through the csv module: quoting, line breaks in cells, any ASCII-safe codec."""
        text = self.data.decode(self.encoding, errors="surrogateescape")
        if len(text) > csv.field_size_limit():  # rows may be longer than the csv module's default limit
            csv.field_size_limit(len(text))
        if sys.version_info < (3, 11) and "\x00" in text:  # csv before 3.11 rejects NUL: any control will do
            text = text.replace("\x00", "\x02" if self.delimiter == "\x01" else "\x01")
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)
        return [row[self.column] if len(row) > self.column else None for row in rows if row]


RawChunk = CsvBlock | list[str | None]
"""What readers yield and ``hash_chunk`` takes: a CSV block or a list of values (None = no value)."""


def _normalised_ascii_values(
    cells: Iterable[bytes | None], read: int
) -> tuple[list[bytes], int, Counter[str]]:
    """Stripped non-empty cells (already case-mapped), rows read, and the rows without a value counted."""
    values = list(filter(None, map(bytes.strip, filter(None, cells), repeat(_ASCII_WHITESPACE))))
    return values, read, Counter({InvalidReason.MISSING: read - len(values)})


def _normalised_text_values(
    cells: Sequence[str | None], case_name: str
) -> tuple[list[bytes], int, Counter[str]]:
    """Like ``_normalised_ascii_values`` for text cells: Unicode-aware strip and case, UTF-8 bytes out."""
    texts = [cell for cell in cells if cell is not None]
    joined = "\n".join(texts)
    if joined.isascii() and joined.count("\n") == len(texts) - 1:
        case = _BYTES_CASE[case_name]
        encoded = joined.encode("ascii")
        return _normalised_ascii_values((case(encoded) if case else encoded).split(b"\n"), len(cells))
    text_case = _TEXT_CASE[case_name]
    values: list[bytes] = []
    invalid: Counter[str] = Counter({InvalidReason.MISSING: len(cells) - len(texts)})
    for text in texts:
        stripped = text.strip()
        if not stripped:
            invalid[InvalidReason.MISSING] += 1
            continue
        try:
            values.append((text_case(stripped) if text_case else stripped).encode("utf-8"))
        except UnicodeEncodeError:  # lone surrogates: bytes that were not text in the source encoding
            invalid[InvalidReason.UNDECODABLE] += 1
    return values, len(cells), invalid


def hash_chunk(
    chunk: RawChunk, identifier_type: IdentifierType, options: IdentifierOptions = DEFAULT_OPTIONS
) -> HashedChunk:
    """Normalise, validate and SHA-256 one raw chunk (runs in hashing worker processes too).

    A type sent as given (``options.sends_as_given``) keeps each slot's normalised value in ``texts`` (a
    pre-hashed SHA-256 in lower case, as when hashing); such a value may not hold a comma
    (``InvalidReason.COMMA``). The slots are the same either way.
    """
    case = options.case_of(identifier_type)
    if isinstance(chunk, CsvBlock):
        values, read, invalid = chunk.normalised_values(case)
    else:
        values, read, invalid = _normalised_text_values(chunk, case)
    as_given = options.sends_as_given(identifier_type)
    if as_given and any(b"," in value for value in values):
        kept = [value for value in values if b"," not in value]
        invalid[InvalidReason.COMMA] += len(values) - len(kept)
        values = kept
    hashed = _digest_values(values, identifier_type, keep_texts=as_given)
    hashed.read = read
    if isinstance(chunk, CsvBlock):
        hashed.quoted_line_breaks = chunk.quoted_line_breaks
    invalid.update(hashed.invalid)
    hashed.invalid = +invalid
    return hashed
