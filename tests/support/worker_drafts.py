"""A worker's draft enrolment as the enrolment flow hands it to storage, and saving one the
way the flow does, for the storage tests that need an enrolment on record."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.app import App
from storage.enrollments import SqlEnrollmentRepository
from storage.interfaces import ConsentGiven, EnrollmentView, WorkerDraft

NIK = "3324015708800001"
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def draft(nik: str = NIK, phone: str | None = "+6285711112222") -> WorkerDraft:
    """SITI AMINAH of Kumpulrejo, Patebon, born 17 August 1980, the ASN's household help."""
    return WorkerDraft(
        nik=nik, name="SITI AMINAH", birth_date=date(1980, 8, 17), occupation="art",
        phone=phone, desa="Kumpulrejo", kecamatan_name="Patebon", kecamatan_id=None,
        relationship="art",
    )


async def save(app: App, asn_id: int, nik: str = NIK) -> EnrollmentView:
    """The draft of `nik` saved for `asn_id` in a transaction of its own, from the console."""
    async with app.sessions.begin() as session:
        repo = SqlEnrollmentRepository(session, app.cipher)
        consent = ConsentGiven("v1", "wording", "console")
        return await repo.save_draft(asn_id, draft(nik), consent, NOW)
