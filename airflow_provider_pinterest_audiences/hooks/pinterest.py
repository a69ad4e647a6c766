"""Hooks over Pinterest's v5 audience endpoints: :class:`PinterestHook` (requests) for tasks and
:class:`PinterestAsyncHook` (httpx) for triggers. Both drive the same I/O-free policy in ``call_flow``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests
from airflow.providers.common.compat.sdk import BaseHook

try:
    from airflow.providers.common.compat.sdk import mask_secret
except ImportError:  # common-compat before 1.23 (the newest on Python 3.10): Airflow's own masker
    try:
        from airflow.sdk.execution_time.secrets_masker import mask_secret  # Airflow 3.0
    except ImportError:
        from airflow.utils.log.secrets_masker import mask_secret  # Airflow 2.11
from requests.adapters import HTTPAdapter

from airflow_provider_pinterest_audiences.connection_form import (
    legacy_form_widgets,
    legacy_ui_field_behaviour,
)
from airflow_provider_pinterest_audiences.exceptions import PinterestApiError, PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.hooks.call_flow import call_flow
from airflow_provider_pinterest_audiences.hooks.connection_config import PinterestConnectionConfig
from airflow_provider_pinterest_audiences.hooks.oauth import PROCESS_TOKENS, TokenGrant, TokenStore
from airflow_provider_pinterest_audiences.hooks.pagination import MAX_PAGES, PAGE_SIZE, Bookmarks
from airflow_provider_pinterest_audiences.hooks.rate_limit_waits import RateLimitWaits
from airflow_provider_pinterest_audiences.hooks.refresh_flow import refresh_flow
from airflow_provider_pinterest_audiences.hooks.replies import REQUIRED_KEYS, Reply
from airflow_provider_pinterest_audiences.hooks.request_body import encode_json_body
from airflow_provider_pinterest_audiences.hooks.retry_policy import RetryPolicy
from airflow_provider_pinterest_audiences.hooks.steps import (
    Adopt,
    FindExisting,
    LoadStoredGrant,
    PostToken,
    Refresh,
    SaveGrant,
    Send,
    Sleep,
    TransportFailure,
    drive,
    drive_async,
)
from airflow_provider_pinterest_audiences.ids import pinterest_id

if TYPE_CHECKING:
    import ssl
    from collections.abc import Awaitable

    import httpx

log = logging.getLogger(__name__)

JSON = dict[str, Any]
MAX_AD_GROUPS_PER_UPDATE = 30
_SIZING_BOUNDS = REQUIRED_KEYS["ad_groups/audience_sizing"]
#: Characters of a non-JSON answer kept for its error message (redacted and cut shorter there).
_TEXT_KEPT = 1200
_sleep = time.sleep
_async_sleep = asyncio.sleep


@dataclasses.dataclass(frozen=True)
class AudienceReach:
    """Pinterest's estimate of the people a targeting may reach per month: a range, not a count."""

    lower_bound: int
    upper_bound: int

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> AudienceReach:
        """From an ``AdGroupAudienceSizingResponse``; an error when a bound is not a number."""
        wrong = [
            f"{key} as {type(answer.get(key)).__name__}"
            for key in _SIZING_BOUNDS
            if isinstance(answer.get(key), bool) or not isinstance(answer.get(key), int | float)
        ]
        if wrong:
            raise PinterestApiError(
                "ad_groups/audience_sizing", None, None, f"answered {', '.join(wrong)}; expected numbers"
            )
        lower, upper = (int(answer[key]) for key in _SIZING_BOUNDS)
        return cls(lower, upper)

    def __str__(self) -> str:
        return f"{self.lower_bound:,}-{self.upper_bound:,}"


def _reply(response: requests.Response | httpx.Response) -> Reply:
    """A :class:`Reply` from a requests or httpx response (both expose the same attributes)."""
    try:
        return Reply(response.status_code, response.headers, response.json())
    except ValueError:
        return Reply(response.status_code, response.headers, response.text[:_TEXT_KEPT], is_json=False)


class _PinterestHookBase(BaseHook):
    """What both hooks share: connection metadata, configuration and the access token in use."""

    conn_name_attr = "pinterest_conn_id"
    default_conn_name = "pinterest_default"
    conn_type = "pinterest"
    hook_name = "Pinterest"

    def __init__(
        self,
        pinterest_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
        rate_limit_waits: RateLimitWaits | None = None,
    ) -> None:
        super().__init__()
        self.pinterest_conn_id = pinterest_conn_id
        self.retry_policy = retry_policy or RetryPolicy()
        self.timeout = timeout
        self.rate_limit_waits = rate_limit_waits or RateLimitWaits()
        self._config: PinterestConnectionConfig | None = None
        self._access_token: str | None = None

    def _config_from(self, host: str | None, password: str | None, extra: Mapping[str, Any]) -> None:
        config = PinterestConnectionConfig.from_fields(self.pinterest_conn_id, host, password, extra)
        for secret in config.secrets():
            mask_secret(secret)
        self._config = config

    @property
    def _token_store(self) -> TokenStore | None:
        name = self.config.oauth_variable
        return TokenStore(name) if name else None

    @staticmethod
    def _masked(grant: TokenGrant | None) -> TokenGrant | None:
        """``grant`` after registering its tokens with the secret masker (read from a Variable, say)."""
        if grant is not None:
            for token in (grant.access_token, grant.refresh_token):
                if token:
                    mask_secret(token)
        return grant

    @staticmethod
    def _masked_reply(reply: Reply) -> Reply:
        """A token endpoint answer, its new tokens registered with the masker before anything else."""
        if reply.is_json and isinstance(reply.body, dict):
            for key in ("access_token", "refresh_token"):
                if isinstance(reply.body.get(key), str) and reply.body[key]:
                    mask_secret(reply.body[key])
        return reply

    def _adopt_initial_token(self, stored: TokenGrant | None) -> bool:
        """Choose the starting access token; False when a refresh is needed first."""
        assert self._config is not None
        if stored is not None and stored.access_token_usable():
            self._use_token(stored.access_token)
        elif self._config.access_token:
            self._access_token = self._config.access_token
        elif not self._config.can_refresh:
            raise PinterestInvalidArgumentError(
                "password",
                f"connection {self.pinterest_conn_id!r} has no access token and no refresh credentials "
                "(client_id, client_secret, refresh_token in the extra)",
            )
        return self._access_token is not None

    def _counted(self, step: Sleep) -> float:
        """The seconds ``step`` waits, counted in :attr:`rate_limit_waits` when Pinterest answered 429."""
        if step.rate_limited:
            self.rate_limit_waits.add(step.seconds)
        return step.seconds

    def _use_token(self, access_token: str) -> None:
        mask_secret(access_token)
        self._access_token = access_token

    def _adopt_grant(self, grant: TokenGrant) -> None:
        """Use the new access token and remember the rotated refresh token for the next refresh."""
        assert self._config is not None
        self._masked(grant)
        if grant.refresh_token:
            self._config = dataclasses.replace(self._config, refresh_token=grant.refresh_token)
        self._use_token(grant.access_token)

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access_token}", "Accept": "application/json"}

    def _url(self, path: str) -> str:
        assert self._config is not None
        return f"{self._config.base_url}{path}"

    @property
    def config(self) -> PinterestConnectionConfig:
        """The connection's settings (loaded on first use)."""
        if self._config is None:
            raise RuntimeError("connection not loaded yet")
        return self._config


def account_path(ad_account_id: str, collection: str) -> str:
    """``/ad_accounts/{id}/{collection}``, e.g. ``customer_lists``, ``audiences``, ``ad_groups``."""
    return f"/ad_accounts/{pinterest_id(ad_account_id, 'ad_account_id')}/{collection}"


def customer_list_path(ad_account_id: str, customer_list_id: str) -> str:
    list_id = pinterest_id(customer_list_id, "customer_list_id")
    return f"{account_path(ad_account_id, 'customer_lists')}/{list_id}"


def audience_path(ad_account_id: str, audience_id: str) -> str:
    return f"{account_path(ad_account_id, 'audiences')}/{pinterest_id(audience_id, 'audience_id')}"


def ad_group_path(ad_account_id: str, ad_group_id: str) -> str:
    return f"{account_path(ad_account_id, 'ad_groups')}/{pinterest_id(ad_group_id, 'ad_group_id')}"


def _request_never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return type(reason).__name__ == "NewConnectionError"


class PinterestHook(_PinterestHookBase):
    """Synchronous client for Pinterest's audience endpoints, for use in tasks.

    :param pinterest_conn_id: Airflow connection of type ``pinterest``.
    :param retry_policy: how 429, 5xx and connection errors are retried.
    :param timeout: (connect, read) timeouts in seconds.
    :param rate_limit_waits: where to count the waits on HTTP 429 (``rate_limit_waits.figures()``); pass
        one tally to several hooks (an upload's sending threads) to count them together. Default: its own.
    """

    #: Pages one listing may take before it stops with an error (a loop in the API's bookmarks).
    max_pages = MAX_PAGES

    # On the registered hook class itself: Airflow 2.11-3.1 read the form only from there.
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return legacy_ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return legacy_form_widgets()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session: requests.Session | None = None

    @property
    def config(self) -> PinterestConnectionConfig:
        if self._config is None:
            conn = self.get_connection(self.pinterest_conn_id)
            self._config_from(conn.host, conn.password, conn.extra_dejson)
        return super().config

    @property
    def default_ad_account_id(self) -> str | None:
        return self.config.ad_account_id

    def get_conn(self) -> requests.Session:
        """The pooled session every call of this hook goes through.

        The environment (proxy variables, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``) is read once, here: left
        to ``trust_env``, requests re-reads all of it and ``~/.netrc`` on every request (about 1 ms with a
        worker's environment), and a ``.netrc`` entry for the API host would replace the bearer token.
        """
        if self._session is None:
            session = requests.Session()
            session.trust_env = False
            session.proxies = requests.utils.get_environ_proxies(self.config.base_url)
            session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- transport -------------------------------------------------------------------------------

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        find_existing: Callable[[], JSON | None] | None = None,
        replay_safe: bool = True,
    ) -> JSON:
        config = self.config
        if self._access_token is None and not self._adopt_initial_token(self._newest_known_grant()):
            self._refresh()
        flow = call_flow(
            operation,
            self.retry_policy,
            replay_safe=replay_safe,
            can_refresh=config.can_refresh,
            can_find_existing=find_existing is not None,
        )
        data = None if json_body is None else encode_json_body(json_body)  # once, whatever the retries
        handlers = self._handlers()
        handlers[Send] = lambda _: self._send(method, self._url(path), params, data)
        if find_existing is not None:
            handlers[FindExisting] = lambda _: find_existing()
        body: JSON = drive(flow, handlers)
        return body

    def _send(
        self, method: str, url: str, params: Mapping[str, Any] | None, data: bytes | None
    ) -> Reply | TransportFailure:
        headers = self._auth_headers()
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.get_conn().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return TransportFailure(type(exc).__name__, maybe_applied=not _request_never_sent(exc))
        return _reply(response)

    def _handlers(self) -> dict[type, Callable[[Any], Any]]:
        """The steps every flow of this hook may take; ``_call`` adds ``Send`` and ``FindExisting``."""
        return {
            Sleep: lambda step: _sleep(self._counted(step)),
            Refresh: lambda _: self._refresh(),
            PostToken: self._post_token,
            LoadStoredGrant: lambda _: self._load_stored_grant(),
            Adopt: lambda step: self._adopt_process_grant(step.grant),
            SaveGrant: self._save_grant,
        }

    def _post_token(self, step: PostToken) -> Reply:
        try:
            response = self.get_conn().post(
                step.request.url,
                data=step.request.data,
                headers=step.request.headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise PinterestApiError("oauth/token", None, None, type(exc).__name__) from None
        return self._masked_reply(_reply(response))

    def _load_stored_grant(self) -> TokenGrant | None:
        """The stored grant; a Variable that cannot be read raises (the async hook's warns instead)."""
        store = self._token_store
        return self._masked(store.load()) if store is not None else None

    def _save_grant(self, step: SaveGrant) -> str | None:
        store = self._token_store
        return store.try_save(step.grant) if store is not None else "no Variable configured"

    def _adopt_process_grant(self, grant: TokenGrant) -> None:
        """Use ``grant`` here and in this process's other hooks of the same credential chain."""
        PROCESS_TOKENS.put(self.config.credential_key, grant)
        self._adopt_grant(grant)

    def _newest_known_grant(self) -> TokenGrant | None:
        """The stored grant or the one another hook of this process obtained, whichever is newer."""
        grants = [g for g in (self._load_stored_grant(), PROCESS_TOKENS.get(self.config.credential_key)) if g]
        return max(grants, key=lambda grant: grant.issued_at, default=None)

    def _refresh(self) -> None:
        """Refresh once per process: a hook that waited for another thread's refresh adopts its grant."""
        key = self.config.credential_key
        rejected_token = self._access_token
        with PROCESS_TOKENS.lock(key):
            latest = PROCESS_TOKENS.get(key)
            if latest is not None and latest.access_token != rejected_token and latest.access_token_usable():
                self._adopt_grant(latest)
                return
            flow = refresh_flow(self.config, has_store=self._token_store is not None, known=latest)
            drive(flow, self._handlers())

    def _paginate(self, operation: str, path: str, params: Mapping[str, Any] | None = None) -> Iterator[JSON]:
        """Every item of a listing; stops with an error on a repeated bookmark or past ``MAX_PAGES``."""
        query: dict[str, Any] = {**(params or {}), "page_size": PAGE_SIZE}
        bookmarks = Bookmarks(operation, self.max_pages)
        while True:
            page = self._call(operation, "GET", path, params=query)
            yield from page.get("items") or []
            bookmark = bookmarks.after(page)
            if bookmark is None:
                return
            query["bookmark"] = bookmark

    # -- customer lists --------------------------------------------------------------------------

    def create_customer_list(
        self, ad_account_id: str, *, name: str, records: str, list_type: str = "EMAIL"
    ) -> JSON:
        """Create a list with its first batch of records (one comma-joined string)."""
        body = {"name": name, "records": records, "list_type": list_type}
        return self._call(
            "customer_lists/create",
            "POST",
            account_path(ad_account_id, "customer_lists"),
            json_body=body,
            replay_safe=False,
            find_existing=lambda: self.find_customer_list(ad_account_id, name),
        )

    def get_customer_list(self, ad_account_id: str, customer_list_id: str) -> JSON:
        return self._call("customer_lists/get", "GET", customer_list_path(ad_account_id, customer_list_id))

    def update_customer_list(
        self, ad_account_id: str, customer_list_id: str, *, operation_type: str, records: str
    ) -> JSON:
        """PATCH ``ADD`` or ``REMOVE`` one batch of records (replaying it is harmless)."""
        if operation_type not in ("ADD", "REMOVE"):
            raise PinterestInvalidArgumentError(
                "operation_type", f"expected ADD or REMOVE, got {operation_type!r}"
            )
        return self._call(
            "customer_lists/update",
            "PATCH",
            customer_list_path(ad_account_id, customer_list_id),
            json_body={"operation_type": operation_type, "records": records},
        )

    def list_customer_lists(self, ad_account_id: str) -> Iterator[JSON]:
        return self._paginate("customer_lists/list", account_path(ad_account_id, "customer_lists"))

    def find_customer_list(self, ad_account_id: str, name: str) -> JSON | None:
        """The oldest customer list with exactly this name, or ``None``."""
        return _oldest(
            (item for item in self.list_customer_lists(ad_account_id) if item.get("name") == name),
            "created_time",
        )

    # -- audiences -------------------------------------------------------------------------------

    def create_audience(
        self,
        ad_account_id: str,
        *,
        name: str,
        audience_type: str,
        rule: Mapping[str, Any],
        description: str | None = None,
    ) -> JSON:
        body: JSON = {"name": name, "audience_type": audience_type, "rule": dict(rule)}
        if description is not None:
            body["description"] = description
        return self._call(
            "audiences/create",
            "POST",
            account_path(ad_account_id, "audiences"),
            json_body=body,
            replay_safe=False,
            find_existing=lambda: self.find_audience(ad_account_id, name, audience_type=audience_type),
        )

    def get_audience(self, ad_account_id: str, audience_id: str) -> JSON:
        return self._call("audiences/get", "GET", audience_path(ad_account_id, audience_id))

    def update_audience(
        self,
        ad_account_id: str,
        audience_id: str,
        *,
        name: str | None = None,
        rule: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> JSON:
        body: JSON = {"operation_type": "UPDATE"}
        for key, value in (("name", name), ("rule", rule), ("description", description)):
            if value is not None:
                body[key] = dict(value) if isinstance(value, Mapping) else value
        return self._call(
            "audiences/update", "PATCH", audience_path(ad_account_id, audience_id), json_body=body
        )

    def archive_audience(self, ad_account_id: str, audience_id: str) -> JSON:
        """PATCH ``operation_type=REMOVE``: the audience becomes ARCHIVED."""
        return self._call(
            "audiences/update",
            "PATCH",
            audience_path(ad_account_id, audience_id),
            json_body={"operation_type": "REMOVE"},
        )

    def list_audiences(self, ad_account_id: str, *, ownership_type: str | None = None) -> Iterator[JSON]:
        params = {"ownership_type": ownership_type} if ownership_type else None
        return self._paginate("audiences/list", account_path(ad_account_id, "audiences"), params)

    def find_audience(
        self,
        ad_account_id: str,
        name: str,
        *,
        audience_type: str | None = None,
        include_archived: bool = False,
    ) -> JSON | None:
        """The oldest audience with this name (and type), skipping archived ones unless asked."""
        return _oldest(
            (
                item
                for item in self.list_audiences(ad_account_id)
                if item.get("name") == name
                and (audience_type is None or item.get("audience_type") == audience_type)
                and (include_archived or item.get("status") != "ARCHIVED")
            ),
            "created_timestamp",
        )

    def share_audience_with_ad_accounts(
        self,
        ad_account_id: str,
        *,
        audience_id: str,
        recipient_account_ids: Sequence[str],
        operation_type: str,
    ) -> JSON:
        """Share (``operation_type="SHARE"``) or revoke (``"REVOKE"``) an audience with other ad accounts."""
        return self._share(ad_account_id, audience_id, "ad_accounts", recipient_account_ids, operation_type)

    def share_audience_with_businesses(
        self,
        ad_account_id: str,
        *,
        audience_id: str,
        recipient_business_ids: Sequence[str],
        operation_type: str,
    ) -> JSON:
        """Share or revoke an audience with businesses."""
        return self._share(ad_account_id, audience_id, "businesses", recipient_business_ids, operation_type)

    def list_audience_shares(
        self, ad_account_id: str, audience_id: str, *, account_type: str = "AD_ACCOUNT"
    ) -> Iterator[JSON]:
        """Who an owned audience is shared with: ad accounts (``account_type="AD_ACCOUNT"``) or businesses
        (``"BUSINESS_ACCOUNT"``), as ``SharedAudienceAccount`` objects (``account_id``...)."""
        if account_type not in ("AD_ACCOUNT", "BUSINESS_ACCOUNT"):
            raise PinterestInvalidArgumentError(
                "account_type", f"expected AD_ACCOUNT or BUSINESS_ACCOUNT, got {account_type!r}"
            )
        params = {"audience_id": pinterest_id(audience_id, "audience_id"), "account_type": account_type}
        return self._paginate(
            "audiences/shared_accounts", f"{account_path(ad_account_id, 'audiences')}/shared/accounts", params
        )

    def _share(
        self,
        ad_account_id: str,
        audience_id: str,
        recipient_kind: str,
        recipient_ids: Sequence[str],
        operation_type: str,
    ) -> JSON:
        recipients_key = (
            "recipient_account_ids" if recipient_kind == "ad_accounts" else "recipient_business_ids"
        )
        if operation_type not in ("SHARE", "REVOKE"):
            raise PinterestInvalidArgumentError(
                "operation_type", f"expected SHARE or REVOKE, got {operation_type!r}"
            )
        body = {
            "audience_id": pinterest_id(audience_id, "audience_id"),
            recipients_key: [pinterest_id(i, recipients_key) for i in recipient_ids],
            "operation_type": operation_type,
        }
        return self._call(
            f"audiences/share_{recipient_kind}",
            "PATCH",
            f"{account_path(ad_account_id, 'audiences')}/{recipient_kind}/shared",
            json_body=body,
        )

    # -- ad accounts -----------------------------------------------------------------------------

    def list_ad_accounts(self) -> Iterator[JSON]:
        """Every ad account the token can use, shared ones included (``GET /ad_accounts``)."""
        return self._paginate("ad_accounts/list", "/ad_accounts")

    # -- ad groups -------------------------------------------------------------------------------

    def get_ad_group(self, ad_account_id: str, ad_group_id: str) -> JSON:
        return self._call("ad_groups/get", "GET", ad_group_path(ad_account_id, ad_group_id))

    def list_ad_groups(
        self,
        ad_account_id: str,
        *,
        ad_group_ids: Sequence[str] | None = None,
        campaign_ids: Sequence[str] | None = None,
        entity_statuses: Sequence[str] | None = None,
    ) -> Iterator[JSON]:
        params: dict[str, Any] = {}
        if ad_group_ids:
            params["ad_group_ids"] = [pinterest_id(i, "ad_group_ids") for i in ad_group_ids]
        if campaign_ids:
            params["campaign_ids"] = [pinterest_id(i, "campaign_ids") for i in campaign_ids]
        if entity_statuses:
            params["entity_statuses"] = list(entity_statuses)
        return self._paginate("ad_groups/list", account_path(ad_account_id, "ad_groups"), params)

    def update_ad_groups(self, ad_account_id: str, ad_groups: Sequence[Mapping[str, Any]]) -> JSON:
        """PATCH 1-30 ad groups. The answer's ``items`` may carry per-item ``exceptions``: check them."""
        if not 1 <= len(ad_groups) <= MAX_AD_GROUPS_PER_UPDATE:
            raise PinterestInvalidArgumentError(
                "ad_groups", f"expected 1 to {MAX_AD_GROUPS_PER_UPDATE} ad groups, got {len(ad_groups)}"
            )
        for item in ad_groups:
            pinterest_id(item.get("id"), "ad_groups[].id")
        return self._call(
            "ad_groups/update",
            "PATCH",
            account_path(ad_account_id, "ad_groups"),
            json_body=[dict(i) for i in ad_groups],
        )

    def audience_sizing(
        self,
        ad_account_id: str,
        targeting_spec: Mapping[str, Any],
        *,
        placement_group: str | None = None,
        auto_targeting_enabled: bool | None = None,
    ) -> AudienceReach:
        """How many people an ad group with this targeting may reach per month, as Pinterest estimates it
        (``POST /ad_accounts/{id}/ad_groups/audience_sizing``; read-only, ``ads_read`` rate limit).

        ``placement_group`` and ``auto_targeting_enabled`` are sent when given (Pinterest's defaults:
        ``ALL`` and True).
        """
        body: JSON = {"targeting_spec": dict(targeting_spec)}
        if placement_group is not None:
            body["placement_group"] = placement_group
        if auto_targeting_enabled is not None:
            body["auto_targeting_enabled"] = auto_targeting_enabled
        answer = self._call(
            "ad_groups/audience_sizing",
            "POST",
            f"{account_path(ad_account_id, 'ad_groups')}/audience_sizing",
            json_body=body,
        )
        return AudienceReach.from_answer(answer)

    # -- connection test -------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Cheap authenticated read, for ``airflow connections test`` and the UI's Test button."""
        try:
            account = self.config.ad_account_id
            if account:
                self._call(
                    "audiences/list", "GET", account_path(account, "audiences"), params={"page_size": 1}
                )
                return True, f"Connected to Pinterest; ad account {account} is readable."
            self._call("ad_accounts/list", "GET", "/ad_accounts", params={"page_size": 1})
            return True, "Connected to Pinterest."
        except Exception as exc:
            return False, str(exc)


def _oldest(items: Iterator[JSON], time_key: str) -> JSON | None:
    matches = list(items)
    if len(matches) > 1:
        log.warning("%d objects share that name; using the oldest.", len(matches))
    return min(matches, key=lambda item: (item.get(time_key) or 0, int(item.get("id") or 0)), default=None)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every async client in the process: each costs ~1 MB and ~30 ms to build,
    which a triggerer running a thousand waiting triggers cannot afford."""
    import httpx

    return httpx.create_ssl_context()


class PinterestAsyncHook(_PinterestHookBase):
    """Async client (httpx) for triggers: one client for the hook's life, same auth and retry policy.

    The connection is fetched with the async compat helper, never the sync ``get_connection()``.
    Use as ``async with PinterestAsyncHook(conn_id) as hook: ...``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> PinterestAsyncHook:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _load(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx
            from airflow.providers.common.compat import connection as compat

            conn = await compat.get_async_connection(self.pinterest_conn_id, hook=self)
            if hasattr(compat, "get_async_extra_dejson"):
                extra = await compat.get_async_extra_dejson(conn)
            else:  # common-compat before 1.23 (Python 3.10): parse the extra off the event loop
                extra = await asyncio.to_thread(lambda: conn.extra_dejson)
            self._config_from(conn.host, conn.password, extra)
            connect, read = self.timeout
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(read, connect=connect), verify=_ssl_context(), follow_redirects=False
            )
        return self._client

    async def _call(self, operation: str, path: str) -> JSON:
        client = await self._load()
        if self._access_token is None and not self._adopt_initial_token(await self._load_stored_grant()):
            await self._refresh()
        flow = call_flow(
            operation,
            self.retry_policy,
            replay_safe=True,
            can_refresh=self.config.can_refresh,
            can_find_existing=False,
        )
        handlers = self._handlers(client)
        handlers[Send] = lambda _: self._send(client, path)
        body: JSON = await drive_async(flow, handlers)
        return body

    def _handlers(self, client: httpx.AsyncClient) -> dict[type, Callable[[Any], Awaitable[Any]]]:
        """The steps every flow of this hook may take (no ``FindExisting``: it only reads); ``_call`` adds
        ``Send``."""

        async def adopt(step: Adopt) -> None:
            self._adopt_grant(step.grant)

        return {
            Sleep: lambda step: _async_sleep(self._counted(step)),
            Refresh: lambda _: self._refresh(),
            PostToken: lambda step: self._post_token(client, step),
            LoadStoredGrant: lambda _: self._load_stored_grant(),
            Adopt: adopt,
            SaveGrant: self._save_grant,
        }

    async def _send(self, client: httpx.AsyncClient, path: str) -> Reply | TransportFailure:
        import httpx

        try:
            return _reply(await client.get(self._url(path), headers=self._auth_headers()))
        except httpx.TransportError as exc:
            return TransportFailure(type(exc).__name__, maybe_applied=True)

    async def _post_token(self, client: httpx.AsyncClient, step: PostToken) -> Reply:
        import httpx

        try:
            response = await client.post(
                step.request.url, data=step.request.data, headers=step.request.headers
            )
        except httpx.TransportError as exc:
            raise PinterestApiError("oauth/token", None, None, type(exc).__name__) from None
        return self._masked_reply(_reply(response))

    async def _load_stored_grant(self) -> TokenGrant | None:
        """The stored grant; unlike a task's hook, ``None`` (with a warning) when the Variable cannot be read.

        Deliberate: a wait in the triggerer carries on with the connection's token rather than end with an
        error, while a task fails loudly (its retries apply) instead of refreshing from a stale token.
        """
        from asgiref.sync import sync_to_async

        store = self._token_store
        if store is None:
            return None
        try:
            return self._masked(await sync_to_async(store.load)())
        except Exception as exc:
            log.warning(
                "Cannot read Variable %r from here (%s); using the connection's token.",
                store.variable_name,
                type(exc).__name__,
            )
            return None

    async def _save_grant(self, step: SaveGrant) -> str | None:
        from asgiref.sync import sync_to_async

        store = self._token_store
        return (
            await sync_to_async(store.try_save)(step.grant) if store is not None else "no Variable configured"
        )

    async def _refresh(self) -> None:
        """:func:`refresh_flow` from the stored grant, with no ``known`` grant as the sync hook passes: async
        hooks share no grants within the process (``Adopt`` is theirs alone), so none is known beyond it."""
        client = await self._load()
        flow = refresh_flow(self.config, has_store=self._token_store is not None)
        await drive_async(flow, self._handlers(client))

    async def get_audience(self, ad_account_id: str, audience_id: str) -> JSON:
        return await self._call("audiences/get", audience_path(ad_account_id, audience_id))

    async def get_customer_list(self, ad_account_id: str, customer_list_id: str) -> JSON:
        return await self._call("customer_lists/get", customer_list_path(ad_account_id, customer_list_id))
