"""``PinterestShareAudienceOperator``: share an audience with other ad accounts and businesses, or revoke it.

The operator reads who the audience is shared with first and sends only the changes, so a re-run (or a
retry after a partial failure) changes nothing that is already as asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_pinterest_audiences.arguments import ArgumentCheck
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.ids import pinterest_id
from airflow_provider_pinterest_audiences.operators.base import PinterestBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

OPERATIONS = ("SHARE", "REVOKE")
#: recipient argument -> the account type Pinterest lists its shares under.
RECIPIENT_KINDS = {"recipient_account_ids": "AD_ACCOUNT", "recipient_business_ids": "BUSINESS_ACCOUNT"}


def id_list(value: Any, argument: str) -> tuple[str, ...]:
    """Ids as a list, a tuple or a comma-separated string (a rendered template); duplicates dropped."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, Mapping) or not isinstance(items, Sequence | set | frozenset):
        raise PinterestInvalidArgumentError(
            argument, f"expected a list of ids or a comma-separated string, got {type(value).__name__}"
        )
    texts = [str(item).strip() if isinstance(item, str | int) else item for item in items]
    return tuple(dict.fromkeys(pinterest_id(item, argument) for item in texts if item != ""))


class PinterestShareAudienceOperator(PinterestBaseOperator):
    """Share an audience of ``ad_account_id`` with ad accounts and businesses, or revoke it from them.

    The current shares are read first (``GET .../audiences/shared/accounts``), and only recipients whose
    share must change are sent: sharing with an account that already has the audience, or revoking from
    one that does not, sends nothing. Pushes a ``share_summary`` XCom (recipient ids per kind: ``changed``
    and ``unchanged``) and returns the audience id.

    To fan one audience out to several accounts, give them all in ``recipient_account_ids``, or map the
    task over them (``.partial(audience_id=...).expand(recipient_account_ids=[[a], [b]])``): each mapped
    task reads the shares itself.

    :param audience_id: the audience, owned by ``ad_account_id`` (templated).
    :param recipient_account_ids: ad accounts to share with or revoke from (templated): a list of ids or a
        comma-separated string.
    :param recipient_business_ids: businesses to share with or revoke from (templated), same forms.
    :param operation: ``SHARE`` (default) or ``REVOKE`` (case-insensitive).

    Other arguments (``ad_account_id``, the owner; ``pinterest_conn_id``, ``hook_params``): see
    :class:`~airflow_provider_pinterest_audiences.operators.base.PinterestBaseOperator`.
    """

    template_fields: Sequence[str] = (
        "ad_account_id",
        "audience_id",
        "recipient_account_ids",
        "recipient_business_ids",
    )
    argument_checks: ClassVar[Mapping[str, ArgumentCheck]] = {
        **PinterestBaseOperator.argument_checks,
        "audience_id": pinterest_id,
        "recipient_account_ids": id_list,
        "recipient_business_ids": id_list,
    }

    def __init__(
        self,
        *,
        audience_id: str,
        recipient_account_ids: Sequence[str] | str | None = None,
        recipient_business_ids: Sequence[str] | str | None = None,
        operation: str = "SHARE",
        ad_account_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ad_account_id=ad_account_id, **kwargs)
        self.audience_id = audience_id
        self.recipient_account_ids = recipient_account_ids
        self.recipient_business_ids = recipient_business_ids
        normalised = operation.upper() if isinstance(operation, str) else operation
        if normalised not in OPERATIONS:
            raise PinterestInvalidArgumentError(
                "operation", f"{operation!r} is not one of {', '.join(OPERATIONS)}"
            )
        self.operation = normalised
        if recipient_account_ids is None and recipient_business_ids is None:
            raise PinterestInvalidArgumentError(
                "recipient_account_ids", "give recipient_account_ids, recipient_business_ids or both"
            )
        self.check_literal_arguments()

    def execute(self, context: Context) -> str:
        checked = self.checked_arguments()
        owner = self.resolve_ad_account_id()
        audience_id: str = checked["audience_id"]
        if not checked["recipient_account_ids"] and not checked["recipient_business_ids"]:
            raise PinterestInvalidArgumentError(
                "recipient_account_ids", "rendered empty, and so did recipient_business_ids: no recipient"
            )
        if owner in checked["recipient_account_ids"]:
            raise PinterestInvalidArgumentError(
                "recipient_account_ids", f"holds {owner}, the ad account that owns the audience"
            )
        summary: dict[str, Any] = {"audience_id": audience_id, "operation": self.operation}
        try:
            for argument, account_type in RECIPIENT_KINDS.items():
                if checked[argument]:
                    summary[argument] = self._apply(owner, audience_id, account_type, checked[argument])
        finally:
            self.hook.close()
        context["ti"].xcom_push(key="share_summary", value=summary)
        self.log.info(
            "Audience %s: %s %s",
            audience_id,
            self.operation,
            "; ".join(
                f"{argument}: {len(kind['changed'])} changed, {len(kind['unchanged'])} already so"
                for argument, kind in summary.items()
                if argument in RECIPIENT_KINDS
            ),
        )
        return audience_id

    def _apply(
        self, owner: str, audience_id: str, account_type: str, recipients: tuple[str, ...]
    ) -> dict[str, list[str]]:
        """Share or revoke ``recipients`` of one kind; only those whose share changes are sent."""
        hook = self.hook
        shared = {
            str(item.get("account_id"))
            for item in hook.list_audience_shares(owner, audience_id, account_type=account_type)
        }
        sharing = self.operation == "SHARE"
        changed = [recipient for recipient in recipients if (recipient in shared) != sharing]
        if changed and account_type == "AD_ACCOUNT":
            hook.share_audience_with_ad_accounts(
                owner, audience_id=audience_id, recipient_account_ids=changed, operation_type=self.operation
            )
        elif changed:
            hook.share_audience_with_businesses(
                owner, audience_id=audience_id, recipient_business_ids=changed, operation_type=self.operation
            )
        return {"changed": changed, "unchanged": [r for r in recipients if r not in changed]}
