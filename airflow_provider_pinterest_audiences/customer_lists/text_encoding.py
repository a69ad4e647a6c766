"""Text encodings of CSV sources: byte-order marks, and a byte stream the row splitter can cut safely.

The row splitter (``csv_rows``) looks for ``"``, the delimiter and line breaks as single ASCII bytes. That
is only right for an encoding in which those bytes never occur inside another character: UTF-8 and the
single-byte codes (latin-1, cp1252, ...). Any other encoding (UTF-16, UTF-32, Shift-JIS, GBK...) is
decoded and re-encoded as UTF-8 on the fly, in bounded pieces, before splitting.

Byte-order marks, in the first bytes of the source:

- UTF-8 (``EF BB BF``): dropped, whatever ``encoding`` says.
- UTF-32 (``FF FE 00 00``, ``00 00 FE FF``) and UTF-16 (``FF FE``, ``FE FF``): the source is read in that
  encoding when ``encoding`` is UTF-8 (the default, which these bytes cannot be) or the same UTF-16/32
  family; with any other ``encoding`` (latin-1...) the source is refused with a message naming the encoding
  found and the ``encoding=`` to set.

Without a mark, a source that reads as UTF-16/32 (NUL bytes between mostly-ASCII characters) under an
ASCII-compatible ``encoding`` is refused the same way, naming the byte order found.

Bytes that are not text in the encoding are kept as undecodable (the row's value counts as
``undecodable``), never replaced by a look-alike character.
"""

from __future__ import annotations

import codecs
from functools import lru_cache
from typing import Protocol

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError


class ByteStream(Protocol):
    """What the readers need of a source: ``read(size)``, empty at the end."""

    def read(self, size: int, /) -> bytes: ...


_UNDECODABLE_ERRORS = "pinterest_audiences_undecodable"
_BYTE_ORDER_MARKS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BOM_NAMES = {
    "utf-32-le": "UTF-32 (little-endian)",
    "utf-32-be": "UTF-32 (big-endian)",
    "utf-8": "UTF-8",
    "utf-16-le": "UTF-16 (little-endian)",
    "utf-16-be": "UTF-16 (big-endian)",
}


def _undecodable(error: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: a lone surrogate, which UTF-8 cannot encode, so the value stays undecodable."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "\udc80", error.end


codecs.register_error(_UNDECODABLE_ERRORS, _undecodable)


def codec_name(encoding: str) -> str:
    """Python's canonical name of ``encoding`` (``"latin-1"`` -> ``"iso8859-1"``); a clear error when it is
    not a known text encoding."""
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise PinterestInvalidArgumentError(
            "encoding", f"{encoding!r} is not a known text encoding"
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise PinterestInvalidArgumentError(
            "encoding", f"{encoding!r} is not a text encoding (use utf-8, latin-1, utf-16...)"
        )
    return info.name


@lru_cache(maxsize=32)
def ascii_transparent(name: str) -> bool:
    """Whether every byte below 0x80 of text in codec ``name`` is that ASCII character and nothing else.

    True for UTF-8 and for single-byte codes whose lower half is ASCII; False for codes with multi-byte
    characters or shift states (a second byte may look like ``"`` or ``,``), which are transcoded.
    """
    if name in ("utf-8", "utf-8-sig"):
        return True
    decoder_class = codecs.getincrementaldecoder(name)
    for byte in range(256):
        try:
            text = decoder_class("strict").decode(bytes([byte]))
        except UnicodeDecodeError:
            continue  # not a character on its own: fine for a single-byte code
        if len(text) != 1 or (byte < 0x80 and text != chr(byte)):
            return False  # buffered (a lead byte, a shift) or not ASCII
    return True


class Utf8Transcoder:
    """A binary stream in another encoding, read as UTF-8 in pieces of about the size asked for."""

    def __init__(self, stream: ByteStream, codec: str, head: bytes = b"") -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(codec)(_UNDECODABLE_ERRORS)
        self._head = head
        self._done = False

    def read(self, size: int) -> bytes:
        while not self._done:
            data, self._head = self._head + self._stream.read(size), b""
            text = self._decoder.decode(data, final=not data)
            self._done = not data
            if text:
                # A lone surrogate (undecodable input) becomes bytes that are not UTF-8: undecodable again.
                return text.encode("utf-8", "surrogatepass")
        return b""


class _Prefixed:
    """A binary stream with some bytes already read put back in front."""

    def __init__(self, stream: ByteStream, head: bytes) -> None:
        self._stream = stream
        self._head = head

    def read(self, size: int) -> bytes:
        if self._head:
            head, self._head = self._head[:size], self._head[size:]
            return head
        return self._stream.read(size)


def _read_head(stream: ByteStream, size: int) -> bytes:
    head = b""
    while len(head) < size and (data := stream.read(size - len(head))):
        head += data
    return head


_SNIFF_BYTES = 4096
_WIDE_LAYOUTS = (  # codec, code unit width, the bytes of each unit that are NUL for ASCII text
    ("utf-32-le", 4, (1, 2, 3)),
    ("utf-32-be", 4, (0, 1, 2)),
    ("utf-16-le", 2, (1,)),
    ("utf-16-be", 2, (0,)),
)


def _unmarked_wide_encoding(sample: bytes) -> str | None:
    """The UTF-16/32 codec ``sample`` is written in, without a byte-order mark: mostly-ASCII text then
    has NUL in the same bytes of (nearly) every code unit and nowhere else. None when it does not look so."""
    for codec, width, zero_lanes in _WIDE_LAYOUTS:
        usable = len(sample) // width * width
        if usable < 8 * width:
            continue
        lanes = [sample[lane:usable:width] for lane in range(width)]
        if all(b"\x00" not in lanes[lane] for lane in range(width) if lane not in zero_lanes) and all(
            lanes[lane].count(0) >= 0.9 * len(lanes[lane]) for lane in zero_lanes
        ):
            return codec
    return None


def _family(name: str) -> str:
    return name[:6] if name.startswith(("utf-16", "utf-32")) else name


def ascii_compatible_stream(stream: ByteStream, encoding: str) -> tuple[ByteStream, str]:
    """``stream`` as bytes the row splitter can cut, and the encoding to decode those bytes with.

    Drops a byte-order mark; follows a UTF-16/32 mark (see the module) or refuses a mark that contradicts
    ``encoding``; transcodes to UTF-8 what is not ASCII-transparent.
    """
    name = codec_name(encoding)
    head = _read_head(stream, 4)
    # A declared UTF-16 or UTF-32 looks for its own marks only: "FF FE 00 00" is then UTF-16 and a NUL.
    marks: tuple[tuple[bytes, str], ...] = _BYTE_ORDER_MARKS
    if _family(name) in ("utf-16", "utf-32"):
        marks = tuple((bom, codec) for bom, codec in marks if _family(codec) in (_family(name), "utf-8"))
    found = next((codec for bom, codec in marks if head.startswith(bom)), None)
    if found is not None:
        bom_size = next(len(bom) for bom, codec in _BYTE_ORDER_MARKS if codec == found)
        head = head[bom_size:]
        declared_utf8 = name in ("utf-8", "utf-8-sig")
        if found != "utf-8":
            same_family = _family(found) == _family(name) and name in (_family(name), found)
            if not (declared_utf8 or same_family):
                raise PinterestInvalidArgumentError(
                    "encoding",
                    f"the source starts with a {_BOM_NAMES[found]} byte-order mark, but encoding is "
                    f"{encoding!r}: set encoding={_family(found)!r}",
                )
            return Utf8Transcoder(stream, found, head), "utf-8"
        if _family(name) in ("utf-16", "utf-32"):
            raise PinterestInvalidArgumentError(
                "encoding",
                f"the source starts with a UTF-8 byte-order mark, but encoding is {encoding!r}: "
                "set encoding='utf-8'",
            )
    elif name in ("utf-16", "utf-32"):
        raise PinterestInvalidArgumentError(
            "encoding",
            f"encoding is {encoding!r}, but the source does not start with a byte-order mark saying which "
            f"byte order: set encoding='{name}-le' or '{name}-be'",
        )
    if name == "utf-8-sig":
        name = "utf-8"
    if ascii_transparent(name):
        if found is None:
            head += _read_head(stream, _SNIFF_BYTES - len(head))
            unmarked = _unmarked_wide_encoding(head)
            if unmarked is not None:
                raise PinterestInvalidArgumentError(
                    "encoding",
                    f"the source looks like {_BOM_NAMES[unmarked]} without a byte-order mark (NUL bytes "
                    f"between its characters), but encoding is {encoding!r}: set encoding={unmarked!r}",
                )
        return _Prefixed(stream, head), name
    return Utf8Transcoder(stream, name, head), "utf-8"
