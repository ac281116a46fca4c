import copy
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters.base import InboundReferral
from app.adapters.minsal import MinsalAdapter
from app.codes import IdentifierType, Priority, ReferralStatus, Service, Sex
from app.errors import InvalidInput
from app.schemas.cases import ChildPublic, Identifier
from app.schemas.referrals import ReferralPublic

FIXTURE_DIR = Path(__file__).parents[1] / "fixtures" / "minsal"
FIXTURES = sorted(FIXTURE_DIR.glob("*.json"))
SENT_AT = datetime(2024, 11, 18, 15, 10, tzinfo=UTC)
adapter = MinsalAdapter()


def as_stored(inbound: InboundReferral) -> tuple[ReferralPublic, ChildPublic]:
    """The referral and child as the hub would keep them after receiving `inbound`."""
    referral = ReferralPublic(
        id=inbound.referral_id or uuid4(),
        case_id=inbound.case_id or uuid4(),
        from_institution="minsal",
        to_institution=inbound.referral.to_institution or "conapina",
        **inbound.referral.model_dump(exclude={"to_institution"}),
        status=inbound.status,
        status_reason=inbound.status_reason,
        business_status=inbound.business_status,
        outcome=inbound.outcome,
        consent_override=None,
        created_at=SENT_AT,
        updated_at=SENT_AT,
        version=1,
    )
    return referral, ChildPublic(id=uuid4(), **inbound.child.model_dump())


def pointers(error: InvalidInput) -> dict[str, str]:
    return {e["pointer"]: e["detail"] for e in error.errors}


def bundle(name: str = "referencia_psicosocial_nueva") -> dict:
    import json

    with (FIXTURE_DIR / f"{name}.json").open(encoding="utf-8") as file:
        return json.load(file)


children = st.builds(
    ChildPublic,
    id=st.uuids(),
    identifiers=st.lists(
        st.builds(
            Identifier,
            type=st.sampled_from(IdentifierType),
            value=st.from_regex(r"\A[A-Z0-9-]{4,12}\Z"),
            issuer=st.none() | st.sampled_from(["RNPN", "Tapachula"]),
        ),
        max_size=3,
    ),
    given_names=st.sampled_from(["Carlos Ernesto", "María de los Ángeles", "Ixchel"]),
    family_names=st.sampled_from(["del Cid Peña", "Tepas Shupan", "Batz"]),
    sex=st.sampled_from([Sex.MALE, Sex.FEMALE, Sex.NOT_KNOWN]),
    birth_date=st.dates(date(2006, 1, 1), date(2024, 1, 1)),
    birth_date_estimated=st.booleans(),
    nationality=st.sampled_from(["SV", "GT", "HN"]),
    mother_tongue=st.sampled_from(["spa", "ppl", "quc"]),
    other_languages=st.lists(st.sampled_from(["eng", "mam"]), unique=True),
    interpreter_needed=st.booleans(),
)
referrals = st.builds(
    ReferralPublic,
    id=st.uuids(),
    case_id=st.uuids(),
    from_institution=st.just("minsal"),
    to_institution=st.sampled_from(["minsal", "minsal-ucsf-nahuizalco"]),
    service=st.sampled_from(Service),
    priority=st.sampled_from(Priority),
    reason=st.sampled_from(["Evaluación pediátrica", "Crisis de ansiedad"]),
    due_date=st.none() | st.dates(date(2024, 1, 1), date(2026, 1, 1)),
    status=st.sampled_from(ReferralStatus),
    status_reason=st.none() | st.just("Sin cupo en la unidad"),
    business_status=st.none() | st.just("cita programada"),
    outcome=st.none() | st.just("Atendido; control en 30 días"),
    consent_override=st.none(),
    created_at=st.just(SENT_AT),
    updated_at=st.just(SENT_AT),
    version=st.just(1),
)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_a_fixture_bundle_comes_back_from_the_hub_with_every_mapped_element(path):
    received = adapter.to_common(bundle(path.stem))
    referral, child = as_stored(received)

    again = adapter.to_common(adapter.from_common(referral, child))

    # A new referral gets its hub ids on the way back; everything else is kept.
    assert again.referral_id == referral.id
    assert again.case_id == referral.case_id
    ignored = {"referral_id", "case_id"}
    assert again.model_dump(exclude=ignored) == received.model_dump(exclude=ignored)


# No deadline: the tests check mapping, not speed, and CI machines vary.
@settings(deadline=None)
@given(referral=referrals, child=children)
def test_a_generated_bundle_comes_back_from_the_hub_unchanged(referral, child):
    sent = adapter.from_common(referral, child)

    referral_again, child_again = as_stored(adapter.to_common(sent))
    child_again = child_again.model_copy(update={"id": child.id})
    resent = adapter.from_common(referral_again, child_again)

    assert resent == sent


def test_the_rendered_bundle_is_valid_fhir_r4():
    referral, child = as_stored(adapter.to_common(bundle()))

    rendered = Bundle.model_validate(adapter.from_common(referral, child))

    task = rendered.entry[2].resource
    assert (task.get_resource_type(), task.status) == ("Task", "requested")


def test_a_status_update_carries_the_hub_ids_and_the_outcome():
    received = adapter.to_common(bundle("referencia_medica_completada"))

    assert received.status is ReferralStatus.COMPLETED
    assert received.referral_id == UUID("9e2d6c11-52a0-4c8e-bb7f-5b5b5b5b5b5b")
    assert received.case_id == UUID("3c1f8e2a-9b6d-4f0e-a1c2-6c6c6c6c6c6c")
    assert received.outcome is not None
    assert "náhuat" in received.outcome


def test_the_preferred_language_is_the_mother_tongue():
    child = adapter.to_common(bundle("referencia_medica_completada")).child

    assert (child.mother_tongue, child.other_languages) == ("ppl", ["spa"])


def test_the_draft_becomes_a_referral_create_once_the_case_is_known():
    draft = adapter.to_common(bundle()).referral
    case_id = uuid4()

    created = draft.for_case(case_id)

    assert (created.case_id, created.service, created.priority) == (
        case_id,
        Service.PSYCHOSOCIAL_CARE,
        Priority.URGENT,
    )


def test_a_task_status_outside_our_referral_statuses_lists_the_allowed_ones():
    message = bundle()
    message["entry"][2]["resource"]["status"] = "draft"

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(message)

    detail = pointers(raised.value)["/entry/2/resource/status"]
    assert "'draft'" in detail
    assert "in-progress" in detail


def test_a_gender_without_an_iso_5218_code_is_refused_at_the_patient():
    message = bundle()
    message["entry"][0]["resource"]["gender"] = "other"

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(message)

    assert "male, female, unknown" in pointers(raised.value)["/entry/0/resource/gender"]


def test_an_unknown_service_code_lists_the_services():
    message = bundle()
    message["entry"][1]["resource"]["code"]["coding"][0]["code"] = "dental_care"

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(message)

    detail = pointers(raised.value)["/entry/1/resource/code/coding/0/code"]
    assert "psychosocial_care" in detail


def test_a_malformed_birth_date_points_at_the_fhir_element():
    message = bundle()
    message["entry"][0]["resource"]["birthDate"] = "14/03/2010"

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(message)

    assert list(pointers(raised.value)) == ["/entry/0/resource/birthDate"]


def test_a_referral_without_reason_points_at_the_reason_text():
    message = bundle()
    del message["entry"][1]["resource"]["reasonCode"]

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(message)

    assert list(pointers(raised.value)) == ["/entry/1/resource/reasonCode/0/text"]


def test_a_bundle_without_task_says_which_resource_is_missing():
    message = copy.deepcopy(bundle())
    del message["entry"][2]

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(message)

    assert "Task" in pointers(raised.value)["/entry"]


def test_an_identifier_from_an_unknown_system_lists_the_known_systems():
    message = bundle()
    message["entry"][0]["resource"]["identifier"][0]["system"] = "urn:oid:2.16.222"

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(message)

    detail = pointers(raised.value)["/entry/0/resource/identifier/0/system"]
    assert "NamingSystem/nui" in detail


def test_an_entry_of_an_unknown_resource_type_points_at_its_resource_type():
    message = bundle()
    message["entry"].append({"resource": {"resourceType": "Paciente"}})

    with pytest.raises(InvalidInput) as raised:
        adapter.to_common(message)

    assert list(pointers(raised.value)) == ["/entry/3/resource/resourceType"]


def test_a_message_that_is_not_a_bundle_points_at_its_resource_type():
    with pytest.raises(InvalidInput) as raised:
        adapter.to_common({"resourceType": "Patient", "type": "collection"})

    assert "/resourceType" in pointers(raised.value)
