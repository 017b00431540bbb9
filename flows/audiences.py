"""Who a camat's broadcast reaches, as stored in `broadcasts.audience`."""

from __future__ import annotations

from enum import StrEnum


class Audience(StrEnum):
    ALL = "all"  # every ASN living in the kecamatan with a linked chat
    NOT_PARTICIPATING = "not_participating"  # those of them with no enrolment agreed
    GROUPS = "groups"  # the group chats linked to the kecamatan


# In the order the camat's home lists them.
AUDIENCES = tuple(Audience)
