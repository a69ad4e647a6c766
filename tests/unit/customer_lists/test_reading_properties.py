"""Property-based tests of the whole reading path against a small, independent reference.

Generated CSV files (quotes right and wrong, quoted line breaks, CRLF and lone CR, blank rows, byte-order
marks and UTF-16/32, Latin-1, undecodable bytes, control characters, Unicode, several delimiters and
columns, tiny read sizes and row limits) go through ``read_csv`` -> ``hash_chunks``; lists of values
through ``read_iterable`` -> ``hash_chunks``. Each input either raises the documented error (for the row
the reference names) or yields the reference's digests, in order, and its counts: valid + invalid = read,
and the line breaks inside the data rows' fields (``quoted_line_breaks``).

The reference is written apart from the code under test: the standard ``csv`` module in strict mode, record
by record, plus the documented rules it lacks (no quote inside an unquoted field; a malformed row is its
first line; a row longer than the limit is malformed), and the documented normalisation, value by value.

Examples per property: ``HYPOTHESIS_PROFILE=ci`` (the default here) runs 500; ``dev`` 100; ``thorough``
5,000.

Cross-cutting: covers ``customer_lists.readers`` (``read_csv``, ``read_iterable``),
``customer_lists.hashing_pool`` (``hash_chunks``) and the normalisation of ``customer_lists.records``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")  # a dev tool: environments without it skip this file
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402

from airflow_provider_pinterest_audiences.customer_lists.hashing_pool import hash_chunks  # noqa: E402
from airflow_provider_pinterest_audiences.customer_lists.readers import read_csv, read_iterable  # noqa: E402
from airflow_provider_pinterest_audiences.customer_lists.records import (  # noqa: E402
    DIGEST_SIZE,
    IdentifierType,
    RecordCounts,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError  # noqa: E402

EXAMPLES = {"ci": 500, "dev": 100, "thorough": 5_000}
# Failing examples are kept for the next run outside the working tree (not in ./.hypothesis).
_DATABASE = DirectoryBasedExampleDatabase(
    os.path.join(tempfile.gettempdir(), "pinterest-audiences-hypothesis")
)
for _name, _count in EXAMPLES.items():
    settings.register_profile(
        _name,
        max_examples=_count,
        deadline=None,
        database=_DATABASE,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# --- the reference -----------------------------------------------------------------------------------------


def _undecodable(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return "\udcff", error.end  # any lone surrogate: text that cannot be encoded, so undecodable


codecs.register_error("reference_undecodable", _undecodable)


class ReferenceColumnError(Exception):
    pass


class ReferenceEncodingError(Exception):
    pass


def _reads_as_unmarked_utf16_or_32(head: bytes) -> bool:
    """ASCII text in UTF-16/32 without a mark: NUL in the same bytes of 90% of the code units, and no NUL
    in the others."""
    for width, nul_lanes in ((4, (1, 2, 3)), (4, (0, 1, 2)), (2, (1,)), (2, (0,))):
        units = [head[i : i + width] for i in range(0, len(head) - width + 1, width)]
        if len(units) < 8:
            continue
        others = [unit[lane] for unit in units for lane in range(width) if lane not in nul_lanes]
        if 0 not in others and all(
            sum(unit[lane] == 0 for unit in units) >= 0.9 * len(units) for lane in nul_lanes
        ):
            return True
    return False


class ReferenceMalformed(Exception):
    def __init__(self, row: int, header: bool) -> None:
        super().__init__(row)
        self.row = row
        self.header = header


def reference_text(data: bytes, encoding: str) -> tuple[str, tuple[str, str]]:
    """The text of a file as documented, and how the row limit counts its bytes: as they are in the file,
    or as UTF-8 after decoding UTF-16/32."""
    utf32 = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
    utf16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    decoded = ("utf-8", "surrogatepass")
    if encoding in ("utf-16", "utf-32"):
        return data.decode(encoding, "reference_undecodable"), decoded
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    elif encoding.startswith("utf-8") and data.startswith(utf32 + utf16):
        codec = "utf-32" if data.startswith(utf32) else "utf-16"
        return data.decode(codec, "reference_undecodable"), decoded
    elif _reads_as_unmarked_utf16_or_32(data[:4096]):
        raise ReferenceEncodingError
    encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    return data.decode(encoding, "surrogateescape"), (encoding, "surrogateescape")


def _record_body(raw: str) -> str:
    for ending in ("\r\n", "\n", "\r"):
        if raw.endswith(ending):
            return raw[: -len(ending)]
    return raw


def _no_quote_in_unquoted_field(record: list[str], raw: str, delimiter: str) -> bool:
    """Rebuild ``raw`` from ``record``: a field not starting with a quote must hold none."""
    body, position = _record_body(raw), 0
    for index, field in enumerate(record):
        if index:
            if not body.startswith(delimiter, position):
                return False
            position += 1
        if body.startswith('"', position):
            written = '"' + field.replace('"', '""') + '"'
        elif '"' in field:
            return False
        else:
            written = field
        if not body.startswith(written, position):
            return False
        position += len(written)
    return position == len(body)


def reference_records(
    text: str, delimiter: str, malformed: str, max_row_bytes: int, as_bytes: tuple[str, str], has_header: bool
) -> Iterator[list[str] | None]:
    """Records (``[]`` for a blank row, None for a malformed one); ReferenceMalformed(row) where reading
    stops."""
    lines = list(io.StringIO(text, newline=""))
    # The documented reading is Python 3.11's csv, where NUL is a character; 3.10's refuses it, so it reads
    # a stand-in that the text does not hold.
    nul = (
        next(c for c in map(chr, range(0xE000, 0xF900)) if c not in text)
        if sys.version_info < (3, 11)
        else "\x00"
    )
    parsed = [line.replace("\x00", nul) for line in lines]
    row, index = 0, 0
    while index < len(lines):
        reader = csv.reader(iter(parsed[index:]), delimiter=delimiter, strict=True)
        try:
            record: list[str] | None = [field.replace(nul, "\x00") for field in next(reader)]
            used = reader.line_num
            raw = "".join(lines[index : index + used])
            size = len(raw.encode(*as_bytes)) + (raw[-1:] not in ("\n", "\r"))
            if not _no_quote_in_unquoted_field(record, raw, delimiter) or size > max_row_bytes:  # type: ignore[arg-type]
                record = None
        except csv.Error:
            record, used = None, 1
        row += 1
        if record is None:
            if malformed == "fail" or (has_header and row == 1):
                raise ReferenceMalformed(row, has_header and row == 1)
            used = 1
        yield record
        index += used


_EMAIL_NEVER = set(' ,;:<>()[]"\\') | set(
    "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2039\u203a\xab\xbb"
)
_EMAIL_NEVER |= {"\u200b", "\u2060", "\ufeff"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # one line break each, as the reader counts them
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _email_ok(value: str) -> bool:
    if len(value) > 254 or value.count("@") != 1:
        return False
    local, domain = value.split("@")
    if "." not in domain or "" in local.split(".") + domain.split("."):
        return False
    if any(char in _EMAIL_NEVER or char.isspace() for char in value):
        return False
    return not (value.startswith("'") or "'" in domain)


def reference_value(cell: str | None, list_type: IdentifierType) -> bytes | str:
    """The documented normalisation of one value: its digest, or the reason it is skipped."""
    if cell is None or not cell.strip():
        return "missing"
    text = cell.strip()
    text = {"EMAIL": text.lower(), "MAID": text.lower(), "IDFA": text.lower()}.get(list_type.value, text)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return "undecodable"
    if "\n" in text:
        return "multi_line"
    if any(unicodedata.category(char) == "Cc" for char in text):
        return "control_character"
    if _HEX64.fullmatch(text):
        return bytes.fromhex(text)
    if list_type is IdentifierType.EMAIL and not _email_ok(text):
        return "malformed_email"
    if list_type is IdentifierType.HASHED_PINNER_ID:
        return "not_sha256"
    if list_type in (IdentifierType.MAID, IdentifierType.IDFA):
        if not _UUID.fullmatch(text.lower()):
            return "malformed_device_id"
        if text.strip("0-") == "":
            return "zeroed_device_id"
    return hashlib.sha256(data).digest()


@dataclass
class Outcome:
    digests: list[bytes]
    read: int
    invalid: Counter[str]
    quoted_line_breaks: int = 0


def reference_outcome(values: Sequence[str | bytes | None], list_type: IdentifierType) -> Outcome:
    outcome = Outcome([], 0, Counter())
    for value in values:
        outcome.read += 1
        result = value if value == "malformed_csv_row" else reference_value(value, list_type)  # type: ignore[arg-type]
        if isinstance(result, bytes):
            outcome.digests.append(result)
        else:
            outcome.invalid[result] += 1
    return outcome


def hashed_outcome(chunks: Iterator[Any], list_type: IdentifierType, processes: int) -> Outcome:
    counts, digests = RecordCounts(), b""
    for chunk in hash_chunks(chunks, list_type, processes=processes):
        counts.add(chunk)
        digests += chunk.digests
    assert counts.valid + counts.invalid_total == counts.read  # every row counted once
    split = [digests[i : i + DIGEST_SIZE] for i in range(0, len(digests), DIGEST_SIZE)]
    invalid = +Counter({str(k): v for k, v in counts.invalid.items()})
    return Outcome(split, counts.read, invalid, counts.quoted_line_breaks)


# --- generated CSV files -----------------------------------------------------------------------------------

_PLAIN = "abcXYZ019_-+"
_NASTY = '"",;\t| \'@:\x00\x01\x1f\x7f\x85\xa0\r\n\xe9\u0130\u2028\u201c\ufeff\u200b'


@st.composite
def identifiers(draw: st.DrawFn, hostility: int = 2) -> str:
    """Email-like values; the more hostile, the more often with a way to go wrong."""
    nasty = st.text(st.sampled_from(_PLAIN + _NASTY), min_size=1, max_size=4)
    local = ".".join(
        draw(st.lists(st.text(st.sampled_from(_PLAIN), min_size=1, max_size=5), min_size=1, max_size=2))
    )
    domain = draw(st.text(st.sampled_from(_PLAIN), min_size=1, max_size=6))
    if draw(st.integers(0, 5)) < hostility:
        local += draw(nasty)
    if draw(st.integers(0, 5)) < hostility:
        domain += draw(nasty)
    shape = draw(st.integers(0, 12))
    if shape == 0:
        return draw(st.text(st.sampled_from(_PLAIN + _NASTY), max_size=12))
    if shape == 1:
        return hashlib.sha256(local.encode("utf-8", "surrogatepass")).hexdigest().upper()
    if shape == 2:
        return "  " + local + "@" + domain + ".COM" + "\t"
    if shape == 3:
        return "a" * draw(st.integers(240, 260)) + "@x.com"
    return local + "@" + domain + "." + draw(st.sampled_from(["com", "com", "co.uk", "", "c'"]))


def _field(draw: st.DrawFn, value: str, delimiter: str, hostility: int) -> str:
    """``value`` written as a CSV field: quoted right, unquoted when it can be, or (more often the more
    hostile) written wrong."""
    if draw(st.integers(0, 19)) < hostility * hostility:
        way = draw(st.integers(0, 3))
        if way == 0:
            return value  # raw, whatever it holds (a quote makes the row malformed)
        if way == 1:
            return '"' + value + '"'  # quoted, inner quotes not doubled
        if way == 2:
            return '"' + value  # never closed
        return '"' + value.replace('"', '""') + '"' + draw(st.sampled_from(["x", '"', " "]))
    if any(char in value for char in '"\r\n' + delimiter) or draw(st.booleans()):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass
class CsvCase:
    data: bytes
    encoding: str
    delimiter: str
    column: int
    has_header: bool
    malformed: str
    block_bytes: int
    max_row_bytes: int
    list_type: IdentifierType


@st.composite
def csv_cases(draw: st.DrawFn) -> CsvCase:
    hostility = draw(st.integers(0, 4))  # 0: clean values, right quoting ... 4: mostly wrong
    delimiter = draw(st.sampled_from([",", ",", ";", "\t", "|"]))
    column = draw(st.integers(0, 2))
    alphabet = st.sampled_from(_PLAIN + (_NASTY if hostility else " "))
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 9)) == 0:
            lines.append("")  # a blank row
            continue
        width = draw(st.integers(1, 4))
        cells = [
            draw(identifiers(hostility)) if index == column else draw(st.text(alphabet, max_size=5))
            for index in range(width)
        ]
        lines.append(delimiter.join(_field(draw, cell, delimiter, hostility) for cell in cells))
    endings = draw(
        st.lists(st.sampled_from(["\n", "\n", "\r\n", "\r"]), min_size=len(lines), max_size=len(lines))
    )
    text = "".join(line + ending for line, ending in zip(lines, endings, strict=True))
    if text and draw(st.booleans()):
        text = text.rstrip("\r\n")  # no line break after the last row
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16", "utf-32"]))
    bom = draw(st.sampled_from(["", "", "utf-8", "utf-16", "utf-32"]))
    if encoding in ("utf-16", "utf-32"):
        data = text.encode(encoding, "surrogatepass")  # Python writes the byte-order mark
    elif bom in ("utf-16", "utf-32") and encoding == "utf-8":
        data = text.encode(bom, "surrogatepass")
    else:
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            encoding, data = "utf-8", text.encode("utf-8")
        if bom == "utf-8":
            data = codecs.BOM_UTF8 + data
        if encoding.startswith("utf-8") and draw(st.integers(0, 4)) == 0 and data:
            at = draw(st.integers(0, len(data)))
            data = data[:at] + b"\xff" + data[at:]  # not UTF-8
    return CsvCase(
        data=data,
        encoding=encoding,
        delimiter=delimiter,
        column=column,
        has_header=draw(st.booleans()),
        malformed=draw(st.sampled_from(["fail", "invalid", "invalid"])),
        block_bytes=draw(st.sampled_from([1, 3, 16, 64, 1 << 18])),
        max_row_bytes=draw(st.sampled_from([1 << 20, 1 << 20, 1 << 20, 24, 60])),
        list_type=draw(st.sampled_from([IdentifierType.EMAIL, IdentifierType.EMAIL, IdentifierType.LR_ID])),
    )


def _reference_for(case: CsvCase) -> Outcome:
    text, as_bytes = reference_text(case.data, case.encoding)
    records = reference_records(
        text, case.delimiter, case.malformed, case.max_row_bytes, as_bytes, case.has_header
    )
    if case.has_header:
        header = next(records, None)
        if header is not None and case.column >= len(header):
            raise ReferenceColumnError
    values: list[str | None] = []
    line_breaks = 0
    for record in records:
        if record is None:
            values.append("malformed_csv_row")
        elif record:  # a blank row is not read
            values.append(record[case.column] if case.column < len(record) else None)
            line_breaks += sum(len(LINE_BREAK.findall(field)) for field in record)
    outcome = reference_outcome(values, case.list_type)
    outcome.quoted_line_breaks = line_breaks
    return outcome


@given(case=csv_cases())
def test_read_csv_matches_the_reference(tmp_path_factory: pytest.TempPathFactory, case: CsvCase) -> None:
    path = tmp_path_factory.mktemp("csv") / "input.csv"
    path.write_bytes(case.data)
    try:
        expected: Outcome | Exception = _reference_for(case)
    except (ReferenceMalformed, ReferenceColumnError, ReferenceEncodingError) as error:
        expected = error
    chunks = read_csv(
        path,
        column=case.column,
        has_header=case.has_header,
        delimiter=case.delimiter,
        encoding=case.encoding,
        block_bytes=case.block_bytes,
        malformed_rows=case.malformed,
        max_row_bytes=case.max_row_bytes,
    )
    marked = case.data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    event(f"{case.encoding}, {'a' if marked else 'no'} byte-order mark")
    if isinstance(expected, Outcome):
        malformed = expected.invalid["malformed_csv_row"]
        digests = "some" if expected.digests else "no"
        event(f"read: {'some' if malformed else 'no'} malformed rows, {digests} digests")
        event(f"reasons: {', '.join(sorted(expected.invalid)) or 'none'}")
        event(f"quoted line breaks: {'some' if expected.quoted_line_breaks else 'none'}")
    else:
        event(f"raises: {type(expected).__name__}")
    if isinstance(expected, ReferenceEncodingError):
        with pytest.raises(PinterestInvalidArgumentError, match="without a byte-order mark") as raised:
            hashed_outcome(chunks, case.list_type, processes=1)
        assert raised.value.argument == "encoding"
        return
    if isinstance(expected, ReferenceColumnError):
        with pytest.raises(PinterestInvalidArgumentError, match="out of range") as raised:
            hashed_outcome(chunks, case.list_type, processes=1)
        assert raised.value.argument == "column"
        return
    if isinstance(expected, ReferenceMalformed):
        with pytest.raises(PinterestInvalidArgumentError) as raised:
            hashed_outcome(chunks, case.list_type, processes=1)
        assert raised.value.argument == "source"
        message = str(raised.value)
        assert re.search(rf"\bat row {expected.row}\b", message), (message, expected.row)
        assert ("header" in message) == expected.header
        return
    assert hashed_outcome(chunks, case.list_type, processes=1) == expected


@given(case=csv_cases())
def test_the_hashing_pool_changes_nothing(tmp_path_factory: pytest.TempPathFactory, case: CsvCase) -> None:
    path = tmp_path_factory.mktemp("csv") / "input.csv"
    path.write_bytes(case.data)

    def outcome(processes: int) -> Outcome | str:
        try:
            return hashed_outcome(
                read_csv(
                    path,
                    column=case.column,
                    delimiter=case.delimiter,
                    encoding=case.encoding,
                    block_bytes=max(case.block_bytes, 16),
                    malformed_rows="invalid",
                ),
                case.list_type,
                processes,
            )
        except PinterestInvalidArgumentError as error:
            return str(error)

    assert outcome(2) == outcome(1)


# --- generated lists of values -----------------------------------------------------------------------------

_ITEM_TEXT = st.text(st.characters(codec=None), max_size=10) | identifiers()


@given(
    items=st.lists(
        st.one_of(
            _ITEM_TEXT, st.none(), st.integers(), _ITEM_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))
        ),
        max_size=30,
    ),
    list_type=st.sampled_from(list(IdentifierType)),
    chunk_size=st.sampled_from([1, 7, 8_000]),
)
def test_read_iterable_matches_the_reference(
    items: list[Any], list_type: IdentifierType, chunk_size: int
) -> None:
    def as_text(item: Any) -> str | None:
        if isinstance(item, bytes):
            return item.decode("utf-8", "surrogateescape")
        return None if item is None else str(item)

    expected = reference_outcome([as_text(item) for item in items], list_type)
    got = hashed_outcome(read_iterable(items, chunk_size=chunk_size), list_type, processes=1)
    assert got == expected
