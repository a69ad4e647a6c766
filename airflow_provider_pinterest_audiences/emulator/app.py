"""``create_app``: the FastAPI application, with the gate every ``/v5`` request passes through.

The gate, in order: latency, injected faults (storm 429, every-Nth 503), bearer auth (not for
``/v5/oauth/token``), rate limits, then the route. A gated request never reaches the route, so it
changes nothing. Every ``/v5`` request is counted in the request log.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .control import control_router
from .errors import INVALID_PARAMETERS, ApiError, unauthorized
from .faults import OAUTH, request_category
from .routes import pinterest_router
from .settings import EmulatorSettings
from .state import EmulatorState


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def _bearer(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class _Gate:
    """Pure ASGI middleware (no request or response streams copied: a 1 MB batch passes straight through)."""

    def __init__(self, app: ASGIApp, emulator: EmulatorState) -> None:
        self._app = app
        self._emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v5/"):
            await self._app(scope, receive, send)
            return
        emulator, method = self._emulator, scope["method"]
        current = emulator.settings
        category = request_category(method, path)
        if current.latency_ms > 0:
            await asyncio.sleep(current.latency_ms / 1000)
        error = emulator.traffic.fault(current)
        if error is None and category != OAUTH:
            if emulator.tokens.authenticate(_bearer(Headers(scope=scope)), current, emulator.now()):
                error = emulator.traffic.rate_limit(category, current)
            else:
                error = unauthorized()
        if error is not None:
            await _error_response(error)(scope, receive, send)
            emulator.record_request(method, path, category, error.status)
            return
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self._app(scope, receive, send_noting_status)
        emulator.record_request(method, path, category, status)


async def _api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return _error_response(error)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item.get('loc', ()) if part not in ('body', 'query', 'path'))}: "
        f"{item.get('msg', 'invalid')}"
        for item in error.errors()
    )
    return JSONResponse(
        {"code": INVALID_PARAMETERS, "message": f"Invalid request: {problems}"}, status_code=400
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    message = f"{request.method} {request.url.path}: {error.detail}"
    return JSONResponse({"code": error.status_code, "message": message}, status_code=error.status_code)


def create_app(settings: EmulatorSettings | None = None, *, state: EmulatorState | None = None) -> FastAPI:
    """The emulator app. Pass ``state`` to share one store (``EmulatorServer`` does); else one is made."""
    emulator = state if state is not None else EmulatorState(settings)
    app = FastAPI(title="Pinterest API emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.emulator = emulator
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)

    app.add_middleware(_Gate, emulator=emulator)
    app.include_router(pinterest_router(emulator))
    app.include_router(control_router(emulator))
    return app
