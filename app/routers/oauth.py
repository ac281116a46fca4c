"""OAuth 2.0 client-credentials grant (RFC 6749 §4.4) and the public keys."""

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Form, Header, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.deps import DbDep, SettingsDep, TokensDep
from app.errors import OAuthError
from app.models import Client
from app.models.types import utcnow
from app.ratelimit import check_rate, count_hit, refuse_when_spent
from app.schemas.problems import problem_responses
from app.services import clients as client_service
from app.settings import Settings

router = APIRouter(tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = Field(examples=["Bearer"])
    expires_in: int = Field(examples=[300])
    scope: str = Field(examples=["cases:read cases:write"])


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """Client id and secret from an HTTP Basic header (RFC 6749 §2.3.1)."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError(
            "invalid_client", "Malformed Basic credentials", status=401
        ) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "Malformed Basic credentials", status=401)
    return unquote(client_id), unquote(secret)


def _credentials(
    authorization: str | None, client_id: str | None, client_secret: str | None
) -> tuple[str, str]:
    basic = _basic_credentials(authorization)
    if basic and (client_id or client_secret):
        raise OAuthError("invalid_request", "Use one client authentication method")
    if basic:
        return basic
    if not client_id or not client_secret:
        raise OAuthError(
            "invalid_client", "Client authentication is required", status=401
        )
    return client_id, client_secret


def _authenticated(
    request: Request, db: Session, settings: Settings, client_id: str, secret: str
) -> Client:
    """The client these credentials belong to, within the token rate limits.

    Failures are counted per (remote address, client id) and successes per client:
    a guesser is slowed down from where it guesses, while the client id alone, which
    is no secret, cannot be used to lock its owner out from elsewhere. The address is
    the connection's, or a trusted proxy's X-Forwarded-For (uvicorn's
    `--forwarded-allow-ips`); a proxy that is not trusted makes every caller one
    address, and a guesser behind it slows down that client for all of them.
    """
    limit = settings.token_rate_limit
    address = request.client.host if request.client else "unknown"
    failures = f"token-failures:{address}:{client_id}"
    refuse_when_spent(request, limit, failures)

    time_cost = settings.password_hash_time_cost
    client = client_service.authenticate(db, client_id, secret, time_cost=time_cost)
    if client is None:
        count_hit(request, limit, failures)
        raise OAuthError("invalid_client", "Unknown client or wrong secret", status=401)
    check_rate(request, limit, f"token:{client.id}")
    return client


def _granted_scopes(requested: str | None, held: list[str]) -> list[str]:
    if not requested:
        return held
    wanted = requested.split()
    extra = sorted(set(wanted) - set(held))
    if extra:
        raise OAuthError("invalid_scope", f"Scopes not granted to this client: {extra}")
    return sorted(set(wanted))


@router.post(
    "/oauth/token",
    summary="Get an access token",
    description=(
        "OAuth 2.0 client-credentials grant. Authenticate with HTTP Basic "
        "(`client_id:client_secret`) or with the `client_id` and `client_secret` form "
        "fields. The token is a JWT (RFC 9068, `typ` `at+jwt`) signed with the key "
        "published at `/.well-known/jwks.json`. Errors carry the RFC 6749 `error` code."
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "example": {
                        "grant_type": "client_credentials",
                        "scope": "cases:read",
                    }
                }
            }
        }
    },
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "access_token": "eyJhbGciOiJFUzI1NiIs…",
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "scope": "cases:read",
                    }
                }
            }
        },
        **problem_responses(400, 401, 429),
    },
)
def issue_token(
    request: Request,
    db: DbDep,
    tokens: TokensDep,
    settings: SettingsDep,
    grant_type: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    if grant_type is None:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        raise OAuthError(
            "unsupported_grant_type", "Only client_credentials is supported"
        )
    cid, secret = _credentials(authorization, client_id, client_secret)
    client = _authenticated(request, db, settings, cid, secret)
    granted = _granted_scopes(scope, client.scopes)
    token, ttl = tokens.issue(
        client_id=client.id,
        institution_id=client.institution_id,
        scopes=granted,
        generation=client.generation,
        now=utcnow(),
    )
    return TokenResponse(
        access_token=token, token_type="Bearer", expires_in=ttl, scope=" ".join(granted)
    )


@router.get(
    "/.well-known/jwks.json",
    summary="Public keys that sign access tokens",
    description="A JSON Web Key Set; pick the key by the token's `kid` header.",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "keys": [
                            {
                                "kty": "EC",
                                "crv": "P-256",
                                "x": "88VgSng5EHgbEpFJ3ctS_3GxpDZbG-HWLJjab1JEaDQ",
                                "y": "1bUm3rI19qmbiD-KNJeeUH2zleJAR207k1szKjtZV0E",
                                "kid": "uu0zwDxZKwCjaDQ4SzwBjWBr0uFA6qtcSeCSvtt0phg",
                                "use": "sig",
                                "alg": "ES256",
                            }
                        ]
                    }
                }
            }
        }
    },
)
def jwks(tokens: TokensDep) -> dict[str, list[dict[str, str]]]:
    return tokens.jwks()
