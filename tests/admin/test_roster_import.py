"""`asn-peduli roster import`: what the admin reads, what the roster holds, the exit code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from admin.roster_file import import_roster_file
from bot.app import App
from flows.phone import InvalidPhone, parse_e164, to_e164
from storage.models import Asn, Unit
from tests.conftest import BUDI, seed_roster

DATA = Path(__file__).parents[1] / "data" / "roster"
GOOD_PHONES = {  # as written in good.csv -> as stored
    "0812-1111-2001": "+6281211112001",
    "+62 857 1111 2002": "+6285711112002",
    "6281311112003": "+6281311112003",
    "0821 1111 2004": "+6282111112004",
    "(0856) 1111-2005": "+6285611112005",
    "081911112006": "+6281911112006",
}


async def roster(app) -> dict[str, dict[str, object]]:
    """The roster as the database holds it, by NIP, with unit and kecamatan names."""
    kecamatan = Unit.__table__.alias("kecamatan")
    async with app.sessions() as session:
        rows = await session.execute(
            select(Asn.nip, Asn.name, Asn.phone, Unit.name, kecamatan.c.name, Asn.position,
                   Asn.updated_at)
            .join(Unit, Unit.id == Asn.unit_id)
            .outerjoin(kecamatan, kecamatan.c.id == Asn.kecamatan_id)
        )
        return {
            nip: {"name": name, "phone": phone, "unit": unit, "kecamatan": kec,
                  "position": position, "updated_at": updated_at}
            for nip, name, phone, unit, kec, position, updated_at in rows
        }


async def unit_names(app, kind: str) -> list[str]:
    async with app.sessions() as session:
        return sorted(await session.scalars(select(Unit.name).where(Unit.kind == kind)))


def digits_only(text: str) -> str:
    return re.sub(r"\D", "", text)


def assert_no_phone_in_full(output: str, phones: list[str]) -> None:
    """Neither as typed nor as E.164 nor as bare digits."""
    flat = digits_only(output)
    for phone in phones:
        assert phone not in output
        assert digits_only(phone)[-9:] not in flat, phone


async def imported(app: App, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`roster import` of `path`: its exit code and what it told the admin."""
    code = await import_roster_file(app, path)
    return code, capsys.readouterr().out


async def test_good_file_is_taken_with_phones_in_e164(app_any_db, capsys):
    await seed_roster(app_any_db)

    code, out = await imported(app_any_db, DATA / "good.csv", capsys)
    assert code == 0
    assert "6 baris dibaca" in out
    assert "diterima: 6 (baru 6, diperbarui 0, tidak berubah 0)" in out
    assert "ditolak: 0" in out and "Semua baris diterima." in out
    assert "OPD baru dibuat (2): Diskominfo, Badan Pendapatan Daerah." in out
    assert_no_phone_in_full(out, list(GOOD_PHONES))
    held = await roster(app_any_db)
    assert len(held) == 8  # Budi and Sri from the seed, six from the file
    assert {held[nip]["phone"] for nip in held} >= set(GOOD_PHONES.values())
    dewi = held["198206152008012002"]
    assert dewi["name"] == "Dewi Lestari, S.Kep."
    assert dewi["unit"] == "Dinas Kesehatan"  # "dinas  kesehatan" matched the existing OPD
    assert dewi["kecamatan"] == "Kendal"  # from "Kecamatan Kendal"
    assert dewi["position"] == "Perawat Terampil"
    assert held["199112302019031003"]["kecamatan"] == "Kaliwungu"  # "KALIWUNGU"
    assert held["196812121990101004"]["kecamatan"] == "Patebon"  # "kec. patebon"
    assert held["196812121990101004"]["position"] is None
    assert held["198807072012122005"]["kecamatan"] is None
    assert await unit_names(app_any_db, "opd") == [
        "Badan Pendapatan Daerah", "Dinas Kesehatan", "Dinas Pendidikan dan Kebudayaan",
        "Diskominfo",
    ]
    assert await unit_names(app_any_db, "kecamatan") == ["Kaliwungu", "Kendal", "Patebon"]


async def test_importing_the_same_file_again_changes_nothing(app_any_db, capsys):
    await seed_roster(app_any_db)
    await import_roster_file(app_any_db, DATA / "good.csv")
    before = await roster(app_any_db)
    capsys.readouterr()

    code, out = await imported(app_any_db, DATA / "good.csv", capsys)
    assert code == 0
    assert "diterima: 6 (baru 0, diperbarui 0, tidak berubah 6)" in out
    assert "OPD baru" not in out
    assert await roster(app_any_db) == before  # updated_at included
    assert len(await unit_names(app_any_db, "opd")) == 4


async def test_a_changed_row_updates_the_roster(app, tmp_path, capsys):
    await seed_roster(app)
    await import_roster_file(app, DATA / "good.csv")
    first = await roster(app)
    later = datetime.now(UTC) + timedelta(days=30)
    app.clock = lambda: later
    changed = (DATA / "good.csv").read_text().replace(
        "197001011995031001,Agus Wibowo,Dinas Kesehatan,0812-1111-2001",
        "197001011995031001,Agus Wibowo Santoso,Dinas Sosial,0812-9999-2001",
    )
    path = tmp_path / "changed.csv"
    path.write_text(changed)
    capsys.readouterr()

    code, out = await imported(app, path, capsys)
    assert code == 0
    assert "diterima: 6 (baru 0, diperbarui 1, tidak berubah 5)" in out
    assert "OPD baru dibuat (1): Dinas Sosial." in out
    now = await roster(app)
    agus = now["197001011995031001"]
    assert (agus["name"], agus["unit"], agus["phone"]) == (
        "Agus Wibowo Santoso", "Dinas Sosial", "+6281299992001")
    assert agus["updated_at"] == later
    assert {nip: row for nip, row in now.items() if nip != "197001011995031001"} == {
        nip: row for nip, row in first.items() if nip != "197001011995031001"}


async def test_rows_with_problems_are_listed_and_the_good_rows_taken(app_any_db, capsys):
    await seed_roster(app_any_db)

    code, out = await imported(app_any_db, DATA / "problems.csv", capsys)
    assert code == 1
    assert "5 baris ditolak dan tidak disimpan:" in out
    assert "baris 3: NIP harus 18 angka (tertulis 17 angka)" in out
    assert "baris 4: nomor HP +62812••••1234 bukan nomor Indonesia yang valid" in out
    assert "baris 5: NIP sama dengan baris 2; hanya baris 2 yang dipakai" in out
    assert 'baris 6: kecamatan "Semarang Tengah" tidak dikenal' in out
    assert "baris 7: nama kosong" in out
    for good_line in ("baris 2:", "baris 8:"):
        assert good_line not in out
    assert "7 baris dibaca" in out
    assert "diterima: 2 (baru 2, diperbarui 0, tidak berubah 0)" in out
    assert "ditolak: 5" in out
    assert "impor ini TIDAK lengkap" in out and "2 baris yang benar sudah disimpan" in out
    phones = [line.split(",")[3] for line in (DATA / "problems.csv").read_text().splitlines()[1:]]
    assert_no_phone_in_full(out, phones)
    held = await roster(app_any_db)
    assert set(held) == {BUDI.nip, "199001012015032002", "197001011995031001",
                         "198807072012122005"}
    assert held["197001011995031001"]["unit"] == "Dinas Kesehatan"  # line 2, not line 5


async def test_every_other_refusal_reason_is_told(app, tmp_path, capsys):
    await seed_roster(app)
    long_text = "A" * 201
    path = tmp_path / "reasons.csv"
    path.write_text(
        "nip,nama,unit,no_hp,jabatan\n"
        ",Agus Wibowo,Dinas Kesehatan,081211112001,\n"
        "198513452010011001,Agus Wibowo,Dinas Kesehatan,081211112001,\n"
        f"197001011995031001,{long_text},Dinas Kesehatan,081211112001,\n"
        "198206152008012002,Dewi Lestari,,081211112002,\n"
        f"199112302019031003,Rizky Saputra,{long_text},081311112003,\n"
        "196812121990101004,Slamet Riyanto,Diskominfo,,\n"
        f"198807072012122005,Sri Rahayu,Diskominfo,085611112005,{long_text}\n"
    )

    code, out = await imported(app, path, capsys)
    assert code == 1
    assert "baris 2: NIP kosong\n" in out
    assert "baris 3: NIP tidak diawali tanggal lahir yang benar (TTTTBBHH)\n" in out
    assert "baris 4: nama lebih dari 200 karakter\n" in out
    assert "baris 5: unit kosong\n" in out
    assert "baris 6: nama unit lebih dari 200 karakter\n" in out
    assert "baris 7: nomor HP kosong\n" in out
    assert "baris 8: jabatan lebih dari 200 karakter\n" in out
    assert "ditolak: 7" in out and "diterima: 0" in out
    assert "OPD baru" not in out  # no unit is created for a refused row


async def test_many_new_units_are_summed_up(app, tmp_path, capsys):
    await seed_roster(app)
    lines = ["nip,nama,unit,no_hp"] + [
        f"1980010120050110{index:02d},Pegawai Satu,Unit Baru {index:02d},08121111{index:04d}"
        for index in range(1, 26)
    ]
    path = tmp_path / "units.csv"
    path.write_text("\n".join(lines) + "\n")

    code, out = await imported(app, path, capsys)
    assert code == 0
    assert "OPD baru dibuat (25): Unit Baru 01, Unit Baru 02," in out
    assert "Unit Baru 20, dan 5 lainnya." in out and "Unit Baru 21" not in out
    assert "Periksa ejaannya" in out
    assert len(await unit_names(app, "opd")) == 27


async def test_a_file_without_a_required_column_writes_nothing(app_any_db, capsys):
    await seed_roster(app_any_db)
    before = await roster(app_any_db)

    code, out = await imported(app_any_db, DATA / "missing_column.csv", capsys)
    assert code == 2
    assert "kolom wajib no_hp tidak ditemukan" in out
    assert "Kolom yang ditemukan: nip, nama, unit, kecamatan." in out
    assert "Tidak ada data yang disimpan." in out
    assert await roster(app_any_db) == before
    assert await unit_names(app_any_db, "opd") == [
        "Dinas Kesehatan", "Dinas Pendidikan dan Kebudayaan"]


async def test_semicolons_a_bom_and_capitalised_headers_as_excel_writes_them(app, capsys):
    await seed_roster(app)

    code, out = await imported(app, DATA / "semicolon_bom.csv", capsys)
    assert code == 0
    assert "2 baris dibaca" in out  # the trailing ";;;;;" row is blank, not a refusal
    held = await roster(app)
    assert held["197001011995031001"]["kecamatan"] == "Patebon"
    assert held["197001011995031001"]["phone"] == "+6281211112001"
    assert held["198807072012122005"]["name"] == "Sri Rahayu, S.Pd."


async def test_windows_1252_file_is_read(app, tmp_path, capsys):
    await seed_roster(app)
    path = tmp_path / "ansi.csv"
    path.write_bytes("nip;nama;unit;no_hp\n197001011995031001;Dédé Sutisna;Dinas Kesehatan;"
                     "081211112001\n".encode("cp1252"))

    assert await import_roster_file(app, path) == 0
    assert (await roster(app))["197001011995031001"]["name"] == "Dédé Sutisna"


async def test_excel_unicode_text_utf16_with_tabs_is_read(app, tmp_path, capsys):
    await seed_roster(app)
    path = tmp_path / "unicode.txt"
    path.write_text("NIP\tNama\tUnit\tNo HP\n197001011995031001\tAgus Wibowo\tDinas Kesehatan\t"
                    "81211112001\n", encoding="utf-16")

    assert await import_roster_file(app, path) == 0
    assert (await roster(app))["197001011995031001"]["phone"] == "+6281211112001"


async def test_a_nip_mangled_by_excel_gets_a_hint(app, tmp_path, capsys):
    await seed_roster(app)
    path = tmp_path / "excel.csv"
    path.write_text("nip;nama;unit;no_hp\n1,98503E+17;Agus Wibowo;Dinas Kesehatan;081211112001\n")

    assert await import_roster_file(app, path) == 1
    assert "baris 2: NIP tertulis sebagai angka ilmiah" in capsys.readouterr().out


async def test_a_broken_file_half_way_writes_nothing(app, tmp_path, capsys):
    await seed_roster(app)
    before = await roster(app)
    path = tmp_path / "broken.csv"
    runaway = "x" * 200_000  # beyond what any CSV cell may hold
    path.write_text((DATA / "good.csv").read_text() + f"199505052020011007,{runaway},,,\n")

    code, out = await imported(app, path, capsys)
    assert code == 2
    assert "tidak dapat dibaca sebagai CSV (masalah di baris 8)" in out
    assert "Tidak ada data yang disimpan." in out
    assert await roster(app) == before
    assert await unit_names(app, "opd") == ["Dinas Kesehatan", "Dinas Pendidikan dan Kebudayaan"]


async def test_an_unclosed_quote_or_a_stray_control_character_refuses_the_row(
    app, tmp_path, capsys
):
    await seed_roster(app)
    path = tmp_path / "quotes.csv"
    path.write_text(
        "nip,nama,unit,no_hp\n"
        "197001011995031001,Agus Wibowo,Dinas Kesehatan,081211112001\n"
        "198206152008012002,Dewi\x00Lestari,Dinas Kesehatan,085711112002\n"
        '199112302019031003,"Rizky Saputra,Diskominfo,081311112003\n'
        "196812121990101004,Slamet Riyanto,Diskominfo,082111112004\n"
        "198807072012122005,Sri Rahayu,Diskominfo,085611112005\n"
    )

    code, out = await imported(app, path, capsys)
    assert code == 1
    assert "baris 3: kolom nama berisi karakter tak terlihat" in out
    assert "baris 4: baris ini sampai baris 6 terbaca sebagai satu sel" in out
    assert set(await roster(app)) == {BUDI.nip, "199001012015032002", "197001011995031001"}


async def test_a_file_with_only_a_header_or_nothing_at_all_is_refused(app, tmp_path, capsys):
    header_only = tmp_path / "header.csv"
    header_only.write_text("nip,nama,unit,no_hp\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")

    assert await import_roster_file(app, header_only) == 2
    assert "hanya berisi baris judul" in capsys.readouterr().out
    assert await import_roster_file(app, empty) == 2
    assert "Kolom yang ditemukan: (tidak ada)." in capsys.readouterr().out
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Asn)) == 0


async def test_an_installation_without_kecamatan_says_so_once(app, capsys):
    code, out = await imported(app, DATA / "good.csv", capsys)
    assert code == 1
    assert out.count("tidak dikenal") == 5  # the sixth row leaves kecamatan empty
    assert out.count("Basis data belum berisi daftar kecamatan") == 1


async def test_a_file_that_is_not_text_or_not_there_is_refused(app, tmp_path, capsys):
    binary = tmp_path / "roster.xlsx"
    binary.write_bytes(b"PK\x03\x04\x81\x8d\x8f\x90\x9d" * 10)

    code, out = await imported(app, binary, capsys)
    assert code == 2
    assert f"Berkas {binary} tidak dapat dibaca sebagai CSV. Simpan ulang dari Excel" in out
    assert await import_roster_file(app, tmp_path / "missing.csv") == 2
    assert "tidak dapat dibaca sebagai CSV" in capsys.readouterr().out


async def test_absent_optional_columns_keep_what_is_stored(app, tmp_path, capsys):
    await seed_roster(app)
    await import_roster_file(app, DATA / "good.csv")
    path = tmp_path / "short.csv"
    path.write_text("nip,nama,unit,no_hp\n"
                    "198206152008012002,\"Dewi Lestari, S.Kep.\",Dinas Kesehatan,085711112002\n")
    capsys.readouterr()

    assert await import_roster_file(app, path) == 0

    assert "tidak berubah 1" in capsys.readouterr().out
    dewi = (await roster(app))["198206152008012002"]
    assert (dewi["kecamatan"], dewi["position"]) == ("Kendal", "Perawat Terampil")


@given(
    prefix=st.sampled_from(["0", "62", "+62", "+62 ", "0 ", "(0", "00", "8", "+1", ""]),
    body=st.one_of(
        st.text(alphabet="0123456789 -.)", min_size=0, max_size=16),
        st.from_regex(r"8[1-9][0-9]{5,12}", fullmatch=True),
        st.from_regex(r"8[1-9][0-9] ?[0-9]{4}[ -]?[0-9]{2,5}", fullmatch=True),
    ),
)
def test_the_fast_phone_check_agrees_with_to_e164(prefix, body):
    """to_e164's shortcut for the usual forms never disagrees with the full parse."""
    text = prefix + body

    def outcome(check):
        try:
            return check(text)
        except InvalidPhone:
            return "invalid"

    assert outcome(to_e164) == outcome(parse_e164)


def test_the_fast_phone_check_takes_the_usual_forms():
    for typed, stored in GOOD_PHONES.items():
        assert to_e164(typed) == stored
