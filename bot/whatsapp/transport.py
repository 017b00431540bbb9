"""`WhatsAppTransport`: an `OutgoingMessage` as Cloud API calls, by the rules in
bot/whatsapp/layout.py, with the API's errors mapped once (bot/whatsapp/errors.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from pywa.errors import ReEngagementMessage, WhatsAppError
from pywa_async import WhatsApp
from pywa_async.types import Button, Section, SectionList, SectionRow
from pywa_async.types.templates import BaseParams, BodyText, HeaderImage, TemplateLanguage

from bot.settings import Settings
from bot.transport import PermanentSendError, TransientSendError
from bot.whatsapp.api import build_client, check_settings, message_key, setting
from bot.whatsapp.errors import send_error
from bot.whatsapp.layout import (
    CAPTION_MAX,
    INTERACTIVE_BODY_MAX,
    LIST_BUTTON_MAX,
    ROW_DESCRIPTION_MAX,
    ROW_TITLE_MAX,
    SECTION_TITLE_MAX,
    choices_of,
    chunks,
    fits_buttons,
    pages,
    shortened,
    template_parameter,
    window_open,
)
from bot.whatsapp.webhook import WebhookContent, read_webhook
from flows.events import Channel, OutgoingButton, OutgoingMessage
from flows.router import PAGE_PREFIX
from messages.renderer import WHATSAPP, Renderer

log = logging.getLogger("bot.whatsapp")


class WhatsAppTransport:
    """Translates between the Cloud API and the dispatcher; holds no conversation state."""

    channel = Channel.WHATSAPP

    def __init__(self, settings: Settings, renderer: Renderer,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 timeout: float = 20.0) -> None:
        check_settings(settings)
        self._settings = settings
        self._session = httpx.AsyncClient(timeout=timeout)
        self._client = build_client(settings, self._session)
        self._renderer = renderer
        self._clock = clock
        self.phone_number_id = setting(settings, "whatsapp_phone_number_id") or ""
        self._language = TemplateLanguage(settings.whatsapp_template_language)

    @property
    def client(self) -> WhatsApp:
        """pywa's client, for calls beyond sending (none yet)."""
        return self._client

    async def close(self) -> None:
        """Close the HTTP connections of the session handed to pywa."""
        await self._session.aclose()

    # -- reception -------------------------------------------------------------------------

    def read(self, data: Mapping[str, Any]) -> WebhookContent:
        return read_webhook(data, self.phone_number_id, self._clock)

    # -- delivery --------------------------------------------------------------------------

    async def send(self, chat_id: str, message: OutgoingMessage) -> str | None:
        """Send one rendered message; the id of the (last) message sent."""
        try:
            if not window_open(message, self._clock()):
                return await self._send_template(chat_id, message)
            try:
                return await self._send_free(chat_id, message)
            except ReEngagementMessage:
                log.info("whatsapp: the 24-hour window was closed; sending the template")
                return await self._send_template(chat_id, message)
        except WhatsAppError as error:
            raise send_error(error) from error
        except httpx.TimeoutException as error:
            raise TransientSendError(f"whatsapp timeout: {type(error).__name__}") from error
        except httpx.HTTPError as error:
            raise TransientSendError(f"whatsapp network: {type(error).__name__}") from error
        except (ValueError, KeyError, TypeError) as error:
            # pywa refusing the request before sending it (a recipient it cannot read), or an
            # answer of another shape than documented: sending the same again will not help.
            raise PermanentSendError(f"whatsapp request: {type(error).__name__}") from error

    async def _send_free(self, to: str, message: OutgoingMessage) -> str:
        text = message.text
        choices = choices_of(message)
        attachment = message.attachment
        sent: list[str] = []
        if attachment is not None:
            caption = text if text and len(text) <= CAPTION_MAX and not choices else None
            image = await self._client.send_image(
                to=to, image=attachment.data, caption=caption,
                mime_type=attachment.content_type or "image/png",
            )
            sent.append(image.id)
            if caption is not None:
                text = ""
        if not choices or len(text) > INTERACTIVE_BODY_MAX:
            # The text alone; with choices, too long to be their message's body.
            for piece in chunks(text):
                sent.append((await self._client.send_message(to=to, text=piece)).id)
            text = ""
        if choices:
            prompt = text or self._renderer.text("whatsapp/choose", {}, WHATSAPP)
            sent.append(await self._send_choices(to, prompt, choices, message.page))
        if not sent:
            raise PermanentSendError("whatsapp: nothing to send in this message")
        return message_key(sent[-1])

    async def _send_choices(self, to: str, text: str, choices: list[OutgoingButton],
                            page: int) -> str:
        if fits_buttons(choices):
            buttons = [Button(title=choice.label, callback_data=choice.payload)
                       for choice in choices]
            return (await self._client.send_message(to=to, text=text, buttons=buttons)).id
        spans = pages(len(choices))
        page = min(max(page, 0), len(spans) - 1)
        start, end = spans[page]
        rows = [self._row(choice) for choice in choices[start:end]]
        count = len(spans)
        if page > 0:
            label = self._renderer.label("page_prev")
            rows.insert(0, SectionRow(title=shortened(label, ROW_TITLE_MAX),
                                      callback_data=f"{PAGE_PREFIX}{page - 1}"))
        if page < count - 1:
            label = self._renderer.label("page_next", {"page": page + 2, "pages": count})
            rows.append(SectionRow(title=shortened(label, ROW_TITLE_MAX),
                                   callback_data=f"{PAGE_PREFIX}{page + 1}"))
        title = self._renderer.label("page_section", {"page": page + 1, "pages": count})
        listing = SectionList(
            button_title=shortened(self._renderer.label("list_open"), LIST_BUTTON_MAX),
            sections=[Section(title=shortened(title, SECTION_TITLE_MAX), rows=rows)],
        )
        return (await self._client.send_message(to=to, text=text, buttons=listing)).id

    @staticmethod
    def _row(choice: OutgoingButton) -> SectionRow:
        if len(choice.label) <= ROW_TITLE_MAX:
            return SectionRow(title=choice.label, callback_data=choice.payload)
        return SectionRow(title=shortened(choice.label, ROW_TITLE_MAX),
                          callback_data=choice.payload,
                          description=shortened(choice.label, ROW_DESCRIPTION_MAX))

    def template_name(self, kind: str) -> str:
        """The approved template for a kind of message; a late reply goes as news."""
        settings = self._settings
        return {
            "reminder": settings.whatsapp_template_reminder,
            "broadcast": settings.whatsapp_template_broadcast,
            "report": settings.whatsapp_template_report,
        }.get(kind, settings.whatsapp_template_news)

    async def _send_template(self, to: str, message: OutgoingMessage) -> str:
        params: list[BaseParams | dict[str, Any]] = []
        attachment = message.attachment
        if attachment is not None:
            params.append(HeaderImage.params(
                image=attachment.data, mime_type=attachment.content_type or "image/png"))
        params.append(BodyText.params(template_parameter(message.text)))
        sent = await self._client.send_template(
            to=to, name=self.template_name(message.kind),
            language=self._language, params=params,
        )
        return message_key(sent.id)
