"""Configuration from the environment (prefix ``PUENTE_``), safe for local use."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.auth.devkey import DEVELOPMENT_SIGNING_KEY


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PUENTE_", env_file=".env", extra="ignore"
    )

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./var/puente.db"

    # Tokens
    issuer: str = "https://puente.local"
    audience: str = "puente-api"
    token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    signing_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SIGNING_KEY),
        description="PEM private key (EC P-256 or RSA) that signs access tokens.",
    )
    previous_public_keys: list[str] = Field(
        default_factory=list,
        description="PEM public keys still served in the JWKS while tokens expire.",
    )

    # Requests
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    rate_limit: str = Field(
        default="600/minute", description="Per client, in the `limits` notation."
    )
    token_rate_limit: str = Field(
        default="30/minute", description="Token requests per client id."
    )
    password_hash_time_cost: int = Field(default=3, ge=1)

    log_level: str = "INFO"
    log_json: bool = False

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @model_validator(mode="after")
    def _no_default_key_in_production(self) -> "Settings":
        default_key = self.signing_key.get_secret_value() == DEVELOPMENT_SIGNING_KEY
        if self.environment == "production" and default_key:
            raise ValueError(
                "PUENTE_SIGNING_KEY must be set in production: the default key is public"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
