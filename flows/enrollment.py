"""Enrol a worker: who they are to the ASN, their KTP data, where they live, their consent.

The table below is the whole conversation; `docs/flows.md` holds its diagram, generated from
this table and checked by a test. While `editing` is set (the user chose "Ubah" on the
summary), a finished field returns to the summary instead of walking on.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flows.button_words import words_of
from flows.conversation import (
    Context,
    Conversation,
    Flow,
    Goto,
    Invalid,
    Step,
    choice_of,
    printable,
    text_of,
)
from flows.dates import InvalidDate, age_on, parse_date
from flows.events import Button, Kind, Reply
from flows.kecamatan import kecamatan_words, match_kecamatan
from flows.nik import InvalidNik, mask_nik, parse_nik
from flows.phone import InvalidPhone, mask_phone, to_e164
from storage.interfaces import KecamatanView, NikAlreadyHeld, WorkerDraft

CONSENT_VERSION = "persetujuan-data-v1"


class S:
    RELATIONSHIP = "Enrollment:relationship"
    NIK = "Enrollment:nik"
    NAME = "Enrollment:name"
    BIRTH_DATE = "Enrollment:birth_date"
    OCCUPATION = "Enrollment:occupation"
    PHONE = "Enrollment:phone"
    KECAMATAN = "Enrollment:kecamatan"
    KECAMATAN_CONFIRM = "Enrollment:kecamatan_confirm"
    KECAMATAN_OTHER = "Enrollment:kecamatan_other"
    DESA = "Enrollment:desa"
    CONSENT = "Enrollment:consent"
    SUMMARY = "Enrollment:summary"
    EDIT = "Enrollment:edit"


def _field(source: str, dest: str) -> list[dict[str, Any]]:
    """A field step: back to the summary while editing, else on to the next field."""
    return [
        {"trigger": "next", "source": source, "dest": S.SUMMARY, "conditions": "editing"},
        {"trigger": "next", "source": source, "dest": dest},
    ]


def _back(source: str, dest: str) -> list[dict[str, Any]]:
    """/kembali from a field: to the summary while editing, else to the field before."""
    return [
        {"trigger": "back", "source": source, "dest": S.SUMMARY, "conditions": "editing"},
        {"trigger": "back", "source": source, "dest": dest},
    ]


TRANSITIONS: list[dict[str, Any]] = [
    *_field(S.RELATIONSHIP, S.NIK),
    *_field(S.NIK, S.NAME),
    *_field(S.NAME, S.BIRTH_DATE),
    *_field(S.BIRTH_DATE, S.OCCUPATION),
    *_field(S.OCCUPATION, S.PHONE),
    *_field(S.PHONE, S.KECAMATAN),
    {"trigger": "next", "source": S.KECAMATAN, "dest": S.DESA},
    {"trigger": "outside", "source": S.KECAMATAN, "dest": S.KECAMATAN_OTHER},
    {"trigger": "suggest", "source": S.KECAMATAN, "dest": S.KECAMATAN_CONFIRM},
    {"trigger": "next", "source": S.KECAMATAN_CONFIRM, "dest": S.DESA},
    {"trigger": "outside", "source": S.KECAMATAN_CONFIRM, "dest": S.KECAMATAN_OTHER},
    {"trigger": "suggest", "source": S.KECAMATAN_CONFIRM, "dest": S.KECAMATAN_CONFIRM},
    {"trigger": "back", "source": S.KECAMATAN_CONFIRM, "dest": S.KECAMATAN},
    {"trigger": "next", "source": S.KECAMATAN_OTHER, "dest": S.DESA},
    *_field(S.DESA, S.CONSENT),
    {"trigger": "next", "source": S.CONSENT, "dest": S.SUMMARY},
    {"trigger": "edit", "source": S.SUMMARY, "dest": S.EDIT},
    {"trigger": "back", "source": S.EDIT, "dest": S.SUMMARY},
    {"trigger": "edit_relationship", "source": S.EDIT, "dest": S.RELATIONSHIP},
    {"trigger": "edit_nik", "source": S.EDIT, "dest": S.NIK},
    {"trigger": "edit_name", "source": S.EDIT, "dest": S.NAME},
    {"trigger": "edit_birth_date", "source": S.EDIT, "dest": S.BIRTH_DATE},
    {"trigger": "edit_occupation", "source": S.EDIT, "dest": S.OCCUPATION},
    {"trigger": "edit_phone", "source": S.EDIT, "dest": S.PHONE},
    {"trigger": "edit_address", "source": S.EDIT, "dest": S.KECAMATAN},
    *_back(S.NIK, S.RELATIONSHIP),
    *_back(S.NAME, S.NIK),
    *_back(S.BIRTH_DATE, S.NAME),
    *_back(S.OCCUPATION, S.BIRTH_DATE),
    *_back(S.PHONE, S.OCCUPATION),
    *_back(S.KECAMATAN, S.PHONE),
    *_back(S.KECAMATAN_OTHER, S.KECAMATAN),
    *_back(S.DESA, S.KECAMATAN),
    {"trigger": "back", "source": S.CONSENT, "dest": S.DESA},
    {"trigger": "back", "source": S.SUMMARY, "dest": S.CONSENT},
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


# --- relationship -------------------------------------------------------------------------

async def ask_relationship(conversation: Conversation, context: Context) -> Reply:
    """Who is the worker to you?"""
    return Reply("enrollment/ask_relationship",
                 buttons=_buttons("rel", "relationship", RELATIONSHIPS, 2))


async def take_relationship(conversation: Conversation, context: Context) -> str:
    conversation.data["relationship"] = choice_of(
        context, "rel", RELATIONSHIPS,
        _typed(RELATIONSHIPS, ("keluarga/saudara", "keluarga"), ("saudara", "keluarga"),
               ("asisten rumah tangga", "art")),
    )
    return "next"


# --- NIK ------------------------------------------------------------------------------------

async def ask_nik(conversation: Conversation, context: Context) -> Reply:
    """Ask for the 16-digit NIK from the worker's KTP or KK."""
    return Reply("enrollment/ask_nik")


async def take_nik(conversation: Conversation, context: Context) -> str:
    """Structure only; a NIK already protected by anyone is refused without naming them."""
    try:
        nik = parse_nik(text_of(context, max_length=64))
    except InvalidNik as error:
        raise Invalid("enrollment/bad_nik", nik_problem=error.problem.value,
                      nik_length=error.length) from None
    if await context.enrollments.nik_is_held(nik.value):
        raise Invalid("enrollment/nik_held", nik=nik.masked)
    conversation.data["nik"] = nik.value
    suggested = nik.birth_date(context.today)
    conversation.data["nik_birth_date"] = suggested.isoformat() if suggested else None
    return "next"


# --- name -----------------------------------------------------------------------------------

async def ask_name(conversation: Conversation, context: Context) -> Reply:
    """Ask for the full name exactly as on the KTP."""
    return Reply("enrollment/ask_name")


async def take_name(conversation: Conversation, context: Context) -> str:
    name = text_of(context, max_length=100)
    if not _NAME.match(name) or sum(ch.isalpha() for ch in name) < 2:
        raise Invalid("enrollment/bad_name")
    conversation.data["name"] = name.upper()
    return "next"


# --- birth date -----------------------------------------------------------------------------

async def ask_birth_date(conversation: Conversation, context: Context) -> Reply:
    """Offer the date the NIK suggests; the user may type another."""
    suggested = conversation.data.get("nik_birth_date")
    if suggested is None:
        return Reply("enrollment/ask_birth_date", {"suggested": None})
    day = date.fromisoformat(suggested)
    return Reply(
        "enrollment/ask_birth_date",
        {"suggested": day},
        buttons=((Button("birth_date_from_nik", "dob:nik", {"date": day}),),),
    )


async def take_birth_date(conversation: Conversation, context: Context) -> str:
    incoming = context.incoming
    suggested = conversation.data.get("nik_birth_date")
    if incoming.kind is Kind.BUTTON and incoming.payload == "dob:nik" and suggested:
        born = date.fromisoformat(suggested)
    else:
        try:
            born = parse_date(text_of(context, max_length=40), context.today)
        except InvalidDate:
            raise Invalid("enrollment/bad_birth_date") from None
    if born > context.today:
        raise Invalid("enrollment/birth_date_future")
    age = age_on(born, context.today)
    if age > context.config.max_age:
        raise Invalid("enrollment/too_old", max_age=context.config.max_age, age=age)
    if age < context.config.min_age:
        raise Invalid("enrollment/too_young", min_age=context.config.min_age, age=age)
    conversation.data["birth_date"] = born.isoformat()
    return "next"


# --- occupation -----------------------------------------------------------------------------

async def ask_occupation(conversation: Conversation, context: Context) -> Reply:
    """What work does the worker do?"""
    return Reply("enrollment/ask_occupation",
                 buttons=_buttons("job", "occupation", OCCUPATIONS, 2))


async def take_occupation(conversation: Conversation, context: Context) -> str:
    conversation.data["occupation"] = choice_of(
        context, "job", OCCUPATIONS,
        _typed(OCCUPATIONS, ("asisten rumah tangga", "art"), ("pengemudi", "ojek"),
               ("buruh harian lepas", "buruh")),
    )
    return "next"


# --- worker's phone -------------------------------------------------------------------------

async def ask_phone(conversation: Conversation, context: Context) -> Reply:
    """The worker's phone number is optional: many have none."""
    return Reply("enrollment/ask_phone", buttons=((Button("skip", "phone:skip"),),))


async def take_phone(conversation: Conversation, context: Context) -> str:
    incoming = context.incoming
    if incoming.kind is Kind.BUTTON and incoming.payload == "phone:skip":
        conversation.data["phone"] = None
        return "next"
    text = text_of(context, max_length=40)
    if text.lower() in {"lewati", "tidak ada", "tidak punya", "-"}:
        conversation.data["phone"] = None
        return "next"
    try:
        conversation.data["phone"] = to_e164(text)
    except InvalidPhone:
        raise Invalid("enrollment/bad_phone") from None
    return "next"


# --- address --------------------------------------------------------------------------------

async def ask_kecamatan(conversation: Conversation, context: Context) -> Reply:
    """A list of the region's kecamatan where one is configured; free text elsewhere."""
    kecamatan = await context.roster.kecamatan()
    if not kecamatan:
        return Reply("enrollment/ask_kecamatan_text")
    region = {"region": context.config.region_name}
    buttons = [Button("kecamatan", f"kec:{item.id}", {"name": item.name}) for item in kecamatan]
    rows = [tuple(buttons[i:i + 3]) for i in range(0, len(buttons), 3)]
    rows.append((Button("kecamatan_outside", "kec:other", region),))
    return Reply("enrollment/ask_kecamatan", region, buttons=tuple(rows))


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
                 {"near_kecamatan": [item.name for item in offered]}, buttons=tuple(rows))


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
    return Reply("enrollment/ask_kecamatan_other", {"region": context.config.region_name})


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
    return Reply("enrollment/ask_desa", {"kecamatan": data.get("kecamatan", ""),
                                         "kecamatan_listed": _listed(data)})


async def take_desa(conversation: Conversation, context: Context) -> str:
    desa = text_of(context, max_length=100)
    if not _PLACE.match(desa) or not any(ch.isalpha() for ch in desa):
        raise Invalid("enrollment/bad_place")
    conversation.data["desa"] = desa
    return "next"


# --- consent --------------------------------------------------------------------------------

def _consent_context(conversation: Conversation) -> dict[str, Any]:
    return {"worker": conversation.data.get("name", ""), "version": CONSENT_VERSION}


async def ask_consent(conversation: Conversation, context: Context) -> Reply:
    """Read the consent wording to the worker; the ASN records their answer."""
    return Reply(
        "enrollment/ask_consent",
        _consent_context(conversation),
        buttons=((Button("consent_yes", "consent:yes"),), (Button("consent_no", "consent:no"),)),
    )


async def take_consent(conversation: Conversation, context: Context) -> str | Goto:
    answer = choice_of(context, "consent", ("yes", "no"),
                       {"ya": "yes", "setuju": "yes", "tidak": "no", "tidak setuju": "no"})
    if answer == "no":
        conversation.replies.append(Reply("enrollment/consent_refused"))
        return Goto(None)
    conversation.data["consent_version"] = CONSENT_VERSION
    conversation.data["consent_at"] = context.now.isoformat()
    return "next"


# --- summary and edits ----------------------------------------------------------------------

async def show_summary(conversation: Conversation, context: Context) -> Reply:
    """Everything typed, personal data masked, with save, change and cancel."""
    data = conversation.data
    data.pop("editing", None)
    return Reply(
        "enrollment/summary",
        {
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
        conversation.replies.append(Reply("common/cancelled"))
        return Goto(None)
    return await _save(conversation, context)


async def _save(conversation: Conversation, context: Context) -> Goto:
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
    wording = context.wording("enrollment/consent_wording", _consent_context(conversation))
    channel = context.incoming.channel.value
    try:
        saved = await context.enrollments.save_draft(
            asn.id, draft, CONSENT_VERSION, wording, channel, context.now
        )
    except NikAlreadyHeld:  # taken by someone else since the NIK step: change it or cancel
        raise Invalid("enrollment/nik_held_at_save", nik=mask_nik(draft.nik)) from None
    await context.audit.record(
        "enrollment.saved", actor_asn_id=asn.id, channel=channel, now=context.now,
        subject=f"enrollment:{saved.id}", details={"nik": saved.nik_masked},
    )
    conversation.data.clear()
    conversation.data["enrollment_id"] = saved.id
    return Goto("Deduction:confirm")


async def ask_edit(conversation: Conversation, context: Context) -> Reply:
    """Which part should change?"""
    buttons = _buttons("edit", "edit", EDITABLE, 2)
    return Reply("enrollment/ask_edit", buttons=(*buttons, (Button("back", "edit:back"),)))


async def take_edit(conversation: Conversation, context: Context) -> str:
    choice = choice_of(context, "edit", (*EDITABLE, "back"),
                       {**_typed(EDITABLE), "kembali": "back", "alamat": "address"})
    if choice == "back":
        return "back"
    conversation.data["editing"] = True
    return f"edit_{choice}"


class EnrollmentFlow(Flow):
    name = "Enrollment"
    initial = S.RELATIONSHIP

    def __init__(self) -> None:
        steps = {
            S.RELATIONSHIP: Step(ask_relationship, take_relationship, "help/relationship"),
            S.NIK: Step(ask_nik, take_nik, "help/nik"),
            S.NAME: Step(ask_name, take_name, "help/name"),
            S.BIRTH_DATE: Step(ask_birth_date, take_birth_date, "help/birth_date"),
            S.OCCUPATION: Step(ask_occupation, take_occupation, "help/occupation"),
            S.PHONE: Step(ask_phone, take_phone, "help/worker_phone"),
            S.KECAMATAN: Step(ask_kecamatan, take_kecamatan, "help/address"),
            S.KECAMATAN_CONFIRM: Step(ask_kecamatan_confirm, take_kecamatan_confirm,
                                      "help/address"),
            S.KECAMATAN_OTHER: Step(ask_kecamatan_other, take_kecamatan_other, "help/address"),
            S.DESA: Step(ask_desa, take_desa, "help/address"),
            S.CONSENT: Step(ask_consent, take_consent, "help/consent"),
            S.SUMMARY: Step(show_summary, take_summary, "help/summary"),
            S.EDIT: Step(ask_edit, take_edit, "help/summary"),
        }
        transitions = [
            {**row, "conditions": editing} if row.get("conditions") == "editing" else row
            for row in TRANSITIONS
        ]
        super().__init__(steps, transitions)
