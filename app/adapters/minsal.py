"""MINSAL: referrals for medical and psychological care as HL7 FHIR R4 resources.

MINSAL exchanges referrals, not cases, so this is a `ReferralAdapter`: a Bundle maps to
an `InboundReferral` (the child and a referral draft, plus status and hub ids when it
answers about a referral the hub sent), and a `ReferralPublic` with its case's child
renders as a Bundle. One shape both ways, a `collection` Bundle of three entries:

    Patient          the child       identifier, name, gender, birthDate, communication,
                                     nationality and interpreterRequired extensions
    ServiceRequest   the referral    code -> Service, priority -> Priority,
                                     reasonCode[0].text -> reason,
                                     identifier (hub system) -> referral id,
                                     requisition (hub system) -> case id
    Task             its progress    status -> ReferralStatus (same codes),
                                     statusReason, businessStatus, output -> outcome,
                                     restriction.period.end -> due date,
                                     owner.identifier -> receiving institution

A status update is a Task sent alone (`PUT .../referrals/{id}/task`): its status,
statusReason.text, businessStatus.text and output valueString (or first note) map to a
`ReferralTransition`, and the answer is the Task rendered alone, which names its
ServiceRequest by the hub's referral identifier and leaves the Patient out.

Validation uses `fhir.resources.R4B`: fhir.resources 8 defaults to R5, and R4B is
identical to R4 for these three resources. The models check structure but not code
values, so statuses, genders and services are checked here against our code lists.
Errors point at FHIR paths in the Bundle sent, e.g. `/entry/2/resource/status`.

Events (`render_event`): a `referral.*` event is its referral's Task, alone and thin
(no Patient, no reason, no outcome: the receiver reads those from the hub):

    id                      uuid5(referral id, "task"), as the Bundle's Task entry
    identifier              the hub's referral id (REFERRAL_SYSTEM)
    basedOn, focus          the ServiceRequest, by that same referral identifier
    groupIdentifier         the hub's case id (CASE_SYSTEM), like the requisition
    status                  the referral status, already a FHIR Task status code
    code                    the service (SERVICE_SYSTEM)
    requester, owner        the referring and the receiving institution
    lastModified            when the event occurred
    meta.versionId          the event id (also the `webhook-id` header)
    meta.tag                the event type (EVENT_TYPE_SYSTEM), e.g. referral.overdue
    restriction.period.end  the due date, on `referral.overdue`
    extension               the status before the change (PREVIOUS_STATUS)

Every other event (`case.*`, `delivery.dead_lettered`) arrives as the common data,
`{id, case_id, case_seq, payload}`: FHIR has no resource MINSAL would expect for them,
and an invented one would be harder to read than the shape every receiver parses.
"""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid5

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.task import Task
from pydantic import BaseModel, ValidationError

from app.adapters.base import (
    EventView,
    InboundReferral,
    ReferralAdapter,
    ReferralDraft,
    common_event_data,
    native_problem,
)
from app.codes import (
    IdentifierType,
    Priority,
    ReferralStatus,
    Role,
    Service,
    Sex,
    bcp47_to_iso639_3,
    iso639_3_to_bcp47,
)
from app.errors import InvalidInput
from app.schemas.cases import Child, ChildPublic, Identifier
from app.schemas.referrals import ReferralPublic, ReferralTransition

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

HUB = "https://puente.gob.sv/fhir"
SERVICE_SYSTEM = f"{HUB}/CodeSystem/service"
REFERRAL_SYSTEM = f"{HUB}/NamingSystem/referral"
CASE_SYSTEM = f"{HUB}/NamingSystem/case"
INSTITUTION_SYSTEM = f"{HUB}/NamingSystem/institution"
EVENT_TYPE_SYSTEM = f"{HUB}/CodeSystem/event-type"
PREVIOUS_STATUS = f"{HUB}/StructureDefinition/previous-status"
BIRTH_DATE_ESTIMATED = f"{HUB}/StructureDefinition/birth-date-estimated"
INTERPRETER_REQUIRED = (
    "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
)
NATIONALITY = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
ISO_3166 = "urn:iso:std:iso:3166"
BCP_47 = "urn:ietf:bcp:47"
IDENTIFIER_SYSTEMS = {
    kind: f"{HUB}/NamingSystem/{kind.value}" for kind in IdentifierType
}
IDENTIFIER_TYPES = {system: kind for kind, system in IDENTIFIER_SYSTEMS.items()}

# ISO 5218 "not applicable" has no FHIR gender; FHIR "other" has no ISO 5218 code.
GENDERS = {"male": Sex.MALE, "female": Sex.FEMALE, "unknown": Sex.NOT_KNOWN}
GENDER_OF = {Sex.MALE: "male", Sex.FEMALE: "female"}
STATUSES = {status.value: status for status in ReferralStatus}
SERVICES = {service.value: service for service in Service}
PRIORITIES = {priority.value: priority for priority in Priority}

# Where each common field comes from, inside its resource, for error pointers.
PATIENT_PATHS = {
    "given_names": "name/0/given",
    "family_names": "name/0/family",
    "birth_date": "birthDate",
    "identifiers": "identifier",
    "nationality": "extension",
}
REQUEST_PATHS = {"reason": "reasonCode/0/text", "service": "code"}
TASK_PATHS = {
    "reason": "statusReason/text",
    "business_status": "businessStatus/text",
    "outcome": "output/0/valueString",
}


class MinsalAdapter(ReferralAdapter[Bundle]):
    name = "minsal"
    version = "1.0"
    institution_role = Role.HEALTH
    native_model = Bundle

    def render_event(self, event: EventView) -> dict[str, Any]:
        # Only referrals have a FHIR shape MINSAL expects; see the module docstring.
        if not event.type.startswith("referral.") or "referral_id" not in event.payload:
            return common_event_data(event)
        return _event_task(event)

    def parse(self, record: Mapping[str, Any]) -> Bundle:
        # fhir.resources raises KeyError, not a validation error, on an entry of an
        # unknown resource type; check types first so that is a 422 too.
        _check_resource_types(record)
        try:
            return super().parse(record)
        except InvalidInput as problem:
            _fhir_names(problem)
            raise

    def map_to_common(self, native: Bundle) -> InboundReferral:
        entries = _entries_by_type(native)
        patient_at, patient = entries["Patient"]
        request_at, request = entries["ServiceRequest"]
        task_at, task = entries["Task"]

        status = _code(STATUSES, task.status or "", f"/entry/{task_at}/resource/status")
        return InboundReferral(
            child=_child(patient, f"/entry/{patient_at}/resource"),
            referral=_draft(request, task, f"/entry/{request_at}/resource"),
            status=status,
            status_reason=_text(task.statusReason),
            business_status=_text(task.businessStatus),
            outcome=_outcome(task.output),
            referral_id=_hub_id(request.identifier, REFERRAL_SYSTEM),
            case_id=_hub_id([request.requisition], CASE_SYSTEM),
        )

    def from_common(
        self, referral: ReferralPublic, child: ChildPublic
    ) -> dict[str, Any]:
        patient_url = f"urn:uuid:{child.id}"
        request_url = f"urn:uuid:{referral.id}"
        task_url = f"urn:uuid:{_task_id(referral)}"
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": patient_url, "resource": _patient(child)},
                {"fullUrl": request_url, "resource": _request(referral, patient_url)},
                {
                    "fullUrl": task_url,
                    "resource": _task(
                        referral,
                        request={"reference": request_url},
                        patient={"reference": patient_url},
                    ),
                },
            ],
        }

    def update_to_common(self, record: Mapping[str, Any]) -> ReferralTransition:
        try:
            task = Task.model_validate(record)
        except ValidationError as exc:
            raise _fhir_names(native_problem(exc, self.name)) from exc

        try:
            fields = {
                "status": _code(STATUSES, task.status or "", "/status"),
                "reason": _text(task.statusReason),
                "business_status": _text(task.businessStatus),
                "outcome": _outcome(task.output) or _first_note(task.note),
            }
            return _build(ReferralTransition, fields, "", TASK_PATHS)
        except InvalidInput as problem:
            raise InvalidInput(TASK_TITLE, problem.errors) from problem

    def update_from_common(self, referral: ReferralPublic) -> dict[str, Any]:
        # Alone, the Task cannot point at a Bundle entry, so it names its
        # ServiceRequest by identifier; the Patient is left out, because a recipient
        # that has just rejected the referral no longer sees the child.
        request = {
            "type": "ServiceRequest",
            "identifier": {"system": REFERRAL_SYSTEM, "value": str(referral.id)},
        }
        return _task(referral, request=request, patient=None)


def _fhir_names(problem: InvalidInput) -> InvalidInput:
    """The same problem, with pydantic's field names turned back into FHIR's."""
    for error in problem.errors:
        error["pointer"] = error["pointer"].replace("resource_type", "resourceType")
    return problem


def _check_resource_types(record: Any) -> None:
    entries = record.get("entry") if isinstance(record, Mapping) else None
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue
        kind = str(resource.get("resourceType"))
        try:
            get_fhir_model_class(kind)
        except ValueError as exc:
            pointer = f"/entry/{index}/resource/resourceType"
            raise _invalid(pointer, f"'{kind}' is not a FHIR R4 resource type") from exc


def _entries_by_type(bundle: Bundle) -> dict[str, tuple[int, Any]]:
    found: dict[str, tuple[int, Any]] = {}
    for index, entry in enumerate(bundle.entry or []):
        kind = entry.resource.get_resource_type() if entry.resource else None
        if kind in ("Patient", "ServiceRequest", "Task"):
            if kind in found:
                raise _invalid(f"/entry/{index}", f"a second {kind}; send one")
            found[kind] = (index, entry.resource)

    missing = [k for k in ("Patient", "ServiceRequest", "Task") if k not in found]
    if missing:
        raise _invalid("/entry", f"expected a {', '.join(missing)} entry")
    return found


def _child(patient: Any, at: str) -> Child:
    name = patient.name[0] if patient.name else None
    if patient.birthDate is None:
        raise _invalid(f"{at}/birthDate", "expected the child's birth date")
    fields = {
        "identifiers": [
            _identifier(i, f"{at}/identifier/{n}")
            for n, i in enumerate(patient.identifier or [])
        ],
        "given_names": " ".join(name.given or []) if name else "",
        "family_names": (name.family or "") if name else "",
        "sex": _code(GENDERS, patient.gender or "unknown", f"{at}/gender"),
        "birth_date": patient.birthDate,
        "birth_date_estimated": bool(_extension(patient, BIRTH_DATE_ESTIMATED)),
        "interpreter_needed": bool(_extension(patient, INTERPRETER_REQUIRED)),
        **_languages(patient.communication or [], f"{at}/communication"),
        **_nationality(patient),
    }
    return _build(Child, fields, at, PATIENT_PATHS)


def _identifier(identifier: Any, at: str) -> Identifier:
    kind = _code(IDENTIFIER_TYPES, identifier.system or "", f"{at}/system")
    issuer = identifier.assigner.display if identifier.assigner else None
    return _build(
        Identifier,
        {"type": kind, "value": identifier.value or "", "issuer": issuer},
        at,
        {"value": "value", "issuer": "assigner/display"},
    )


def _languages(communication: list[Any], at: str) -> dict[str, Any]:
    codes = []
    for index, item in enumerate(communication):
        coding = _coding(item.language, BCP_47)
        pointer = f"{at}/{index}/language"
        if coding is None:
            raise _invalid(pointer, f"expected a coding with system {BCP_47}")
        codes.append((bool(item.preferred), _language(coding.code or "", pointer)))

    # The preferred language is the mother tongue; sorted() keeps the rest in order.
    ordered = [code for _, code in sorted(codes, key=lambda c: not c[0])]
    if not ordered:
        return {}
    return {"mother_tongue": ordered[0], "other_languages": ordered[1:]}


def _language(tag: str, pointer: str) -> str:
    try:
        return bcp47_to_iso639_3(tag)
    except ValueError as exc:
        raise _invalid(pointer, str(exc)) from exc


def _nationality(patient: Any) -> dict[str, str]:
    for extension in patient.extension or []:
        if extension.url != NATIONALITY:
            continue
        for part in extension.extension or []:
            coding = _coding(part.valueCodeableConcept, ISO_3166)
            if part.url == "code" and coding is not None:
                return {"nationality": coding.code or ""}
    return {}


def _draft(request: Any, task: Any, at: str) -> ReferralDraft:
    coding = _coding(request.code, SERVICE_SYSTEM)
    if coding is None:
        raise _invalid(f"{at}/code", f"expected a coding with system {SERVICE_SYSTEM}")
    fields = {
        "service": _code(SERVICES, coding.code or "", f"{at}/code/coding/0/code"),
        "priority": _code(PRIORITIES, request.priority or "routine", f"{at}/priority"),
        "reason": _text(request.reasonCode[0]) if request.reasonCode else None,
        "due_date": _due_date(task),
        "to_institution": _owner(task),
    }
    return _build(ReferralDraft, fields, at, REQUEST_PATHS)


def _due_date(task: Any) -> date | None:
    period = task.restriction.period if task.restriction else None
    end = period.end if period else None
    return end.date() if isinstance(end, datetime) else end


def _owner(task: Any) -> str | None:
    identifier = task.owner.identifier if task.owner else None
    return identifier.value if identifier else None


def _outcome(outputs: list[Any] | None) -> str | None:
    values = [o.valueString for o in outputs or [] if o.valueString]
    return values[0] if values else None


def _first_note(notes: list[Any] | None) -> str | None:
    texts = [note.text for note in notes or [] if note.text]
    return texts[0] if texts else None


def _hub_id(identifiers: list[Any] | None, system: str) -> UUID | None:
    for identifier in identifiers or []:
        if identifier is not None and identifier.system == system:
            try:
                return UUID(identifier.value)
            except (TypeError, ValueError):
                return None
    return None


def _patient(child: ChildPublic) -> dict[str, Any]:
    languages = [child.mother_tongue, *child.other_languages]
    return {
        "resourceType": "Patient",
        "id": str(child.id),
        "extension": _patient_extensions(child),
        "identifier": [_fhir_identifier(i) for i in child.identifiers],
        "name": [
            {
                "use": "official",
                "family": child.family_names,
                "given": child.given_names.split(),
            }
        ],
        "gender": GENDER_OF.get(child.sex, "unknown"),
        "birthDate": child.birth_date.isoformat(),
        "communication": [
            {
                "language": _concept(BCP_47, iso639_3_to_bcp47(code)),
                "preferred": index == 0,
            }
            for index, code in enumerate(languages)
        ],
    }


def _patient_extensions(child: ChildPublic) -> list[dict[str, Any]]:
    nationality = {
        "url": "code",
        "valueCodeableConcept": _concept(ISO_3166, child.nationality),
    }
    return [
        {"url": NATIONALITY, "extension": [nationality]},
        {"url": INTERPRETER_REQUIRED, "valueBoolean": child.interpreter_needed},
        {"url": BIRTH_DATE_ESTIMATED, "valueBoolean": child.birth_date_estimated},
    ]


def _fhir_identifier(identifier: Identifier) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "system": IDENTIFIER_SYSTEMS[identifier.type],
        "value": identifier.value,
    }
    if identifier.issuer:
        rendered["assigner"] = {"display": identifier.issuer}
    return rendered


def _request(referral: ReferralPublic, patient_url: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": str(referral.id),
        "identifier": [{"system": REFERRAL_SYSTEM, "value": str(referral.id)}],
        "requisition": {"system": CASE_SYSTEM, "value": str(referral.case_id)},
        # A referral the hub still tracks is an active order, whatever its Task says.
        "status": "active",
        "intent": "order",
        "priority": referral.priority.value,
        "code": _concept(SERVICE_SYSTEM, referral.service.value),
        "subject": {"reference": patient_url},
        "authoredOn": referral.created_at.isoformat(),
        "reasonCode": [{"text": referral.reason}],
    }


def _task_id(referral: ReferralPublic) -> UUID:
    # Derived, not stored: the hub keeps one Task per referral, the referral itself.
    return uuid5(referral.id, "task")


def _task(
    referral: ReferralPublic,
    *,
    request: dict[str, Any],
    patient: dict[str, Any] | None,
) -> dict[str, Any]:
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(_task_id(referral)),
        "status": referral.status.value,
        "intent": "order",
        "basedOn": [request],
        "focus": request,
        "authoredOn": referral.created_at.isoformat(),
        "lastModified": referral.updated_at.isoformat(),
        "requester": _institution(referral.from_institution),
        "owner": _institution(referral.to_institution),
    }
    optional = {
        "for": patient,
        "statusReason": {"text": referral.status_reason},
        "businessStatus": {"text": referral.business_status},
        "output": [{"type": {"text": "outcome"}, "valueString": referral.outcome}],
        "restriction": {"period": {"end": _iso(referral.due_date)}},
    }
    present = {
        "for": patient,
        "statusReason": referral.status_reason,
        "businessStatus": referral.business_status,
        "output": referral.outcome,
        "restriction": referral.due_date,
    }
    task.update({key: optional[key] for key, value in present.items() if value})
    return task


def _event_task(event: EventView) -> dict[str, Any]:
    """A referral event as its referral's Task; the mapping is in the docstring."""
    payload = event.payload
    referral_id = str(payload["referral_id"])
    request = {
        "type": "ServiceRequest",
        "identifier": {"system": REFERRAL_SYSTEM, "value": referral_id},
    }
    task: dict[str, Any] = {
        "resourceType": "Task",
        # The same id as the Task entry of the referral's Bundle (`_task_id`).
        "id": str(uuid5(UUID(referral_id), "task")),
        # Each event is a new version of the referral's Task.
        "meta": {
            "versionId": str(event.id),
            "tag": [{"system": EVENT_TYPE_SYSTEM, "code": event.type}],
        },
        "identifier": [{"system": REFERRAL_SYSTEM, "value": referral_id}],
        "basedOn": [request],
        "focus": request,
        "groupIdentifier": {"system": CASE_SYSTEM, "value": str(event.case_id)},
        "status": payload.get("status"),
        "intent": "order",
        "lastModified": event.occurred_at.isoformat(),
    }
    task.update(_event_task_details(payload))
    return task


def _event_task_details(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The Task elements of the payload's optional fields, for those present."""
    details: dict[str, Any] = {}
    if payload.get("service"):
        details["code"] = _concept(SERVICE_SYSTEM, payload["service"])
    if payload.get("from_institution"):
        details["requester"] = _institution(payload["from_institution"])
    if payload.get("to_institution"):
        details["owner"] = _institution(payload["to_institution"])
    if payload.get("due_date"):
        details["restriction"] = {"period": {"end": payload["due_date"]}}
    if payload.get("previous_status"):
        previous = {"url": PREVIOUS_STATUS, "valueCode": payload["previous_status"]}
        details["extension"] = [previous]
    return details


def _institution(institution_id: str) -> dict[str, Any]:
    return {"identifier": {"system": INSTITUTION_SYSTEM, "value": institution_id}}


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _coding(concept: Any, system: str) -> Any:
    codings = concept.coding if concept else None
    return next((c for c in codings or [] if c.system == system), None)


def _text(concept: Any) -> str | None:
    return concept.text if concept else None


def _extension(resource: Any, url: str) -> Any:
    for extension in resource.extension or []:
        if extension.url == url:
            return extension.valueBoolean
    return None


def _code(table: Mapping[str, T], value: str, pointer: str) -> T:
    """Look a FHIR code up in one of our lists; the error lists the allowed codes."""
    if value not in table:
        allowed = ", ".join(table)
        raise _invalid(
            pointer, f"'{value}' is not allowed here; expected one of {allowed}"
        )
    return table[value]


def _build(
    model: type[M], fields: dict[str, Any], at: str, paths: Mapping[str, str]
) -> M:
    """Build a common model, pointing any error at the FHIR element it came from."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        errors = [
            {
                "pointer": f"{at}/{paths.get(str(err['loc'][0]), '')}".rstrip("/"),
                "detail": str(err["msg"]).removeprefix("Value error, "),
            }
            for err in exc.errors()
        ]
        raise InvalidInput(
            "The minsal Bundle does not map to a referral", errors
        ) from exc


TASK_TITLE = "The minsal Task does not map to a status update"


def _invalid(pointer: str, detail: str) -> InvalidInput:
    return InvalidInput(
        "The minsal Bundle does not map to a referral",
        [{"pointer": pointer, "detail": detail}],
    )
