"""Migration 0006 (payroll_entries, deduction_refunds) both ways on SQLite and PostgreSQL.

Upgraded, it rebuilds what the payroll lists exported before it asked for, from their audit
rows, as the former rule chose then (tests/support/report_world.py's fixture, counted
by hand below);
downgraded to 0005 both tables go and the rest stays; upgraded again, the same rows are back.

Former rule at the moment of an export: submitted by then, from the agreement's first month,
not draft or rejected, and an enrolment ended by then only until its stop month.

  August's list, exported 25 July 2025 10:00 WIB (Rp16.800):
    E1 (sub 10 Jun), E4 (sub 20 Jul), E7 (ended 15 Aug: running then), E12, E13 (first month
    August), E14 (ended 31 Aug); not E2, E3, E11 (submitted later), E6, E15 (rejected), E8
    (ended 10 July, stop month August).
  September's list, exported 25 August 2025 10:00 WIB (Rp8.400):
    E1, E2, E3, E4, E11, E12, E13, E14 (ended after the export); not E7 (ended 15 August,
    stop month September), E9, E10 (submitted later).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from flows.time_zone import JAKARTA
from storage.models import AuditLog, DeductionRefund, PayrollEntry, Unit
from tests.conftest import make_settings, migrated_app
from tests.support.migrations import downgrade
from tests.support.office_files import month
from tests.support.processes import count
from tests.support.report_world import seed_reports

TABLES = {"payroll_entries", "deduction_refunds"}
AUGUST_RUN = datetime(2025, 7, 25, 10, 0, tzinfo=JAKARTA)
SEPTEMBER_RUN = datetime(2025, 8, 25, 10, 0, tzinfo=JAKARTA)


async def test_0006_rebuilds_past_lists_and_takes_the_tables_away_again(database_url):
    async with migrated_app(make_settings(database_url)) as app:
        fixture = await seed_reports(app)
        async with app.sessions.begin() as session:
            for at, subject, workers, total in (
                    (AUGUST_RUN, "month:2025-08", 9, 151_200),
                    (SEPTEMBER_RUN, "month:2025-09", 11, 92_400),
                    (SEPTEMBER_RUN, "month:2025-10", 0, 0),  # an empty list: nothing
                    (SEPTEMBER_RUN, "bulan:oktober", 3, 50_400)):  # not a month: skipped
                session.add(AuditLog(at=at, actor_asn_id=None, channel="cli",
                                     action="export_payroll", subject=subject,
                                     details={"count": workers, "workers": workers,
                                              "total": total, "format": "xlsx"}))
            # a row of the current rule, for the downgrade to take away
            session.add(DeductionRefund(
                enrollment_id=fixture.enrollments["E11"], asn_id=fixture.asn["a10"],
                month=month("2025-08"), amount=16_800, reason="bpjs_rejected",
                recorded_at=datetime(2025, 10, 5, tzinfo=UTC)))
        assert not TABLES & await downgrade(app, "0005")
        assert await count(app, Unit) == 6

        await app.migrate()  # the upgrade reads the audit rows kept through the downgrade

        async with app.sessions() as session:
            rows = await session.execute(
                select(PayrollEntry.enrollment_id, PayrollEntry.month, PayrollEntry.amount,
                       PayrollEntry.listed_at, PayrollEntry.asn_id))
            rebuilt = {(enrollment, taken, amount, listed_at, asn)
                       for enrollment, taken, amount, listed_at, asn in rows}
            refunds = await session.scalar(select(func.count()).select_from(DeductionRefund))
        key = {enrollment: name for name, enrollment in fixture.enrollments.items()}
        owner = {name: fixture.asn[plan] for name, plan in (
            ("E1", "a1"), ("E2", "a1"), ("E3", "a2"), ("E4", "a3"), ("E7", "a6"),
            ("E11", "a10"), ("E12", "b1"), ("E13", "b2"), ("E14", "b3"))}
        assert {(key[enrollment], f"{taken:%Y-%m}", amount, listed_at, asn)
                for enrollment, taken, amount, listed_at, asn in rebuilt} == {
            *((name, "2025-08", 16_800, AUGUST_RUN, owner[name])
              for name in ("E1", "E4", "E7", "E12", "E13", "E14")),
            *((name, "2025-09", 8_400, SEPTEMBER_RUN, owner[name])
              for name in ("E1", "E2", "E3", "E4", "E11", "E12", "E13", "E14")),
        }
        assert refunds == 0  # refunds are BPJS's answers to come, not rebuilt
