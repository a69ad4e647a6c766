"""``PinterestUpdateAdGroupAudiencesOperator``: target audiences in ad groups (``AUDIENCE_INCLUDE`` /
``AUDIENCE_EXCLUDE``), keeping every other targeting key.

Whether Pinterest's PATCH merges or replaces ``targeting_spec`` is not documented, so each ad group is
read, its spec merged here, and the full spec written back; the answer is then checked item by item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pinterest_audiences.arguments import has_unrendered_template, optional, whole_number
from airflow_provider_pinterest_audiences.exceptions import PinterestError, PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.ids import flatten, pinterest_ids
from airflow_provider_pinterest_audiences.operators.base import PinterestBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_pinterest_audiences.arguments import ArgumentCheck
    from airflow_provider_pinterest_audiences.hooks.pinterest import JSON

MODES = ("add", "replace", "remove")
INCLUDE_KEY = "AUDIENCE_INCLUDE"
EXCLUDE_KEY = "AUDIENCE_EXCLUDE"


def merged_targeting(
    targeting_spec: Mapping[str, Any] | None,
    include: Sequence[str] | None,
    exclude: Sequence[str] | None,
    mode: str,
) -> dict[str, Any]:
    """``targeting_spec`` with its audience lists changed as ``mode`` says and every other key kept.

    ``add`` appends missing ids, ``remove`` drops the given ids, ``replace`` sets the list; ``None``
    leaves a list alone. An emptied list is omitted: no ``AUDIENCE_INCLUDE`` is an open audience.
    """
    merged = dict(targeting_spec or {})
    for key, ids in ((INCLUDE_KEY, include), (EXCLUDE_KEY, exclude)):
        if ids is None:
            continue
        current = [str(item) for item in merged.get(key) or []]
        if mode == "add":
            wanted = current + [item for item in ids if item not in current]
        elif mode == "remove":
            wanted = [item for item in current if item not in ids]
        else:
            wanted = list(ids)
        if wanted:
            merged[key] = wanted
        else:
            merged.pop(key, None)
    return merged


def audience_targeting(targeting_spec: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Just the audience lists of a targeting spec (absent lists as ``[]``)."""
    spec = targeting_spec or {}
    return {key: [str(item) for item in spec.get(key) or []] for key in (INCLUDE_KEY, EXCLUDE_KEY)}


class PinterestLowReachError(PinterestError):
    """Pinterest estimates that an ad group's new targeting reaches fewer people than ``min_reach``."""


class PinterestUpdateAdGroupAudiencesOperator(PinterestBaseOperator):
    """Include and/or exclude audiences in ad groups, never dropping their other targeting keys.

    Ad groups already targeted as asked are not written; the others are PATCHed in batches of at most
    30, and any per-item exception in Pinterest's answer fails the task naming the ad group. Re-running
    is safe: the merge is idempotent.

    :param ad_group_ids: one ad group id or a list (templated; XComs welcome, also inside a list).
    :param include: audience ids for ``AUDIENCE_INCLUDE`` (templated), e.g. ``[create_actalike.output]``.
        ``include=[]`` with ``mode="replace"`` makes the ad groups target an open audience.
    :param exclude: audience ids for ``AUDIENCE_EXCLUDE`` (templated).
    :param mode: ``add`` (default), ``replace`` or ``remove``; applies to each list given.
    :param dry_run: read the ad groups and log, per ad group, the audience targeting it would change
        (before -> after); send no PATCH. ``min_reach`` is still checked.
    :param min_reach: before any PATCH, ask Pinterest's audience sizing for each ad group to be changed,
        with its new targeting (and its placement group and auto-targeting setting), and fail with
        :class:`PinterestLowReachError`, naming every ad group whose estimated monthly reach has a lower
        bound below this number; nothing is written then. ``None`` (default) asks nothing (templated).

    Returns (XCom) ``{ad_group_id: {"AUDIENCE_INCLUDE": [...], "AUDIENCE_EXCLUDE": [...]}}`` as targeted.
    """

    template_fields: Sequence[str] = ("ad_account_id", "ad_group_ids", "include", "exclude", "min_reach")
    argument_checks: ClassVar[Mapping[str, ArgumentCheck]] = {
        **PinterestBaseOperator.argument_checks,
        "ad_group_ids": pinterest_ids,
        "include": optional(partial(pinterest_ids, allow_empty=True)),
        "exclude": optional(partial(pinterest_ids, allow_empty=True)),
        "min_reach": optional(whole_number),
    }

    def __init__(
        self,
        *,
        ad_group_ids: str | Sequence[str],
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        mode: str = "add",
        dry_run: bool = False,
        min_reach: int | str | None = None,
        ad_account_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ad_account_id=ad_account_id, **kwargs)
        self.ad_group_ids = ad_group_ids
        self.include = include
        self.exclude = exclude
        if mode not in MODES:
            raise PinterestInvalidArgumentError("mode", f"expected one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        if not isinstance(dry_run, bool):
            raise PinterestInvalidArgumentError("dry_run", f"expected True or False, got {dry_run!r}")
        self.dry_run = dry_run
        self.min_reach = min_reach
        if include is None and exclude is None:
            raise PinterestInvalidArgumentError(
                "include",
                "pass include and/or exclude (audience ids); include=[] with mode='replace' makes an "
                "open audience",
            )
        self.check_literal_arguments()
        if not has_unrendered_template([include, exclude]):
            _check_disjoint(include, exclude)

    def execute(self, context: Context) -> dict[str, dict[str, list[str]]]:
        from airflow_provider_pinterest_audiences.hooks.pinterest import MAX_AD_GROUPS_PER_UPDATE

        checked = self.checked_arguments()
        ad_group_ids, include, exclude = checked["ad_group_ids"], checked["include"], checked["exclude"]
        _check_disjoint(include, exclude)
        account = self.resolve_ad_account_id()
        to_write: list[tuple[str, dict[str, Any]]] = []
        targeted: dict[str, dict[str, list[str]]] = {}
        groups: dict[str, JSON] = {}
        for ad_group_id in ad_group_ids:
            groups[ad_group_id] = self.hook.get_ad_group(account, ad_group_id)
            current = groups[ad_group_id].get("targeting_spec") or {}
            merged = merged_targeting(current, include, exclude, self.mode)
            targeted[ad_group_id] = audience_targeting(merged)
            _check_not_both(ad_group_id, targeted[ad_group_id])
            if merged != current:
                to_write.append((ad_group_id, merged))
                if self.dry_run:
                    self.log.info(
                        "Dry run: ad group %s would change its audience targeting from %s to %s.",
                        ad_group_id,
                        audience_targeting(current),
                        targeted[ad_group_id],
                    )
        if checked["min_reach"] is not None:
            self._check_reach(account, to_write, groups, checked["min_reach"])
        if self.dry_run:
            self.log.info(
                "Dry run (mode=%s): %d ad groups would be updated, %d already targeted as asked; "
                "nothing was sent.",
                self.mode,
                len(to_write),
                len(ad_group_ids) - len(to_write),
            )
            return targeted
        for start in range(0, len(to_write), MAX_AD_GROUPS_PER_UPDATE):
            batch = to_write[start : start + MAX_AD_GROUPS_PER_UPDATE]
            answer = self.hook.update_ad_groups(
                account, [{"id": ad_group_id, "targeting_spec": spec} for ad_group_id, spec in batch]
            )
            _check_answer(batch, answer, written_before=start)
        self.log.info(
            "Pinterest ad groups (mode=%s): %d updated, %d already targeted as asked.",
            self.mode,
            len(to_write),
            len(ad_group_ids) - len(to_write),
        )
        return targeted

    def _check_reach(
        self,
        account: str,
        to_write: Sequence[tuple[str, Mapping[str, Any]]],
        groups: Mapping[str, JSON],
        min_reach: int,
    ) -> None:
        """Raise :class:`PinterestLowReachError` naming each ad group of ``to_write`` whose new targeting
        Pinterest estimates below ``min_reach`` (the lower bound of its range); log every estimate."""
        short = []
        for ad_group_id, spec in to_write:
            group = groups[ad_group_id]
            reach = self.hook.audience_sizing(
                account,
                spec,
                placement_group=group.get("placement_group"),
                auto_targeting_enabled=group.get("auto_targeting_enabled"),
            )
            self.log.info(
                "Ad group %s: Pinterest estimates a monthly reach of %s people with the new targeting "
                "(min_reach %d).",
                ad_group_id,
                reach,
                min_reach,
            )
            if reach.lower_bound < min_reach:
                short.append(f"ad group {ad_group_id} {reach}")
        if short:
            raise PinterestLowReachError(
                f"min_reach={min_reach}: expected an estimated monthly reach of at least {min_reach:,} "
                f"people (the lower bound of Pinterest's audience sizing), saw {'; '.join(short)}. "
                "No ad group was updated."
            )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage: audiences included or excluded in, ad groups targeted out (none in a dry run)."""
        from airflow_provider_pinterest_audiences.lineage import ad_group_lineage

        checked = self.checked_arguments()
        audiences = [*(checked["include"] or []), *(checked["exclude"] or [])]
        ad_groups = [] if self.dry_run else checked["ad_group_ids"]
        return ad_group_lineage(self.resolve_ad_account_id(), ad_groups, audiences)


def _check_disjoint(include: Any, exclude: Any) -> None:
    """No audience both included and excluded (``include`` and ``exclude`` hold valid ids)."""
    both = sorted(
        {str(item).strip() for item in flatten(include)} & {str(item).strip() for item in flatten(exclude)}
    )
    if both:
        raise PinterestInvalidArgumentError(
            "exclude", f"{both} also appear in include; an audience cannot be both included and excluded"
        )


def _check_not_both(ad_group_id: str, targeting: Mapping[str, list[str]]) -> None:
    both = sorted(set(targeting[INCLUDE_KEY]) & set(targeting[EXCLUDE_KEY]))
    if both:
        raise PinterestInvalidArgumentError(
            "include",
            f"ad group {ad_group_id} would both include and exclude {both}; remove them from the other "
            "list first (mode='remove')",
        )


def _check_answer(
    batch: Sequence[tuple[str, Mapping[str, Any]]], answer: Mapping[str, Any], *, written_before: int
) -> None:
    """Raise naming every ad group of ``batch`` that Pinterest rejected or did not target as sent."""
    items = list(answer.get("items") or [])
    problems = []
    for index, (ad_group_id, sent) in enumerate(batch):
        item = items[index] if index < len(items) else {}
        exceptions = item.get("exceptions") or []
        if exceptions:
            reasons = "; ".join(f"{e.get('message')} (code {e.get('code')})" for e in exceptions)
            problems.append(f"ad group {ad_group_id}: {reasons}")
            continue
        written = (item.get("data") or {}).get("targeting_spec")
        expected = audience_targeting(sent)
        if written is None or _as_sets(audience_targeting(written)) != _as_sets(expected):
            problems.append(
                f"ad group {ad_group_id}: Pinterest answered with audience targeting "
                f"{audience_targeting(written)} instead of {expected}"
            )
    if problems:
        raise PinterestError(
            f"Pinterest did not apply {len(problems)} of {len(batch)} ad group updates "
            f"({written_before} written in earlier batches): {' | '.join(problems)}. "
            "Fix the cause and re-run: ad groups already targeted as asked are skipped."
        )


def _as_sets(targeting: Mapping[str, list[str]]) -> dict[str, set[str]]:
    return {key: set(ids) for key, ids in targeting.items()}
