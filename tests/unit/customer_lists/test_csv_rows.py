"""The strict CSV row splitter: what is malformed, where it is reported, how reading resynchronises, and that
time and memory stay linear and bounded on any input."""

from __future__ import annotations

import io
import logging
import time

import pytest

from airflow_provider_pinterest_audiences.customer_lists.csv_rows import CsvRowSplitter, RowBlock
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError


def split(
    data: bytes,
    malformed_rows: str = "invalid",
    *,
    block_bytes: int = 1 << 18,
    max_row_bytes: int = 1 << 20,
    delimiter: str = ",",
    header: bool = False,
) -> tuple[bytes | None, list[RowBlock]]:
    splitter = CsvRowSplitter(
        io.BytesIO(data),
        delimiter,
        block_bytes=block_bytes,
        malformed_rows=malformed_rows,
        max_row_bytes=max_row_bytes,
    )
    first = splitter.header() if header else None
    return first, list(splitter.blocks())


def kept(blocks: list[RowBlock]) -> tuple[bytes, int]:
    return b"".join(block.data for block in blocks), sum(block.malformed for block in blocks)


def error(data: bytes, **kwargs: object) -> str:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        split(data, "fail", **kwargs)  # type: ignore[arg-type]
    assert raised.value.argument == "source"
    return str(raised.value)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'a,b\nO"Brien,x\n', "row 2, column 1: a quote inside an unquoted field"),
        (b'a,b,c"\n', "row 1, column 3: a quote inside an unquoted field"),
        (b'a,"b"c\n', "row 1, column 2: text after the closing quote of a quoted field"),
        (b'a,"b" \n', "row 1, column 2: text after the closing quote of a quoted field"),
        (b'a\n\n"x\ny"z\n', "row 3 (line 4), column 1: text after the closing quote"),  # line of the text
        (
            b'a,"multi\nline"\nb,"never\nclosed\n',
            "row 2 (line 3), column 2: a quoted field is still open at the end",
        ),
        (b'a,"never closed ""', "row 1, column 2: a quoted field is still open at the end of the input"),
        (b'a;b;c\r\nd;e"\r\n', "row 2, column 2: a quote inside an unquoted field"),
    ],
)
def test_the_error_names_row_line_and_column(data: bytes, where: str) -> None:
    delimiter = ";" if b";" in data else ","
    assert f"malformed CSV at {where}" in error(data, delimiter=delimiter)


def test_legal_quoting_is_read_as_written() -> None:
    data = b'"a ""quoted"" word","with, comma","line\r\nbreak",""\r\n"",x,"",\n\n"\n"\r'
    assert kept(split(data, "fail")[1]) == (data, 0)


@pytest.mark.parametrize("block_bytes", [1, 2, 5, 64, 1 << 18])
def test_a_malformed_row_ends_at_the_first_line_break_after_its_start(block_bytes: int) -> None:
    data = (
        b"r1@x.com,ok\n"
        b'r2@x.com,"opens\n'  # malformed: the field closes on the next line and text follows the quote
        b'r3@x.com,"and"closes\n'  # malformed too: text after a closing quote
        b"r4@x.com,ok\r\n"
        b'r5@x.com,O"Brien\r'  # malformed, ended by a lone CR
        b"r6@x.com,ok\n"
        b'r7@x.com,"never closed\n'
        b"r8@x.com,ok\n"
    )
    assert kept(split(data, block_bytes=block_bytes)[1]) == (
        b"r1@x.com,ok\nr4@x.com,ok\r\nr6@x.com,ok\nr8@x.com,ok\n",
        4,
    )


def test_crlf_split_across_reads_is_one_line_break() -> None:
    data = b"a\r\nb\r\n\r\nc\rd\n"
    for block_bytes in (1, 2, 3):
        assert kept(split(data, block_bytes=block_bytes)[1]) == (data, 0)
    assert "row 6, column 1" in error(data + b'x"\n', block_bytes=1)  # blank rows count, CRLF is one break


def test_the_last_row_needs_no_line_break() -> None:
    assert kept(split(b"a\nb")[1]) == (b"a\nb\n", 0)
    assert kept(split(b'a\n"b,c"')[1]) == (b'a\n"b,c"\n', 0)
    assert kept(split(b'a\n"b')[1]) == (b"a\n", 1)


def test_the_header_is_the_first_row_and_always_strict() -> None:
    assert split(b'"e,mail",x\r\na@x.com,1\n', header=True)[0] == b'"e,mail",x\r\n'
    assert split(b"\na@x.com\n", header=True)[0] == b"\n"
    assert split(b"", header=True) == (None, [])
    with pytest.raises(PinterestInvalidArgumentError, match="malformed CSV header at row 1, column 2"):
        split(b'email,na"me\na@x.com,x\n', "invalid", header=True)


def test_rows_longer_than_the_limit_are_malformed_whether_they_end_or_not() -> None:
    long_line = b"x" * 100 + b"\n"
    long_quoted = b'a,"' + b"y\n" * 60 + b'"\n'
    data = b"a\n" + long_line + b"b\n" + long_quoted + b"c\n" + b"z" * 500
    for block_bytes in (1, 7, 1 << 18):
        _, blocks = split(data, block_bytes=block_bytes, max_row_bytes=64)
        # Malformed: the long line, the quoted row's first line, the lone quote that then opens a field
        # never closed, the unfinished last row. Its other lines are rows of their own.
        assert kept(blocks) == (b"a\nb\n" + b"y\n" * 59 + b"c\n", 4)
    assert "row 2, column 1: the row is longer than 64 bytes" in error(data, max_row_bytes=64)
    message = error(b'a,"' + b"y\n" * 60, max_row_bytes=64, block_bytes=8)
    assert "row 1, column 2: the row is longer than 64 bytes: a quoted field is not closed within" in message


def test_the_first_malformed_rows_are_logged_with_their_place_then_a_total(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = b"".join(b'secret%d,O"Brien\nok%d,x\n' % (i, i) for i in range(10))
    with caplog.at_level(logging.WARNING):
        _, blocks = split(data)
    assert kept(blocks)[1] == 10
    placed = [record.getMessage() for record in caplog.records if "counted as invalid" in record.getMessage()]
    assert placed[:3] == [
        f"Malformed CSV at row {row}, column 2: a quote inside an unquoted field: counted as invalid "
        "(malformed_csv_row)"
        for row in (1, 3, 5)
    ]
    assert "10 malformed CSV rows in all" in caplog.text
    assert "secret" not in caplog.text and "Brien" not in caplog.text


def test_bulk_and_row_by_row_handling_of_malformed_rows_agree() -> None:
    rows = [b'%d,"a""b",ok\n' % i if i % 3 else b'%d,a"b,bad\n' % i for i in range(3000)]
    data = b"".join(rows)
    good = b"".join(row for i, row in enumerate(rows) if i % 3)
    for block_bytes in (1, 97, 1 << 18):
        assert kept(split(data, block_bytes=block_bytes)[1]) == (good, 1000)


def quoted_breaks(blocks: list[RowBlock]) -> int:
    return sum(block.quoted_line_breaks for block in blocks)


@pytest.mark.parametrize("block_bytes", [1, 3, 64, 1 << 18])
def test_quoted_line_breaks_are_counted_whatever_the_line_breaks_and_reads(block_bytes: int) -> None:
    data = (
        b'"a\nb",x\r\n'  # one
        b'"one ""quoted"" line",y\n'  # quotes, one line
        b'x,"c""\rd","e\r\nf"\r'  # two multi-line cells (CR, CRLF): two; ends in a lone CR
        b"plain,row\n"
        b'"",""\n'
        b'",a@x.com\nJoe,b@y.com\n",c@z.com\n'  # two lone quotes: three lines make one row, two
    )
    assert quoted_breaks(split(data, "fail", block_bytes=block_bytes)[1]) == 5


def test_line_breaks_in_the_header_are_not_counted() -> None:
    header, blocks = split(b'"e\nmail",name\na@x.com,x\n', "fail", header=True)
    assert header == b'"e\nmail",name\n'
    assert quoted_breaks(blocks) == 0
    assert quoted_breaks(split(b'"e\nmail",name\na@x.com,x\n', "fail")[1]) == 1


def test_quoted_line_breaks_among_many_malformed_rows_are_counted_too() -> None:
    # Past the first few malformed rows, rows and malformed rows are taken in bulk.
    rows = [b'%d,"a\nb"\n' % i if i % 2 else b'%d,a"b\n' % i for i in range(200)]
    for block_bytes in (1, 97, 1 << 18):
        blocks = split(b"".join(rows), block_bytes=block_bytes)[1]
        assert (quoted_breaks(blocks), sum(block.malformed for block in blocks)) == (100, 100)


def test_a_file_without_multi_line_cells_has_no_quoted_line_breaks() -> None:
    assert quoted_breaks(split(b'a,"b, c"\r\nd,""\n"e",f', "fail")[1]) == 0


# --- time and memory ---------------------------------------------------------------------------------------

ADVERSARIAL = {
    "stray quote in every row": lambda i: b'O"Brien %d,customer.%d@example.com\n' % (i, i),
    "an unclosed quote, then clean rows": lambda i: (
        b'"never closed\n' if i == 1 else b"Jane,c.%d@x.com\n" % i
    ),
    "lone quotes pairing rows": lambda i: b'",customer.%d@example.com\n' % i,
    "dense legal quoting": lambda i: b'"""""""""",c.%d@x.com,"a""b"",""c",""\n' % i,
    "text after closing quotes": lambda i: b'"Jane" Doe,"c.%d@x.com"x\n' % i,
    "one row of commas": lambda i: b"," * 40,
    "doubled quotes, never closed": lambda i: b'"' if i == 0 else b'""""\n',
}


@pytest.mark.parametrize("shape", list(ADVERSARIAL))
def test_adversarial_input_is_read_in_linear_time_and_bounded_memory(shape: str) -> None:
    row = ADVERSARIAL[shape]
    data = b"".join(row(i) for i in range(100_000))
    data = data * max(1, 2_000_000 // len(data))
    for mode in ("invalid", "fail"):
        started = time.process_time()
        splitter = CsvRowSplitter(io.BytesIO(data), ",", block_bytes=1 << 16, malformed_rows=mode)
        largest = 0
        try:
            for block in splitter.blocks():
                largest = max(largest, len(block.data))
        except PinterestInvalidArgumentError:
            assert mode == "fail"
        # The reader this replaced took 20 s for 1 MB with one stray quote, and held it as one block.
        assert time.process_time() - started < 10, f"{len(data):,} bytes"
        assert largest <= (1 << 16) + 2 * (1 << 20)


def test_a_row_ending_in_cr_then_a_quoted_row_ending_in_lf_are_two_rows() -> None:
    # Found by the property tests: counting rows on the text outside quotes once glued this "\r" and
    # "\n" into one "\r\n".
    data = b',"""\r",\r""""\n,x,""x\n'
    for block_bytes in (1, 3, 1 << 18):
        assert "row 3 (line 4), column 3: text after the closing quote" in error(
            data, block_bytes=block_bytes
        )
