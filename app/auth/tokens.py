"""Access tokens: RFC 9068 JWTs signed with an asymmetric key, verified strictly.

python-jose checks `aud` only when the token has one and `exp` only when present, so
decoding here pins the algorithms, requires every claim and checks the `typ` header.
"""

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import JWTError, jwk, jwt

from app.errors import Unauthorized
from app.settings import Settings

TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = (
    "iss",
    "aud",
    "sub",
    "exp",
    "iat",
    "jti",
    "scope",
    "institution",
    "gen",
)


@dataclass(frozen=True)
class TokenClaims:
    client_id: str
    institution_id: str
    scopes: frozenset[str]
    issued_at: datetime
    token_id: str
    generation: int


def _algorithm(public_key: Any) -> str:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ES256"
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RS256"
    raise ValueError("signing key must be EC P-256 or RSA")


def _thumbprint(public_jwk: dict[str, str]) -> str:
    """RFC 7638 key id: a hash of the key's required members."""
    members = (
        ("crv", "kty", "x", "y") if public_jwk["kty"] == "EC" else ("e", "kty", "n")
    )
    canonical = json.dumps({m: public_jwk[m] for m in members}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    algorithm: str
    public_pem: str
    public_jwk: dict[str, str]


def _verification_key(public_key: Any) -> VerificationKey:
    algorithm = _algorithm(public_key)
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    public_jwk = {k: str(v) for k, v in jwk.construct(pem, algorithm).to_dict().items()}
    kid = _thumbprint(public_jwk)
    public_jwk.update(kid=kid, use="sig", alg=algorithm)
    return VerificationKey(kid, algorithm, pem, public_jwk)


class TokenService:
    """Issues and verifies the hub's access tokens with the configured keys."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        pem = settings.signing_key.get_secret_value().encode()
        self._private_pem = pem.decode()
        private_key = serialization.load_pem_private_key(pem, password=None)
        self.current = _verification_key(private_key.public_key())

    @cached_property
    def keys(self) -> dict[str, VerificationKey]:
        """The current key and the previous ones still accepted, by `kid`."""
        previous = [
            _verification_key(serialization.load_pem_public_key(p.encode()))
            for p in self._settings.previous_public_keys
        ]
        return {k.kid: k for k in [self.current, *previous]}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [k.public_jwk for k in self.keys.values()]}

    def issue(
        self,
        *,
        client_id: str,
        institution_id: str,
        scopes: list[str],
        generation: int,
        now: datetime,
    ) -> tuple[str, int]:
        """A signed token and its lifetime in seconds."""
        ttl = self._settings.token_ttl_seconds
        issued_at = int(now.timestamp())
        claims = {
            "iss": self._settings.issuer,
            "aud": self._settings.audience,
            "sub": client_id,
            "client_id": client_id,
            "institution": institution_id,
            "scope": " ".join(scopes),
            # The client's credential generation: a rotation ends older tokens.
            "gen": generation,
            "iat": issued_at,
            "exp": issued_at + ttl,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self.current.kid, "typ": TOKEN_TYPE}
        token = jwt.encode(
            claims, self._private_pem, algorithm=self.current.algorithm, headers=headers
        )
        return token, ttl

    def verify(self, token: str) -> TokenClaims:
        """The token's claims, or Unauthorized naming what is wrong with it."""
        key = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key.public_pem,
                algorithms=[key.algorithm],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                options={f"require_{c}": True for c in ("aud", "exp", "iat", "iss")}
                | {"require_sub": True, "require_jti": True, "leeway": 0},
            )
        except JWTError as exc:
            raise Unauthorized(f"The access token is not valid: {exc}") from exc
        return _claims(claims)

    def _key_for(self, token: str) -> VerificationKey:
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as exc:
            raise Unauthorized("The access token is malformed") from exc
        if header.get("typ") != TOKEN_TYPE:
            raise Unauthorized(f"The access token's typ must be {TOKEN_TYPE}")
        key = self.keys.get(str(header.get("kid")))
        if key is None or header.get("alg") != key.algorithm:
            raise Unauthorized("The access token was not signed by a key of this hub")
        return key


def _claims(claims: dict[str, Any]) -> TokenClaims:
    missing = [c for c in REQUIRED_CLAIMS if c not in claims]
    if missing:
        raise Unauthorized(f"The access token lacks the claims: {', '.join(missing)}")
    return TokenClaims(
        client_id=str(claims["sub"]),
        institution_id=str(claims["institution"]),
        scopes=frozenset(str(claims["scope"]).split()),
        issued_at=datetime.fromtimestamp(int(claims["iat"]), tz=UTC),
        token_id=str(claims["jti"]),
        generation=int(claims["gen"]),
    )
