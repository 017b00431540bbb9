"""The scheduler's world: units, ASN, their chats, conversations and enrolments written
straight into the database at chosen Jakarta moments of August 2025, so that a reminder rule
can be tested by moving a fake clock over them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from bot.app import App
from flows.time_zone import JAKARTA
from storage.models import (
    Asn,
    ChannelIdentity,
    Chat,
    ConversationState,
    Enrollment,
    Role,
    Unit,
    Worker,
)


def wib(day: int, hour: int, minute: int = 0, month: int = 8) -> datetime:
    """A moment of 2025 in Jakarta time. August 2025: the 18th is a Monday, the 24th a
    Sunday, the 10th a Sunday; 1 September is a Monday."""
    return datetime(2025, month, day, hour, minute, tzinfo=JAKARTA)


# When the seeded ASN and groups were linked: after August's campaign day (the 10th), so a
# test of another rule meets the campaign only from 10 September on.
LINKED = wib(12, 9)
EARLY = wib(1, 9)  # linked before August's campaign day


class World:
    """Seeds units, ASN, their chats and enrolments straight into the database."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.count = 0

    async def unit(self, name: str, kind: str = "opd") -> int:
        async with self.app.sessions.begin() as session:
            unit = Unit(kind=kind, name=name)
            session.add(unit)
            await session.flush()
            return unit.id

    async def asn(self, name: str, unit_id: int, *, linked_at: datetime | None = LINKED,
                  kecamatan_id: int | None = None, reminders: bool = True) -> int:
        """An ASN; linked (an identity and a private chat whose id is "7<asn id>") unless
        `linked_at` is None."""
        self.count += 1
        async with self.app.sessions.begin() as session:
            asn = Asn(nip=f"1985031520100110{self.count:02d}", name=name, unit_id=unit_id,
                      kecamatan_id=kecamatan_id, phone=f"+62812000{self.count:05d}",
                      updated_at=wib(1, 9), reminders_enabled=reminders)
            session.add(asn)
            await session.flush()
            if linked_at is not None:
                chat_id = self.chat_of(asn.id)
                session.add(ChannelIdentity(channel="telegram", external_id=chat_id,
                                            chat_id=chat_id, asn_id=asn.id, linked_at=linked_at))
                session.add(Chat(channel="telegram", chat_id=chat_id, chat_type="private",
                                 last_inbound_at=linked_at))
            return asn.id

    @staticmethod
    def chat_of(asn_id: int) -> str:
        return f"7{asn_id:04d}"

    async def enrolment(self, asn_id: int, status: str, at: datetime,
                        worker: str = "SITI AMINAH") -> int:
        self.count += 1
        async with self.app.sessions.begin() as session:
            row = Worker(nik_hash=f"hash{self.count}", nik_enc=self.app.cipher.encrypt("x"),
                         nik_masked="3324••••••••0001", name=worker,
                         birth_date_enc=self.app.cipher.encrypt("1980-08-17"),
                         occupation="pedagang", desa="Kumpulrejo", kecamatan_name="Patebon",
                         updated_at=at)
            session.add(row)
            await session.flush()
            enrollment = Enrollment(
                asn_id=asn_id, worker_id=row.id, relationship="art", status=status,
                channel="telegram", created_at=at,
                submitted_at=None if status == "draft" else at,
            )
            session.add(enrollment)
            await session.flush()
            return enrollment.id

    async def conversation(self, asn_id: int, state: str, at: datetime) -> None:
        """The ASN's private conversation, as the dispatcher keys it, standing at `state`."""
        chat = int(self.chat_of(asn_id))
        async with self.app.sessions.begin() as session:
            session.add(ConversationState(bot_id=0, chat_id=chat, user_id=chat, thread_id=0,
                                          business_connection_id="", destiny="default",
                                          state=state, updated_at=at))

    async def coordinator(self, asn_id: int, unit_id: int) -> None:
        async with self.app.sessions.begin() as session:
            session.add(Role(asn_id=asn_id, role="coordinator", unit_id=unit_id,
                             granted_at=wib(1, 9)))

    async def group(self, chat_id: str, unit_id: int | None, linked_at: datetime = LINKED
                    ) -> None:
        async with self.app.sessions.begin() as session:
            session.add(Chat(channel="telegram", chat_id=chat_id, chat_type="group",
                             unit_id=unit_id, linked_at=linked_at if unit_id else None))

    async def unreachable(self, chat_id: str) -> None:
        async with self.app.sessions.begin() as session:
            await session.execute(update(Chat).where(Chat.chat_id == chat_id).values(
                unreachable_at=wib(1, 9), unreachable_reason="blocked"))

    async def wrote(self, asn_id: int, at: datetime) -> None:
        """The ASN wrote to the bot in their chat at `at` (as the dispatcher records it)."""
        async with self.app.sessions.begin() as session:
            await session.execute(update(Chat).where(Chat.chat_id == self.chat_of(asn_id))
                                  .values(last_inbound_at=at))

    async def reminders(self, asn_id: int, enabled: bool) -> None:
        async with self.app.sessions.begin() as session:
            await session.execute(update(Asn).where(Asn.id == asn_id)
                                  .values(reminders_enabled=enabled))


