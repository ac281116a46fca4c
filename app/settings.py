"""Configuration from the environment (prefix ``PUENTE_``), safe for local use."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.auth.devkey import DEVELOPMENT_SIGNING_KEY

# NOTE: public, like the development signing key; refused in production mode.
DEVELOPMENT_SECRETS_KEY = "lUZEQhLlHWbLTV_pQtG_z5eNB9DpKgQHhwwlHWZ0lEk="


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

    # Webhooks
    secrets_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRETS_KEY),
        description="Fernet key that encrypts webhook signing secrets at rest.",
    )
    webhook_allowed_hosts: frozenset[str] = Field(
        default_factory=frozenset,
        description="Hosts an admin allows to resolve to private addresses.",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_rotation_hours: int = Field(default=24, ge=1, le=24 * 30)
    worker_concurrency: int = Field(default=50, ge=1)
    worker_per_subscription: int = Field(default=4, ge=1)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    overdue_check_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How often the worker announces overdue referrals.",
    )

    # Institution adapters
    rnpn_base_url: str = Field(
        default="https://rnpn.invalid/api/v1",
        description="The RNPN registry API; the default resolves nowhere on purpose.",
    )
    rnpn_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    rnpn_retries: int = Field(
        default=2, ge=0, le=5, description="Retries of a failed connection only."
    )
    batch_max_lines: int = Field(default=1000, ge=1)
    batch_max_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Per NDJSON batch; `max_body_bytes` still applies on top.",
    )
    regional_threshold: int = Field(
        default=5, ge=2, description="Regional report cells under this are suppressed."
    )

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @model_validator(mode="after")
    def _no_default_key_in_production(self) -> "Settings":
        default_key = self.signing_key.get_secret_value() == DEVELOPMENT_SIGNING_KEY
        if self.environment == "production" and default_key:
            raise ValueError(
                "PUENTE_SIGNING_KEY must be set in production: the default is public"
            )
        return self

    @model_validator(mode="after")
    def _no_default_secrets_key_in_production(self) -> "Settings":
        default_key = self.secrets_key.get_secret_value() == DEVELOPMENT_SECRETS_KEY
        if self.environment == "production" and default_key:
            raise ValueError(
                "PUENTE_SECRETS_KEY must be set in production: the default is public"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
