"""How an outbox body is laid out for WhatsApp: buttons or a paged list, one-line template
parameters, pieces of long texts, the 24-hour window, and which Cloud API errors pass."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pywa.errors import WhatsAppError

from bot.transport import PermanentSendError, RecipientUnreachable, TransientSendError
from bot.whatsapp.errors import send_error
from bot.whatsapp.layout import (
    choices_of,
    chunks,
    fits_buttons,
    pages,
    template_parameter,
    window_open,
)
from flows.events import OutgoingButton, OutgoingMessage

NOW = datetime(2025, 8, 21, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("count", "expected"), [
    (1, [(0, 1)]),
    (10, [(0, 10)]),
    (11, [(0, 9), (9, 11)]),
    (18, [(0, 9), (9, 18)]),
    (19, [(0, 9), (9, 17), (17, 19)]),
    (20, [(0, 9), (9, 17), (17, 20)]),
    (21, [(0, 9), (9, 17), (17, 21)]),
])
def test_pages_keep_room_for_their_page_turns(count: int, expected: list[tuple[int, int]]
                                              ) -> None:
    assert pages(count) == expected


@given(st.integers(min_value=1, max_value=300))
def test_every_choice_is_on_exactly_one_page_of_at_most_ten_rows(count: int) -> None:
    spans = pages(count)
    assert spans[0][0] == 0 and spans[-1][1] == count
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end == start
    for number, (start, end) in enumerate(spans):
        turns = (number > 0) + (number < len(spans) - 1)
        assert end - start >= 1 and end - start + turns <= 10


def test_buttons_only_for_up_to_three_short_different_labels() -> None:
    assert fits_buttons([OutgoingButton("💾 Simpan", "a"), OutgoingButton("✏️ Ubah", "b"),
                         OutgoingButton("Batal", "c")])
    assert not fits_buttons([OutgoingButton(str(n), str(n)) for n in range(4)])
    assert not fits_buttons([OutgoingButton("❌ Pekerja tidak setuju", "no")])  # 22 characters
    assert not fits_buttons([OutgoingButton("Ya", "a"), OutgoingButton("Ya", "b")])
    assert not fits_buttons([])


def test_a_contact_button_has_no_whatsapp_form() -> None:
    share = OutgoingButton("📱 Bagikan", "contact", contact=True)
    message = OutgoingMessage("", buttons=((share,), (OutgoingButton("Ya", "y"),)))
    assert choices_of(message) == [OutgoingButton("Ya", "y")]


def test_a_template_parameter_is_one_clean_line() -> None:
    text = ("*Pengingat*\nPendaftaran SITI belum selesai.\n\n- Iuran: Rp16.800\n"
            "- Mulai: September 2025\tya     ya")
    assert template_parameter(text) == (
        "*Pengingat* · Pendaftaran SITI belum selesai. - Iuran: Rp16.800 · "
        "- Mulai: September 2025 ya ya")
    long = template_parameter("kata " * 500, limit=100)
    assert len(long) <= 100 and long.endswith("…") and "kata kata" in long
    assert template_parameter("\n\n") == "-"


@given(st.text(min_size=0, max_size=3000))
def test_any_text_becomes_a_parameter_meta_accepts(text: str) -> None:
    value = template_parameter(text)
    assert 1 <= len(value) <= 900
    assert "\n" not in value and "\t" not in value and "     " not in value


def test_long_texts_are_cut_at_line_ends() -> None:
    text = "\n".join(f"baris {n}" for n in range(1000))
    pieces = chunks(text, limit=4096)
    assert all(len(piece) <= 4096 for piece in pieces) and len(pieces) > 1
    assert "\n".join(pieces) == text
    assert chunks("a" * 5000, limit=4096) == ["a" * 4096, "a" * 904]
    assert chunks("") == []


@pytest.mark.parametrize(("kind", "last_inbound_at", "is_open"), [
    ("news", None, False),  # never wrote
    ("news", NOW - timedelta(hours=2), True),
    ("report", NOW - timedelta(hours=23, minutes=55), False),  # the safety margin
    ("reply", NOW - timedelta(days=2), False),
    ("news", datetime(2025, 8, 21, 8, 0), True),  # naive: UTC
    ("news", NOW - timedelta(minutes=1), True),
])
def test_the_24_hour_window(kind: str, last_inbound_at: datetime | None, is_open: bool
                            ) -> None:
    message = OutgoingMessage("Halo", kind=kind, last_inbound_at=last_inbound_at)
    assert window_open(message, NOW) is is_open


def _error(code: int, status: int = 400, transient: bool | None = None) -> WhatsAppError:
    raw: dict[str, object] = {"code": code, "message": "(#x) for +6281234567890"}
    if transient is not None:
        raw["is_transient"] = transient
    return WhatsAppError.from_dict(raw)


@pytest.mark.parametrize(("code", "kind", "retry_after"), [
    (131026, RecipientUnreachable, None),
    (130429, TransientSendError, 1.0),
    (131056, TransientSendError, 6.0),
    (131048, TransientSendError, 60.0),
    (80007, TransientSendError, 60.0),
    (190, TransientSendError, 300.0),
    (10, TransientSendError, 300.0),
    (368, TransientSendError, 300.0),
    (131000, TransientSendError, None),
    (131016, TransientSendError, None),
    (131009, PermanentSendError, None),
    (132001, PermanentSendError, None),
    (131051, PermanentSendError, None),
    (131050, PermanentSendError, None),
])
def test_cloud_api_errors_are_mapped_once(code: int, kind: type, retry_after: float | None
                                          ) -> None:
    error = send_error(_error(code))
    assert type(error) is kind
    if isinstance(error, TransientSendError):
        assert error.retry_after == retry_after
    assert str(code) in str(error)
    assert "6281234567890" not in str(error)  # the API's text may quote the number


def test_an_unknown_error_the_api_calls_transient_is_retried() -> None:
    assert isinstance(send_error(_error(999_999, transient=True)), TransientSendError)
    assert type(send_error(_error(999_999))) is PermanentSendError
