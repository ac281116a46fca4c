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


# Checked when the client id is unknown, so timing does not reveal which ids exist.
DUMMY_HASH = hash_secret("not-a-real-secret", time_cost=1)
