"""The whole enrolment through the terminal channel, as the README's demo user would do it,
on SQLite and on PostgreSQL (where the dispatcher also takes the conversation's row lock)."""

import pytest
from sqlalchemy import select

from storage.models import Consent, DeductionAgreement, Enrollment, Worker
from tests.conftest import BUDI, seed_roster
from tests.support.chat import ChatClient, texts


@pytest.fixture
async def budi_any_db(app_any_db) -> ChatClient:
    await seed_roster(app_any_db)
    client = ChatClient(app_any_db, user_id="1001")
    await client.send("/mulai")
    await client.send(BUDI.nip)
    await client.share_contact(BUDI.phone_local)
    return client


async def test_enrol_a_worker_from_menu_to_agreed_deduction(budi_any_db):
    budi = budi_any_db
    assert "Menu utama" in budi.last.text
    await budi.press("➕ Daftarkan pekerja")
    await budi.press("Asisten rumah tangga")
    await budi.send("3324015708800001")
    await budi.send("Siti Aminah")
    await budi.press("✅ Ya")
    await budi.press("Pedagang kecil")
    await budi.send("0857-1111-2222")
    await budi.press("Patebon")
    await budi.send("Kumpulrejo")
    await budi.press("✅ Pekerja setuju")
    summary = budi.last.text
    assert "3324••••••••0001" in summary and "3324015708800001" not in summary
    assert "17 Agustus 1980" in summary
    shown = await budi.press("💾 Simpan")
    assert "Rp16.800" in texts(shown)
    shown = await budi.press("✅ Saya setuju")
    assert "sudah dikirim" in texts(shown)

    async with budi.app.sessions() as session:
        enrollment = (await session.scalars(select(Enrollment))).one()
        worker = (await session.scalars(select(Worker))).one()
        agreement = (await session.scalars(select(DeductionAgreement))).one()
        consent = (await session.scalars(select(Consent))).one()
    assert enrollment.status == "submitted"
    assert worker.name == "SITI AMINAH" and "3324015708800001" not in worker.nik_enc
    assert agreement.monthly_total == 16_800 and "Saya, Budi Santoso" in agreement.wording
    assert consent.wording_version == "persetujuan-data-v2"
    assert await budi.state() == ("Menu:main", {})
