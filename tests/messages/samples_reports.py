"""Sample values for the monthly report, chart and BPJS news templates (issue 3)."""

from __future__ import annotations

from datetime import UTC, datetime

SAMPLE: dict[str, object] = {
    "report_at": datetime(2025, 9, 1, 1, 0, tzinfo=UTC),
    "report_target": 20.0,
    "report_percent": 9.4,
    "report_participating": 974,
    "report_asn_total": 10_300,
    "report_protected": 812,
    "report_change": 41,
    "report_top": [
        {"name": "Dinas Kesehatan", "percent": 100.0, "rank": 1, "units": 38,
         "participating": 120, "total": 120, "change": 12, "protected": 90},
        {"name": "Dinas Sosial <P3A> & KB", "percent": 31.5, "rank": 2, "units": 38,
         "participating": 29, "total": 92, "change": 3, "protected": 20},
        {"name": "Kecamatan Patebon", "percent": 31.5, "rank": 2, "units": 38,
         "participating": 63, "total": 200, "change": 0, "protected": 51},
    ],
    "report_full": ["Dinas Kesehatan"],
    "report_own": {"name": "Dinas Pendidikan dan Kebudayaan", "percent": 8.2, "rank": 17,
                   "units": 38, "participating": 410, "total": 5_000, "change": -2,
                   "protected": 300},
    "report_own_kind": "opd",
    "kpj_number": "25012345678",
    "bpjs_reason": "Data NIK tidak sesuai dengan Dukcapil",
}
