"""Identifier fidelity: pre-hashed values pass through as they are, device ids take ``device_id_case``, and
the records sent are the ones a simple reference normaliser derives (no network, no Airflow DB).

Cross-cutting: covers ``customer_lists.records`` (normalisation, ``hash_chunk``, ``records_text``), the
``Batch`` records of ``customer_lists.batches``, ``testing.hashing``, and the plans the upload and erase
operators make.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_pinterest_audiences.customer_lists.batches import Batch
from airflow_provider_pinterest_audiences.customer_lists.plan import UploadPlan
from airflow_provider_pinterest_audiences.customer_lists.records import (
    DIGEST_SIZE,
    IdentifierOptions,
    IdentifierType,
    InvalidReason,
    RecordCounts,
    hash_chunk,
    records_text,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.testing.hashing import hash_identifiers

EMAIL, MAID, IDFA = IdentifierType.EMAIL, IdentifierType.MAID, IdentifierType.IDFA
UUID = "6D92078A-8246-4BA4-AE5B-76104861E7DC"


def digest(algorithm: str, text: str) -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


def sent(values: list[str | None], identifier_type: IdentifierType, case: str = "lower") -> list[str]:
    """The records an upload of ``values`` sends, as the request carries them."""
    chunk = hash_chunk(values, identifier_type, IdentifierOptions(case))
    return records_text(chunk.digests).split(",") if chunk.digests else []


# --- pre-hashed values ------------------------------------------------------------------------------------

ACCEPTED = {
    # The spec (CustomerListRequest.records): emails plain or hashed with SHA1, SHA256 or MD5; MAIDs and
    # IDFAs hashed with one of those. The other types: SHA-256 only (the guide's recommendation).
    EMAIL: {"md5", "sha1", "sha256"},
    MAID: {"md5", "sha1", "sha256"},
    IDFA: {"md5", "sha1", "sha256"},
    IdentifierType.LR_ID: {"sha256"},
    IdentifierType.DLX_ID: {"sha256"},
    IdentifierType.HASHED_PINNER_ID: {"sha256"},
}


@pytest.mark.parametrize("identifier_type", list(IdentifierType))
@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256"])
def test_prehashed_values_pass_through_lowercased_where_the_spec_allows_them(
    identifier_type: IdentifierType, algorithm: str
) -> None:
    hexdigest = digest(algorithm, "ann@example.com")
    chunk = hash_chunk([f" {hexdigest.upper()} "], identifier_type)
    if algorithm in ACCEPTED[identifier_type]:
        assert records_text(chunk.digests) == hexdigest
        assert chunk.prehashed == {algorithm: 1}
        return
    assert chunk.prehashed == {}
    if identifier_type is IdentifierType.HASHED_PINNER_ID:
        assert chunk.invalid == {InvalidReason.NOT_SHA256: 1}
    else:  # a partner id has no published shape: the hex text is a token like any other, hashed
        assert records_text(chunk.digests) == digest("sha256", hexdigest.upper())


def test_one_request_mixes_every_form_in_input_order_and_counts_them_by_kind() -> None:
    md5, sha1, sha256 = (digest(name, "ann@example.com") for name in ("md5", "sha1", "sha256"))
    values = [md5, "Bob@Example.com", sha1.upper(), "junk", sha256, None, md5]
    chunk = hash_chunk(values, EMAIL)
    assert records_text(chunk.digests).split(",") == [
        md5,
        digest("sha256", "bob@example.com"),
        sha1,
        sha256,
        md5,
    ]
    assert Batch("ADD", chunk.digests).records == records_text(chunk.digests)
    counts = RecordCounts()
    counts.add(chunk)
    assert counts.prehashed_by_kind() == {"md5": 2, "sha1": 1, "sha256": 1}
    assert (counts.read, counts.valid, dict(counts.invalid)) == (7, 5, {"malformed_email": 1, "missing": 1})


def test_a_record_slot_is_one_digest_wide_whatever_its_algorithm() -> None:
    chunk = hash_chunk([digest("md5", "a"), digest("sha1", "b"), "c@d.com"], EMAIL)
    assert len(chunk.digests) == 3 * DIGEST_SIZE  # the spool, snapshot and suppression files stay fixed-width


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (digest("md5", "a")[1:], InvalidReason.MALFORMED_DEVICE_ID),  # 31 hex digits
        (digest("sha1", "a") + "0", InvalidReason.MALFORMED_DEVICE_ID),  # 41
        (digest("md5", "a")[:-1] + "g", InvalidReason.MALFORMED_DEVICE_ID),
    ],
)
def test_near_miss_hex_device_ids_are_malformed(raw: str, reason: InvalidReason) -> None:
    assert hash_chunk([raw], MAID).invalid == {reason: 1}


def test_a_uuid_without_hyphens_reads_as_an_md5_as_the_spec_allows() -> None:
    bare = UUID.replace("-", "")
    assert sent([bare], IDFA) == [bare.lower()]  # documented in the README: it cannot be told apart


# --- device_id_case ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("identifier_type", [MAID, IDFA])
@pytest.mark.parametrize(
    ("case", "normalised"),
    [("lower", UUID.lower()), ("upper", UUID.upper()), ("as_is", "6D92078a-8246-4ba4-AE5B-76104861e7dc")],
)
def test_device_id_case_sets_the_case_hashed(
    identifier_type: IdentifierType, case: str, normalised: str
) -> None:
    raw = " 6D92078a-8246-4ba4-AE5B-76104861e7dc "
    assert sent([raw], identifier_type, case) == [digest("sha256", normalised)]
    assert hash_identifiers([raw], identifier_type.value, case) == [digest("sha256", normalised)]


def test_device_ids_are_lowercased_by_default() -> None:
    assert sent([UUID], IDFA) == sent([UUID], MAID) == [digest("sha256", UUID.lower())]


@pytest.mark.parametrize("identifier_type", [EMAIL, IdentifierType.LR_ID, IdentifierType.HASHED_PINNER_ID])
def test_device_id_case_leaves_other_types_alone(identifier_type: IdentifierType) -> None:
    value = {EMAIL: "Ann@Example.com", IdentifierType.LR_ID: "Xy-1"}.get(
        identifier_type, digest("sha256", "p")
    )
    assert sent([value], identifier_type, "upper") == sent([value], identifier_type, "lower")


@pytest.mark.parametrize("bad", ["Lower", "UPPER", "", None, True, "keep"])
def test_a_bad_device_id_case_is_refused_naming_the_argument_and_the_choices(bad: object) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match="device_id_case") as raised:
        IdentifierOptions(bad)  # type: ignore[arg-type]
    assert "'lower', 'upper', 'as_is'" in str(raised.value)


# --- a reference normaliser -------------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-f]+")
_PREHASHED_LENGTHS = {EMAIL: (32, 40, 64), MAID: (32, 40, 64), IDFA: (32, 40, 64)}
_UUID_SHAPE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CASE = {"lower": str.lower, "upper": str.upper, "as_is": str}


def reference_record(value: str, identifier_type: IdentifierType, case: str) -> tuple[str, str] | None:
    """The record the README's table says ``value`` becomes and how it was hashed (``hashed here`` or the
    algorithm it arrived hashed with), or None when it is skipped."""
    text = value.strip()
    folded = text.lower()
    if _HEX.fullmatch(folded) and len(folded) in _PREHASHED_LENGTHS[identifier_type]:
        return folded, {32: "md5", 40: "sha1", 64: "sha256"}[len(folded)]
    if identifier_type is EMAIL:
        local, at, domain = folded.partition("@")
        ok = at and "." in domain and "@" not in domain and "" not in local.split(".") + domain.split(".")
        return (digest("sha256", folded), "hashed here") if ok else None
    if not _UUID_SHAPE.fullmatch(folded) or set(folded) <= {"0", "-"}:
        return None
    return digest("sha256", _CASE[case](text)), "hashed here"


def _hex_value(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from([31, 32, 40, 64, 65]))
    return draw(st.text("0123456789abcdefABCDEF", min_size=length, max_size=length))


@st.composite
def identifier_values(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return _hex_value(draw)
    if kind == 1:
        text = str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))
        flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
        return "".join(char.upper() if flip else char for char, flip in zip(text, flips, strict=True))
    if kind == 2:
        local = draw(st.text("abcXYZ09._", min_size=1, max_size=6))
        return f"{local}@{draw(st.sampled_from(['Example.com', 'x.co.uk', 'nodot', 'a..b']))}"
    return draw(st.sampled_from(["", "  ", "00000000-0000-0000-0000-000000000000"]))


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(identifier_values(), max_size=40),
    identifier_type=st.sampled_from([EMAIL, MAID, IDFA]),
    case=st.sampled_from(["lower", "upper", "as_is"]),
)
def test_records_sent_match_the_reference_normaliser(
    values: list[str], identifier_type: IdentifierType, case: str
) -> None:
    padded = [f" {value}\t" for value in values]
    expected = [found for value in padded if (found := reference_record(value, identifier_type, case))]
    chunk = hash_chunk(padded, identifier_type, IdentifierOptions(case))
    assert (records_text(chunk.digests).split(",") if chunk.digests else []) == [
        record for record, _ in expected
    ]
    assert chunk.prehashed == Counter(how for _, how in expected if how != "hashed here")
    assert chunk.valid + sum(chunk.invalid.values()) == chunk.read == len(values)


# --- the operators' argument ------------------------------------------------------------------------------


def _upload_plan(**kwargs: Any) -> UploadPlan:
    from airflow_provider_pinterest_audiences.operators.customer_list import (
        PinterestUploadCustomerListOperator,
    )

    operator = PinterestUploadCustomerListOperator(
        task_id="upload", customer_list_name="Buyers", source=["a@b.co"], ad_account_id="1", **kwargs
    )
    return operator.upload_plan()


def _erase_plan(**kwargs: Any) -> UploadPlan:
    from airflow_provider_pinterest_audiences.operators.erase import PinterestEraseCustomersOperator

    return PinterestEraseCustomersOperator(task_id="erase", source=["a@b.co"], **kwargs).read_plan()


@pytest.mark.parametrize("plan", [_upload_plan, _erase_plan])
def test_operators_refuse_a_bad_device_id_case_when_the_dag_is_parsed(
    plan: Callable[..., UploadPlan],
) -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=r"device_id_case.*'lower', 'upper', 'as_is'"):
        plan(list_type="IDFA", device_id_case="uppercase")


@pytest.mark.parametrize("plan", [_upload_plan, _erase_plan])
def test_operators_hand_their_device_id_case_to_the_reading(plan: Callable[..., UploadPlan]) -> None:
    assert plan(list_type="MAID", device_id_case="as_is").identifier_options == IdentifierOptions("as_is")
    assert plan(list_type="MAID").identifier_options == IdentifierOptions("lower")
