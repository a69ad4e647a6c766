"""What every task of this provider shares: the connection, the hook, ``hook_params``, the ad account.

``PinterestHookMixin`` holds it for operators and the sensor alike (as Amazon's ``AwsBaseHookMixin``
does); ``PinterestBaseOperator`` is the operators' base class.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_pinterest_audiences import arguments
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.ids import pinterest_id

if TYPE_CHECKING:
    from airflow_provider_pinterest_audiences.arguments import ArgumentCheck
    from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook


# PinterestHook.default_conn_name, without importing the hook when a DAG file is parsed.
DEFAULT_CONN_ID = "pinterest_default"


class PinterestHookMixin:
    """The connection, the hook and the ad-account default of a Pinterest task.

    Its cooperative ``__init__`` assigns ``ad_account_id``, ``pinterest_conn_id`` and ``hook_params`` as
    given; the task's ``__init__`` ends with :meth:`check_literal_arguments` and ``execute`` starts with
    :meth:`checked_arguments`. Subclasses extend ``argument_checks`` (argument -> check, see
    ``arguments.py``).
    """

    ad_account_id: str | None
    pinterest_conn_id: str
    hook_params: dict[str, Any]
    argument_checks: ClassVar[Mapping[str, ArgumentCheck]] = {"ad_account_id": arguments.optional_id}

    def __init__(
        self,
        *,
        ad_account_id: str | None,
        pinterest_conn_id: str,
        hook_params: Mapping[str, Any] | None,
        **kwargs: Any,
    ) -> None:
        # No defaults here: the task's own signature has them, where Airflow's default_args can fill them.
        super().__init__(**kwargs)
        self.ad_account_id = ad_account_id
        self.pinterest_conn_id = pinterest_conn_id
        self.hook_params = dict(hook_params or {})

    @cached_property
    def hook(self) -> PinterestHook:
        """The task's hook: :meth:`new_hook`, made once."""
        return self.new_hook()

    def new_hook(self, **overrides: Any) -> PinterestHook:
        """A new hook on ``pinterest_conn_id``, made with ``hook_params`` updated by ``overrides``."""
        from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook

        return PinterestHook(self.pinterest_conn_id, **{**self.hook_params, **overrides})

    def resolve_ad_account_id(self) -> str:
        """The rendered ``ad_account_id``, else the connection's; an error naming it when neither is set."""
        account = self.ad_account_id or self.hook.default_ad_account_id
        if not account:
            raise PinterestInvalidArgumentError(
                "ad_account_id",
                f"not given, and connection {self.pinterest_conn_id!r} has no 'ad_account_id' extra; "
                "pass ad_account_id= or set the extra",
            )
        return pinterest_id(account, "ad_account_id")

    def check_literal_arguments(self) -> None:
        """Check the arguments set so far that are literal (templates and XComs wait for the run)."""
        arguments.check_literal_arguments(self, self.argument_checks)

    def checked_arguments(self) -> dict[str, Any]:
        """The rendered arguments, each through its check: call first in ``execute``."""
        return arguments.checked_arguments(self, self.argument_checks)


class PinterestBaseOperator(PinterestHookMixin, BaseOperator):
    """Base of this provider's operators.

    :param ad_account_id: ad account (templated); empty or ``None`` means the connection's
        ``ad_account_id`` extra.
    :param pinterest_conn_id: Airflow connection of type ``pinterest``.
    :param hook_params: extra keyword arguments for ``PinterestHook`` (e.g. ``retry_policy``, ``timeout``).
    """

    ui_color = "#e60023"
    ui_fgcolor = "#ffffff"

    def __init__(
        self,
        *,
        ad_account_id: str | None = None,
        pinterest_conn_id: str = DEFAULT_CONN_ID,
        hook_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            ad_account_id=ad_account_id,
            pinterest_conn_id=pinterest_conn_id,
            hook_params=hook_params,
            **kwargs,
        )
        self.check_literal_arguments()
