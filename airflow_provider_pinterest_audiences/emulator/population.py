"""The emulator's Pinterest users (the ``known_users`` setting) and every record that matches one of them.

An entry is ``TYPE:identifier`` in plain text: ``EMAIL:Ann@Example.com``, ``IDFA:6D92078A-...``,
``HASHED_PINNER_ID:1234`` (the Pinterest user id). The emulator normalises each entry as the provider's README
documents (emails and device ids trimmed and lower-cased, partner and pinner ids trimmed) and accepts the
record forms Pinterest's spec allows for its type: emails in plain text or as MD5, SHA-1 or SHA-256 hex;
MAIDs and IDFAs as MD5, SHA-1 or SHA-256 hex; LR_ID and DLX_ID as given or SHA-256 hex; a pinner id as its
SHA-256 hex. Hex is matched in lower case, as the provider sends it. A record in any other form (an IDFA
hashed upper-case, an email hashed before lower-casing) matches nobody, as it would match nobody on Pinterest.
"""

from __future__ import annotations

import functools
import hashlib

from .validation import LIST_TYPES

_DEVICE_TYPES = ("MAID", "IDFA")
_PARTNER_TYPES = ("LR_ID", "DLX_ID")


def parse_known_user(entry: str) -> tuple[str, str]:
    """``(list type, identifier)`` of one ``known_users`` entry; a ValueError naming the setting otherwise."""
    list_type, separator, identifier = entry.partition(":")
    if not separator or list_type not in LIST_TYPES or not identifier.strip():
        raise ValueError(
            f"known_users entries are TYPE:identifier with TYPE one of {', '.join(LIST_TYPES)}, got {entry!r}"
        )
    return list_type, identifier.strip()


def _hex_digests(text: str, algorithms: tuple[str, ...]) -> set[str]:
    data = text.encode("utf-8")
    return {hashlib.new(algorithm, data).hexdigest() for algorithm in algorithms}


def user_records(list_type: str, identifier: str) -> set[str]:
    """Every record that stands for the user known by ``identifier`` of ``list_type``."""
    if list_type == "EMAIL":
        email = identifier.lower()
        return {email} | _hex_digests(email, ("md5", "sha1", "sha256"))
    if list_type in _DEVICE_TYPES:
        return _hex_digests(identifier.lower(), ("md5", "sha1", "sha256"))
    if list_type in _PARTNER_TYPES:
        return {identifier} | _hex_digests(identifier, ("sha256",))
    return _hex_digests(identifier, ("sha256",))  # HASHED_PINNER_ID: the user id, hashed


@functools.lru_cache(maxsize=8)
def matching_records(known_users: tuple[str, ...]) -> frozenset[str]:
    """The records that match one of ``known_users`` (cached: the setting is an immutable tuple)."""
    records: set[str] = set()
    for entry in known_users:
        records |= user_records(*parse_known_user(entry))
    return frozenset(records)
