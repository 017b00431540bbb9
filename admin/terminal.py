"""The terminal chat loop: typed lines in, the bot's messages printed, until end of input."""

from __future__ import annotations

import asyncio

from bot.app import App
from bot.console import ConsoleTransport


async def run_terminal_chat(app: App, demo: bool = False, user_id: str | None = None
                            ) -> None:
    """Chat as console user `user_id` (CONSOLE_USER_ID by default); every message goes
    through the outbox like any channel."""
    user_id = user_id or app.settings.console_user_id
    console = ConsoleTransport(app.renderer, own_chat=user_id)
    app.add_transport(console)
    if demo:
        from admin.demo_data import DEMO_ASN, DEMO_ROLE_HOLDERS

        print(app.renderer.text("console/intro", {
            "region": app.settings.region_name, "nip": DEMO_ASN.nip,
            "phone": DEMO_ASN.phone_local, "name": DEMO_ASN.name, "unit": DEMO_ASN.unit,
            "role_holders": DEMO_ROLE_HOLDERS, "user_id": user_id,
        }))
    # Open the conversation (or show where it stopped), so the first typed line is an answer.
    await app.dispatcher.handle(console.incoming(user_id, "/mulai"))
    await app.sender.drain()
    while True:
        try:
            line = await asyncio.to_thread(input, "\n> ")
        except EOFError:
            return
        if console.wants_contact(user_id, line):
            prompt = app.renderer.text("console/ask_contact_phone", {})
            try:
                phone = await asyncio.to_thread(input, prompt + " ")
            except EOFError:
                return
            incoming = console.contact(user_id, phone)
        else:
            incoming = console.incoming(user_id, line)
        await app.dispatcher.handle(incoming)
        await app.sender.drain()
