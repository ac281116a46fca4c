"""Table models. Importing this package registers every table on the metadata."""

from sqlalchemy import MetaData
from sqlmodel import SQLModel

# Names for constraints, so migrations read the same on SQLite and PostgreSQL.
# Set before any table is declared: the tables attach to this metadata.
SQLModel.metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

from app.models.audit import AuditEntry  # noqa: E402
from app.models.cases import (  # noqa: E402
    Case,
    CaseAccess,
    CaseVulnerability,
    Child,
    ChildIdentifier,
    TimelineEntry,
)
from app.models.clients import Client  # noqa: E402
from app.models.events import Event  # noqa: E402
from app.models.idempotency import IdempotencyRecord  # noqa: E402
from app.models.institutions import Institution  # noqa: E402
from app.models.notifications import (  # noqa: E402
    Delivery,
    DeliveryAttempt,
    EventRestriction,
    Subscription,
)
from app.models.referrals import Referral, RoutingRule  # noqa: E402

__all__ = [
    "AuditEntry",
    "Case",
    "CaseAccess",
    "CaseVulnerability",
    "Child",
    "ChildIdentifier",
    "Client",
    "Delivery",
    "DeliveryAttempt",
    "Event",
    "EventRestriction",
    "IdempotencyRecord",
    "Institution",
    "Referral",
    "RoutingRule",
    "Subscription",
    "TimelineEntry",
]
