"""Sample values for messages/templates/reminders/*.j2 (merged into the renderer test)."""

SAMPLE: dict[str, object] = {
    "draft_workers": ["SITI AMINAH", "ANDI"],
    "enrolment_in_progress": True,
    "pending_verifications": 3,
}
