"""Configuration refuses what would be unsafe in production."""

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from app.settings import Settings


def test_production_refuses_the_public_development_key() -> None:
    with pytest.raises(ValidationError, match="PUENTE_SIGNING_KEY"):
        Settings(_env_file=None, environment="production")  # type: ignore[call-arg]


def test_production_starts_with_a_key_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    monkeypatch.setenv("PUENTE_ENVIRONMENT", "production")
    monkeypatch.setenv("PUENTE_SIGNING_KEY", key.decode())
    monkeypatch.setenv("PUENTE_SECRETS_KEY", Fernet.generate_key().decode())
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.environment == "production"
