"""Customer-list batches sent with up to N requests in flight, each worker thread on its own hook.

A batch is one request's packed SHA-256 digests, read straight from a spool file; its comma-joined hex
``records`` string is built by the thread that sends it, once, just before the request (records sent as
given, ``hash_identifiers=False``, are rendered from their stored texts, ``record_texts``, as the batch is
read: one lookup per batch). The caller's thread reads batches and keeps at most ``max_in_flight`` of them
in flight plus the one waiting for a slot, so memory does not grow with the input. ``requests.Session`` is
not guaranteed thread-safe, so each worker thread lazily makes its own ``PinterestHook`` (same connection
id); all are closed at the end.

The first failed batch stops the reading of new batches; the batches already in flight are waited for (a
request cannot be taken back half-sent), then the original exception is raised again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, NamedTuple

from airflow_provider_pinterest_audiences.customer_lists.records import (
    DIGEST_SIZE,
    HEX_RECORD_SIZE,
    records_text,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError

if TYPE_CHECKING:
    from airflow_provider_pinterest_audiences.customer_lists.record_texts import RecordTexts
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook


DEFAULT_MAX_RECORDS_PER_REQUEST = 15_000
DEFAULT_MAX_REQUEST_BYTES = 1_000_000


def records_per_request(max_records_per_request: int, max_request_bytes: int) -> int:
    """How many digests one request carries under both limits; errors name the limit that is too small."""
    for argument, value, least in (
        ("max_records_per_request", max_records_per_request, 1),
        ("max_request_bytes", max_request_bytes, HEX_RECORD_SIZE - 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise PinterestInvalidArgumentError(
                argument, f"must be an integer of at least {least} (one record), got {value!r}"
            )
    return min(max_records_per_request, (max_request_bytes + 1) // HEX_RECORD_SIZE)


class Batch(NamedTuple):
    """One request: ``ADD`` or ``REMOVE``, its packed 32-byte digests and, for records sent as given, their
    rendered ``records`` (``given_records``)."""

    operation: str
    digests: bytes
    given_records: str | None = None

    @property
    def record_count(self) -> int:
        return len(self.digests) // DIGEST_SIZE

    @property
    def records(self) -> str:
        """The request's ``records``: the texts sent as given, else comma-joined lowercase hex digests
        (built on each access)."""
        if self.given_records is not None:
            return self.given_records
        return records_text(self.digests)


def read_batches(
    path: str, operation: str, records_per_batch: int, texts: RecordTexts | None = None
) -> Iterator[Batch]:
    """A spool file of packed digests as request-sized batches: one read per batch, no re-buffering.

    With ``texts`` (records sent as given), each batch carries its records rendered from their texts.
    """
    batch_bytes = records_per_batch * DIGEST_SIZE
    with open(path, "rb") as handle:
        while digests := handle.read(batch_bytes):  # a buffered read returns short only at the end
            if len(digests) % DIGEST_SIZE:
                raise ValueError(f"{path} is not a whole number of {DIGEST_SIZE}-byte digests")
            yield Batch(operation, digests, None if texts is None else texts.records(digests))


_ALLOCATOR_WARM_UP_BYTES = 8 << 20


def _keep_freed_request_buffers() -> None:
    """Stop glibc from handing each request's buffers back to the OS between requests.

    Each request makes a few ~1 MB strings (records, JSON body, encoded body) in its worker thread's malloc
    arena. Once they are freed the arena is empty again, and glibc trims it whenever more than its trim
    threshold (twice its dynamic mmap threshold, itself the size of the largest mmapped block freed so
    far: ~2 MB here) is free, so the next request page-faults all of it back: ~2 ms of system time per
    request, as much as the JSON encoding. Freeing one untouched 8 MB block (calloc'd by ``bytes``, so it
    is mmapped and never written) raises that threshold to 16 MB through glibc's own dynamic rule. Cost:
    one mmap and munmap; other allocators ignore it.
    """
    block = bytes(_ALLOCATOR_WARM_UP_BYTES)
    del block


class _HookPerThread:
    """One hook per worker thread, made on the thread's first batch; ``close`` closes them all."""

    def __init__(self, new_hook: Callable[[], PinterestHook]) -> None:
        self._new_hook = new_hook
        self._local = threading.local()
        self._lock = threading.Lock()
        self._hooks: list[PinterestHook] = []

    def get(self) -> PinterestHook:
        hook: PinterestHook | None = getattr(self._local, "hook", None)
        if hook is None:
            hook = self._new_hook()
            self._local.hook = hook
            with self._lock:
                self._hooks.append(hook)
        return hook

    def close(self) -> None:
        """Close every hook made; call once no thread uses them any more."""
        with self._lock:
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            hook.close()


def send_batches(
    batches: Iterable[Batch],
    send: Callable[[PinterestHook, Batch], object],
    *,
    main_hook: PinterestHook,
    new_hook: Callable[[], PinterestHook],
    max_in_flight: int,
    on_sent: Callable[[Batch], object],
    on_stopped: Callable[[int, int], object] | None = None,
) -> None:
    """``send(hook, batch)`` for every batch, up to ``max_in_flight`` at once; then ``on_sent(batch)``.

    ``on_sent`` runs on the calling thread, in completion order. With ``max_in_flight == 1`` every batch
    goes out on ``main_hook`` from the calling thread, one after the other (no worker thread, no new hook).
    On the first failure no further batch is read; once the batches in flight have finished,
    ``on_stopped(finished, failed)`` is told how many of them finished and how many of those failed too,
    and the first failure is raised again as it was.
    """
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
    if max_in_flight == 1:
        for batch in batches:
            send(main_hook, batch)
            on_sent(batch)
        return
    _keep_freed_request_buffers()
    hooks = _HookPerThread(new_hook)

    def send_on_own_hook(batch: Batch) -> None:
        send(hooks.get(), batch)

    in_flight: dict[Future[None], Batch] = {}
    first_failure: BaseException | None = None

    def settle(done: Iterable[Future[None]]) -> None:
        """Report the finished batches; remember the first failure among them."""
        nonlocal first_failure
        for future in done:
            batch = in_flight.pop(future)
            failure = future.exception()
            if failure is None:
                on_sent(batch)
            elif first_failure is None:
                first_failure = failure

    executor = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="pinterest-upload")
    try:
        for batch in batches:  # read one batch ahead, then wait for a free slot
            while len(in_flight) >= max_in_flight and first_failure is None:
                settle(wait(in_flight, return_when=FIRST_COMPLETED).done)
            if first_failure is not None:
                break
            in_flight[executor.submit(send_on_own_hook, batch)] = batch
        while in_flight and first_failure is None:
            settle(wait(in_flight, return_when=FIRST_COMPLETED).done)
    finally:
        # Normal end, a failed batch, or an error on this thread (reading, a task timeout): nothing new is
        # sent, and the requests already in flight finish before the hooks close.
        executor.shutdown(wait=True, cancel_futures=True)
        hooks.close()
    if first_failure is not None:
        finished = [future for future in in_flight if not future.cancelled()]
        failed = sum(1 for future in finished if future.exception() is not None)
        in_flight.clear()
        if on_stopped is not None:
            on_stopped(len(finished), failed)
        raise first_failure
