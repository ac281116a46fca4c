"""The application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI

from app import __version__
from app.adapters.rnpn import RnpnClient
from app.auth.scopes import SCOPE_DESCRIPTIONS
from app.auth.tokens import TokenService
from app.db import engine_for
from app.deps import require_json_body
from app.logging import configure_logging
from app.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from app.openapi import build_openapi
from app.problems import install_problem_handlers
from app.ratelimit import make_limiter
from app.routers import (
    admin_audit,
    admin_clients,
    admin_deliveries,
    cases,
    events,
    health,
    identity,
    institutions,
    native,
    oauth,
    referrals,
    regional,
    subscriptions,
)
from app.settings import Settings, get_settings

DESCRIPTION = """\
Puente lets Salvadoran institutions work one case of a migrant or returned child
together: a shared case, referrals between institutions, and notifications.

Authenticate with the OAuth 2.0 client-credentials grant at `/oauth/token`, then send
`Authorization: Bearer <token>`. Every error is `application/problem+json` (RFC 9457).
"""

TAGS = [
    {"name": "auth", "description": "Access tokens and the keys that sign them."},
    {"name": "cases", "description": "The shared case of a child, and its timeline."},
    {
        "name": "referrals",
        "description": "Requests for a service between institutions.",
    },
    {
        "name": "events",
        "description": "The event feed, for systems that cannot receive webhooks.",
    },
    {
        "name": "subscriptions",
        "description": "Signed webhooks for your institution, and their deliveries.",
    },
    {
        "name": "native",
        "description": "Cases and referrals in each institution's own format.",
    },
    {"name": "identity", "description": "The RNPN identity registry, through the hub."},
    {
        "name": "regional",
        "description": "Aggregate counts for the regional conference.",
    },
    {"name": "institutions", "description": "The institutions and their roles."},
    {"name": "admin", "description": "Client credentials; needs the `admin` scope."},
    {"name": "health", "description": "Probes for the orchestrator."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[None]:
        # One client for the RNPN, shared by every request; each call sets its own
        # timeout too.
        agent = {"User-Agent": f"puente/{__version__}"}
        timeout = settings.rnpn_timeout_seconds
        async with httpx.AsyncClient(headers=agent, timeout=timeout) as http:
            started.state.rnpn = RnpnClient(
                http,
                base_url=settings.rnpn_base_url,
                timeout=timeout,
                retries=settings.rnpn_retries,
            )
            yield

    app = FastAPI(
        title="Puente",
        version=__version__,
        summary="Interoperability hub for protecting migrant and returned children",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        swagger_ui_init_oauth={"scopes": list(SCOPE_DESCRIPTIONS)},
    )
    app.state.settings = settings
    app.state.engine = engine_for(settings.database_url)
    app.state.tokens = TokenService(settings)
    app.state.limiter = make_limiter()

    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    install_problem_handlers(app)
    json_body = [Depends(require_json_body)]
    app.include_router(health.router)
    app.include_router(oauth.router)
    app.include_router(institutions.router, dependencies=json_body)
    app.include_router(cases.router, dependencies=json_body)
    app.include_router(referrals.router, dependencies=json_body)
    app.include_router(admin_clients.router, dependencies=json_body)
    app.include_router(events.router)
    app.include_router(subscriptions.router, dependencies=json_body)
    app.include_router(admin_deliveries.router, dependencies=json_body)
    app.include_router(admin_audit.router, dependencies=json_body)
    # The native routes take NDJSON and FHIR JSON too; each declares its own types.
    app.include_router(native.router)
    app.include_router(identity.router, dependencies=json_body)
    app.include_router(regional.router, dependencies=json_body)

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    return app
