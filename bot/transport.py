"""What the sender needs of a channel, and the two ways a send can fail."""

from __future__ import annotations

from typing import Protocol

from flows.events import Channel, OutgoingMessage


class SendError(Exception):
    """Sending a message failed."""


class TransientSendError(SendError):
    """Worth retrying: a timeout, a 5xx, a 429 (with the wait the platform asked for)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Will not pass by retrying: the user blocked the bot, the chat does not exist."""


class RecipientUnreachable(PermanentSendError):
    """The recipient blocked the bot or has no account: stop sending to this chat."""


class Transport(Protocol):
    """A channel as the sender (and the apology) see it: one typed message in, its id out."""

    channel: Channel

    async def send(self, chat_id: str, message: OutgoingMessage) -> str | None:
        """Deliver one rendered message; return the platform's message id."""
        ...
