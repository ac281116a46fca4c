"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is ``whsec_`` followed by the base64 of its key bytes. A signature is
``v1,`` and the base64 HMAC-SHA256, under that key, of ``{id}.{timestamp}.{body}``.
While a secret is being rotated the delivery is signed with every live secret,
space-separated, so receivers holding either the old or the new one accept it.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from secrets import token_bytes

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"


def new_secret() -> str:
    """A fresh signing secret, shown to the subscriber once."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode("ascii")


def sign(secrets: Sequence[str], *, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: one ``v1,…`` entry per secret."""
    if not secrets:
        raise ValueError("at least one signing secret is required")

    # The body is signed as sent, byte for byte: re-encoding it would break receivers.
    content = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(_signature(_key(secret), content) for secret in secrets)


def webhook_headers(
    secrets: Sequence[str], *, msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """All headers a Standard Webhooks receiver needs to verify one delivery."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            secrets, msg_id=msg_id, timestamp=timestamp, body=body
        ),
        "content-type": "application/json",
    }


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"signing secrets start with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("signing secret is not valid base64") from exc
    if not key:
        raise ValueError("signing secret is empty")
    return key


def _signature(key: bytes, content: bytes) -> str:
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"
