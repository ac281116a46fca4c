"""Webhook signing secrets encrypted at rest with the hub's Fernet key."""

from cryptography.fernet import Fernet, InvalidToken

from app.settings import Settings


class SecretBox:
    """Encrypts and decrypts signing secrets with `PUENTE_SECRETS_KEY`."""

    def __init__(self, settings: Settings) -> None:
        self._fernet = Fernet(settings.secrets_key.get_secret_value().encode("ascii"))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            # A changed PUENTE_SECRETS_KEY: an operator's mistake, not the caller's.
            raise RuntimeError("a signing secret does not open with this key") from exc
