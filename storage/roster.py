"""The ASN roster, the units they belong to, and the chat accounts proven to be theirs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.roles import UnitKind
from storage.interfaces import AsnView, KecamatanView
from storage.models import Asn, ChannelIdentity, LoginAttempt, Unit
from storage.statements import Runner, Statement, runner

# What an AsnView is read from: one row per ASN, joined with their OPD.
_ASN_COLUMNS = (Asn.id, Asn.nip, Asn.name, Unit.name, Asn.unit_id, Asn.kecamatan_id,
                Asn.reminders_enabled)


def _asn_view(row: Sequence[Any]) -> AsnView:
    """One row of the ASN columns (id, NIP, name, unit name, unit id, kecamatan id,
    reminders)."""
    asn_id, nip, name, unit_name, unit_id, kecamatan_id, reminders = row
    return AsnView(id=asn_id, nip=nip, name=name, unit_name=unit_name, unit_id=unit_id,
                   kecamatan_id=kecamatan_id, reminders_enabled=bool(reminders))


# "Who is writing", asked on every update.
_IDENTITY = Statement(
    select(*_ASN_COLUMNS)
    .join(ChannelIdentity, ChannelIdentity.asn_id == Asn.id)
    .join(Unit, Unit.id == Asn.unit_id)
    .where(ChannelIdentity.channel == bindparam("channel"),
           ChannelIdentity.external_id == bindparam("external_id")))
_FAILURES = (select(func.count()).select_from(LoginAttempt)
             .where(LoginAttempt.channel == bindparam("channel"),
                    LoginAttempt.external_id == bindparam("external_id"),
                    LoginAttempt.at >= bindparam("since")))
_KECAMATAN = (select(Unit.id, Unit.name).where(Unit.kind == UnitKind.KECAMATAN)
              .order_by(Unit.code, Unit.name))


class SqlRosterRepository:
    """RosterRepository in one transaction: over a session, or over the update's driver
    runner (storage.update_transaction), which answers `identity` without SQLAlchemy."""

    def __init__(self, db: AsyncSession | Runner) -> None:
        self._db = runner(db)

    @property
    def _session(self) -> AsyncSession:
        return self._db.session

    async def identity(self, channel: str, external_id: str) -> AsnView | None:
        """The ASN who proved this account, if any."""
        row = await self._db.row(_IDENTITY, {"channel": channel, "external_id": external_id})
        return None if row is None else _asn_view(row)

    async def find_by_nip_and_phone(self, nip: str, phone: str) -> AsnView | None:
        row = (
            await self._session.execute(
                select(*_ASN_COLUMNS)
                .join(Unit, Unit.id == Asn.unit_id)
                .where(Asn.nip == nip, Asn.phone == phone)
            )
        ).first()
        return _asn_view(row) if row else None

    async def link_identity(
        self, channel: str, external_id: str, chat_id: str, asn_id: int, now: datetime
    ) -> None:
        """One account per ASN per channel: a new phone or account replaces the old link."""
        existing = (
            await self._session.scalars(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == channel,
                    (ChannelIdentity.external_id == external_id)
                    | (ChannelIdentity.asn_id == asn_id),
                )
            )
        ).all()
        for row in existing:
            await self._session.delete(row)
        await self._session.flush()
        self._session.add(
            ChannelIdentity(
                channel=channel,
                external_id=external_id,
                chat_id=chat_id,
                asn_id=asn_id,
                linked_at=now,
            )
        )

    async def failures_since(self, channel: str, external_id: str, since: datetime) -> int:
        return await self._session.scalar(
            _FAILURES, {"channel": channel, "external_id": external_id, "since": since}) or 0

    async def record_failure(self, channel: str, external_id: str, now: datetime) -> None:
        self._session.add(LoginAttempt(channel=channel, external_id=external_id, at=now))

    async def kecamatan(self) -> list[KecamatanView]:
        rows = await self._session.execute(_KECAMATAN)
        return [KecamatanView(*row) for row in rows]

    async def set_reminders(self, asn_id: int, enabled: bool) -> None:
        """The ASN's own switch for reminders (the scheduler reads it; the import keeps it)."""
        await self._session.execute(
            update(Asn).where(Asn.id == asn_id).values(reminders_enabled=enabled)
        )

    async def phone_of(self, asn_id: int) -> str | None:
        """The ASN's own phone on the roster (E.164): a worker's phone may not be it."""
        return await self._session.scalar(select(Asn.phone).where(Asn.id == asn_id))
