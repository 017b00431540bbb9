"""A `telegram.Update` as the dispatcher sees it: a frozen `Incoming`, or nothing.

What reaches the dispatcher, and what does not:

- a new message in a private chat or a group: text (a command when it starts with "/"),
  a contact card, or anything else (sticker, photo, voice, location ...) as UNSUPPORTED so the
  flow can explain what it expects. In groups only text and commands pass: media and service
  messages (members joining, pins) are no one's answer to anything.
- a pressed inline button (callback query), as BUTTON with the button's payload. The query is
  then answered (the client stops its spinner) and the pressed message loses its inline
  keyboard, so an old button cannot be pressed twice.
- nothing else: edited messages (an edit of an earlier answer is not a new answer, and acting
  on it would change data behind the user's back), channel posts (no user), membership changes
  and every other kind of update. `ALLOWED_UPDATES` asks Telegram not to send them at all.
"""

from __future__ import annotations

from typing import Any, Final

from telegram import Message, Update

from flows.events import Channel, ChatType, Incoming, Kind, SharedContact

# Only these update kinds are asked for, in polling and in webhook mode alike.
ALLOWED_UPDATES: Final = (Update.MESSAGE, Update.CALLBACK_QUERY)

CHAT_TYPES: Final = {
    "private": ChatType.PRIVATE,
    "group": ChatType.GROUP,
    "supergroup": ChatType.GROUP,
}

# Checked in this order: an animation also carries a `document`.
ATTACHMENTS: Final = (
    "sticker", "photo", "animation", "video", "video_note", "voice", "audio", "document",
    "location", "venue", "poll", "dice", "game", "story", "paid_media", "invoice",
)


def to_incoming(update: Update, username: str | None) -> Incoming | None:
    """The update as the dispatcher sees it, or None when no flow should see it. `username`
    is the bot's own (from getMe; None before it is known): "/cmd@other_bot" is not ours."""
    if update.callback_query is not None:
        return _button(update)
    message = update.message
    if message is None:  # edited message, channel post, membership change, poll ...
        return None
    user = message.from_user
    chat_type = CHAT_TYPES.get(message.chat.type)
    if user is None or chat_type is None:
        return None
    fields: dict[str, Any] = {
        "channel": Channel.TELEGRAM,
        "chat_id": str(message.chat.id),
        "user_id": str(user.id),
        "chat_type": chat_type,
        "update_id": str(update.update_id),
        "message_id": str(message.message_id),
    }
    if message.text is not None:
        text = message.text
        if text.startswith("/"):
            if not _addressed_to(text, username):
                return None
            return Incoming(kind=Kind.COMMAND, text=text, **fields)
        return Incoming(kind=Kind.TEXT, text=text, **fields)
    if chat_type is not ChatType.PRIVATE:
        return None
    contact = message.contact
    if contact is not None:
        card = SharedContact(
            phone=contact.phone_number,
            user_id=str(contact.user_id) if contact.user_id else None,
        )
        return Incoming(kind=Kind.CONTACT, contact=card, **fields)
    return Incoming(kind=Kind.UNSUPPORTED, text=_attachment(message), **fields)


def _button(update: Update) -> Incoming | None:
    query = update.callback_query
    assert query is not None
    message = query.message  # None for buttons under inline-mode messages (unused)
    if message is None or query.data is None:
        return None
    chat_type = CHAT_TYPES.get(message.chat.type)
    if chat_type is None:
        return None
    return Incoming(
        channel=Channel.TELEGRAM,
        chat_id=str(message.chat.id),
        user_id=str(query.from_user.id),
        kind=Kind.BUTTON,
        chat_type=chat_type,
        payload=query.data,
        update_id=str(update.update_id),
        message_id=str(message.message_id),
    )


def _addressed_to(text: str, username: str | None) -> bool:
    """In groups "/start@other_bot" is meant for another bot."""
    word = text.split(maxsplit=1)[0] if text.strip() else text
    _, at, name = word.partition("@")
    if not at or username is None:
        return True
    return name.lower() == username.lower()


def _attachment(message: Message) -> str:
    """What kind of thing was sent ("sticker", "photo" ...): safe to log, not content."""
    for name in ATTACHMENTS:
        if getattr(message, name, None):
            return name
    return "other"
