"""Strict CSV rows: a byte stream cut into blocks of whole, well-formed rows, in linear time.

The grammar is RFC 4180's, read strictly. A row is fields separated by the delimiter and ended by a line
break (``\\r\\n``, ``\\n`` or a lone ``\\r``) or by the end of the input. A field is either unquoted (no
quote, delimiter or line break in it) or quoted: it starts with ``"``, holds anything (delimiters and line
breaks included) with each quote doubled (``""``), and its closing quote is followed at once by a
delimiter, a line break or the end of the input. Rows are numbered from 1 like the records of the file:
the header row and blank rows count; a row with a quoted line break is one row over several lines.

Three things make a row malformed, and none of them merges rows silently:

- a quote inside an unquoted field (``O"Brien``);
- anything but a delimiter or a line break right after a closing quote (``"O"Brien``);
- a quoted field still open at the end of the input, or a row longer than ``MAX_ROW_BYTES`` (a quote that
  opened a field and never closed it would otherwise swallow the rest of the file).

With ``malformed_rows="fail"`` the first one raises ``PinterestInvalidArgumentError`` (argument
``source``) naming its row, column and line, never its content. With ``"invalid"`` the malformed row is
counted (``CsvBlock.malformed``) and left out, and reading resynchronises: **the malformed row ends at the
first line break after its start**, whatever its quotes, and the next row starts on the next line. A stray
quote therefore costs exactly the line it is on.

A quoted line break is legal (an address over several lines), so two stray quotes in one column, lines
apart, make one well-formed row of the lines between them. That cannot be told from a real multi-line cell:
each block counts the line breaks inside the quoted fields of its data rows (``RowBlock.quoted_line_breaks``,
the upload summary's ``quoted_line_breaks``: each is a line that did not start a row of its own), and the
total is logged as a warning. The count comes from the line and row counts the splitter keeps anyway.

Speed: the splitter runs in the task's process, ahead of the hashing workers, and does no per-row Python.
Rows without quotes are found with ``bytes`` methods; rows with quotes by regular expressions matching
whole runs of rows, malformed ones included (after the first few, which are logged with their place); rows
are counted on the text outside quotes. Every pattern is unambiguous at each byte and never reaches back
before the row it matches, and a row that needs more input is matched again only once the buffer has
doubled, so time is linear in the input; memory holds at most one read plus two rows' worth of bytes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import count
from typing import NamedTuple

from airflow_provider_pinterest_audiences.customer_lists.text_encoding import ByteStream
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

MAX_ROW_BYTES = 1 << 20
"""1 MiB: the longest row read. Longer is malformed: no customer row is that long, but a stray quote that
opens a field and never closes it makes one."""
MALFORMED_ROW_CHOICES = ("fail", "invalid")
"""``on_malformed_row`` (``read_csv``'s ``malformed_rows``): raise on the first malformed row, or count each
as invalid (``malformed_csv_row``) and read on."""
QUOTING_HINT = 'quote a field that holds a quote, and double the quote inside it ("O""Brien")'
MALFORMED_ROW_HINT = (
    f'{QUOTING_HINT}, or set on_malformed_row="invalid" to count such rows as invalid (malformed_csv_row) '
    "and read on"
)
_LOGGED_MALFORMED_ROWS = 3

log = logging.getLogger(__name__)


def check_malformed_rows(value: object, argument: str = "on_malformed_row") -> str:
    """``value`` when it is one of ``MALFORMED_ROW_CHOICES``; a clear error naming ``argument`` otherwise."""
    if value not in MALFORMED_ROW_CHOICES:
        raise PinterestInvalidArgumentError(
            argument, f"{value!r} is not one of {', '.join(map(repr, MALFORMED_ROW_CHOICES))}"
        )
    return str(value)


class _Patterns(NamedTuple):
    simple_run: re.Pattern[bytes]
    """Consecutive complete rows none of which holds a quoted line break."""
    run: re.Pattern[bytes]
    """Consecutive complete rows."""
    row: re.Pattern[bytes]
    """One complete row."""
    partial_row: re.Pattern[bytes]
    """The start of a row that more input could complete (to the end of what is searched)."""
    mixed_run: re.Pattern[bytes]
    """Consecutive complete rows and malformed rows (as their first line), up to a row more input could
    complete."""
    mixed_run_to_end: re.Pattern[bytes]
    """The same at the end of the input, where every row is complete or malformed."""
    row_or_malformed: re.Pattern[bytes]
    """One row (group ``row``, the first group) or one malformed row's first line, for ``split``."""
    quoted: re.Pattern[bytes]
    """One quoted field (its longest well-formed reading)."""
    unquoted: re.Pattern[bytes]
    """One unquoted field."""


@lru_cache(maxsize=16)
def _patterns(delimiter: bytes) -> _Patterns:
    # Quoted fields are unrolled loops ("[^"]*(?:""[^"]*)*"): at each byte one branch at most can go on. The
    # patterns that may fail far from where they started (an unclosed quote) read each run of text with
    # ``(?=(?P<n>[^"]*))(?P=n)``, an atomic group Python 3.10 understands: what it read is never given
    # back byte by byte. Nothing reaches back before the row being matched.
    names = count()

    def atomic(text: bytes) -> bytes:
        name = b"t%d" % next(names)
        return rb"(?=(?P<" + name + rb">" + text + rb"))(?P=" + name + rb")"

    def quoted() -> bytes:
        return rb'"' + atomic(rb'[^"]*') + rb'(?:""' + atomic(rb'[^"]*') + rb')*"'

    d = re.escape(delimiter)
    unquoted = rb'[^"' + d + rb"\r\n]*"
    line_break = rb"(?:\r\n|\n|\r)"

    def field() -> bytes:
        return rb"(?:" + quoted() + rb"|" + unquoted + rb")"

    def row() -> bytes:
        return field() + rb"(?:" + d + field() + rb")*" + line_break

    def partial_row() -> bytes:
        open_quoted = rb'"' + atomic(rb'[^"]*') + rb'(?:""' + atomic(rb'[^"]*') + rb')*"?'
        return rb"(?:" + field() + d + rb")*(?:" + open_quoted + rb"|" + unquoted + rb")\Z"

    # Single-line fields cannot read past a line break, so the fastest plain form is safe for them.
    field_one_line = rb'(?:"[^"\r\n]*(?:""[^"\r\n]*)*"|' + unquoted + rb")"
    simple_row = field_one_line + rb"(?:" + d + field_one_line + rb")*" + line_break
    first_line = rb"[^\r\n]*" + line_break
    return _Patterns(
        simple_run=re.compile(rb"(?:" + simple_row + rb")*"),
        run=re.compile(rb"(?:" + row() + rb")*"),
        row=re.compile(row()),
        partial_row=re.compile(partial_row()),
        mixed_run=re.compile(rb"(?:" + row() + rb"|(?!" + partial_row() + rb")" + first_line + rb")*"),
        mixed_run_to_end=re.compile(rb"(?:" + row() + rb"|" + first_line + rb")*"),
        row_or_malformed=re.compile(rb"(?P<row>" + row() + rb")|" + first_line),
        quoted=re.compile(quoted()),
        unquoted=re.compile(unquoted),
    )


def _line_breaks(data: bytes, start: int, end: int) -> int:
    """Line breaks (``\\r\\n``, ``\\n``, lone ``\\r``) in ``data[start:end]``."""
    breaks = data.count(b"\n", start, end)
    if data.find(b"\r", start, end) >= 0:
        breaks += data.count(b"\r", start, end) - data.count(b"\r\n", start, end)
    return breaks


def _line_end(data: bytes, start: int, end: int) -> int:
    """Offset just past the first line break in ``data[start:end]``; -1 when there is none."""
    newline = data.find(b"\n", start, end)
    carriage = data.find(b"\r", start, newline if newline >= 0 else end)
    if carriage < 0:
        return newline + 1 if newline >= 0 else -1
    return carriage + 2 if carriage + 1 == newline else carriage + 1


def _last_line_end(data: bytes, start: int, end: int) -> int:
    """Offset just past the last line break in ``data[start:end]``; ``start`` when there is none."""
    return max(data.rfind(b"\n", start, end), data.rfind(b"\r", start, end), start - 1) + 1


def _run_end(run: re.Pattern[bytes], data: bytes, start: int, end: int) -> int:
    """Where a run pattern (which may match nothing, so always matches) stops in ``data[start:end]``."""
    match = run.match(data, start, end)
    return start if match is None else match.end()


def _rows_in(rows: bytes) -> int:
    """Rows in ``rows``, whole well-formed rows: line breaks outside quotes, which an even number of quotes
    precedes (a doubled quote is two quotes side by side, so it changes nothing in between)."""
    if b'"' in rows:
        # Joined with a space, so a row's "\r" and a later row's "\n" never make one "\r\n".
        rows = b" ".join(rows.split(b'"')[::2])
    return _line_breaks(rows, 0, len(rows))


class MalformedRow(NamedTuple):
    """Where a row broke the quoting rules: 1-based row, line and column, and what is wrong (no content)."""

    row: int
    line: int
    column: int
    problem: str

    def describe(self) -> str:
        line = f" (line {self.line})" if self.line != self.row else ""
        return f"row {self.row}{line}, column {self.column}: {self.problem}"


@dataclass(frozen=True)
class RowBlock:
    """Whole, well-formed rows (``data``), how many malformed rows were left out of them, and how many line
    breaks their quoted fields hold."""

    data: bytes
    malformed: int = 0
    quoted_line_breaks: int = 0


class CsvRowSplitter:
    """Cuts a binary stream (ASCII-compatible: ``"``, the delimiter and line breaks are single bytes that
    never occur inside other characters) into ``RowBlock``s of about ``block_bytes``.

    ``header()`` takes the first row, once, before ``blocks()``.
    """

    def __init__(
        self,
        stream: ByteStream,
        delimiter: str,
        *,
        block_bytes: int,
        malformed_rows: str = "fail",
        max_row_bytes: int = MAX_ROW_BYTES,
    ) -> None:
        self._stream = stream
        self._delimiter = delimiter.encode("ascii")
        self._patterns = _patterns(self._delimiter)
        self._read_bytes = max(1, block_bytes)
        self._fail = check_malformed_rows(malformed_rows, "malformed_rows") == "fail"
        self._max_row_bytes = max_row_bytes
        self._buffer = b""
        self._position = 0  # where the next row starts in the buffer
        self._eof = False
        self._skipping = False  # dropping the rest of a malformed row's over-long first line
        self._row = 1  # number of the row starting at the position
        self._line = 1  # line on which it starts
        self._parts: list[bytes] = []
        self._part_bytes = 0
        self._malformed = 0
        self._malformed_seen = 0
        self._block_quoted_line_breaks = 0  # in the data rows of the block being gathered
        self._in_header = False
        self._quoted_line_breaks = 0
        self._first_quoted_line_break_row = 0

    # -- public ----------------------------------------------------------------------------------

    def header(self) -> bytes | None:
        """The first row (with its line break), or None when the input holds none. Always strict: a
        malformed header row raises, whatever ``malformed_rows`` says (its names could not be trusted)."""
        fail, self._fail, self._in_header = self._fail, True, True
        try:
            while not self._parts and not self._eof:
                self._fill()
                self._advance(rows=1)
        finally:
            self._fail, self._in_header = fail, False
        header = b"".join(self._parts)
        self._parts, self._part_bytes = [], 0
        return header or None

    def blocks(self) -> Iterator[RowBlock]:
        """Every remaining row, in blocks of whole rows; malformed rows raise or are counted (see module)."""
        while True:
            if not self._eof:
                self._fill()
            self._advance()
            done = self._eof and self._position >= len(self._buffer)
            # One block per read (about block_bytes), as the hashing workers' buffers are sized for.
            if self._parts or (done and self._malformed):
                yield RowBlock(b"".join(self._parts), self._malformed, self._block_quoted_line_breaks)
                self._parts, self._part_bytes, self._malformed, self._block_quoted_line_breaks = [], 0, 0, 0
            if done:
                self._log_totals()
                return

    def _log_totals(self) -> None:
        if self._malformed_seen > _LOGGED_MALFORMED_ROWS:
            log.warning(
                "%d malformed CSV rows in all, each counted as invalid (malformed_csv_row)",
                self._malformed_seen,
            )
        if self._quoted_line_breaks:
            first = f" (the first in row {self._first_quoted_line_break_row})"
            log.warning(
                "%d line breaks inside quoted fields made rows that span several lines%s. That is legal CSV, "
                "but if no cell of this file spans lines, stray quotes have merged rows: check those rows "
                "(upload_summary: quoted_line_breaks)",
                self._quoted_line_breaks,
                first if self._first_quoted_line_break_row else "",
            )

    # -- reading ---------------------------------------------------------------------------------

    def _fill(self) -> None:
        """Append one read to the buffer, dropping what was consumed; mark and close the end of input.

        A read is at least as long as the unfinished row carried over, so a long row is matched again
        only after its buffer doubled: all the matching of it stays within twice its length.
        """
        rest = self._buffer[self._position :]
        data = self._stream.read(max(self._read_bytes, len(rest)))
        if not data:
            self._eof = True
            if rest and rest[-1:] not in (b"\n", b"\r"):
                rest += b"\n"  # the last row ends at the end of the input
        self._buffer, self._position = rest + data, 0

    def _limit(self) -> int:
        """End of what can be decided now: a final ``\\r`` might be the start of ``\\r\\n``."""
        buffer = self._buffer
        if not self._eof and buffer.endswith(b"\r"):
            return len(buffer) - 1
        return len(buffer)

    def _take(self, start: int, end: int, rows: int, lines: int) -> None:
        self._parts.append(self._buffer[start:end])
        self._part_bytes += end - start
        self._row += rows
        self._line += lines
        self._position = end

    def _advance(self, rows: int | None = None) -> None:
        """Consume every row of the buffer that can be decided now (at most ``rows`` rows when given)."""
        buffer, limit, patterns = self._buffer, self._limit(), self._patterns
        if self._skipping:
            end = _line_end(buffer, self._position, limit)
            self._position = limit if end < 0 else end
            self._skipping = end < 0
        first_row = self._row
        while self._position < limit and (rows is None or self._row - first_row < rows):
            position = self._position
            if rows is None:
                # Runs of rows, each within the row limit because the run is (and never cut in a \r\n).
                within = min(limit, position + self._max_row_bytes)
                if within < limit and buffer[within - 1] == 0x0D:
                    within -= 1
                end = self._single_line_rows_end(position, within)
                if end > position:
                    breaks = _line_breaks(buffer, position, end)
                    self._take(position, end, breaks, breaks)
                    continue
                if _line_end(buffer, position, within) >= 0:  # else no row can end yet: try no pattern
                    end = _run_end(patterns.run, buffer, position, within)
                    if end > position:
                        self._take_rows(position, end)
                        continue
                    if (
                        not self._fail
                        and self._malformed_seen >= _LOGGED_MALFORMED_ROWS
                        and self._take_mixed_rows(position, within, limit)
                    ):
                        continue
            # One row that is malformed, too long, not complete yet, or the header.
            if _line_end(buffer, position, limit) < 0:  # no line break yet: the row cannot be complete
                if not self._eof and limit - position <= self._max_row_bytes:
                    break  # more input decides it
                self._malformed_row(position, limit)  # too long already
                continue
            match = patterns.row.match(buffer, position, limit)
            if match is not None and match.end() - position <= self._max_row_bytes:
                self._take_rows(position, match.end())
                continue
            if (
                match is None
                and not self._eof
                and limit - position <= self._max_row_bytes
                and patterns.partial_row.match(buffer, position, limit)
            ):
                break  # more input decides this row
            self._malformed_row(position, limit)  # also a row that is too long, finished or not

    def _single_line_rows_end(self, position: int, limit: int) -> int:
        """End of the run of complete rows from ``position`` that hold no quoted line break."""
        buffer = self._buffer
        quote = buffer.find(b'"', position, limit)
        if quote < 0:
            return _last_line_end(buffer, position, limit)  # no quote: lines are rows
        end = _last_line_end(buffer, position, quote)  # the lines before the one holding the quote
        if end > position:
            return end
        return _run_end(self._patterns.simple_run, buffer, position, limit)

    def _take_rows(self, start: int, end: int) -> None:
        """Take whole well-formed rows, some of which may hold quoted line breaks."""
        rows = _rows_in(self._buffer[start:end])
        lines = _line_breaks(self._buffer, start, end)
        if lines > rows:
            self._note_quoted_line_breaks(start, end, lines - rows)
            if not self._in_header:
                self._block_quoted_line_breaks += lines - rows
        self._take(start, end, rows, lines)

    def _take_mixed_rows(self, start: int, within: int, limit: int) -> bool:
        """Take rows and count malformed ones (first lines) in one pass, once the first few were logged."""
        patterns = self._patterns
        run = patterns.mixed_run_to_end if self._eof and within == limit else patterns.mixed_run
        end = _run_end(run, self._buffer, start, within)
        if end <= start:
            return False
        # split() returns, for each match, the text before it (empty: matches follow each other) and its
        # groups; the first group is the row, None for a malformed row's first line.
        pieces = patterns.row_or_malformed.split(self._buffer[start:end])
        matches = pieces[1 :: patterns.row_or_malformed.groups + 1]
        malformed = matches.count(None)
        kept = b"".join(filter(None, matches))
        records = len(matches)
        lines = _line_breaks(self._buffer, start, end)
        if lines > records:
            self._quoted_line_breaks += lines - records
            self._block_quoted_line_breaks += lines - records
        self._malformed += malformed
        self._malformed_seen += malformed
        self._parts.append(kept)
        self._part_bytes += len(kept)
        self._row += records
        self._line += lines
        self._position = end
        return True

    def _note_quoted_line_breaks(self, start: int, end: int, count: int) -> None:
        """Count line breaks inside quoted fields; find the row of the first one (once, for the log)."""
        if not self._quoted_line_breaks:
            row = self._row
            for index, part in enumerate(self._buffer[start:end].split(b'"')):
                if index % 2 == 0:
                    row += _line_breaks(part, 0, len(part))
                elif _line_breaks(part, 0, len(part)):
                    self._first_quoted_line_break_row = row
                    break
        self._quoted_line_breaks += count

    # -- malformed rows --------------------------------------------------------------------------

    def _malformed_row(self, start: int, limit: int) -> None:
        """Raise, or count the row starting at ``start`` and skip to the line after its first line."""
        if self._fail or self._malformed_seen < _LOGGED_MALFORMED_ROWS:
            where = self._diagnose(start, limit).describe()
            if self._in_header:
                raise PinterestInvalidArgumentError(
                    "source", f"malformed CSV header at {where}; {QUOTING_HINT}, or set has_header=False"
                )
            if self._fail:
                raise PinterestInvalidArgumentError(
                    "source", f"malformed CSV at {where}; {MALFORMED_ROW_HINT}"
                )
            log.warning("Malformed CSV at %s: counted as invalid (malformed_csv_row)", where)
        self._malformed += 1
        self._malformed_seen += 1
        self._row += 1
        self._line += 1
        end = _line_end(self._buffer, start, limit)
        self._position = limit if end < 0 else end
        self._skipping = end < 0

    def _diagnose(self, start: int, limit: int) -> MalformedRow:
        """Walk the malformed row to the first byte that breaks the grammar (bytes searches, no per-field
        Python: a row may hold a million fields)."""
        buffer, delimiter = self._buffer, self._delimiter
        end = min(limit, start + self._max_row_bytes + 1)
        column, position = 1, start
        problem = f"the row is longer than {self._max_row_bytes:,} bytes"
        while position < end:
            # Unquoted fields up to the next quote or line break: count their delimiters.
            stop = min(
                (
                    found
                    for found in (buffer.find(byte, position, end) for byte in (b'"', b"\n", b"\r"))
                    if found >= 0
                ),
                default=end,
            )
            field_start = max(position, buffer.rfind(delimiter, position, stop) + 1)
            column += buffer.count(delimiter, position, stop)
            if stop >= end or buffer[stop] != 0x22:
                break  # the row limit (a line break here would end a well-formed row)
            if stop > field_start:
                problem = "a quote inside an unquoted field"
                position = stop
                break
            match = self._patterns.quoted.match(buffer, stop, end)
            after = match.end() if match is not None else end
            if match is None or (after < end and buffer[after] == 0x22):
                # No closing quote, or only the first quote of a doubled one (""): never closed.
                if self._eof and end == limit:
                    problem = "a quoted field is still open at the end of the input"
                else:
                    problem = (
                        f"the row is longer than {self._max_row_bytes:,} bytes: a quoted field is not "
                        "closed within them (a stray quote, or a cell longer than the limit)"
                    )
                position = stop
                break
            if after >= end:
                break
            if buffer[after] in (0x0A, 0x0D):
                break  # a complete row: malformed only for being too long
            if buffer[after] != delimiter[0]:
                problem, position = "text after the closing quote of a quoted field", after
                break
            column += 1
            position = after + 1
        line = self._line + _line_breaks(buffer, start, min(position, end))
        return MalformedRow(self._row, line, column, problem)
