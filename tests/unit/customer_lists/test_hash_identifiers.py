"""``hash_identifiers=False``: partner ids (LR_ID, DLX_ID) sent as given, known by the SHA-256 of their text.

The option's checks, the normalised texts the reading keeps, the rendering of batches (the text store
itself: ``test_record_texts.py``), and a property over the whole upload path: the records sent are exactly
the distinct normalised valid values, as a reference written apart computes them.

Cross-cutting: covers ``customer_lists.records`` (``IdentifierOptions``), ``read_batches`` with texts
(``customer_lists.batches``), ``customer_lists.upload`` and the operators' ``hash_identifiers`` checks.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.customer_lists.batches import read_batches
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan, UploadResult
from airflow_provider_pinterest_audiences.customer_lists.record_texts import RecordTexts
from airflow_provider_pinterest_audiences.customer_lists.records import (
    IdentifierOptions,
    IdentifierType,
    InvalidReason,
    hash_chunk,
)
from airflow_provider_pinterest_audiences.customer_lists.source import CustomerSource
from airflow_provider_pinterest_audiences.customer_lists.upload import run_uploads
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.operators.customer_list import PinterestUploadCustomerListOperator
from airflow_provider_pinterest_audiences.operators.erase import PinterestEraseCustomersOperator

AS_GIVEN = IdentifierOptions(hash_identifiers=False)
LOG = logging.getLogger("test_hash_identifiers")


def sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


# --- the option's checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("list_type", ["EMAIL", "MAID", "IDFA", "HASHED_PINNER_ID"])
def test_personal_data_types_refuse_to_be_sent_unhashed(list_type: str) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="hash_identifiers") as raised:
        PinterestUploadCustomerListOperator(
            task_id="t", customer_list_name="x", source=["a"], list_type=list_type, hash_identifiers=False
        )
    message = str(raised.value)
    assert list_type in message and "LR_ID and DLX_ID" in message


@pytest.mark.parametrize("list_type", ["LR_ID", "DLX_ID"])
def test_partner_ids_may_be_sent_unhashed_in_append_and_remove(list_type: str) -> None:
    for mode in ("append", "remove"):
        operator = PinterestUploadCustomerListOperator(
            task_id="t", customer_list_name="x", source=["a"], list_type=list_type, mode=mode,
            hash_identifiers=False,
        )  # fmt: skip
        assert operator.identifier_options().sends_as_given(IdentifierType(list_type))


def test_mirror_refuses_unhashed_partner_ids_naming_both_arguments() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="hash_identifiers") as raised:
        PinterestUploadCustomerListOperator(
            task_id="t", customer_list_name="x", source=["a"], list_type="LR_ID", mode="mirror",
            state_path="/tmp/x.snapshot", hash_identifiers=False,
        )  # fmt: skip
    assert "mode='mirror'" in str(raised.value) and "snapshot" in str(raised.value)


def test_with_columns_the_switch_applies_to_the_partner_types_among_them() -> None:
    operator = PinterestUploadCustomerListOperator(
        task_id="t", customer_list_name="x", source=[{}], columns={"EMAIL": "e", "LR_ID": "lr"},
        hash_identifiers=False,
    )  # fmt: skip
    options = operator.identifier_options()
    assert options.sends_as_given(IdentifierType.LR_ID)
    assert not options.sends_as_given(IdentifierType.EMAIL)
    with pytest.raises(PinterestInvalidArgumentError, match=r"hash_identifiers.*EMAIL, MAID"):
        PinterestUploadCustomerListOperator(
            task_id="t", customer_list_name="x", source=[{}], columns={"EMAIL": "e", "MAID": "m"},
            hash_identifiers=False,
        )  # fmt: skip


@pytest.mark.parametrize("bad", [0, "false", None])
def test_a_non_boolean_is_refused(bad: object) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=r"hash_identifiers.*True or False"):
        IdentifierOptions(hash_identifiers=bad)  # type: ignore[arg-type]


def test_the_erase_refuses_unhashed_identifiers_and_says_what_to_do() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="hash_identifiers") as raised:
        PinterestEraseCustomersOperator(task_id="t", source=["a"], list_type="LR_ID", hash_identifiers=False)
    assert "mode='remove'" in str(raised.value)


# --- the reading keeps the normalised texts ----------------------------------------------------------------


def test_the_reading_keeps_each_slots_text_and_counts_commas_invalid() -> None:
    values = ["  Ab1 ", "x,y", "", "Ab1", "C" * 64, "dlx\u00e9"]
    hashed = hash_chunk(values, IdentifierType.DLX_ID, AS_GIVEN)
    assert hashed.texts == [b"Ab1", b"Ab1", b"c" * 64, "dlx\u00e9".encode()]  # a SHA-256 in lower case
    assert hashed.invalid == Counter({InvalidReason.COMMA: 1, InvalidReason.MISSING: 1})
    # The slots are the ones a hashed upload makes (suppression sets and dedupe stay the same).
    assert hashed.digests == hash_chunk(["Ab1", "Ab1", "C" * 64, "dlx\u00e9"], IdentifierType.DLX_ID).digests


def test_hashed_types_keep_no_text_and_accept_commas() -> None:
    assert hash_chunk(["a,b"], IdentifierType.LR_ID).texts is None
    assert hash_chunk(["a@b.com"], IdentifierType.EMAIL, AS_GIVEN).texts is None


# --- batches of texts (the store itself: test_record_texts.py) ------------------------------------------


def test_batches_carry_the_texts_as_their_records(tmp_path: Path) -> None:
    texts = {sha(f"id-{n}"): f"ID-{n}".encode() for n in range(5)}
    spool = tmp_path / "spool.bin"
    spool.write_bytes(b"".join(sorted(texts)))
    with RecordTexts(str(tmp_path)) as store:
        store.add(b"".join(texts), list(texts.values()))
        batches = list(read_batches(str(spool), "ADD", 2, store))
        hex_batches = list(read_batches(str(spool), "ADD", 2))
    assert [batch.record_count for batch in batches] == [2, 2, 1]
    assert ",".join(batch.records for batch in batches) == ",".join(texts[d].decode() for d in sorted(texts))
    assert hex_batches[0].records == ",".join(d.hex() for d in sorted(texts)[:2])


# --- the whole upload: a fake API and a property ----------------------------------------------------------


class RecordingHook:
    """Just enough of ``PinterestHook`` for ``run_uploads``: one list, every request's records kept."""

    def __init__(self, list_exists: bool) -> None:
        self.list_exists = list_exists
        self.requests: list[tuple[str, str]] = []

    def find_customer_list(self, account: str, name: str) -> dict[str, Any] | None:
        return {"id": "1"} if self.list_exists else None

    def get_customer_list(self, account: str, list_id: str) -> dict[str, Any]:
        return {"id": list_id}

    def create_customer_list(
        self, account: str, *, name: str, records: str, list_type: str
    ) -> dict[str, Any]:
        self.list_exists = True
        self.requests.append(("ADD", records))
        return {"id": "1"}

    def update_customer_list(
        self, account: str, list_id: str, *, operation_type: str, records: str
    ) -> dict[str, Any]:
        self.requests.append((operation_type, records))
        return {}

    def close(self) -> None:
        pass


def upload(
    values: list[Any], mode: str = "append", records_per_request: int = 1000, dry_run: bool = False
) -> tuple[RecordingHook, UploadResult]:
    """Run an LR_ID upload sent as given against a ``RecordingHook`` (the list exists for a removal)."""
    hook = RecordingHook(list_exists=mode == "remove")
    plan = UploadPlan(
        ad_account_id="1",
        source=CustomerSource(source=values),
        list_type=IdentifierType.LR_ID,
        mode=mode,
        customer_list_name="partners",
        max_invalid_ratio=1.0,
        records_per_request=records_per_request,
        hashing_processes=1,
        max_concurrent_requests=1,
        identifier_options=AS_GIVEN,
        dry_run=dry_run,
    )
    result = run_uploads({"LR_ID": plan}, hook, lambda: hook, LOG)["LR_ID"]  # type: ignore[arg-type]
    assert sum(result.sent.values()) == len(sent_records(hook))
    return hook, result


def sent_records(hook: RecordingHook) -> list[str]:
    return [record for _, records in hook.requests for record in records.split(",")]


def reference(values: list[Any]) -> set[str]:
    """What an LR_ID list sent as given holds: each value trimmed, once, a SHA-256 (64 hex digits) in lower
    case; blanks, commas and control characters (C0, DEL, C1) left out."""
    kept = set()
    for value in values:
        text = value.strip() if isinstance(value, str) else ""
        if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
            text = text.lower()
        if text and "," not in text and not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text):
            kept.add(text)
    return kept


@pytest.mark.parametrize("mode", ["append", "remove"])
def test_each_distinct_text_is_sent_once_by_its_operation(mode: str) -> None:
    values = [" RampA ", "RampA", "rampa", "x,y", "", None, "B" * 100, "\u00e9\u00a0t"]
    hook, result = upload(values, mode)
    assert result.desired_members == 4
    assert sorted(sent_records(hook)) == sorted({"RampA", "rampa", "B" * 100, "\u00e9\u00a0t"})
    assert {operation for operation, _ in hook.requests} == {"ADD" if mode == "append" else "REMOVE"}


def test_long_texts_shrink_the_batches_to_the_hex_size_bound() -> None:
    values = [f"{n:0129d}" for n in range(6)]  # two of 129 bytes and a comma: four hex records' 259
    hook, result = upload(values, records_per_request=4)
    assert [len(records.split(",")) for _, records in hook.requests] == [2, 2, 2]
    assert sorted(sent_records(hook)) == sorted(values)
    assert result.batches == result.planned_batches == 3
    hook, planned = upload(values, records_per_request=4, dry_run=True)
    assert (hook.requests, planned.planned_batches, planned.planned["ADD"]) == ([], 3, 6)


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PARTNER_ID = st.one_of(
    st.text(alphabet=st.sampled_from("AbZz09-_=,. \t\n\u00e9\u00a0\x00\x85"), max_size=12),
    st.text(alphabet=st.sampled_from("aAbBf09"), min_size=64, max_size=64),  # pre-hashed, either case
)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.one_of(_PARTNER_ID, st.none()), min_size=1, max_size=40).flatmap(
        lambda drawn: st.permutations(drawn + drawn[: len(drawn) // 2])  # duplicates, shuffled
    ),
    mode=st.sampled_from(["append", "remove"]),
    records_per_request=st.integers(min_value=1, max_value=7),
)
def test_the_records_sent_are_exactly_the_distinct_normalised_valid_values(
    values: list[Any], mode: str, records_per_request: int
) -> None:
    expected = reference(values)
    if not expected:
        with pytest.raises(PinterestInvalidArgumentError, match="valid LR_ID"):
            upload(values, mode, records_per_request)
        return
    hook, result = upload(values, mode, records_per_request)
    assert result.desired_members == len(expected)
    assert sorted(sent_records(hook)) == sorted(expected)  # each once, nothing else
    assert all(len(records.split(",")) <= records_per_request for _, records in hook.requests)
