"""shared case, referrals, idempotency and event outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 18:11:09.768061
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "child",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "given_names", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False
        ),
        sa.Column(
            "family_names", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False
        ),
        sa.Column(
            "match_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False
        ),
        sa.Column("sex", sa.Integer(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("birth_date_estimated", sa.Boolean(), nullable=False),
        sa.Column(
            "nationality", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False
        ),
        sa.Column(
            "mother_tongue", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False
        ),
        sa.Column("other_languages", sa.JSON(), nullable=False),
        sa.Column("interpreter_needed", sa.Boolean(), nullable=False),
        sa.Column(
            "indigenous_people",
            sqlmodel.sql.sqltypes.AutoString(length=120),
            nullable=True,
        ),
        sa.Column(
            "disability", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
        ),
        sa.Column(
            "created_at", app.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", app.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child")),
    )
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_child_match_key"), ["match_key"], unique=False
        )

    op.create_table(
        "idempotency_record",
        sa.Column(
            "client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column(
            "request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.JSON(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", app.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", app.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("client_id", "key", name=op.f("pk_idempotency_record")),
    )
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_record_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "case",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "lead_institution_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False
        ),
        sa.Column(
            "registered_by_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False
        ),
        sa.Column("protection_status", sa.String(length=16), nullable=True),
        sa.Column("risk_level", sa.String(length=16), nullable=True),
        sa.Column("location", sa.JSON(), nullable=True),
        sa.Column(
            "origin_department",
            sqlmodel.sql.sqltypes.AutoString(length=6),
            nullable=True,
        ),
        sa.Column(
            "origin_municipality",
            sqlmodel.sql.sqltypes.AutoString(length=120),
            nullable=True,
        ),
        sa.Column("family_contacts", sa.JSON(), nullable=False),
        sa.Column("consent", sa.JSON(), nullable=True),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", app.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", app.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_case_child_id_child")
        ),
        sa.ForeignKeyConstraint(
            ["lead_institution_id"],
            ["institution.id"],
            name=op.f("fk_case_lead_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["case.id"], name=op.f("fk_case_merged_into_id_case")
        ),
        sa.ForeignKeyConstraint(
            ["registered_by_id"],
            ["institution.id"],
            name=op.f("fk_case_registered_by_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case")),
    )
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_child_id"), ["child_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_lead_institution_id"),
            ["lead_institution_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_case_origin_department"), ["origin_department"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "child_identifier",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "issuer", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_child_identifier_child_id_child")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child_identifier")),
        sa.UniqueConstraint(
            "type",
            "value",
            "issuer",
            name=op.f("uq_child_identifier_type_value_issuer"),
        ),
    )
    with op.batch_alter_table("child_identifier", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_child_identifier_child_id"), ["child_id"], unique=False
        )

    op.create_table(
        "routing_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("institution_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "subdivision", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True
        ),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_routing_rule_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rule")),
    )
    with op.batch_alter_table("routing_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_rule_service"), ["service"], unique=False
        )

    op.create_table(
        "case_access",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_access_case_id_case")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_case_access_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint(
            "case_id", "institution_id", "reason", name=op.f("pk_case_access")
        ),
    )
    with op.batch_alter_table("case_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_access_institution_id"),
            ["institution_id"],
            unique=False,
        )

    op.create_table(
        "case_vulnerability",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_vulnerability_case_id_case")
        ),
        sa.PrimaryKeyConstraint(
            "case_id", "category", name=op.f("pk_case_vulnerability")
        ),
    )
    with op.batch_alter_table("case_vulnerability", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_vulnerability_category"), ["category"], unique=False
        )

    op.create_table(
        "event",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("case_seq", sa.Integer(), nullable=False),
        sa.Column(
            "occurred_at", app.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_event_case_id_case")
        ),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_event")),
        sa.UniqueConstraint(
            "case_id", "case_seq", name=op.f("uq_event_case_id_case_seq")
        ),
        sa.UniqueConstraint("id", name=op.f("uq_event_id")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_type"), ["type"], unique=False)

    op.create_table(
        "referral",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "from_institution_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False
        ),
        sa.Column(
            "to_institution_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False
        ),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column(
            "reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False
        ),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "status_reason",
            sqlmodel.sql.sqltypes.AutoString(length=1000),
            nullable=True,
        ),
        sa.Column(
            "business_status",
            sqlmodel.sql.sqltypes.AutoString(length=120),
            nullable=True,
        ),
        sa.Column(
            "outcome", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True
        ),
        sa.Column("consent_override", sa.JSON(), nullable=True),
        sa.Column(
            "created_by_client_id",
            sqlmodel.sql.sqltypes.AutoString(length=64),
            nullable=False,
        ),
        sa.Column(
            "overdue_notified_at",
            app.models.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "created_at", app.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", app.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_referral_case_id_case")
        ),
        sa.ForeignKeyConstraint(
            ["from_institution_id"],
            ["institution.id"],
            name=op.f("fk_referral_from_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["to_institution_id"],
            ["institution.id"],
            name=op.f("fk_referral_to_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_referral_due_date"), ["due_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_referral_from_institution_id"),
            ["from_institution_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_referral_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_referral_to_institution_id"),
            ["to_institution_id"],
            unique=False,
        )

    op.create_table(
        "timeline_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
        ),
        sa.Column(
            "action", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False
        ),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_timeline_entry_case_id_case")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_timeline_entry_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referral.id"],
            name=op.f("fk_timeline_entry_referral_id_referral"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_entry")),
    )
    with op.batch_alter_table("timeline_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timeline_entry_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_timeline_entry_case_id"), ["case_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_entry_case_id"))
        batch_op.drop_index(batch_op.f("ix_timeline_entry_at"))

    op.drop_table("timeline_entry")
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_to_institution_id"))
        batch_op.drop_index(batch_op.f("ix_referral_status"))
        batch_op.drop_index(batch_op.f("ix_referral_from_institution_id"))
        batch_op.drop_index(batch_op.f("ix_referral_due_date"))
        batch_op.drop_index(batch_op.f("ix_referral_case_id"))

    op.drop_table("referral")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_type"))
        batch_op.drop_index(batch_op.f("ix_event_case_id"))

    op.drop_table("event")
    with op.batch_alter_table("case_vulnerability", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_vulnerability_category"))

    op.drop_table("case_vulnerability")
    with op.batch_alter_table("case_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_access_institution_id"))

    op.drop_table("case_access")
    with op.batch_alter_table("routing_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_rule_service"))

    op.drop_table("routing_rule")
    with op.batch_alter_table("child_identifier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_child_identifier_child_id"))

    op.drop_table("child_identifier")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_updated_at"))
        batch_op.drop_index(batch_op.f("ix_case_status"))
        batch_op.drop_index(batch_op.f("ix_case_origin_department"))
        batch_op.drop_index(batch_op.f("ix_case_lead_institution_id"))
        batch_op.drop_index(batch_op.f("ix_case_child_id"))

    op.drop_table("case")
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_record_expires_at"))

    op.drop_table("idempotency_record")
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_child_match_key"))

    op.drop_table("child")
