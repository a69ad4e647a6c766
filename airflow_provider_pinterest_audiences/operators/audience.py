"""Operators that create, update and archive Pinterest audiences.

Create operators are get-or-create by name and type, so retries and re-runs never make a duplicate.
They return the audience id (XCom ``return_value``), push the audience object under ``audience`` and
its Ads Manager URL under ``audience_url`` (shown as the "Pinterest Ads Manager" link), declare the
outlet Asset ``pinterest://ad_accounts/<id>/audiences/<name>`` when the account and name are known at
parse time, and can wait until the audience is READY (``wait_for_ready``, optionally deferred).

Arguments are validated when the DAG is parsed where they are literal, and again after templates and
XComs are rendered, always before any HTTP call.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import conf

from airflow_provider_pinterest_audiences.arguments import (
    duration_seconds,
    has_unrendered_template,
    literal_ad_account_id,
    optional,
)
from airflow_provider_pinterest_audiences.assets import add_outlet_extra, audience_asset
from airflow_provider_pinterest_audiences.audience_rules import (
    actalike_rule,
    audience_rule,
    creatable_audience_type,
    customer_list_rule,
    engagement_rule,
    string_keyed_mapping,
    visitor_rule,
)
from airflow_provider_pinterest_audiences.audience_wait import (
    DEFAULT_POKE_INTERVAL,
    DEFAULT_TIMEOUT,
    AudienceWait,
    WaitTarget,
    audience_from_event,
    deferral_timeout,
    describe,
    wait_until_done,
)
from airflow_provider_pinterest_audiences.customer_lists.matching import MIN_MATCHED_USERS, net_records
from airflow_provider_pinterest_audiences.exceptions import PinterestError, PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.health import (
    HEALTH_ARGUMENT_CHECKS,
    HEALTH_TEMPLATE_FIELDS,
    check_guard_target,
    report_health,
)
from airflow_provider_pinterest_audiences.ids import pinterest_id
from airflow_provider_pinterest_audiences.links import (
    AUDIENCE_URL_XCOM_KEY,
    PinterestAudienceLink,
    audience_url,
)
from airflow_provider_pinterest_audiences.operators.base import PinterestBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_pinterest_audiences.arguments import ArgumentCheck


AUDIENCE_XCOM_KEY = "audience"
IF_EXISTS_CHOICES = ("reuse", "update", "fail")
_COMMON_CREATE_FIELDS = ("ad_account_id", "name", "description", "poll_interval", *HEALTH_TEMPLATE_FIELDS)


def _audience_name(value: Any, argument: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise PinterestInvalidArgumentError(argument, f"expected a non-empty string, got {value!r}")
    return value


def _description(value: Any, argument: str = "description") -> str | None:
    if value is not None and not isinstance(value, str):
        raise PinterestInvalidArgumentError(argument, f"expected a string or None, got {value!r}")
    return value


class _AudienceOperator(PinterestBaseOperator):
    """An operator acting on one audience: pushes it and its Ads Manager link, returns its id."""

    operator_extra_links = (PinterestAudienceLink(),)

    #: The account and the audience pushed, for OpenLineage (the listener may run in a forked process).
    _lineage_audience: tuple[str, Mapping[str, Any]]

    def push_link(self, context: Context, ad_account_id: str, audience: Mapping[str, Any]) -> None:
        context["ti"].xcom_push(key=AUDIENCE_URL_XCOM_KEY, value=audience_url(ad_account_id, audience["id"]))

    def push_audience(self, context: Context, ad_account_id: str, audience: Mapping[str, Any]) -> str:
        context["ti"].xcom_push(key=AUDIENCE_XCOM_KEY, value=dict(audience))
        self._lineage_audience = (ad_account_id, audience)
        return str(audience["id"])

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage: the customer list or seed audiences of its rule in, the audience out (as pushed)."""
        from airflow_provider_pinterest_audiences.lineage import audience_lineage

        account, audience = self._lineage_audience
        return audience_lineage(account, str(audience["id"]), audience.get("rule") or {})


class PinterestCreateAudienceOperator(_AudienceOperator):
    """Create an audience of any creatable type from a raw ``rule``, or reuse the one of that name.

    An audience with the same name and type (archived ones aside) is found first, so re-runs never
    duplicate. The typed subclasses build the rule from named arguments; prefer them.

    :param name: audience name (templated); the identity used to find an existing audience.
    :param audience_type: ``CUSTOMER_LIST``, ``VISITOR``, ``ENGAGEMENT`` or ``ACTALIKE``. ``PERSONA``
        audiences are made by Pinterest's sales team; an "open" audience is an ad group without
        ``AUDIENCE_INCLUDE`` (see ``PinterestUpdateAdGroupAudiencesOperator``).
    :param rule: the audience rule (templated), checked against the spec's ``AudienceRule``; keys the
        spec does not know (e.g. the guide's ``lookback_window``) pass through.
    :param description: audience description (templated).
    :param if_exists: ``reuse`` the existing audience as is, ``update`` its rule and description
        (PATCH, only when they differ), or ``fail``.
    :param wait_for_ready: after creating, wait until the audience is READY (fails on TOO_SMALL, ERROR,
        ARCHIVED; waits through Pinterest being briefly unavailable, as the sensor does).
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    :param poll_interval: time between status checks while waiting (default 15 minutes; templated).
    :param timeout: how long to wait (default 72 hours, the guide's upper bound).
    :param sent_count: unique valid identifiers sent (templated): a count or the upload's
        ``upload_summary`` XCom; with it the ``match_rate`` estimate is pushed (see ``health``).
    :param min_audience_size: with ``wait_for_ready``: fail (or warn) when the READY audience is smaller.
    :param min_match_rate: with ``wait_for_ready`` and ``sent_count``: fail (or warn) when the estimated
        match rate (size / sent) is lower, a share in (0, 1].
    :param on_low_match: ``fail`` (default) or ``warn`` when a guard falls short.

    Besides ``audience`` and ``audience_url``, pushes ``audience_size``, ``audience_status`` and
    ``match_rate`` (``None`` when not estimable), emits them as metrics, and puts them on the event of
    its outlet Asset as extras.
    """

    template_fields: Sequence[str] = (*_COMMON_CREATE_FIELDS, "rule")
    template_fields_renderers = {"rule": "json"}
    argument_checks: ClassVar[Mapping[str, ArgumentCheck]] = {
        **PinterestBaseOperator.argument_checks,
        "name": _audience_name,
        "description": _description,
        "poll_interval": duration_seconds,
        "timeout": duration_seconds,
        **HEALTH_ARGUMENT_CHECKS,
    }
    #: The arguments ``build_rule`` reads: the rule is checked when the DAG is parsed if they are literal.
    templated_rule_fields: ClassVar[tuple[str, ...]] = ("rule",)

    def __init__(
        self,
        *,
        name: str,
        audience_type: str,
        rule: Mapping[str, Any] | None,
        description: str | None = None,
        if_exists: str = "reuse",
        wait_for_ready: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: timedelta | float | str = DEFAULT_POKE_INTERVAL,
        timeout: timedelta | float = DEFAULT_TIMEOUT,
        sent_count: int | str | Mapping[str, Any] | None = None,
        min_audience_size: int | str | None = None,
        min_match_rate: float | str | None = None,
        on_low_match: str = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.audience_type = creatable_audience_type(audience_type)
        self.rule = rule
        self.description = description
        if if_exists not in IF_EXISTS_CHOICES:
            raise PinterestInvalidArgumentError(
                "if_exists", f"expected one of {', '.join(IF_EXISTS_CHOICES)}, got {if_exists!r}"
            )
        self.if_exists = if_exists
        self.wait_for_ready = wait_for_ready
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.sent_count = sent_count
        self.min_audience_size = min_audience_size
        self.min_match_rate = min_match_rate
        self.on_low_match = on_low_match
        self.check_literal_arguments()
        check_guard_target(
            vars(self),
            has_size=wait_for_ready,
            reason="wait_for_ready is False: the size is known once the audience is READY",
        )
        account = literal_ad_account_id(self.ad_account_id)
        if account is not None and not has_unrendered_template(name):
            self.outlets.append(audience_asset(account, name))

    def build_rule(self) -> dict[str, Any]:
        """The rule to send, validated (subclasses build it from their named arguments)."""
        return audience_rule(self.audience_type, self.rule)

    def check_literal_arguments(self) -> None:
        """Also build the rule once every argument it reads is set and literal."""
        super().check_literal_arguments()
        fields = self.templated_rule_fields
        if all(hasattr(self, field) for field in fields) and not has_unrendered_template(
            [getattr(self, field) for field in fields]
        ):
            self.build_rule()

    def execute(self, context: Context) -> str:
        checked = self.checked_arguments()
        rule = self.build_rule()
        account = self.resolve_ad_account_id()
        audience = self._get_or_create(account, checked["name"], checked["description"], rule)
        self.push_link(context, account, audience)
        if self.wait_for_ready:
            audience = self._wait_until_ready(account, audience, checked["poll_interval"], checked["timeout"])
        return self._finish(context, account, audience, checked)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> str:
        """Resume after the trigger: push the READY audience, or raise its failure or timeout."""
        audience = audience_from_event(event)
        self.log.info("%s", event.get("message"))
        return self._finish(context, self.resolve_ad_account_id(), audience, self.checked_arguments())

    def _finish(
        self, context: Context, account: str, audience: dict[str, Any], checked: Mapping[str, Any]
    ) -> str:
        """Push the audience and its health (the guard may raise), and put the figures on the outlet."""
        audience_id = self.push_audience(context, account, audience)
        health = report_health(context, audience, checked, "audience", self.log)
        asset = audience_asset(account, checked["name"])
        if asset in self.outlets:
            add_outlet_extra(context, asset, health.figures())
        return audience_id

    def check_before_create(self, account: str) -> None:
        """Refuse a create that cannot succeed, before the API call (subclasses; nothing by default)."""

    def _get_or_create(
        self, account: str, name: str, description: str | None, rule: dict[str, Any]
    ) -> dict[str, Any]:
        existing = self.hook.find_audience(account, name, audience_type=self.audience_type)
        if existing is None:
            self.check_before_create(account)
            created = self.hook.create_audience(
                account, name=name, audience_type=self.audience_type, rule=rule, description=description
            )
            self.log.info("Created Pinterest %s, status %s.", describe(created), created.get("status"))
            return created
        if self.if_exists == "fail":
            raise PinterestError(
                f"A {self.audience_type} audience named {name!r} already exists in ad account {account} "
                f"(id {existing['id']}) and if_exists='fail'. Use another name, or if_exists='reuse' "
                "or 'update'."
            )
        changed = _changed_fields(existing, rule, description)
        if self.if_exists == "update" and changed:
            updated = self.hook.update_audience(account, existing["id"], **changed)
            self.log.info("Updated the %s of Pinterest %s.", " and ".join(changed), describe(updated))
            return updated
        if changed:
            self.log.warning(
                "Reusing Pinterest %s as is, although its %s differ from this task's; "
                "if_exists='update' would apply them.",
                describe(existing),
                " and ".join(changed),
            )
        else:
            self.log.info("Reusing Pinterest %s, status %s.", describe(existing), existing.get("status"))
        return existing

    def _wait_until_ready(
        self, account: str, audience: dict[str, Any], poll_interval: float, timeout: float
    ) -> dict[str, Any]:
        """``audience`` once READY: waited for here, or in the triggerer (``execute_complete`` follows)."""
        wait = AudienceWait(WaitTarget("audience", str(audience["id"])), end_time=time.time() + timeout)
        if wait.observe(audience):
            return audience
        if self.deferrable:
            from airflow_provider_pinterest_audiences.triggers.audience import PinterestAudienceTrigger

            trigger = PinterestAudienceTrigger.for_wait(
                wait,
                pinterest_conn_id=self.pinterest_conn_id,
                ad_account_id=account,
                poll_interval=poll_interval,
            )
            self.defer(trigger=trigger, method_name="execute_complete", timeout=deferral_timeout(timeout))
        # Not deferrable (``defer`` raises TaskDeferred): wait here, by the same rules as the trigger.
        ready = wait_until_done(
            wait, lambda: self.hook.get_audience(account, wait.target.object_id), poll_interval
        )
        self.log.info("Pinterest %s is READY.", describe(ready))
        return ready


def _changed_fields(
    existing: Mapping[str, Any], rule: Mapping[str, Any], description: str | None
) -> dict[str, Any]:
    """The rule and description to PATCH onto ``existing`` so that it matches, if any differ."""
    changed: dict[str, Any] = {}
    current_rule = existing.get("rule") or {}
    if any(current_rule.get(key) != value for key, value in rule.items()):
        changed["rule"] = dict(rule)
    if description is not None and existing.get("description") != description:
        changed["description"] = description
    return changed


class PinterestCreateCustomerListAudienceOperator(PinterestCreateAudienceOperator):
    """Create (or reuse) a CUSTOMER_LIST audience over an uploaded customer list.

    :param customer_list_id: the customer list (templated), e.g. the upload task's ``.output``.
    :param min_members: before creating, fail when the list holds fewer records than this by its own
        counters (uploaded less removed; default 100, the guide's minimum; 0 skips the check).

    Other arguments: see :class:`PinterestCreateAudienceOperator`.
    """

    templated_rule_fields = ("customer_list_id",)
    template_fields = (*_COMMON_CREATE_FIELDS, *templated_rule_fields)

    def __init__(self, *, customer_list_id: str, min_members: int = MIN_MATCHED_USERS, **kwargs: Any) -> None:
        super().__init__(audience_type="CUSTOMER_LIST", rule=None, **kwargs)
        self.customer_list_id = customer_list_id
        if isinstance(min_members, bool) or not isinstance(min_members, int) or min_members < 0:
            raise PinterestInvalidArgumentError(
                "min_members", f"must be an integer of at least 0, got {min_members!r}"
            )
        self.min_members = min_members
        self.check_literal_arguments()

    def build_rule(self) -> dict[str, Any]:
        return customer_list_rule(self.customer_list_id)

    def check_before_create(self, account: str) -> None:
        """Refuse a list that holds fewer than ``min_members`` records by its own counters."""
        if not self.min_members:
            return
        list_id = str(self.build_rule()["customer_list_id"])
        holds = net_records(self.hook.get_customer_list(account, list_id))
        if holds is not None and holds < self.min_members:
            raise PinterestInvalidArgumentError(
                "customer_list_id",
                f"customer list {list_id} holds {holds} records (uploaded less removed), fewer than "
                f"min_members={self.min_members}: Pinterest needs at least {MIN_MATCHED_USERS} members "
                "for an audience. Upload more, or lower min_members if you know better. No audience was made",
            )


class PinterestCreateVisitorAudienceOperator(PinterestCreateAudienceOperator):
    """Create (or reuse) a VISITOR audience: people who fired Pinterest tag events on your site.

    :param visitor_source_id: the Pinterest tag id (templated).
    :param event: ``pagevisit``, ``signup``, ``checkout``, ``viewcategory``, ``search``, ``addtocart``,
        ``watchvideo``, ``lead``, ``custom`` (any case; ``PAGE_VISIT`` works) or a partner-defined event.
    :param retention_days: days a visitor stays in the audience, 1-540 (Pinterest's default 180).
    :param event_source: ``web``, ``mobile``, ``offline``: a list (sent as ``{"=": [...]}``) or the
        operator object as in the guide, ``{"in": [...]}`` / ``{"=": [...]}``.
    :param ingestion_source: ``tag``, ``mmp``, ``file_upload``, ``conversions_api``, in the same forms.
    :param url: visited URL(s) to filter on (a string or a list).
    :param prefill: apply the rule to existing event data (Pinterest's default true).
    :param event_data: event data fields to match; needs ``event``.
    :param extra_rule: further rule keys sent as given, e.g. the guide's ``lookback_window`` or
        ``event_type``; may not repeat a named argument.

    Other arguments: see :class:`PinterestCreateAudienceOperator`.
    """

    templated_rule_fields = (
        "visitor_source_id",
        "event",
        "retention_days",
        "event_source",
        "ingestion_source",
        "url",
        "event_data",
        "extra_rule",
    )
    template_fields = (*_COMMON_CREATE_FIELDS, *templated_rule_fields)
    template_fields_renderers = {"event_data": "json", "extra_rule": "json"}

    def __init__(
        self,
        *,
        visitor_source_id: str,
        event: str | None = None,
        retention_days: int | None = None,
        event_source: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        ingestion_source: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        url: str | Sequence[str] | None = None,
        prefill: bool | None = None,
        event_data: Mapping[str, Any] | None = None,
        extra_rule: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(audience_type="VISITOR", rule=None, **kwargs)
        self.visitor_source_id = visitor_source_id
        self.event = event
        self.retention_days = retention_days
        self.event_source = event_source
        self.ingestion_source = ingestion_source
        self.url = url
        self.prefill = prefill
        self.event_data = event_data
        self.extra_rule = extra_rule
        self.check_literal_arguments()

    def build_rule(self) -> dict[str, Any]:
        return visitor_rule(
            self.visitor_source_id,
            event=self.event,
            retention_days=self.retention_days,
            event_source=self.event_source,
            ingestion_source=self.ingestion_source,
            url=self.url,
            prefill=self.prefill,
            event_data=self.event_data,
            extra_rule=self.extra_rule,
        )


class PinterestCreateEngagementAudienceOperator(PinterestCreateAudienceOperator):
    """Create (or reuse) an ENGAGEMENT audience: people who engaged with your Pins.

    :param engagement_domain: your verified domain(s), e.g. ``["www.example.com"]`` (templated).
    :param engagement_type: ``click``, ``save``, ``closeup``, ``comment`` or ``like`` (any case);
        all engagements when omitted.
    :param engager_type: 1 or 2.
    :param retention_days: 1-540 (Pinterest's default 180).
    :param extra_rule: further rule keys: the spec's filters ``pin_id``, ``ad_id``, ``campaign_id``,
        ``objective_type``, ``url`` (checked), or the guide's ``lookback_window`` (sent as given).

    Other arguments: see :class:`PinterestCreateAudienceOperator`.
    """

    templated_rule_fields = (
        "engagement_domain",
        "engagement_type",
        "engager_type",
        "retention_days",
        "extra_rule",
    )
    template_fields = (*_COMMON_CREATE_FIELDS, *templated_rule_fields)
    template_fields_renderers = {"extra_rule": "json"}

    def __init__(
        self,
        *,
        engagement_domain: str | Sequence[str],
        engagement_type: str | None = None,
        engager_type: int | None = None,
        retention_days: int | None = None,
        extra_rule: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(audience_type="ENGAGEMENT", rule=None, **kwargs)
        self.engagement_domain = engagement_domain
        self.engagement_type = engagement_type
        self.engager_type = engager_type
        self.retention_days = retention_days
        self.extra_rule = extra_rule
        self.check_literal_arguments()

    def build_rule(self) -> dict[str, Any]:
        return engagement_rule(
            self.engagement_domain,
            engagement_type=self.engagement_type,
            engager_type=self.engager_type,
            retention_days=self.retention_days,
            extra_rule=self.extra_rule,
        )


class PinterestCreateActalikeAudienceOperator(PinterestCreateAudienceOperator):
    """Create (or reuse) an ACTALIKE audience: people who resemble the seed audiences.

    :param seed_audience_ids: seed audience ids (templated; XComs welcome, also inside a list).
    :param country: two-letter country code (Pinterest documents US, CA, GB).
    :param percentage: audience size as a percentage of the country's Pinterest users, 1-10.

    Other arguments: see :class:`PinterestCreateAudienceOperator`.
    """

    templated_rule_fields = ("seed_audience_ids", "country", "percentage")
    template_fields = (*_COMMON_CREATE_FIELDS, *templated_rule_fields)

    def __init__(
        self,
        *,
        seed_audience_ids: str | Sequence[str],
        percentage: int,
        country: str = "US",
        **kwargs: Any,
    ) -> None:
        super().__init__(audience_type="ACTALIKE", rule=None, **kwargs)
        self.seed_audience_ids = seed_audience_ids
        self.country = country
        self.percentage = percentage
        self.check_literal_arguments()

    def build_rule(self) -> dict[str, Any]:
        return actalike_rule(self.seed_audience_ids, country=self.country, percentage=self.percentage)


class PinterestUpdateAudienceOperator(_AudienceOperator):
    """Change an audience's name, rule and/or description (PATCH only what differs).

    :param audience_id: the audience (templated).
    :param name: new name (templated).
    :param rule: new rule (templated), checked against the audience's type.
    :param description: new description (templated).
    """

    template_fields: Sequence[str] = ("ad_account_id", "audience_id", "name", "rule", "description")
    template_fields_renderers = {"rule": "json"}
    argument_checks: ClassVar[Mapping[str, ArgumentCheck]] = {
        **_AudienceOperator.argument_checks,
        "audience_id": pinterest_id,
        "name": optional(_audience_name),
        "rule": optional(string_keyed_mapping),
        "description": _description,
    }

    def __init__(
        self,
        *,
        audience_id: str,
        name: str | None = None,
        rule: Mapping[str, Any] | None = None,
        description: str | None = None,
        ad_account_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ad_account_id=ad_account_id, **kwargs)
        self.audience_id = audience_id
        self.name = name
        self.rule = rule
        self.description = description
        if name is None and rule is None and description is None:
            raise PinterestInvalidArgumentError(
                "name", "nothing to update: pass at least one of name, rule or description"
            )
        self.check_literal_arguments()

    def execute(self, context: Context) -> str:
        checked = self.checked_arguments()
        audience_id = checked["audience_id"]
        requested = {key: checked[key] for key in ("name", "rule", "description") if checked[key] is not None}
        account = self.resolve_ad_account_id()
        current = self.hook.get_audience(account, audience_id)
        if "rule" in requested:
            requested["rule"] = audience_rule(str(current.get("audience_type")), requested["rule"])
        changes = {key: value for key, value in requested.items() if current.get(key) != value}
        if changes:
            current = self.hook.update_audience(account, audience_id, **changes)
            self.log.info("Updated the %s of Pinterest %s.", " and ".join(changes), describe(current))
        else:
            self.log.info("Pinterest %s already matches; nothing to update.", describe(current))
        self.push_link(context, account, current)
        return self.push_audience(context, account, current)


class PinterestArchiveAudienceOperator(_AudienceOperator):
    """Archive an audience (PATCH ``operation_type=REMOVE``); an archived audience is left as is.

    Archived audiences cannot be targeted by new ad groups, nor restored.

    :param audience_id: the audience (templated).
    """

    template_fields: Sequence[str] = ("ad_account_id", "audience_id")
    argument_checks: ClassVar[Mapping[str, ArgumentCheck]] = {
        **_AudienceOperator.argument_checks,
        "audience_id": pinterest_id,
    }

    def __init__(self, *, audience_id: str, ad_account_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(ad_account_id=ad_account_id, **kwargs)
        self.audience_id = audience_id
        self.check_literal_arguments()

    def execute(self, context: Context) -> str:
        audience_id = self.checked_arguments()["audience_id"]
        account = self.resolve_ad_account_id()
        audience = self.hook.get_audience(account, audience_id)
        if audience.get("status") == "ARCHIVED":
            self.log.info("Pinterest %s is already archived; nothing to do.", describe(audience))
        else:
            audience = self.hook.archive_audience(account, audience_id)
            self.log.info("Archived Pinterest %s.", describe(audience))
        self.push_link(context, account, audience)
        return self.push_audience(context, account, audience)
