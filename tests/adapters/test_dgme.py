from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters.dgme import CATEGORY_CODES, DgmeAdapter, split_full_name
from app.codes import POINTS_OF_ENTRY, VulnerabilityCategory, sv_departments
from app.errors import InvalidInput
from app.schemas.cases import Location

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "dgme").glob("*.json"))
adapter = DgmeAdapter()

GIVEN_NAMES = ["José", "María", "Ana Ruth", "Kevin", "Xochitl", "Wilber", "Génesis"]
SURNAMES = ["Hernández", "López", "del Cid", "Tepas", "Shupan", "Argueta", "Chávez"]


def minimal(**changes: object) -> dict[str, object]:
    return {
        "nombre_completo": "Ana Ruth Argueta Romero",
        "fecha_nacimiento": "23/09/2012",
        **changes,
    }


def pointers(error: InvalidInput) -> dict[str, str]:
    return {e["pointer"]: e["detail"] for e in error.errors}


@st.composite
def sii_records(draw: st.DrawFn) -> dict[str, object]:
    born = draw(st.dates(date(2006, 1, 1), date(2024, 12, 31)))
    name = " ".join(
        [
            draw(st.sampled_from(GIVEN_NAMES)),
            *draw(st.lists(st.sampled_from(SURNAMES), min_size=1, max_size=2)),
        ]
    )
    contact = draw(st.booleans())
    department = draw(st.none() | st.sampled_from(list(sv_departments().values())))
    origin = {
        "departamento_origen": department,
        "municipio_origen": draw(st.none() | st.just("Nahuizalco"))
        if department
        else None,
    }
    return {
        "numero_registro": draw(st.none() | st.from_regex(r"\ASII-20[12]\d-\d{6}\Z")),
        "nombre_completo": name,
        "sexo": draw(st.sampled_from(["M", "F", None])),
        "fecha_nacimiento": born.strftime("%d/%m/%Y"),
        "fecha_nacimiento_estimada": draw(st.sampled_from(["S", "N"])),
        "nacionalidad": draw(st.sampled_from(["SLV", "GTM", "HND", "NIC"])),
        "nui": draw(st.none() | st.from_regex(r"\A\d{9}\Z")),
        "idioma_materno": draw(st.sampled_from(["spa", "ppl", "quc", "mam", "cab"])),
        "requiere_interprete": draw(st.sampled_from(["S", "N"])),
        **origin,
        "punto_ingreso": draw(
            st.none() | st.sampled_from([p.code for p in POINTS_OF_ENTRY])
        ),
        "categorias_vulnerabilidad": draw(
            st.lists(st.sampled_from(list(CATEGORY_CODES)), unique=True)
        ),
        "nombre_contacto": "Rosa Elena Peña" if contact else None,
        "parentesco_contacto": draw(st.sampled_from(["madre", "tío"]))
        if contact
        else None,
        "telefono_contacto": draw(st.none() | st.just("+503 7012 3456"))
        if contact
        else None,
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
@given(record=sii_records())
def test_a_generated_record_comes_back_from_the_hub_unchanged(record, stored, mapped):
    rendered = adapter.from_common(stored(adapter.to_common(record)))

    assert mapped(adapter, rendered) == mapped(adapter, record)


def test_the_arrival_date_is_declared_as_not_carried():
    case = adapter.to_common(minimal(fecha_ingreso="02/11/2024"))

    assert "/fecha_ingreso" in adapter.not_carried
    assert "2024-11-02" not in case.model_dump_json()


@pytest.mark.parametrize(
    ("full_name", "given_names", "family_names"),
    [
        ("José Alberto Hernández López", "José Alberto", "Hernández López"),
        ("Carlos Ernesto del Cid Peña", "Carlos Ernesto", "del Cid Peña"),
        ("Ana Ruth García de Mejía", "Ana Ruth", "García de Mejía"),
        ("María de los Ángeles Tepas Shupan", "María de los Ángeles", "Tepas Shupan"),
        ("Kevin Guardado", "Kevin", "Guardado"),
        ("Ana de León", "Ana", "de León"),
    ],
)
def test_the_full_name_splits_into_given_and_family_names(
    full_name, given_names, family_names
):
    assert split_full_name(full_name) == (given_names, family_names)


def test_numeric_categories_become_vulnerability_categories():
    case = adapter.to_common(minimal(categorias_vulnerabilidad=[3, 15]))

    assert case.vulnerabilities == [
        VulnerabilityCategory.TRAFFICKING_VICTIM,
        VulnerabilityCategory.LANGUAGE_BARRIER_OR_INDIGENOUS,
    ]


def test_the_point_of_entry_becomes_the_location_of_the_case():
    case = adapter.to_common(minimal(punto_ingreso="ANGUIATU"))

    assert case.location == Location(
        country="SV", subdivision="SV-SA", place="Anguiatú"
    )


def test_a_case_located_abroad_renders_no_point_of_entry(stored):
    case = adapter.to_common(minimal())
    case.location = Location(country="MX", subdivision="MX-CHP", place="Tapachula")

    assert adapter.from_common(stored(case))["punto_ingreso"] is None


def test_the_department_of_origin_is_read_by_its_spanish_name():
    case = adapter.to_common(minimal(departamento_origen="usulután"))

    assert case.origin is not None
    assert case.origin.department == "SV-US"


def test_an_iso_date_is_refused_with_the_expected_format():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(fecha_nacimiento="2012-09-23"))

    assert "dd/mm/aaaa" in pointers(raised.value)["/fecha_nacimiento"]


def test_an_unknown_category_code_lists_the_allowed_codes():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(categorias_vulnerabilidad=[1, 99]))

    detail = pointers(raised.value)["/categorias_vulnerabilidad/1"]
    assert "99" in detail
    assert "15 (indígena o idioma)" in detail


def test_an_unknown_point_of_entry_lists_the_known_posts():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(punto_ingreso="PEDRO_DE_ALVARADO"))

    assert "LA_HACHADURA" in pointers(raised.value)["/punto_ingreso"]


def test_an_unknown_department_lists_the_fourteen_departments():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(departamento_origen="Quetzaltenango"))

    detail = pointers(raised.value)["/departamento_origen"]
    assert all(name in detail for name in sv_departments().values())


def test_a_contact_without_relationship_is_refused():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(nombre_contacto="Rosa Peña"))

    assert list(pointers(raised.value)) == ["/parentesco_contacto"]


def test_a_single_word_name_points_at_the_full_name_field():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(nombre_completo="Ana"))

    assert list(pointers(raised.value)) == ["/nombre_completo"]


def test_a_name_the_common_schema_refuses_still_points_at_the_native_field():
    too_long = " ".join(["Guadalupe"] * 14 + ["Pérez", "Gómez"])

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(nombre_completo=too_long))

    assert list(pointers(raised.value)) == ["/nombre_completo"]


def test_a_municipality_without_its_department_is_refused():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(municipio_origen="Tacuba"))

    assert list(pointers(raised.value)) == ["/municipio_origen"]


def test_an_unknown_field_is_refused_by_name():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(fecha_de_nacimiento="23/09/2012"))

    assert "/fecha_de_nacimiento" in pointers(raised.value)
