"""The emulated objects (ad accounts, customer lists, audiences, ad groups), their status lifecycle and match
simulation.

Statuses are computed when read, from the emulated clock: nothing runs in the background.
"""

from __future__ import annotations

import functools
import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .population import matching_records
from .settings import EmulatorSettings
from .validation import Records

_LIFECYCLE_DONE = ("READY", "TOO_SMALL")
# The spec's ``CustomerList.status`` enum.
CUSTOMER_LIST_STATUSES = ("PROCESSING", "READY", "TOO_SMALL", "UPLOADING")
OWNER_USER_ID = "1000000000000000001"


def ad_account_api(ad_account_id: str, created_at: float) -> dict[str, Any]:
    """The spec's ``AdAccount`` object for a declared account (the token's user owns it)."""
    return {
        "id": ad_account_id,
        "name": f"Emulated ad account {ad_account_id}",
        "owner": {"id": OWNER_USER_ID, "username": "pinterest_emulator"},
        "country": "US",
        "currency": "USD",
        "permissions": ["OWNER"],
        "created_time": int(created_at),
        "updated_time": int(created_at),
    }


def shared_account_api(account_id: str, business: bool, shared_at: float) -> dict[str, Any]:
    """The spec's ``SharedAudienceAccount``: one recipient of a shared audience."""
    return {
        "account_id": account_id,
        "account_name": f"Emulated {'business' if business else 'ad account'} {account_id}",
        "account_type": "BUSINESS_ACCOUNT" if business else "AD_ACCOUNT",
        "shared_on_timestamp": int(shared_at),
    }


def record_matches(record: str, match_rate: float) -> bool:
    """Whether a record "matches" a Pinterest user: a deterministic draw from the record's CRC-32."""
    return zlib.crc32(record.encode()) < match_rate * 2**32


def record_matcher(settings: EmulatorSettings) -> Callable[[str], bool]:
    """Whether a record matches a Pinterest user: one of ``known_users`` when set, else the random draw."""
    if settings.known_users:
        return matching_records(settings.known_users).__contains__
    return functools.partial(record_matches, match_rate=settings.match_rate)


def stable_number(*parts: object) -> int:
    """A deterministic 64-bit number derived from ``parts``."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@dataclass
class CustomerList:
    """A customer list. With ``store_records`` it keeps every record sent; without, counters only."""

    id: str
    ad_account_id: str
    name: str
    list_type: str
    created_at: float
    store_records: bool
    updated_at: float = 0.0
    processing_until: float = 0.0
    num_batches: int = 0
    num_uploaded_user_records: int = 0
    num_removed_user_records: int = 0
    member_count: int = 0
    matched_count: int = 0
    members: set[str] = field(default_factory=set)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    forced_status: str | None = None

    def apply(self, operation: str, records: Records, settings: EmulatorSettings, now: float) -> None:
        """One ADD or REMOVE batch of checked records; the list goes back to PROCESSING."""
        self.num_batches += 1
        self.updated_at = now
        self.processing_until = now + settings.customer_list_processing_seconds
        count = records.count
        if operation == "ADD":
            self.num_uploaded_user_records += count
        else:
            self.num_removed_user_records += count
        if not self.store_records:
            # Counts only: no per-record work, so members and matches are estimates (match_rate even with
            # known_users).
            delta = count if operation == "ADD" else -count
            self.member_count = max(0, self.member_count + delta)
            self.matched_count = round(self.member_count * settings.match_rate)
            return
        matches = record_matcher(settings)
        batch = records.text.split(",")
        if operation == "ADD":
            self.added.extend(batch)
            new = set(batch)
            new.difference_update(self.members)
            self.members.update(new)
            self.matched_count += sum(map(matches, new))
        else:
            self.removed.extend(batch)
            gone = self.members.intersection(batch)
            self.members.difference_update(gone)
            self.matched_count -= sum(map(matches, gone))
        self.member_count = len(self.members)

    def status(self, settings: EmulatorSettings, now: float) -> str:
        """PROCESSING for a while after each batch, then READY or TOO_SMALL (unless forced)."""
        if self.forced_status is not None:
            return self.forced_status
        if now < self.processing_until:
            return "PROCESSING"
        return "READY" if self.matched_count >= settings.min_audience_size else "TOO_SMALL"

    def to_api(self, settings: EmulatorSettings, now: float) -> dict[str, Any]:
        """The spec's ``CustomerList`` object."""
        return {
            "id": self.id,
            "ad_account_id": self.ad_account_id,
            "name": self.name,
            "type": "customerlist",
            "created_time": int(self.created_at),
            "updated_time": int(self.updated_at),
            "num_batches": self.num_batches,
            "num_uploaded_user_records": self.num_uploaded_user_records,
            "num_removed_user_records": self.num_removed_user_records,
            "status": self.status(settings, now),
            "exceptions": {},
        }

    def summary(self, settings: EmulatorSettings, now: float) -> dict[str, Any]:
        """The spec object plus list type and member/match counts, for inspection."""
        return {
            **self.to_api(settings, now),
            "list_type": self.list_type,
            "member_count": self.member_count,
            "matched_count": self.matched_count,
        }


@dataclass
class Audience:
    """An audience; CUSTOMER_LIST audiences take their size from their list's matched count."""

    id: str
    ad_account_id: str
    name: str
    audience_type: str
    rule: dict[str, Any]
    description: str | None
    created_at: float
    updated_at: float
    archived: bool = False
    forced_status: str | None = None
    shared_accounts: dict[str, float] = field(default_factory=dict)  # recipient id -> shared at
    shared_businesses: dict[str, float] = field(default_factory=dict)

    def _lifecycle(self, settings: EmulatorSettings, now: float, matched: int | None) -> str:
        age = now - self.created_at
        if age < settings.audience_initializing_seconds:
            return "INITIALIZING"
        if age < settings.audience_initializing_seconds + settings.audience_processing_seconds:
            return "PROCESSING"
        if self.audience_type == "CUSTOMER_LIST" and (matched or 0) < settings.min_audience_size:
            return "TOO_SMALL"
        return "READY"

    def status(self, settings: EmulatorSettings, now: float, matched: int | None) -> str:
        """ARCHIVED once removed, else a forced status, else INITIALIZING -> PROCESSING -> READY/TOO_SMALL."""
        if self.archived:
            return "ARCHIVED"
        if self.forced_status is not None:
            return self.forced_status
        return self._lifecycle(settings, now, matched)

    def size(self, settings: EmulatorSettings, now: float, matched: int | None) -> int:
        """0 until processed; then the matched count, or a deterministic estimate for other types."""
        if self._lifecycle(settings, now, matched) not in _LIFECYCLE_DONE:
            return 0
        if self.audience_type == "CUSTOMER_LIST":
            return matched or 0
        spread = stable_number(self.audience_type, self.rule)
        if self.audience_type == "ACTALIKE":
            percentage = self.rule.get("percentage")
            scale = percentage if isinstance(percentage, int) else 1
            return scale * 1_000_000 + spread % 100_000
        return 1_000 + spread % 500_000

    def to_api(self, settings: EmulatorSettings, now: float, matched: int | None) -> dict[str, Any]:
        """The spec's ``Audience`` object."""
        return {
            "id": self.id,
            "ad_account_id": self.ad_account_id,
            "name": self.name,
            "description": self.description,
            "audience_type": self.audience_type,
            "rule": self.rule,
            "size": self.size(settings, now, matched),
            "status": self.status(settings, now, matched),
            "type": "audience",
            "created_timestamp": int(self.created_at),
            "updated_timestamp": int(self.updated_at),
            "created_by_company_name": "Pinterest Emulator",
        }


SUMMARY_STATUS = {
    "ACTIVE": "RUNNING",
    "PAUSED": "PAUSED",
    "ARCHIVED": "ARCHIVED",
    "DRAFT": "DRAFT",
    "DELETED_DRAFT": "DELETED_DRAFT",
}

_SEED_TARGETING: tuple[dict[str, Any], ...] = (
    {
        "GEO": ["US"],
        "AGE_BUCKET": ["25-34", "35-44"],
        "GENDER": ["female", "male", "unknown"],
        "LOCALE": ["en-US"],
        "INTEREST": ["898728048402", "926811469591"],
        "APPTYPE": ["iphone", "android_mobile", "web"],
        "TARGETING_STRATEGY": ["CHOOSE_YOUR_OWN"],
    },
    {
        "GEO": ["US", "CA"],
        "AGE_BUCKET": ["18-24", "25-34"],
        "GENDER": ["female"],
        "LOCALE": ["en-US", "fr-CA"],
        "INTEREST": ["935249274030"],
        "TARGETING_STRATEGY": ["CHOOSE_YOUR_OWN"],
    },
    {
        "GEO": ["GB"],
        "AGE_BUCKET": ["35-44", "45-49", "50-54"],
        "GENDER": ["male", "female"],
        "LOCALE": ["en-GB"],
        "INTEREST": ["955166438839"],
        "APPTYPE": ["web", "web_mobile"],
        "TARGETING_STRATEGY": ["FIND_NEW_CUSTOMERS"],
    },
)
_SEED_NAMES = ("Spring prospecting", "Retargeting - site visitors", "UK awareness")
_SEED_STATUSES = ("ACTIVE", "ACTIVE", "PAUSED")


def seed_ad_groups(
    ad_account_id: str, ad_group_ids: list[str], campaign_ids: list[str], now: float
) -> list[dict[str, Any]]:
    """Three ad groups in the spec's ``AdGroupResponse`` shape with realistic targeting specs."""
    groups = []
    for index, ad_group_id in enumerate(ad_group_ids):
        status = _SEED_STATUSES[index % len(_SEED_STATUSES)]
        groups.append(
            {
                "id": ad_group_id,
                "ad_account_id": ad_account_id,
                "campaign_id": campaign_ids[index % len(campaign_ids)],
                "name": _SEED_NAMES[index % len(_SEED_NAMES)],
                "status": status,
                "summary_status": SUMMARY_STATUS[status],
                "type": "adgroup",
                "budget_in_micro_currency": 50_000_000,
                "bid_in_micro_currency": None,
                "bid_strategy_type": "AUTOMATIC_BID",
                "budget_type": "DAILY",
                "start_time": int(now) - 7 * 86400,
                "end_time": None,
                "targeting_spec": json.loads(json.dumps(_SEED_TARGETING[index % len(_SEED_TARGETING)])),
                "lifetime_frequency_cap": -1,
                "tracking_urls": None,
                "auto_targeting_enabled": True,
                "placement_group": "ALL",
                "pacing_delivery_type": "STANDARD",
                "billable_event": "IMPRESSION",
                "conversion_learning_mode_type": None,
                "is_creative_optimization": False,
                "promotion_id": None,
                "promotion_application_level": "NONE",
                "targeting_template_ids": None,
                "optimization_goal_metadata": {},
                "bid_multiplier": None,
                "feed_profile_id": "0",
                "dca_assets": None,
                "created_time": int(now),
                "updated_time": int(now),
            }
        )
    return groups
