"""The child behind each case, and how the hub recognises one it already knows.

A registration names a child; before creating one, the hub looks for a child who holds
any of the same identifiers (type, value and issuer), then for one with the same
folded names and birth date. Several cases (a consulate's, then DGME's on arrival)
thereby share one child.
"""

import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.codes import IdentifierType
from app.errors import Conflict
from app.models import Child, ChildIdentifier
from app.models.types import utcnow
from app.schemas import cases as wire

MATCHED_ON_IDENTIFIER = "identifier"
MATCHED_ON_NAMES = "names_and_birth_date"

# A guardian's DUI is shared by siblings, so it never says which child this is.
NOT_RECOGNISING = {IdentifierType.GUARDIAN_DUI.value}
# Identifiers a person holds one of for life: a different value means another child.
LIFELONG = {IdentifierType.NUI.value, IdentifierType.BIRTH_CERTIFICATE.value}

# (type, value, issuer) as stored: issuer "" when there is none.
IdentifierKey = tuple[str, str, str]
# The details that say who a child is, compared when a registration links to one.
IDENTIFYING_DETAILS = ("given_names", "family_names", "birth_date")


def fold(text: str) -> str:
    """Lower case, without accents, single spaces: 'José  Ñúñez' gives 'jose nunez'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


def match_key(given_names: str, family_names: str, birth_date: date) -> str:
    """The key two records of one child share: folded names and the birth date."""
    return f"{fold(given_names)}|{fold(family_names)}|{birth_date.isoformat()}"


def identifier_keys(child: wire.Child) -> list[IdentifierKey]:
    """The identifiers sent for a child, each once, as the table keeps them."""
    keys = [(i.type.value, i.value, i.issuer or "") for i in child.identifiers]
    return list(dict.fromkeys(keys))


def recognise(db: Session, child: wire.Child) -> tuple[Child | None, str | None]:
    """The known child this registration describes, and what matched; or nothing."""
    keys = identifier_keys(child)
    recognising = [key for key in keys if key[0] not in NOT_RECOGNISING]
    held = _holders(db, recognising)
    if held:
        # Several holders mean inconsistent identifiers; attach() refuses them.
        return db.get(Child, next(iter(held.values()))), MATCHED_ON_IDENTIFIER

    key = match_key(child.given_names, child.family_names, child.birth_date)
    query = (
        select(Child)
        .where(Child.match_key == key)
        .order_by(col(Child.created_at), col(Child.id))
    )
    for candidate in db.exec(query):
        if not _contradicts(db, candidate.id, keys):
            return candidate, MATCHED_ON_NAMES
    return None, None


def create(db: Session, data: wire.Child) -> Child:
    """A new child, as sent."""
    child = Child(**_columns(data))
    db.add(child)
    db.flush()
    return child


def differing(child: Child, sent: wire.Child) -> list[str]:
    """The identifying details of the known child that the sent ones do not repeat."""
    return [
        name
        for name in IDENTIFYING_DETAILS
        if getattr(child, name) != getattr(sent, name)
    ]


def update(db: Session, child_id: uuid.UUID, data: wire.Child) -> bool:
    """Replace the child's details and add new identifiers; True if anything changed.

    NOTE: identifiers are only ever added here. Other institutions registered them and
    recognise the child by them; dropping one because a later update omitted it would
    let the next registration create a duplicate.
    """
    child = db.get_one(Child, child_id)
    columns = _columns(data)
    changed = any(getattr(child, name) != value for name, value in columns.items())
    if changed:
        child.sqlmodel_update({**columns, "updated_at": utcnow()})
        db.add(child)

    added = attach(db, child_id, identifier_keys(data))
    return changed or added > 0


def attach(db: Session, child_id: uuid.UUID, keys: Sequence[IdentifierKey]) -> int:
    """Give the child the identifiers it does not hold yet; returns how many."""
    holders = _holders(db, keys)
    added = 0
    for index, key in enumerate(keys):
        holder = holders.get(key)
        if holder == child_id:
            continue
        if holder is not None and key[0] in NOT_RECOGNISING:
            # TODO(cases): a guardian's DUI can be held by one child only (the unique
            # constraint on type+value+issuer); siblings need a guardian table.
            continue
        if holder is not None:
            raise Conflict(
                f"The identifier {key[0]} {key[1]} belongs to another child",
                errors=[{"pointer": f"/child/identifiers/{index}", "detail": "taken"}],
            )
        type_, value, issuer = key
        db.add(
            ChildIdentifier(child_id=child_id, type=type_, value=value, issuer=issuer)
        )
        added += 1

    db.flush()
    return added


def public_children(
    db: Session, child_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, wire.ChildPublic]:
    """The children as the wire shows them, loaded in two queries."""
    ids = set(child_ids)
    if not ids:
        return {}
    children = db.exec(select(Child).where(col(Child.id).in_(ids)))
    identifiers = _identifiers_of(db, ids)
    return {child.id: _public(child, identifiers[child.id]) for child in children}


def _columns(data: wire.Child) -> dict[str, Any]:
    columns = data.model_dump(exclude={"identifiers"})
    columns["sex"] = int(data.sex)
    columns["match_key"] = match_key(
        data.given_names, data.family_names, data.birth_date
    )
    return columns


def _holders(
    db: Session, keys: Sequence[IdentifierKey]
) -> dict[IdentifierKey, uuid.UUID]:
    """Which child holds each of these identifiers, for those already known."""
    if not keys:
        return {}
    wanted = [
        and_(
            col(ChildIdentifier.type) == type_,
            col(ChildIdentifier.value) == value,
            col(ChildIdentifier.issuer) == issuer,
        )
        for type_, value, issuer in keys
    ]
    rows = db.exec(select(ChildIdentifier).where(or_(*wanted)))
    return {(row.type, row.value, row.issuer): row.child_id for row in rows}


def _contradicts(
    db: Session, child_id: uuid.UUID, keys: Sequence[IdentifierKey]
) -> bool:
    """True when the child holds another lifelong identifier of the same kind."""
    sent = {
        (type_, issuer): value for type_, value, issuer in keys if type_ in LIFELONG
    }
    if not sent:
        return False
    query = select(ChildIdentifier).where(ChildIdentifier.child_id == child_id)
    return any(
        sent.get((row.type, row.issuer), row.value) != row.value
        for row in db.exec(query)
    )


def _identifiers_of(
    db: Session, child_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[ChildIdentifier]]:
    query = (
        select(ChildIdentifier)
        .where(col(ChildIdentifier.child_id).in_(child_ids))
        .order_by(
            col(ChildIdentifier.type),
            col(ChildIdentifier.issuer),
            col(ChildIdentifier.value),
        )
    )
    grouped: dict[uuid.UUID, list[ChildIdentifier]] = defaultdict(list)
    for row in db.exec(query):
        grouped[row.child_id].append(row)
    return grouped


def _public(child: Child, identifiers: list[ChildIdentifier]) -> wire.ChildPublic:
    fields = child.model_dump(exclude={"match_key", "created_at", "updated_at"})
    listed = [
        wire.Identifier(type=row.type, value=row.value, issuer=row.issuer or None)
        for row in identifiers
    ]
    return wire.ChildPublic.model_validate({**fields, "identifiers": listed})
