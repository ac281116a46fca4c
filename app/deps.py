"""FastAPI dependencies shared by every router: settings, database, the caller."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2, SecurityScopes
from pydantic import BaseModel
from sqlmodel import Session

from app.auth.scopes import SCOPE_DESCRIPTIONS
from app.auth.tokens import TokenService
from app.codes import Role
from app.db import session_scope
from app.errors import (
    Forbidden,
    PreconditionRequired,
    Unauthorized,
    UnsupportedMediaType,
)
from app.ratelimit import check_rate
from app.services import clients as client_service
from app.services.idempotency import (
    KEY_PATTERN,
    REPLAYED_HEADER,
    Created,
    IdempotentRequest,
    run_idempotent,
)
from app.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    yield from session_scope(request.app.state.engine)


def get_tokens(request: Request) -> TokenService:
    tokens: TokenService = request.app.state.tokens
    return tokens


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Session, Depends(get_db)]
TokensDep = Annotated[TokenService, Depends(get_tokens)]

_oauth2 = OAuth2(
    flows=OAuthFlowsModel(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token", scopes=SCOPE_DESCRIPTIONS
        )
    ),
    scheme_name="OAuth2",
    description="Client-credentials access tokens, sent as `Authorization: Bearer`.",
    auto_error=False,
)


@dataclass(frozen=True)
class Principal:
    """The institutional system behind a request."""

    client_id: str
    institution_id: str
    role: Role
    scopes: frozenset[str]


def get_principal(
    security_scopes: SecurityScopes,
    request: Request,
    db: DbDep,
    tokens: TokensDep,
    authorization: Annotated[str | None, Depends(_oauth2)],
) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer access token is required")
    claims = tokens.verify(token.strip())
    client, institution = client_service.active_client(db, claims)
    missing = set(security_scopes.scopes) - claims.scopes
    if missing:
        raise Forbidden(
            f"This operation needs the scope {' '.join(sorted(missing))}",
            required_scopes=sorted(security_scopes.scopes),
        )
    check_rate(request, request.app.state.settings.rate_limit, f"client:{client.id}")
    request.state.client_id = client.id
    return Principal(client.id, institution.id, institution.role, claims.scopes)


def require(*scopes: str) -> Principal:
    """A dependency giving the caller, who must hold every one of `scopes`."""
    return Security(get_principal, scopes=list(scopes))  # type: ignore[no-any-return]


def _sent_body(request: Request) -> str | None:
    """The media type of the request's body, "" when undeclared; None without one."""
    has_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    if not has_body:
        return None
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def accept_bodies(*media_types: str) -> Callable[[Request], None]:
    """A dependency refusing (415) a body of any other media type, before parsing."""

    def check(request: Request) -> None:
        sent = _sent_body(request)
        if sent is not None and sent not in media_types:
            raise UnsupportedMediaType(
                f"Send the body as {' or '.join(media_types)}, not "
                f"'{sent or 'nothing'}'"
            )

    return check


# The default for JSON routers (app.main); the native router names its own types.
require_json_body = accept_bodies("application/json", "application/merge-patch+json")


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=KEY_PATTERN,
        description="Any unique string (a UUID is best). A retry with the same key and "
        "body replays the first response instead of creating again; kept 24 hours.",
    ),
]


@dataclass(frozen=True)
class IdempotentCreate:
    """Runs one create per `Idempotency-Key` and commits; see app.services.idempotency.

    In a router: `return idempotent(caller, body, lambda: _create(db, caller, body))`,
    where `_create` adds and flushes, and returns `Created(status, model, headers)`.
    """

    db: Session
    key: str | None
    method: str
    path: str

    def __call__(
        self, caller: Principal, body: BaseModel, create: Callable[[], Created]
    ) -> JSONResponse:
        sent = body.model_dump(mode="json", exclude_unset=True)
        request = IdempotentRequest(
            caller.client_id, self.key, self.method, self.path, sent
        )
        stored = run_idempotent(self.db, request, create)

        headers = dict(stored.headers)
        if stored.replayed:
            headers[REPLAYED_HEADER] = "true"
        return JSONResponse(stored.body, stored.status, headers=headers)


def get_idempotent_create(
    request: Request, db: DbDep, key: IdempotencyKeyHeader = None
) -> IdempotentCreate:
    return IdempotentCreate(db, key, request.method, request.url.path)


IdempotentDep = Annotated[IdempotentCreate, Depends(get_idempotent_create)]


IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag you read; the change is refused (412) if it moved on.",
    ),
]


def etag(version: int) -> str:
    """The strong ETag of a versioned resource (a case, a referral)."""
    return f'"{version}"'


def _named_versions(if_match: str) -> list[int]:
    """The versions an `If-Match` names. A tag not of ours (weak, `*`) names none,
    so it cannot match and the change answers 412."""
    tags = (tag.strip() for tag in if_match.split(","))
    return [int(tag[1:-1]) for tag in tags if _is_version_tag(tag)]


def _is_version_tag(tag: str) -> bool:
    return len(tag) > 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit()


def _optional_if_match(if_match: IfMatchHeader = None) -> list[int] | None:
    """None (no check) when the header is absent or `*`."""
    if if_match is None or if_match.strip() == "*":
        return None
    return _named_versions(if_match)


def _required_if_match(if_match: IfMatchHeader = None) -> list[int]:
    """428 without the header. NOTE: `*` names no version on purpose: a change to a
    shared case must say which version it was made on."""
    if if_match is None:
        raise PreconditionRequired(
            "This change needs If-Match with the ETag you read (GET it first)"
        )
    return _named_versions(if_match)


IfMatchVersionsDep = Annotated[list[int] | None, Depends(_optional_if_match)]
RequiredIfMatchDep = Annotated[list[int], Depends(_required_if_match)]
