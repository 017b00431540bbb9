"""The participation chart: a landscape 16:9 slide with every unit's name in full, the target
line where the target is, the region's overall percentage, a title that names the kind of
unit, the units at 100% in gold, and no figure left behind; `asn-peduli export chart`
writes it."""

from __future__ import annotations

import gc
import io
import itertools
import json
import sqlite3
from contextlib import closing
from datetime import date
from typing import Any

import pytest
from matplotlib import image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from admin.demo_data import OPD_NAMES
from bot.charts import (
    DPI,
    FULL,
    HEIGHT_INCHES,
    OVERALL_LINE,
    TARGET_LINE,
    WIDTH_INCHES,
    chart_words,
    participation_chart,
    report_chart,
    slide,
)
from storage.interfaces import UnitProgress
from storage.report_snapshots import MonthlyReport
from storage.reports import _ranked, unit_progress_all
from tests.support.cli import point_cli_at, run
from tests.support.report_world import AT, seed_reports

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REGION = "Kabupaten Kendal"


def units(*shares: tuple[int, int], names: tuple[str, ...] = ()) -> list[UnitProgress]:
    """Units from (participating, total), ranked as the report ranks them."""
    return _ranked([(index, names[index - 1] if names else f"OPD {index}", total, part,
                     part, part)
                    for index, (part, total) in enumerate(shares, start=1)])


def report(opd: list[UnitProgress], kecamatan: list[UnitProgress] = (),  # type: ignore[assignment]
           live: bool = False, target: float = 20.0) -> MonthlyReport:
    return MonthlyReport(date(2025, 8, 1), AT, opd, list(kecamatan), target, live=live,
                         taken_at=None if live else AT)


def kendal() -> list[UnitProgress]:
    """Kendal's 38 OPD, 3 to 40 ASN each, participation from 0% up."""
    return units(*[(index % 9, 3 + index) for index in range(38)], names=OPD_NAMES)


def pixels(png: bytes) -> Any:
    """The image as rows x columns x RGB in 0..255 (a numpy array from matplotlib)."""
    return (image.imread(io.BytesIO(png), format="png")[:, :, :3] * 255).round()


def colour_mask(png: bytes, colour: str, tolerance: float = 12) -> Any:
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return (abs(pixels(png) - rgb) <= tolerance).all(axis=2)


def line_column(png: bytes, colour: str) -> float:
    """The x where most pixels of a vertical line of `colour` stack up."""
    counts = colour_mask(png, colour).sum(axis=0)
    assert counts.max() > 50, f"no vertical {colour} line found"
    return float(counts.argmax())


def test_the_chart_is_a_landscape_slide():
    png = report_chart(report(kendal()), "opd", REGION)

    assert png.startswith(PNG_SIGNATURE)
    height, width, _ = image.imread(io.BytesIO(png), format="png").shape
    assert (width, height) == (round(WIDTH_INCHES * DPI), round(HEIGHT_INCHES * DPI)) == (
        1920, 1080)


def test_every_one_of_kendals_38_opd_names_is_written_whole_and_inside_the_slide():
    words = chart_words(report(kendal()), "opd", REGION)
    figure = slide(kendal(), 20.0, 10.0, words)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    bounds = figure.bbox
    labels = [label for axes in figure.axes for label in axes.get_yticklabels()]
    written = [label.get_text().split(". ", 1)[1] for label in labels]
    assert sorted(written) == sorted(OPD_NAMES)  # no "…", none missing
    boxes = sorted((label.get_window_extent(renderer) for label in labels),
                   key=lambda box: -box.y1)
    for box in boxes:
        assert bounds.x0 <= box.x0 and box.x1 <= bounds.x1 and box.y0 >= bounds.y0
    for upper, lower in itertools.pairwise(boxes):
        assert lower.y1 <= upper.y0 + 1, "names overlap"
    assert min(label.get_fontsize() for label in labels) >= 8  # readable on a screen
    figure.clear()


def test_the_title_names_the_kind_and_the_header_the_overall_percentage():
    opd = units((5, 10), (2, 4), names=("Dinas Kesehatan", "Dinas Sosial"))
    kecamatan = units((4, 6), (2, 5), names=("Patebon", "Kendal"))
    kept = report(opd, kecamatan)

    by_opd = chart_words(kept, "opd", REGION)
    by_kecamatan = chart_words(kept, "kecamatan", REGION)
    running = chart_words(report(opd, kecamatan, live=True), "kecamatan", REGION)

    assert by_opd.title == "Partisipasi ASN per OPD"
    assert by_kecamatan.title == "Partisipasi ASN per kecamatan"
    assert by_opd.overall == by_kecamatan.overall == "50%"  # 7 of 14, the region's figure
    assert by_opd.overall_detail == "Kabupaten Kendal: 7 dari 14 ASN ikut · target 20%"
    assert by_kecamatan.subtitle == (
        "Kabupaten Kendal · laporan Agustus 2025 · keadaan per 1 September 2025")
    assert "sementara" in running.subtitle and "bulan masih berjalan" in running.subtitle


def test_the_target_and_overall_lines_stand_where_they_belong():
    progress = units((1, 10), (3, 10), (6, 10))

    at_twenty = participation_chart(progress, 20.0, 33.3, chart_words(
        report(progress), "opd", REGION))
    at_fifty = participation_chart(progress, 50.0, 33.3, chart_words(
        report(progress, target=50.0), "opd", REGION))

    assert line_column(at_fifty, TARGET_LINE) > line_column(at_twenty, TARGET_LINE) + 100
    overall = line_column(at_twenty, OVERALL_LINE)
    assert line_column(at_twenty, TARGET_LINE) < overall < line_column(at_fifty, TARGET_LINE)


def test_a_unit_at_100_percent_is_marked_in_gold():
    without = report_chart(report(units((9, 10), (3, 10))), "opd", REGION)
    with_full = report_chart(report(units((10, 10), (3, 10))), "opd", REGION)

    # The key shows a gold patch on both; the bar adds many more gold pixels.
    assert colour_mask(with_full, FULL).sum() > colour_mask(without, FULL).sum() + 5_000


def test_more_units_than_a_column_holds_are_spread_over_columns():
    many = units(*[(index % 7, 10) for index in range(90)])
    words = chart_words(report(many), "kecamatan", REGION)
    figure = slide(many, 20.0, 30.0, words)
    assert len(figure.axes) == 3
    assert sum(len(axes.get_yticklabels()) for axes in figure.axes) == 90
    figure.clear()


def test_no_figure_outlives_the_call():
    gc.collect()
    before = sum(isinstance(thing, Figure) for thing in gc.get_objects())
    for _ in range(3):
        report_chart(report(units((1, 4), (2, 4))), "opd", REGION)
    gc.collect()
    assert sum(isinstance(thing, Figure) for thing in gc.get_objects()) == before


def test_an_empty_region_still_gives_a_chart():
    png = report_chart(report(units((0, 0))), "kecamatan", REGION)
    assert png.startswith(PNG_SIGNATURE)
    line_column(png, TARGET_LINE)


async def test_the_chart_of_the_report_fixture_has_its_units(app):
    await seed_reports(app)
    async with app.sessions() as session:
        views = await unit_progress_all(session, AT)

    png = report_chart(report(views["opd"], views["kecamatan"]), "kecamatan", REGION)

    assert png.startswith(PNG_SIGNATURE)
    assert image.imread(io.BytesIO(png), format="png").shape[:2] == (1080, 1920)


# --- asn-peduli export chart -------------------------------------------------------------

@pytest.fixture
async def cli_db(app, tmp_path, monkeypatch):
    """The report fixture, and the command line pointed at its database (August 2025 is
    long closed whatever the wall clock says)."""
    await seed_reports(app)
    folder = tmp_path / "work"
    folder.mkdir()
    point_cli_at(monkeypatch, app.settings, folder)
    return folder


def test_export_chart_writes_the_slide_and_audits_it(app, cli_db):
    code, out = run("export", "chart", "--month", "2025-08", "--kind", "kecamatan",
                    "--out", "grafik.png")

    assert code == 0, out
    assert ("Grafik partisipasi per kecamatan bulan Agustus 2025 ditulis ke grafik.png "
            "(3 kecamatan, keadaan per 1 September 2025 00.00 WIB).") in out
    png = (cli_db / "grafik.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    assert image.imread(io.BytesIO(png), format="png").shape[:2] == (1080, 1920)
    with closing(sqlite3.connect(app.settings.sqlite_path())) as database:
        [(subject, details)] = database.execute(
            "SELECT subject, details FROM audit_log WHERE action = 'export_chart'").fetchall()
    assert (subject, json.loads(details)) == (
        "month:2025-08", {"kind": "kecamatan", "format": "png", "live": False})


def test_export_chart_refuses_what_it_cannot_draw(cli_db):
    code, out = run("export", "chart", "--month", "2999-01", "--out", "grafik.png")
    assert code == 2 and "Januari 2999 belum dimulai" in out
    code, out = run("export", "chart", "--month", "2025-08", "--out", "grafik.jpg")
    assert code == 2 and "harus berakhiran .png" in out
    code, out = run("export", "chart", "--month", "2025-08", "--kind", "desa",
                    "--out", "grafik.png")
    assert code == 2
    assert not list(cli_db.glob("grafik*"))
