"""encode_json_body: the same JSON as json.dumps, with records spliced in verbatim only when that is safe."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from airflow_provider_pinterest_audiences.hooks.request_body import encode_json_body

DIGESTS = ",".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(3))


@pytest.mark.parametrize(
    "body",
    [
        {"operation_type": "ADD", "records": DIGESTS},
        {"records": DIGESTS},
        {"name": 'quote " and back\\slash', "records": DIGESTS, "list_type": "EMAIL"},
        {"operation_type": "ADD", "records": 'a"b,c\\d'},
        {"operation_type": "ADD", "records": "tab\there,new\nline"},
        {"operation_type": "ADD", "records": "café,日本"},
        {"operation_type": "ADD", "records": ""},
        {"operation_type": "REMOVE"},
        [{"id": "1", "status": "ACTIVE"}],
    ],
)
def test_decodes_to_the_body_given(body: Any) -> None:
    assert json.loads(encode_json_body(body)) == body


def test_digest_records_are_spliced_in_as_they_are() -> None:
    encoded = encode_json_body({"operation_type": "ADD", "records": DIGESTS})

    assert encoded == b'{"operation_type": "ADD", "records": "' + DIGESTS.encode() + b'"}'


def test_records_that_need_escaping_go_through_json_dumps() -> None:
    body = {"operation_type": "ADD", "records": 'a"b,c\\d,\x7f'}

    assert encode_json_body(body) == json.dumps(body).encode()


def test_non_finite_numbers_are_refused_as_json_dumps_would() -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        encode_json_body({"operation_type": "ADD", "records": DIGESTS, "ratio": float("nan")})
