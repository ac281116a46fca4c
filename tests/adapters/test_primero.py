from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters.primero import CONCERNS, PrimeroAdapter
from app.codes import ProtectionStatus, Sex, VulnerabilityCategory
from app.errors import InvalidInput

FIXTURE_DIR = Path(__file__).parents[1] / "fixtures" / "primero"
FIXTURES = sorted(FIXTURE_DIR.glob("*.json"))
TODAY = date(2025, 2, 1)
adapter = PrimeroAdapter(today=lambda: TODAY)


def minimal(**changes: object) -> dict[str, object]:
    return {
        "name_first": "Bryan Alexis",
        "name_last": "Ayala Cruz",
        "date_of_birth": "2009-04-02",
        **changes,
    }


def pointers(error: InvalidInput) -> dict[str, str]:
    return {e["pointer"]: e["detail"] for e in error.errors}


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@st.composite
def primero_cases(draw: st.DrawFn) -> dict[str, object]:
    born = draw(st.dates(date(2006, 1, 1), date(2024, 12, 31)))
    return {
        "name_first": draw(st.sampled_from(["Xochitl Guadalupe", "Ixchel", "Edwin"])),
        "name_last": draw(st.sampled_from(["Cortez Tepas", "Batz Tum", "Portillo"])),
        "sex": draw(st.sampled_from(["male", "female", "unknown"])),
        "date_of_birth": born.isoformat(),
        "age": age_on(born, TODAY),
        "estimated": draw(st.booleans()),
        "national_id_no": draw(st.none() | st.from_regex(r"\A\d{9}\Z")),
        "nationality": [draw(st.sampled_from(["SV", "GT", "HN"]))],
        "language": draw(
            st.lists(
                st.sampled_from(["spa", "ppl", "quc", "kek"]), min_size=1, unique=True
            )
        ),
        "location_current": draw(
            st.none() | st.sampled_from(["SV-SS", "MX-CHP", "US-TX"])
        ),
        "protection_status": draw(
            st.none() | st.sampled_from(["unaccompanied", "separated"])
        ),
        "protection_concerns": draw(
            st.lists(st.sampled_from(list(CONCERNS)), unique=True)
        ),
        "risk_level": draw(st.none() | st.sampled_from(["high", "medium", "low"])),
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
@given(record=primero_cases())
def test_a_generated_case_comes_back_from_the_hub_unchanged(record, stored, mapped):
    rendered = adapter.from_common(stored(adapter.to_common(record)))

    assert mapped(adapter, rendered) == mapped(adapter, record)


def test_every_vulnerability_category_has_exactly_one_concern():
    assert sorted(CONCERNS.values()) == sorted(VulnerabilityCategory)


def test_fields_primero_keeps_for_itself_are_ignored():
    case = adapter.to_common(minimal(owned_by="ts.sansalvador", workflow="new"))

    assert "ts.sansalvador" not in case.model_dump_json()


def test_a_gbv_survivor_is_read_and_rendered_as_the_canonical_concern(stored):
    case = adapter.to_common(minimal(protection_concerns=["gbv_survivor"]))

    assert case.vulnerabilities == [VulnerabilityCategory.GBV_OR_SEXUAL_EXPLOITATION]
    rendered = adapter.from_common(stored(case))
    assert rendered["protection_concerns"] == ["sexually_exploited"]


def test_concerns_without_a_category_are_dropped_not_refused(fixture_record):
    record = fixture_record(
        FIXTURE_DIR / "one_way" / "solo_edad_con_conceptos_sin_categoria.json"
    )

    case = adapter.to_common(record)

    assert case.vulnerabilities == [VulnerabilityCategory.GBV_OR_SEXUAL_EXPLOITATION]


def test_an_age_without_a_date_gives_an_estimated_birth_date():
    case = adapter.to_common(minimal(date_of_birth=None, age=12))

    assert case.child.birth_date == date(2013, 2, 1)
    assert case.child.birth_date_estimated is True


def test_the_age_rendered_is_the_age_today(stored):
    rendered = adapter.from_common(stored(adapter.to_common(minimal())))

    assert rendered["age"] == 15


def test_the_first_language_is_the_mother_tongue():
    case = adapter.to_common(minimal(language=["ppl", "spa"]))

    assert (case.child.mother_tongue, case.child.other_languages) == ("ppl", ["spa"])


def test_an_accompanied_child_renders_without_protection_status(stored):
    case = adapter.to_common(minimal())
    case.protection_status = ProtectionStatus.ACCOMPANIED

    assert adapter.from_common(stored(case))["protection_status"] is None


def test_an_unknown_sex_value_lists_the_lookup_values():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(sex="M"))

    assert "'male', 'female' or 'unknown'" in pointers(raised.value)["/sex"]


def test_sex_unknown_maps_to_iso_5218_not_known():
    assert adapter.to_common(minimal(sex="unknown")).child.sex is Sex.NOT_KNOWN


def test_an_unknown_concern_lists_the_accepted_ones():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(protection_concerns=["refugee", "orphan"]))

    detail = pointers(raised.value)["/protection_concerns/1"]
    assert "'orphan'" in detail
    assert "trafficked_smuggled" in detail


def test_a_case_without_date_of_birth_or_age_is_refused_at_age():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(date_of_birth=None))

    assert "date_of_birth" in pointers(raised.value)["/age"]


def test_a_location_that_is_not_a_subdivision_code_points_at_location_current():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(minimal(location_current="San Salvador"))

    assert list(pointers(raised.value)) == ["/location_current"]
