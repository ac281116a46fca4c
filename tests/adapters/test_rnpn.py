import json
from datetime import date
from pathlib import Path

import httpx
import pytest
import respx

from app.adapters.rnpn import RnpnClient
from app.codes import IdentifierType, Sex
from app.errors import BadRequest, UpstreamError, UpstreamTimeout, UpstreamUnavailable

BASE_URL = "https://rnpn.test/api/v1"
PERSON = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "rnpn" / "persona_nui.json").read_text(
        encoding="utf-8"
    )
)
NUI_URL = f"{BASE_URL}/personas/nui/061234578"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def rnpn():
    async with httpx.AsyncClient() as http:
        yield RnpnClient(http, base_url=BASE_URL + "/", timeout=3.5, retry_delay=0)


@respx.mock
async def test_a_known_child_is_returned_with_only_the_fields_the_case_needs(rnpn):
    route = respx.get(NUI_URL).respond(200, json=PERSON)

    child = await rnpn.lookup(IdentifierType.NUI, "061234578")

    assert child is not None
    assert (child.given_names, child.family_names) == ("Carlos Ernesto", "del Cid Peña")
    assert (child.birth_date, child.sex) == (date(2010, 3, 14), Sex.MALE)
    assert [i.type for i in child.identifiers] == [
        IdentifierType.NUI,
        IdentifierType.BIRTH_CERTIFICATE,
    ]
    request = route.calls.last.request
    assert request.method == "GET"
    assert request.extensions["timeout"]["read"] == 3.5


@respx.mock
async def test_the_parents_data_is_never_kept(rnpn):
    respx.get(NUI_URL).respond(200, json=PERSON)

    child = await rnpn.lookup(IdentifierType.NUI, "061234578")

    kept = child.model_dump_json() if child else ""
    assert "del Cid Alvarado" not in kept
    assert "01234567-8" not in kept
    assert "02345678-9" not in kept


@respx.mock
async def test_a_birth_certificate_is_looked_up_under_partida_with_the_value_escaped(
    rnpn,
):
    route = respx.get(f"{BASE_URL}/personas/partida/PN%2F0101%2F2010").respond(
        200, json=PERSON
    )

    await rnpn.lookup(IdentifierType.BIRTH_CERTIFICATE, "PN/0101/2010")

    assert route.call_count == 1


@respx.mock
async def test_an_unknown_child_is_none(rnpn):
    respx.get(NUI_URL).respond(404, json={"mensaje": "no encontrado"})

    assert await rnpn.lookup(IdentifierType.NUI, "061234578") is None


@respx.mock
async def test_a_timeout_is_an_upstream_timeout_and_is_not_retried(rnpn):
    route = respx.get(NUI_URL).mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(UpstreamTimeout) as raised:
        await rnpn.lookup(IdentifierType.NUI, "061234578")

    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)
    assert route.call_count == 1


@respx.mock
async def test_a_server_error_is_upstream_unavailable_and_is_not_retried(rnpn):
    route = respx.get(NUI_URL).respond(503, text="mantenimiento")

    with pytest.raises(UpstreamUnavailable) as raised:
        await rnpn.lookup(IdentifierType.NUI, "061234578")

    assert isinstance(raised.value.__cause__, httpx.HTTPStatusError)
    assert route.call_count == 1


@pytest.mark.parametrize(
    "body",
    [
        {"nui": "061234578", "nombres": "Carlos"},
        {**PERSON, "fecha_nacimiento": "14/03/2010"},
        {**PERSON, "sexo": "X"},
    ],
    ids=["missing fields", "wrong date format", "unknown sex"],
)
@respx.mock
async def test_a_malformed_person_record_is_an_upstream_error(rnpn, body):
    respx.get(NUI_URL).respond(200, json=body)

    with pytest.raises(UpstreamError) as raised:
        await rnpn.lookup(IdentifierType.NUI, "061234578")

    assert type(raised.value) is UpstreamError
    assert raised.value.__cause__ is not None


@respx.mock
async def test_a_body_that_is_not_json_is_an_upstream_error(rnpn):
    respx.get(NUI_URL).respond(200, text="<html>Error</html>")

    with pytest.raises(UpstreamError):
        await rnpn.lookup(IdentifierType.NUI, "061234578")


@respx.mock
async def test_a_refused_connection_is_retried_until_it_succeeds(rnpn):
    route = respx.get(NUI_URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=PERSON)]
    )

    child = await rnpn.lookup(IdentifierType.NUI, "061234578")

    assert child is not None
    assert route.call_count == 2


@respx.mock
async def test_a_registry_that_stays_unreachable_is_unavailable_after_the_retries(
    rnpn,
):
    route = respx.get(NUI_URL).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(UpstreamUnavailable) as raised:
        await rnpn.lookup(IdentifierType.NUI, "061234578")

    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert route.call_count == 3


@pytest.mark.parametrize("status", [400, 401, 403, 429])
@respx.mock
async def test_a_client_error_is_not_retried(rnpn, status):
    route = respx.get(NUI_URL).respond(status)

    with pytest.raises(UpstreamError):
        await rnpn.lookup(IdentifierType.NUI, "061234578")

    assert route.call_count == 1


@respx.mock
async def test_an_identifier_the_registry_does_not_know_is_refused_without_asking(
    rnpn,
):
    with pytest.raises(BadRequest) as raised:
        await rnpn.lookup(IdentifierType.PASSPORT, "B01234567")

    assert "nui" in raised.value.detail
    assert "birth_certificate" in raised.value.detail
    assert not respx.calls
