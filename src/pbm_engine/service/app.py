"""The application factory: settings in, a FastAPI app out.

Every worker process loads the book once, reads through per-thread read-only SQLite
connections and writes claims through one read-write store.  Errors are RFC 9457 problem
details (``application/problem+json``) carrying the NCPDP reject code where one applies; a
rejected claim is not an error (200 with status R).  The access log holds the method, the
route template (never the member id or query) and the status.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pbm_engine.engine import Engine
from pbm_engine.errors import PbmError, StoreError
from pbm_engine.portal.estimate import EstimateError
from pbm_engine.service import routes_carin, routes_claims, routes_members
from pbm_engine.service.auth import LOOPBACK, Authenticator
from pbm_engine.service.context import SETTINGS_ENV, ApiProblem, Context, Settings
from pbm_engine.service.models import Health
from pbm_engine.service.stores import ReadPool, open_readonly
from pbm_engine.sources.compiled import load_book
from pbm_engine.store import is_postgres

log = logging.getLogger("pbm_engine.service")
LOG_FORMAT = "%(asctime)s %(name)s %(message)s"


class AccessLog:
    """Pure ASGI middleware logging method, route template, status and time -- never the path
    itself (it holds member ids), the query or the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = getattr(scope.get("route"), "path", "(unmatched)")
            log.info("%s %s %d %.1fms", scope["method"], template, status,
                     (time.perf_counter() - start) * 1000)


def problem(status: int, title: str, detail: str, reject_code: str | None = None,
            errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """An RFC 9457 problem response (JSON) with the given status, title and detail."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status,
                            "detail": detail}
    if reject_code:
        body["reject_code"] = reject_code
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers,
                        media_type="application/problem+json")


_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 422: "Unprocessable Content",
           500: "Internal Server Error", 503: "Service Unavailable"}


def create_app(settings: Settings) -> FastAPI:
    """The service for ``settings`` (loads the book and checks the store now)."""
    if not settings.grants and settings.host not in LOOPBACK:
        raise PbmError(f"no tokens configured: refusing to serve on {settings.host}; give "
                       "--token or --tokens-file, or bind a loopback address")
    book = load_book(settings.book)
    open_readonly(settings.db).close()  # fail now, not on the first request
    ctx = Context(settings, book, Engine(book), ReadPool(settings.db),
                  Authenticator(list(settings.grants)))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.close()

    app = FastAPI(title="pbm-engine member service", version="1",
                  description="Cost estimates, drug search, member views and claim "
                              "submission over a pbm-engine book and store.",
                  lifespan=lifespan)
    app.state.ctx = ctx
    app.add_middleware(AccessLog)

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.reject_code, headers=exc.headers)

    @app.exception_handler(EstimateError)
    async def _estimate_error(request: Request, exc: EstimateError) -> JSONResponse:
        errors = [{"name": c.name, "ndc": c.ndc} for c in exc.candidates[:20]] or None
        return problem(exc.status, _TITLES.get(exc.status, "Error"), str(exc),
                       exc.reject_code, errors)

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
        log.error("store error on %s", getattr(request.scope.get("route"), "path", "?"))
        return problem(503, _TITLES[503], "the claim store is not available")

    @app.exception_handler(PbmError)
    async def _usage_error(request: Request, exc: PbmError) -> JSONResponse:
        return problem(400, _TITLES[400], str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"location": ".".join(str(p) for p in e.get("loc", ())),
                   "message": str(e.get("msg", ""))} for e in exc.errors()]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
        return problem(422, _TITLES[422], detail or "invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, _TITLES.get(exc.status_code, "Error"),
                       str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s", type(exc).__name__,
                  getattr(request.scope.get("route"), "path", "?"))
        return problem(500, _TITLES[500], "internal error; nothing was written")


    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> dict[str, str]:
        """Liveness and readiness: the book is loaded and the store answers (no token)."""
        ctx.store().has_members()  # a read through this thread's connection
        kind = "postgresql" if is_postgres(settings.db) else "sqlite"
        return {"status": "ok", "book": f"{len(book.plans) + len(book.part_d_plans)} plans, "
                f"{len(book.registry.members)} members",
                "store": f"{kind} (read-only connections per thread)",
                "authentication": "open (loopback only)" if ctx.auth.open else "tokens"}

    app.include_router(routes_members.router)
    app.include_router(routes_claims.router)
    app.include_router(routes_carin.router)
    return app


def app_from_env() -> FastAPI:
    """The app for uvicorn worker processes: settings from ``PBM_SERVICE_SETTINGS``."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    text = os.environ.get(SETTINGS_ENV)
    if not text:
        raise PbmError(f"{SETTINGS_ENV} is not set (start the service with `pbm serve`)")
    return create_app(Settings.from_json(text))


__all__ = ["SETTINGS_ENV", "ApiProblem", "Settings", "app_from_env", "create_app", "problem"]
