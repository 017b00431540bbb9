"""The sender's claim index gains the channel: a claim for WhatsApp rows no longer walks past
the Telegram rows of the same broadcast queued before them (each channel is paced on its own,
and the paced one's rows stood in the other's way). A broadcast's body is kept once per
channel (broadcast_bodies) instead of in each of its outbox rows: 100,000 copies of a 1 KB
encrypted body were 100 MB to write in the confirming update.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcast_bodies",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("body_enc", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"],
                                name=op.f("fk_broadcast_bodies_broadcast_id_broadcasts")),
        sa.PrimaryKeyConstraint("broadcast_id", "channel", name=op.f("pk_broadcast_bodies")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("body_enc", existing_type=sa.Text(), nullable=True)
        batch_op.drop_index("ix_outbox_queue")
        batch_op.create_index(
            "ix_outbox_queue", ["status", "kind", "channel", "next_attempt_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    # A broadcast's rows take their copy of the body back before the shared one goes.
    op.execute(
        "UPDATE outbox SET body_enc = (SELECT body_enc FROM broadcast_bodies "
        "WHERE broadcast_bodies.broadcast_id = outbox.broadcast_id "
        "AND broadcast_bodies.channel = outbox.channel) WHERE body_enc IS NULL"
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_queue")
        batch_op.create_index(
            "ix_outbox_queue", ["status", "kind", "next_attempt_at", "id"], unique=False
        )
        batch_op.alter_column("body_enc", existing_type=sa.Text(), nullable=False)
    op.drop_table("broadcast_bodies")
