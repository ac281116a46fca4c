"""Shared pieces of the native-endpoint tests: fixtures as records, callers."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AuthHeaders

FIXTURES = Path(__file__).parent.parent / "fixtures"
CASES = ("cases:read", "cases:write")
Headers = dict[str, str]
# Carlos Ernesto del Cid Peña: the child of the DGME La Hachadura fixture, the MINSAL
# Bundles and the RNPN person record.
CARLOS_NUI = "061234578"


def fixture(adapter: str, name: str) -> dict[str, Any]:
    path = FIXTURES / adapter / f"{name}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def dgme_record(**changes: Any) -> dict[str, Any]:
    return {**fixture("dgme", "retornado_terrestre_la_hachadura"), **changes}


def rree_record_of_carlos() -> dict[str, Any]:
    """The consulate's record of the child DGME received, in the RREE format."""
    record = fixture("rree", "houston_separada")
    return {
        **record,
        "numero_expediente": "HOU-2025-0042",
        "nombres": "Carlos Ernesto",
        "apellidos": "del Cid Peña",
        "sexo": "M",
        "fecha_nacimiento": "2010-03-14",
        "documentos_identidad": [{"tipo": "nui", "numero": CARLOS_NUI}],
    }


def ndjson(*lines: dict[str, Any] | str) -> bytes:
    """An NDJSON body; a str is sent as it is (to send broken lines)."""
    encoded = (
        line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
        for line in lines
    )
    return ("\n".join(encoded) + "\n").encode()


@pytest.fixture
def dgme(auth: AuthHeaders) -> Headers:
    return auth("dgme", *CASES)


@pytest.fixture
def consulate(auth: AuthHeaders) -> Headers:
    return auth("consulado-houston", *CASES)
