"""Sample values for the BPJS news templates' refund of deductions (issue 16)."""

from __future__ import annotations

from datetime import date

SAMPLE: dict[str, object] = {
    "deduction_from": date(2025, 11, 1),
    "refund": {"months": [date(2025, 9, 1), date(2025, 10, 1)], "total": 33_600,
               "consecutive": True},
}
