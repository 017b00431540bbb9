"""report_snapshots and report_snapshot_units: a closed month's report, taken once and kept.
Run again after December's activity, November's report changed (93 of 1,000 became 92 of
1,002): the counts read today's statuses and roster. The rows are written by the scheduler
at the month's end or by the first report of the month (storage/reports.py), not here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_snapshots",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("described_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_by", sa.String(length=32), nullable=False),
        sa.Column("target_percent", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_report_snapshots")),
    )
    op.create_table(
        "report_snapshot_units",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("unit_name", sa.String(length=200), nullable=False),
        sa.Column("asn_total", sa.Integer(), nullable=False),
        sa.Column("asn_participating", sa.Integer(), nullable=False),
        sa.Column("participating_month_ago", sa.Integer(), nullable=False),
        sa.Column("workers_protected", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("units_ranked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["month"], ["report_snapshots.month"], ondelete="CASCADE",
            name=op.f("fk_report_snapshot_units_month_report_snapshots")),
        sa.PrimaryKeyConstraint("month", "kind", "position",
                                name=op.f("pk_report_snapshot_units")),
    )


def downgrade() -> None:
    op.drop_table("report_snapshot_units")
    op.drop_table("report_snapshots")
