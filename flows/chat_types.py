"""Which kind of chat a message comes from or goes to, as stored in `chats.chat_type`.

A word of the vocabulary (storage/ matches group chats by it), so it lives apart from the
transports' event types in flows/events.py, which re-uses it.
"""

from __future__ import annotations

from enum import StrEnum


class ChatType(StrEnum):
    """Private chats run conversations; groups only receive pushes (issue 3)."""

    PRIVATE = "private"
    GROUP = "group"
