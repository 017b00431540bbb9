"""Where an enrolment is in its life, and the groups of statuses the rules ask about.

The values are the strings stored in `enrollments.status` (and named in the migrations'
partial indexes), so they never change without a data migration; everything else names a
status through `EnrollmentStatus`, and asks "does it hold the NIK?" through the groups
below rather than by listing statuses again. DESIGN §7 has the whole lifecycle.
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
    REJECTED = "rejected"  # refused by the coordinator or by BPJS
    ENDED = "ended"  # stopped by the ASN (or a draft the worker's consent no longer holds)


# The enrolment holds the worker's NIK: one such enrolment per worker (a partial unique
# index), so another ASN is told the worker is taken. The order is the index's SQL.
HOLDING_STATUSES = (
    EnrollmentStatus.DRAFT, EnrollmentStatus.SUBMITTED, EnrollmentStatus.VERIFIED,
    EnrollmentStatus.REGISTERED, EnrollmentStatus.ACTIVE,
)
# Agreed and not ended: the premium is (to be) deducted, and the ASN participates.
DEDUCTED_STATUSES = tuple(
    status for status in HOLDING_STATUSES if status is not EnrollmentStatus.DRAFT)
# BPJS registered the worker: protected, not only being registered.
COVERED_STATUSES = (EnrollmentStatus.REGISTERED, EnrollmentStatus.ACTIVE)
# Never counted as participating: not agreed yet, or refused.
NEVER_AGREED_STATUSES = (EnrollmentStatus.DRAFT, EnrollmentStatus.REJECTED)
