"""Sample values for the enrolment's step headers, its birth-date check, /batal's question
and the deduction's way back (issue 16 points 3, 4 and 9)."""

from datetime import date

SAMPLE = {
    "step": 4, "steps": 9, "editing": False, "offered": True, "given": date(1980, 8, 5),
    "born": date(1950, 5, 12), "protected": False, "again": False, "answers": 8,
    "paused": True, "paused_worker": "SITI AMINAH", "paused_step": 7, "changeable": True,
}
