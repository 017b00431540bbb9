"""Initial schema: roster, workers, enrolments, consents, agreements, roles, conversations,
processed updates, outbox and audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 15:31:32.826356
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("business_connection_id", sa.String(length=64), nullable=False),
        sa.Column("destiny", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.Column("data_enc", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_states")),
        sa.UniqueConstraint(
            "bot_id",
            "chat_id",
            "user_id",
            "thread_id",
            "business_connection_id",
            "destiny",
            name="uq_conversation_states_key",
        ),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_attempts_account", ["channel", "external_id", "at"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("body_enc", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("platform_message_id", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "processed_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("update_id", sa.String(length=64), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_updates")),
        sa.UniqueConstraint("channel", "update_id", name=op.f("uq_processed_updates_channel")),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("kind", "name", name=op.f("uq_units_kind")),
    )
    op.create_table(
        "asn",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nip", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kecamatan_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kecamatan_id"], ["units.id"], name=op.f("fk_asn_kecamatan_id_units")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_asn_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asn")),
        sa.UniqueConstraint("nip", name=op.f("uq_asn_nip")),
    )
    with op.batch_alter_table("asn", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asn_kecamatan_id"), ["kecamatan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_asn_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_asn_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nik_hash", sa.String(length=64), nullable=False),
        sa.Column("nik_enc", sa.Text(), nullable=False),
        sa.Column("nik_masked", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("birth_date_enc", sa.Text(), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("occupation", sa.String(length=64), nullable=False),
        sa.Column("desa", sa.String(length=200), nullable=False),
        sa.Column("kecamatan_id", sa.Integer(), nullable=True),
        sa.Column("kecamatan_name", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kecamatan_id"], ["units.id"], name=op.f("fk_workers_kecamatan_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
        sa.UniqueConstraint("nik_hash", name=op.f("uq_workers_nik_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_asn_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_asn_id"], ["asn.id"], name=op.f("fk_audit_log_actor_asn_id_asn")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "channel_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("asn_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asn_id"], ["asn.id"], name=op.f("fk_channel_identities_asn_id_asn")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_identities")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_channel_identities_channel")),
    )
    with op.batch_alter_table("channel_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_identities_asn_id"), ["asn_id"], unique=False)

    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asn_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("relationship", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.Column("deduction_stop_month", sa.Date(), nullable=True),
        sa.Column("kpj_number", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["asn_id"], ["asn.id"], name=op.f("fk_enrollments_asn_id_asn")),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_enrollments_worker_id_workers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrollments_asn_id"), ["asn_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrollments_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrollments_worker_id"), ["worker_id"], unique=False)
        batch_op.create_index(
            "uq_enrollments_holding_worker",
            ["worker_id"],
            unique=True,
            sqlite_where=sa.text(
                "status IN ('draft', 'submitted', 'verified', 'registered', 'active')"
            ),
            postgresql_where=sa.text(
                "status IN ('draft', 'submitted', 'verified', 'registered', 'active')"
            ),
        )

    op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asn_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["asn_id"], ["asn.id"], name=op.f("fk_roles_asn_id_asn")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_roles_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("asn_id", "role", "unit_id", name=op.f("uq_roles_asn_id")),
    )
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roles_asn_id"), ["asn_id"], unique=False)

    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("wording_version", sa.String(length=32), nullable=False),
        sa.Column("wording", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_consents_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_consents_worker_id_workers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consents_enrollment_id"), ["enrollment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_consents_worker_id"), ["worker_id"], unique=False)

    op.create_table(
        "deduction_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asn_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("wording_version", sa.String(length=32), nullable=False),
        sa.Column("wording", sa.Text(), nullable=False),
        sa.Column("premium_jkk", sa.Integer(), nullable=False),
        sa.Column("premium_jkm", sa.Integer(), nullable=False),
        sa.Column("monthly_total", sa.Integer(), nullable=False),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asn_id"], ["asn.id"], name=op.f("fk_deduction_agreements_asn_id_asn")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_deduction_agreements_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deduction_agreements")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_deduction_agreements_enrollment_id")),
    )
    with op.batch_alter_table("deduction_agreements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deduction_agreements_asn_id"), ["asn_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deduction_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deduction_agreements_asn_id"))

    op.drop_table("deduction_agreements")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_worker_id"))
        batch_op.drop_index(batch_op.f("ix_consents_enrollment_id"))

    op.drop_table("consents")
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roles_asn_id"))

    op.drop_table("roles")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_enrollments_holding_worker",
            sqlite_where=sa.text(
                "status IN ('draft', 'submitted', 'verified', 'registered', 'active')"
            ),
            postgresql_where=sa.text(
                "status IN ('draft', 'submitted', 'verified', 'registered', 'active')"
            ),
        )
        batch_op.drop_index(batch_op.f("ix_enrollments_worker_id"))
        batch_op.drop_index(batch_op.f("ix_enrollments_status"))
        batch_op.drop_index(batch_op.f("ix_enrollments_asn_id"))

    op.drop_table("enrollments")
    with op.batch_alter_table("channel_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_identities_asn_id"))

    op.drop_table("channel_identities")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    op.drop_table("workers")
    with op.batch_alter_table("asn", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asn_unit_id"))
        batch_op.drop_index(batch_op.f("ix_asn_phone"))
        batch_op.drop_index(batch_op.f("ix_asn_kecamatan_id"))

    op.drop_table("asn")
    op.drop_table("units")
    op.drop_table("processed_updates")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_account")

    op.drop_table("login_attempts")
    op.drop_table("conversation_states")
