"""A camat's invitation for the ASN the bot cannot reach yet: the bot's chat link per channel
and a QR code of it, to print on a notice or forward to a WhatsApp group.

The links are the platforms' own: https://t.me/<username>?start=undangan for Telegram (the
username is Telegram's answer to getMe, known once the bot has started; the start parameter
makes Telegram send /start, so even a chat opened before lands on the first question) and
https://wa.me/<number> for WhatsApp when WHATSAPP_PUBLIC_NUMBER is set. A channel whose link
is not known offers none. The QR codes are drawn with segno (pure Python, a few
milliseconds) and stored once as attachments: the same picture is sent again by its id.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime

import segno
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.attachments import store_attachment
from storage.interfaces import Invitation
from storage.models import Attachment

QR_SCALE = 12  # pixels per module: a version-3 code is 444 px, sharp in print and on screens
QR_ERROR = "m"  # 15% of the code may be smudged or folded and it still reads


def telegram_link(username: str) -> str:
    return f"https://t.me/{username}?start=undangan"


def whatsapp_link(number: str) -> str:
    """`number` in international form, digits only after cleaning (wa.me wants 62812...)."""
    return "https://wa.me/" + "".join(ch for ch in number if ch.isdigit())


def qr_png(link: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(link, error=QR_ERROR).save(buffer, kind="png", scale=QR_SCALE, border=4)
    return buffer.getvalue()


class QrInvitations:
    """InvitationRepository over one session and the links this process knows."""

    def __init__(self, session: AsyncSession, links: Mapping[str, str]) -> None:
        self._session = session
        self._links = links

    async def invitations(self, now: datetime) -> list[Invitation]:
        return [Invitation(channel, link, await self._picture(channel, link, now))
                for channel, link in sorted(self._links.items())]

    async def _picture(self, channel: str, link: str, now: datetime) -> int:
        """The stored QR code of `link`, stored now if this is its first invitation."""
        png = qr_png(link)
        filename = f"undangan-asn-peduli-{channel}.png"
        kept = await self._session.scalar(
            select(Attachment.id)
            .where(Attachment.filename == filename, Attachment.data == png).limit(1))
        if kept is not None:
            return kept
        return await store_attachment(self._session, "image/png", filename, png, now)
