"""Client secrets: generated here, shown once, stored only as an Argon2id hash."""

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@lru_cache
def _hasher(time_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, *, time_cost: int) -> str:
    return _hasher(time_cost).hash(secret)


def verify_secret(secret_hash: str, secret: str) -> bool:
    """Constant-time check; a malformed stored hash counts as a mismatch."""
    try:
        return _hasher(3).verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache
def dummy_hash(time_cost: int) -> str:
    """A hash to check when the client id is unknown, at the real secrets' cost."""
    # A cheaper hash would answer faster for an unknown id and reveal which ids exist.
    return hash_secret("not-a-real-secret", time_cost=time_cost)
