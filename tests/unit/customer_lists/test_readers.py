"""Readers: CSV files (strict quoting, encodings, header rows, sources), iterables and SQL, each hashed
through ``hash_chunk`` (no network, no Airflow DB)."""

from __future__ import annotations

import codecs
import hashlib
import logging
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.readers import (
    check_csv_format,
    read_csv,
    read_csv_columns,
    read_iterable,
    read_sql,
)
from airflow_provider_pinterest_audiences.customer_lists.records import (
    IdentifierType,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from tests.object_storage import attach_memory_store
from tests.unit.customer_lists.test_records import hash_all, sha

EMAIL = IdentifierType.EMAIL


# --- CSV reader -------------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "input.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_without_header_reads_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, "a@x.com\n\nB@Y.com\r\n  \n")
    digests, counts = hash_all(read_csv(path))
    assert digests == [sha("a@x.com"), sha("b@y.com")]
    assert (counts.read, counts.valid, dict(counts.invalid)) == (3, 2, {"missing": 1})


def test_csv_header_column_by_name_any_delimiter_and_quotes(tmp_path: Path) -> None:
    text = '\ufeffid;"E-mail";note\n1;"Quoted@X.com";"multi\nline; note"\n2;b@y.com;x\n3\n'
    digests, counts = hash_all(
        read_csv(write(tmp_path, text), column="e-mail", has_header=True, delimiter=";")
    )
    assert digests == [sha("quoted@x.com"), sha("b@y.com")]
    assert (counts.read, dict(counts.invalid)) == (3, {"missing": 1})


def test_csv_column_by_index_and_latin1(tmp_path: Path) -> None:
    path = write(tmp_path, "x|José@Exämple.com\ny|b@y.com\n", encoding="latin-1")
    digests, _ = hash_all(read_csv(path, column=1, delimiter="|", encoding="latin-1"))
    assert digests == [sha("josé@exämple.com"), sha("b@y.com")]


def test_csv_blocks_always_end_on_row_boundaries(tmp_path: Path) -> None:
    rows = [f'"user{i}@example.com","note, with\nbreak {i}"' for i in range(500)]
    path = write(tmp_path, "\n".join(rows))
    blocks = list(read_csv(path, block_bytes=97))
    assert len(blocks) > 10
    digests, counts = hash_all(iter(blocks))
    assert digests == [sha(f"user{i}@example.com") for i in range(500)]
    assert counts.read == 500


def test_csv_column_missing_from_header_fails_without_echoing_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, "secret.person@example.com,x\n")
    with pytest.raises(PinterestInvalidArgumentError, match=r"'column'.*not in the header") as raised:
        list(read_csv(path, column="email", has_header=True))
    assert "secret.person" not in str(raised.value)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"column": "email"}, "column"),
        ({"column": 5, "has_header": True}, "column"),
        ({"column": -1}, "column"),
        ({"delimiter": ",,"}, "delimiter"),
        ({"delimiter": "a"}, "delimiter"),
        ({"encoding": "utf-16"}, "encoding"),
        ({"encoding": "no-such-codec"}, "encoding"),
    ],
)
def test_csv_bad_arguments_name_the_argument(tmp_path: Path, kwargs: dict[str, Any], argument: str) -> None:
    path = write(tmp_path, "email,b\nx@y.com,1\n")
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        list(read_csv(path, **kwargs))
    assert raised.value.argument == argument


def test_missing_file_is_a_clear_source_error(tmp_path: Path) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="'source': no file at"):
        list(read_csv(tmp_path / "absent.csv"))
    with pytest.raises(PinterestInvalidArgumentError, match="'source': no file at"):
        list(read_csv(f"file://{tmp_path}/absent.csv"))


def test_object_storage_uris_and_memory_filesystem(tmp_path: Path) -> None:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    write(tmp_path, "email\na@x.com\n")
    assert hash_all(read_csv(f"file://{tmp_path}/input.csv", has_header=True))[0] == [sha("a@x.com")]
    attach_memory_store()
    path = ObjectStoragePath("memory://bucket/customers.csv")
    path.write_bytes(b"b@y.com\n")
    assert hash_all(read_csv(path))[0] == [sha("b@y.com")]


# --- strict quoting -----------------------------------------------------------------------------------


def test_a_stray_quote_fails_naming_row_and_column_never_the_content(tmp_path: Path) -> None:
    path = write(tmp_path, 'name,email\nJane,jane@x.com\nMc"Donald,secret.person@x.com\nJoe,joe@x.com\n')
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        hash_all(read_csv(path, column=1, has_header=True))
    message = str(raised.value)
    assert raised.value.argument == "source"
    assert "row 3, column 1: a quote inside an unquoted field" in message
    assert 'on_malformed_row="invalid"' in message
    assert "Donald" not in message and "secret" not in message


def test_malformed_rows_invalid_counts_them_and_reads_every_other_row(tmp_path: Path) -> None:
    rows = [
        "name,email",
        "Jane,jane@x.com",
        'O"Brien,obrien@x.com',  # a quote inside an unquoted field
        '"Jane" Doe,doe@x.com',  # text after a closing quote
        'Joe,joe@x.com,"an unclosed note',  # an opening quote that never closes
        "Ann,ann@x.com",
        '"Lee, ""Jr""",lee@x.com',  # legal: quoted delimiter, doubled quotes
    ]
    path = write(tmp_path, "\n".join(rows) + "\n")
    digests, counts = hash_all(read_csv(path, column=1, has_header=True, malformed_rows="invalid"))
    assert digests == [sha("jane@x.com"), sha("ann@x.com"), sha("lee@x.com")]
    assert (counts.read, counts.valid, dict(counts.invalid)) == (6, 3, {"malformed_csv_row": 3})


def test_an_unclosed_quote_swallows_no_rows_in_either_mode(tmp_path: Path) -> None:
    rows = ['a@x.com,"never closed'] + [f"user{i}@x.com,ok" for i in range(1000)]
    path = write(tmp_path, "\n".join(rows) + "\n")
    with pytest.raises(PinterestInvalidArgumentError, match="row 1, column 2: a quoted field is still open"):
        hash_all(read_csv(path, block_bytes=512))
    digests, counts = hash_all(read_csv(path, block_bytes=512, malformed_rows="invalid"))
    assert digests == [sha(f"user{i}@x.com") for i in range(1000)]
    assert dict(counts.invalid) == {"malformed_csv_row": 1}


def test_quoted_line_breaks_stay_legal_and_are_counted_multi_line_in_the_identifier(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, 'a@x.com,"note\nover lines"\n"b@y.com\nc@z.com",x\r\nd@w.com,y\n')
    with caplog.at_level(logging.WARNING):
        digests, counts = hash_all(read_csv(path))
    assert digests == [sha("a@x.com"), sha("d@w.com")]
    assert (counts.read, dict(counts.invalid), counts.quoted_line_breaks) == (3, {"multi_line": 1}, 2)
    assert "2 line breaks inside quoted fields" in caplog.text and "the first in row 1" in caplog.text


def test_two_lone_quotes_make_legal_csv_that_is_reported_not_silent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Strict CSV reads these two lines as one row whose second cell spans them: nothing to refuse, but the
    # merge is logged with the row where it starts.
    path = write(tmp_path, 'a@x.com,"\nb@y.com,"\nc@z.com,x\n')
    with caplog.at_level(logging.WARNING):
        digests, counts = hash_all(read_csv(path))
    assert (digests, counts.read, counts.quoted_line_breaks) == ([sha("a@x.com"), sha("c@z.com")], 2, 1)
    assert "stray quotes have merged rows" in caplog.text and "the first in row 1" in caplog.text
    assert "upload_summary: quoted_line_breaks" in caplog.text
    assert "b@y.com" not in caplog.text


@pytest.mark.parametrize("mode", ["fail", "invalid"])
def test_lone_quotes_in_a_name_column_are_counted_as_quoted_line_breaks(tmp_path: Path, mode: str) -> None:
    # Legal CSV: the name of row 2 runs from its quote to the one on line 4. Two customers are read instead
    # of four, and the count says two lines did not start a row of their own.
    path = write(tmp_path, 'name,email\n",a@x.com\nJoe,b@y.com\n",c@z.com\nAnn,d@w.com\n')
    digests, counts = hash_all(read_csv(path, column="email", has_header=True, malformed_rows=mode))
    assert digests == [sha("c@z.com"), sha("d@w.com")]
    assert (counts.read, counts.quoted_line_breaks) == (2, 2)


def test_every_column_of_a_file_counts_its_quoted_line_breaks(tmp_path: Path) -> None:
    path = write(tmp_path, 'email,note\na@x.com,"two\nlines"\nb@y.com,one\n')
    for block in read_csv_columns(path, columns=["email", "note"], has_header=True):
        assert [column.quoted_line_breaks for column in block] == [1, 1]
    assert hash_all(read_csv(path, column="email", has_header=True))[1].quoted_line_breaks == 1
    assert hash_all(read_csv(write(tmp_path, "a@x.com\nb@y.com\n", "clean.csv")))[1].quoted_line_breaks == 0


def test_row_numbers_hold_across_blocks_quoted_line_breaks_blank_rows_and_the_header(tmp_path: Path) -> None:
    rows = ["email,note", *[f'user{i}@x.com,"line one\nline two"' for i in range(300)], "", 'x@y.com,oops"']
    path = write(tmp_path, "\r\n".join(rows) + "\r\n")
    for block_bytes in (7, 100, 1 << 18):
        with pytest.raises(PinterestInvalidArgumentError, match=r"row 303 \(line 603\), column 2: a quote"):
            hash_all(read_csv(path, has_header=True, block_bytes=block_bytes))


def test_a_malformed_header_row_fails_in_either_mode(tmp_path: Path) -> None:
    path = write(tmp_path, 'e"mail,name\na@x.com,Jane\n')
    for mode in ("fail", "invalid"):
        with pytest.raises(PinterestInvalidArgumentError, match="malformed CSV header at row 1, column 1"):
            hash_all(read_csv(path, has_header=True, malformed_rows=mode))
    assert hash_all(read_csv(path, has_header=False, malformed_rows="invalid"))[1].read == 2


def test_malformed_rows_argument_is_checked(tmp_path: Path) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="'malformed_rows': 'skip' is not one of"):
        list(read_csv(write(tmp_path, "a@x.com\n"), malformed_rows="skip"))


def test_a_row_longer_than_the_limit_is_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, "a@x.com\n" + "x" * 5000 + "@y.com\nb@y.com\n")
    with pytest.raises(
        PinterestInvalidArgumentError, match="row 2, column 1: the row is longer than 1,000 bytes"
    ):
        hash_all(read_csv(path, max_row_bytes=1000, block_bytes=64))
    digests, counts = hash_all(read_csv(path, max_row_bytes=1000, block_bytes=64, malformed_rows="invalid"))
    assert (digests, dict(counts.invalid)) == ([sha("a@x.com"), sha("b@y.com")], {"malformed_csv_row": 1})


# --- header rows ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first_row",
    ["first.customer@x.com", "6D92078A-8246-4BA4-AE5B-76104861E7DC", hashlib.sha256(b"x").hexdigest()],
)
def test_a_header_row_that_is_an_identifier_is_warned_about_without_its_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, first_row: str
) -> None:
    path = write(tmp_path, f"{first_row},1\nsecond@x.com,2\n")
    with caplog.at_level(logging.WARNING):
        digests, _ = hash_all(read_csv(path, has_header=True))
    assert digests == [sha("second@x.com")]
    assert "has_header=True, but the header row's cell in column 1 is itself a valid" in caplog.text
    assert first_row not in caplog.text


def test_a_real_header_row_is_not_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, "Email,n\na@x.com,1\n")
    with caplog.at_level(logging.WARNING):
        assert hash_all(read_csv(path, has_header=True))[0] == [sha("a@x.com")]
    assert "has_header" not in caplog.text


# --- encodings -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_utf16_and_utf32_files_with_a_byte_order_mark_are_read_whatever_the_default_encoding(
    tmp_path: Path, codec: str
) -> None:
    emails = [f"User{i}@Exämple.com" for i in range(200)]
    text = "email,name\n" + "".join(f'{email},"Ünïcode, {i}"\n' for i, email in enumerate(emails))
    bom = {"utf-16-be": codecs.BOM_UTF16_BE, "utf-32-be": codecs.BOM_UTF32_BE}.get(codec, b"")
    path = tmp_path / "input.csv"
    path.write_bytes(bom + text.encode(codec))
    digests, counts = hash_all(read_csv(path, column="email", has_header=True, block_bytes=333))
    assert digests == [sha(email.lower()) for email in emails]
    assert (counts.read, counts.valid) == (200, 200)


def test_a_byte_order_mark_that_contradicts_the_encoding_is_refused_naming_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes("a@x.com\n".encode("utf-16"))
    with pytest.raises(
        PinterestInvalidArgumentError,
        match=r"UTF-16 \(little-endian\) byte-order mark, but "
        r"encoding is 'latin-1': set encoding='utf-16'",
    ) as raised:
        list(read_csv(path, encoding="latin-1"))
    assert raised.value.argument == "encoding"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1", "cp1252"])
def test_a_utf8_byte_order_mark_is_dropped_whatever_the_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"email\na@x.com\n")
    assert hash_all(read_csv(path, column="email", has_header=True, encoding=encoding))[0] == [sha("a@x.com")]


def test_utf8_sig_reads_files_with_and_without_a_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path, "a@x.com\nb@y.com\n")
    assert hash_all(read_csv(path, encoding="utf-8-sig"))[0] == [sha("a@x.com"), sha("b@y.com")]


def test_multibyte_encodings_whose_bytes_look_like_ascii_are_transcoded(tmp_path: Path) -> None:
    # In Shift-JIS the second byte of "表" is 0x5C and of "ソ" 0x5C too: a byte splitter would misread them.
    text = "名前|email\n表ソ|a@x.com\n"
    digests, _ = hash_all(
        read_csv(
            write(tmp_path, text, encoding="shift_jis"),
            column=1,
            has_header=True,
            delimiter="|",
            encoding="shift_jis",
        )
    )
    assert digests == [sha("a@x.com")]


def test_nul_and_control_characters_make_identifiers_invalid(tmp_path: Path) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes(
        b'a\x00b@x.com\nc\x07d@x.com\n"e\x1bf@x.com"\ng@x.com\xc2\x85\nh\xc2\x85i@x.com\nok@x.com\n'
    )
    digests, counts = hash_all(read_csv(path))
    assert digests == [sha("g@x.com"), sha("ok@x.com")]  # U+0085 is whitespace at the end: stripped
    assert dict(counts.invalid) == {"control_character": 4}


def test_undecodable_bytes_are_counted_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes(b"a\xffb@x.com\nok@x.com\n")
    digests, counts = hash_all(read_csv(path))
    assert (digests, dict(counts.invalid)) == ([sha("ok@x.com")], {"undecodable": 1})


# --- sources and their messages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "alice@example.com,bob@example.com",
        "['alice@example.com', 'bob@example.com']",
        "alice@example.com\nbob@example.com",
        "ABCD1234EFGH",
    ],
)
def test_a_source_that_is_not_a_path_is_described_never_quoted(source: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        list(read_csv(source))
    message = str(raised.value)
    assert raised.value.argument == "source"
    assert f"text of {len(source)} characters" in message and "is not an existing file" in message
    assert "alice" not in message and "ABCD" not in message


def test_a_uri_that_is_not_a_path_is_described_never_quoted() -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        list(read_csv("alice@example.com nosuch://x"))
    assert "alice" not in str(raised.value)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"delimiter": "\x00"}, "delimiter"),
        ({"delimiter": '"'}, "delimiter"),
        ({"encoding": "base64"}, "encoding"),
    ],
)
def test_csv_format_is_checked(kwargs: dict[str, str], argument: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        check_csv_format(**{"delimiter": ",", "encoding": "utf-8", **kwargs})
    assert raised.value.argument == argument


# --- iterable and SQL readers -----------------------------------------------------------------------------


def test_iterable_of_strings_mappings_and_sequences() -> None:
    assert hash_all(read_iterable(["a@x.com", None], chunk_size=1))[0] == [sha("a@x.com")]
    rows = [{"email": "A@x.com"}, {"other": 1}]
    digests, counts = hash_all(read_iterable(rows, column="email"))
    assert (digests, dict(counts.invalid)) == ([sha("a@x.com")], {"missing": 1})
    assert hash_all(read_iterable([(1, "b@y.com"), (2,)], column=1))[0] == [sha("b@y.com")]
    ids = [12345, "67890"]
    assert hash_all(read_iterable(ids), IdentifierType.LR_ID)[0] == [sha("12345"), sha("67890")]


def test_iterable_mappings_need_a_key() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="'column'"):
        list(read_iterable([{"email": "a@x.com"}]))


class _TrackingCursor(sqlite3.Cursor):
    fetch_sizes: list[int] = []

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        self.fetch_sizes.append(size or 1)
        return super().fetchmany(size)

    def fetchall(self) -> list[Any]:
        raise AssertionError("fetchall must never be used")


class _TrackingConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _TrackingCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


def test_sql_rows_are_fetched_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.common.compat.sdk import BaseHook

    database = str(tmp_path / "crm.db")
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER, Email TEXT)")
        connection.executemany(
            "INSERT INTO customers VALUES (?, ?)",
            [(i, f"User{i}@Example.com") for i in range(25)] + [(99, None)],
        )
    hook = SimpleNamespace(get_conn=lambda: sqlite3.connect(database, factory=_TrackingConnection))
    monkeypatch.setattr(BaseHook, "get_hook", classmethod(lambda cls, conn_id, **kwargs: hook))
    monkeypatch.setattr(_TrackingCursor, "fetch_sizes", [])
    chunks = read_sql("SELECT id, Email FROM customers ORDER BY id", "crm", column="email", chunk_size=10)
    digests, counts = hash_all(chunks)
    assert digests == [sha(f"user{i}@example.com") for i in range(25)]
    assert (counts.read, dict(counts.invalid)) == (26, {"missing": 1})
    assert set(_TrackingCursor.fetch_sizes) == {10}
