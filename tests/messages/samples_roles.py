"""Sample values for the roles, coordinator, broadcast and menu templates (merged into the
renderer test's SAMPLE)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from storage.interfaces import BroadcastStatus, PendingEnrollment, UnitProgress

_AT = datetime(2025, 8, 21, 3, 0, tzinfo=UTC)

SAMPLE: dict[str, object] = {
    # roles/*
    "role": "coordinator",
    "unit_name": "Dinas Kesehatan",
    "unit_kind": "opd",
    "units": ["Dinas Kesehatan", "Patebon"],
    "command": "verifikasi",
    "report_day": 1,
    "report_time": time(8, 0),
    # coordinator/*
    "pending_total": 4,
    "unit_progress": UnitProgress(unit_id=1, unit_name="Dinas Kesehatan", asn_total=250,
                                  asn_participating=30, workers_protected=21,
                                  participating_month_ago=24, rank=3, units_ranked=38),
    "progress_at": _AT,
    "target_percent": 20.0,
    "target_needed": 20,
    "pending": [
        PendingEnrollment(7, 1, "Budi Santoso", "198503152010011001", "SITI AMINAH",
                          "3324••••••••0001", "art", "pedagang", "Kumpulrejo", "Patebon", _AT),
        PendingEnrollment(8, 2, "Sri Lestari", "199001012015032002", "ANDI",
                          "3324••••••••0002", "keluarga", "ojek", "Jambearum", "Patebon", None),
    ],
    "own_asn_id": 1,
    "item": PendingEnrollment(8, 2, "Sri Lestari", "199001012015032002", "ANDI",
                              "3324••••••••0002", "keluarga", "ojek", "Jambearum", "Patebon",
                              _AT),
    "nik_date": date(1980, 8, 18),
    "female": True,
    "others": 1,
    "count": 3,
    "page": 1,
    "pages": 2,
    "asn_name": "Budi Santoso",
    "told": True,
    # broadcast/*
    "audience_counts": {"all": 1234, "not_participating": 1100, "groups": 3},
    "audience": "all",
    "recipients": 1234,
    "bc_text": "Bapak/Ibu ASN Kecamatan Patebon,\nmari lindungi satu pekerja rentan bulan ini.",
    "bc_campaign": None,
    "min_letters": 10,
    "broadcast": BroadcastStatus(id=5, status="sending", recipients=1234, sent=1000,
                                 waiting=200, failed=4, unreachable=20, cancelled=10),
}
