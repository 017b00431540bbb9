"""Turns a `Reply` into the `OutgoingMessage` one channel shows: its text and keyboard.

Escaping is the renderer's job, per channel: Telegram reads HTML, so every value from the
context is escaped and `b()` makes bold tags; WhatsApp bolds with asterisks; the terminal shows
plain text. Templates never escape by hand, and StrictUndefined turns a missing value into an
error in tests instead of an empty gap in a user's message.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import markupsafe
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from flows.events import Button, Markup, OutgoingButton, OutgoingMessage, Reply
from messages import formatting

TEMPLATES = Path(__file__).parent / "templates"
LABELS = Path(__file__).parent / "labels.toml"


# Which markup each channel speaks (the names callers of `text` use).
HTML, WHATSAPP, PLAIN = Markup.HTML, Markup.WHATSAPP, Markup.PLAIN
MARKUP_BY_CHANNEL = {"telegram": HTML, "whatsapp": WHATSAPP, "console": PLAIN}


def _environment(markup: Markup) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=markup == HTML,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # Templates ship with the code: checking each file's time at every render (Jinja's
        # default) cost a stat call per message.
        auto_reload=False,
    )
    env.filters.update(
        rupiah=formatting.rupiah,
        tanggal=formatting.long_date,
        bulan=formatting.month_year,
        waktu=formatting.date_time,
        jam=formatting.clock,
        angka=formatting.number,
    )
    if markup == HTML:
        env.globals["b"] = lambda value: markupsafe.Markup("<b>%s</b>") % value
    elif markup == WHATSAPP:
        env.globals["b"] = lambda value: f"*{value}*"
    else:
        env.globals["b"] = lambda value: str(value)
    return env


@cache
def _compiled() -> tuple[dict[Markup, Environment], dict[str, Template | _Fixed]]:
    """The environments (which cache compiled templates) and the labels, built on first use
    and shared by every Renderer of the process: compiling is costly, the result immutable."""
    envs = {markup: _environment(markup) for markup in (HTML, WHATSAPP, PLAIN)}
    raw = tomllib.loads(LABELS.read_text(encoding="utf-8"))
    labels = {key: _Fixed(value) if "{" not in value else envs[PLAIN].from_string(value)
              for key, value in raw.items()}
    return envs, labels


class _Fixed:
    """A label without placeholders: most buttons; rendering one through Jinja cost more
    than the rest of its message."""

    def __init__(self, text: str) -> None:
        self._text = text

    def render(self, _context: dict[str, Any]) -> str:
        return self._text


class Renderer:
    """Renders templates for each markup."""

    def __init__(self) -> None:
        self._envs, self._labels = _compiled()

    def render(self, reply: Reply, channel: str) -> OutgoingMessage:
        markup = MARKUP_BY_CHANNEL[channel]
        text = self.text(reply.template, reply.context, markup)
        return OutgoingMessage(
            text=text,
            buttons=tuple(tuple(self._button(button) for button in row)
                          for row in reply.buttons),
            inline=reply.inline,
            remove_keyboard=reply.remove_keyboard,
            markup=markup,
            image=reply.image,
            page=reply.page,
            confidential=reply.confidential,
        )

    def text(self, template: str, context: dict[str, Any], markup: Markup = PLAIN) -> str:
        """The message body; `plain` is also the form kept as the wording of a consent."""
        rendered = self._envs[markup].get_template(f"{template}.j2").render(context)
        return rendered.strip()

    def label(self, key: str, context: dict[str, Any] | None = None) -> str:
        return self._labels[key].render(context or {}).strip()

    def template_names(self) -> list[str]:
        return sorted(name[:-3] for name in self._envs[PLAIN].list_templates(extensions=["j2"]))

    def label_keys(self) -> list[str]:
        return sorted(self._labels)

    def _button(self, button: Button) -> OutgoingButton:
        return OutgoingButton(self.label(button.label, button.context), button.payload,
                              button.request_contact)

