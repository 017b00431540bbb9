"""payroll_entries and deduction_refunds: what each payroll list asked the treasurer to deduct,
per enrolment and salary month, and the months to give back (BPJS refused the worker, or the
month was deducted before BPJS registered them). Until now the list deducted every submitted
enrolment, even one waiting since months for verification, and kept no trace of whom it
listed: a worker BPJS refused later left no word of what had been taken.

The upgrade rebuilds what the lists exported so far asked for, from their audit rows
(`export_payroll`, subject "month:YYYY-MM", details with the workers and the total): at the
time of each export, the rule of then listed every enrolment submitted by that time, from the
agreement's first month, until its stop month. Enrolments since rejected are left out: when
they were rejected is not kept on the enrolment.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09 10:00:00
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_AUDIT = sa.table(
    "audit_log", sa.column("action", sa.String()), sa.column("subject", sa.String()),
    sa.column("at", sa.DateTime(timezone=True)), sa.column("details", sa.JSON()),
)
_ENROLLMENTS = sa.table(
    "enrollments", sa.column("id", sa.Integer()), sa.column("asn_id", sa.Integer()),
    sa.column("status", sa.String()), sa.column("submitted_at", sa.DateTime(timezone=True)),
    sa.column("ended_at", sa.DateTime(timezone=True)),
    sa.column("deduction_stop_month", sa.Date()),
)
_AGREEMENTS = sa.table(
    "deduction_agreements", sa.column("enrollment_id", sa.Integer()),
    sa.column("first_month", sa.Date()),
)
_ENTRIES = sa.table(
    "payroll_entries", sa.column("enrollment_id", sa.Integer()),
    sa.column("asn_id", sa.Integer()), sa.column("month", sa.Date()),
    sa.column("amount", sa.Integer()), sa.column("listed_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "payroll_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("asn_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["asn_id"], ["asn.id"],
                                name=op.f("fk_payroll_entries_asn_id_asn")),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollments.id"],
                                name=op.f("fk_payroll_entries_enrollment_id_enrollments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payroll_entries")),
        sa.UniqueConstraint("enrollment_id", "month",
                            name=op.f("uq_payroll_entries_enrollment_id")),
    )
    with op.batch_alter_table("payroll_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payroll_entries_asn_id"), ["asn_id"],
                              unique=False)
    op.create_table(
        "deduction_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("asn_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payroll_month", sa.Date(), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["asn_id"], ["asn.id"],
                                name=op.f("fk_deduction_refunds_asn_id_asn")),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollments.id"],
                                name=op.f("fk_deduction_refunds_enrollment_id_enrollments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deduction_refunds")),
        sa.UniqueConstraint("enrollment_id", "month",
                            name=op.f("uq_deduction_refunds_enrollment_id")),
    )
    with op.batch_alter_table("deduction_refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deduction_refunds_asn_id"), ["asn_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_deduction_refunds_payroll_month"),
                              ["payroll_month"], unique=False)
    _entries_of_past_lists(op.get_bind())


def _entries_of_past_lists(connection: sa.Connection) -> None:
    """One INSERT ... SELECT per past export: the enrolments its rule listed then."""
    exports = connection.execute(
        sa.select(_AUDIT.c.at, _AUDIT.c.subject, _AUDIT.c.details)
        .where(_AUDIT.c.action == "export_payroll").order_by(_AUDIT.c.at)
    ).all()
    for at, subject, details in exports:
        month = _month(subject)
        workers = (details or {}).get("workers") or 0
        if month is None or workers <= 0:
            continue
        connection.execute(_ENTRIES.insert().from_select(
            ["enrollment_id", "asn_id", "month", "amount", "listed_at"],
            _listed_then(at, month, int(details["total"]) // int(workers))))


def _listed_then(at: object, month: date, amount: int) -> sa.Select:
    """The enrolments the former rule put on `month`'s list at the moment `at`."""
    enrolment, agreement, entry = _ENROLLMENTS.c, _AGREEMENTS.c, _ENTRIES.c
    return (
        sa.select(enrolment.id, enrolment.asn_id, sa.literal(month, sa.Date()),
                  sa.literal(amount, sa.Integer()),
                  sa.literal(at, sa.DateTime(timezone=True)))
        .select_from(_ENROLLMENTS.join(_AGREEMENTS, agreement.enrollment_id == enrolment.id))
        .where(
            enrolment.submitted_at <= at,
            agreement.first_month <= month,
            enrolment.status.not_in(("draft", "rejected")),
            # ended after the export (it was running then), or ended with a later stop month
            sa.or_(enrolment.status != "ended", enrolment.ended_at > at,
                   enrolment.deduction_stop_month > month),
            ~sa.exists().where(entry.enrollment_id == enrolment.id, entry.month == month),
        )
    )


def _month(subject: str | None) -> date | None:
    """ "month:2025-08" gives 1 August 2025."""
    try:
        year, number = (subject or "").removeprefix("month:").split("-")
        return date(int(year), int(number), 1)
    except ValueError:
        return None


def downgrade() -> None:
    with op.batch_alter_table("deduction_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deduction_refunds_payroll_month"))
        batch_op.drop_index(batch_op.f("ix_deduction_refunds_asn_id"))
    op.drop_table("deduction_refunds")
    with op.batch_alter_table("payroll_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payroll_entries_asn_id"))
    op.drop_table("payroll_entries")
