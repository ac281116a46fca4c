"""Client credentials: create, rotate, revoke, authenticate."""

import secrets
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.auth.passwords import dummy_hash, hash_secret, new_secret, verify_secret
from app.auth.scopes import Scope
from app.auth.tokens import TokenClaims
from app.errors import InvalidInput, NotFound, Unauthorized
from app.models import Client, Institution
from app.models.types import utcnow


@dataclass(frozen=True)
class IssuedCredentials:
    """A client and its secret in clear: the only moment the secret exists."""

    client: Client
    secret: str


def _check_scopes(scopes: list[str]) -> list[str]:
    known = {s.value for s in Scope}
    unknown = [s for s in scopes if s not in known]
    if unknown:
        allowed = ", ".join(sorted(known))
        raise InvalidInput(
            f"Unknown scopes: {', '.join(unknown)}; allowed: {allowed}",
            errors=[{"pointer": "/scopes", "detail": "unknown scope"}],
        )
    return sorted(set(scopes))


def create_client(
    db: Session, *, institution_id: str, name: str, scopes: list[str], time_cost: int
) -> IssuedCredentials:
    if db.get(Institution, institution_id) is None:
        raise InvalidInput(
            f"There is no institution '{institution_id}'",
            errors=[{"pointer": "/institution", "detail": "unknown institution"}],
        )
    secret = new_secret()
    client = Client(
        id=f"{institution_id}-{secrets.token_hex(6)}",
        name=name,
        institution_id=institution_id,
        scopes=_check_scopes(scopes),
        secret_hash=hash_secret(secret, time_cost=time_cost),
    )
    db.add(client)
    db.flush()
    return IssuedCredentials(client, secret)


def get_client(db: Session, client_id: str) -> Client:
    client = db.get(Client, client_id)
    if client is None:
        raise NotFound(f"There is no client '{client_id}'")
    return client


def list_clients(db: Session, *, institution_id: str | None = None) -> list[Client]:
    query = select(Client).order_by(col(Client.created_at), col(Client.id))
    if institution_id:
        query = query.where(Client.institution_id == institution_id)
    return list(db.exec(query))


def rotate_secret(db: Session, client_id: str, *, time_cost: int) -> IssuedCredentials:
    """A new secret; tokens issued with the old one stop working."""
    client = get_client(db, client_id)
    secret = new_secret()
    now = utcnow()
    client.secret_hash = hash_secret(secret, time_cost=time_cost)
    client.rotated_at = now
    client.generation += 1
    db.add(client)
    db.flush()
    return IssuedCredentials(client, secret)


def revoke(db: Session, client_id: str) -> Client:
    client = get_client(db, client_id)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        db.add(client)
        db.flush()
    return client


def authenticate(
    db: Session, client_id: str, secret: str, *, time_cost: int
) -> Client | None:
    """The active client these credentials belong to, or None; `time_cost` is the
    hash cost of real secrets, which an unknown id is made to take as long as."""
    client = db.get(Client, client_id)
    if client is None:
        verify_secret(dummy_hash(time_cost), secret)
        return None
    if not verify_secret(client.secret_hash, secret) or client.revoked_at:
        return None
    return client


def active_client(db: Session, claims: TokenClaims) -> tuple[Client, Institution]:
    """The client a token was issued to, if it may still use it."""
    client = db.get(Client, claims.client_id)
    if client is None or client.revoked_at is not None:
        raise Unauthorized("The client of this access token is revoked or unknown")
    if claims.generation != client.generation:
        raise Unauthorized("This access token predates a credential rotation")
    if client.institution_id != claims.institution_id:
        raise Unauthorized("The access token does not match its client")
    institution = db.get(Institution, client.institution_id)
    if institution is None or not institution.active:
        raise Unauthorized("The client's institution is not active")
    return client, institution
