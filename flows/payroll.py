"""Which salary months pay for a worker's cover, and which months taken go back to the ASN.

The rule, as a salary treasurer can defend it to the ASN: a salary pays only for cover that
exists. An enrolment is on the payroll list of salary month M when

- BPJS Ketenagakerjaan registered the worker (a KPJ number) before M began: the first month
  deducted is the month after the month of registration;
- M is not before the first month the ASN agreed to (the agreement's `first_month`);
- the ASN had not stopped it by M (its `deduction_stop_month` is later than M).

A submitted or verified enrolment, however long it waits, is not deducted. Lists made before
this rule deducted every submitted enrolment from the month after the agreement; a month listed
outside the rule is given back: every listed month when BPJS refuses the worker, the months
before the first deducted one when BPJS registers a worker who was listed earlier.
storage/payroll.py holds the same rule as SQL.
"""

from __future__ import annotations

from datetime import date

from flows.months import first_of_month_after

# Why a listed month goes back to the ASN.
REFUND_REJECTED = "bpjs_rejected"
REFUND_BEFORE_COVER = "before_registration"
REFUND_REASONS = (REFUND_REJECTED, REFUND_BEFORE_COVER)


def first_deducted_month(agreed_first_month: date, registered_on: date) -> date:
    """The first salary month deducted for a worker BPJS registered on `registered_on` (a
    date on the Jakarta calendar): the month after, and never before the month agreed."""
    return max(agreed_first_month, first_of_month_after(registered_on))
