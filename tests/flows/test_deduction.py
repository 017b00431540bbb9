"""Confirm the deduction: premium from the dated schedule, the monthly total, the first month,
an explicit yes stored with its words; "Nanti saja" keeps a draft to finish later."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from storage.models import AuditLog, DeductionAgreement, Enrollment
from tests.conftest import BUDI, SRI
from tests.flows.conftest import login
from tests.support.chat import ChatClient, texts
from tests.support.route import NIK_ANDI, NIK_SITI, enrol, reach

DISCOUNT_2025 = [
    {"effective_from": "2022-01-01", "jkk": 10_000, "jkm": 6_800},
    {"effective_from": "2025-09-01", "jkk": 5_000, "jkm": 3_400},  # a 50% cut from September
    {"effective_from": "2026-01-01", "jkk": 10_000, "jkm": 6_800},
]


async def rows(client: ChatClient, model) -> list:
    async with client.app.sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def test_the_agreement_shows_premium_components_total_and_first_month(at):
    chat = await at("Deduction:confirm")
    text = chat.last.text
    for line in ["Pekerja: SITI AMINAH (3324••••••••0001)", "Iuran per bulan: Rp16.800",
                 "JKK (kecelakaan kerja): Rp10.000", "JKM (kematian): Rp6.800",
                 "Jumlah pekerja yang Anda tanggung: 1",
                 "Total potongan gaji per bulan: Rp16.800",
                 "Potongan pertama: gaji bulan September 2025",
                 "Saya, Budi Santoso (NIP 198503152010011001), setuju gaji saya dipotong"]:
        assert line in text, line
    assert NIK_SITI not in text
    assert chat.last.labels == ["✅ Saya setuju", "Nanti saja"]


@pytest.mark.parametrize("how", ["button", "setuju", "Saya setuju"])
async def test_agreeing_submits_and_stores_the_words_amounts_time_and_channel(at, clock, how):
    chat = await at("Deduction:confirm")
    shown = await (chat.press("✅ Saya setuju") if how == "button" else chat.send(how))
    assert "Pendaftaran SITI AMINAH sudah dikirim" in shown[0].text
    assert "Potongan gaji Rp16.800 per bulan mulai gaji bulan September 2025" in shown[0].text
    assert "Menu utama" in shown[-1].text
    assert await chat.state() == ("Menu:main", {})

    agreement = (await rows(chat, DeductionAgreement))[0]
    enrollment = (await rows(chat, Enrollment))[0]
    assert (enrollment.status, enrollment.submitted_at) == ("submitted", clock.now)
    assert agreement.enrollment_id == enrollment.id
    assert agreement.wording_version == "potong-gaji-v1"
    assert agreement.wording.startswith(f"Saya, Budi Santoso (NIP {BUDI.nip}), setuju")
    for words in ["Rp16.800 per bulan", "JKK Rp10.000 + JKM Rp6.800", "SITI AMINAH",
                  "3324••••••••0001", "mulai gaji bulan September 2025", "untuk 1 pekerja"]:
        assert words in agreement.wording, words
    assert NIK_SITI not in agreement.wording
    assert agreement.wording in chat.history[-3].text, "the stored words are the words shown"
    assert (agreement.premium_jkk, agreement.premium_jkm, agreement.monthly_total) == (
        10_000, 6_800, 16_800)
    assert agreement.first_month == date(2025, 9, 1)
    assert (agreement.agreed_at, agreement.channel) == (clock.now, "console")
    audit = [entry for entry in await rows(chat, AuditLog) if entry.action == "deduction.agreed"]
    assert audit[0].details == {"monthly_total": 16_800, "first_month": "2025-09-01"}


async def test_the_monthly_total_covers_every_agreed_worker(budi):
    await enrol(budi, NIK_SITI)
    await enrol(budi, NIK_ANDI, name="Andi Wijaya", agree=None)
    text = budi.last.text
    assert "Pekerja: ANDI WIJAYA (3324••••••••0002)" in text
    assert "Iuran per bulan: Rp16.800" in text
    assert "Jumlah pekerja yang Anda tanggung: 2" in text
    assert "Total potongan gaji per bulan: Rp33.600" in text
    await budi.press("✅ Saya setuju")
    assert "Potongan gaji Rp33.600 per bulan" in texts(budi.history[-2:])
    totals = [a.monthly_total for a in await rows(budi, DeductionAgreement)]
    assert totals == [16_800, 33_600]


async def test_drafts_and_ended_enrolments_are_not_in_the_total(budi):
    await enrol(budi, NIK_SITI, agree=False)  # a draft: not agreed, not deducted
    await enrol(budi, NIK_ANDI, name="Andi Wijaya", agree=None)
    assert "Jumlah pekerja yang Anda tanggung: 1" in budi.last.text
    assert "Total potongan gaji per bulan: Rp16.800" in budi.last.text


async def test_a_discounted_month_in_the_schedule_is_used_for_the_first_month(make_app):
    app = await make_app(premium_schedule=DISCOUNT_2025)
    chat = ChatClient(app, user_id="1001")
    await reach(chat, "Deduction:confirm")  # today 21 August 2025: first month September
    text = chat.last.text
    for line in ["Iuran per bulan: Rp8.400", "JKK (kecelakaan kerja): Rp5.000",
                 "JKM (kematian): Rp3.400", "Potongan pertama: gaji bulan September 2025"]:
        assert line in text, line
    await chat.press("✅ Saya setuju")
    agreement = (await rows(chat, DeductionAgreement))[0]
    assert (agreement.premium_jkk, agreement.premium_jkm, agreement.monthly_total) == (
        5_000, 3_400, 8_400)


async def test_the_rate_in_force_in_the_first_month_not_today(make_app, clock):
    clock.now = datetime(2025, 12, 10, 3, 0, tzinfo=UTC)  # discount today, not in January
    chat = ChatClient(await make_app(premium_schedule=DISCOUNT_2025), user_id="1001")
    await reach(chat, "Deduction:confirm")
    assert "Iuran per bulan: Rp16.800" in chat.last.text
    assert "gaji bulan Januari 2026" in chat.last.text


async def test_the_months_before_the_first_deduction_are_a_setting(make_app):
    chat = ChatClient(await make_app(deduction_offset_months=2), user_id="1001")
    await reach(chat, "Deduction:confirm")
    assert "Potongan pertama: gaji bulan Oktober 2025" in chat.last.text


@pytest.mark.parametrize(
    ("utc", "first_month"),
    [(datetime(2025, 8, 31, 16, 30, tzinfo=UTC), "September 2025"),  # 23.30 WIB, 31 August
     (datetime(2025, 8, 31, 17, 30, tzinfo=UTC), "Oktober 2025")],  # 00.30 WIB, 1 September
)
async def test_the_month_is_counted_in_jakarta_time(budi, clock, utc, first_month):
    clock.now = utc
    await enrol(budi, agree=None)
    assert f"Potongan pertama: gaji bulan {first_month}" in budi.last.text


@pytest.mark.parametrize("how", ["button", "nanti saja"])
async def test_nanti_saja_keeps_a_draft_that_can_be_finished_from_pekerja_saya(at, how):
    chat = await at("Deduction:confirm")
    shown = await (chat.press("Nanti saja") if how == "button" else chat.send(how))
    assert "tersimpan sebagai draf" in shown[0].text and "Menu utama" in shown[-1].text
    assert await chat.state() == ("Menu:main", {})
    enrollment = (await rows(chat, Enrollment))[0]
    assert enrollment.status == "draft" and await rows(chat, DeductionAgreement) == []
    assert "Pekerja yang Anda lindungi atau sedang diproses: 1" in shown[-1].text

    shown = await chat.press("👥 Pekerja saya")
    assert "Status: draf, menunggu persetujuan potongan gaji" in shown[-1].text
    shown = await chat.press("✅ Setujui potongan: SITI AMINAH")
    assert "Persetujuan potongan gaji" in shown[-1].text
    assert await chat.state() == ("Deduction:confirm", {"enrollment_id": enrollment.id})
    await chat.press("✅ Saya setuju")
    assert (await rows(chat, Enrollment))[0].status == "submitted"
    assert len(await rows(chat, DeductionAgreement)) == 1


async def test_a_draft_finished_elsewhere_is_not_agreed_twice(at):
    chat = await at("Deduction:confirm")
    async with chat.app.sessions.begin() as session:  # agreed meanwhile on another device
        await session.execute(update(Enrollment).values(status="submitted"))
    shown = await chat.press("✅ Saya setuju")
    assert "tidak lagi menunggu persetujuan" in shown[0].text and "Menu utama" in shown[-1].text
    assert await rows(chat, DeductionAgreement) == []
    assert await chat.state() == ("Menu:main", {})


async def test_a_draft_finished_elsewhere_says_so_and_goes_home_quietly(at):
    chat = await at("Deduction:confirm")
    async with chat.app.sessions.begin() as session:
        await session.execute(update(Enrollment).values(status="stopped"))
    shown = await chat.send("/bantuan")
    assert "tidak lagi menunggu persetujuan" in shown[-1].text
    assert shown[-1].labels == ["🏠 Menu utama"]
    shown = await chat.press("🏠 Menu utama")
    assert "draf" not in texts(shown), "it is no draft any more"
    assert "Menu utama" in shown[-1].text
    assert await chat.state() == ("Menu:main", {})


async def test_sri_cannot_reach_budis_draft(budi):
    await enrol(budi, agree=False)
    draft = (await rows(budi, Enrollment))[0]
    sri = await login(ChatClient(budi.app, user_id="2002"), SRI)
    await sri.press("👥 Pekerja saya")
    shown = await sri.press_payload(f"wk:agree:{draft.id}")
    assert "sudah tidak berlaku" in shown[0].text
    assert (await sri.state())[0] == "Workers:list"
    assert (await rows(budi, Enrollment))[0].status == "draft"


async def test_a_month_without_a_premium_rate_keeps_the_draft_and_says_so(make_app):
    """A schedule that starts after the first deducted month is a configuration error: the
    ASN is told kindly, nothing is agreed, the draft stays, and the menu shows no figure."""
    late = [{"effective_from": "2026-01-01", "jkk": 10_000, "jkm": 6_800}]
    chat = ChatClient(await make_app(premium_schedule=late), user_id="1001")
    await login(chat)
    assert "Anda belum melindungi pekerja." in chat.last.text
    assert "Rp" not in chat.last.text
    await reach(chat, "Deduction:confirm")
    assert "besaran iuran untuk bulan September 2025 belum ditetapkan" in chat.last.text
    shown = await chat.send("Saya setuju")
    assert "belum ditetapkan" in texts(shown)
    assert (await chat.state())[0] == "Deduction:confirm"
    assert await rows(chat, DeductionAgreement) == []
    assert [e.status for e in await rows(chat, Enrollment)] == ["draft"]


async def test_the_menu_names_the_premium_from_the_schedule(make_app):
    chat = ChatClient(await make_app(premium_schedule=DISCOUNT_2025), user_id="1001")
    await login(chat)
    assert "Satu pekerja cukup dengan iuran Rp8.400 sebulan." in chat.last.text
