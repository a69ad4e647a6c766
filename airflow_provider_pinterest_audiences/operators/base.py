"""``PinterestBaseOperator``: the connection, the hook and the ad-account default every task shares."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_pinterest_audiences.arguments import literal_ad_account_id
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.ids import pinterest_id

if TYPE_CHECKING:
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook


class PinterestBaseOperator(BaseOperator):
    """What every operator of this provider shares: the connection and the ad account.

    :param ad_account_id: ad account (templated); empty or ``None`` means the connection's
        ``ad_account_id`` extra.
    :param pinterest_conn_id: Airflow connection of type ``pinterest``.
    :param hook_params: extra keyword arguments for ``PinterestHook`` (e.g. ``max_retries``).
    """

    ui_color = "#e60023"
    ui_fgcolor = "#ffffff"

    def __init__(
        self,
        *,
        ad_account_id: str | None = None,
        pinterest_conn_id: str = "pinterest_default",
        hook_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ad_account_id = ad_account_id
        self.pinterest_conn_id = pinterest_conn_id
        self.hook_params = dict(hook_params or {})
        literal_ad_account_id(ad_account_id)

    @cached_property
    def hook(self) -> PinterestHook:
        """The task's hook on ``pinterest_conn_id``, made with ``hook_params``."""
        from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

        return PinterestHook(self.pinterest_conn_id, **self.hook_params)

    def resolve_ad_account_id(self) -> str:
        """The rendered ``ad_account_id``, else the connection's; an error naming it when neither is set."""
        if self.ad_account_id:
            return pinterest_id(self.ad_account_id, "ad_account_id")
        default = self.hook.default_ad_account_id
        if not default:
            raise PinterestInvalidArgumentError(
                "ad_account_id",
                f"not given, and connection {self.pinterest_conn_id!r} has no 'ad_account_id' extra; "
                "pass ad_account_id= or set the extra",
            )
        return pinterest_id(default, "ad_account_id")
