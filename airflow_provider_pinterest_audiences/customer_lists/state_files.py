"""Files beside a mirror snapshot: created private (0600 locally), replaced whole, leftovers removed.

Every state file (snapshot, pending, lock) is written under a temporary sibling ``<name>.tmp-<hex>`` and
then moved into place. A run killed in between leaves that sibling behind; the next run of the same state,
holding its lease, removes the siblings of its own files and of no other.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable
from contextlib import suppress
from typing import IO, Any

TEMPORARY_MARK = ".tmp-"
_LOCAL_PROTOCOLS = ("", "file", "local")
_PRIVATE = 0o600


def is_local(path: Any) -> bool:
    """Whether ``path`` (an ObjectStoragePath) is on the local filesystem."""
    return path.protocol in _LOCAL_PROTOCOLS


def temporary_sibling(path: Any) -> Any:
    """A fresh temporary name beside ``path``."""
    return path.with_name(f"{path.name}{TEMPORARY_MARK}{uuid.uuid4().hex}")


def _local_with_parent(path: Any) -> str:
    """The local filesystem path of ``path``, its directory made."""
    os.makedirs(os.path.dirname(path.path) or os.curdir, exist_ok=True)
    return str(path.path)


def _create_local(path: str) -> IO[bytes]:
    """A new local file, readable by its owner only; fails if it exists."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE), "wb")


def open_new(path: Any) -> IO[bytes]:
    """Open a new file for writing (its parent made locally); 0600 on the local filesystem."""
    if is_local(path):
        return _create_local(_local_with_parent(path))
    handle: IO[bytes] = path.open("wb")
    return handle


def replace_with(path: Any, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling, so readers see the old or the new bytes."""
    temporary = temporary_sibling(path)
    try:
        with open_new(temporary) as out:
            out.write(data)
        temporary.rename(path)
    finally:
        if temporary.exists():
            temporary.unlink()


def create_exclusive(path: Any, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists; False when it does.

    Local: the bytes go to a private temporary sibling which is then hard-linked to ``path``, so the file
    appears whole or not at all and two creators cannot both win (``O_EXCL`` where links are refused).
    Object storage: ``open(mode="xb")``, atomic where the filesystem implements exclusive create; one that
    refuses the mode gets a check for the file, then a plain write (not atomic).
    """
    if not is_local(path):
        try:
            with path.open("xb") as out:
                out.write(data)
        except FileExistsError:
            return False
        except (NotImplementedError, ValueError):  # no exclusive mode on this filesystem
            if path.exists():
                return False
            with path.open("wb") as out:
                out.write(data)
        return True
    target = _local_with_parent(path)
    temporary = temporary_sibling(path).path
    with _create_local(temporary) as out:
        out.write(data)
    try:
        os.link(temporary, target)
    except FileExistsError:
        return False
    except FileNotFoundError:  # the lease holder removed it as a leftover: someone else holds the lease
        return False
    except OSError:  # a filesystem without hard links
        try:
            with _create_local(target) as out:
                out.write(data)
        except FileExistsError:
            return False
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
    return True


def remove_leftovers(paths: Iterable[Any], log: logging.Logger) -> int:
    """Delete the temporary siblings of ``paths`` (all in one directory) left by killed runs."""
    paths = list(paths)
    parent = paths[0].parent
    if not parent.exists():
        return 0
    prefixes = tuple(path.name + TEMPORARY_MARK for path in paths)
    removed = 0
    for child in parent.iterdir():
        if child.name.startswith(prefixes):
            child.unlink()
            removed += 1
    if removed:
        log.warning("Removed %d temporary files of killed runs beside %s", removed, paths[0])
    return removed
