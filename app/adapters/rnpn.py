"""RNPN identity registry, outbound: ask who a child is, keep only what the case needs.

    GET {base_url}/personas/{tipo}/{valor}     tipo: nui | partida
    200  a person record (below)  -> Child
    404                            -> None
    timeout                        -> UpstreamTimeout      (504)
    5xx                            -> UpstreamUnavailable  (503)
    other status, malformed body   -> UpstreamError        (502)

The registry's record also names the parents and their DUIs; the model below does not
declare them, so they are dropped on parsing and never reach the hub's database.
"""

import asyncio
from datetime import date
from typing import Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.codes import IdentifierType, Sex
from app.errors import (
    BadRequest,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.schemas.cases import Child, Identifier

# The only identifiers the registry can be asked about, and their name in its API.
QUERY_TYPES = {IdentifierType.NUI: "nui", IdentifierType.BIRTH_CERTIFICATE: "partida"}
ISSUER = "RNPN"


class PersonaRnpn(BaseModel):
    """The part of the registry's person record the hub keeps."""

    model_config = ConfigDict(extra="ignore")

    nui: str = Field(min_length=1, max_length=64)
    numero_partida: str | None = Field(default=None, max_length=64)
    nombres: str = Field(min_length=1, max_length=120)
    apellidos: str = Field(min_length=1, max_length=120)
    fecha_nacimiento: date
    sexo: Literal["M", "F"]


class RnpnClient:
    """Looks children up in the RNPN over a shared, lifecycle-managed client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        timeout: float = 5.0,
        retries: int = 2,
        retry_delay: float = 0.2,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._retries = retries
        self._retry_delay = retry_delay

    async def lookup(self, identifier_type: IdentifierType, value: str) -> Child | None:
        """The child the registry knows by this identifier, or None if it knows none."""
        kind = QUERY_TYPES.get(identifier_type)
        if kind is None:
            allowed = ", ".join(QUERY_TYPES)
            raise BadRequest(f"The RNPN can only be queried by {allowed}")

        url = f"{self._base_url}/personas/{kind}/{quote(value, safe='')}"
        response = await self._get(url)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        return _parse(_checked(response))

    async def _get(self, url: str) -> httpx.Response:
        # Only a failed connection is retried: the request never reached the registry,
        # so asking again is safe and cheap. A timeout already cost the caller the full
        # timeout once; a 5xx is an answer, and hammering a registry that is failing
        # makes it fail longer. Both go back to the caller, who can try later.
        for attempt in range(self._retries + 1):
            try:
                return await self._http.get(url, timeout=self._timeout)
            except httpx.ConnectError as exc:
                if attempt == self._retries:
                    raise UpstreamUnavailable("The RNPN cannot be reached") from exc
                await asyncio.sleep(self._retry_delay * (attempt + 1))
            except httpx.TimeoutException as exc:
                raise UpstreamTimeout("The RNPN did not answer in time") from exc
            except httpx.TransportError as exc:
                raise UpstreamError("The RNPN connection failed mid-answer") from exc
        raise AssertionError("unreachable: the loop returns or raises")


def _checked(response: httpx.Response) -> httpx.Response:
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        status = response.status_code
        if status >= 500:
            raise UpstreamUnavailable(f"The RNPN answered {status}") from exc
        raise UpstreamError(f"The RNPN refused the query with {status}") from exc
    return response


def _parse(response: httpx.Response) -> Child:
    # A record our Child refuses (a birth date in the future) is malformed too.
    try:
        return _child(PersonaRnpn.model_validate_json(response.content))
    except ValidationError as exc:
        raise UpstreamError("The RNPN answered with a malformed person record") from exc


def _child(person: PersonaRnpn) -> Child:
    identifiers = [Identifier(type=IdentifierType.NUI, value=person.nui, issuer=ISSUER)]
    if person.numero_partida:
        identifiers.append(
            Identifier(
                type=IdentifierType.BIRTH_CERTIFICATE,
                value=person.numero_partida,
                issuer=ISSUER,
            )
        )
    return Child(
        identifiers=identifiers,
        given_names=person.nombres,
        family_names=person.apellidos,
        sex=Sex.MALE if person.sexo == "M" else Sex.FEMALE,
        birth_date=person.fecha_nacimiento,
        nationality="SV",
    )
