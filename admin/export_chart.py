"""`asn-peduli export chart`: the month's participation slide as a PNG file.

The same slide the group chats get on the report day (bot/charts.py), from the same figures:
a closed month's kept snapshot (taken by this export if nothing reported the month before),
or the running month counted live and marked so on the slide.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from admin.export_report import exported_month
from admin.exports import atomic_file
from bot.app import App
from storage.audit import SqlAuditRepository
from storage.report_snapshots import MonthlyReport


async def export_chart(app: App, month: date, kind: str, path: Path) -> MonthlyReport:
    """Write the slide of `kind` ("opd" or "kecamatan") for `month` and audit it;
    MonthNotStarted for a month that has not begun."""
    from bot.charts import report_chart  # matplotlib: only for the command that draws

    async with app.sessions.begin() as session:
        report = await exported_month(app, session, month)
        await SqlAuditRepository(session).record(
            "export_chart", actor_asn_id=None, channel="cli", subject=f"month:{month:%Y-%m}",
            details={"kind": kind, "format": "png", "live": report.live}, now=app.clock(),
        )
    png = await asyncio.to_thread(report_chart, report, kind, app.settings.region_name)
    with atomic_file(path, private=False) as stream:
        stream.write(png)
    return report
