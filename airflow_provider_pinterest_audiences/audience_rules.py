"""Audience ``rule`` builders: one pure function per creatable audience type.

Each builder checks its arguments against Pinterest's ``AudienceRule`` schema (OpenAPI v5) and returns
the rule dict to send. Errors are :class:`PinterestInvalidArgumentError` naming the argument (or the
rule key, ``rule.<key>`` / ``extra_rule.<key>``) and the allowed values, so bad input fails before any
HTTP call. Nothing here imports the hook: operators call these at DAG-parse time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.ids import flatten, pinterest_id, pinterest_ids

CREATABLE_AUDIENCE_TYPES = ("CUSTOMER_LIST", "VISITOR", "ENGAGEMENT", "ACTALIKE")
VISITOR_EVENTS = (
    "pagevisit",
    "signup",
    "checkout",
    "viewcategory",
    "search",
    "addtocart",
    "watchvideo",
    "lead",
    "custom",
)
EVENT_SOURCES = ("web", "mobile", "offline")
INGESTION_SOURCES = ("tag", "mmp", "file_upload", "conversions_api")
SOURCE_OPERATORS = ("=", "in")
ENGAGEMENT_TYPES = ("click", "save", "closeup", "comment", "like")
OBJECTIVE_TYPES = ("AWARENESS", "CONSIDERATION", "WEB_CONVERSION", "CATALOG_SALES", "VIDEO_COMPLETION")
DOCUMENTED_ACTALIKE_COUNTRIES = ("US", "CA", "GB")
RETENTION_DAYS = (1, 540)
ENGAGER_TYPES = (1, 2)
ACTALIKE_PERCENTAGES = (1, 10)

PERSONA_PROBLEM = (
    "PERSONA audiences cannot be created through the API: Pinterest's sales team builds them. Ask your "
    "Pinterest account manager for one, then use it by id, e.g. "
    "PinterestUpdateAdGroupAudiencesOperator(include=['<persona audience id>'])"
)
OPEN_PROBLEM = (
    "an open audience is not an API object: target everyone by removing AUDIENCE_INCLUDE from the ad "
    "group, e.g. PinterestUpdateAdGroupAudiencesOperator(include=[], mode='replace')"
)

_SPELLING_NOISE = re.compile(r"[\s_-]")
_CUSTOM_EVENT = re.compile(r"^\S+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ASCII_INTEGER = re.compile(r"[0-9]+")

_Check = Callable[[Any, str], Any]


def creatable_audience_type(value: Any, argument: str = "audience_type") -> str:
    """A creatable audience type (any case); PERSONA and OPEN get an explanation instead."""
    text = value.strip().upper() if isinstance(value, str) else value
    if text == "PERSONA":
        raise PinterestInvalidArgumentError(argument, PERSONA_PROBLEM)
    if text == "OPEN":
        raise PinterestInvalidArgumentError(argument, OPEN_PROBLEM)
    if text not in CREATABLE_AUDIENCE_TYPES:
        raise PinterestInvalidArgumentError(
            argument, f"expected one of {', '.join(CREATABLE_AUDIENCE_TYPES)}, got {value!r}"
        )
    return str(text)


def _bounded_int(value: Any, argument: str, bounds: tuple[int, int]) -> int:
    low, high = bounds
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _ASCII_INTEGER.fullmatch(value.strip()):
        number = int(value)
    if number is None or not low <= number <= high:
        raise PinterestInvalidArgumentError(
            argument, f"expected an integer from {low} to {high}, got {value!r}"
        )
    return number


def _one_of(value: Any, argument: str, allowed: tuple[str, ...]) -> str:
    text = value.strip().lower() if isinstance(value, str) else None
    matches = [option for option in allowed if option.lower() == text]
    if not matches:
        raise PinterestInvalidArgumentError(argument, f"expected one of {', '.join(allowed)}, got {value!r}")
    return matches[0]


def _retention_days(value: Any, argument: str) -> int:
    return _bounded_int(value, argument, RETENTION_DAYS)


def _engager_type(value: Any, argument: str) -> int:
    return _bounded_int(value, argument, ENGAGER_TYPES)


def _percentage(value: Any, argument: str) -> int:
    return _bounded_int(value, argument, ACTALIKE_PERCENTAGES)


def _engagement_type(value: Any, argument: str) -> str:
    return _one_of(value, argument, ENGAGEMENT_TYPES)


def _visitor_event(value: Any, argument: str) -> str:
    """A known Pinterest tag event (``PAGE_VISIT`` -> ``pagevisit``) or a partner-defined one, kept as is."""
    if isinstance(value, str):
        canonical = _SPELLING_NOISE.sub("", value).lower()
        if canonical in VISITOR_EVENTS:
            return canonical
        if _CUSTOM_EVENT.match(value):
            return value
    raise PinterestInvalidArgumentError(
        argument,
        f"expected one of {', '.join(VISITOR_EVENTS)} or a partner-defined event name without spaces, "
        f"got {value!r}",
    )


def _source_filter(value: Any, argument: str, allowed: tuple[str, ...]) -> dict[str, list[str]]:
    """A list (or one value) becomes ``{"=": [...]}``; ``{"=": [...]}`` or ``{"in": [...]}`` is checked."""
    if isinstance(value, Mapping):
        if len(value) != 1 or next(iter(value)) not in SOURCE_OPERATORS:
            raise PinterestInvalidArgumentError(
                argument,
                f"expected a list, or an object with one operator ({' or '.join(SOURCE_OPERATORS)}) "
                f"mapping to a list, got {value!r}",
            )
        operator, items = next(iter(value.items()))
    else:
        operator, items = "=", value
    values = [_one_of(item, argument, allowed) for item in flatten(items)]
    if not values:
        raise PinterestInvalidArgumentError(argument, f"expected at least one of {', '.join(allowed)}")
    return {operator: values}


def _event_source(value: Any, argument: str) -> dict[str, list[str]]:
    return _source_filter(value, argument, EVENT_SOURCES)


def _ingestion_source(value: Any, argument: str) -> dict[str, list[str]]:
    return _source_filter(value, argument, INGESTION_SOURCES)


def _strings(value: Any, argument: str) -> list[str]:
    """One non-empty string or a non-empty list of them."""
    items = flatten(value)
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise PinterestInvalidArgumentError(
            argument, f"expected a non-empty string or a list of them, got {value!r}"
        )
    return [item.strip() for item in items]


def _domains(value: Any, argument: str) -> list[str]:
    domains = _strings(value, argument)
    for domain in domains:
        if "/" in domain or " " in domain:
            raise PinterestInvalidArgumentError(
                argument, f"expected verified domains such as 'www.example.com', got {domain!r}"
            )
    return domains


def _objective_types(value: Any, argument: str) -> list[str]:
    return [_one_of(item, argument, OBJECTIVE_TYPES) for item in _strings(value, argument)]


def _country(value: Any, argument: str) -> str:
    text = value.strip().upper() if isinstance(value, str) else ""
    if not _COUNTRY.match(text):
        raise PinterestInvalidArgumentError(
            argument,
            "expected a two-letter country code (Pinterest documents "
            f"{', '.join(DOCUMENTED_ACTALIKE_COUNTRIES)}), got {value!r}",
        )
    return text


def _boolean(value: Any, argument: str) -> bool:
    if not isinstance(value, bool):
        raise PinterestInvalidArgumentError(argument, f"expected true or false, got {value!r}")
    return value


def string_keyed_mapping(value: Any, argument: str) -> dict[str, Any]:
    """``value`` as a dict with string keys (a rule, ``extra_rule``, ``event_data``)."""
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise PinterestInvalidArgumentError(argument, f"expected an object with string keys, got {value!r}")
    return dict(value)


# Spec keys per type and how to check them; any other key passes through untouched (e.g. the guide's
# ``lookback_window`` and ``event_type``, which the spec's schema lacks).
_KEY_CHECKS: dict[str, dict[str, _Check]] = {
    "CUSTOMER_LIST": {"customer_list_id": pinterest_id},
    "VISITOR": {
        "visitor_source_id": pinterest_id,
        "event": _visitor_event,
        "retention_days": _retention_days,
        "event_source": _event_source,
        "ingestion_source": _ingestion_source,
        "url": _strings,
        "prefill": _boolean,
        "event_data": string_keyed_mapping,
    },
    "ENGAGEMENT": {
        "engagement_domain": _domains,
        "engagement_type": _engagement_type,
        "engager_type": _engager_type,
        "retention_days": _retention_days,
        "pin_id": pinterest_ids,
        "ad_id": pinterest_ids,
        "campaign_id": pinterest_ids,
        "objective_type": _objective_types,
        "url": _strings,
    },
    "ACTALIKE": {"seed_id": pinterest_ids, "country": _country, "percentage": _percentage},
}
_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "CUSTOMER_LIST": ("customer_list_id",),
    "VISITOR": ("visitor_source_id",),
    "ENGAGEMENT": ("engagement_domain",),
    "ACTALIKE": ("seed_id", "country", "percentage"),
}


def _checked(kind: str, rule: Mapping[str, Any], argument_of: Callable[[str], str]) -> dict[str, Any]:
    """``rule`` with its spec keys checked and normalised; ``None`` values are dropped."""
    for key in _REQUIRED_KEYS[kind]:
        if rule.get(key) is None:
            raise PinterestInvalidArgumentError(argument_of(key), f"is required for {kind} audiences")
    checks = _KEY_CHECKS[kind]
    checked = {
        key: checks[key](value, argument_of(key)) if key in checks else value
        for key, value in rule.items()
        if value is not None
    }
    if "event_data" in checked and "event" not in checked:
        raise PinterestInvalidArgumentError(
            argument_of("event_data"), "needs an event: Pinterest only evaluates event_data with one"
        )
    return checked


def audience_rule(kind: str, rule: Any) -> dict[str, Any]:
    """The general form: any creatable type with its rule as a dict (errors name ``rule.<key>``)."""
    checked_kind = creatable_audience_type(kind)
    return _checked(checked_kind, string_keyed_mapping(rule, "rule"), lambda key: f"rule.{key}")


def _typed_rule(
    kind: str,
    named: Mapping[str, Any],
    extra_rule: Any,
    argument_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Named arguments plus ``extra_rule`` pass-through keys, which may not repeat a named argument."""
    names = argument_names or {}
    extra = string_keyed_mapping(extra_rule, "extra_rule") if extra_rule is not None else {}
    for key in extra:
        if key in named:
            raise PinterestInvalidArgumentError(
                f"extra_rule.{key}", f"is set by the {names.get(key, key)!r} argument; pass it there"
            )

    def argument_of(key: str) -> str:
        return names.get(key, key) if key in named else f"extra_rule.{key}"

    return _checked(kind, {**named, **extra}, argument_of)


def customer_list_rule(customer_list_id: Any) -> dict[str, Any]:
    """``{"customer_list_id": ...}`` for a CUSTOMER_LIST audience."""
    return _typed_rule("CUSTOMER_LIST", {"customer_list_id": customer_list_id}, None)


def visitor_rule(
    visitor_source_id: Any,
    *,
    event: Any = None,
    retention_days: Any = None,
    event_source: Any = None,
    ingestion_source: Any = None,
    url: Any = None,
    prefill: Any = None,
    event_data: Any = None,
    extra_rule: Any = None,
) -> dict[str, Any]:
    """A VISITOR rule: people who fired Pinterest tag events on your site (tag id ``visitor_source_id``)."""
    named = {
        "visitor_source_id": visitor_source_id,
        "event": event,
        "retention_days": retention_days,
        "event_source": event_source,
        "ingestion_source": ingestion_source,
        "url": url,
        "prefill": prefill,
        "event_data": event_data,
    }
    return _typed_rule("VISITOR", named, extra_rule)


def engagement_rule(
    engagement_domain: Any,
    *,
    engagement_type: Any = None,
    engager_type: Any = None,
    retention_days: Any = None,
    extra_rule: Any = None,
) -> dict[str, Any]:
    """An ENGAGEMENT rule: people who engaged with your Pins (filters such as ``pin_id`` via extra_rule)."""
    named = {
        "engagement_domain": engagement_domain,
        "engagement_type": engagement_type,
        "engager_type": engager_type,
        "retention_days": retention_days,
    }
    return _typed_rule("ENGAGEMENT", named, extra_rule)


def actalike_rule(seed_audience_ids: Any, *, country: Any = "US", percentage: Any) -> dict[str, Any]:
    """An ACTALIKE rule: people like the seed audiences, ``percentage`` (1-10) of ``country``."""
    named = {"seed_id": seed_audience_ids, "country": country, "percentage": percentage}
    return _typed_rule("ACTALIKE", named, None, {"seed_id": "seed_audience_ids"})
