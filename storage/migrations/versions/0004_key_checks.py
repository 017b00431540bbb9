"""key_checks: what shows whether NIK_HASH_KEY and DATA_ENCRYPTION_KEYS are the keys the data
was written with. A replaced hash key was silently accepted: every stored NIK became
unfindable and the same NIK could be enrolled twice. The rows are written at the first start
after this migration (storage/key_checks.py), not here: a migration does not know the keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_checks",
        sa.Column("setting", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("setting", name=op.f("pk_key_checks")),
    )


def downgrade() -> None:
    op.drop_table("key_checks")
