"""Enrol a worker: who they are to the ASN, their KTP data, where they live, their consent.

The table below is the whole conversation; `docs/flows.md` holds its diagram, generated from
this table and checked by a test. While `editing` is set (the user chose "Ubah" on the
summary), a finished field returns to the summary instead of walking on.

The nine steps a user counts ("langkah N dari 9") are the nine questions of DESIGN §5.2;
the address's states are one step, and so are the birth date and its check against the NIK.
The check asks once when the two disagree and never refuses either (DESIGN §3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from flows.answers import choice_of, printable, text_of
from flows.button_words import words_of
from flows.conversation import (
    CancelRequested,
    Context,
    Conversation,
    Flow,
    Goto,
    Invalid,
    Step,
    move,
)
from flows.dates import InvalidDate, age_on, parse_date
from flows.enrollment_status import COVERED_STATUSES
from flows.events import Button, Kind, Reply
from flows.kecamatan import kecamatan_words, match_kecamatan
from flows.masking import mask_nik, mask_phone
from flows.nik import InvalidNik, parse_nik
from flows.phone import InvalidPhone, to_e164
from flows.states import Deduction, Enrollment, prefix
from storage.interfaces import (
    ConsentGiven,
    EnrollmentNotFound,
    KecamatanView,
    NikAlreadyHeld,
    WorkerDraft,
)

# v2: the wording no longer reads its version aloud and names the phone only when one is
# given; the version is recorded beside the words.
CONSENT_VERSION = "persetujuan-data-v2"


def _field(source: str, dest: str) -> list[dict[str, Any]]:
    """A field step: back to the summary while editing, else on to the next field."""
    return _unless_editing("next", source, dest)


def _back(source: str, dest: str) -> list[dict[str, Any]]:
    """/kembali from a field: to the summary while editing, else to the field before."""
    return _unless_editing("back", source, dest)


def _unless_editing(trigger: str, source: str, dest: str) -> list[dict[str, Any]]:
    return [move(trigger, source, Enrollment.summary, when="editing"),
            move(trigger, source, dest)]


# The step each state belongs to, as the user counts them.
STEPS = 9
STEP_OF = {
    Enrollment.relationship: 1, Enrollment.nik: 2, Enrollment.name: 3,
    Enrollment.birth_date: 4, Enrollment.birth_date_check: 4,
    Enrollment.occupation: 5, Enrollment.phone: 6,
    Enrollment.kecamatan: 7, Enrollment.kecamatan_confirm: 7, Enrollment.kecamatan_other: 7,
    Enrollment.desa: 7, Enrollment.consent: 8, Enrollment.summary: 9, Enrollment.edit: 9,
}
# One key per answered question (the phone's is there, None, when it was skipped; the
# address counts once, from its kecamatan).
ANSWER_KEYS = ("relationship", "nik", "name", "birth_date", "occupation", "phone", "kecamatan",
               "consent_version")


def answers_in(data: dict[str, Any]) -> int:
    """How many of the nine questions the form holds an answer to."""
    return sum(key in data for key in ANSWER_KEYS)


TRANSITIONS: list[dict[str, Any]] = [
    *_field(Enrollment.relationship, Enrollment.nik),
    *_field(Enrollment.nik, Enrollment.name),
    *_field(Enrollment.name, Enrollment.birth_date),
    move("check", [Enrollment.nik, Enrollment.birth_date], Enrollment.birth_date_check),
    *_field(Enrollment.birth_date, Enrollment.occupation),
    *_field(Enrollment.birth_date_check, Enrollment.occupation),
    *_field(Enrollment.occupation, Enrollment.phone),
    # A phone added from the summary after a consent read without one: read it again.
    move("next", Enrollment.phone, Enrollment.consent, when="phone_needs_consent"),
    *_field(Enrollment.phone, Enrollment.kecamatan),
    move("next", Enrollment.kecamatan, Enrollment.desa),
    move("outside", Enrollment.kecamatan, Enrollment.kecamatan_other),
    move("suggest", Enrollment.kecamatan, Enrollment.kecamatan_confirm),
    move("next", Enrollment.kecamatan_confirm, Enrollment.desa),
    move("outside", Enrollment.kecamatan_confirm, Enrollment.kecamatan_other),
    move("suggest", Enrollment.kecamatan_confirm, Enrollment.kecamatan_confirm),
    move("back", Enrollment.kecamatan_confirm, Enrollment.kecamatan),
    move("next", Enrollment.kecamatan_other, Enrollment.desa),
    *_field(Enrollment.desa, Enrollment.consent),
    move("next", Enrollment.consent, Enrollment.summary),
    move("edit", Enrollment.summary, Enrollment.edit),
    move("back", Enrollment.edit, Enrollment.summary),
    move("edit_relationship", Enrollment.edit, Enrollment.relationship),
    move("edit_nik", Enrollment.edit, Enrollment.nik),
    move("edit_name", Enrollment.edit, Enrollment.name),
    move("edit_birth_date", Enrollment.edit, Enrollment.birth_date),
    move("edit_occupation", Enrollment.edit, Enrollment.occupation),
    move("edit_phone", Enrollment.edit, Enrollment.phone),
    move("edit_address", Enrollment.edit, Enrollment.kecamatan),
    *_back(Enrollment.nik, Enrollment.relationship),
    *_back(Enrollment.name, Enrollment.nik),
    *_back(Enrollment.birth_date, Enrollment.name),
    move("back", Enrollment.birth_date_check, Enrollment.birth_date),
    *_back(Enrollment.occupation, Enrollment.birth_date),
    *_back(Enrollment.phone, Enrollment.occupation),
    *_back(Enrollment.kecamatan, Enrollment.phone),
    *_back(Enrollment.kecamatan_other, Enrollment.kecamatan),
    *_back(Enrollment.desa, Enrollment.kecamatan),
    move("back", Enrollment.consent, Enrollment.desa),
    move("back", Enrollment.summary, Enrollment.consent),
]

RELATIONSHIPS = ("keluarga", "art", "tetangga", "lainnya")
OCCUPATIONS = (
    "petani", "nelayan", "pedagang", "art", "ojek", "buruh", "peternak", "pengrajin", "lainnya",
)
# Typed at the kecamatan list for "Di luar ..."; at "Maksud Anda ...?" for yes and no.
MAX_PLACE = 100
OUTSIDE_WORDS = frozenset({"lainnya", "luar", "di luar"})
YES = frozenset({"ya", "iya", "y", "benar", "betul"})
NOT_IT = frozenset({"bukan", "tidak", "tdk", "salah"})
EDITABLE = ("relationship", "nik", "name", "birth_date", "occupation", "phone", "address")
_NAME = re.compile(r"^[^\W\d_]+(?:[ .,'\-]+[^\W\d_]+)*\.?$")
_PLACE = re.compile(r"^[\w][\w .,'/()\-]*$")


def _typed(choices: tuple[str, ...], *aliases: tuple[str, str]) -> dict[str, str]:
    """Numbers 1..n and the choice names themselves, plus aliases, as typed answers."""
    typed = {str(index): choice for index, choice in enumerate(choices, start=1)}
    typed.update({choice: choice for choice in choices})
    typed.update(dict(aliases))
    return typed


def _buttons(prefix: str, label_prefix: str, choices: tuple[str, ...], per_row: int
             ) -> tuple[tuple[Button, ...], ...]:
    buttons = [Button(f"{label_prefix}_{choice}", f"{prefix}:{choice}") for choice in choices]
    return tuple(tuple(buttons[i:i + per_row]) for i in range(0, len(buttons), per_row))


def editing(event: Any) -> bool:
    """Condition: the field was opened from the summary's "Ubah"."""
    return bool(event.model.data.get("editing"))


def phone_needs_consent(event: Any) -> bool:
    """Condition: a phone was added from the summary, and the consent the worker heard did
    not name one."""
    data = event.model.data
    return editing(event) and bool(data.get("phone")) and not data.get("consent_phone")


def _step(conversation: Conversation, state: str, **context: Any) -> dict[str, Any]:
    """A question's context with its place in the form: "langkah N dari 9", or "Ubah data
    pekerja" while a field is opened from the summary."""
    return {"step": STEP_OF[state], "steps": STEPS,
            "editing": bool(conversation.data.get("editing")), **context}


# --- relationship and occupation: one of a short list -----------------------------------

@dataclass(frozen=True, slots=True)
class _Listed:
    """A field answered from a short list, two buttons a row ("<prefix>:<choice>"), or by
    typing a choice's number, its name or an alias; the question is enrollment/ask_<key>."""

    key: str
    state: str
    prefix: str
    choices: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...]

    async def ask(self, conversation: Conversation, context: Context) -> Reply:
        return Reply(f"enrollment/ask_{self.key}", _step(conversation, self.state),
                     buttons=_buttons(self.prefix, self.key, self.choices, 2))

    async def take(self, conversation: Conversation, context: Context) -> str:
        conversation.data[self.key] = choice_of(context, self.prefix, self.choices,
                                                _typed(self.choices, *self.aliases))
        return "next"


# Who is the worker to you?
RELATIONSHIP = _Listed("relationship", Enrollment.relationship, "rel", RELATIONSHIPS,
                       (("keluarga/saudara", "keluarga"), ("saudara", "keluarga"),
                        ("asisten rumah tangga", "art")))
# What work does the worker do?
OCCUPATION = _Listed("occupation", Enrollment.occupation, "job", OCCUPATIONS,
                     (("asisten rumah tangga", "art"), ("pengemudi", "ojek"),
                      ("buruh harian lepas", "buruh")))


# --- NIK ------------------------------------------------------------------------------------

async def ask_nik(conversation: Conversation, context: Context) -> Reply:
    """Ask for the 16-digit NIK from the worker's KTP or KK."""
    return Reply("enrollment/ask_nik", _step(conversation, Enrollment.nik))


async def take_nik(conversation: Conversation, context: Context) -> str:
    """Structure only; a NIK another enrolment holds is refused without naming its ASN, saying
    whether the worker is being registered or already protected. A NIK whose date is past
    the age limits is taken with a warning (the KTP's date may differ); a NIK changed from
    the summary whose date differs from the birth date given asks about the date once."""
    try:
        nik = parse_nik(text_of(context, max_length=64))
    except InvalidNik as error:
        raise Invalid("enrollment/bad_nik", nik_problem=error.problem.value,
                      nik_length=error.length) from None
    status = await context.enrollments.holding_status(nik.value)
    if status is not None:
        raise Invalid("enrollment/nik_held", nik=nik.masked,
                      protected=status in COVERED_STATUSES)
    data = conversation.data
    data["nik"] = nik.value
    suggested = nik.birth_date(context.today)
    data["nik_birth_date"] = suggested.isoformat() if suggested else None
    if suggested is not None and _age_refusal(suggested, context) is not None:
        conversation.replies.append(Reply("enrollment/nik_age_warning", {
            "born": suggested, "age": age_on(suggested, context.today),
            "min_age": context.config.min_age, "max_age": context.config.max_age}))
    given = data.get("birth_date")
    if data.get("editing") and given and _differs_from_nik(date.fromisoformat(given), data):
        data["birth_date_doubt"] = given
        return "check"
    return "next"


# --- name -----------------------------------------------------------------------------------

async def ask_name(conversation: Conversation, context: Context) -> Reply:
    """Ask for the full name exactly as on the KTP."""
    return Reply("enrollment/ask_name", _step(conversation, Enrollment.name))


async def take_name(conversation: Conversation, context: Context) -> str:
    name = text_of(context, max_length=100)
    if not _NAME.match(name) or sum(ch.isalpha() for ch in name) < 2:
        raise Invalid("enrollment/bad_name")
    conversation.data["name"] = name.upper()
    return "next"


# --- birth date -----------------------------------------------------------------------------

# Typed at "Sudah benar?" for the date given.
DATE_IS_RIGHT = frozenset({"ya", "iya", "benar", "betul", "sudah benar", "ya benar"})


def _nik_date(data: dict[str, Any]) -> date | None:
    suggested = data.get("nik_birth_date")
    return date.fromisoformat(suggested) if suggested else None


def _differs_from_nik(born: date, data: dict[str, Any]) -> bool:
    """Whether a birth date disagrees with the NIK's DDMMYY (day + 40 for women, already
    read). The NIK names no century, so 1924 and 2024 agree; a NIK whose digits name no
    real date has nothing to disagree with."""
    if _nik_date(data) is None:
        return False
    nik = parse_nik(data["nik"])
    return (born.day, born.month, born.year % 100) != (nik.day, nik.month, nik.year2)


def _age_refusal(born: date, context: Context) -> Invalid | None:
    """Why a worker born then cannot be registered today (too old, too young), or None."""
    age = age_on(born, context.today)
    if age > context.config.max_age:
        return Invalid("enrollment/too_old", max_age=context.config.max_age, age=age)
    if age < context.config.min_age:
        return Invalid("enrollment/too_young", min_age=context.config.min_age, age=age)
    return None


def _typed_birth_date(context: Context) -> date:
    """A typed birth date that can be registered: read, not after today, within the ages."""
    try:
        born = parse_date(text_of(context, max_length=40), context.today)
    except InvalidDate:
        raise Invalid("enrollment/bad_birth_date") from None
    return _registrable(born, context)


def _registrable(born: date, context: Context) -> date:
    if born > context.today:
        raise Invalid("enrollment/birth_date_future")
    refusal = _age_refusal(born, context)
    if refusal is not None:
        raise refusal
    return born


async def ask_birth_date(conversation: Conversation, context: Context) -> Reply:
    """Offer the date the NIK suggests when it can be registered; the user may type
    another. A NIK date past the age limits is named, not offered."""
    suggested = _nik_date(conversation.data)
    offered = suggested is not None and _age_refusal(suggested, context) is None
    reply = Reply("enrollment/ask_birth_date",
                  _step(conversation, Enrollment.birth_date, suggested=suggested, offered=offered))
    if suggested is None or not offered:
        return reply
    return replace(
        reply, buttons=((Button("birth_date_from_nik", "dob:nik", {"date": suggested}),),))


async def take_birth_date(conversation: Conversation, context: Context) -> str:
    """The NIK's date pressed, or a typed one; a typed date that disagrees with the NIK is
    asked about once (Enrollment:birth_date_check)."""
    incoming = context.incoming
    data = conversation.data
    suggested = _nik_date(data)
    if incoming.kind is Kind.BUTTON and incoming.payload == "dob:nik" and suggested:
        data["birth_date"] = _registrable(suggested, context).isoformat()
        return "next"
    born = _typed_birth_date(context)
    if _differs_from_nik(born, data):
        data["birth_date_doubt"] = born.isoformat()
        return "check"
    data.pop("birth_date_doubt", None)
    data["birth_date"] = born.isoformat()
    return "next"


async def ask_birth_date_check(conversation: Conversation, context: Context) -> Reply:
    """ "Tanggal lahir 5 Agustus 1980 berbeda dari NIK (17 Agustus 1980). Sudah benar?" """
    data = conversation.data
    given = date.fromisoformat(data["birth_date_doubt"])
    suggested = _nik_date(data)
    offered = suggested is not None and _age_refusal(suggested, context) is None
    rows: list[tuple[Button, ...]] = [(Button("birth_date_keep", "dob:keep"),)]
    if offered:
        rows.append((Button("birth_date_use_nik", "dob:nik"),))
    return Reply("enrollment/birth_date_check",
                 _step(conversation, Enrollment.birth_date_check, given=given, suggested=suggested,
                       offered=offered),
                 buttons=tuple(rows))


async def take_birth_date_check(conversation: Conversation, context: Context) -> str:
    """Keep the date given, take the NIK's, or type the right one (taken without asking
    again: the NIK's date has just been shown)."""
    data = conversation.data
    incoming = context.incoming
    suggested = _nik_date(data)
    if incoming.kind is Kind.BUTTON and incoming.payload == "dob:keep":
        born = date.fromisoformat(data["birth_date_doubt"])
    elif incoming.kind is Kind.BUTTON and incoming.payload == "dob:nik" and suggested:
        born = _registrable(suggested, context)
    elif incoming.kind is Kind.TEXT and " ".join(incoming.text.split()).lower() in DATE_IS_RIGHT:
        born = date.fromisoformat(data["birth_date_doubt"])
    else:
        born = _typed_birth_date(context)
    data.pop("birth_date_doubt", None)
    data["birth_date"] = born.isoformat()
    return "next"


# --- worker's phone -------------------------------------------------------------------------

async def ask_phone(conversation: Conversation, context: Context) -> Reply:
    """The worker's phone number is optional: many have none."""
    return Reply("enrollment/ask_phone", _step(conversation, Enrollment.phone),
                 buttons=((Button("skip", "phone:skip"),),))


async def take_phone(conversation: Conversation, context: Context) -> str:
    """The worker's own number, or none; the ASN's own number is not the worker's (BPJS and
    the worker's consent would reach the ASN instead)."""
    incoming = context.incoming
    if incoming.kind is Kind.BUTTON and incoming.payload == "phone:skip":
        conversation.data["phone"] = None
        return "next"
    text = text_of(context, max_length=40)
    if text.lower() in {"lewati", "tidak ada", "tidak punya", "-"}:
        conversation.data["phone"] = None
        return "next"
    try:
        phone = to_e164(text)
    except InvalidPhone:
        raise Invalid("enrollment/bad_phone") from None
    asn = context.asn
    if asn is not None and phone == await context.roster.phone_of(asn.id):
        raise Invalid("enrollment/own_phone")
    conversation.data["phone"] = phone
    return "next"


# --- address --------------------------------------------------------------------------------

async def ask_kecamatan(conversation: Conversation, context: Context) -> Reply:
    """A list of the region's kecamatan where one is configured; free text elsewhere."""
    kecamatan = await context.roster.kecamatan()
    if not kecamatan:
        return Reply("enrollment/ask_kecamatan_text", _step(conversation, Enrollment.kecamatan))
    region = {"region": context.config.region_name}
    buttons = [Button("kecamatan", f"kec:{item.id}", {"name": item.name}) for item in kecamatan]
    rows = [tuple(buttons[i:i + 3]) for i in range(0, len(buttons), 3)]
    rows.append((Button("kecamatan_outside", "kec:other", region),))
    return Reply("enrollment/ask_kecamatan", _step(conversation, Enrollment.kecamatan, **region),
                 buttons=tuple(rows))


async def take_kecamatan(conversation: Conversation, context: Context) -> str:
    """A listed kecamatan pressed or named; a near miss is offered, never taken."""
    kecamatan = await context.roster.kecamatan()
    if not kecamatan:
        return _take_place(conversation, context, kecamatan_id=None)
    if context.incoming.kind is Kind.TEXT:
        return _typed_kecamatan(conversation, context, kecamatan)
    by_id = {str(item.id): item for item in kecamatan}
    choice = choice_of(context, "kec", (*by_id, "other"), {})
    if choice == "other":
        return "outside"
    return _take_listed(conversation, by_id[choice])


def _typed_kecamatan(conversation: Conversation, context: Context,
                     kecamatan: list[KecamatanView]) -> str:
    """ "Kec. Patebon" is Patebon; "Ptebon" asks "Maksud Anda Patebon?"; a name far from
    every listed one is explained, with the way to a place outside the region."""
    typed = printable(context.incoming.text)
    if len(typed) > MAX_PLACE:
        raise Invalid("enrollment/unknown_kecamatan", region=context.config.region_name)
    if kecamatan_words(typed) in OUTSIDE_WORDS:
        return "outside"
    found = match_kecamatan(typed, kecamatan)
    if found.named is not None:
        return _take_listed(conversation, found.named)
    if found.close:
        conversation.data["kecamatan_offered"] = [item.id for item in found.close]
        return "suggest"
    raise Invalid("enrollment/unknown_kecamatan", region=context.config.region_name)


def _take_listed(conversation: Conversation, item: KecamatanView) -> str:
    """Take a kecamatan of the region's list; the near misses offered are done with."""
    conversation.data.pop("kecamatan_offered", None)
    conversation.data["kecamatan_id"] = item.id
    conversation.data["kecamatan"] = item.name
    return "next"


async def _offered(conversation: Conversation, context: Context) -> list[KecamatanView]:
    """The kecamatan offered for a near miss, as the region's list holds them now."""
    wanted = conversation.data.get("kecamatan_offered") or []
    listed = {item.id: item for item in await context.roster.kecamatan()}
    return [listed[number] for number in wanted if number in listed]


async def ask_kecamatan_confirm(conversation: Conversation, context: Context) -> Reply:
    """ "Maksud Anda Patebon?" with a yes, or a choice among the few close names."""
    offered = await _offered(conversation, context)
    if len(offered) == 1:
        rows = [(Button("kecamatan_yes", f"kec:{offered[0].id}", {"name": offered[0].name}),)]
    else:
        rows = [(Button("kecamatan", f"kec:{item.id}", {"name": item.name}),)
                for item in offered]
    rows.append((Button("kecamatan_none", "kec:list"),))
    return Reply("enrollment/kecamatan_suggest",
                 _step(conversation, Enrollment.kecamatan_confirm,
                       near_kecamatan=[item.name for item in offered]), buttons=tuple(rows))


async def take_kecamatan_confirm(conversation: Conversation, context: Context) -> str:
    """Yes takes the one offered; "Bukan" goes back to the list; another typed name or a
    button of the list is read as at the list itself."""
    incoming = context.incoming
    offered = await _offered(conversation, context)
    answer = words_of(incoming.text) if incoming.kind is Kind.TEXT else ""
    if answer in NOT_IT or (incoming.kind is Kind.BUTTON and incoming.payload == "kec:list"):
        conversation.data.pop("kecamatan_offered", None)
        return "back"
    if answer in YES:
        if len(offered) != 1:  # several offered: which one?
            raise Invalid("errors/choose_button")
        return _take_listed(conversation, offered[0])
    return await take_kecamatan(conversation, context)


async def ask_kecamatan_other(conversation: Conversation, context: Context) -> Reply:
    """Outside the region: type the kecamatan and the regency or city."""
    return Reply("enrollment/ask_kecamatan_other",
                 _step(conversation, Enrollment.kecamatan_other,
                       region=context.config.region_name))


async def take_kecamatan_other(conversation: Conversation, context: Context) -> str:
    return _take_place(conversation, context, kecamatan_id=None)


def _listed(data: dict[str, Any]) -> bool:
    """The kecamatan came from the region's list (a name), not typed (a place as written)."""
    return data.get("kecamatan_id") is not None


def _take_place(conversation: Conversation, context: Context, kecamatan_id: int | None) -> str:
    place = text_of(context, max_length=100)
    if not _PLACE.match(place) or not any(ch.isalpha() for ch in place):
        raise Invalid("enrollment/bad_place")
    conversation.data["kecamatan_id"] = kecamatan_id
    conversation.data["kecamatan"] = place
    return "next"


async def ask_desa(conversation: Conversation, context: Context) -> Reply:
    """The desa or kelurahan where the worker lives."""
    data = conversation.data
    return Reply("enrollment/ask_desa", _step(conversation, Enrollment.desa,
                                              kecamatan=data.get("kecamatan", ""),
                                              kecamatan_listed=_listed(data)))


async def take_desa(conversation: Conversation, context: Context) -> str:
    desa = text_of(context, max_length=100)
    if not _PLACE.match(desa) or not any(ch.isalpha() for ch in desa):
        raise Invalid("enrollment/bad_place")
    conversation.data["desa"] = desa
    return "next"


# --- consent --------------------------------------------------------------------------------

def consent_context(worker: str, phone: bool) -> dict[str, Any]:
    """What the consent's words name: the worker, and the phone only when one is shared."""
    return {"worker": worker, "phone": phone}


async def ask_consent(conversation: Conversation, context: Context) -> Reply:
    """Read the consent wording to the worker; the ASN records their answer. Asked again
    when a phone was added after a consent that named none."""
    data = conversation.data
    phone = bool(data.get("phone"))
    again = phone and "consent_version" in data and not data.get("consent_phone")
    return Reply(
        "enrollment/ask_consent",
        _step(conversation, Enrollment.consent, again=again,
              **consent_context(data.get("name", ""), phone)),
        buttons=((Button("consent_yes", "consent:yes"),), (Button("consent_no", "consent:no"),)),
    )


async def take_consent(conversation: Conversation, context: Context) -> str | Goto:
    """A refusal saves nothing, and ends a saved draft the worker no longer agrees to."""
    answer = choice_of(context, "consent", ("yes", "no"),
                       {"ya": "yes", "setuju": "yes", "tidak": "no", "tidak setuju": "no"})
    data = conversation.data
    if answer == "no":
        if "draft_id" in data:
            await _end_refused_draft(conversation, context)
        conversation.replies.append(Reply("enrollment/consent_refused"))
        return Goto(None)
    data["consent_version"] = CONSENT_VERSION
    data["consent_at"] = context.now.isoformat()
    data["consent_phone"] = bool(data.get("phone"))
    return "next"


async def _end_refused_draft(conversation: Conversation, context: Context) -> None:
    """The worker refused when asked again (a phone added): the saved draft ends, since its
    consent no longer holds; nothing of it is sent anywhere."""
    asn = context.asn
    assert asn is not None
    draft_id = int(conversation.data["draft_id"])
    reason = context.wording("enrollment/consent_withdrawn_reason", {})
    try:
        await context.enrollments.stop(asn.id, draft_id, reason, context.today, context.now)
    except EnrollmentNotFound:  # ended elsewhere meanwhile: nothing left to end
        return
    await context.audit.record(
        "enrollment.stopped", actor_asn_id=asn.id, channel=context.incoming.channel.value,
        now=context.now, subject=f"enrollment:{draft_id}", details={"reason": reason})


# --- summary and edits ----------------------------------------------------------------------

async def show_summary(conversation: Conversation, context: Context) -> Reply:
    """Everything typed, personal data masked, with save, change and cancel."""
    data = conversation.data
    data.pop("editing", None)
    return Reply(
        "enrollment/summary",
        {
            **_step(conversation, Enrollment.summary),
            "relationship": data["relationship"],
            "nik": mask_nik(data["nik"]),
            "name": data["name"],
            "birth_date": date.fromisoformat(data["birth_date"]),
            "occupation": data["occupation"],
            "phone": mask_phone(data["phone"]) if data.get("phone") else None,
            "desa": data["desa"],
            "kecamatan": data["kecamatan"],
            "kecamatan_listed": _listed(data),
        },
        buttons=(
            (Button("save", "sum:save"),),
            (Button("change", "sum:edit"), Button("cancel", "sum:cancel")),
        ),
    )


async def take_summary(conversation: Conversation, context: Context) -> str | Goto:
    choice = choice_of(context, "sum", ("save", "edit", "cancel"),
                       {"simpan": "save", "ubah": "edit", "batal": "cancel"})
    if choice == "edit":
        return "edit"
    if choice == "cancel":
        raise CancelRequested  # as /batal: asked first, since eight answers would go
    return await _save(conversation, context)


# Kept out of the form set aside for going back from the agreement.
_NOT_FORM = ("editing", "draft_id", "birth_date_doubt")


async def _save(conversation: Conversation, context: Context) -> Goto:
    """Save the draft (or, back from the agreement, the draft saved before) and open the
    agreement; the form's answers stay beside it for /kembali to the summary."""
    data = conversation.data
    asn = context.asn
    assert asn is not None
    draft = WorkerDraft(
        nik=data["nik"],
        name=data["name"],
        birth_date=date.fromisoformat(data["birth_date"]),
        occupation=data["occupation"],
        phone=data.get("phone"),
        desa=data["desa"],
        kecamatan_name=data["kecamatan"],
        kecamatan_id=data.get("kecamatan_id"),
        relationship=data["relationship"],
    )
    # The words the worker heard: with the phone only if the consent named one.
    wording = context.wording("enrollment/consent_wording", consent_context(
        data["name"], bool(data.get("consent_phone"))))
    channel = context.incoming.channel.value
    consent = ConsentGiven(CONSENT_VERSION, wording, channel)
    draft_id = data.get("draft_id")
    enrollments = context.enrollments
    try:
        if draft_id is None:
            saved = await enrollments.save_draft(asn.id, draft, consent, context.now)
        else:
            saved = await enrollments.update_draft(
                asn.id, int(draft_id), draft, consent, context.now)
    except NikAlreadyHeld:  # taken by someone else since the NIK step: change it or cancel
        status = await enrollments.holding_status(draft.nik)
        raise Invalid("enrollment/nik_held_at_save", nik=mask_nik(draft.nik),
                      protected=status in COVERED_STATUSES) from None
    except EnrollmentNotFound:  # the draft was ended elsewhere meanwhile
        conversation.replies.append(Reply("deduction/not_available"))
        return Goto(None)
    await context.audit.record(
        "enrollment.saved" if draft_id is None else "enrollment.changed",
        actor_asn_id=asn.id, channel=channel, now=context.now,
        subject=f"enrollment:{saved.id}", details={"nik": saved.nik_masked},
    )
    form = {key: value for key, value in data.items() if key not in _NOT_FORM}
    data.clear()
    data.update({"enrollment_id": saved.id, "form": form})
    return Goto(Deduction.confirm)


async def ask_edit(conversation: Conversation, context: Context) -> Reply:
    """Which part should change?"""
    buttons = _buttons("edit", "edit", EDITABLE, 2)
    return Reply("enrollment/ask_edit", _step(conversation, Enrollment.edit),
                 buttons=(*buttons, (Button("back", "edit:back"),)))


async def take_edit(conversation: Conversation, context: Context) -> str:
    choice = choice_of(context, "edit", (*EDITABLE, "back"),
                       {**_typed(EDITABLE), "kembali": "back", "alamat": "address"})
    if choice == "back":
        return "back"
    conversation.data["editing"] = True
    return f"edit_{choice}"


CONDITIONS = {"editing": editing, "phone_needs_consent": phone_needs_consent}


class EnrollmentFlow(Flow):
    name = prefix(Enrollment)
    initial = Enrollment.relationship
    pausable = True

    def __init__(self) -> None:
        steps = {
            Enrollment.relationship: Step(RELATIONSHIP.ask, RELATIONSHIP.take,
                                          "help/relationship"),
            Enrollment.nik: Step(ask_nik, take_nik, "help/nik"),
            Enrollment.name: Step(ask_name, take_name, "help/name"),
            Enrollment.birth_date: Step(ask_birth_date, take_birth_date, "help/birth_date"),
            Enrollment.birth_date_check: Step(ask_birth_date_check, take_birth_date_check,
                                              "help/birth_date"),
            Enrollment.occupation: Step(OCCUPATION.ask, OCCUPATION.take, "help/occupation"),
            Enrollment.phone: Step(ask_phone, take_phone, "help/worker_phone"),
            Enrollment.kecamatan: Step(ask_kecamatan, take_kecamatan, "help/address"),
            Enrollment.kecamatan_confirm: Step(ask_kecamatan_confirm, take_kecamatan_confirm,
                                               "help/address"),
            Enrollment.kecamatan_other: Step(ask_kecamatan_other, take_kecamatan_other,
                                             "help/address"),
            Enrollment.desa: Step(ask_desa, take_desa, "help/address"),
            Enrollment.consent: Step(ask_consent, take_consent, "help/consent"),
            Enrollment.summary: Step(show_summary, take_summary, "help/summary"),
            Enrollment.edit: Step(ask_edit, take_edit, "help/summary"),
        }
        transitions = [
            {**row, "conditions": CONDITIONS[row["conditions"]]} if "conditions" in row else row
            for row in TRANSITIONS
        ]
        super().__init__(steps, transitions)

    def unsaved_answers(self, conversation: Conversation) -> int:
        """The answers typed so far; none when the form is a saved draft opened again (going
        back from the agreement), which stays saved whatever happens here."""
        data = conversation.data
        return 0 if "draft_id" in data else answers_in(data)

    def cancelled(self, conversation: Conversation) -> Reply:
        """Cancelling a saved draft opened again drops the changes only, and says so."""
        if "draft_id" in conversation.data:
            return Reply("enrollment/changes_dropped")
        return super().cancelled(conversation)
