"""WhatsApp's rules for laying out an `OutgoingMessage` (Cloud API limits, interactive and
template messages), as plain functions.

Sending follows WhatsApp's rules:

- Choices become up to 3 reply buttons (titles up to 20 characters, all different) or else a
  list (up to 10 rows, titles up to 24 characters; a longer label is cut and shown whole in the
  row's description). A longer list is shown a page at a time: the page carries a row
  "page:N" that the router answers with the same question on page N (`OutgoingMessage.page`).
- A message the bot starts (kind news, reminder, broadcast, report) outside the 24-hour window
  after the user's last message goes as the approved template named in settings
  (WHATSAPP_TEMPLATE_<KIND>, language WHATSAPP_TEMPLATE_LANGUAGE) with the rendered text as its
  one body parameter, flattened to one line (Meta refuses newlines, tabs and runs of spaces in
  parameters) and cut to `TEMPLATE_PARAMETER_MAX` characters. Register each template with a
  body of "{{1}}" plus at most a short fixed sentence, e.g. "{{1}}\\n\\nBalas pesan ini untuk
  melanjutkan."; the report's template also needs an IMAGE header (the chart goes there).
  Inside the window the text goes as it is. A reply that finds the window closed (error 131047)
  is sent again as the template at once.
- An image (the monthly chart) is uploaded and sent with the text as its caption.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from flows.events import OutgoingButton, OutgoingMessage

# Cloud API limits (developers.facebook.com, interactive and template messages).
MAX_BUTTONS: Final = 3
BUTTON_TITLE_MAX: Final = 20
MAX_ROWS: Final = 10
ROW_TITLE_MAX: Final = 24
ROW_DESCRIPTION_MAX: Final = 72
LIST_BUTTON_MAX: Final = 20
SECTION_TITLE_MAX: Final = 24
INTERACTIVE_BODY_MAX: Final = 1024
TEXT_MAX: Final = 4096
CAPTION_MAX: Final = 1024
# A template body is at most 1024 characters with its fixed words; the parameter keeps room
# for a short fixed sentence around it.
TEMPLATE_PARAMETER_MAX: Final = 900

# The customer service window: free-form messages only within 24 hours of the user's last
# message. A small margin keeps a message queued at 23:59 from arriving after it closed.
SERVICE_WINDOW: Final = timedelta(hours=24)
WINDOW_MARGIN: Final = timedelta(minutes=10)


def choices_of(message: OutgoingMessage) -> list[OutgoingButton]:
    """The message's buttons in reading order; a contact button has no WhatsApp equivalent."""
    return [button for row in message.buttons for button in row if not button.contact]


def pages(count: int) -> list[tuple[int, int]]:
    """Slices of `count` choices, each page at most 10 rows including its page turns: the
    first page keeps a row for "next", middle pages one for "previous" and one for "next"."""
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        room = MAX_ROWS - (1 if spans else 0)
        if count - start <= room:
            spans.append((start, count))
            return spans
        spans.append((start, start + room - 1))
        start += room - 1


def fits_buttons(choices: list[OutgoingButton]) -> bool:
    labels = [choice.label for choice in choices]
    return (0 < len(choices) <= MAX_BUTTONS
            and all(0 < len(label) <= BUTTON_TITLE_MAX for label in labels)
            and len(set(labels)) == len(labels))


def shortened(text: str, limit: int) -> str:
    """The text, or its first `limit` characters ending in "…" (a title Meta would refuse)."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def template_parameter(text: str, limit: int = TEMPLATE_PARAMETER_MAX) -> str:
    """The rendered text as one template parameter: one line (a line that ends a sentence
    is followed by a space, others by " · "), single spaces, at most `limit` characters."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    flat = ""
    for line in filter(None, lines):
        if flat:
            flat += " " if flat[-1] in ".!?:;…" else " · "
        flat += line
    if len(flat) > limit:
        flat = flat[:limit - 1].rsplit(" ", 1)[0].rstrip(" ·") + "…"
    return flat or "-"


def chunks(text: str, limit: int = TEXT_MAX) -> list[str]:
    """A text in pieces of at most `limit` characters, cut at line ends where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    if text.strip():
        pieces.append(text)
    return pieces


def window_open(message: OutgoingMessage, now: datetime) -> bool:
    """Whether free-form messages reach the user now (the 24-hour customer service window
    after `last_inbound_at`, which the sender sets from the chat; None: never wrote)."""
    last = message.last_inbound_at
    if last is None:
        return False
    if last.tzinfo is None:  # a time without its zone is UTC, as the database keeps it
        last = last.replace(tzinfo=UTC)
    return now - last < SERVICE_WINDOW - WINDOW_MARGIN
