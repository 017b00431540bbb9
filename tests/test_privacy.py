"""Personal data never lies in the database file, the logs or the messages in clear."""

import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from flows.nik import InvalidNik, parse_nik
from tests.support.chat import texts

NIK = "3324015708800001"
PHONE_DIGITS = "85711112222"


async def enrol(budi):
    await budi.press("➕ Daftarkan pekerja")
    await budi.press("Tetangga")
    await budi.send(NIK)
    await budi.send("Siti Aminah")
    await budi.send("18-08-1980")
    await budi.press("✅ Ya")  # not the NIK's 17 August: asked once, kept
    await budi.press("Petani")
    await budi.send("0857-1111-2222")
    await budi.press("Patebon")
    await budi.send("Kumpulrejo")
    await budi.press("✅ Pekerja setuju")
    await budi.press("💾 Simpan")
    await budi.press("✅ Saya setuju")


async def test_no_nik_birth_date_or_phone_in_clear_anywhere(budi, caplog):
    with caplog.at_level(logging.DEBUG):
        await enrol(budi)
        await budi.press("👥 Pekerja saya")
    seen = texts(budi.history)
    assert "3324••••••••0001" in seen
    assert NIK not in seen and PHONE_DIGITS not in seen

    database = Path(budi.app.engine.url.database)
    raw = b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))
    for secret in (NIK, "1980-08-18", PHONE_DIGITS):
        assert secret.encode() not in raw, secret
    assert b"SITI AMINAH" in raw  # the scan does read the data (names are not encrypted)
    for secret in (NIK, PHONE_DIGITS):
        assert secret not in caplog.text


async def test_database_errors_do_not_carry_statement_parameters(app):
    """A failing statement's message (logged with the traceback) names no parameter."""
    with pytest.raises(DBAPIError) as failure:
        async with app.engine.begin() as connection:
            await connection.execute(text("SELECT * FROM no_such_table WHERE phone = :p"),
                                     {"p": "+6281234567890"})
    assert "6281234567890" not in str(failure.value)


def test_no_template_or_label_shows_a_nik_that_could_be_someones() -> None:
    """An example in a message must not be a structurally valid NIK: it could be a real
    person's, and a worker copying it would be refused as "already enrolled" or worse."""
    root = Path(__file__).resolve().parent.parent / "messages"
    valid = []
    for path in [*root.rglob("*.j2"), *root.rglob("*.toml")]:
        for digits in re.findall(r"(?<!\d)\d{16}(?!\d)", path.read_text(encoding="utf-8")):
            try:
                parse_nik(digits)
            except InvalidNik:
                continue
            valid.append(f"{path.relative_to(root)}: {digits}")
    assert valid == []
