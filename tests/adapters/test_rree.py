from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters.rree import CONDITIONS, DOCUMENT_TYPES, RreeAdapter
from app.codes import IdentifierType, ProtectionStatus
from app.errors import InvalidInput
from app.schemas.cases import Identifier

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "rree").glob("*.json"))
adapter = RreeAdapter()

CONSULATES = {
    "Tapachula": ["MX-CHP"],
    "Houston": ["US-TX"],
    "Ciudad de Guatemala": ["GT-01", "GT-09"],
}


def minimal(**changes: object) -> dict[str, object]:
    return {
        "numero_expediente": "TAP-2024-0457",
        "consulado": "Tapachula",
        "circunscripcion": ["MX-CHP"],
        "nombres": "Wilmer Josué",
        "apellidos": "Tzul Ramírez",
        "fecha_nacimiento": "2011-05-06",
        **changes,
    }


def pointers(error: InvalidInput) -> dict[str, str]:
    return {e["pointer"]: e["detail"] for e in error.errors}


@st.composite
def consular_records(draw: st.DrawFn) -> dict[str, object]:
    consulate = draw(st.sampled_from(list(CONSULATES)))
    territory = CONSULATES[consulate]
    department = draw(st.none() | st.sampled_from(["SV-AH", "SV-SO", "SV-US"]))
    return {
        "numero_expediente": draw(st.from_regex(r"\A[A-Z]{3}-20\d\d-\d{4}\Z")),
        "consulado": consulate,
        "circunscripcion": territory,
        "nombres": draw(st.sampled_from(["Wilmer Josué", "Génesis", "Ixchel"])),
        "apellidos": draw(st.sampled_from(["Tzul Ramírez", "Martínez", "de León"])),
        "sexo": draw(st.sampled_from(["M", "F", None])),
        "fecha_nacimiento": draw(st.dates(date(2006, 1, 1), date(2024, 1, 1))),
        "fecha_nacimiento_estimada": draw(st.booleans()),
        "nacionalidad": "SV",
        "documentos_identidad": [
            {"tipo": kind, "numero": draw(st.from_regex(r"\A[A-Z0-9-]{6,12}\Z"))}
            for kind in draw(
                st.lists(st.sampled_from(list(DOCUMENT_TYPES)), unique=True)
            )
        ],
        "idioma_materno": draw(st.sampled_from(["spa", "quc", "mam", "ppl"])),
        "otros_idiomas": draw(st.lists(st.sampled_from(["spa", "eng"]), unique=True)),
        "pueblo_indigena": draw(st.none() | st.sampled_from(["K'iche'", "Nahua"])),
        "condicion": draw(st.none() | st.sampled_from(list(CONDITIONS))),
        "localizacion": draw(
            st.none()
            | st.fixed_dictionaries(
                {
                    "pais": st.just(territory[0][:2]),
                    "subdivision": st.sampled_from(territory),
                    "lugar": st.none() | st.just("Albergue Belén"),
                }
            )
        ),
        "departamento_origen": department,
        "municipio_origen": "Jiquilisco" if department else None,
        "entrevista": {"interprete": draw(st.booleans())},
        "contactos_familiares": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "nombre": st.sampled_from(["Marta Ramírez", "Reina Chávez"]),
                        "parentesco": st.sampled_from(["madre", "tía"]),
                        "telefono": st.none() | st.just("+503 7788 1020"),
                        "pais": st.none() | st.sampled_from(["SV", "US"]),
                        "direccion": st.none() | st.just("Cantón El Molino"),
                    }
                ),
                max_size=3,
            )
        ),
    }


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_a_fixture_comes_back_from_the_hub_with_every_mapped_field(
    path, fixture_record, stored, mapped
):
    record = fixture_record(path)

    rendered = adapter.from_common(stored(adapter.to_common(record)))

    assert mapped(adapter, rendered) == mapped(adapter, record)


# No deadline: the tests check mapping, not speed, and CI machines vary.
@settings(deadline=None)
@given(record=consular_records())
def test_a_generated_record_comes_back_from_the_hub_unchanged(record, stored, mapped):
    record = {**record, "fecha_nacimiento": record["fecha_nacimiento"].isoformat()}

    rendered = adapter.from_common(stored(adapter.to_common(record)))

    assert mapped(adapter, rendered) == mapped(adapter, record)


def test_the_consulate_travels_as_the_issuer_of_the_consular_record():
    case = adapter.to_common(minimal())

    assert case.child.identifiers[0] == Identifier(
        type=IdentifierType.CONSULAR_RECORD, value="TAP-2024-0457", issuer="Tapachula"
    )


def test_the_interpreter_of_the_interview_marks_the_child_as_needing_one():
    case = adapter.to_common(minimal(entrevista={"idioma": "quc", "interprete": True}))

    assert case.child.interpreter_needed is True


def test_the_accompaniment_condition_becomes_the_protection_status():
    case = adapter.to_common(minimal(condicion="no_acompanado"))

    assert case.protection_status is ProtectionStatus.UNACCOMPANIED


def test_a_child_located_outside_the_circumscription_is_refused():
    place = {"pais": "MX", "subdivision": "MX-ROO", "lugar": "Cancún"}

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(localizacion=place))

    assert "MX-CHP" in pointers(raised.value)["/localizacion"]


def test_an_unknown_document_type_lists_the_allowed_types():
    documents = [{"tipo": "cedula", "numero": "123"}]

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(documentos_identidad=documents))

    detail = pointers(raised.value)["/documentos_identidad/0/tipo"]
    assert "'partida_nacimiento'" in detail


def test_an_unknown_interview_language_points_inside_the_interview():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(entrevista={"idioma": "kiche"}))

    assert "ISO 639-3" in pointers(raised.value)["/entrevista/idioma"]


def test_a_family_contact_without_name_points_at_that_contact():
    contacts = [{"nombre": "Marta", "parentesco": "madre"}, {"parentesco": "tío"}]

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(contactos_familiares=contacts))

    assert list(pointers(raised.value)) == ["/contactos_familiares/1/nombre"]


def test_a_subdivision_in_another_country_points_at_the_location():
    place = {"pais": "GT", "subdivision": "MX-CHP"}

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(localizacion=place))

    assert list(pointers(raised.value)) == ["/localizacion"]
