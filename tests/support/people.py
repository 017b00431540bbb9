"""People and data for the role tests: colleagues who chat, enrolments already submitted, and
looks into the database. Everything goes through the real repositories."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from storage.enrollments import SqlEnrollmentRepository
from storage.interfaces import AgreementRecord, ConsentGiven, WorkerDraft
from storage.models import Asn, Unit
from tests.conftest import BUDI, SRI
from tests.support.chat import ChatClient
from tests.support.route import add_residents


def nik(serial: int, day: int = 12) -> str:
    """A Kendal NIK of a man born on `day` May 1990, with its own serial."""
    return f"332401{day:02d}0590{serial:04d}"


async def colleague(client: ChatClient, number: int, opd: str = BUDI.unit,
                    kecamatan: str = "Patebon") -> ChatClient:
    """An ASN of `opd` living in `kecamatan`, already linked, at the main menu."""
    await add_residents(client, 1, kecamatan=kecamatan, first_chat=number, opd=opd)
    other = ChatClient(client.app, user_id=str(number))
    await other.send("/mulai")
    assert (await other.state())[0] == "Menu:main", other.last.text
    return other


async def asn_id(client: ChatClient, nip: str) -> int:
    async with client.app.sessions() as session:
        found = await session.scalar(select(Asn.id).where(Asn.nip == nip))
    assert found is not None, nip
    return found


async def unit_id(client: ChatClient, name: str) -> int:
    async with client.app.sessions() as session:
        found = await session.scalar(select(Unit.id).where(Unit.name == name))
    assert found is not None, name
    return found


async def submitted(client: ChatClient, owner: int, name: str, worker_nik: str) -> int:
    """An enrolment saved and agreed (status "submitted") by ASN `owner`: its id."""
    now = client.app.clock()
    draft = WorkerDraft(nik=worker_nik, name=name, birth_date=date(1990, 5, 12),
                        occupation="ojek", phone=None, desa="Kumpulrejo",
                        kecamatan_name="Patebon", kecamatan_id=None, relationship="tetangga")
    agreement = AgreementRecord("potong-gaji-v1", "setuju", 10_000, 6_800, 16_800,
                                date(2025, 9, 1))
    async with client.app.sessions.begin() as session:
        enrollments = SqlEnrollmentRepository(session, client.app.cipher)
        consent = ConsentGiven("v1", "setuju", "console")
        view = await enrollments.save_draft(owner, draft, consent, now)
        await enrollments.submit(owner, view.id, agreement, "console", now)
        return view.id


async def rows(client: ChatClient, model: Any, **where: Any) -> list[Any]:
    async with client.app.sessions() as session:
        query = select(model).filter_by(**where).order_by(model.id)
        return list((await session.scalars(query)).all())


SRI_OPD = SRI.unit
