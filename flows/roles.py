"""The roles beyond plain ASN, and the kind of unit each is held for.

The values are the strings stored in `roles.role` and `units.kind`.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What someone may do besides enrolling workers."""

    COORDINATOR = "coordinator"  # verifies the enrolments of one OPD
    CAMAT = "camat"  # broadcasts to one kecamatan
    ADMIN = "admin"  # Disperinaker or the BPJS branch: the whole region


class UnitKind(StrEnum):
    """The two ways the roster groups ASN: where they work and where they live."""

    OPD = "opd"
    KECAMATAN = "kecamatan"


# The kind of unit each role is held for (admin: none).
ROLE_UNIT_KIND: dict[Role, UnitKind | None] = {
    Role.COORDINATOR: UnitKind.OPD, Role.CAMAT: UnitKind.KECAMATAN, Role.ADMIN: None,
}
