"""The cover's lifecycle: the moves of each enrolment (enrollment_moves), the treasurer's
result per enrolment and month (premium_months), the months an ASN belonged to an OPD
(asn_unit_months), a departed ASN (asn.left_at, asn.deductions_stop_month), and on each
enrolment the derived covered_from / covered_until and the enrolment a takeover continues.

Until now "ended" meant an enrolment the ASN stopped. The lifecycle (flows/lifecycle.py)
names that "stopped" and keeps "ended" for a membership closed after a lapse, so the
upgrade renames the stored rows; neither status holds a NIK, so the partial unique index
is untouched.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ENROLLMENTS = sa.table("enrollments", sa.column("status", sa.String()))


def upgrade() -> None:
    op.create_table(
        "enrollment_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("move", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollments.id"],
                                name=op.f("fk_enrollment_moves_enrollment_id_enrollments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_moves")),
    )
    with op.batch_alter_table("enrollment_moves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrollment_moves_enrollment_id"),
                              ["enrollment_id"], unique=False)
        batch_op.create_index("ix_enrollment_moves_to_status_at", ["to_status", "at"],
                              unique=False)
    op.create_table(
        "premium_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("asn_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["asn_id"], ["asn.id"],
                                name=op.f("fk_premium_months_asn_id_asn")),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollments.id"],
                                name=op.f("fk_premium_months_enrollment_id_enrollments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premium_months")),
        sa.UniqueConstraint("enrollment_id", "month",
                            name=op.f("uq_premium_months_enrollment_id")),
    )
    with op.batch_alter_table("premium_months", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_premium_months_asn_id"), ["asn_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_premium_months_month"), ["month"], unique=False)
    op.create_table(
        "asn_unit_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asn_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("from_month", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["asn_id"], ["asn.id"],
                                name=op.f("fk_asn_unit_months_asn_id_asn")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_asn_unit_months_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asn_unit_months")),
        sa.UniqueConstraint("asn_id", "from_month", name=op.f("uq_asn_unit_months_asn_id")),
    )
    # Plain ADD COLUMN on both engines: rebuilding these tables (SQLite's batch mode) would
    # drop tables that others reference. takeover_of_id is therefore no foreign key.
    op.add_column("asn", sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("asn", sa.Column("deductions_stop_month", sa.Date(), nullable=True))
    op.add_column("enrollments", sa.Column("covered_from", sa.Date(), nullable=True))
    op.add_column("enrollments", sa.Column("covered_until", sa.Date(), nullable=True))
    op.add_column("enrollments", sa.Column("takeover_of_id", sa.Integer(), nullable=True))
    op.execute(_ENROLLMENTS.update().where(_ENROLLMENTS.c.status == "ended")
               .values(status="stopped"))


def downgrade() -> None:
    op.execute(_ENROLLMENTS.update().where(_ENROLLMENTS.c.status.in_(("stopped", "lapsed")))
               .values(status="ended"))
    for column in ("takeover_of_id", "covered_until", "covered_from"):
        op.drop_column("enrollments", column)
    for column in ("deductions_stop_month", "left_at"):
        op.drop_column("asn", column)
    op.drop_table("asn_unit_months")
    with op.batch_alter_table("premium_months", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_premium_months_month"))
        batch_op.drop_index(batch_op.f("ix_premium_months_asn_id"))
    op.drop_table("premium_months")
    with op.batch_alter_table("enrollment_moves", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollment_moves_to_status_at")
        batch_op.drop_index(batch_op.f("ix_enrollment_moves_enrollment_id"))
    op.drop_table("enrollment_moves")
