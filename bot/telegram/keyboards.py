"""The reply markup an `OutgoingMessage` asks for on Telegram."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from flows.events import OutgoingMessage


def keyboard(
    message: OutgoingMessage,
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """The reply markup a message asks for.

    Inline buttons come back as callback queries carrying their payload. A reply keyboard is
    what Telegram needs for "share my contact" (request_contact); note that a plain button of
    a reply keyboard comes back as its label's text, not its payload, so flows use reply
    keyboards for the contact button only.
    """
    rows = message.buttons
    if rows and message.inline:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(button.label, callback_data=button.payload)
              for button in row]
             for row in rows]
        )
    if rows:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(button.label, request_contact=button.contact) for button in row]
             for row in rows],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if message.remove_keyboard:
        return ReplyKeyboardRemove()
    return None
