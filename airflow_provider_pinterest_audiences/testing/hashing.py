"""``hash_identifiers``: raw customer identifiers in, the SHA-256 hex digests the provider uploads out."""

from __future__ import annotations

from collections.abc import Iterable


def hash_identifiers(
    values: Iterable[str], list_type: str = "EMAIL", device_id_case: str = "lower"
) -> list[str]:
    """Normalise and hash ``values`` by ``list_type``'s rules, as the upload operator does, in order:
    the records it sends (a pre-hashed MD5 or SHA-1 email stays as it is, in lower case).

    Raises ValueError when a value would be skipped by the operator (e.g. a malformed email), so that an
    expected member list never silently shrinks.
    """
    from airflow_provider_pinterest_audiences.customer_lists.records import (
        DIGEST_SIZE,
        IdentifierOptions,
        IdentifierType,
        hash_chunk,
        slot_hex,
    )

    options = IdentifierOptions(device_id_case)
    hashed = hash_chunk(list(values), IdentifierType.parse(list_type), options)
    if hashed.invalid:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(hashed.invalid.items()))
        raise ValueError(f"not valid {list_type} identifiers: {reasons}")
    digests = hashed.digests
    return [slot_hex(digests[start : start + DIGEST_SIZE]) for start in range(0, len(digests), DIGEST_SIZE)]
