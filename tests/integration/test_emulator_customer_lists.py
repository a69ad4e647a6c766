"""Emulator: customer-list endpoints, record inspection, lifecycle and TOO_SMALL."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests

from airflow_provider_pinterest_audiences.emulator.models import record_matches
from airflow_provider_pinterest_audiences.emulator.server import EmulatorServer
from tests.integration.emulator_api import (
    ACCOUNT,
    OTHER_ACCOUNT,
    Api,
    api_fixture,
    emulator_settings,
    server_fixture,
)

LISTS = f"/ad_accounts/{ACCOUNT}/customer_lists"

server = server_fixture()
api = api_fixture(Api)


def hashes(count: int, prefix: str = "user") -> list[str]:
    return [hashlib.sha256(f"{prefix}{i}@example.com".encode()).hexdigest() for i in range(count)]


def matched(records: list[str]) -> int:
    return sum(1 for record in set(records) if record_matches(record, 0.7))


def test_create_get_list_and_update_follow_the_spec(api: Api) -> None:
    records = hashes(5)
    created = api.call("POST", LISTS, json={"name": "Buyers", "records": ",".join(records)}).json()
    assert created["name"] == "Buyers"
    assert created["type"] == "customerlist"
    assert created["ad_account_id"] == ACCOUNT
    assert created["status"] == "PROCESSING"
    assert created["id"].isdigit()
    assert (
        created["num_batches"],
        created["num_uploaded_user_records"],
        created["num_removed_user_records"],
    ) == (
        1,
        5,
        0,
    )

    fetched = api.call("GET", f"{LISTS}/{created['id']}").json()
    assert fetched["id"] == created["id"]

    listed = api.call("GET", LISTS).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert listed["bookmark"] is None

    added = api.call(
        "PATCH", f"{LISTS}/{created['id']}", json={"operation_type": "ADD", "records": records[0]}
    ).json()
    assert (added["num_batches"], added["num_uploaded_user_records"]) == (2, 6)
    removed = api.call(
        "PATCH",
        f"{LISTS}/{created['id']}",
        json={"operation_type": "REMOVE", "records": ",".join(records[:2])},
    ).json()
    assert (removed["num_batches"], removed["num_removed_user_records"]) == (3, 2)
    assert removed["status"] == "PROCESSING"


def test_list_type_defaults_to_email_and_is_kept(api: Api) -> None:
    api.call("POST", LISTS, json={"name": "default type", "records": "a"})
    api.call("POST", LISTS, json={"name": "maids", "records": "b", "list_type": "MAID"})
    lists = api.control("GET", "/summary")["ad_accounts"][ACCOUNT]["customer_lists"]
    assert [(item["name"], item["list_type"]) for item in lists] == [
        ("default type", "EMAIL"),
        ("maids", "MAID"),
    ]


def test_records_inspection_reports_exactly_what_arrived(api: Api) -> None:
    first, second = hashes(3, "a"), hashes(2, "b")
    list_id = api.call("POST", LISTS, json={"name": "exact", "records": ",".join([*first, first[0]])}).json()[
        "id"
    ]
    api.call("PATCH", f"{LISTS}/{list_id}", json={"operation_type": "ADD", "records": ",".join(second)})
    api.call(
        "PATCH", f"{LISTS}/{list_id}", json={"operation_type": "REMOVE", "records": f"{first[1]},absent"}
    )

    report = api.control("GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
    assert report["added"] == [*first, first[0], *second]
    assert report["removed"] == [first[1], "absent"]
    assert report["members"] == sorted({first[0], first[2], *second})
    assert (report["member_count"], report["added_count"], report["removed_count"]) == (4, 6, 2)


def test_duplicate_names_are_allowed_like_pinterest(api: Api) -> None:
    one = api.call("POST", LISTS, json={"name": "same", "records": "x"}).json()
    two = api.call("POST", LISTS, json={"name": "same", "records": "y"}).json()
    assert one["id"] != two["id"]
    names = [
        item["name"] for item in api.control("GET", "/summary")["ad_accounts"][ACCOUNT]["customer_lists"]
    ]
    assert names == ["same", "same"]


def test_pagination_walks_every_list_once_with_bookmarks(api: Api) -> None:
    created = [
        api.call("POST", LISTS, json={"name": f"list {i}", "records": "r"}).json()["id"] for i in range(7)
    ]
    seen: list[str] = []
    params: dict[str, Any] = {"page_size": 3}
    pages = 0
    while True:
        page = api.call("GET", LISTS, params=params).json()
        pages += 1
        seen.extend(item["id"] for item in page["items"])
        if page["bookmark"] is None:
            break
        params["bookmark"] = page["bookmark"]
    assert pages == 3
    assert seen == created

    descending = api.call("GET", LISTS, params={"order": "DESCENDING", "page_size": 250}).json()
    assert [item["id"] for item in descending["items"]] == created[::-1]


def test_lifecycle_processing_then_ready_on_the_clock(api: Api) -> None:
    records = hashes(200)
    assert matched(records) >= 100
    list_id = api.call("POST", LISTS, json={"name": "big enough", "records": ",".join(records)}).json()["id"]
    assert api.call("GET", f"{LISTS}/{list_id}").json()["status"] == "PROCESSING"
    api.control("POST", "/clock/advance", json={"seconds": 2.5})
    assert api.call("GET", f"{LISTS}/{list_id}").json()["status"] == "READY"


def test_too_small_below_100_matched_then_ready_after_more_records(api: Api) -> None:
    few = hashes(120)
    assert matched(few) < 100
    list_id = api.call("POST", LISTS, json={"name": "small", "records": ",".join(few)}).json()["id"]
    api.control("POST", "/clock/advance", json={"seconds": 3})
    assert api.call("GET", f"{LISTS}/{list_id}").json()["status"] == "TOO_SMALL"
    report = api.control("GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
    assert report["matched_count"] == matched(few)

    more = hashes(200, "more")
    api.call("PATCH", f"{LISTS}/{list_id}", json={"operation_type": "ADD", "records": ",".join(more)})
    assert api.call("GET", f"{LISTS}/{list_id}").json()["status"] == "PROCESSING"
    api.control("POST", "/clock/advance", json={"seconds": 3})
    assert api.call("GET", f"{LISTS}/{list_id}").json()["status"] == "READY"


def test_forced_status_freezes_the_lifecycle(api: Api) -> None:
    list_id = api.call("POST", LISTS, json={"name": "forced", "records": "a"}).json()["id"]
    api.control("POST", f"/customer_lists/{list_id}/status", json={"status": "UPLOADING"})
    api.control("POST", "/clock/advance", json={"seconds": 60})
    assert api.call("GET", f"{LISTS}/{list_id}").json()["status"] == "UPLOADING"
    api.control("POST", f"/customer_lists/{list_id}/status", json={"status": None})
    assert api.call("GET", f"{LISTS}/{list_id}").json()["status"] == "TOO_SMALL"


def test_forced_status_must_be_in_the_spec_enum(api: Api) -> None:
    list_id = api.call("POST", LISTS, json={"name": "forced", "records": "a"}).json()["id"]
    refused = requests.post(
        f"{api.server.root_url}/_emulator/customer_lists/{list_id}/status",
        json={"status": "ERROR"},
        timeout=10,
    )
    assert refused.status_code == 400
    assert all(
        status in refused.json()["message"] for status in ("PROCESSING", "READY", "TOO_SMALL", "UPLOADING")
    )
    assert api.call("GET", f"{LISTS}/{list_id}").json()["status"] == "PROCESSING"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"records": "a"}, "name"),
        ({"name": "n"}, "records"),
        ({"name": "n", "records": ""}, "records"),
        ({"name": "n", "records": "a,,b"}, "records"),
        ({"name": "n", "records": ",a"}, "records"),
        ({"name": "n", "records": "a,,"}, "records"),
        ({"name": "n", "records": ","}, "records"),
        ({"name": "n", "records": f"{'a' * 64},,{'b' * 64}"}, "records"),
        ({"name": "n", "records": "abc,a,,,def"}, "records"),
        ({"name": "n", "records": ["a", "b"]}, "records"),
        ({"name": "n", "records": "a", "list_type": "PHONE"}, "list_type"),
        ({"name": "n", "records": "a", "colour": "red"}, "colour"),
    ],
)
def test_create_rejects_bad_bodies_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    error = api.call("POST", LISTS, expect=400, json=body).json()
    assert error["code"] == 1
    assert field in error["message"]
    assert api.control("GET", "/summary")["ad_accounts"][ACCOUNT]["customer_lists"] == []


def test_update_rejects_bad_bodies_and_unknown_lists(api: Api) -> None:
    list_id = api.call("POST", LISTS, json={"name": "n", "records": "a"}).json()["id"]
    error = api.call(
        "PATCH", f"{LISTS}/{list_id}", expect=400, json={"operation_type": "MERGE", "records": "a"}
    )
    assert "operation_type" in error.json()["message"]
    error = api.call("PATCH", f"{LISTS}/{list_id}", expect=400, json={"operation_type": "ADD"})
    assert "records" in error.json()["message"]
    api.call("PATCH", f"{LISTS}/999", expect=404, json={"operation_type": "ADD", "records": "a"})
    api.call("GET", f"{LISTS}/999", expect=404)


def test_invalid_json_ids_and_paging_parameters_name_the_problem(api: Api) -> None:
    bad_json = api.call(
        "POST", LISTS, expect=400, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.json()["code"] == 1
    assert "JSON" in bad_json.json()["message"]
    bad_account = api.call("GET", "/ad_accounts/12ab/customer_lists", expect=400).json()
    assert "ad_account_id" in bad_account["message"]
    too_long = api.call("GET", f"/ad_accounts/{'1' * 19}/customer_lists", expect=400).json()
    assert "ad_account_id" in too_long["message"]
    bad_list = api.call("GET", f"{LISTS}/x1", expect=400).json()
    assert "customer_list_id" in bad_list["message"]
    for size in ("0", "251", "ten"):
        error = api.call("GET", LISTS, expect=400, params={"page_size": size}).json()
        assert "page_size" in error["message"]
    assert "order" in api.call("GET", LISTS, expect=400, params={"order": "UP"}).json()["message"]
    assert "bookmark" in api.call("GET", LISTS, expect=400, params={"bookmark": "nonsense"}).json()["message"]


def test_the_spec_example_with_a_trailing_comma_adds_two_records(api: Api) -> None:
    list_id = api.call("POST", LISTS, json={"name": "example", "records": "email1@pinterest.com,"}).json()[
        "id"
    ]
    # CustomerListUpdateRequest.records example: "email2@pinterest.com,email6@pinterest.com,"
    example = {"operation_type": "ADD", "records": "email2@pinterest.com,email6@pinterest.com,"}
    updated = api.call("PATCH", f"{LISTS}/{list_id}", json=example).json()
    assert updated["num_uploaded_user_records"] == 3
    report = api.control("GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
    assert report["members"] == ["email1@pinterest.com", "email2@pinterest.com", "email6@pinterest.com"]


def test_declared_accounts_are_separate_and_others_are_forbidden(api: Api) -> None:
    api.call(
        "POST", f"/ad_accounts/{OTHER_ACCOUNT}/customer_lists", json={"name": "elsewhere", "records": "a"}
    )
    assert api.call("GET", LISTS).json()["items"] == []
    assert len(api.call("GET", f"/ad_accounts/{OTHER_ACCOUNT}/customer_lists").json()["items"]) == 1
    undeclared = "/ad_accounts/123456789/customer_lists"
    for method, body in (("GET", None), ("POST", {"name": "typo", "records": "a"})):
        forbidden = api.call(method, undeclared, expect=403, json=body).json()
        # The spec's UnauthorizedAccess example: {"code": 29, "message": "You are not permitted to ..."}
        assert forbidden["code"] == 29
        assert "123456789" in forbidden["message"]
    assert "123456789" not in api.control("GET", "/summary")["ad_accounts"]


def test_a_one_megabyte_batch_is_stored_whole(api: Api) -> None:
    records = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(15_000)]
    body = ",".join(records)
    assert len(body) > 950_000
    list_id = api.call("POST", LISTS, json={"name": "big", "records": "seed"}).json()["id"]
    updated = api.call("PATCH", f"{LISTS}/{list_id}", json={"operation_type": "ADD", "records": body}).json()
    assert updated["num_uploaded_user_records"] == 15_001
    report = api.control("GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
    assert report["member_count"] == 15_001
    assert report["matched_count"] == matched([*records, "seed"])


def test_store_records_false_keeps_counts_only() -> None:
    with EmulatorServer(emulator_settings(store_records=False)) as counting:
        api = Api(counting)
        list_id = api.call("POST", LISTS, json={"name": "counted", "records": "a,bb,c,c"}).json()["id"]
        api.call("PATCH", f"{LISTS}/{list_id}", json={"operation_type": "REMOVE", "records": "a"})
        report = api.control("GET", f"/ad_accounts/{ACCOUNT}/customer_lists/{list_id}/records")
    assert report["store_records"] is False
    assert (report["added_count"], report["removed_count"], report["member_count"]) == (4, 1, 3)
    assert not {"members", "added", "removed"} & report.keys()
