"""Request checks that answer 400 ``{code, message}`` naming the offending field, as Pinterest does."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

_ID = re.compile(r"^\d{1,18}$")

LIST_TYPES = ("EMAIL", "IDFA", "MAID", "LR_ID", "DLX_ID", "HASHED_PINNER_ID")
CREATABLE_AUDIENCE_TYPES = ("CUSTOMER_LIST", "VISITOR", "ENGAGEMENT", "ACTALIKE")
ENGAGEMENT_TYPES = ("click", "save", "closeup", "comment", "like")

# Known rule keys and their JSON kinds (from the spec's AudienceRule); other keys pass through untouched.
_RULE_KINDS = {
    "ad_account_id": "id",
    "customer_list_id": "id",
    "visitor_source_id": "id",
    "ad_id": "ids",
    "campaign_id": "ids",
    "pin_id": "ids",
    "seed_id": "ids",
    "country": "str",
    "engagement_type": "str",
    "event": "str",
    "engagement_domain": "strs",
    "url": "strs",
    "objective_type": "strs",
    "engager_type": "int",
    "percentage": "int",
    "retention_days": "int",
    "prefill": "bool",
    "event_data": "object",
    "event_source": "object",
    "ingestion_source": "object",
}


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def is_id(value: object) -> bool:
    """A Pinterest id: a string of 1 to 18 digits."""
    return isinstance(value, str) and _ID.match(value) is not None


def path_id(value: str, name: str, max_digits: int = 18) -> str:
    """A path parameter that must be an id (``max_digits``: 18, or 20 for a business id)."""
    if not (value.isascii() and value.isdigit() and len(value) <= max_digits):
        raise bad_request(
            f"'{name}' value '{value}' must match the pattern: ^\\d+$ (at most {max_digits} digits)."
        )
    return value


def parse_json(raw: bytes) -> Any:
    """The decoded JSON body; 400 when it is missing or malformed."""
    if not raw.strip():
        raise bad_request("The request body is empty: a JSON body is required.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request(f"The request body is not valid JSON: {error}.") from None


def expect_object(value: object, where: str) -> dict[str, Any]:
    """``value`` as a JSON object."""
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be a JSON object.")
    return value


def known_fields(
    body: dict[str, Any], allowed: Collection[str], strict: bool, prefix: str = ""
) -> dict[str, Any]:
    """``body`` without the keys not in ``allowed`` (Pinterest ignores them); ``strict`` refuses one (400)."""
    unknown = [key for key in body if key not in allowed]
    if unknown and strict:
        raise bad_request(f"{_join(prefix, unknown[0])} is not a known field here.")
    return {key: value for key, value in body.items() if key in allowed} if unknown else body


def require_string(body: dict[str, Any], key: str, prefix: str = "") -> str:
    """A required non-empty string field."""
    name = _join(prefix, key)
    if key not in body or body[key] is None:
        raise bad_request(f"{name} is required.")
    return string_value(body[key], name)


def string_value(value: object, name: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{name} must be a non-empty string.")
    return value


def optional_string(body: dict[str, Any], key: str, prefix: str = "") -> str | None:
    """An optional string field (may be empty); None when absent or null."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{_join(prefix, key)} must be a string.")
    return value


def choice(body: dict[str, Any], key: str, allowed: Iterable[str], default: str | None = None) -> str:
    """An enum field; ``default`` when absent (required when there is no default)."""
    options = tuple(allowed)
    value = body.get(key)
    if value is None:
        if default is None:
            raise bad_request(f"{key} is required; allowed values: {', '.join(options)}.")
        return default
    if value not in options:
        raise bad_request(f"{key} must be one of {', '.join(options)}, got {value!r}.")
    return str(value)


def id_array(value: object, name: str, *, min_items: int = 1, max_items: int | None = None) -> list[str]:
    """A JSON array of ids."""
    if not isinstance(value, list) or len(value) < min_items:
        raise bad_request(f"{name} must be an array of at least {min_items} id(s).")
    if max_items is not None and len(value) > max_items:
        raise bad_request(f"{name} must have at most {max_items} items.")
    for index, item in enumerate(value):
        if not is_id(item):
            raise bad_request(f"{name}[{index}] value {item!r} must match the pattern: ^\\d+$.")
    return list(value)


@dataclass(frozen=True, slots=True)
class Records:
    """A checked ``records`` field: the comma-separated text, and how many records it holds."""

    text: str
    count: int


_TWO_COMMAS = re.compile(",,")  # re finds it in a 1 MB string twice as fast as ``",," in value``


def _no_empty_record(value: str, count: int) -> bool:
    """Whether none of the ``count`` comma-separated records of a non-empty ``value`` is empty.

    Records of one width (hashes) are proven so without a scan: a comma after every ``width`` characters and
    no other comma leave no room for an empty one.
    """
    width = value.find(",")
    stride = width + 1
    if width > 0 and len(value) == stride * count - 1 and value[width::stride] == "," * (count - 1):
        return True
    return not (value[0] == "," or value[-1] == "," or _TWO_COMMAS.search(value))


def parse_records(value: object) -> Records:
    """The ``records`` field, checked: one comma-separated string of non-empty records.

    One trailing comma is dropped: the spec's own ``CustomerListUpdateRequest.records`` example ends with one
    (``"email2@pinterest.com,email6@pinterest.com,"``). It stays one string (no list of records) so that a
    counters-only emulator never splits it.
    """
    if value is None:
        raise bad_request("records is required: one comma-separated string of records.")
    if not isinstance(value, str):
        raise bad_request("records must be one comma-separated string.")
    value = value.removesuffix(",")
    if not value:
        raise bad_request("records must not be empty: send at least one record.")
    count = value.count(",") + 1
    if not _no_empty_record(value, count):
        position = value.split(",").index("") + 1
        raise bad_request(f"records contains an empty record at position {position}.")
    return Records(value, count)


def query_values(values: list[str], name: str, allowed: Collection[str] | None = None) -> list[str]:
    """A query array given as repeated parameters and/or comma-separated values."""
    items = [part for value in values for part in value.split(",") if part]
    for item in items:
        if allowed is None and not is_id(item):
            raise bad_request(f"{name} value {item!r} must match the pattern: ^\\d+$.")
        if allowed is not None and item not in allowed:
            raise bad_request(f"{name} value {item!r} must be one of {', '.join(allowed)}.")
    return items


def _check_kind(value: object, kind: str, name: str) -> None:
    valid = {
        "id": is_id(value),
        "ids": isinstance(value, list) and all(is_id(item) for item in value),
        "str": isinstance(value, str),
        "strs": isinstance(value, list) and all(isinstance(item, str) for item in value),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "object": isinstance(value, dict),
    }[kind]
    if not valid:
        expected = {
            "id": "a string of digits",
            "ids": "an array of digit strings",
            "str": "a string",
            "strs": "an array of strings",
            "int": "an integer",
            "bool": "a boolean",
            "object": "an object",
        }[kind]
        raise bad_request(f"{name} must be {expected}, got {value!r}.")


def _int_range(rule: dict[str, Any], key: str, low: int, high: int) -> None:
    value = rule.get(key)
    if value is not None and not low <= value <= high:
        raise bad_request(f"rule.{key} must be between {low} and {high}, got {value}.")


def validate_rule(audience_type: str, value: object) -> dict[str, Any]:
    """Shape checks on an audience ``rule`` for its type (existence of referenced ids is checked later)."""
    rule = expect_object(value, "rule")
    for key, kind in _RULE_KINDS.items():
        if key in rule:
            _check_kind(rule[key], kind, f"rule.{key}")
    _int_range(rule, "retention_days", 1, 540)
    if audience_type == "CUSTOMER_LIST":
        require_string(rule, "customer_list_id", "rule")
    elif audience_type == "ACTALIKE":
        if not rule.get("seed_id"):
            raise bad_request(
                "rule.seed_id is required for ACTALIKE audiences: a non-empty array of audience ids."
            )
        require_string(rule, "country", "rule")
        if "percentage" not in rule:
            raise bad_request("rule.percentage is required for ACTALIKE audiences (integer 1-10).")
        _int_range(rule, "percentage", 1, 10)
    elif audience_type == "VISITOR":
        require_string(rule, "visitor_source_id", "rule")
    elif audience_type == "ENGAGEMENT":
        # AudienceRule.engagement_domain: "The audience account's verified domain. **Required** for
        # ENGAGEMENT `audience_type`."
        if not rule.get("engagement_domain"):
            raise bad_request(
                "rule.engagement_domain is required for ENGAGEMENT audiences: "
                'an array of your verified domains, e.g. ["www.example.com"].'
            )
        engagement_type = rule.get("engagement_type")
        if engagement_type is not None and engagement_type not in ENGAGEMENT_TYPES:
            raise bad_request(f"rule.engagement_type must be one of {', '.join(ENGAGEMENT_TYPES)}.")
        _int_range(rule, "engager_type", 1, 2)
    return rule


AD_GROUP_STATUSES = ("ACTIVE", "PAUSED", "ARCHIVED", "DRAFT", "DELETED_DRAFT")
AD_GROUP_UPDATE_FIELDS = frozenset(
    {
        "id",
        "ad_account_id",
        "auto_targeting_enabled",
        "bid_in_micro_currency",
        "bid_multiplier",
        "bid_strategy_type",
        "billable_event",
        "budget_in_micro_currency",
        "budget_type",
        "campaign_id",
        "end_time",
        "is_creative_optimization",
        "lifetime_frequency_cap",
        "name",
        "optimization_goal_metadata",
        "pacing_delivery_type",
        "placement_group",
        "promotion_application_level",
        "promotion_id",
        "start_time",
        "status",
        "targeting_spec",
        "targeting_template_ids",
        "tracking_urls",
    }
)
MAX_AD_GROUP_UPDATES = 30


def targeting_spec(value: object, name: str) -> dict[str, Any]:
    """A ``targeting_spec`` object; its audience lists must be arrays of ids (other keys pass through)."""
    spec = expect_object(value, name)
    for key in ("AUDIENCE_INCLUDE", "AUDIENCE_EXCLUDE"):
        if spec.get(key) is not None:
            id_array(spec[key], f"{name}.{key}", min_items=0)
    return spec


def ad_group_updates(value: object, ad_account_id: str, strict: bool) -> list[dict[str, Any]]:
    """The PATCH ad-groups body: a JSON array of 1-30 objects, each with an ``id`` (unknown keys dropped)."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_AD_GROUP_UPDATES:
        raise bad_request(
            f"The request body must be a JSON array of 1 to {MAX_AD_GROUP_UPDATES} ad group updates."
        )
    updates = []
    for index, item in enumerate(value):
        where = f"[{index}]"
        update = known_fields(expect_object(item, where), AD_GROUP_UPDATE_FIELDS, strict, where)
        ad_group_id = require_string(update, "id", where)
        if not is_id(ad_group_id):
            raise bad_request(f"{where}.id value {ad_group_id!r} must match the pattern: ^\\d+$.")
        if update.get("ad_account_id", ad_account_id) != ad_account_id:
            raise bad_request(f"{where}.ad_account_id must be the ad account of the URL, {ad_account_id}.")
        if "name" in update:
            string_value(update["name"], f"{where}.name")
        if "status" in update and update["status"] not in AD_GROUP_STATUSES:
            raise bad_request(f"{where}.status must be one of {', '.join(AD_GROUP_STATUSES)}.")
        if "targeting_spec" in update:
            targeting_spec(update["targeting_spec"], f"{where}.targeting_spec")
        updates.append(update)
    return updates
