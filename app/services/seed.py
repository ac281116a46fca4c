"""Editable seed data shipped with the hub: institutions, then routing rules."""

from sqlmodel import Session

from app.services import institutions, routing


def load_seed(db: Session) -> int:
    """Load (or refresh) the seed data; returns how many institutions were written.

    Institutions first: the routing rules point at them.
    """
    count = institutions.load_institutions(db, institutions.default_seed())
    routing.load_routing_rules(db, routing.default_rules())
    return count
