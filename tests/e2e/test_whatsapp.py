"""End to end over WhatsApp: signed webhook requests into the real web server (uvicorn on
127.0.0.1), through the inbox, dispatcher, flows and SQLite, and replies through pywa's client
to a fake Cloud API on 127.0.0.1.

Each step waits until the message is committed (its id is in processed_updates), the inbox is
empty and the outbox delivered, so what a step returns is exactly what the user saw for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from admin.kecamatan import load_kecamatan
from bot.app import App
from bot.settings import Settings
from bot.transport import PermanentSendError, RecipientUnreachable, TransientSendError
from bot.web import web_server_from_settings
from bot.whatsapp.api import message_key
from bot.whatsapp.transport import WhatsAppTransport
from flows.events import Attachment, Markup, OutgoingButton, OutgoingMessage
from storage.models import (
    ChannelIdentity,
    Chat,
    Consent,
    DeductionAgreement,
    Enrollment,
    InboxUpdate,
    Worker,
)
from tests.conftest import BUDI, SRI, make_settings, migrated_app
from tests.support.chat import texts
from tests.support.fake_graph import (
    FakeGraph,
    RunningServer,
    SentWhatsApp,
    messages_of,
    running,
    wamid_of,
)
from tests.support.loopback import Unread, latest
from tests.support.processes import conversation_state, settle

WA_ID = BUDI.phone.lstrip("+")  # Budi writes from his roster number
NIK = "3324015708800001"


# -- fixtures (the fake Cloud API `graph`, `web_app` and `server` come from
# tests/e2e/conftest.py) ---------------------------------------------------------------


@pytest.fixture
def settings(sqlite_url: str, graph: FakeGraph) -> Settings:
    return make_settings(sqlite_url, **graph.settings())


class WhatsAppUser:
    """One WhatsApp user writing to the bot's number through the fake Cloud API."""

    def __init__(self, graph: FakeGraph, server: RunningServer, app: App,
                 wa_id: str = WA_ID) -> None:
        self.graph = graph
        self.server = server
        self.app = app
        self.wa_id = wa_id
        self._unread = Unread(lambda: graph.messages(wa_id))

    async def post(self, body: dict[str, Any]) -> list[SentWhatsApp]:
        """Post a signed webhook body with one message; what the user got back for it."""
        response = await self.graph.post(self.server.url, body)
        assert response.status_code == 200, response.text
        return await self.settle(wamid_of(body))

    async def settle(self, wamid: str, within: float = 10.0) -> list[SentWhatsApp]:
        await settle(self.app, "whatsapp", message_key(wamid), within,
                     lambda: (f"message {wamid} not processed and delivered; "
                              f"rejected: {self.graph.rejected}"))
        return self._unread()

    async def send(self, text: str) -> list[SentWhatsApp]:
        return await self.post(self.graph.text(self.wa_id, text))

    async def press(self, title: str) -> list[SentWhatsApp]:
        """Tap the button or list row `title` of the latest message that has choices."""
        return await self.post(self.graph.reply(self.last_with_choices, title))

    async def kind(self, name: str) -> list[SentWhatsApp]:
        """Send one of the stored payloads (sticker, location ...)."""
        return await self.post(self.graph.message(name, self.wa_id))

    @property
    def last_with_choices(self) -> SentWhatsApp:
        return latest(self.graph.messages(self.wa_id), lambda message: message.choices,
                      "choices")

    async def state(self) -> tuple[str | None, dict[str, Any]]:
        return await conversation_state(self.app, int(self.graph.phone_number_id),
                                        int(self.wa_id))


async def identify(user: WhatsAppUser) -> None:
    """"halo", then the NIP: the sender's number is the phone proof, no contact card."""
    shown = await user.send("halo")
    assert "Selamat datang" in texts(shown) and "NIP" in shown[-1].text
    assert all(message.type == "text" for message in shown)
    shown = await user.send(BUDI.nip)
    assert "Budi Santoso" in texts(shown) and "Menu utama" in shown[-1].text
    menu = shown[-1]
    assert menu.type == "interactive"
    assert menu.choices[:3] == ["➕ Daftarkan pekerja", "👥 Pekerja saya", "❓ Bantuan"]
    # Up to three choices are reply buttons; the menu's further items make it a list.
    assert menu.interactive["type"] == ("button" if len(menu.choices) <= 3 else "list")


# -- the whole enrolment -------------------------------------------------------------------


async def test_enrol_a_worker_over_whatsapp_from_hello_to_agreed_deduction(
    graph: FakeGraph, web_app: App, server: RunningServer
) -> None:
    await load_kecamatan(web_app)  # Kendal's 20 kecamatan: more than one list page
    user = WhatsAppUser(graph, server, web_app)
    await identify(user)

    shown = await user.press("➕ Daftarkan pekerja")
    [relationship] = shown
    assert relationship.interactive["type"] == "list"  # four choices: more than 3 buttons
    assert relationship.choices == ["Keluarga/saudara", "Asisten rumah tangga", "Tetangga",
                                    "Lainnya"]
    shown = await user.press("Asisten rumah tangga")
    assert "NIK" in shown[-1].text
    shown = await user.send(NIK)
    assert "nama" in shown[-1].text.lower()
    [birth_date] = await user.send("Siti Aminah")
    # "✅ Ya, 17 Agustus 1980" has 21 characters: too long for a button, fine as a row.
    assert birth_date.interactive["type"] == "list"
    assert birth_date.choices == ["✅ Ya, 17 Agustus 1980"]
    [occupation] = await user.press("✅ Ya, 17 Agustus 1980")
    assert len(occupation.rows) == 9 and "Pedagang kecil" in occupation.choices
    [phone] = await user.press("Pedagang kecil")
    assert phone.buttons == [("Lewati", "phone:skip")]
    [kecamatan] = await user.press("Lewati")

    # 21 choices (20 kecamatan and "outside"): pages of at most 10 rows with page turns.
    pages = [kecamatan]
    while "Patebon" not in pages[-1].choices:
        assert len(pages[-1].rows) <= 10
        assert pages[-1].choices[-1].startswith("▶️ Berikutnya")
        [turned] = await user.press("▶️ Berikutnya")
        assert turned.text == kecamatan.text  # the same question, on the next page
        pages.append(turned)
    assert len(pages) >= 2 and pages[-1].choices[0] == "◀️ Sebelumnya"
    assert (await user.state())[0] == "Enrollment:kecamatan"
    shown = await user.press("Patebon")
    assert "desa" in shown[-1].text.lower()
    [consent] = await user.send("Kumpulrejo")
    assert consent.choices == ["✅ Pekerja setuju", "❌ Pekerja tidak setuju"]
    [summary] = await user.press("✅ Pekerja setuju")
    assert summary.text.startswith("*Ringkasan pendaftaran*")
    assert "3324••••••••0001" in summary.text and NIK not in summary.text
    assert "17 Agustus 1980" in summary.text and "Patebon" in summary.text
    assert summary.buttons == [("💾 Simpan", "sum:save"), ("✏️ Ubah", "sum:edit"),
                               ("Batal", "sum:cancel")]
    shown = await user.press("💾 Simpan")
    assert "Rp16.800" in texts(shown)
    shown = await user.press("✅ Saya setuju")
    assert "sudah dikirim" in texts(shown)
    assert await user.state() == ("Menu:main", {})

    async with web_app.sessions() as session:
        enrollment = (await session.scalars(select(Enrollment))).one()
        worker = (await session.scalars(select(Worker))).one()
        agreement = (await session.scalars(select(DeductionAgreement))).one()
        consent_row = (await session.scalars(select(Consent))).one()
        identity = (await session.scalars(select(ChannelIdentity))).one()
        chat = (await session.scalars(select(Chat))).one()
    assert enrollment.status == "submitted" and enrollment.channel == "whatsapp"
    assert agreement.monthly_total == 16_800 and agreement.channel == "whatsapp"
    assert consent_row.channel == "whatsapp"
    assert (identity.channel, identity.external_id, identity.chat_id) == (
        "whatsapp", WA_ID, WA_ID)
    assert worker.name == "SITI AMINAH" and worker.kecamatan_name == "Patebon"
    assert worker.phone_enc is None
    for column in (worker.nik_enc, worker.nik_hash, worker.nik_masked, worker.birth_date_enc):
        assert NIK not in column
    assert (chat.channel, chat.chat_id, chat.unreachable_at) == ("whatsapp", WA_ID, None)
    assert graph.rejected == []  # the Cloud API would have accepted every call
    sent = graph.messages(WA_ID)
    assert any("*" in message.text for message in sent)  # WhatsApp bold, not HTML
    assert not any("<b>" in message.text for message in sent)


async def test_a_typed_kecamatan_name_needs_no_page_turning(
    graph: FakeGraph, web_app: App, server: RunningServer
) -> None:
    await load_kecamatan(web_app)
    user = WhatsAppUser(graph, server, web_app)
    await identify(user)
    await user.press("➕ Daftarkan pekerja")
    await user.press("Keluarga/saudara")
    await user.send(NIK)
    await user.send("Siti Aminah")
    await user.send("17-08-1980")
    await user.send("2")  # the second occupation, typed
    await user.send("tidak ada")
    assert (await user.state())[0] == "Enrollment:kecamatan"
    shown = await user.send("Ringinarum")  # on the last page of the list
    assert "desa" in shown[-1].text.lower()
    state = await user.state()
    assert state[0] == "Enrollment:desa" and state[1]["kecamatan"] == "Ringinarum"


async def test_quick_messages_keep_their_order_per_chat_while_others_move_on(
    graph: FakeGraph, web_app: App, server: RunningServer
) -> None:
    """Webhooks posted at once (and two messages batched in one body, as Meta may do) are
    dispatched in arrival order per chat; another user's conversation goes on beside."""
    user = WhatsAppUser(graph, server, web_app)
    await identify(user)
    await user.press("➕ Daftarkan pekerja")
    relationship = user.last_with_choices
    sri = WhatsAppUser(graph, server, web_app, wa_id=SRI.phone.lstrip("+"))
    batched = graph.text(WA_ID, NIK)
    name = graph.text(WA_ID, "Siti Aminah")
    messages_of(batched).append(messages_of(name)[0])
    burst = [graph.reply(relationship, "Asisten rumah tangga"), graph.text(sri.wa_id, "halo"),
             batched, graph.text(sri.wa_id, SRI.nip)]
    responses = await asyncio.gather(*(graph.post(server.url, body) for body in burst[:1]))
    for body in burst[1:]:  # one after the other, without waiting for any processing
        responses.append(await graph.post(server.url, body))
    assert [response.status_code for response in responses] == [200] * 4
    await user.settle(wamid_of(name))
    await sri.settle(wamid_of(burst[-1]))
    assert (await user.state())[0] == "Enrollment:birth_date"
    assert "lahir" in graph.messages(WA_ID)[-1].text
    assert (await sri.state())[0] == "Menu:main"
    assert "Sri Lestari" in texts(graph.messages(sri.wa_id))


# -- identification ------------------------------------------------------------------------


async def test_a_number_not_on_the_roster_learns_nothing_and_is_limited(
    graph: FakeGraph, web_app: App, server: RunningServer
) -> None:
    """A stranger's number with Budi's NIP gets the same answer as a wrong NIP; failures
    count, and no roster data (name, unit) is ever shown."""
    stranger = WhatsAppUser(graph, server, web_app, wa_id="6289900001111")
    await stranger.send("halo")
    for attempt in range(5):
        [answer] = await stranger.send(BUDI.nip)
        assert "tidak cocok" in answer.text and "Budi" not in answer.text
        assert "Dinas Kesehatan" not in answer.text
        if attempt < 4:
            assert f"Sisa percobaan: {4 - attempt}" in answer.text
    [locked] = await stranger.send(BUDI.nip)
    assert "Terlalu banyak percobaan" in locked.text
    assert (await stranger.state())[0] == "Identify:nip"
    async with web_app.sessions() as session:
        assert (await session.scalars(select(ChannelIdentity))).all() == []


async def test_a_contact_card_is_no_proof_and_a_sticker_is_explained(
    graph: FakeGraph, web_app: App, server: RunningServer
) -> None:
    user = WhatsAppUser(graph, server, web_app)
    await user.send("halo")
    before = await user.state()
    [answer] = await user.kind("contacts")
    assert answer.text and (await user.state()) == before
    for kind in ("sticker", "location", "image", "audio", "unsupported"):
        [explanation] = await user.kind(kind)
        assert "stiker" in explanation.text, kind
        assert await user.state() == before
    async with web_app.sessions() as session:
        assert (await session.scalars(select(ChannelIdentity))).all() == []


# -- delivery ------------------------------------------------------------------------------


@pytest.fixture
async def transport_for(settings: Settings, web_app: App
                        ) -> AsyncIterator[Callable[..., WhatsAppTransport]]:
    """`transport_for(now=None)`: the transport alone against the fake, on a fixed clock
    when `now` is given; closed at the end of the test."""
    made: list[WhatsAppTransport] = []

    def make(now: datetime | None = None) -> WhatsAppTransport:
        clock = (lambda: now) if now else web_app.clock
        made.append(WhatsAppTransport(settings, web_app.renderer, clock=clock))
        return made[-1]

    yield make
    for transport in made:
        await transport.close()


def body(text: str = "Halo *Budi*", **fields: Any) -> OutgoingMessage:
    """A message rendered for WhatsApp; unless told otherwise, a reply to a user who has
    just written (the sender sets `last_inbound_at` from the chat)."""
    fields.setdefault("last_inbound_at", datetime.now(UTC))
    return OutgoingMessage(text, markup=Markup.WHATSAPP, **fields)


async def test_send_maps_cloud_api_errors_once(
    graph: FakeGraph, transport_for: Callable[..., WhatsAppTransport]
) -> None:
    """The transport alone against the fake: which failures are worth a retry."""
    transport = transport_for()
    assert (await transport.send(WA_ID, body())) == message_key(graph.sent[-1].wamid)
    for code, wait in ((130429, 1.0), (131056, 6.0), (131048, 60.0), (4, 60.0)):
        graph.fail_once(code, "rate limit hit")
        with pytest.raises(TransientSendError) as raised:
            await transport.send(WA_ID, body())
        assert raised.value.retry_after == wait
    for code, status in ((131000, 500), (131016, 503)):
        graph.fail_once(code, "Something went wrong", status=status)
        with pytest.raises(TransientSendError):
            await transport.send(WA_ID, body())
    graph.fail_once(190, "Invalid OAuth access token.", status=401)
    with pytest.raises(TransientSendError) as raised:
        await transport.send(WA_ID, body())
    assert raised.value.retry_after == 300  # an operator must fix the token
    graph.fail_once(131026, "Message undeliverable")
    with pytest.raises(RecipientUnreachable):
        await transport.send(WA_ID, body())
    for code in (131009, 132001, 131051):
        graph.fail_once(code, "bad request")
        with pytest.raises(PermanentSendError) as permanent:
            await transport.send(WA_ID, body())
        assert not isinstance(permanent.value, RecipientUnreachable)
        assert str(code) in str(permanent.value)
    assert len(graph.rejected) == 11


async def test_bot_started_messages_use_the_template_when_the_window_is_closed(
    graph: FakeGraph, transport_for: Callable[..., WhatsAppTransport]
) -> None:
    now = datetime(2025, 8, 21, 9, 0, tzinfo=UTC)
    transport = transport_for(now)
    text = "*Kabar pendaftaran*\nPendaftaran SITI AMINAH\tsudah     diverifikasi.\n\nTerima kasih"
    inside = now - timedelta(hours=2)
    outside = now - timedelta(hours=30)
    await transport.send(WA_ID, body(text, kind="news", last_inbound_at=inside))
    assert graph.sent[-1].type == "text" and graph.sent[-1].text == text
    await transport.send(WA_ID, body(text, kind="news", last_inbound_at=outside))
    template = graph.sent[-1]
    assert template.type == "template"
    assert template.payload["template"]["name"] == "asn_peduli_kabar"
    assert template.payload["template"]["language"] == {"code": "id"}
    assert template.text == ("*Kabar pendaftaran* · Pendaftaran SITI AMINAH sudah "
                             "diverifikasi. Terima kasih")
    for kind, name in (("reminder", "asn_peduli_pengingat"),
                       ("broadcast", "asn_peduli_siaran")):
        await transport.send(WA_ID, body(text, kind=kind, last_inbound_at=None))
        assert graph.sent[-1].payload["template"]["name"] == name
    # A reply that finds the window closed (131047) goes again as the template.
    graph.closed_windows.add(WA_ID)
    await transport.send(WA_ID, body(text, kind="reply", last_inbound_at=inside))
    assert graph.sent[-1].type == "template"
    assert [reason[:6] for _, reason in graph.rejected] == ["131047"]
    # A long text is cut to fit the template parameter.
    await transport.send(WA_ID, body("kata " * 400, kind="reminder",
                                     last_inbound_at=None))
    assert len(graph.sent[-1].text) <= 900 and graph.sent[-1].text.endswith("…")


async def test_the_chart_goes_as_an_image_with_its_caption(
    graph: FakeGraph, transport_for: Callable[..., WhatsAppTransport]
) -> None:
    now = datetime(2025, 9, 1, 1, 0, tzinfo=UTC)
    transport = transport_for(now)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    chart = Attachment(filename="laporan.png", content_type="image/png", data=png)
    await transport.send(WA_ID, body("*Laporan bulanan*", kind="report", attachment=chart,
                                     last_inbound_at=now - timedelta(hours=1)))
    image = graph.sent[-1]
    assert image.type == "image" and image.text == "*Laporan bulanan*"
    assert graph.uploads[image.payload["image"]["id"]].data == png
    await transport.send(WA_ID, body("*Laporan bulanan*", kind="report", attachment=chart,
                                     last_inbound_at=None))
    template = graph.sent[-1]
    assert template.payload["template"]["name"] == "asn_peduli_laporan"
    header = template.payload["template"]["components"][0]
    assert graph.uploads[header["parameters"][0]["image"]["id"]].data == png
    assert graph.rejected == []


async def test_a_long_list_of_choices_is_paged_and_long_labels_are_kept_whole(
    graph: FakeGraph, transport_for: Callable[..., WhatsAppTransport]
) -> None:
    transport = transport_for()
    choices = tuple((OutgoingButton(f"Pilihan nomor {n} yang panjang sekali", f"c:{n}"),)
                    for n in range(1, 24))
    for page in range(3):  # 9 + 8 + 6 choices
        await transport.send(WA_ID, body("Pilih satu:", buttons=choices, page=page))
    assert graph.rejected == []
    listed = graph.messages(WA_ID)[-3:]
    ids = [row_id for message in listed for _, row_id in message.rows
           if not row_id.startswith("page:")]
    assert ids == [f"c:{n}" for n in range(1, 24)]  # every choice on exactly one page
    assert [row_id for _, row_id in listed[0].rows][-1] == "page:1"
    assert listed[1].rows[0][1] == "page:0"
    first_row = listed[0].interactive["action"]["sections"][0]["rows"][0]
    assert first_row["title"].endswith("…") and len(first_row["title"]) == 24
    assert first_row["description"] == "Pilihan nomor 1 yang panjang sekali"
    # A page beyond the last shows the last.
    await transport.send(WA_ID, body("Pilih satu:", buttons=choices, page=99))
    assert graph.sent[-1].rows == listed[-1].rows


async def test_a_long_text_with_choices_goes_before_them(
    graph: FakeGraph, transport_for: Callable[..., WhatsAppTransport]
) -> None:
    transport = transport_for()
    yes = ((OutgoingButton("Ya", "y"),),)
    await transport.send(WA_ID, body("baris panjang\n" * 120, buttons=yes))
    text, question = graph.sent[-2:]
    assert text.type == "text" and len(text.text) > 1024
    assert question.buttons == [("Ya", "y")] and question.text == "Silakan pilih salah satu:"


async def test_the_client_only_talks_to_the_configured_base_url(
    graph: FakeGraph, transport_for: Callable[..., WhatsAppTransport]
) -> None:
    transport = transport_for()
    assert str(transport.client.api._session.base_url) == f"{graph.url}/v21.0/"


# -- PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.postgres
async def test_the_whole_enrolment_over_whatsapp_on_postgresql(
    graph: FakeGraph, postgres_url: str
) -> None:
    """The same path on the engine for a province: inbox claims (SKIP LOCKED), the
    dispatcher's row locks and the sender's claims, all through the real server."""
    async with migrated_app(make_settings(postgres_url, **graph.settings()), roster=True) as app:
        async with running(web_server_from_settings(app)) as server:
            user = WhatsAppUser(graph, server, app)
            await identify(user)
            await user.press("➕ Daftarkan pekerja")
            await user.press("Asisten rumah tangga")
            await user.send(NIK)
            await user.send("Siti Aminah")
            await user.press("✅ Ya, 17 Agustus 1980")
            await user.press("Pedagang kecil")
            await user.send("0857-1111-2222")
            await user.press("Patebon")
            await user.send("Kumpulrejo")
            await user.press("✅ Pekerja setuju")
            await user.press("💾 Simpan")
            shown = await user.press("✅ Saya setuju")
            assert "sudah dikirim" in texts(shown)
        async with app.sessions() as session:
            enrollment = (await session.scalars(select(Enrollment))).one()
            worker = (await session.scalars(select(Worker))).one()
            waiting = await session.scalar(select(func.count()).select_from(InboxUpdate))
        assert enrollment.status == "submitted" and enrollment.channel == "whatsapp"
        assert worker.phone_enc is not None and "85711112222" not in worker.phone_enc
        assert NIK not in worker.nik_enc and waiting == 0
        assert graph.rejected == []
