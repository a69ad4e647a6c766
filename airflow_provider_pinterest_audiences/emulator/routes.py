"""The Pinterest API v5 routes the emulator serves (mounted under ``/v5``).

Bodies are read once and checked by hand, so that every 400 is Pinterest's ``{code, message}`` naming
the field, and a 1 MB customer-list batch costs little more than a ``split``. A 400 carries code 1, or the
code of the spec's 400 example where the operation has one (``bad_request_code``). An ad account the
settings do not declare answers 403 before anything else is read.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .errors import bad_request, bad_request_code, unauthorized
from .pagination import parse_page
from .settings import EmulatorSettings
from .state import EmulatorState
from .validation import (
    AD_GROUP_STATUSES,
    CREATABLE_AUDIENCE_TYPES,
    LIST_TYPES,
    ad_group_updates,
    choice,
    expect_object,
    id_array,
    known_fields,
    optional_string,
    parse_json,
    parse_records,
    path_id,
    query_values,
    require_string,
    string_value,
    targeting_spec,
    validate_rule,
)

_OAUTH_FIELDS = ("grant_type", "refresh_token", "scope", "continuous_refresh")
_SIZING_FIELDS = (
    "auto_targeting_enabled",
    "creative_types",
    "keywords",
    "placement_group",
    "product_group_ids",
    "targeting_spec",
)
PLACEMENT_GROUPS = ("ALL", "SEARCH", "BROWSE", "OTHER")  # PlacementGroupType


def ok(content: Any) -> JSONResponse:
    """A 200 JSON answer."""
    return JSONResponse(content)


async def _json_object(request: Request) -> dict[str, Any]:
    return expect_object(parse_json(await request.body()), "The request body")


def _client_authenticated(header: str | None, settings: EmulatorSettings) -> bool:
    """HTTP Basic ``client_id:client_secret`` check for the token endpoint."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(client_id, settings.client_id) and hmac.compare_digest(
        secret, settings.client_secret
    )


def _query_choice(request: Request, name: str, allowed: tuple[str, str]) -> str:
    """An enum query parameter; the first allowed value when absent."""
    value = request.query_params.get(name, allowed[0])
    if value not in allowed:
        raise bad_request(f"{name} must be {' or '.join(allowed)}, got {value!r}.")
    return value


def pinterest_router(state: EmulatorState) -> APIRouter:
    """Every Pinterest endpoint the emulator implements, bound to ``state``."""
    router = APIRouter(prefix="/v5")
    lists_path = "/ad_accounts/{ad_account_id}/customer_lists"
    audiences_path = "/ad_accounts/{ad_account_id}/audiences"
    ad_groups_path = "/ad_accounts/{ad_account_id}/ad_groups"

    def account_of(ad_account_id: str) -> str:
        return state.require_account(path_id(ad_account_id, "ad_account_id"))

    def known(body: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
        return known_fields(body, allowed, state.settings.strict_fields)

    @router.post("/oauth/token")
    async def oauth_token(request: Request) -> JSONResponse:
        settings = state.settings
        if not _client_authenticated(request.headers.get("authorization"), settings):
            raise unauthorized()
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise bad_request("The token request must be form-encoded (application/x-www-form-urlencoded).")
        try:
            form = parse_qs((await request.body()).decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise bad_request("The token request body is not valid UTF-8.") from None
        fields = {key: values[-1] for key, values in known(form, _OAUTH_FIELDS).items()}
        grant_type = fields.get("grant_type")
        if grant_type != "refresh_token":
            raise bad_request(
                f"grant_type must be refresh_token (the only grant the emulator serves), got {grant_type!r}."
            )
        refresh_token = fields.get("refresh_token")
        if not refresh_token:
            raise bad_request("refresh_token is required.")
        if fields.get("continuous_refresh", "true").lower() not in ("true", "false"):
            raise bad_request("continuous_refresh must be true or false.")
        return ok(state.tokens.refresh(refresh_token, fields.get("scope"), settings, state.now()))

    @router.get("/ad_accounts")
    async def list_ad_accounts(request: Request) -> JSONResponse:
        items, bookmark = state.list_ad_accounts(parse_page(request.query_params))
        return ok({"items": items, "bookmark": bookmark})

    @router.get("/ad_accounts/{ad_account_id}")
    async def get_ad_account(ad_account_id: str) -> JSONResponse:
        return ok(state.get_ad_account(account_of(ad_account_id)))

    # -- customer lists ----------------------------------------------------------------------------

    @router.post(lists_path)
    async def create_customer_list(ad_account_id: str, request: Request) -> JSONResponse:
        account = account_of(ad_account_id)
        body = known(await _json_object(request), ("name", "records", "list_type"))
        name = require_string(body, "name")
        list_type = choice(body, "list_type", LIST_TYPES, default="EMAIL")
        records = parse_records(body.get("records"))
        return ok(state.create_customer_list(account, name, list_type, records))

    @router.get(lists_path)
    async def list_customer_lists(ad_account_id: str, request: Request) -> JSONResponse:
        account = account_of(ad_account_id)
        items, bookmark = state.list_customer_lists(account, parse_page(request.query_params))
        return ok({"items": items, "bookmark": bookmark})

    @router.get(lists_path + "/{customer_list_id}")
    async def get_customer_list(ad_account_id: str, customer_list_id: str) -> JSONResponse:
        account = account_of(ad_account_id)
        list_id = path_id(customer_list_id, "customer_list_id")
        return ok(state.get_customer_list(account, list_id))

    @router.patch(lists_path + "/{customer_list_id}")
    async def update_customer_list(
        ad_account_id: str, customer_list_id: str, request: Request
    ) -> JSONResponse:
        account = account_of(ad_account_id)
        list_id = path_id(customer_list_id, "customer_list_id")
        body = known(await _json_object(request), ("operation_type", "records"))
        operation = choice(body, "operation_type", ("ADD", "REMOVE"))
        records = parse_records(body.get("records"))
        return ok(state.update_customer_list(account, list_id, operation, records))

    # -- audiences ---------------------------------------------------------------------------------

    def _body_account(body: dict[str, Any], account: str) -> None:
        if body.get("ad_account_id", account) != account:
            raise bad_request(f"ad_account_id in the body must be the ad account of the URL, {account}.")

    @router.post(audiences_path)
    async def create_audience(ad_account_id: str, request: Request) -> JSONResponse:
        account = account_of(ad_account_id)
        body = known(
            await _json_object(request), ("audience_type", "name", "rule", "description", "ad_account_id")
        )
        if body.get("audience_type") == "PERSONA":
            raise bad_request(
                "audience_type PERSONA cannot be created through the API: "
                "persona audiences are made by Pinterest."
            )
        audience_type = choice(body, "audience_type", CREATABLE_AUDIENCE_TYPES)
        name = require_string(body, "name")
        if body.get("rule") is None:
            raise bad_request("rule is required.")
        rule = validate_rule(audience_type, body["rule"])
        description = optional_string(body, "description")
        _body_account(body, account)
        return ok(state.create_audience(account, audience_type, name, rule, description))

    @router.get(audiences_path)
    async def list_audiences(ad_account_id: str, request: Request) -> JSONResponse:
        # 400 example: {"code": 400, "message": "Invalid ad account audience parameters."}
        with bad_request_code(400):
            account = account_of(ad_account_id)
            page = parse_page(request.query_params)
            ownership = _query_choice(request, "ownership_type", ("OWNED", "RECEIVED"))
            items, bookmark = state.list_audiences(account, page, ownership)
        return ok({"items": items, "bookmark": bookmark})

    @router.get(audiences_path + "/{audience_id}")
    async def get_audience(ad_account_id: str, audience_id: str) -> JSONResponse:
        account = account_of(ad_account_id)
        return ok(state.get_audience(account, path_id(audience_id, "audience_id")))

    @router.patch(audiences_path + "/{audience_id}")
    async def update_audience(ad_account_id: str, audience_id: str, request: Request) -> JSONResponse:
        account = account_of(ad_account_id)
        target = path_id(audience_id, "audience_id")
        body = known(
            await _json_object(request), ("name", "rule", "description", "operation_type", "ad_account_id")
        )
        operation = choice(body, "operation_type", ("UPDATE", "REMOVE"), default="UPDATE")
        if "name" in body:
            string_value(body["name"], "name")
        optional_string(body, "description")
        _body_account(body, account)
        changes: dict[str, Any] = {key: body[key] for key in ("name", "rule", "description") if key in body}
        return ok(state.update_audience(account, target, operation, changes))

    async def _share(ad_account_id: str, request: Request, businesses: bool) -> JSONResponse:
        # 400 example of both sharing PATCHes: {"code": 400, "message": "Invalid ad account id"}
        with bad_request_code(400):
            account = account_of(ad_account_id)
            key = "recipient_business_ids" if businesses else "recipient_account_ids"
            body = known(await _json_object(request), ("audience_id", "operation_type", key))
            audience_id = require_string(body, "audience_id")
            path_id(audience_id, "audience_id")
            operation = choice(body, "operation_type", ("SHARE", "REVOKE"))
            if key not in body:
                raise bad_request(f"{key} is required.")
            recipients = id_array(body[key], key)
            return ok(state.share_audience(account, audience_id, operation, recipients, businesses))

    @router.patch(audiences_path + "/ad_accounts/shared")
    async def share_with_accounts(ad_account_id: str, request: Request) -> JSONResponse:
        return await _share(ad_account_id, request, businesses=False)

    @router.patch(audiences_path + "/businesses/shared")
    async def share_with_businesses(ad_account_id: str, request: Request) -> JSONResponse:
        return await _share(ad_account_id, request, businesses=True)

    @router.get(audiences_path + "/shared/accounts")
    async def list_shared_accounts(ad_account_id: str, request: Request) -> JSONResponse:
        # 400 example: {"code": 400, "message": "Invalid ad account audiences shared accounts parameters."}
        with bad_request_code(400):
            account = account_of(ad_account_id)
            audience_id = request.query_params.get("audience_id")
            if audience_id is None:
                raise bad_request("audience_id is required: the audience whose recipients to list.")
            path_id(audience_id, "audience_id")
            # AudienceAccountType: default AD_ACCOUNT.
            account_type = _query_choice(request, "account_type", ("AD_ACCOUNT", "BUSINESS_ACCOUNT"))
            page = parse_page(request.query_params)
            items, bookmark = state.list_shared_accounts(
                account, audience_id, account_type == "BUSINESS_ACCOUNT", page
            )
        return ok({"items": items, "bookmark": bookmark})

    @router.get("/businesses/{business_id}/audiences")
    async def list_business_audiences(business_id: str, request: Request) -> JSONResponse:
        # 400 example: {"code": 400, "message": "Invalid parameters."}
        with bad_request_code(400):
            business = path_id(business_id, "business_id", max_digits=20)  # path_business_user
            items, bookmark = state.list_business_audiences(business, parse_page(request.query_params))
        return ok({"items": items, "bookmark": bookmark})

    # -- ad groups ---------------------------------------------------------------------------------

    @router.get(ad_groups_path)
    async def list_ad_groups(ad_account_id: str, request: Request) -> JSONResponse:
        # 400 example: {"code": 400, "message": "Invalid ad account group parameters."}
        with bad_request_code(400):
            account = account_of(ad_account_id)
            query = request.query_params
            page = parse_page(query)
            ad_group_ids = query_values(query.getlist("ad_group_ids"), "ad_group_ids")
            campaign_ids = query_values(query.getlist("campaign_ids"), "campaign_ids")
            statuses = query_values(query.getlist("entity_statuses"), "entity_statuses", AD_GROUP_STATUSES)
            items, bookmark = state.list_ad_groups(
                account, page, ad_group_ids, campaign_ids, statuses or ["ACTIVE", "PAUSED"]
            )
        return ok({"items": items, "bookmark": bookmark})

    @router.patch(ad_groups_path)
    async def update_ad_groups(ad_account_id: str, request: Request) -> JSONResponse:
        account = account_of(ad_account_id)
        updates = ad_group_updates(parse_json(await request.body()), account, state.settings.strict_fields)
        return ok({"items": state.update_ad_groups(account, updates)})

    @router.post(ad_groups_path + "/audience_sizing")
    async def audience_sizing(ad_account_id: str, request: Request) -> JSONResponse:
        # 400 example: {"code": 400, "message": "Invalid ad group audience sizing parameters."}
        with bad_request_code(400):
            account = account_of(ad_account_id)
            body = known(await _json_object(request), _SIZING_FIELDS)
            choice(body, "placement_group", PLACEMENT_GROUPS, default="ALL")
            if not isinstance(body.get("auto_targeting_enabled", True), bool):
                raise bad_request("auto_targeting_enabled must be a boolean.")
            spec = targeting_spec(body.get("targeting_spec") or {}, "targeting_spec")
            return ok(state.audience_sizing(account, spec))

    @router.get(ad_groups_path + "/{ad_group_id}")
    async def get_ad_group(ad_account_id: str, ad_group_id: str) -> JSONResponse:
        account = account_of(ad_account_id)
        return ok(state.get_ad_group(account, path_id(ad_group_id, "ad_group_id")))

    return router
