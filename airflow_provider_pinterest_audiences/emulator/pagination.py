"""Bookmark pagination: ``page_size``, ``order`` and an opaque ``bookmark`` naming the last id served."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .errors import bad_request

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 250
_BOOKMARK_PREFIX = "after:"


@dataclass(frozen=True)
class PageRequest:
    """One page to serve: after which id, how many, in which order."""

    page_size: int = DEFAULT_PAGE_SIZE
    descending: bool = False
    after: int | None = None


def encode_bookmark(last_id: str) -> str:
    """An opaque cursor pointing after ``last_id``."""
    return base64.urlsafe_b64encode(f"{_BOOKMARK_PREFIX}{last_id}".encode()).decode()


def _decode_bookmark(bookmark: str) -> int:
    try:
        text = base64.urlsafe_b64decode(bookmark.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    value = text.removeprefix(_BOOKMARK_PREFIX)
    if not text.startswith(_BOOKMARK_PREFIX) or not value.isdigit():
        raise bad_request(f"bookmark {bookmark!r} is not a bookmark returned by this endpoint.")
    return int(value)


def parse_page(query: Mapping[str, str]) -> PageRequest:
    """Read ``page_size`` (1-250, default 25), ``order`` and ``bookmark`` from query parameters."""
    page_size = DEFAULT_PAGE_SIZE
    raw_size = query.get("page_size")
    if raw_size is not None:
        if not raw_size.strip().lstrip("-").isdigit():
            raise bad_request(f"page_size must be an integer, got {raw_size!r}.")
        page_size = int(raw_size)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise bad_request(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}.")
    order = query.get("order", "ASCENDING")
    if order not in ("ASCENDING", "DESCENDING"):
        raise bad_request(f"order must be ASCENDING or DESCENDING, got {order!r}.")
    bookmark = query.get("bookmark")
    after = _decode_bookmark(bookmark) if bookmark else None
    return PageRequest(page_size=page_size, descending=order == "DESCENDING", after=after)


def paginate(items: Sequence[T], page: PageRequest, key: Callable[[T], str]) -> tuple[list[T], str | None]:
    """The page of ``items`` (any order; sorted here by numeric id) and the next bookmark or None."""
    ordered = sorted(items, key=lambda item: int(key(item)), reverse=page.descending)
    if page.after is not None:
        after = page.after
        ordered = [
            item
            for item in ordered
            if (int(key(item)) < after if page.descending else int(key(item)) > after)
        ]
    chunk = ordered[: page.page_size]
    bookmark = encode_bookmark(key(chunk[-1])) if len(ordered) > page.page_size else None
    return chunk, bookmark
