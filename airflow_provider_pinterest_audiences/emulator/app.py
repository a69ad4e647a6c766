"""``create_app``: the FastAPI application, with the gate every ``/v5`` request passes through.

The gate, in order: latency, injected faults (storm 429, every-Nth 503), bearer auth (not for
``/v5/oauth/token``), rate limits, then the route. A gated request never reaches the route, so it
changes nothing. Every ``/v5`` request is counted in the request log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .control import control_router
from .errors import INVALID_PARAMETERS, ApiError, unauthorized
from .faults import OAUTH, request_category
from .routes import pinterest_router
from .settings import EmulatorSettings
from .state import EmulatorState


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


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

    @app.middleware("http")
    async def gate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if not path.startswith("/v5/"):
            return await call_next(request)
        current = emulator.settings
        category = request_category(request.method, path)
        if current.latency_ms > 0:
            await asyncio.sleep(current.latency_ms / 1000)
        error = emulator.traffic.fault(current)
        if error is None and category != OAUTH:
            if emulator.tokens.authenticate(_bearer(request), current, emulator.now()):
                error = emulator.traffic.rate_limit(category, current)
            else:
                error = unauthorized()
        response = _error_response(error) if error is not None else await call_next(request)
        emulator.record_request(request.method, path, category, response.status_code)
        return response

    app.include_router(pinterest_router(emulator))
    app.include_router(control_router(emulator))
    return app
