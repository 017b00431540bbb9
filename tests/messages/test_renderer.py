"""The renderer: every template renders on every channel, Telegram HTML is escaped, money
and dates read the Indonesian way, and every template and label the flows name exists."""

from __future__ import annotations

import html
import importlib
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import UndefinedError

from flows import coordinator, enrollment, workers
from flows.enrollment_status import EnrollmentStatus
from flows.events import Button, OutgoingButton, OutgoingMessage, Reply
from messages import formatting
from messages.renderer import HTML, PLAIN, WHATSAPP, Renderer
from storage.interfaces import EnrollmentView

FLOWS = Path(__file__).resolve().parents[2] / "flows"
NOW = datetime(2025, 8, 21, 3, 0, tzinfo=UTC)

# One value for every name a chat template uses (cli/ templates belong to the CLI's tests).
SAMPLE = {
    "name": "Budi Santoso", "unit": "Dinas Kesehatan", "workers": 2, "remaining": 3,
    "minutes": 60, "limit": 100, "nik": "3324••••••••0001", "worker": "SITI AMINAH",
    "version": "v1", "region": "Kabupaten Kendal", "suggested": date(1980, 8, 17),
    "kecamatan": "Patebon", "kecamatan_listed": True, "relationship": "art",
    "birth_date": date(1980, 8, 17), "occupation": "pedagang", "phone": "+62857••••2222",
    "desa": "Kumpulrejo", "age": 66, "max_age": 65, "min_age": 15,
    "asn_name": "Budi Santoso", "nip": "198503152010011001", "jkk": 10_000, "jkm": 6_800,
    "premium": 16_800, "monthly_total": 33_600, "first_month": date(2025, 9, 1),
    "stop_month": date(2025, 9, 1), "reason": "Keberatan dengan biaya iuran", "agreed": True,
    "enrollments": [
        EnrollmentView(1, "SITI AMINAH", "3324••••••••0001", "art", "registered", NOW,
                       "25012345678", None),
        EnrollmentView(2, "ANDI", "3324••••••••0002", "keluarga", "stopped", NOW, None,
                       date(2025, 9, 1)),
    ],
    "month": date(2025, 9, 1), "nip_example": "198503152010011001",
    "phone_example": "081234567890",
}


def _more_samples() -> dict[str, object]:
    """Each area's templates bring their sample values in tests/messages/samples_<area>.py."""
    merged: dict[str, object] = {}
    for path in sorted(Path(__file__).parent.glob("samples_*.py")):
        module = importlib.import_module(f"tests.messages.{path.stem}")
        merged.update(module.SAMPLE)
    return merged


SAMPLE.update(_more_samples())


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def chat_templates() -> list[str]:
    return [name for name in Renderer().template_names()
            if not name.startswith(("cli/", "_"))]


@pytest.mark.parametrize("template", chat_templates())
def test_every_chat_template_renders_short_on_every_channel(renderer, template):
    for markup in (PLAIN, HTML, WHATSAPP):
        text = renderer.text(template, SAMPLE, markup)
        assert text.strip(), (template, markup)
        assert len(text) < 1500, (template, markup, len(text))
        assert "{{" not in text and "{%" not in text


@pytest.mark.parametrize("template", chat_templates())
def test_telegram_html_holds_only_bold_tags_and_escaped_text(renderer, template):
    text = renderer.text(template, SAMPLE, HTML)
    bare = text.replace("<b>", "").replace("</b>", "")
    bare = re.sub(r"&(amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);", "", bare)
    assert not re.search(r"[<>&]", bare), f"{template}: Telegram cannot parse {text!r}"


def test_every_template_compiles(renderer):
    for markup in (PLAIN, HTML, WHATSAPP):
        env = renderer._envs[markup]
        for name in renderer.template_names():
            env.get_template(f"{name}.j2")


def test_a_missing_value_is_an_error_not_a_gap(renderer):
    with pytest.raises(UndefinedError):
        renderer.text("identify/linked", {"name": "Budi"})


def test_telegram_escapes_what_users_typed_and_bolds_with_tags(renderer):
    typed = {**SAMPLE, "name": "<b>SITI</b> & <i>x</i>"}
    telegram = renderer.render(Reply("enrollment/summary", typed), "telegram").text
    assert "Nama: &lt;b&gt;SITI&lt;/b&gt; &amp; &lt;i&gt;x&lt;/i&gt;" in telegram
    assert telegram.startswith("<b>Ringkasan pendaftaran</b>")
    console = renderer.render(Reply("enrollment/summary", typed), "console").text
    assert "Nama: <b>SITI</b> & <i>x</i>" in console and console.startswith("Ringkasan")
    whatsapp = renderer.render(Reply("enrollment/summary", typed), "whatsapp").text
    assert whatsapp.startswith("*Ringkasan pendaftaran*")


@given(st.text(min_size=1, max_size=40))
def test_any_value_in_telegram_html_comes_out_escaped(value):
    renderer = _RENDERER
    text = renderer.text("identify/linked", {"name": value, "unit": "Dinas"}, HTML)
    assert html.escape(value, quote=False) in text.replace("&#34;", '"').replace("&#39;", "'")
    if "<" in value:
        assert value not in text


_RENDERER = Renderer()


def test_buttons_render_their_labels_with_values(renderer):
    reply = Reply("workers/list", SAMPLE, buttons=(
        (Button("stop_worker", "wk:stop:1", {"name": "<b>SITI</b>"}),),
        (Button("share_contact", "contact", request_contact=True),),
    ))
    rendered = renderer.render(reply, "telegram")
    assert rendered.buttons == (
        (OutgoingButton("⛔ Hentikan: <b>SITI</b>", "wk:stop:1"),),
        (OutgoingButton("📱 Bagikan nomor HP saya", "contact", contact=True),),
    )
    assert rendered.as_json()["buttons"] == [
        [{"label": "⛔ Hentikan: <b>SITI</b>", "payload": "wk:stop:1", "contact": False}],
        [{"label": "📱 Bagikan nomor HP saya", "payload": "contact", "contact": True}],
    ]
    assert rendered.markup == "html" and rendered.as_json()["inline"] is True


def test_the_stored_form_is_the_one_rows_already_in_the_outbox_hold(renderer):
    """An outbox row outlives an upgrade: the JSON written is key for key what the code
    before `OutgoingMessage` wrote, and every row it wrote reads back."""
    reply = Reply("workers/list", SAMPLE, buttons=((Button("page_prev", "page:0"),),),
                  image=7, page=2, confidential=True)
    stored = renderer.render(reply, "whatsapp").as_json()
    assert stored == {
        "text": stored["text"], "buttons": [[{"label": "◀️ Sebelumnya", "payload": "page:0",
                                              "contact": False}]],
        "inline": True, "remove_keyboard": False, "markup": "whatsapp", "image": 7, "page": 2,
        "confidential": True}
    plain = renderer.render(Reply("workers/list", SAMPLE), "console").as_json()
    assert set(plain) == {"text", "buttons", "inline", "remove_keyboard", "markup"}
    assert OutgoingMessage.from_json(stored).as_json() == stored
    assert OutgoingMessage.from_json(plain).as_json() == plain
    assert OutgoingMessage.from_json({"text": "Halo"}) == OutgoingMessage("Halo")
    with pytest.raises(ValueError, match="not an outgoing message"):
        OutgoingMessage.from_json({"buttons": []})


def test_money_and_dates_in_messages(renderer):
    text = renderer.text("deduction/confirm", SAMPLE)
    assert "Iuran per bulan: Rp16.800" in text and "Rp33.600" in text
    assert "JKK (kecelakaan kerja): Rp10.000" in text
    assert "gaji bulan September 2025" in text
    summary = renderer.text("enrollment/summary", SAMPLE)
    assert "Tanggal lahir: 17 Agustus 1980" in summary
    listing = renderer.text("workers/list", SAMPLE)
    assert "KPJ 25012345678" in listing and "potongan berhenti mulai September 2025" in listing


@pytest.mark.parametrize(("amount", "text"), [
    (16_800, "Rp16.800"), (8_400, "Rp8.400"), (42_000_000, "Rp42.000.000"), (0, "Rp0"),
    (1_000, "Rp1.000"), (999, "Rp999"),
])
def test_rupiah(amount, text):
    assert formatting.rupiah(amount) == text


MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember"]


@pytest.mark.parametrize("month", range(1, 13))
def test_indonesian_month_names(month):
    assert formatting.long_date(date(2025, month, 21)) == f"21 {MONTHS[month - 1]} 2025"
    assert formatting.month_year(date(2025, month, 1)) == f"{MONTHS[month - 1]} 2025"


def test_dates_and_times_are_in_jakarta_time():
    assert formatting.long_date(date(2025, 8, 1)) == "1 Agustus 2025"
    late_utc = datetime(2025, 8, 20, 18, 0, tzinfo=UTC)  # already 21 August in Jakarta
    assert formatting.long_date(late_utc) == "21 Agustus 2025"
    assert formatting.date_time(datetime(2025, 8, 21, 7, 5, tzinfo=UTC)) == (
        "21 Agustus 2025 14.05 WIB")
    assert formatting.number(10300) == "10.300"


# --- the templates and labels the flows name exist -----------------------------------------

def named_in_flows(pattern: str) -> set[str]:
    found: set[str] = set()
    for path in FLOWS.glob("*.py"):
        found |= set(re.findall(pattern, path.read_text(encoding="utf-8")))
    return found


def test_every_template_a_flow_names_exists(renderer):
    folders = "|".join({name.split("/")[0] for name in renderer.template_names()} - {"cli"})
    names = named_in_flows(rf'"((?:{folders})/[a-z_]+)"')
    # The reason steps (flows.conversation.reason_of) name theirs from the folder.
    for folder, reasons in (("workers", workers.REASONS), ("coordinator", coordinator.REASONS)):
        names |= {f"{folder}/reason_{reason}" for reason in reasons if reason != "other"}
        names.add(f"{folder}/type_reason")
    assert names, "the scan found nothing: has the code changed shape?"
    missing = names - set(renderer.template_names())
    assert not missing


def test_every_label_a_flow_names_exists(renderer):
    labels = named_in_flows(r'Button\(\s*"([a-z_]+)"')
    labels |= {f"relationship_{c}" for c in enrollment.RELATIONSHIPS}
    labels |= {f"occupation_{c}" for c in enrollment.OCCUPATIONS}
    labels |= {f"edit_{c}" for c in enrollment.EDITABLE}
    labels |= {f"reason_{c}" for c in workers.REASONS}
    labels |= {f"reject_{c}" for c in coordinator.REASONS}
    assert "share_contact" in labels and "agree" in labels
    missing = labels - set(renderer.label_keys())
    assert not missing


def test_every_stored_code_has_a_name_in_the_messages(renderer):
    for relationship in enrollment.RELATIONSHIPS:
        text = renderer.text("enrollment/summary", {**SAMPLE, "relationship": relationship})
        assert "Hubungan: " in text
    for occupation in enrollment.OCCUPATIONS:
        renderer.text("enrollment/summary", {**SAMPLE, "occupation": occupation})
    for status in EnrollmentStatus:
        item = EnrollmentView(1, "X", "3324••••••••0001", "art", status, NOW, None, None)
        assert "Status: " in renderer.text("workers/list", {**SAMPLE, "enrollments": [item]})
