"""``PinterestEmulator``: a running emulator as a test sees it, through its ``/_emulator`` control API.

Lookups are by name, as DAGs create things (get-or-create by name), within the connection's ad account
unless ``ad_account_id`` says otherwise. Standard library only, so it works against any emulator, in this
process or another one (``python -m airflow_provider_pinterest_audiences.emulator``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 10.0


class EmulatorControlError(RuntimeError):
    """The control API refused a request (the message carries its answer)."""


class PinterestEmulator:
    """Where an emulator is, the Airflow connection pointing at it, and helpers to assert on its state."""

    def __init__(self, root_url: str, ad_account_id: str, conn_id: str = "pinterest_default") -> None:
        self.root_url = root_url.rstrip("/")
        self.ad_account_id = ad_account_id
        self.conn_id = conn_id

    def __repr__(self) -> str:
        return f"PinterestEmulator({self.root_url!r}, conn_id={self.conn_id!r})"

    @property
    def base_url(self) -> str:
        """The Pinterest API base URL (the connection's host)."""
        return f"{self.root_url}/v5"

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call ``/_emulator<path>`` and return its JSON answer; EmulatorControlError unless 200."""
        request = urllib.request.Request(  # noqa: S310 (the emulator's own http URL)
            f"{self.root_url}/_emulator{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise EmulatorControlError(f"{method} /_emulator{path}: HTTP {error.code}: {detail}") from None

    # -- control -----------------------------------------------------------------------------------

    def advance_clock(self, seconds: float) -> None:
        """Move the emulated clock ``seconds`` forward (lists and audiences progress with it)."""
        self.control("POST", "/clock/advance", {"seconds": seconds})

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change live settings (``clock_speed``, ``fail_every_n``, ``min_audience_size``...); returns all."""
        answer: dict[str, Any] = self.control("POST", "/faults", settings)
        return answer

    def set_known_users(self, **identifiers_by_type: list[str]) -> None:
        """The Pinterest users the emulator knows, in plain text, by list type: ``EMAIL=emails, IDFA=idfas``.

        From then on a record matches only if it stands for one of them, in a form Pinterest's spec allows,
        after the normalisation the README documents (the lists already processed keep their matches).
        """
        entries = [
            f"{list_type}:{value}" for list_type, values in identifiers_by_type.items() for value in values
        ]
        self.configure(known_users=entries)

    def reset(self) -> None:
        """Back to the seeded start: no lists or audiences, initial settings, counters at zero."""
        self.control("POST", "/reset")

    # -- state -------------------------------------------------------------------------------------

    def _account(self, ad_account_id: str | None) -> dict[str, Any]:
        account: dict[str, Any] = self.control("GET", "/summary")["ad_accounts"][
            ad_account_id or self.ad_account_id
        ]
        return account

    def _named(self, kind: str, name: str, ad_account_id: str | None) -> dict[str, Any]:
        items = self._account(ad_account_id)[kind]
        found = [item for item in items if item["name"] == name]
        if len(found) != 1:
            names = sorted({item["name"] for item in items})
            raise LookupError(f"{len(found)} {kind} named {name!r} (there are: {names})")
        item: dict[str, Any] = found[0]
        return item

    def customer_list(self, name: str, ad_account_id: str | None = None) -> dict[str, Any]:
        """The customer list called ``name``: id, status, list_type, member_count, matched_count (the members
        that are Pinterest users), uploaded/removed counts."""
        return self._named("customer_lists", name, ad_account_id)

    def members(self, list_name: str, ad_account_id: str | None = None) -> set[str]:
        """The hashed identifiers the list called ``list_name`` holds (compare with ``hash_identifiers``)."""
        account = ad_account_id or self.ad_account_id
        list_id = self.customer_list(list_name, account)["id"]
        report = self.control("GET", f"/ad_accounts/{account}/customer_lists/{list_id}/records")
        if "members" not in report:
            raise EmulatorControlError("this emulator runs with store_records=False: members are not kept")
        return set(report["members"])

    def audience(self, name: str, ad_account_id: str | None = None) -> dict[str, Any]:
        """The audience called ``name`` as Pinterest returns it: id, status, size, audience_type, rule..."""
        return self._named("audiences", name, ad_account_id)

    def ad_groups(self, ad_account_id: str | None = None) -> list[dict[str, Any]]:
        """The account's (seeded) ad groups: id, name, status, campaign_id, targeting_spec."""
        groups: list[dict[str, Any]] = self._account(ad_account_id)["ad_groups"]
        return groups

    def targeting(self, ad_group_id: str, ad_account_id: str | None = None) -> dict[str, Any]:
        """The ``targeting_spec`` of an ad group (``AUDIENCE_INCLUDE`` / ``AUDIENCE_EXCLUDE`` lists...)."""
        for group in self.ad_groups(ad_account_id):
            if group["id"] == ad_group_id:
                spec: dict[str, Any] = group["targeting_spec"]
                return spec
        raise LookupError(f"no ad group {ad_group_id!r} in ad account {ad_account_id or self.ad_account_id}")

    def request_counts(self) -> dict[str, int]:
        """Pinterest requests so far by rate-limit category: ``ads_read``, ``ads_write``, ``oauth``."""
        counts: dict[str, int] = self.control("GET", "/requests")["by_category"]
        return counts

    def requests(self, category: str | None = None) -> list[dict[str, Any]]:
        """Recent Pinterest requests in order (method, path, category, status), of one category if given."""
        recent: list[dict[str, Any]] = self.control("GET", "/requests")["recent"]
        return [item for item in recent if category is None or item["category"] == category]
