"""Where an enrolment is in its life, and the groups of statuses the rules ask about.

The values are the strings stored in `enrollments.status` (and named in the migrations'
partial indexes), so they never change without a data migration; everything else names a
status through `EnrollmentStatus`, and asks "does it hold the NIK?" through the groups
below rather than by listing statuses again. Which status may follow which is the table in
flows/lifecycle.py; DESIGN §7 and docs/lifecycle.md tell the whole life.
"""

from __future__ import annotations

from enum import StrEnum


class EnrollmentStatus(StrEnum):
    """An enrolment's status, as stored."""

    DRAFT = "draft"  # saved by the ASN, the deduction not agreed yet
    SUBMITTED = "submitted"  # the deduction agreed; waits for the OPD's coordinator
    VERIFIED = "verified"  # the coordinator checked it against the KTP
    REGISTERED = "registered"  # BPJS gave a KPJ number
    ACTIVE = "active"  # a first month paid
    LAPSED = "lapsed"  # more than 3 months unpaid in a row: not covered, the NIK is free
    ENDED = "ended"  # the membership closed after a lapse (the arrears were not paid)
    REJECTED = "rejected"  # refused by the coordinator or by BPJS
    STOPPED = "stopped"  # by the ASN, a withdrawal, or the ASN leaving the roster


# The enrolment holds the worker's NIK: one such enrolment per worker (a partial unique
# index), so another ASN is told the worker is taken. The order is the index's SQL.
HOLDING_STATUSES = (
    EnrollmentStatus.DRAFT, EnrollmentStatus.SUBMITTED, EnrollmentStatus.VERIFIED,
    EnrollmentStatus.REGISTERED, EnrollmentStatus.ACTIVE,
)
# Agreed and not ended: the premium is (to be) deducted, and the ASN participates.
DEDUCTED_STATUSES = tuple(
    status for status in HOLDING_STATUSES if status is not EnrollmentStatus.DRAFT)
# BPJS registered the worker and the cover has not lapsed: "covered today".
COVERED_STATUSES = (EnrollmentStatus.REGISTERED, EnrollmentStatus.ACTIVE)
# Never counted as participating: not agreed yet, or refused.
NEVER_AGREED_STATUSES = (EnrollmentStatus.DRAFT, EnrollmentStatus.REJECTED)
# Left the life after being agreed: its `ended_at` says when it stopped counting.
CLOSED_STATUSES = (EnrollmentStatus.STOPPED, EnrollmentStatus.LAPSED, EnrollmentStatus.ENDED)
