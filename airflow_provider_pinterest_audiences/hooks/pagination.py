"""Pinterest's bookmark pagination, walked safely: a repeated bookmark or too many pages is an error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_pinterest_audiences.exceptions import PinterestApiError

PAGE_SIZE = 250
#: Pages one listing may take (250,000 objects at :data:`PAGE_SIZE`); past that the API is looping.
MAX_PAGES = 1000


class Bookmarks:
    """The bookmarks of one listing: each :meth:`after` answers the next one or ``None`` at the end."""

    def __init__(self, operation: str, max_pages: int = MAX_PAGES) -> None:
        self.operation = operation
        self.max_pages = max_pages
        self.pages = 0
        self._seen: dict[str, int] = {}

    def after(self, page: Mapping[str, Any]) -> str | None:
        """The bookmark of the page after ``page``; raises when it repeats or the page cap is reached."""
        self.pages += 1
        bookmark = page.get("bookmark")
        if not bookmark:
            return None
        if not isinstance(bookmark, str):
            raise self._error(
                f"page {self.pages} has a bookmark of type {type(bookmark).__name__}, not a string"
            )
        if bookmark in self._seen:
            raise self._error(
                f"page {self.pages} returned the bookmark page {self._seen[bookmark]} already returned; "
                "stopping rather than reading the same pages forever"
            )
        if self.pages >= self.max_pages:
            raise self._error(f"still more after {self.pages} pages, the most one listing may take")
        self._seen[bookmark] = self.pages
        return bookmark

    def _error(self, problem: str) -> PinterestApiError:
        return PinterestApiError(self.operation, 200, None, f"pagination stopped: {problem}")
