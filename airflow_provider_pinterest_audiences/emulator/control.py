"""The inspection and control API under ``/_emulator`` (not Pinterest's): no auth, no limits, no faults.

- ``GET  /ad_accounts/{id}/customer_lists/{id}/records``: members, added, removed (+ counts)
- ``GET  /summary``: every account's lists, audiences and ad groups
- ``GET  /requests``: total, by_category, by_status, recent [{method, path, category, status}]
- ``GET|POST /faults``: read or change live settings (``state.LIVE_FIELDS``)
- ``POST /clock/advance`` ``{"seconds": N}``; ``POST /expire_tokens``; ``GET /tokens``
- ``POST /audiences/{id}/status`` ``{"status": "X" | null}``: any text (clients must survive unknown ones)
- ``POST /customer_lists/{id}/status`` ``{"status": "READY" | null}``: the spec's ``CustomerList.status`` enum
- ``POST /reset``: back to the seeded start (initial settings too)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .errors import bad_request
from .models import CUSTOMER_LIST_STATUSES
from .state import LIVE_FIELDS, EmulatorState
from .validation import expect_object, parse_json, path_id


async def _optional_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    return expect_object(parse_json(raw), "The request body") if raw.strip() else {}


async def _status(request: Request, allowed: tuple[str, ...] | None = None) -> str | None:
    body = await _optional_object(request)
    if "status" not in body:
        raise bad_request('status is required: {"status": "READY"} (or null to resume the lifecycle).')
    status = body["status"]
    if status is not None and (not isinstance(status, str) or not status):
        raise bad_request("status must be a non-empty string or null.")
    if status is not None and allowed is not None and status not in allowed:
        raise bad_request(f"status must be one of {', '.join(allowed)} or null, got {status!r}.")
    return status


def control_router(state: EmulatorState) -> APIRouter:
    """Routes for tests and demos: records, summary, request counters, faults, clock, tokens, reset."""
    router = APIRouter(prefix="/_emulator")

    def live_settings() -> dict[str, Any]:
        current = state.settings.as_dict()
        return {name: current[name] for name in sorted(LIVE_FIELDS)}

    @router.get("/ad_accounts/{ad_account_id}/customer_lists/{customer_list_id}/records")
    async def records(ad_account_id: str, customer_list_id: str) -> JSONResponse:
        account = path_id(ad_account_id, "ad_account_id")
        return JSONResponse(state.records(account, path_id(customer_list_id, "customer_list_id")))

    @router.get("/summary")
    async def summary() -> JSONResponse:
        return JSONResponse(state.summary())

    @router.get("/requests")
    async def requests_report() -> JSONResponse:
        return JSONResponse(state.requests_report())

    @router.get("/faults")
    async def get_faults() -> JSONResponse:
        return JSONResponse(live_settings())

    @router.post("/faults")
    async def set_faults(request: Request) -> JSONResponse:
        state.update_settings(await _optional_object(request))
        return JSONResponse(live_settings())

    @router.post("/clock/advance")
    async def advance_clock(request: Request) -> JSONResponse:
        seconds = (await _optional_object(request)).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise bad_request("seconds must be a number >= 0.")
        state.clock.advance(float(seconds))
        return JSONResponse({"now": state.now()})

    @router.post("/expire_tokens")
    async def expire_tokens() -> JSONResponse:
        return JSONResponse({"expired": state.tokens.expire_all()})

    @router.get("/tokens")
    async def tokens() -> JSONResponse:
        return JSONResponse(state.tokens.info(state.settings, state.now()))

    @router.post("/audiences/{audience_id}/status")
    async def force_audience_status(audience_id: str, request: Request) -> JSONResponse:
        target = path_id(audience_id, "audience_id")
        return JSONResponse(state.force_audience_status(target, await _status(request)))

    @router.post("/customer_lists/{customer_list_id}/status")
    async def force_customer_list_status(customer_list_id: str, request: Request) -> JSONResponse:
        target = path_id(customer_list_id, "customer_list_id")
        status = await _status(request, CUSTOMER_LIST_STATUSES)
        return JSONResponse(state.force_customer_list_status(target, status))

    @router.post("/reset")
    async def reset() -> JSONResponse:
        state.reset()
        return JSONResponse({"reset": True})

    return router
