"""The Cloud API client: the settings the channel needs, pywa's client, message ids as stored.

The Graph API base URL is a setting (WHATSAPP_API_BASE_URL): pywa always points the httpx
client it is given at graph.facebook.com, so `build_client` sets the client's `base_url` back
to the configured one afterwards; tests and a staging setup use a local server that way.
"""

from __future__ import annotations

import hashlib
from typing import Final

import httpx
from pywa_async import WhatsApp
from pywa_async.types.templates import TemplateLanguage

from bot.settings import NotConfigured, Settings

# Database columns hold ids up to 64 characters; longer wamids are kept as a digest.
MESSAGE_KEY_MAX: Final = 64


class WhatsAppNotConfigured(NotConfigured):
    """A setting the WhatsApp channel needs is missing or malformed."""


REQUIRED_SETTINGS: Final = (
    "whatsapp_phone_number_id", "whatsapp_access_token", "whatsapp_app_secret",
    "whatsapp_verify_token",
)


def setting(settings: Settings, name: str) -> str | None:
    """A WhatsApp setting as text; an empty one (`NAME=` as in .env.example) is unset."""
    raw = getattr(settings, name)
    text = raw.get_secret_value() if hasattr(raw, "get_secret_value") else raw
    text = (text or "").strip()
    return text or None


def whatsapp_configured(settings: Settings) -> bool:
    """Whether the channel is set up at all (its phone number id is given). A half-filled
    configuration is an error `check_settings` names, not a silently missing channel."""
    return setting(settings, "whatsapp_phone_number_id") is not None


def check_settings(settings: Settings) -> None:
    """Raise naming every missing WhatsApp setting."""
    missing = [name.upper() for name in REQUIRED_SETTINGS if setting(settings, name) is None]
    if missing:
        raise WhatsAppNotConfigured(missing)
    try:
        TemplateLanguage(settings.whatsapp_template_language)
    except ValueError:
        raise WhatsAppNotConfigured(["WHATSAPP_TEMPLATE_LANGUAGE"], "malformed") from None


def api_base_url(settings: Settings) -> str:
    """The versioned Graph API root, e.g. https://graph.facebook.com/v21.0."""
    return f"{settings.whatsapp_api_base_url.rstrip('/')}/v{settings.whatsapp_api_version}"


def build_client(settings: Settings, session: httpx.AsyncClient) -> WhatsApp:
    """pywa's async client on our own httpx client, pointed at WHATSAPP_API_BASE_URL.

    pywa sets the session's base URL to graph.facebook.com when it takes the session; the
    session is ours, so its base URL is set back to the configured one right after. The
    settings are `check_settings`-ed by the caller, before it opens the session."""
    client = WhatsApp(
        phone_id=setting(settings, "whatsapp_phone_number_id"),
        token=setting(settings, "whatsapp_access_token"),
        session=session,
        api_version=settings.whatsapp_api_version,
    )
    session.base_url = httpx.URL(api_base_url(settings))
    return client


def message_key(wamid: str) -> str:
    """A WhatsApp message id as stored (update ids, outbox message ids): as it is when it fits,
    else a digest of it, the same for the send answer and the later status callbacks."""
    if len(wamid) <= MESSAGE_KEY_MAX:
        return wamid
    return "sha256:" + hashlib.sha256(wamid.encode()).hexdigest()[:MESSAGE_KEY_MAX - 7]
