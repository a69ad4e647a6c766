"""The emulator's in-memory store: ad accounts and their objects, ids, live settings, request log.

One re-entrant lock guards everything: routes run on uvicorn's loop thread, tests poke from theirs.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock
from .errors import INVALID_PARAMETERS, NOT_FOUND, ApiError, bad_request, forbidden, not_found
from .faults import TrafficControl
from .models import (
    SUMMARY_STATUS,
    Audience,
    CustomerList,
    ad_account_api,
    seed_ad_groups,
    shared_account_api,
    stable_number,
)
from .pagination import PageRequest, paginate
from .settings import EmulatorSettings, coerce_json_field
from .tokens import TokenStore
from .validation import Records, validate_rule

FIRST_ID = 10_000_000_000_001
RECENT_REQUESTS = 10_000
SEEDED_AD_GROUPS = 3
SEEDED_CAMPAIGNS = 2

LIVE_FIELDS = frozenset(
    {
        "fail_every_n",
        "latency_ms",
        "rate_limit_storm",
        "storm_retry_after_seconds",
        "access_token_ttl_seconds",
        "access_token_max_requests",
        "rotate_refresh_tokens",
        "clock_speed",
        "ads_read_per_minute",
        "ads_write_per_minute",
        "customer_list_processing_seconds",
        "audience_initializing_seconds",
        "audience_processing_seconds",
        "min_audience_size",
        "known_users",  # lists already processed keep their matches
    }
)


@dataclass
class _Account:
    id: str
    created_at: float
    customer_lists: dict[str, CustomerList] = field(default_factory=dict)
    audiences: dict[str, Audience] = field(default_factory=dict)
    ad_groups: dict[str, dict[str, Any]] = field(default_factory=dict)


class EmulatorState:
    """Everything the emulator knows. Methods return JSON-ready dicts and raise ``ApiError``."""

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self._initial = settings or EmulatorSettings()
        self._lock = threading.RLock()
        self._start()

    def _start(self) -> None:
        """(Re)build everything from the initial settings."""
        self._settings = self._initial
        self.clock = Clock(self._initial.clock_speed)
        self.tokens = TokenStore(self._initial, self.clock.now())
        self.traffic = TrafficControl(self._initial)
        self._next_id = FIRST_ID
        self._lists: dict[str, CustomerList] = {}
        self._audiences: dict[str, Audience] = {}
        self._request_total = 0
        self._by_category: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT_REQUESTS)
        self._accounts: dict[str, _Account] = {
            account_id: self._seeded_account(account_id) for account_id in self._initial.declared_ad_accounts
        }

    # -- settings, clock, reset -------------------------------------------------------------------

    @property
    def settings(self) -> EmulatorSettings:
        """The live settings."""
        return self._settings

    def now(self) -> float:
        """Emulated Unix time."""
        return self.clock.now()

    def update_settings(self, changes: dict[str, Any]) -> EmulatorSettings:
        """Change live-settable fields (see ``LIVE_FIELDS``); 400 naming a bad or unknown field."""
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in LIVE_FIELDS:
                raise bad_request(
                    f"{name} cannot be changed live; allowed: {', '.join(sorted(LIVE_FIELDS))}."
                )
            try:
                values[name] = coerce_json_field(name, value)
            except ValueError as error:
                raise bad_request(str(error)) from None
        with self._lock:
            try:
                self._settings = self._settings.replace(**values)
            except ValueError as error:
                raise bad_request(str(error)) from None
            if "clock_speed" in values:
                self.clock.set_speed(self._settings.clock_speed)
            self.traffic.reconfigure(set(values), self._settings)
            return self._settings

    def reset(self) -> None:
        """Back to the seeded start: initial settings, tokens, objects, ids, counters."""
        with self._lock:
            self._start()

    # -- accounts and ids --------------------------------------------------------------------------

    def _new_id(self) -> str:
        value = self._next_id
        self._next_id += 1
        return str(value)

    def _seeded_account(self, ad_account_id: str) -> _Account:
        """A declared account with its seeded ad groups."""
        account = _Account(ad_account_id, created_at=self.now())
        group_ids = [self._new_id() for _ in range(SEEDED_AD_GROUPS)]
        campaign_ids = [self._new_id() for _ in range(SEEDED_CAMPAIGNS)]
        for group in seed_ad_groups(ad_account_id, group_ids, campaign_ids, account.created_at):
            account.ad_groups[group["id"]] = group
        return account

    def _account(self, ad_account_id: str) -> _Account:
        """A declared account; any other answers 403, as Pinterest does for one the token cannot access."""
        account = self._accounts.get(ad_account_id)
        if account is None:
            raise forbidden(f"You are not permitted to access that resource: ad account {ad_account_id}.")
        return account

    def require_account(self, ad_account_id: str) -> str:
        """``ad_account_id`` when the token can access it; else 403."""
        with self._lock:
            return self._account(ad_account_id).id

    def get_ad_account(self, ad_account_id: str) -> dict[str, Any]:
        """The spec's ``AdAccount`` object."""
        with self._lock:
            return ad_account_api(ad_account_id, self._account(ad_account_id).created_at)

    def list_ad_accounts(self, page: PageRequest) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the ad accounts the token can access (the declared ones)."""
        with self._lock:
            accounts = list(self._accounts.values())
            chunk, bookmark = paginate(accounts, page, lambda account: account.id)
            return [ad_account_api(account.id, account.created_at) for account in chunk], bookmark

    # -- customer lists ----------------------------------------------------------------------------

    def _customer_list(self, ad_account_id: str, list_id: str) -> CustomerList:
        found = self._account(ad_account_id).customer_lists.get(list_id)
        if found is None:
            raise not_found(f"Customer list {list_id} not found in ad account {ad_account_id}.")
        return found

    def create_customer_list(
        self, ad_account_id: str, name: str, list_type: str, records: Records
    ) -> dict[str, Any]:
        """A new list holding ``records`` (names need not be unique, as on Pinterest)."""
        with self._lock:
            now, settings = self.now(), self._settings
            customer_list = CustomerList(
                id=self._new_id(),
                ad_account_id=ad_account_id,
                name=name,
                list_type=list_type,
                created_at=now,
                store_records=settings.store_records,
            )
            customer_list.apply("ADD", records, settings, now)
            self._account(ad_account_id).customer_lists[customer_list.id] = customer_list
            self._lists[customer_list.id] = customer_list
            return customer_list.to_api(settings, now)

    def update_customer_list(
        self, ad_account_id: str, list_id: str, operation: str, records: Records
    ) -> dict[str, Any]:
        """ADD or REMOVE one batch of records."""
        with self._lock:
            now, settings = self.now(), self._settings
            customer_list = self._customer_list(ad_account_id, list_id)
            customer_list.apply(operation, records, settings, now)
            return customer_list.to_api(settings, now)

    def get_customer_list(self, ad_account_id: str, list_id: str) -> dict[str, Any]:
        """One list."""
        with self._lock:
            return self._customer_list(ad_account_id, list_id).to_api(self._settings, self.now())

    def list_customer_lists(
        self, ad_account_id: str, page: PageRequest
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the account's lists and the next bookmark."""
        with self._lock:
            now, settings = self.now(), self._settings
            chunk, bookmark = paginate(
                list(self._account(ad_account_id).customer_lists.values()), page, lambda c: c.id
            )
            return [c.to_api(settings, now) for c in chunk], bookmark

    def records(self, ad_account_id: str, list_id: str) -> dict[str, Any]:
        """What a list received: members, every ADD/REMOVE record in order, and counts."""
        with self._lock:
            customer_list = self._customer_list(ad_account_id, list_id)
            report: dict[str, Any] = {
                "ad_account_id": ad_account_id,
                "customer_list_id": list_id,
                "store_records": customer_list.store_records,
                "member_count": customer_list.member_count,
                "matched_count": customer_list.matched_count,
                "added_count": customer_list.num_uploaded_user_records,
                "removed_count": customer_list.num_removed_user_records,
            }
            if customer_list.store_records:
                report["members"] = sorted(customer_list.members)
                report["added"] = list(customer_list.added)
                report["removed"] = list(customer_list.removed)
            return report

    def force_customer_list_status(self, list_id: str, status: str | None) -> dict[str, Any]:
        """Pin a list's status (None resumes the lifecycle)."""
        with self._lock:
            customer_list = self._lists.get(list_id)
            if customer_list is None:
                raise not_found(f"Customer list {list_id} not found.")
            customer_list.forced_status = status
            return customer_list.to_api(self._settings, self.now())

    # -- audiences ---------------------------------------------------------------------------------

    def _matched(self, audience: Audience) -> int | None:
        if audience.audience_type != "CUSTOMER_LIST":
            return None
        customer_list = self._lists.get(str(audience.rule.get("customer_list_id")))
        return customer_list.matched_count if customer_list else 0

    def _audience_api(self, audience: Audience) -> dict[str, Any]:
        return audience.to_api(self._settings, self.now(), self._matched(audience))

    def _visible_audience(self, ad_account_id: str, audience_id: str) -> Audience | None:
        """An audience the account owns or that was shared with it."""
        audience = self._audiences.get(audience_id)
        if audience is None:
            return None
        if audience.ad_account_id == ad_account_id or ad_account_id in audience.shared_accounts:
            return audience
        return None

    def _owned_audience(self, ad_account_id: str, audience_id: str) -> Audience:
        found = self._account(ad_account_id).audiences.get(audience_id)
        if found is None:
            raise not_found(f"Audience {audience_id} not found in ad account {ad_account_id}.")
        return found

    def _check_rule_references(self, ad_account_id: str, audience_type: str, rule: dict[str, Any]) -> None:
        if audience_type == "CUSTOMER_LIST":
            list_id = rule["customer_list_id"]
            if list_id not in self._account(ad_account_id).customer_lists:
                raise bad_request(
                    f"rule.customer_list_id {list_id} is not a customer list of ad account {ad_account_id}."
                )
        elif audience_type == "ACTALIKE":
            for seed in rule["seed_id"]:
                if self._visible_audience(ad_account_id, seed) is None:
                    raise bad_request(
                        f"rule.seed_id {seed} is not an audience of ad account {ad_account_id}."
                    )

    def create_audience(
        self, ad_account_id: str, audience_type: str, name: str, rule: dict[str, Any], description: str | None
    ) -> dict[str, Any]:
        """A new audience (shape of ``rule`` already checked); its lifecycle starts now."""
        with self._lock:
            self._check_rule_references(ad_account_id, audience_type, rule)
            now = self.now()
            audience = Audience(
                id=self._new_id(),
                ad_account_id=ad_account_id,
                name=name,
                audience_type=audience_type,
                rule=rule,
                description=description,
                created_at=now,
                updated_at=now,
            )
            self._account(ad_account_id).audiences[audience.id] = audience
            self._audiences[audience.id] = audience
            return self._audience_api(audience)

    def update_audience(
        self,
        ad_account_id: str,
        audience_id: str,
        operation: str,
        changes: dict[str, Any],
    ) -> dict[str, Any]:
        """UPDATE name/rule/description, or REMOVE (archive for good)."""
        with self._lock:
            audience = self._owned_audience(ad_account_id, audience_id)
            if operation == "REMOVE":
                audience.archived = True
            else:
                if "rule" in changes:
                    rule = validate_rule(audience.audience_type, changes["rule"])
                    self._check_rule_references(ad_account_id, audience.audience_type, rule)
                    audience.rule = rule
                if "name" in changes:
                    audience.name = changes["name"]
                if "description" in changes:
                    audience.description = changes["description"]
            audience.updated_at = self.now()
            return self._audience_api(audience)

    def get_audience(self, ad_account_id: str, audience_id: str) -> dict[str, Any]:
        """One audience the account owns or received."""
        with self._lock:
            audience = self._visible_audience(ad_account_id, audience_id)
            if audience is None:
                raise not_found(f"Audience {audience_id} not found in ad account {ad_account_id}.")
            return self._audience_api(audience)

    def list_audiences(
        self, ad_account_id: str, page: PageRequest, ownership: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of OWNED audiences, or of audiences RECEIVED from other accounts."""
        with self._lock:
            if ownership == "RECEIVED":
                pool = [a for a in self._audiences.values() if ad_account_id in a.shared_accounts]
            else:
                pool = list(self._account(ad_account_id).audiences.values())
            chunk, bookmark = paginate(pool, page, lambda a: a.id)
            return [self._audience_api(a) for a in chunk], bookmark

    def share_audience(
        self, ad_account_id: str, audience_id: str, operation: str, recipients: list[str], businesses: bool
    ) -> dict[str, Any]:
        """SHARE or REVOKE an owned audience with ad accounts (or businesses)."""
        with self._lock:
            audience = self._owned_audience(ad_account_id, audience_id)
            target = audience.shared_businesses if businesses else audience.shared_accounts
            now = self.now()
            for recipient in recipients:
                if operation == "SHARE":
                    target.setdefault(recipient, now)
                else:
                    target.pop(recipient, None)
            key = "recipient_business_ids" if businesses else "recipient_account_ids"
            permissions = ["RESOURCE_PINNER_LIST_READER"] if operation == "SHARE" else []
            return {"audience_id": audience_id, "permissions": permissions, key: list(recipients)}

    def list_shared_accounts(
        self, ad_account_id: str, audience_id: str, businesses: bool, page: PageRequest
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the ad accounts (or businesses) an owned audience is shared with."""
        with self._lock:
            found = self._account(ad_account_id).audiences.get(audience_id)
            if found is None:
                raise not_found(
                    f"Shared accounts not found: audience {audience_id} is not owned by {ad_account_id}."
                )
            shares = found.shared_businesses if businesses else found.shared_accounts
            chunk, bookmark = paginate(list(shares.items()), page, lambda share: share[0])
            return [shared_account_api(recipient, businesses, at) for recipient, at in chunk], bookmark

    def list_business_audiences(
        self, business_id: str, page: PageRequest
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the audiences shared with a business."""
        with self._lock:
            pool = [a for a in self._audiences.values() if business_id in a.shared_businesses]
            chunk, bookmark = paginate(pool, page, lambda a: a.id)
            return [self._audience_api(a) for a in chunk], bookmark

    def force_audience_status(self, audience_id: str, status: str | None) -> dict[str, Any]:
        """Pin an audience's status (None resumes the lifecycle)."""
        with self._lock:
            audience = self._audiences.get(audience_id)
            if audience is None:
                raise not_found(f"Audience {audience_id} not found.")
            audience.forced_status = status
            return self._audience_api(audience)

    # -- ad groups ---------------------------------------------------------------------------------

    def list_ad_groups(
        self,
        ad_account_id: str,
        page: PageRequest,
        ad_group_ids: list[str],
        campaign_ids: list[str],
        statuses: list[str],
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the account's ad groups, filtered."""
        with self._lock:
            pool = [
                group
                for group in self._account(ad_account_id).ad_groups.values()
                if (not ad_group_ids or group["id"] in ad_group_ids)
                and (not campaign_ids or group["campaign_id"] in campaign_ids)
                and group["status"] in statuses
            ]
            chunk, bookmark = paginate(pool, page, lambda g: str(g["id"]))
            return copy.deepcopy(chunk), bookmark

    def get_ad_group(self, ad_account_id: str, ad_group_id: str) -> dict[str, Any]:
        """One ad group."""
        with self._lock:
            group = self._account(ad_account_id).ad_groups.get(ad_group_id)
            if group is None:
                raise not_found(f"Ad group {ad_group_id} not found in ad account {ad_account_id}.")
            return copy.deepcopy(group)

    def _targeting_problem(self, ad_account_id: str, targeting_spec: object) -> ApiError | None:
        """403 for an audience the account cannot access (the 403 example of ``audience_sizing``), 400 for an
        archived one."""
        if not isinstance(targeting_spec, dict):
            return None
        for key in ("AUDIENCE_INCLUDE", "AUDIENCE_EXCLUDE"):
            for audience_id in targeting_spec.get(key) or ():
                audience = self._visible_audience(ad_account_id, audience_id)
                if audience is None:
                    return ApiError(
                        403,
                        403,
                        "You don't have access to the requested audience list or product group: "
                        f"targeting_spec.{key}: audience {audience_id} is not in ad account {ad_account_id}.",
                    )
                if audience.archived:
                    return bad_request(
                        f"targeting_spec.{key}: audience {audience_id} is ARCHIVED and cannot be targeted."
                    )
        return None

    def update_ad_groups(self, ad_account_id: str, updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply each update (fields replace the stored ones); failed items carry exceptions and no data."""
        with self._lock:
            groups = self._account(ad_account_id).ad_groups
            results: list[dict[str, Any]] = []
            for update in updates:
                group = groups.get(update["id"])
                if group is None:
                    message = f"Ad group {update['id']} not found in ad account {ad_account_id}."
                    results.append({"exceptions": [{"code": NOT_FOUND, "message": message}]})
                    continue
                problem = self._targeting_problem(ad_account_id, update.get("targeting_spec"))
                if problem is not None:
                    results.append({"exceptions": [{"code": INVALID_PARAMETERS, "message": problem.message}]})
                    continue
                for key, value in update.items():
                    if key not in ("id", "ad_account_id"):
                        group[key] = copy.deepcopy(value)
                group["summary_status"] = SUMMARY_STATUS.get(group["status"], group["summary_status"])
                group["updated_time"] = int(self.now())
                results.append({"data": copy.deepcopy(group), "exceptions": []})
            return results

    def audience_sizing(self, ad_account_id: str, targeting_spec: dict[str, Any]) -> dict[str, Any]:
        """A deterministic reach estimate: included audiences' sizes, else a number from the spec."""
        with self._lock:
            problem = self._targeting_problem(ad_account_id, targeting_spec)
            if problem is not None:
                raise problem
            included = targeting_spec.get("AUDIENCE_INCLUDE") or []
            if included:
                estimate = 0
                for audience_id in included:
                    audience = self._audiences[audience_id]
                    estimate += audience.size(self._settings, self.now(), self._matched(audience))
            else:
                estimate = 10_000_000 + stable_number("sizing", targeting_spec) % 40_000_000
            if targeting_spec.get("AUDIENCE_EXCLUDE"):
                estimate = estimate * 9 // 10
            return {
                "audience_size_lower_bound": estimate * 85 // 100,
                "audience_size_upper_bound": estimate * 115 // 100,
            }

    # -- inspection --------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Every account's lists, audiences and ad groups, for demos and duplicate checks."""
        with self._lock:
            now, settings = self.now(), self._settings
            accounts: dict[str, Any] = {}
            for account_id, account in sorted(self._accounts.items()):
                accounts[account_id] = {
                    "customer_lists": [c.summary(settings, now) for c in account.customer_lists.values()],
                    "audiences": [
                        {
                            **self._audience_api(a),
                            "shared_account_ids": sorted(a.shared_accounts),
                            "shared_business_ids": sorted(a.shared_businesses),
                        }
                        for a in account.audiences.values()
                    ],
                    "ad_groups": [
                        {
                            "id": g["id"],
                            "name": g["name"],
                            "status": g["status"],
                            "campaign_id": g["campaign_id"],
                            "targeting_spec": copy.deepcopy(g["targeting_spec"]),
                        }
                        for g in account.ad_groups.values()
                    ],
                }
            return {"ad_accounts": accounts}

    def record_request(self, method: str, path: str, category: str, status: int) -> None:
        """Count one Pinterest request."""
        with self._lock:
            self._request_total += 1
            self._by_category[category] += 1
            self._by_status[str(status)] += 1
            self._recent.append({"method": method, "path": path, "category": category, "status": status})

    def requests_report(self) -> dict[str, Any]:
        """Counters and recent requests, for ``GET /_emulator/requests``."""
        with self._lock:
            return {
                "total": self._request_total,
                "by_category": dict(self._by_category),
                "by_status": dict(self._by_status),
                "recent": list(self._recent),
            }
