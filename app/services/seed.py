"""Editable seed data shipped with the hub: institutions, then routing rules."""

from sqlmodel import Session

from app.services import institutions


def load_seed(db: Session) -> int:
    """Load (or refresh) the seed data; returns how many institutions were written."""
    return institutions.load_institutions(db, institutions.default_seed())
