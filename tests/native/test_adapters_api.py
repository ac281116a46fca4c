from typing import Any

from fastapi.testclient import TestClient

from app.adapters.registry import ADAPTERS
from tests.conftest import AuthHeaders


def test_any_authenticated_client_lists_every_adapter_with_its_schema(
    api: TestClient, auth: AuthHeaders
) -> None:
    response = api.get("/v1/adapters", headers=auth("crm"))

    assert response.status_code == 200
    adapters = {adapter["name"]: adapter for adapter in response.json()}
    assert set(adapters) == {"dgme", "rree", "primero", "minsal"}
    dgme = adapters["dgme"]
    assert (dgme["kind"], dgme["institution_role"]) == ("case", "migration")
    assert "fecha_nacimiento" in dgme["native_schema"]["properties"]
    assert adapters["minsal"]["kind"] == "referral"
    assert adapters["minsal"]["native_schema"]["title"] == "Bundle"


def test_listing_adapters_needs_a_token(api: TestClient) -> None:
    assert api.get("/v1/adapters").status_code == 401


def test_the_native_schemas_are_components_the_native_bodies_refer_to(
    api: TestClient,
) -> None:
    document: dict[str, Any] = api.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    body = document["paths"]["/v1/native/{adapter}/cases"]["post"]["requestBody"]

    refs = [
        option["$ref"].rsplit("/", 1)[-1]
        for option in body["content"]["application/json"]["schema"]["oneOf"]
    ]
    assert refs == [adapter.native_model.__name__ for adapter in ADAPTERS.values()]
    assert all("properties" in schemas[name] for name in refs)
    fhir = document["paths"]["/v1/native/minsal/referrals"]["post"]["requestBody"]
    assert fhir["content"]["application/fhir+json"]["schema"]["title"] == "Bundle"
