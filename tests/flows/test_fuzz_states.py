"""Every conversation state fuzzed: whatever arrives, the bot answers and the machine holds.

For each state of tests/support/route.py (every state of every flow), hypothesis sends one
generated update through the real dispatcher on SQLite: any text (empty, blank, emoji, RTL,
control characters, 5,000+ characters, markup and Jinja-looking text), any button payload
(the payloads this chat was shown, the same with other ids, other people's ids, garbage,
"page:N" with any N), contacts of the user and of other people, known and unknown commands
with arguments, and unsupported kinds. After each one: no apology (the dispatcher's answer
to an exception), at least one reply, a stored state the router's machines know, and the
answers and enrolments saved before still there. Each example starts again from the
state's snapshot (the database file copied back), so examples do not lean on each other.

`FUZZ_EXAMPLES=500 pytest tests/flows/test_fuzz_states.py` runs more (random) examples;
without it the "ci" profile runs a fixed, derandomized set that fits CI.
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.console import make
from flows.events import Incoming, Kind, SharedContact
from flows.router import BACK, CANCEL, HELP, PAGE_PREFIX, START, build_router
from storage.models import Broadcast, Enrollment, OutboxMessage, Worker
from tests.conftest import BUDI, SRI, make_settings, migrated_app
from tests.support.chat import ChatClient
from tests.support.people import asn_id, nik, submitted
from tests.support.route import NIK_SITI, STATES, reach

_FAST = dict(deadline=None, database=None, print_blob=True,
             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("ci", derandomize=True, max_examples=30, **_FAST)
settings.register_profile("fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES") or 30),
                          **_FAST)
PROFILE = settings.get_profile("fuzz" if os.environ.get("FUZZ_EXAMPLES") else "ci")

USER = "1001"

# Heads of the payloads the flows put on their buttons ("rel:art", "co:ok:12", ...): forged
# payloads are built on them, so a step sees shapes it half knows.
HEADS = ("rel", "job", "kec", "dob", "phone", "consent", "sum", "edit", "ded", "wk", "why",
         "stop", "co", "rj", "bc", "menu", "page", "contact", "cancel")
# Words a step takes as a typed answer somewhere, so fuzzing also walks on.
ANSWERS = ("1", "2", "3", "9", "99", "0", "-1", "ya", "tidak", "setuju", "simpan", "ubah",
           "batal", "kembali", "menu", "lewati", "lainnya", "di luar", "semua", "kirim",
           "perbarui", "verifikasi", "progres", "Patebon", "Kumpulrejo", "Siti Aminah",
           "17-08-1980", "29-02-2023", "01-01-1900", "0857-1111-2222", NIK_SITI, BUDI.nip,
           "Sudah punya BPJS sendiri, terima kasih banyak")
ODD_TEXTS = ("", " ", "\n\t \n", "{{ x }}", "{% raw %}", "{{ nik }}", "<b>tebal</b>", "</i>",
             "*tebal* _miring_ `kode`", "[tautan](http://x)", "&amp; &lt;", "\u202eRTL\u202c",
             "مرحبا بكم", "שלום", "😀🙏👍", "👨‍👩‍👧", "\x00", "\x1b[31m", "\u200b",
             "a\u0301", "²³", "٣٣٢٤٠١٥٧٠٨٨٠٠٠٠١", "３３２４", "08٥٧11112222",
             "١٧-٠٨-١٩٨٠", "０８５７-１１１１-２２２２")


def _commands() -> list[str]:
    """Every command word the router answers, from the code (global and role commands)."""
    words = set(START | HELP | CANCEL | BACK)
    for flow in build_router().flows:
        words |= set(flow.commands) | set(flow.group_commands)
    return sorted(words)


COMMANDS = _commands()

# Digits of other scripts: str.isdigit and \d take them, int() reads them, and a number kept
# with them is no number to BPJS or a payroll office.
DIGITS = ("0123456789", "٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "۰۱۲۳۴۵۶۷۸۹")


def _mixed_digits(text: str, scripts: list[int]) -> str:
    """`text` with its digits written in the scripts given, in turn."""
    return "".join(DIGITS[scripts[place % len(scripts)]][int(ch)] if ch in DIGITS[0] else ch
                   for place, ch in enumerate(text))


texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(ODD_TEXTS + ANSWERS),
    st.builds(_mixed_digits, st.sampled_from(ANSWERS),
              st.lists(st.integers(0, len(DIGITS) - 1), min_size=1, max_size=4)),
    # 5,000+ characters: one short piece of printable characters again and again (printable,
    # so that hypothesis's report of it stays under its 30 kB warning, an error here).
    st.builds(lambda piece, length: (piece * length)[:length],
              st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1,
                      max_size=5),
              st.integers(5000, 6000)),
    st.builds(lambda a, b: a + b, st.sampled_from(ANSWERS), st.text(max_size=10)),
)
# Ids and page numbers: small, negative, past PostgreSQL's INTEGER, digits that are not ASCII
# ("²" passes str.isdigit, not int), and more digits than int() reads.
numbers = st.one_of(
    st.integers(-3, 12), st.integers(-(2**70), 2**70),
    st.sampled_from(["²", "٣", "３", "1²", "2147483648", "9" * 19, "1" * 5000, "1e3", " 1",
                     "1\n", "0x1", "-0", "+1", ""]),
    st.text(alphabet="0123456789²٣３-+ ", min_size=1, max_size=25),
)


@dataclass(repr=False)  # a failure names the state and the update, not the strategies
class Stand:
    """A chat standing at one state, with the snapshot each example starts from again."""

    chat: ChatClient
    snapshot: Path
    live: Path
    state: str
    data: dict[str, Any]
    enrollments: list[tuple[int, int]]  # (enrolment id, worker id), as saved before
    other_ids: list[int]  # enrolments and ASN of other people
    payloads: list[str] = field(default_factory=list)  # every payload this chat was shown
    apology: str = ""
    last_outbox: int = 0  # the newest outbox row at the state: later rows are the answer
    machine_states: frozenset[str] = frozenset()
    # Built once per state: hypothesis validates a strategy on first use, which costs more
    # than running an example.
    events: st.SearchStrategy[Incoming] = field(default_factory=st.nothing)

    def __repr__(self) -> str:
        return f"Stand({self.state!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints a dataclass field by field (the strategies: 30 kB and more,
        which it warns of, and the warning is an error here); the state says enough."""
        printer.text(repr(self))

    async def reset(self) -> None:
        """Put the database back as it was at the state: close every connection, copy."""
        await self.chat.app.engine.dispose()
        _copy(self.snapshot, self.live)


def _copy(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


async def _saved(chat: ChatClient) -> list[tuple[int, int]]:
    async with chat.app.sessions() as session:
        found = await session.execute(select(Enrollment.id, Enrollment.worker_id)
                                      .order_by(Enrollment.id))
        return [(row[0], row[1]) for row in found]


async def _answers(stand: Stand) -> list[str]:
    """The texts queued for the user by the update just handled, as the outbox holds them."""
    app = stand.chat.app
    async with app.sessions() as session:
        found = await session.scalars(
            select(OutboxMessage.body_enc)
            .where(OutboxMessage.id > stand.last_outbox, OutboxMessage.chat_id == USER,
                   OutboxMessage.kind != "broadcast")  # a camat's broadcast is not an answer
            .order_by(OutboxMessage.id))
        return [app.cipher.decrypt_json(body)["text"] for body in found]


async def _workers(chat: ChatClient) -> int:
    async with chat.app.sessions() as session:
        return len((await session.scalars(select(Worker.id))).all())


@pytest.fixture
async def stand(at, state, tmp_path) -> Stand:
    """Budi at `state`, with an enrolment of Sri's (another OPD) in the database, so forged
    buttons can name someone else's enrolment."""
    chat = await at(state)
    sri = await asn_id(chat, SRI.nip)
    other = await submitted(chat, sri, "Rahmat Hidayat", nik(77))
    live = chat.app.settings.sqlite_path()
    assert live is not None
    snapshot = tmp_path / "fuzz_snapshot.db"
    await chat.app.engine.dispose()
    _copy(live, snapshot)
    stored_state, data = await chat.state()
    assert stored_state == state
    payloads = sorted({button.payload for shown in chat.history for row in shown.buttons
                       for button in row})
    async with chat.app.sessions() as session:
        last_outbox = await session.scalar(select(func.max(OutboxMessage.id))) or 0
    found = Stand(chat=chat, snapshot=snapshot, live=live, state=state, data=data,
                  enrollments=await _saved(chat), other_ids=[other, sri], payloads=payloads,
                  apology=chat.app.renderer.text("errors/internal", {}),
                  last_outbox=last_outbox, machine_states=_machine_states(chat))
    found.events = _events(found)
    return found


def _payloads(stand: Stand) -> st.SearchStrategy[str]:
    """Payloads as the flows write them, shown ones, the same with any id, and garbage."""
    shown = st.sampled_from(stand.payloads or ["menu:enrol"])
    ids = st.one_of(numbers.map(str), st.sampled_from([str(i) for i in stand.other_ids]))
    return st.one_of(
        shown,
        st.builds(lambda payload, number: re.sub(r"\d+", number, payload), shown, ids),
        st.builds(lambda head, word: f"{head}:{word}", st.sampled_from(HEADS),
                  st.one_of(st.text(max_size=12), ids)),
        st.builds(lambda head, word, number: f"{head}:{word}:{number}",
                  st.sampled_from(HEADS), st.sampled_from(["ok", "no", "stop", "agree",
                                                           "coord", "camat", "pg", "tpl"]),
                  ids),
        numbers.map(lambda number: f"{PAGE_PREFIX}{number}"),
        st.text(max_size=40),
    )


def _events(stand: Stand) -> st.SearchStrategy[Incoming]:
    typed = texts.map(lambda text: make(USER, Kind.TEXT, text=text))
    commands = st.builds(
        lambda word, suffix, argument: make(USER, Kind.COMMAND, text=f"/{word}{suffix}{argument}"),
        st.one_of(st.sampled_from(COMMANDS), st.text(max_size=12),
                  st.sampled_from(COMMANDS).map(str.upper)),
        st.sampled_from(["", "@AsnPeduliBot", "@"]),
        st.one_of(st.just(""), texts.map(lambda text: " " + text)),
    )
    buttons = st.builds(lambda payload, label: make(USER, Kind.BUTTON, payload=payload,
                                                    text=label),
                        _payloads(stand), st.text(max_size=20))
    phones = st.one_of(st.sampled_from([BUDI.phone_local, BUDI.phone, SRI.phone_local,
                                        SRI.phone, "+12025550123", "", "0"]),
                       st.text(max_size=30), st.text(alphabet="+0123456789 -", max_size=20))
    owners = st.one_of(st.just(USER), st.just("2002"), st.none(), st.text(max_size=12))
    # A card without an account (owner None) is someone not on the platform.
    contacts = st.builds(lambda phone, owner: make(USER, Kind.CONTACT,
                                                   contact=SharedContact(phone, owner)),
                         phones, owners)
    unsupported = st.builds(lambda what: make(USER, Kind.UNSUPPORTED, text=what),
                            st.one_of(st.sampled_from(["sticker", "photo", "voice", "location",
                                                       "document", "video", "poll"]), texts))
    return st.one_of(typed, commands, buttons, contacts, unsupported)


def _machine_states(chat: ChatClient) -> set[str]:
    """Every state of every machine the router holds (not a list written here)."""
    return {name for flow in chat.app.router.flows for name in flow.machine.states}


# What a kept answer looks like, whatever was typed: the forms storage and exports expect.
WELL_FORMED = {
    "nik": re.compile(r"[0-9]{16}"),
    "nip": re.compile(r"[0-9]{18}"),
    "phone": re.compile(r"\+[0-9]{8,15}"),
    "birth_date": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
}
# Flows whose data is the user's answers so far: staying in the flow keeps every one.
ANSWERING = {"Identify", "Enrollment", "Deduction"}
# Not answers: marks that hold for a step or two ("Ubah", a date asked about, /batal asked,
# the kecamatan offered for a near miss).
PASSING = {"editing", "birth_date_doubt", "cancel_asked", "kecamatan_offered"}
ROLE_FLOWS = {"Coordinator", "Broadcast"}


def _flow(state: str | None) -> str:
    return (state or "").partition(":")[0]


@pytest.mark.parametrize("state", STATES)
@settings(PROFILE)
@given(data=st.data())
async def test_any_update_in_any_state_gets_a_reply_and_keeps_the_machine(stand, data):
    await stand.reset()
    chat = stand.chat
    event = data.draw(stand.events, label="update")
    assert await chat.app.dispatcher.handle(event)
    said = await _answers(stand)
    assert stand.apology not in said, "the dispatcher apologised: a step raised"
    assert said, "every update gets an answer"
    state, after = await chat.state()
    assert state in stand.machine_states, state
    if state in {"Menu:main", "Menu:paused"}:
        assert set(after) - PASSING == ({"paused"} if state == "Menu:paused" else set()), (
            "home holds nothing but a form /mulai set aside, and says so in its state")
        if "paused" in after and _flow(stand.state) == "Enrollment":
            before = {k: v for k, v in stand.data.items() if k not in PASSING}
            assert before.items() <= after["paused"]["data"].items(), "a paused answer lost"
    elif state == "Identify:nip":  # a wrong contact forgets the NIP; /kembali keeps it
        assert set(after) <= {"nip"}, after
    elif _flow(state) == _flow(stand.state) and _flow(state) in ANSWERING:
        before = {k: v for k, v in stand.data.items() if k not in PASSING}
        assert before.items() <= after.items(), "an answer given before was lost"
    elif _flow(state) in ROLE_FLOWS:
        assert isinstance(after.get("unit_id"), int) and after.get("unit_name")
    for key, form in WELL_FORMED.items():
        value = after.get(key)
        assert value is None or form.fullmatch(value), (key, value)
    saved = await _saved(chat)
    assert set(stand.enrollments) <= set(saved), "a saved enrolment disappeared"
    assert await _workers(chat) >= len({worker for _, worker in stand.enrollments})


# Words typed by a person and stored as they are: a reason to stop, a reason to reject, a
# broadcast. PostgreSQL refuses a NUL in text and in JSON, so control characters must not
# reach it; what a person meant (the words) must.
TYPED_AND_STORED = {
    "Workers:stop_reason": ("⛔ Ya, hentikan", Enrollment.end_reason),
    "Coordinator:reject_reason": ("❌ Ya, tolak", Enrollment.rejection_reason),
    "Broadcast:content": ("✅ Kirim sekarang", Broadcast.text),
}


@pytest.mark.parametrize("state", list(TYPED_AND_STORED))
async def test_control_characters_in_typed_words_never_reach_the_database(database_url, state):
    async with migrated_app(make_settings(database_url), roster=True) as app:
        chat = ChatClient(app, user_id=USER)
        await reach(chat, state)
        await chat.send("Pekerja\x00 sudah\x07 pindah ke luar kota\x1b dan tidak bekerja lagi")
        confirm, column = TYPED_AND_STORED[state]
        if confirm is not None:
            await chat.press(confirm)
        apology = app.renderer.text("errors/internal", {})
        assert apology not in [shown.text for shown in chat.history]
        async with app.sessions() as session:
            stored = await session.scalar(select(column).where(column.is_not(None)))
        assert stored == "Pekerja sudah pindah ke luar kota dan tidak bekerja lagi"


async def test_a_phone_typed_partly_in_other_digits_is_kept_in_ascii(at):
    """Found by the fuzzing above: "08٥٧…" was kept as "+628٥٧…", a number no export or
    WhatsApp lookup would match."""
    chat = await at("Enrollment:phone")
    await chat.send("08٥٧-1111-2222")
    state, data = await chat.state()
    assert (state, data["phone"]) == ("Enrollment:kecamatan", "+6285711112222")
