"""Byte-order marks and encodings: what the row splitter is given, and the errors that name the fix."""

from __future__ import annotations

import codecs
import io

import pytest

from airflow_provider_pinterest_audiences.customer_lists.text_encoding import (
    ascii_compatible_stream,
    ascii_transparent,
    codec_name,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError


def read_all(data: bytes, encoding: str, size: int = 3) -> tuple[bytes, str]:
    stream, text_encoding = ascii_compatible_stream(io.BytesIO(data), encoding)
    out = b""
    while chunk := stream.read(size):
        out += chunk
    return out, text_encoding


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        (codecs.BOM_UTF8 + b"a,b\n", "utf-8", (b"a,b\n", "utf-8")),
        (codecs.BOM_UTF8 + b"a,b\n", "utf-8-sig", (b"a,b\n", "utf-8")),
        (codecs.BOM_UTF8 + b"\xe9,b\n", "latin-1", (b"\xe9,b\n", "iso8859-1")),
        (b"a,b\n", "utf-8-sig", (b"a,b\n", "utf-8")),
        ("é,ü\n".encode("utf-16"), "utf-8", ("é,ü\n".encode(), "utf-8")),
        (codecs.BOM_UTF16_BE + "é\n".encode("utf-16-be"), "utf-8", ("é\n".encode(), "utf-8")),
        ("é\n".encode("utf-32"), "utf-8", ("é\n".encode(), "utf-8")),
        (codecs.BOM_UTF32_BE + "é\n".encode("utf-32-be"), "utf-8", ("é\n".encode(), "utf-8")),
        ("é\n".encode("utf-16"), "utf-16", ("é\n".encode(), "utf-8")),
        ("é\n".encode("utf-16-le"), "utf-16-le", ("é\n".encode(), "utf-8")),
        # Declared UTF-16: "FF FE 00 00" is its mark and a NUL, not UTF-32's mark.
        ("\x00a\n".encode("utf-16"), "utf-16", (b"\x00a\n", "utf-8")),
        ("表,a\n".encode("shift_jis"), "shift_jis", ("表,a\n".encode(), "utf-8")),
        (b"", "utf-8", (b"", "utf-8")),
        (b"\xff", "utf-8", (b"\xff", "utf-8")),
    ],
)
def test_sources_become_ascii_compatible_bytes(
    data: bytes, encoding: str, expected: tuple[bytes, str]
) -> None:
    assert read_all(data, encoding) == expected
    assert read_all(data, encoding, size=1 << 16) == expected


@pytest.mark.parametrize(
    ("data", "encoding", "message"),
    [
        (
            "a\n".encode("utf-16"),
            "latin-1",
            "UTF-16 (little-endian) byte-order mark, but encoding is 'latin-1': set encoding='utf-16'",
        ),
        (
            "a\n".encode("utf-32"),
            "cp1252",
            "UTF-32 (little-endian) byte-order mark, but encoding is 'cp1252': set encoding='utf-32'",
        ),
        (codecs.BOM_UTF16_BE + "a\n".encode("utf-16-be"), "utf-16-le", "set encoding='utf-16'"),
        (
            codecs.BOM_UTF8 + b"a\n",
            "utf-16",
            "UTF-8 byte-order mark, but encoding is 'utf-16': set encoding='utf-8'",
        ),
        (
            "a\n".encode("utf-16-le"),
            "utf-16",
            "does not start with a byte-order mark saying which byte order: set "
            "encoding='utf-16-le' or 'utf-16-be'",
        ),
    ],
)
def test_contradictions_are_refused_naming_the_encoding_found_and_the_fix(
    data: bytes, encoding: str, message: str
) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        read_all(data, encoding)
    assert raised.value.argument == "encoding"
    assert message in str(raised.value)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_a_byte_order_mark_are_refused_naming_the_byte_order(codec: str) -> None:
    data = "".join(f"user{i}@exämple.com\n" for i in range(50)).encode(codec)
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        read_all(data, "utf-8")
    assert (
        f"without a byte-order mark (NUL bytes between its characters), but encoding is 'utf-8': set "
        f"encoding='{codec}'" in str(raised.value)
    )
    assert read_all(data, codec)[0] == data.decode(codec).encode()


def test_nul_bytes_in_a_utf8_file_are_not_taken_for_utf16() -> None:
    data = b"a\x00b@x.com\n" * 100
    assert read_all(data, "utf-8") == (data, "utf-8")


def test_undecodable_utf16_stays_undecodable_after_transcoding() -> None:
    data = codecs.BOM_UTF16_LE + "a".encode("utf-16-le") + b"\x00\xd8" + "b\n".encode("utf-16-le") + b"\x41"
    out, _ = read_all(data, "utf-8")
    assert out.startswith(b"a") and b"b\n" in out
    with pytest.raises(UnicodeDecodeError):
        out.decode("utf-8")  # a lone surrogate and a lone final byte: not text, so never a hash


@pytest.mark.parametrize(
    ("encoding", "transparent"),
    [
        ("utf-8", True),
        ("latin-1", True),
        ("cp1252", True),
        ("ascii", True),
        ("utf-16", False),
        ("shift_jis", False),
        ("gbk", False),
        ("utf-7", False),
        ("cp037", False),
    ],
)
def test_which_encodings_the_splitter_can_read_as_they_are(encoding: str, transparent: bool) -> None:
    assert ascii_transparent(codec_name(encoding)) is transparent


@pytest.mark.parametrize("encoding", ["no-such-codec", "base64", "rot13"])
def test_unknown_and_non_text_encodings_are_refused(encoding: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError) as raised:
        codec_name(encoding)
    assert raised.value.argument == "encoding"
